/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_oauth.c -- what the bearer-token providers (azure, gcp) share for answers: the JSON
 * parser (libbson), the token taken from a token endpoint's answer (access_token, expires_in,
 * expires_on), the dotted-path lookups the error wording uses, base64/base64url decoding, the
 * printable quoting of service text, and the PEM readers of key files.
 *
 * The first byte picks which reader gets the rest, so one corpus serves them all.
 */
#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Paths the providers look up in answers (azure.c, gcp.c). */
static const char *const paths[] = { "access_token", "expires_in", "expires_on", "error",
    "error_description", "message", "error.code", "error.message", "error.status",
    "error.innererror.code", "kid", "value", "name", "ciphertext", "plaintext", "key.kid" };

/*
 * json_answer --
 *     A token endpoint's or a KMS's JSON answer.
 */
static void
json_answer(const char *text, size_t len)
{
    wtkms_token tok;
    wtkms_err err;
    bson_t doc;
    uint32_t slen;
    const char *s;
    char *json, out[300];
    size_t i, jlen;
    int64_t v;

    if (wtkms_json_parse(text, len, &doc) == 0) {
        memset(&tok, 0, sizeof(tok));
        if (wtkms_token_from_json(&doc, &tok, "fuzz token request", &err) == 0) {
            if (tok.value == NULL || !wtkms_token_fresh(&tok))
                abort(); /* a token was taken: it must be there and usable now */
        }
        wtkms_token_clear(&tok);
        for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            if ((s = wtkms_json_str(&doc, paths[i], &slen)) != NULL)
                wtkms_printable(s, slen, out, sizeof(out));
            (void)wtkms_json_int(&doc, paths[i], &v);
        }
        if ((json = wtkms_json_text(&doc, &jlen)) != NULL)
            bson_free(json);
    }
    wtkms_bson_wipe(&doc);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One input.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EVP_PKEY *key;
    uint8_t *bin;
    char *text, out[300], x5t[64];
    size_t len, outlen;

    if (size == 0)
        return (0);
    len = size - 1;
    /* The providers hand NUL-terminated bodies to these readers; lengths are passed too. */
    if ((text = malloc(len + 1)) == NULL || (bin = malloc(len + 1)) == NULL)
        abort();
    memcpy(text, data + 1, len);
    text[len] = '\0';
    switch (data[0] % 4) {
    case 0:
    case 1:
        json_answer(text, len);
        break;
    case 2:
        (void)wtkms_b64_decode(text, len, bin, len + 1, &outlen);
        (void)wtkms_b64_decode(text, len, bin, len / 2, &outlen);
        wtkms_printable(text, len, out, sizeof(out));
        break;
    case 3:
        key = NULL;
        if (wtkms_pem_private_key(text, len, &key) == 0)
            EVP_PKEY_free(key);
        (void)wtkms_pem_cert_x5t(text, len, x5t, sizeof(x5t));
        break;
    }
    free(bin);
    free(text);
    return (0);
}
