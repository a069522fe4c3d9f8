/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_segment.h -- the oplog segment file: format, sealing and opening (docs/FORMATS.md, "Oplog
 * segments").
 *
 *     "WTKMSOPL" (8) | header length H (uint32 LE) | header (BSON, H bytes) | body | tag (16)
 *
 * The header is in clear (list needs no key) and is authenticated: it is the GCM AAD. The body is
 * the oplog entries byte for byte, back to back (format 3: as one zstd frame when that is
 * smaller, "compression": "zstd", plain_len the entries' bytes and body_len the frame's),
 * encrypted with AES-256-GCM under a key derived
 * for this segment alone from the tap run's key: HKDF-SHA256(run key, salt = run id, info =
 * "wtkms oplog segment v1" | seq (8 bytes, big-endian)). The run key is random per tap run and
 * wrapped once by the master key; every segment carries the wrapped run key and the master key's
 * descriptor, so each segment can be read on its own. An unencrypted segment has no tag and
 * records the SHA-256 of its body instead. A gap segment has an empty body.
 *
 * Segments form a chain: each header holds the SHA-256 of the whole previous segment file.
 *
 * A compressed body is authenticated (tag or digest) before it is decompressed, and decompressed
 * into exactly plain_len bytes, never more (zcodec.h).
 */
#ifndef WTKMS_OPLOG_SEGMENT_H
#define WTKMS_OPLOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oplog_buf.h"
#include "crypto.h"
#include "err.h"
#include "kms.h"
#include "oplog_ts.h"

#define WTKMS_SEG_MAGIC "WTKMSOPL"
#define WTKMS_SEG_MAGIC_LEN 8
#define WTKMS_SEG_PREFIX_LEN 12                     /* magic + header length */
#define WTKMS_SEG_HLEN_LOCATION WTKMS_SEG_MAGIC_LEN /* the header length, little-endian */
#define WTKMS_SEG_FORMAT 3 /* written; 2 (no compression) and 1 (no store id) are still read */
#define WTKMS_SEG_FORMAT_2 2
#define WTKMS_SEG_FORMAT_OLD 1
#define WTKMS_SEG_MAX_HEADER (64 * 1024)
#define WTKMS_SEG_MAX_BODY                                                \
    (1024ULL * 1024 * 1024) /* the largest --segment-bytes plus one entry \
                             */
#define WTKMS_RUN_ID_LEN 16
#define WTKMS_STORE_ID_LEN 16

typedef enum { WTKMS_SEG_ENTRIES = 1, WTKMS_SEG_GAP = 2 } wtkms_seg_kind;

#define WTKMS_RS_NAME_MAX 128 /* a replica-set name, with its terminating NUL */

typedef struct {
    int format;
    wtkms_seg_kind kind;
    uint64_t seq;                  /* 1, 2, ...: position in the chain */
    uint8_t run[WTKMS_RUN_ID_LEN]; /* the tap run that wrote it */
    bool has_store;                /* format 2: the store it was written into */
    char rs[WTKMS_RS_NAME_MAX];    /* format 2: the replica set tapped (setName), "" if unknown */
    uint8_t store[WTKMS_STORE_ID_LEN];
    int64_t created_ms;                 /* wall clock when written */
    wtkms_ts first_ts, last_ts;         /* entries: first and last entry */
    int64_t last_term;                  /* entries: "t" of the last entry, -1 if none */
    wtkms_ts gap_from, gap_to;          /* gap: last entry saved before, first available after */
    uint64_t count;                     /* entries */
    bool compressed;                    /* format 3: the body is a zstd frame of the entries */
    uint64_t plain_len;                 /* bytes of entries */
    uint64_t body_len;                  /* bytes of body (ciphertext, or plaintext) */
    uint8_t prev[WTKMS_SHA256_LEN];     /* SHA-256 of the previous segment file; zeros for 1 */
    bool encrypted;                     /* AES-256-GCM, or "none" */
    uint8_t nonce[WTKMS_GCM_NONCE_LEN]; /* encrypted */
    wtkms_kms_desc cmk;                 /* encrypted: the master key that wraps the run key */
    uint8_t wrapped[4096];              /* encrypted: the wrapped run key */
    size_t wrapped_len;
    uint8_t body_sha256[WTKMS_SHA256_LEN]; /* unencrypted: digest of the body */
    size_t header_len;                     /* bytes before the body: prefix + BSON header */
} wtkms_seg_header;

/* The file name of segment seq: "oplog-000000000042.seg". */
#define WTKMS_SEG_NAME_LEN 32
void wtkms_seg_name(uint64_t seq, char *out, size_t outlen);
/* The seq a file name carries, or 0 when the name is not a segment's. */
uint64_t wtkms_seg_name_seq(const char *name);

/* The file's total length for a header: prefix + header + body (+ tag). */
uint64_t wtkms_seg_file_len(const wtkms_seg_header *h);

/*
 * Derive segment seq's key from the run key.
 */
int wtkms_seg_derive_key(
  const wtkms_key *run_key, const uint8_t run[WTKMS_RUN_ID_LEN], uint64_t seq, wtkms_key *out);

/*
 * Build a segment file into out (reset first): h describes it (count, ts, kind, chain, key
 * descriptor; nonce, lengths, compression and body digest are filled here). gcm is a context this
 * call keys; run_key is NULL for an unencrypted segment; zc NULL: the body is not compressed.
 */
struct wtkms_zc;
int wtkms_seg_seal(wtkms_seg_header *h, wtkms_gcm *gcm, const wtkms_key *run_key,
  struct wtkms_zc *zc, const uint8_t *plain, size_t plain_len, wtkms_buf *out, wtkms_err *err);

/*
 * Parse the prefix and header of a segment file (len may be just a prefix of the file, at least
 * the header). name is used in errors. EILSEQ for anything malformed.
 */
int wtkms_seg_parse_header(
  const uint8_t *file, size_t len, const char *name, wtkms_seg_header *h, wtkms_err *err);

/*
 * Check and decrypt a whole segment file whose header was parsed: the length, then the tag (or
 * body digest), then (format 3) decompression. The entries go to plain, which holds at least
 * h->plain_len bytes. run_key is NULL for unencrypted
 * segments. EILSEQ for a wrong length, EBADMSG when the tag or digest does not verify or the
 * body does not decompress to exactly plain_len bytes (plain then holds nothing of the segment).
 */
int wtkms_seg_open(const wtkms_seg_header *h, const uint8_t *file, size_t len, wtkms_gcm *gcm,
  const wtkms_key *run_key, const char *name, uint8_t *plain, wtkms_err *err);

/*
 * Walk the entries of a decrypted body: each call returns the next entry (0), 1 at the end, or
 * EILSEQ when the framing is broken.
 */
int wtkms_seg_next_entry(
  const uint8_t *body, size_t len, size_t *offp, const uint8_t **docp, size_t *doc_lenp);

/* "Not enabled" or "provider:key_id@version". */
void wtkms_seg_key_id(const wtkms_seg_header *h, char *out, size_t outlen);

#endif
