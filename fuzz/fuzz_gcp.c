/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_gcp.c -- the gcp provider's answers: the metadata server's and Google's OAuth token
 * endpoint's token answers, and Cloud KMS's encrypt and decrypt answers, through gcp.c's own
 * code (open, wrap, unwrap) with the scripted transport of fuzz_common.c.
 *
 * Input: one byte choosing the credential (metadata server, or, when it is 1 modulo 8, a
 * service-account key file, whose RS256 grant is signed for real), then the script of answers
 * (fuzz_common.h).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY_NAME "projects/fuzz/locations/global/keyRings/ring/cryptoKeys/wtkms"

static char cfg_metadata[1024], cfg_sa[2048];
static uint8_t fallback[1 + 73];

/*
 * sa_file --
 *     A service-account key file with a fresh RSA key (1024 bits: only the signing speed
 *     matters here).
 */
static const char *
sa_file(void)
{
    static char json[8192];
    EVP_PKEY *key;
    BIO *bio;
    char *pem, *o;
    long len, i;

    if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)) == NULL ||
        (bio = BIO_new(BIO_s_mem())) == NULL ||
        !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        abort();
    len = BIO_get_mem_data(bio, &pem);
    o = json + snprintf(json, sizeof(json),
                 "{\"type\": \"service_account\", \"project_id\": \"fuzz\", "
                 "\"private_key_id\": \"0123abcd\", \"client_email\": "
                 "\"wtkms@fuzz.iam.gserviceaccount.com\", \"token_uri\": "
                 "\"https://oauth2.googleapis.com/token\", \"private_key\": \"");
    for (i = 0; i < len; i++) {
        if (pem[i] == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else
            *o++ = pem[i];
    }
    o += snprintf(o, 8, "\"}\n");
    BIO_free(bio);
    EVP_PKEY_free(key);
    return (fuzz_write_file("gcp-sa.json", json, (size_t)(o - json)));
}

/*
 * LLVMFuzzerInitialize --
 *     The configurations and the key file.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    (void)setenv("GCE_METADATA_HOST", "127.0.0.1:41235", 1);
    (void)snprintf(cfg_metadata, sizeof(cfg_metadata), "provider=gcp,key_name=%s", KEY_NAME);
    (void)snprintf(cfg_sa, sizeof(cfg_sa), "provider=gcp,key_name=%s,service_account_file=%s",
      KEY_NAME, sa_file());
    fallback[0] = 0x01; /* GCP_BLOB_VERSION, then a Cloud KMS ciphertext */
    memset(fallback + 1, 0x44, sizeof(fallback) - 1);
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
    /* The signed grant costs milliseconds: one input in eight takes that path. */
    (void)fuzz_provider_roundtrip(
      data[0] % 8 == 1 ? cfg_sa : cfg_metadata, data + 1, size - 1, fallback, sizeof(fallback), "");
    return (0);
}
