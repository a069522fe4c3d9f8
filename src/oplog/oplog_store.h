/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store.h -- where oplog segments live: a local directory or S3-compatible object storage
 * (docs/FORMATS.md, "Oplog segments").
 *
 *     STORE/oplog-000000000001.seg ...   the segments, one file (object) each, written atomically
 *     STORE/oplog.head                   the newest durable segment (seq and digest)
 *     STORE/tap.lock                     a directory: held (flock) by the one tap writing to it
 *
 * Every write is atomic, the segment before the head. A directory: temporary file, fsync, rename,
 * fsync of the directory, so a crash leaves whole segments only. S3 (s3://BUCKET[/PREFIX]): one
 * PUT per object, a segment's conditional (If-None-Match: *), so it never replaces another and
 * two taps cannot fork the chain. A segment is never overwritten.
 */
#ifndef WTKMS_OPLOG_STORE_H
#define WTKMS_OPLOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "err.h"
#include "oplog_buf.h"
#include "oplog_ts.h"

typedef struct wtkms_oplog_store wtkms_oplog_store;

#define WTKMS_OPLOG_HEAD_FORMAT 2 /* written; 1 (no MAC, no store id) is still read */

/*
 * The head file. Format 2 names the store and the tap run that wrote the newest segment, and
 * (an encrypted run) carries an HMAC-SHA256 under a key derived from that run's key, which only
 * the master key unwraps: whoever lacks the key cannot move the end of the chain.
 */
typedef struct {
    int format;                       /* 1 or 2 */
    uint64_t seq;                     /* newest durable segment */
    uint8_t digest[WTKMS_SHA256_LEN]; /* SHA-256 of its file */
    uint8_t store[16];                /* format 2: the store's id (as in its segments) */
    uint8_t run[16];                  /* format 2: the run that wrote segment seq */
    bool has_mac;                     /* format 2, encrypted run */
    uint8_t mac[WTKMS_SHA256_LEN];
} wtkms_oplog_head;

/*
 * The head's MAC: HMAC-SHA256(HKDF-SHA256(run key, salt = run id, info = "wtkms oplog head v2"),
 * "wtkms oplog head v2" | be64(seq) | digest | store | run).
 */
int wtkms_oplog_head_mac(
  const wtkms_key *run_key, const wtkms_oplog_head *head, uint8_t out[WTKMS_SHA256_LEN]);

/*
 * Open a store: a directory path, or s3://BUCKET[/PREFIX] with the s3_* settings of cfg (which
 * may be NULL; those used are marked). A directory: create makes it (mode 700) when missing;
 * ENOENT when it does not exist and create is false. S3: the bucket must exist.
 */
int wtkms_oplog_store_open(
  const char *location, wtkms_config *cfg, bool create, wtkms_oplog_store **storep, wtkms_err *err);
void wtkms_oplog_store_close(wtkms_oplog_store *s);
const char *wtkms_oplog_store_where(const wtkms_oplog_store *s);

/* The seqs of the segment files present, ascending (*seqsp malloc'd, may be NULL when none). */
int wtkms_oplog_store_list(wtkms_oplog_store *s, uint64_t **seqsp, size_t *np, wtkms_err *err);

/*
 * Read segment seq: the whole file, or only the prefix and header when header_only. *bufp is
 * malloc'd; *file_lenp is the file's full size.
 */
int wtkms_oplog_store_read(wtkms_oplog_store *s, uint64_t seq, bool header_only, uint8_t **bufp,
  size_t *lenp, uint64_t *file_lenp, wtkms_err *err);

/* Read a whole segment file into b (reused across calls); b->len is its length. */
int wtkms_oplog_store_read_buf(wtkms_oplog_store *s, uint64_t seq, wtkms_buf *b, wtkms_err *err);

/* Write segment seq atomically; never replaces an existing segment (EEXIST). */
int wtkms_oplog_store_write(
  wtkms_oplog_store *s, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err);

/* The head file: ENOENT when the store has none. */
int wtkms_oplog_store_read_head(wtkms_oplog_store *s, wtkms_oplog_head *head, wtkms_err *err);
int wtkms_oplog_store_write_head(
  wtkms_oplog_store *s, const wtkms_oplog_head *head, wtkms_err *err);

/*
 * Take the store's tap lock for the life of the process: EBUSY when another tap holds it. (S3 has
 * no lock: a second tap's first segment finds its name taken and stops, EEXIST.)
 */
int wtkms_oplog_store_lock(wtkms_oplog_store *s, wtkms_err *err);

/*
 * Whether a write that failed with code may succeed if tried again later (an object store that
 * is down, throttles or times out); never for a local directory, a refusal or a conflict.
 */
bool wtkms_oplog_store_transient(const wtkms_oplog_store *s, int code);

/* The path (or URL) of a segment in the store (for messages). */
void wtkms_oplog_store_path(const wtkms_oplog_store *s, uint64_t seq, char *out, size_t outlen);

#endif
