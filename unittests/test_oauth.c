/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_oauth.c -- the helpers the azure and gcp providers share (src/kms/oauth.c): base64 and
 * base64url both ways (RFC 4648 vectors, strict rejection of what is not canonical, random round
 * trips, random garbage never read past its end), form encoding, JSON lookups, the token cache,
 * and RS256 JWTs checked with OpenSSL's own verification.
 */
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauth.h"

/*
 * test_b64_vectors --
 *     RFC 4648 section 10, both alphabets, padded and not.
 */
static void
test_b64_vectors(void **state)
{
    static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v",
        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
    uint8_t out[16];
    char enc[16];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        assert_int_equal(
          wtkms_b64_encode((const uint8_t *)in[i], strlen(in[i]), false, enc, sizeof(enc)), 0);
        assert_string_equal(enc, std[i]);
        assert_int_equal(
          wtkms_b64_encode((const uint8_t *)in[i], strlen(in[i]), true, enc, sizeof(enc)), 0);
        assert_string_equal(enc, url[i]);
        assert_int_equal(wtkms_b64_decode(std[i], strlen(std[i]), out, sizeof(out), &n), 0);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(out, in[i], n);
        assert_int_equal(wtkms_b64_decode(url[i], strlen(url[i]), out, sizeof(out), &n), 0);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(out, in[i], n);
    }
    /* The two alphabets' last characters. */
    assert_int_equal(wtkms_b64_encode((const uint8_t *)"\xfb\xff", 2, false, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "+/8=");
    assert_int_equal(wtkms_b64_encode((const uint8_t *)"\xfb\xff", 2, true, enc, sizeof(enc)), 0);
    assert_string_equal(enc, "-_8");
    assert_int_equal(wtkms_b64_decode("-_8", 3, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    /* Too small an output. */
    assert_int_equal(wtkms_b64_encode((const uint8_t *)"foo", 3, false, enc, 4), EMSGSIZE);
    assert_int_equal(wtkms_b64_decode("Zm9vYmFy", 8, out, 5, &n), EMSGSIZE);
}

/*
 * test_b64_rejects --
 *     What is not canonical base64 is refused: a decoder that accepts two spellings of one value
 *     would let an altered answer pass as the same.
 */
static void
test_b64_rejects(void **state)
{
    static const char *const bad[] = { "Z", "Zm9vY", "Zg=", "Zg===", "=Zg=", "Zm=v",
        "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm9v*", "Z\0==", "Zm8===" };
    uint8_t out[16];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
          wtkms_b64_decode(bad[i], strlen(bad[i]) + (i == 11 ? 3 : 0), out, sizeof(out), &n),
          EINVAL);
}

/* xorshift64*: deterministic. */
static uint64_t rng = 0x243F6A8885A308D3ULL;

/*
 * rnd --
 *     The next pseudo-random number.
 */
static uint64_t
rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (rng * 0x2545F4914F6CDD1DULL);
}

/*
 * test_b64_random --
 *     Round trips of random lengths; random strings from the alphabet plus noise, decoded from an
 *     exact-size heap copy (a read past the end is a sanitizer error).
 */
static void
test_b64_random(void **state)
{
    static const char alpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= .";
    uint8_t in[300], out[300];
    char enc[WTKMS_B64_LEN(300)], *heap;
    size_t len, n, i;
    int it;

    (void)state;
    for (it = 0; it < 2000; it++) {
        len = (size_t)(rnd() % sizeof(in));
        for (i = 0; i < len; i++)
            in[i] = (uint8_t)rnd();
        assert_int_equal(wtkms_b64_encode(in, len, it % 2 == 0, enc, sizeof(enc)), 0);
        assert_int_equal(wtkms_b64_decode(enc, strlen(enc), out, sizeof(out), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
    }
    for (it = 0; it < 20000; it++) {
        len = (size_t)(rnd() % 40);
        heap = malloc(len + 1);
        assert_non_null(heap);
        for (i = 0; i < len; i++)
            heap[i] = alpha[rnd() % (sizeof(alpha) - 1)];
        (void)wtkms_b64_decode(heap, len, out, (size_t)(rnd() % 32), &n);
        free(heap);
    }
}

/*
 * test_form_and_json --
 *     Form fields percent-encoded; JSON values found by path, numbers as numbers or strings.
 */
static void
test_form_and_json(void **state)
{
    static const char json[] = "{\"access_token\": \"tok\", \"expires_in\": \"3599\", \"error\": "
                               "{\"code\": \"Forbidden\", \"innererror\": {\"code\": "
                               "\"KeyDisabled\"}}, \"n\": 12}";
    static const char doubles[] = "{\"d\": 3599.9, \"huge\": 1e300, \"tiny\": -1e19, \"top\": "
                                  "9223372036854775808.0, \"nan\": {\"$numberDouble\": \"NaN\"}, "
                                  "\"inf\": {\"$numberDouble\": \"Infinity\"}}";
    wtkms_dbuf b;
    bson_t doc;
    int64_t v;
    uint32_t len;

    (void)state;
    memset(&b, 0, sizeof(b));
    wtkms_http_form_add(&b, "scope", "https://vault.azure.net/.default");
    wtkms_http_form_add(&b, "client_secret", "a+b/c=d&e f~_.-");
    assert_int_equal(b.error, 0);
    assert_string_equal(b.s,
      "scope=https%3A%2F%2Fvault.azure.net%2F.default&client_secret=a%2Bb%2Fc%3Dd%26e%20f~_.-");
    wtkms_dbuf_free(&b);
    assert_null(b.s);

    assert_int_equal(wtkms_json_parse(json, strlen(json), &doc), 0);
    assert_string_equal(wtkms_json_str(&doc, "error.innererror.code", &len), "KeyDisabled");
    assert_int_equal(len, 11);
    assert_null(wtkms_json_str(&doc, "error.message", NULL));
    assert_null(wtkms_json_str(&doc, "n", NULL)); /* a number, not a string */
    assert_int_equal(wtkms_json_int(&doc, "expires_in", &v), 0);
    assert_int_equal(v, 3599);
    assert_int_equal(wtkms_json_int(&doc, "n", &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(wtkms_json_int(&doc, "access_token", &v), ENOENT);
    wtkms_bson_wipe(&doc);
    /* A double is taken when an integer holds it; beyond int64 (or NaN) it is not a number. */
    assert_int_equal(wtkms_json_parse(doubles, strlen(doubles), &doc), 0);
    assert_int_equal(wtkms_json_int(&doc, "d", &v), 0);
    assert_int_equal(v, 3599);
    assert_int_equal(wtkms_json_int(&doc, "huge", &v), ENOENT);
    assert_int_equal(wtkms_json_int(&doc, "tiny", &v), ENOENT);
    assert_int_equal(wtkms_json_int(&doc, "top", &v), ENOENT);
    assert_int_equal(wtkms_json_int(&doc, "nan", &v), ENOENT);
    assert_int_equal(wtkms_json_int(&doc, "inf", &v), ENOENT);
    wtkms_bson_wipe(&doc);
    assert_int_equal(wtkms_json_parse("{not json", 9, &doc), EPROTO);
    wtkms_bson_wipe(&doc);
    assert_int_equal(wtkms_json_parse("", 0, &doc), EPROTO);
    wtkms_bson_wipe(&doc);
}

/*
 * test_token_cache --
 *     A token is kept, and refreshed before it expires.
 */
static void
test_token_cache(void **state)
{
    static const char ok[] = "{\"access_token\": \"abc\", \"expires_in\": 3600}";
    static const char short_life[] = "{\"access_token\": \"abc\", \"expires_in\": 2}";
    static const char none[] = "{\"expires_in\": 3600}";
    wtkms_token t;
    wtkms_err err;
    bson_t doc;

    (void)state;
    memset(&t, 0, sizeof(t));
    assert_false(wtkms_token_fresh(&t));
    assert_int_equal(wtkms_json_parse(ok, strlen(ok), &doc), 0);
    assert_int_equal(wtkms_token_from_json(&doc, &t, "test", &err), 0);
    wtkms_bson_wipe(&doc);
    assert_true(wtkms_token_fresh(&t));
    assert_string_equal(t.value, "abc");
    /* Used until 5 minutes before expiry. */
    assert_true(t.expires_ms - wtkms_mono_ms() <= 3300 * 1000);
    assert_true(t.expires_ms - wtkms_mono_ms() > 3290 * 1000);
    assert_int_equal(wtkms_json_parse(short_life, strlen(short_life), &doc), 0);
    assert_int_equal(wtkms_token_from_json(&doc, &t, "test", &err), 0);
    wtkms_bson_wipe(&doc);
    assert_true(t.expires_ms - wtkms_mono_ms() <= 1000); /* half its life */
    assert_int_equal(wtkms_json_parse(none, strlen(none), &doc), 0);
    assert_int_equal(wtkms_token_from_json(&doc, &t, "test", &err), EPROTO);
    wtkms_bson_wipe(&doc);
    assert_false(wtkms_token_fresh(&t));
    assert_null(t.value);
    wtkms_token_clear(&t);
}

/*
 * test_jwt_rs256 --
 *     A JWT whose signature OpenSSL verifies with the public key, and whose parts decode to the
 *     header and claims given.
 */
static void
test_jwt_rs256(void **state)
{
    EVP_PKEY *key, *ec;
    EVP_MD_CTX *md;
    wtkms_err err;
    bson_t hdr, claims, parsed;
    uint8_t sig[512], part[512];
    char *jwt, *dot1, *dot2;
    size_t siglen, n;

    (void)state;
    assert_non_null(key = EVP_RSA_gen(2048));
    bson_init(&hdr);
    BSON_APPEND_UTF8(&hdr, "alg", "RS256");
    BSON_APPEND_UTF8(&hdr, "typ", "JWT");
    bson_init(&claims);
    BSON_APPEND_UTF8(&claims, "iss", "sa@p.iam.gserviceaccount.com");
    BSON_APPEND_INT64(&claims, "exp", 1700003600);
    assert_int_equal(wtkms_jwt_rs256(key, &hdr, &claims, &jwt, &err), 0);
    assert_non_null(dot1 = strchr(jwt, '.'));
    assert_non_null(dot2 = strchr(dot1 + 1, '.'));
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(jwt, '=')); /* base64url, unpadded */

    assert_int_equal(wtkms_b64_decode(jwt, (size_t)(dot1 - jwt), part, sizeof(part), &n), 0);
    assert_int_equal(wtkms_json_parse((const char *)part, n, &parsed), 0);
    assert_string_equal(wtkms_json_str(&parsed, "alg", NULL), "RS256");
    wtkms_bson_wipe(&parsed);
    assert_int_equal(
      wtkms_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), part, sizeof(part), &n), 0);
    assert_int_equal(wtkms_json_parse((const char *)part, n, &parsed), 0);
    assert_string_equal(wtkms_json_str(&parsed, "iss", NULL), "sa@p.iam.gserviceaccount.com");
    wtkms_bson_wipe(&parsed);

    assert_int_equal(wtkms_b64_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig), &siglen), 0);
    assert_int_equal(siglen, 256);
    assert_non_null(md = EVP_MD_CTX_new());
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(
      EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    /* One flipped bit of the signed part: no longer verifies. */
    jwt[3] ^= 1;
    EVP_MD_CTX_reset(md);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_not_equal(
      EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    EVP_MD_CTX_free(md);
    free(jwt);

    /* RS256 needs an RSA key. */
    assert_non_null(ec = EVP_EC_gen("P-256"));
    assert_int_equal(wtkms_jwt_rs256(ec, &hdr, &claims, &jwt, &err), EINVAL);
    assert_null(jwt);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(key);
    bson_destroy(&hdr);
    bson_destroy(&claims);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_b64_random),
        cmocka_unit_test(test_form_and_json),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_jwt_rs256),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
