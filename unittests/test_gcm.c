/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gcm.c -- the pre-keyed AES-256-GCM contexts (src/crypto/crypto.c): a published test
 * vector, and agreement with a fresh textbook EVP encryption for every message of a context
 * reused across nonces and sizes, in both directions. The contexts set each nonce and tag through
 * cheaper OpenSSL calls than the textbook ones (a self-test decides at the first context); these
 * tests check the outcome of that choice from outside.
 */
#include "test_helpers.h"

#include <openssl/evp.h>

/* The GCM specification's test case 16 (AES-256, 96-bit IV, 20 bytes of AAD, 60 bytes). */
static const char kat_key[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char kat_iv[] = "cafebabefacedbaddecaf888";
static const char kat_aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char kat_pt[] =
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
  "49a6b525b16aedf5aa0de657ba637b39";
static const char kat_ct[] =
  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
  "56828838c5f61e6393ba7a0abcc9f662";
static const char kat_tag[] = "76fc6ece0f4e1768cddf8853bb2d551b";

static size_t
unhex(const char *hex, uint8_t *out)
{
    size_t i, n = strlen(hex) / 2;

    for (i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return (n);
}

/*
 * ref_seal --
 *     A fresh context per message, the textbook calls.
 */
static void
ref_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
  const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c;
    int n;

    assert_non_null(c = EVP_CIPHER_CTX_new());
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce), 1);
    if (aad_len > 0)
        assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len), 1);
    if (len > 0)
        assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + len, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(c);
}

/*
 * test_fast_path_in_use --
 *     On the OpenSSL this runs with, the self-test chose the cheaper calls (bench/ relies on it).
 */
static void
test_fast_path_in_use(void **state)
{
    wtkms_gcm *g;

    (void)state;
    assert_non_null(g = wtkms_gcm_new());
    if (!wtkms_gcm_fast_seal())
        fail_msg("the GCM self-test refused EVP_CTRL_GCM_SET_IV_FIXED on this OpenSSL (%s): "
                 "wtkms is correct but slower per block; see src/crypto/crypto.c",
          OpenSSL_version(OPENSSL_VERSION));
    if (!wtkms_gcm_fast_open())
        fail_msg("the GCM self-test refused the one-call nonce and tag for decryption on this "
                 "OpenSSL (%s): wtkms is correct but slower per block; see src/crypto/crypto.c",
          OpenSSL_version(OPENSSL_VERSION));
    wtkms_gcm_free(g);
}

/*
 * test_fast_open_refuses_flips --
 *     On a reused context (the fast open when the self-test chose it, which
 *     test_fast_path_in_use requires), one flipped bit anywhere in tag, nonce, additional data
 *     or ciphertext is refused with EBADMSG and leaves no plaintext, and the next good message
 *     still opens.
 */
static void
test_fast_open_refuses_flips(void **state)
{
    static const size_t sizes[] = { 0, 1, 16, 255, 4096 };
    static uint8_t in[4096], ct[4096], out[4096], zero[4096];
    uint8_t key[32], nonce[12], aad[24], tag[16];
    uint8_t *parts[4];
    size_t plen[4], s, part, i, len;
    wtkms_gcm *g;

    (void)state;
    assert_int_equal(wtkms_random(key, sizeof(key)), 0);
    assert_int_equal(wtkms_random(in, sizeof(in)), 0);
    assert_non_null(g = wtkms_gcm_new());
    assert_int_equal(wtkms_gcm_setkey(g, key), 0);
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        len = sizes[s];
        assert_int_equal(wtkms_random(nonce, sizeof(nonce)), 0);
        assert_int_equal(wtkms_random(aad, sizeof(aad)), 0);
        assert_int_equal(wtkms_gcm_seal(g, nonce, aad, sizeof(aad), in, len, ct, tag), 0);
        parts[0] = tag;
        plen[0] = sizeof(tag);
        parts[1] = nonce;
        plen[1] = sizeof(nonce);
        parts[2] = aad;
        plen[2] = sizeof(aad);
        parts[3] = ct;
        plen[3] = len;
        for (part = 0; part < 4; part++)
            for (i = 0; i < plen[part]; i += (plen[part] > 64 ? 97 : 1)) {
                parts[part][i] ^= (uint8_t)(1 << (i % 8));
                memset(out, 0xee, sizeof(out));
                assert_int_equal(
                  wtkms_gcm_open(g, nonce, aad, sizeof(aad), ct, len, out, tag), EBADMSG);
                assert_memory_equal(out, zero, len);
                parts[part][i] ^= (uint8_t)(1 << (i % 8));
                assert_int_equal(wtkms_gcm_open(g, nonce, aad, sizeof(aad), ct, len, out, tag), 0);
                if (len > 0)
                    assert_memory_equal(out, in, len);
            }
        /* A tag of all zeros (what an unset tag would hold) is refused too. */
        memset(tag, 0, sizeof(tag));
        assert_int_equal(wtkms_gcm_open(g, nonce, aad, sizeof(aad), ct, len, out, tag), EBADMSG);
    }
    wtkms_gcm_free(g);
}

/*
 * test_known_answer --
 *     The published vector, on a context that has already sealed and opened another message.
 */
static void
test_known_answer(void **state)
{
    uint8_t key[32], iv[12], aad[20], pt[60], ct[60], tag[16], out[60], got[60], gtag[16];
    uint8_t junk[100], jct[100], jtag[16], jnonce[12] = { 9 };
    wtkms_gcm *g;

    (void)state;
    unhex(kat_key, key);
    unhex(kat_iv, iv);
    unhex(kat_aad, aad);
    unhex(kat_pt, pt);
    unhex(kat_ct, ct);
    unhex(kat_tag, tag);
    memset(junk, 0x5a, sizeof(junk));
    assert_non_null(g = wtkms_gcm_new());
    assert_int_equal(wtkms_gcm_setkey(g, key), 0);
    assert_int_equal(wtkms_gcm_seal(g, jnonce, NULL, 0, junk, sizeof(junk), jct, jtag), 0);
    assert_int_equal(wtkms_gcm_open(g, jnonce, NULL, 0, jct, sizeof(jct), junk, jtag), 0);

    assert_int_equal(wtkms_gcm_seal(g, iv, aad, sizeof(aad), pt, sizeof(pt), got, gtag), 0);
    assert_memory_equal(got, ct, sizeof(ct));
    assert_memory_equal(gtag, tag, sizeof(tag));
    assert_int_equal(wtkms_gcm_open(g, iv, aad, sizeof(aad), ct, sizeof(ct), out, tag), 0);
    assert_memory_equal(out, pt, sizeof(pt));

    /* A wrong tag is refused and leaves no plaintext; the context then still opens. */
    tag[15] ^= 0x80;
    memset(out, 0xee, sizeof(out));
    assert_int_equal(wtkms_gcm_open(g, iv, aad, sizeof(aad), ct, sizeof(ct), out, tag), EBADMSG);
    memset(got, 0, sizeof(got));
    assert_memory_equal(out, got, sizeof(out));
    tag[15] ^= 0x80;
    assert_int_equal(wtkms_gcm_open(g, iv, aad, sizeof(aad), ct, sizeof(ct), out, tag), 0);
    assert_memory_equal(out, pt, sizeof(pt));
    wtkms_gcm_free(g);
}

/*
 * test_reused_context_matches_textbook --
 *     Many messages of many sizes through one context agree with a fresh context each.
 */
static void
test_reused_context_matches_textbook(void **state)
{
    static uint8_t in[40000], out[40000], ref[40000], back[40000];
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 255, 256, 4096, 4097, 32768, 39999 };
    uint8_t key[32], nonce[12], aad[24], tag[16], rtag[16];
    wtkms_gcm *g;
    size_t i, m, len;

    (void)state;
    assert_int_equal(wtkms_random(key, sizeof(key)), 0);
    assert_int_equal(wtkms_random(in, sizeof(in)), 0);
    assert_non_null(g = wtkms_gcm_new());
    assert_int_equal(wtkms_gcm_setkey(g, key), 0);
    for (m = 0; m < 200; m++) {
        len = sizes[m % (sizeof(sizes) / sizeof(sizes[0]))];
        memset(nonce, 0, sizeof(nonce));
        for (i = 0; i < 8; i++)
            nonce[4 + i] = (uint8_t)(m >> (56 - 8 * i));
        assert_int_equal(wtkms_random(aad, sizeof(aad)), 0);
        assert_int_equal(wtkms_gcm_seal(g, nonce, aad, sizeof(aad), in, len, out, tag), 0);
        ref_seal(key, nonce, aad, sizeof(aad), in, len, ref, rtag);
        assert_memory_equal(tag, rtag, sizeof(tag));
        if (len > 0)
            assert_memory_equal(out, ref, len);
        assert_int_equal(wtkms_gcm_open(g, nonce, aad, sizeof(aad), out, len, back, tag), 0);
        if (len > 0)
            assert_memory_equal(back, in, len);
        /* The previous message's nonce must not linger: a wrong nonce fails. */
        nonce[11] ^= 1;
        assert_int_equal(wtkms_gcm_open(g, nonce, aad, sizeof(aad), out, len, back, tag), EBADMSG);
    }
    wtkms_gcm_free(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_path_in_use),
        cmocka_unit_test(test_fast_open_refuses_flips),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_reused_context_matches_textbook),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
