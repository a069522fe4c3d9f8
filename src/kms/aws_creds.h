/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds.h -- AWS credentials for the aws provider, found in the AWS SDKs' order.
 *
 * Chain (the first source that is configured wins; a source that is configured but broken is an
 * error that names it, never a silent fall-through to the next):
 *   1. credentials_file=PATH (+ profile=NAME, default "default") from the wtkms configuration;
 *   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   3. the shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), then
 *      AWS_CONFIG_FILE (default ~/.aws/config), profile from profile= or AWS_PROFILE;
 *   4. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
 *      exchanged through STS AssumeRoleWithWebIdentity;
 *   5. ECS/EKS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI (+ AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
 *   6. EC2 instance metadata, IMDSv2 only (session token first), at
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254); skipped when
 *      AWS_EC2_METADATA_DISABLED=true.
 * Then, when role_arn= is set, those credentials call STS AssumeRole (external_id=,
 * role_session_name=) and the role's temporary credentials are used.
 *
 * Temporary credentials carry their expiry; the provider resolves again when fewer than
 * WTKMS_AWS_REFRESH_MS remain. Secrets live in locked memory and are wiped when freed.
 */
#ifndef WTKMS_AWS_CREDS_H
#define WTKMS_AWS_CREDS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "http.h"

#define WTKMS_AWS_SECRET_MAX 256
#define WTKMS_AWS_TOKEN_MAX 8192
#define WTKMS_AWS_REFRESH_MS (10 * 60 * 1000) /* refresh 10 minutes before Expiration */

typedef struct {
    char access_key[128];
    char *secret;       /* locked, WTKMS_AWS_SECRET_MAX bytes */
    char *token;        /* locked, WTKMS_AWS_TOKEN_MAX bytes; "" when none */
    int64_t expires_ms; /* wall clock, ms since the epoch; 0 = does not expire */
    char source[600];   /* where they came from, for messages ("environment", ...) */
} wtkms_aws_creds;

/* What the chain needs from the provider's settings (NULL or "" = not set). */
typedef struct {
    const char *region;
    const char *credentials_file, *profile;
    const char *role_arn, *external_id, *role_session_name;
    const char *sts_endpoint; /* default https://sts.REGION.amazonaws.com */
    const wtkms_http_opts *http;
} wtkms_aws_cred_cfg;

/*
 * The chain's own settings as a configuration names them, prefix first ("" for the aws
 * provider, "s3_" for the S3 client): credentials_file, profile, role_arn, external_id,
 * role_session_name (only when with_session_name: the S3 client has no such setting) and
 * sts_endpoint, which is checked as every endpoint is.
 */
typedef struct {
    char credentials_file[1024], profile[128];
    char role_arn[512], external_id[256], role_session_name[128];
    char sts_endpoint[512];
} wtkms_aws_cred_settings;
int wtkms_aws_cred_settings_read(wtkms_config *cfg, const char *prefix, bool with_session_name,
  wtkms_aws_cred_settings *s, wtkms_err *err);
/* The chain's configuration: those settings, the region and the HTTP options. */
void wtkms_aws_cred_cfg_init(wtkms_aws_cred_cfg *cc, const wtkms_aws_cred_settings *s,
  const char *region, const wtkms_http_opts *http);

int wtkms_aws_creds_new(wtkms_aws_creds **cp);
void wtkms_aws_creds_free(wtkms_aws_creds *c);

/* Run the chain (and AssumeRole); fills *c or returns an error naming every place looked. */
int wtkms_aws_creds_resolve(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err);

/* Whether credentials are good for at least WTKMS_AWS_REFRESH_MS more. */
bool wtkms_aws_creds_fresh(const wtkms_aws_creds *c);

/* Parse "2024-05-01T12:34:56Z" (fraction and +hh:mm offsets allowed) to ms; -1 if malformed. */
int64_t wtkms_aws_parse_time(const char *s);

#endif
