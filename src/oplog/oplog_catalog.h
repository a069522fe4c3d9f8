/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_catalog.h -- what an oplog store holds, read from segment headers alone (no key needed),
 * and the key cache the readers share.
 */
#ifndef WTKMS_OPLOG_CATALOG_H
#define WTKMS_OPLOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms.h"
#include "kms_ring.h"
#include "oplog_segment.h"
#include "oplog_store.h"

typedef struct {
    uint64_t seq;       /* from the file name */
    uint64_t file_len;  /* bytes on disk */
    bool ok;            /* the header parsed */
    char problem[1024]; /* why not, when !ok */
    wtkms_seg_header h;
} wtkms_oplog_seginfo;

typedef struct {
    wtkms_oplog_store *store;
    wtkms_oplog_seginfo *segs; /* ascending seq */
    size_t n;
    bool have_head;
    wtkms_oplog_head head;
    char head_problem[1024]; /* the head file is unreadable */
    bool allow_gaps;         /* wtkms_oplog_catalog_check accepts recorded gaps */
} wtkms_oplog_catalog;

/* Read every segment's header and the head file. */
int wtkms_oplog_catalog_load(wtkms_oplog_store *store, wtkms_oplog_catalog *cat, wtkms_err *err);
void wtkms_oplog_catalog_free(wtkms_oplog_catalog *cat);

/*
 * The range of entries the store covers, first entry to last (0 and 0 when it holds none).
 */
void wtkms_oplog_catalog_range(const wtkms_oplog_catalog *cat, wtkms_ts *firstp, wtkms_ts *lastp);

/*
 * Check that every entry with after < ts <= until is in the store: the range is inside what the
 * segments cover, no gap crosses it and no segment is missing or unreadable. ERANGE names the
 * covered range or the gap; EILSEQ a damaged or missing segment. With allow_gaps (set in
 * cat->allow_gaps), recorded gaps inside the range are accepted. what names the request in
 * messages ("export --from ... --until ...").
 */
int wtkms_oplog_catalog_check(
  const wtkms_oplog_catalog *cat, wtkms_ts after, wtkms_ts until, const char *what, wtkms_err *err);

/* How many recorded gaps lie inside (after, until] (export --across-gaps warns of them). */
int wtkms_oplog_catalog_gaps_in(const wtkms_oplog_catalog *cat, wtkms_ts after, wtkms_ts until);

/*
 * The run keys of the segments, unwrapped once per tap run (one KMS call per run, not per
 * segment). kms may be NULL when only unencrypted segments will be read.
 */
typedef struct wtkms_oplog_keys wtkms_oplog_keys;
wtkms_oplog_keys *wtkms_oplog_keys_new(wtkms_kms *kms);
void wtkms_oplog_keys_free(wtkms_oplog_keys *keys);
/*
 * Find each segment's master key among several configurations (kms_ring.h) rather than kms
 * alone: segments written across a rotation. The ring stays the caller's.
 */
void wtkms_oplog_keys_use_ring(wtkms_oplog_keys *keys, wtkms_kms_ring *ring);
/*
 * With a master key configured (kms not NULL), an unencrypted segment is refused (EBADMSG): it
 * carries no tag, so anyone who can write to the store could have made it. allow lets it through
 * (--allow-unencrypted).
 */
void wtkms_oplog_keys_allow_unencrypted(wtkms_oplog_keys *keys, bool allow);
/* Whether a master key is configured and unencrypted segments are not allowed. */
bool wtkms_oplog_keys_strict(const wtkms_oplog_keys *keys);
/* The run key of a segment (NULL for an unencrypted one); the provider's error otherwise. */
int wtkms_oplog_keys_get(wtkms_oplog_keys *keys, const wtkms_seg_header *h, const char *name,
  const wtkms_key **keyp, wtkms_err *err);

/* Buffers and a cipher context reused from segment to segment by a reader. */
typedef struct {
    wtkms_gcm *gcm;
    wtkms_buf file;  /* the segment file last read */
    wtkms_buf plain; /* its entries, decrypted (header's body_len bytes) */
} wtkms_oplog_reader;

int wtkms_oplog_reader_init(wtkms_oplog_reader *rd, wtkms_err *err);
/* Wipes the decrypted entries. */
void wtkms_oplog_reader_free(wtkms_oplog_reader *rd);

/*
 * Read, check and decrypt one whole segment: the file's header must name the seq its file name
 * does, its length and tag must verify. The entries are left in rd->plain; digest receives the
 * SHA-256 of the file; *hp the header.
 */
int wtkms_oplog_read_segment(wtkms_oplog_store *store, uint64_t seq, wtkms_oplog_keys *keys,
  wtkms_oplog_reader *rd, wtkms_seg_header *hp, uint8_t digest[WTKMS_SHA256_LEN], wtkms_err *err);

#endif

/*
 * Walk a decrypted segment's entries, checking them against its header: framing, a Timestamp "ts"
 * on each, strictly increasing, after prev_last (the previous segment's last entry, 0 for none),
 * first and last as recorded, the count. fn (may be NULL) sees each entry; a non-zero return from
 * fn stops the walk and is returned. Integrity faults are EILSEQ, naming the segment.
 */
typedef int (*wtkms_oplog_entry_fn)(
  void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err);
int wtkms_oplog_walk(const wtkms_seg_header *h, const uint8_t *plain, wtkms_ts prev_last,
  wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err);
