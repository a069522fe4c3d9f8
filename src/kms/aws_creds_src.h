/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws_creds_src.h -- internal to the AWS credential chain (aws_creds*.c): the credential sources
 * and the helpers they share. Each source returns 0 with credentials in c, WTKMS_AWS_NOT_HERE when
 * it is not configured on this host (why, when given, says what was looked for), or an error
 * naming the source when it is configured but broken.
 */
#ifndef WTKMS_AWS_CREDS_SRC_H
#define WTKMS_AWS_CREDS_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_creds.h"

#define WTKMS_AWS_NOT_HERE (-1)

/* Forget any credentials (the secrets are wiped). */
void wtkms_aws_creds_clear(wtkms_aws_creds *c);
/* Take credentials (copied into locked memory); expires_ms 0 = never; source names them. */
int wtkms_aws_creds_set(wtkms_aws_creds *c, const char *ak, size_t ak_len, const char *sk,
  size_t sk_len, const char *tok, size_t tok_len, int64_t expires_ms, const char *source,
  wtkms_err *err);
/* Strip leading and trailing white space in place; returns the first non-space character. */
char *wtkms_aws_trim(char *s);
/* Read a token file (what names it): *bufp to wipe and free, *valp its trimmed text. */
int wtkms_aws_read_secret_file(
  const char *path, const char *what, char **bufp, char **valp, size_t *lenp, wtkms_err *err);
/* Static keys of profile in an INI file (config_style: "[profile NAME]" sections). */
int wtkms_aws_ini_creds(const char *path, const char *profile, bool config_style, bool must_exist,
  wtkms_aws_creds *c, wtkms_err *err);
/* The shared credentials file, then the shared config file. */
int wtkms_aws_src_shared(
  const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, char *why, size_t whylen, wtkms_err *err);
/* AssumeRoleWithWebIdentity with AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN. */
int wtkms_aws_src_web_identity(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err);
/* AssumeRole (cfg->role_arn) with the credentials in c; the role's replace them. */
int wtkms_aws_assume_role(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err);
/* The container credentials endpoint (ECS, EKS Pod Identity). */
int wtkms_aws_src_ecs(const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, wtkms_err *err);
/* The EC2 instance metadata service (IMDSv2), unless AWS_EC2_METADATA_DISABLED. */
int wtkms_aws_src_imds(
  const wtkms_aws_cred_cfg *cfg, wtkms_aws_creds *c, char *why, size_t whylen, wtkms_err *err);

#endif
