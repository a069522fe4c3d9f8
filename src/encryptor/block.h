/* SPDX-License-Identifier: Apache-2.0 */
/*
 * block.h -- the wtkms block format and the engine that seals and opens blocks.
 *
 * No WiredTiger types here: the WiredTiger glue (wtkms_ext.c) adapts this to WT_ENCRYPTOR, and
 * the unit tests and benchmarks drive it directly.
 *
 * Block (docs/FORMATS.md):
 *     0   u8    format version (1)
 *     1   u8    cipher (1 = AES-256-GCM)
 *     2   u16   flags (0)
 *     4   u32   data-key number ("root"), big-endian
 *     8   u32   open number, big-endian
 *     12  u8[12] nonce: 96-bit big-endian counter (the first 4 bytes are 0 in version 1)
 *     24  ...   ciphertext (as long as the plaintext)
 *     end u8[16] GCM tag
 * The 24-byte header is the GCM additional data. Write key for (root r, open o, epoch e) =
 * HKDF-SHA256(ikm = root key r, salt = open o's salt, info = label | be32(e) | keyid), where the
 * epoch is the counter >> 32: no derived key ever sees more than 2^32 blocks.
 */
#ifndef WTKMS_BLOCK_H
#define WTKMS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keystore.h"

#define WTKMS_BLOCK_VERSION 1
#define WTKMS_CIPHER_AES256GCM 1

/* Where each field of the layout above starts (as WiredTiger's sodium example names its own). */
#define WTKMS_BLOCK_VERSION_LOCATION 0
#define WTKMS_BLOCK_CIPHER_LOCATION 1
#define WTKMS_BLOCK_FLAGS_LOCATION 2
#define WTKMS_BLOCK_ROOT_LOCATION 4
#define WTKMS_BLOCK_OPEN_LOCATION 8
#define WTKMS_BLOCK_NONCE_LOCATION 12
/* The nonce's first 4 bytes (0 in version 1), then its 64-bit counter. */
#define WTKMS_BLOCK_NONCE_HIGH_LOCATION WTKMS_BLOCK_NONCE_LOCATION
#define WTKMS_BLOCK_COUNTER_LOCATION (WTKMS_BLOCK_NONCE_LOCATION + 4)
#define WTKMS_BLOCK_CIPHERTEXT_LOCATION 24
#define WTKMS_BLOCK_HDR_LEN WTKMS_BLOCK_CIPHERTEXT_LOCATION /* the GCM additional data */
#define WTKMS_BLOCK_TAG_LEN 16
#define WTKMS_BLOCK_OVERHEAD (WTKMS_BLOCK_HDR_LEN + WTKMS_BLOCK_TAG_LEN)
/* The tag follows the ciphertext, which is as long as the plaintext. */
#define WTKMS_BLOCK_TAG_LOCATION(plain_len) (WTKMS_BLOCK_CIPHERTEXT_LOCATION + (plain_len))

typedef struct wtkms_engine wtkms_engine; /* one per WiredTiger connection (home) */
typedef struct wtkms_keyed wtkms_keyed;   /* one per keyid */

/* Parsed header, for diagnostics and tools. */
typedef struct {
    uint8_t version, cipher;
    uint16_t flags;
    uint32_t root, open;
    uint64_t counter;
} wtkms_block_hdr;

/* Take ownership of an unlocked keystore. */
int wtkms_engine_new(wtkms_keystore *ks, wtkms_engine **enginep, wtkms_err *err);
void wtkms_engine_free(wtkms_engine *engine);
wtkms_keystore *wtkms_engine_keystore(wtkms_engine *engine);

/* The per-keyid state, built without I/O (customize may run under a spinlock). */
int wtkms_keyed_new(wtkms_engine *engine, const char *keyid, wtkms_keyed **kdp, wtkms_err *err);
void wtkms_keyed_free(wtkms_keyed *kd);
const char *wtkms_keyed_keyid(const wtkms_keyed *kd);

/*
 * Seal src into dst (dst_len >= src_len + WTKMS_BLOCK_OVERHEAD). The first call of an open
 * persists the open record (and a new keyid's data key) with one fsync before any block is
 * written under them.
 */
int wtkms_block_encrypt(wtkms_keyed *kd, const uint8_t *src, size_t src_len, uint8_t *dst,
  size_t dst_len, size_t *result_lenp, wtkms_err *err);

/* Open a block; on any failure dst holds no plaintext and err names keyid, key and cause. */
int wtkms_block_decrypt(wtkms_keyed *kd, const uint8_t *src, size_t src_len, uint8_t *dst,
  size_t dst_len, size_t *result_lenp, wtkms_err *err);

/* Parse a header (no keys needed): 0, or EBADMSG. */
int wtkms_block_parse_header(const uint8_t *src, size_t src_len, wtkms_block_hdr *hdr);

/*
 * Unit-test hook only (unittests/test_block.c): set the next nonce counter of the
 * open kd draws from (shared by its keyids), so the 2^32 epoch boundary and the end of the
 * counter space can be reached without 2^32 encryptions.
 * Nothing else calls it; the extension does not export it.
 */
void wtkms_keyed_test_set_counter(wtkms_keyed *kd, uint64_t next);

/* Unit-test hook only: how many derived keys kd holds (the cache forged blocks must not grow). */
size_t wtkms_keyed_test_cached_keys(wtkms_keyed *kd);

#endif
