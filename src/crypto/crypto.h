/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.h -- the cryptographic primitives wtkms uses, all through OpenSSL, none doing I/O.
 *
 * AES-256-GCM with 96-bit nonces and 128-bit tags; HKDF-SHA256; SHA-256; HMAC-SHA256; the
 * operating system's random source through OpenSSL's DRBG.
 */
#ifndef WTKMS_CRYPTO_H
#define WTKMS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secure.h"

#define WTKMS_GCM_NONCE_LEN 12
#define WTKMS_GCM_TAG_LEN 16
#define WTKMS_SHA256_LEN 32

/*
 * A pre-keyed AES-256-GCM context: the key schedule is set once, only the nonce changes per
 * message. Not thread-safe: one per thread (the encryptor keeps a pool).
 */
typedef struct wtkms_gcm wtkms_gcm;

wtkms_gcm *wtkms_gcm_new(void);
void wtkms_gcm_free(wtkms_gcm *g);
/* Set (or replace) the key of both directions. */
int wtkms_gcm_setkey(wtkms_gcm *g, const uint8_t key[WTKMS_KEY_LEN]);
/* out receives len bytes of ciphertext; tag receives 16 bytes. out may equal in. */
int wtkms_gcm_seal(wtkms_gcm *g, const uint8_t nonce[WTKMS_GCM_NONCE_LEN], const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[WTKMS_GCM_TAG_LEN]);
/* Returns 0, or EBADMSG when the tag does not verify (out then holds no plaintext: wiped). */
int wtkms_gcm_open(wtkms_gcm *g, const uint8_t nonce[WTKMS_GCM_NONCE_LEN], const uint8_t *aad,
  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
  const uint8_t tag[WTKMS_GCM_TAG_LEN]);

/*
 * Whether contexts encrypt with the cheaper OpenSSL calls for nonce and tag, which a self-test at
 * the first wtkms_gcm_new found to match the usual calls byte for byte (crypto.c).
 */
bool wtkms_gcm_fast_seal(void);
/* The same for decryption: nonce and expected tag in one parameter call (crypto.c). */
bool wtkms_gcm_fast_open(void);

/* One-shot seal/open with a random nonce: nonce || ciphertext || tag (len + 28 bytes). */
#define WTKMS_SEAL_OVERHEAD (WTKMS_GCM_NONCE_LEN + WTKMS_GCM_TAG_LEN)
int wtkms_seal_random(const uint8_t key[WTKMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
  const uint8_t *in, size_t len, uint8_t *out);
int wtkms_open_random(const uint8_t key[WTKMS_KEY_LEN], const uint8_t *aad, size_t aad_len,
  const uint8_t *in, size_t in_len, uint8_t *out);

/* HKDF-SHA256 (RFC 5869), extract and expand. */
int wtkms_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
  const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

int wtkms_sha256(const void *data, size_t len, uint8_t out[WTKMS_SHA256_LEN]);
int wtkms_hmac_sha256(
  const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[WTKMS_SHA256_LEN]);

/* Streaming SHA-256 for files and chunks. */
typedef struct wtkms_sha256_ctx wtkms_sha256_ctx;
wtkms_sha256_ctx *wtkms_sha256_begin(void);
int wtkms_sha256_update(wtkms_sha256_ctx *c, const void *data, size_t len);
int wtkms_sha256_end(wtkms_sha256_ctx *c, uint8_t out[WTKMS_SHA256_LEN]); /* frees c */

/* Constant-time comparison: 0 when equal. */
int wtkms_ct_memcmp(const void *a, const void *b, size_t len);

#ifdef WTKMS_FUZZING
/*
 * Fuzzing builds only (fuzz/build.sh; no other build defines WTKMS_FUZZING, and
 * tests/foundation/test_fuzz_fence.py checks the built binaries): while set, every MAC and tag
 * check passes (wtkms_ct_memcmp says "equal", GCM opens hand back the unauthenticated plaintext),
 * so a fuzzer reaches the code that runs after authentication.
 */
extern bool wtkms_fuzz_skip_auth;
#endif

/* Cryptographically secure random bytes; keys use the private DRBG. */
int wtkms_random(void *out, size_t len);
int wtkms_random_key(uint8_t out[WTKMS_KEY_LEN]);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void wtkms_hex(const uint8_t *in, size_t len, char *out);

#endif
