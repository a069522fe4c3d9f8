/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunk.h -- the snapshot data format: one object per copied file, a header, then the file in
 * authenticated chunks whose order, count and end are bound (docs/FORMATS.md, "Snapshots").
 *
 * Object of file number f (header, then chunk records in order):
 *     0   u8[8]  magic "WTKMSSNF"
 *     8   u8     format version (1)
 *     9   u8     mode: 1 = AES-256-GCM, 0 = clear (check values only, --no-encryption)
 *     10  u16    reserved (0)
 *     12  u32    file number f, big-endian
 *     16  u32    chunk size C, big-endian
 *     20  u32    reserved (0)
 * Chunk record i: the chunk (C bytes, the last one 0..C) then a 16-byte tag. Every chunk is C
 * bytes except the final one; an empty file is one empty final chunk.
 *     nonce = be32(f) || be64(i)
 *     AAD   = "WTKMSSNC" || snapshot id (32 bytes, NUL-padded) || be32(f) || be64(i) || u8 final
 *     encrypted: ciphertext || GCM tag under the data key
 *     clear:     plaintext || SHA-256(AAD || plaintext)[0..16] (detects damage, not forgery)
 * The nonce is unique because the data key is unique to the snapshot and (f, i) is used once.
 * Binding i and the final flag makes a dropped, repeated, reordered or truncated chunk fail;
 * binding f makes chunks swapped between files fail; binding the id, between snapshots.
 */
#ifndef WTKMS_SNAP_CHUNK_H
#define WTKMS_SNAP_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "secure.h"

#define WTKMS_SNAP_MAGIC "WTKMSSNF"
#define WTKMS_SNAP_DATA_VERSION 1
#define WTKMS_SNAP_HDR_LEN 24
#define WTKMS_SNAP_TAG_LEN 16
#define WTKMS_SNAP_ID_LEN 32 /* room for an id in the AAD; ids are shorter */
#define WTKMS_SNAP_AAD_LEN (8 + WTKMS_SNAP_ID_LEN + 4 + 8 + 1)
#define WTKMS_SNAP_MODE_CLEAR 0
#define WTKMS_SNAP_MODE_GCM 1

/* The keys of one snapshot, derived from its snapshot key (locked memory). */
typedef struct {
    uint8_t data[WTKMS_KEY_LEN];     /* chunk encryption */
    uint8_t manifest[WTKMS_KEY_LEN]; /* manifest MAC */
} wtkms_snap_keys;

/* Derive the data and manifest keys: HKDF-SHA256(snapshot key, salt = id, info = label). */
int wtkms_snap_derive(const uint8_t key[WTKMS_KEY_LEN], const char *id, wtkms_snap_keys *keys);

/* A chunk sealer/opener for one thread. keys == NULL: clear mode. */
typedef struct wtkms_snap_codec wtkms_snap_codec;
int wtkms_snap_codec_new(const wtkms_snap_keys *keys, const char *id, wtkms_snap_codec **cp);
void wtkms_snap_codec_free(wtkms_snap_codec *c);

/* Seal buf[0..len) in place; the tag goes to buf[len..len+16). */
int wtkms_snap_seal(
  wtkms_snap_codec *c, uint32_t file, uint64_t chunk, bool final, uint8_t *buf, size_t len);
/* Open buf[0..len) + tag in place: 0, or EBADMSG (buf then holds no plaintext). */
int wtkms_snap_open(
  wtkms_snap_codec *c, uint32_t file, uint64_t chunk, bool final, uint8_t *buf, size_t len);

/* Object header. */
void wtkms_snap_hdr_encode(
  uint8_t hdr[WTKMS_SNAP_HDR_LEN], int mode, uint32_t file, uint32_t chunk_size);
/* Check a header against what the manifest says: 0, or EBADMSG with a message. */
int wtkms_snap_hdr_check(const uint8_t hdr[WTKMS_SNAP_HDR_LEN], int mode, uint32_t file,
  uint32_t chunk_size, char *why, size_t whylen);

/* How many chunks a file of size bytes has (at least one). */
uint64_t wtkms_snap_nchunks(int64_t size, uint32_t chunk_size);
/* Stored size of a file's object. */
int64_t wtkms_snap_object_size(int64_t size, uint32_t chunk_size);

#endif
