/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c -- AES-256-GCM, HKDF, SHA-256 and random bytes through OpenSSL EVP.
 */
#include "crypto.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef WTKMS_FUZZING
/* It can only be a clang ASan build: never a library someone could ship. */
#ifndef __has_feature
#error "WTKMS_FUZZING skips authentication: only fuzz/build.sh (clang, ASan) may define it"
#else
#if !__has_feature(address_sanitizer)
#error "WTKMS_FUZZING skips authentication: only fuzz/build.sh (clang, ASan) may define it"
#endif
#endif
bool wtkms_fuzz_skip_auth;
#endif

struct wtkms_gcm {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

/*
 * The per-message nonce and tag. EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) (and its
 * Decrypt twin) is the usual way to set a nonce, but in OpenSSL 3 it also asks the provider for
 * the IV length, a parameter lookup by name; with the tag moved through EVP_CIPHER_CTX_ctrl,
 * nonce and tag take about 1,450 of the 3,400 instructions a 256-byte block costs to seal, and
 * 1,350 of the 3,400 to open (callgrind, OpenSSL 3.0.19); the calls below take about 950 and
 * 600. The rest is the cipher: EVP_Cipher instead of the update and final calls saves nothing,
 * and EVP offers no cheaper way to the tag than one get_params. The provider's GCM accepts the
 * whole 12-byte IV as the parameter OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED with length -1 (what
 * EVP_CTRL_GCM_SET_IV_FIXED, -1 passes; TLS uses it before EVP_CTRL_GCM_IV_GEN): the provider
 * copies the IV and applies it at the next update, exactly as after EVP_EncryptInit_ex. So:
 *   - seal: one EVP_CIPHER_CTX_set_params for the nonce, one EVP_CIPHER_CTX_get_params for the
 *     tag;
 *   - open: one EVP_CIPHER_CTX_set_params carrying both the expected tag and the nonce, before
 *     the updates (GCM takes the expected tag any time before the final step).
 * Both stay on EVP and the provider interface (a FIPS provider implements the same parameters).
 * Because this borrows a TLS parameter, fast_selftest checks once per process, on contexts
 * reused across messages, that sealing produces byte for byte what the usual calls produce, and
 * that opening accepts exactly what the usual calls accept: every good message, and none with a
 * flipped byte of tag, nonce, additional data or ciphertext, also right after a refusal. If any
 * check fails, contexts keep the usual calls in that direction. The block format does not change
 * either way.
 */
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static bool fast_seal, fast_open;

/*
 * set_nonce_param --
 *     Load a whole 12-byte nonce (and, for opening, the expected tag) with one parameter call.
 */
static int
set_nonce_param(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *tag)
{
    OSSL_PARAM params[3], *p;

    p = params;
    if (tag != NULL)
        *p++ = OSSL_PARAM_construct_octet_string(
          OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, WTKMS_GCM_TAG_LEN);
    /* Length (size_t)-1 is the provider's "the whole IV" (what EVP_CTRL_GCM_SET_IV_FIXED, -1
     * sends). */
    *p++ = OSSL_PARAM_construct_octet_string(
      OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)nonce, (size_t)-1);
    *p = OSSL_PARAM_construct_end();
    return (EVP_CIPHER_CTX_set_params(ctx, params) == 1 ? 0 : EIO);
}

/*
 * gcm_seal_with --
 *     One message on a keyed context, nonce and tag set the fast way or the usual way.
 */
static int
gcm_seal_with(EVP_CIPHER_CTX *ctx, bool fast, const uint8_t *nonce, const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    OSSL_PARAM params[2];
    int n;

    if (len > INT_MAX || aad_len > INT_MAX)
        return (EINVAL);
    if (fast) {
        if (set_nonce_param(ctx, nonce, NULL) != 0)
            return (EIO);
    } else if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return (EIO);
    if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        return (EIO);
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)
        return (EIO);
    if (EVP_EncryptFinal_ex(ctx, out + len, &n) != 1)
        return (EIO);
    if (!fast)
        return (
          EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WTKMS_GCM_TAG_LEN, tag) == 1 ? 0 : EIO);
    params[0] =
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, WTKMS_GCM_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();
    return (EVP_CIPHER_CTX_get_params(ctx, params) == 1 ? 0 : EIO);
}

/*
 * gcm_open_with --
 *     Decrypt and authenticate one message on a keyed context, nonce and tag set the fast way or
 *     the usual way; on a bad tag wipe the output and return EBADMSG.
 */
static int
gcm_open_with(EVP_CIPHER_CTX *ctx, bool fast, const uint8_t *nonce, const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, const uint8_t *tag)
{
    int n;

    if (len > INT_MAX || aad_len > INT_MAX)
        return (EINVAL);
    if (fast) {
        if (set_nonce_param(ctx, nonce, tag) != 0)
            return (EIO);
    } else if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return (EIO);
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        return (EIO);
    if (len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1)
        return (EIO);
    if (!fast &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WTKMS_GCM_TAG_LEN, (void *)tag) != 1)
        return (EIO);
    if (EVP_DecryptFinal_ex(ctx, out + len, &n) != 1) {
#ifdef WTKMS_FUZZING
        if (wtkms_fuzz_skip_auth)
            return (0);
#endif
        /* Never hand back unauthenticated plaintext. */
        OPENSSL_cleanse(out, len);
        return (EBADMSG);
    }
    return (0);
}

/*
 * open_agrees --
 *     Whether the fast and usual opens give the same verdict (and plaintext) on one message.
 */
static bool
open_agrees(EVP_CIPHER_CTX *ref, EVP_CIPHER_CTX *fast, const uint8_t *nonce, const uint8_t *aad,
  size_t aad_len, const uint8_t *ct, size_t len, const uint8_t *tag, const uint8_t *pt, bool good)
{
    uint8_t a[128], b[128];
    int ra, rb;

    if (len > sizeof(a))
        return (false);
    ra = gcm_open_with(ref, false, nonce, aad, aad_len, ct, len, a, tag);
    rb = gcm_open_with(fast, true, nonce, aad, aad_len, ct, len, b, tag);
    if (good)
        return (ra == 0 && rb == 0 && memcmp(a, pt, len) == 0 && memcmp(b, pt, len) == 0);
    return (ra == EBADMSG && rb == EBADMSG);
}

/*
 * fast_selftest --
 *     Decide once per direction whether the fast nonce and tag calls behave as the usual ones.
 */
static void
fast_selftest(void)
{
    static const uint8_t key[WTKMS_KEY_LEN] = { 0x51, 0x7a, 0x03, 0xc4, 0x9e, 0x21, 0x6b, 0xd8,
        0x35, 0xf0, 0x4c, 0x87, 0x12, 0xaa, 0x69, 0x0e, 0xb3, 0x5d, 0x28, 0x94, 0xe7, 0x1f, 0xc2,
        0x7b, 0x46, 0x99, 0x0d, 0xee, 0x63, 0x38, 0xa5, 0x11 };
    EVP_CIPHER_CTX *ref, *fast, *dref, *dfast;
    uint8_t nonce[WTKMS_GCM_NONCE_LEN], aad[24], pt[77], ct[2][sizeof(pt)], tag[2][16];
    uint8_t ct2[sizeof(pt)], tag2[16];
    size_t len;
    bool ok, dok;
    int i, m;

    for (i = 0; i < (int)sizeof(pt); i++)
        pt[i] = (uint8_t)(i * 29 + 7);
    for (i = 0; i < (int)sizeof(aad); i++)
        aad[i] = (uint8_t)(i * 13 + 1);
    ref = EVP_CIPHER_CTX_new();
    fast = EVP_CIPHER_CTX_new();
    dref = EVP_CIPHER_CTX_new();
    dfast = EVP_CIPHER_CTX_new();
    ok = ref != NULL && fast != NULL && dref != NULL && dfast != NULL &&
         EVP_EncryptInit_ex(ref, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
         EVP_EncryptInit_ex(fast, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
         EVP_DecryptInit_ex(dref, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
         EVP_DecryptInit_ex(dfast, EVP_aes_256_gcm(), NULL, key, NULL) == 1;
    dok = ok;
    /*
     * Three messages on each context: the later ones show that a reused context takes the new
     * nonce (and tag) and forgets the previous message. Each message is also opened whole and
     * with one flipped byte in each authenticated part, and opened whole again after the
     * refusals: the fast open must agree with the usual one every time.
     */
    for (m = 0; ok && m < 3; m++) {
        len = sizeof(pt) - (size_t)m;
        memset(nonce, 0, sizeof(nonce));
        nonce[11] = (uint8_t)(m % 2 + 1);
        ok =
          gcm_seal_with(ref, false, nonce, aad, sizeof(aad), pt, len, ct[m % 2], tag[m % 2]) == 0 &&
          gcm_seal_with(fast, true, nonce, aad, sizeof(aad), pt, len, ct2, tag2) == 0 &&
          memcmp(ct[m % 2], ct2, len) == 0 && memcmp(tag[m % 2], tag2, sizeof(tag2)) == 0;
        if (!ok)
            break;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, true);
        tag2[m * 5] ^= 0x01;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, false);
        tag2[m * 5] ^= 0x01;
        nonce[11 - m] ^= 0x40;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, false);
        nonce[11 - m] ^= 0x40;
        aad[m * 7] ^= 0x80;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, false);
        aad[m * 7] ^= 0x80;
        ct2[len - 1 - (size_t)m] ^= 0x02;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, false);
        ct2[len - 1 - (size_t)m] ^= 0x02;
        dok = dok && open_agrees(dref, dfast, nonce, aad, sizeof(aad), ct2, len, tag2, pt, true);
    }
    ok = ok && memcmp(ct[0], ct[1], sizeof(pt) - 2) != 0;
    EVP_CIPHER_CTX_free(ref);
    EVP_CIPHER_CTX_free(fast);
    EVP_CIPHER_CTX_free(dref);
    EVP_CIPHER_CTX_free(dfast);
    fast_seal = ok;
    fast_open = ok && dok;
}

/*
 * wtkms_gcm_fast_seal --
 *     Whether contexts encrypt with the fast nonce and tag calls (for tests and benchmarks).
 */
bool
wtkms_gcm_fast_seal(void)
{
    (void)pthread_once(&fast_once, fast_selftest);
    return (fast_seal);
}

/*
 * wtkms_gcm_fast_open --
 *     Whether contexts decrypt with the fast nonce and tag call (for tests and benchmarks).
 */
bool
wtkms_gcm_fast_open(void)
{
    (void)pthread_once(&fast_once, fast_selftest);
    return (fast_open);
}

struct wtkms_sha256_ctx {
    EVP_MD_CTX *md;
};

/*
 * wtkms_gcm_new --
 *     Allocate a GCM context pair with no key.
 */
wtkms_gcm *
wtkms_gcm_new(void)
{
    wtkms_gcm *g;

    (void)pthread_once(&fast_once, fast_selftest);
    if ((g = calloc(1, sizeof(*g))) == NULL)
        return (NULL);
    if ((g->enc = EVP_CIPHER_CTX_new()) == NULL || (g->dec = EVP_CIPHER_CTX_new()) == NULL)
        goto err;
    /* Fix the cipher and nonce length once; setkey and each message change only key or nonce. */
    if (EVP_EncryptInit_ex(g->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_DecryptInit_ex(g->dec, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
        goto err;
    return (g);
err:
    wtkms_gcm_free(g);
    return (NULL);
}

/*
 * wtkms_gcm_free --
 *     Free a context pair; EVP_CIPHER_CTX_free cleanses the key schedule.
 */
void
wtkms_gcm_free(wtkms_gcm *g)
{
    if (g == NULL)
        return;
    EVP_CIPHER_CTX_free(g->enc);
    EVP_CIPHER_CTX_free(g->dec);
    free(g);
}

/*
 * wtkms_gcm_setkey --
 *     Key both directions.
 */
int
wtkms_gcm_setkey(wtkms_gcm *g, const uint8_t key[WTKMS_KEY_LEN])
{
    if (EVP_EncryptInit_ex(g->enc, NULL, NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(g->dec, NULL, NULL, key, NULL) != 1)
        return (EIO);
    return (0);
}

/*
 * wtkms_gcm_seal --
 *     Encrypt len bytes with the context's key and the given nonce.
 */
int
wtkms_gcm_seal(wtkms_gcm *g, const uint8_t nonce[WTKMS_GCM_NONCE_LEN], const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[WTKMS_GCM_TAG_LEN])
{
    return (gcm_seal_with(g->enc, fast_seal, nonce, aad, aad_len, in, len, out, tag));
}

/*
 * wtkms_gcm_open --
 *     Decrypt and authenticate; on a bad tag wipe the output and return EBADMSG.
 */
int
wtkms_gcm_open(wtkms_gcm *g, const uint8_t nonce[WTKMS_GCM_NONCE_LEN], const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, const uint8_t tag[WTKMS_GCM_TAG_LEN])
{
    return (gcm_open_with(g->dec, fast_open, nonce, aad, aad_len, in, len, out, tag));
}

/*
 * wtkms_seal_random --
 *     One-shot seal with a fresh random nonce: out = nonce || ciphertext || tag.
 */
int
wtkms_seal_random(const uint8_t key[WTKMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
  const uint8_t *in, size_t len, uint8_t *out)
{
    wtkms_gcm *g;
    int ret;

    if ((g = wtkms_gcm_new()) == NULL)
        return (ENOMEM);
    if ((ret = wtkms_random(out, WTKMS_GCM_NONCE_LEN)) == 0 &&
        (ret = wtkms_gcm_setkey(g, key)) == 0)
        ret = wtkms_gcm_seal(g, out, aad, aad_len, in, len, out + WTKMS_GCM_NONCE_LEN,
          out + WTKMS_GCM_NONCE_LEN + len);
    wtkms_gcm_free(g);
    return (ret);
}

/*
 * wtkms_open_random --
 *     Open what wtkms_seal_random made; out receives in_len - 28 bytes.
 */
int
wtkms_open_random(const uint8_t key[WTKMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
  const uint8_t *in, size_t in_len, uint8_t *out)
{
    wtkms_gcm *g;
    size_t len;
    int ret;

    if (in_len < WTKMS_SEAL_OVERHEAD)
        return (EBADMSG);
    len = in_len - WTKMS_SEAL_OVERHEAD;
    if ((g = wtkms_gcm_new()) == NULL)
        return (ENOMEM);
    if ((ret = wtkms_gcm_setkey(g, key)) == 0)
        ret = wtkms_gcm_open(
          g, in, aad, aad_len, in + WTKMS_GCM_NONCE_LEN, len, out, in + WTKMS_GCM_NONCE_LEN + len);
    wtkms_gcm_free(g);
    return (ret);
}

/*
 * wtkms_hkdf --
 *     HKDF-SHA256 through the EVP_KDF interface.
 */
int
wtkms_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
  const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[5], *p;
    int ret;

    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
        return (EIO);
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return (ENOMEM);
    p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    ret = EVP_KDF_derive(kctx, out, out_len, params) == 1 ? 0 : EIO;
    EVP_KDF_CTX_free(kctx);
    return (ret);
}

/*
 * wtkms_sha256 --
 *     One-shot SHA-256.
 */
int
wtkms_sha256(const void *data, size_t len, uint8_t out[WTKMS_SHA256_LEN])
{
    return (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : EIO);
}

/*
 * wtkms_hmac_sha256 --
 *     One-shot HMAC-SHA256.
 */
int
wtkms_hmac_sha256(
  const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[WTKMS_SHA256_LEN])
{
    unsigned int olen = WTKMS_SHA256_LEN;

    if (key_len > INT_MAX)
        return (EINVAL);
    return (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &olen) != NULL ? 0 : EIO);
}

/*
 * wtkms_sha256_begin --
 *     Start a streaming digest.
 */
wtkms_sha256_ctx *
wtkms_sha256_begin(void)
{
    wtkms_sha256_ctx *c;

    if ((c = calloc(1, sizeof(*c))) == NULL)
        return (NULL);
    if ((c->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        free(c);
        return (NULL);
    }
    return (c);
}

/*
 * wtkms_sha256_update --
 *     Feed bytes.
 */
int
wtkms_sha256_update(wtkms_sha256_ctx *c, const void *data, size_t len)
{
    return (EVP_DigestUpdate(c->md, data, len) == 1 ? 0 : EIO);
}

/*
 * wtkms_sha256_end --
 *     Finish, write the digest, free the context.
 */
int
wtkms_sha256_end(wtkms_sha256_ctx *c, uint8_t out[WTKMS_SHA256_LEN])
{
    unsigned int olen;
    int ret;

    ret = EVP_DigestFinal_ex(c->md, out, &olen) == 1 ? 0 : EIO;
    EVP_MD_CTX_free(c->md);
    free(c);
    return (ret);
}

/*
 * wtkms_ct_memcmp --
 *     Compare without a data-dependent early exit.
 */
int
wtkms_ct_memcmp(const void *a, const void *b, size_t len)
{
#ifdef WTKMS_FUZZING
    if (wtkms_fuzz_skip_auth)
        return (0);
#endif
    return (CRYPTO_memcmp(a, b, len) == 0 ? 0 : 1);
}

/*
 * wtkms_random --
 *     Public random bytes (nonces, salts, ids).
 */
int
wtkms_random(void *out, size_t len)
{
    if (len > INT_MAX)
        return (EINVAL);
    return (RAND_bytes(out, (int)len) == 1 ? 0 : EIO);
}

/*
 * wtkms_random_key --
 *     Secret random bytes from OpenSSL's private DRBG.
 */
int
wtkms_random_key(uint8_t out[WTKMS_KEY_LEN])
{
    return (RAND_priv_bytes(out, WTKMS_KEY_LEN) == 1 ? 0 : EIO);
}

/*
 * wtkms_hex --
 *     Hex-encode.
 */
void
wtkms_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
