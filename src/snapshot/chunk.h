/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunk.h -- the snapshot data format: one object per copied file, a header, then the file in
 * authenticated chunks whose order, count and end are bound (docs/FORMATS.md, "Snapshots").
 *
 * Object of file number f (header, then chunk records in order):
 *     0   u8[8]  magic "WTKMSSNF"
 *     8   u8     format version: 2 (written), 1 (read)
 *     9   u8     mode: 1 = AES-256-GCM, 0 = clear (check values only, --no-encryption)
 *     10  u8     format 2: codec of compressed chunks, 1 = zstd, 0 = none (no chunk compressed)
 *     11  u8     reserved (0)
 *     12  u32    file number f, big-endian
 *     16  u32    chunk size C, big-endian
 *     20  u32    reserved (0)
 * Every plaintext chunk is C bytes except the final one (0..C); an empty file is one empty final
 * chunk. Its length P is known from the manifest (file size, C).
 *
 * Format 2 chunk record i: a 4-byte big-endian word (bit 31: the payload is a zstd frame of the
 * chunk; bits 0..30: payload length L, at most C, and exactly P when not compressed), then the
 * payload sealed, then a 16-byte tag.
 *     nonce = be32(f) || be64(i)
 *     AAD   = "WTKMSSN2" || snapshot id (32 bytes, NUL-padded) || be32(f) || be64(i) || u8 final
 *             || u8 compressed || be32(L) || be32(P)
 * Format 1 chunk record i: the chunk (P bytes) then the tag, with
 *     AAD   = "WTKMSSNC" || snapshot id (32 bytes, NUL-padded) || be32(f) || be64(i) || u8 final
 * Sealing, either format: encrypted: ciphertext || GCM tag under the data key; clear: payload ||
 * SHA-256(AAD || payload)[0..16] (detects damage, not forgery).
 * The nonce is unique because the data key is unique to the snapshot and (f, i) is used once.
 * Binding i and the final flag makes a dropped, repeated, reordered or truncated chunk fail;
 * binding f makes chunks swapped between files fail; binding the id, between snapshots; binding
 * the compressed flag, L and P makes a chunk flipped between compressed and not, or of another
 * length, fail. The tag is checked before anything is decompressed, and decompression is bounded
 * by P (zcodec.h).
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
#define WTKMS_SNAP_DATA_VERSION 2   /* written */
#define WTKMS_SNAP_DATA_VERSION_1 1 /* still read */
#define WTKMS_SNAP_HDR_LEN 24
#define WTKMS_SNAP_TAG_LEN 16
#define WTKMS_SNAP_REC_LEN 4 /* format 2: the record word before each chunk's payload */
#define WTKMS_SNAP_REC_COMPRESSED 0x80000000u
#define WTKMS_SNAP_ID_LEN 32 /* room for an id in the AAD; ids are shorter */
#define WTKMS_SNAP_AAD_LEN_1 (8 + WTKMS_SNAP_ID_LEN + 4 + 8 + 1)
#define WTKMS_SNAP_AAD_LEN_2 (WTKMS_SNAP_AAD_LEN_1 + 1 + 4 + 4)
#define WTKMS_SNAP_MODE_CLEAR 0
#define WTKMS_SNAP_MODE_GCM 1
#define WTKMS_SNAP_CODEC_NONE 0
#define WTKMS_SNAP_CODEC_ZSTD 1

/* The keys of one snapshot, derived from its snapshot key (locked memory). */
typedef struct {
    uint8_t data[WTKMS_KEY_LEN];     /* chunk encryption */
    uint8_t manifest[WTKMS_KEY_LEN]; /* manifest MAC */
} wtkms_snap_keys;

/* Derive the data and manifest keys: HKDF-SHA256(snapshot key, salt = id, info = label). */
int wtkms_snap_derive(const uint8_t key[WTKMS_KEY_LEN], const char *id, wtkms_snap_keys *keys);

/*
 * A chunk sealer/opener for one thread, for objects of a format version (1 or 2). keys == NULL:
 * clear mode.
 */
typedef struct wtkms_snap_codec wtkms_snap_codec;
int wtkms_snap_codec_new(
  const wtkms_snap_keys *keys, const char *id, int version, wtkms_snap_codec **cp);
void wtkms_snap_codec_free(wtkms_snap_codec *c);

/* What one chunk record says of its payload (format 1: never compressed, stored = plain). */
typedef struct {
    uint32_t file;
    uint64_t chunk;
    bool final;
    bool compressed; /* the payload is a zstd frame of the chunk */
    size_t stored;   /* L: payload bytes */
    size_t plain;    /* P: the chunk's bytes, from the manifest */
} wtkms_snap_rec;

/* Seal buf[0..r->stored) in place; the tag goes to buf[stored..stored+16). */
int wtkms_snap_seal(wtkms_snap_codec *c, const wtkms_snap_rec *r, uint8_t *buf);
/* Open buf[0..r->stored) + tag in place: 0, or EBADMSG (buf then holds no plaintext). */
int wtkms_snap_open(wtkms_snap_codec *c, const wtkms_snap_rec *r, uint8_t *buf);

/* Format 2: the record word of r. */
void wtkms_snap_rec_encode(uint8_t word[WTKMS_SNAP_REC_LEN], const wtkms_snap_rec *r);
/*
 * Format 2: read a record word into r (whose file, chunk, final and plain the caller set from the
 * manifest): 0, or EBADMSG with why when the lengths are impossible (L over chunk_size, a stored
 * chunk whose L is not P, a compressed chunk in an object whose header has no codec). Bounds L
 * before any payload byte is read.
 */
int wtkms_snap_rec_decode(const uint8_t word[WTKMS_SNAP_REC_LEN], uint32_t chunk_size, int codec,
  wtkms_snap_rec *r, char *why, size_t whylen);

/*
 * Format 2: compress plain[0..len) into out (room for chunk size + tag) when that saves bytes. z
 * NULL: never. Sets r->compressed and r->stored; *payloadp is out or plain.
 */
struct wtkms_zc;
int wtkms_snap_compress(struct wtkms_zc *z, const uint8_t *plain, size_t len, uint8_t *out,
  wtkms_snap_rec *r, uint8_t **payloadp);
/*
 * After wtkms_snap_open: the chunk's P bytes. Not compressed: buf itself. Compressed: the frame
 * in buf[0..stored) is decompressed into out (P bytes of room), never past P bytes. 0, or EBADMSG
 * with why.
 */
struct wtkms_zd;
int wtkms_snap_decompress(struct wtkms_zd *z, const wtkms_snap_rec *r, uint8_t *buf, uint8_t *out,
  uint8_t **plainp, char *why, size_t whylen);

/* Object header of a format version (codec: format 2 only). */
void wtkms_snap_hdr_encode(uint8_t hdr[WTKMS_SNAP_HDR_LEN], int version, int mode, int codec,
  uint32_t file, uint32_t chunk_size);
/*
 * Check a header against what the manifest says (version: the manifest's object format): 0 and
 * *codecp (format 2's codec byte, 0 for format 1), or EBADMSG with a message.
 */
int wtkms_snap_hdr_check(const uint8_t hdr[WTKMS_SNAP_HDR_LEN], int version, int mode,
  uint32_t file, uint32_t chunk_size, int *codecp, char *why, size_t whylen);

/* How many chunks a file of size bytes has (at least one). */
uint64_t wtkms_snap_nchunks(int64_t size, uint32_t chunk_size);
/* Stored size of a format 1 file's object (format 2's depends on how well chunks compress). */
int64_t wtkms_snap_object_size(int64_t size, uint32_t chunk_size);

#endif
