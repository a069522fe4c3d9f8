/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_aws_env.h -- the AWS environment the aws and aws_creds targets set up: no shared files,
 * no credentials, no metadata service, unless a mode sets them.
 */
#ifndef WTKMS_FUZZ_AWS_ENV_H
#define WTKMS_FUZZ_AWS_ENV_H

#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"

/* Credential sources of the chain a target may pick (aws_creds.h). */
enum { AWS_ENV_STATIC, AWS_ENV_ROLE, AWS_ENV_WEB_IDENTITY, AWS_ENV_ECS, AWS_ENV_IMDS, AWS_ENV_N };

/*
 * fuzz_aws_env --
 *     Clear the AWS environment, then set what the source needs.
 */
static inline void
fuzz_aws_env(int source)
{
    static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_REGION",
        "AWS_DEFAULT_REGION" };
    static char none[512], token[512];
    size_t i;

    if (none[0] == '\0') {
        (void)snprintf(none, sizeof(none), "%s/no-such-aws-file", fuzz_tmpdir());
        (void)snprintf(
          token, sizeof(token), "%s", fuzz_write_file("web-identity", "eyJ.fuzz.jwt", 12));
    }
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        (void)unsetenv(vars[i]);
    (void)setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
    (void)setenv("AWS_CONFIG_FILE", none, 1);
    (void)setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    switch (source) {
    case AWS_ENV_STATIC:
    case AWS_ENV_ROLE:
        (void)setenv("AWS_ACCESS_KEY_ID", "FUZZ-ACCESS-KEY-ID", 1);
        (void)setenv("AWS_SECRET_ACCESS_KEY", "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz", 1);
        break;
    case AWS_ENV_WEB_IDENTITY:
        (void)setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
        (void)setenv("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/wtkms-web", 1);
        break;
    case AWS_ENV_ECS:
        (void)setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:41236/creds", 1);
        (void)setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fuzz-ecs-token", 1);
        break;
    case AWS_ENV_IMDS:
        (void)setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
        (void)setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:41237", 1);
        break;
    }
}

#endif
