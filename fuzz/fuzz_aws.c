/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_aws.c -- AWS KMS's JSON answers (Encrypt, Decrypt and their errors: __type, message,
 * throttling) through aws.c's own code (open, wrap, unwrap) with the scripted transport of
 * fuzz_common.c. Credentials are static (the environment) so every answer is KMS's; the
 * credential services' answers are fuzz_aws_creds.c's.
 *
 * Input: one byte (reserved: which key form), then the script of answers (fuzz_common.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws_env.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const configs[] = {
    "provider=aws,region=us-east-1,key_id=arn:aws:kms:us-east-1:111122223333:key/"
    "1234abcd-12ab-34cd-56ef-1234567890ab",
    "provider=aws,region=eu-west-1,key_id=alias/wtkms",
};
static uint8_t fallback[1 + 184];

/*
 * LLVMFuzzerInitialize --
 *     Static credentials.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_aws_env(AWS_ENV_STATIC);
    memset(fallback, 0x55, sizeof(fallback));
    fallback[0] = 0x01; /* the aws blob version, then a KMS ciphertext */
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One open, wrap and unwrap.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return (0);
    (void)fuzz_provider_roundtrip(
      configs[data[0] % 2], data + 1, size - 1, fallback, sizeof(fallback), "");
    return (0);
}
