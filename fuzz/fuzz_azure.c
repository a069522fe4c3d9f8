/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_azure.c -- the azure provider's answers: Entra ID and managed-identity token endpoints
 * (client secret, instance metadata service, App Service identity endpoint) and Key Vault's
 * get-key, wrapkey and unwrapkey answers, through azure.c's own code (open, wrap, unwrap) with
 * the scripted transport of fuzz_common.c.
 *
 * Input: one byte choosing the credential and whether key_version is configured, then the
 * script of answers (fuzz_common.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cfg_secret[2][2048], cfg_msi[2][2048];
static uint8_t fallback[1 + 256];

/*
 * LLVMFuzzerInitialize --
 *     The configurations and the files they name.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const vars[] = { "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_AUTHORITY_HOST", "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER", "IMDS_ENDPOINT" };
    const char *secret;
    size_t i;
    int v;

    (void)argc;
    (void)argv;
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        (void)unsetenv(vars[i]);
    secret = fuzz_write_file("azure.secret", "fuzz-client-secret\n", 19);
    for (v = 0; v < 2; v++) {
        (void)snprintf(cfg_secret[v], sizeof(cfg_secret[v]),
          "provider=azure,vault_url=https://fuzz.vault.azure.net,key_name=wtkms%s,"
          "tenant_id=00000000-0000-0000-0000-000000000001,client_id=fuzz-client,"
          "client_secret_file=%s",
          v ? ",key_version=0123456789abcdef0123456789abcdef" : "", secret);
        (void)snprintf(cfg_msi[v], sizeof(cfg_msi[v]),
          "provider=azure,vault_url=https://fuzz.vault.azure.net,key_name=wtkms%s,"
          "managed_identity_client_id=fuzz-identity",
          v ? ",key_version=0123456789abcdef0123456789abcdef" : "");
    }
    fallback[0] = 0x01; /* AZ_BLOB_VERSION, then a 2048-bit ciphertext */
    memset(fallback + 1, 0x33, sizeof(fallback) - 1);
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One open, wrap and unwrap.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *cfg;
    int mode, versioned;

    if (size == 0)
        return (0);
    mode = data[0] % 3;
    versioned = (data[0] >> 2) & 1;
    if (mode == 2) {
        (void)setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token", 1);
        (void)setenv("IDENTITY_HEADER", "fuzz-identity-header", 1);
    } else {
        (void)unsetenv("IDENTITY_ENDPOINT");
        (void)unsetenv("IDENTITY_HEADER");
    }
    cfg = mode == 0 ? cfg_secret[versioned] : cfg_msi[versioned];
    (void)fuzz_provider_roundtrip(
      cfg, data + 1, size - 1, fallback, sizeof(fallback), "0123456789abcdef0123456789abcdef");
    return (0);
}
