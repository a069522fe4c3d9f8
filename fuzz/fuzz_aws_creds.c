/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_aws_creds.c -- the answers of AWS's credential services, through the chain of
 * aws_creds.c (wtkms_aws_creds_resolve): STS AssumeRole and AssumeRoleWithWebIdentity (XML, and
 * their error documents), ECS/EKS container credentials (JSON), EC2 instance metadata (IMDSv2
 * token, role name, credentials JSON); and the Expiration time parser they share.
 *
 * Input: one byte choosing the source (fuzz_aws_env.h; the last choice feeds the rest of the
 * input to wtkms_aws_parse_time alone), then the script of answers (fuzz_common.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_creds.h"
#include "fuzz_aws_env.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput --
 *     One credential resolution.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_aws_cred_cfg cfg;
    wtkms_aws_creds *c;
    wtkms_http_opts opts;
    wtkms_err err;
    char *s;
    int source;

    if (size == 0)
        return (0);
    source = data[0] % (AWS_ENV_N + 1);
    if (source == AWS_ENV_N) {
        /* The Expiration parser on its own: a NUL-terminated string, as the callers pass. */
        if ((s = malloc(size)) == NULL)
            abort();
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        (void)wtkms_aws_parse_time(s);
        free(s);
        return (0);
    }
    fuzz_aws_env(source);
    wtkms_http_opts_default(&opts);
    memset(&cfg, 0, sizeof(cfg));
    cfg.region = "us-east-1";
    cfg.http = &opts;
    if (source == AWS_ENV_ROLE) {
        cfg.role_arn = "arn:aws:iam::111122223333:role/wtkms";
        cfg.external_id = "fuzz-external";
    }
    if (wtkms_aws_creds_new(&c) != 0)
        abort();
    fuzz_answers_set(data + 1, size - 1);
    memset(&err, 0, sizeof(err));
    if (wtkms_aws_creds_resolve(&cfg, c, &err) == 0) {
        if (c->access_key[0] == '\0' || c->secret == NULL || c->secret[0] == '\0')
            abort(); /* resolved credentials are whole */
        fuzz_note("resolved", c->source);
        (void)wtkms_aws_creds_fresh(c);
    } else {
        if (err.msg[0] == '\0')
            abort();
        fuzz_note("resolve", err.msg);
    }
    wtkms_aws_creds_free(c);
    return (0);
}
