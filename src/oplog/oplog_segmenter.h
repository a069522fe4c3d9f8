/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_segmenter.h -- turns a stream of oplog entries into sealed, chained, durable segments.
 *
 * One run key per segmenter (per tap run), random, wrapped once by the master key when the run
 * starts; each segment is sealed under its own key derived from it (segment.h). Entries are kept
 * byte for byte. A segment is cut when it reaches segment_bytes, or segment_seconds after its first
 * entry arrived; an empty segment is never written. After each segment the head file is updated.
 */
#ifndef WTKMS_OPLOG_SEGMENTER_H
#define WTKMS_OPLOG_SEGMENTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "oplog_buf.h"
#include "kms.h"
#include "oplog_segment.h"
#include "oplog_store.h"

#define WTKMS_SEGMENT_BYTES_DEFAULT (16 * 1024 * 1024)
#define WTKMS_SEGMENT_SECONDS_DEFAULT 60

/* Where a restarted tap picks up. */
typedef struct {
    bool empty;        /* the store holds no segment yet */
    wtkms_ts ts;       /* last saved entry, or (after a gap marker) the first entry to save */
    int64_t term;      /* "t" of the last saved entry, -1 when unknown */
    bool saved;        /* ts was saved: it must come back first and is skipped */
    wtkms_ts gap_from; /* after a gap marker: the last entry saved before the gap */
} wtkms_oplog_resume;

typedef struct {
    wtkms_oplog_store *store; /* NULL: seal but do not write (benchmark) */
    FILE *log;                /* one line per segment, or NULL */
    /*
     * A write the store may accept later failed (wtkms_oplog_store_transient): wait, then return
     * true to write the same bytes again, false to give up. NULL: give up at once. attempt counts
     * from 1 for each object.
     */
    bool (*retry)(void *arg, unsigned attempt, const wtkms_err *why);
    void *retry_arg;

    /* The run. */
    wtkms_kms *kms; /* wraps the run key; authenticates the segment a resumed chain ends with */
    uint8_t store_id[WTKMS_STORE_ID_LEN]; /* the store's, from its newest segment, or new */
    char rs[WTKMS_RS_NAME_MAX]; /* the replica set tapped: from the newest segment, or the server */
    bool encrypt;
    wtkms_key *run_key;
    uint8_t run[WTKMS_RUN_ID_LEN];
    wtkms_kms_desc cmk;
    uint8_t wrapped[4096];
    size_t wrapped_len;
    wtkms_gcm *gcm;

    /* The chain. */
    uint64_t next_seq;
    uint8_t prev[WTKMS_SHA256_LEN];
    wtkms_ts last_ts; /* newest entry accepted (saved or open) */

    /* The open segment. */
    wtkms_buf plain;
    uint64_t count;
    wtkms_ts first_ts, open_last_ts;
    int64_t last_term;
    int64_t opened_ms; /* monotonic time of its first entry */

    uint64_t segment_bytes;
    int64_t segment_ms;
    int compress_level;  /* zstd level of segment bodies (0: not compressed); init sets 1 */
    struct wtkms_zc *zc; /* made at the first segment */
    wtkms_buf out;

    /* Totals. */
    uint64_t segments, gaps, entries, plain_bytes, file_bytes;
} wtkms_segmenter;

/*
 * Start a run: a random run id and run key, the key wrapped by kms (NULL: unencrypted segments).
 * This is the run's only KMS call.
 */
int wtkms_segmenter_init(wtkms_segmenter *sg, wtkms_oplog_store *store, wtkms_kms *kms,
  uint64_t segment_bytes, unsigned segment_seconds, wtkms_err *err);
void wtkms_segmenter_free(wtkms_segmenter *sg);

/*
 * Continue the store's chain after its newest durable segment, and say where the oplog must be
 * read from. Refuses a store whose newest segment is missing (the head file names a later one) or
 * damaged, and a chain the run would mix encrypted and unencrypted segments in. An encrypted run
 * authenticates that segment (one unwrap) when it is under the configured master key.
 */
int wtkms_segmenter_resume(wtkms_segmenter *sg, wtkms_oplog_resume *r, wtkms_err *err);

/* Add one raw entry (its "ts" must be after every earlier one); cuts a full segment. */
int wtkms_segmenter_add(wtkms_segmenter *sg, const uint8_t *doc, size_t len, wtkms_err *err);

/* Whether the open segment is old enough to cut (now: monotonic milliseconds). */
bool wtkms_segmenter_due(const wtkms_segmenter *sg, int64_t now_ms);

/* Seal and write the open segment, if it holds anything. */
int wtkms_segmenter_flush(wtkms_segmenter *sg, wtkms_err *err);

/*
 * Record a gap: entries after `from` (the last saved) and before `to` (the first available) are
 * lost. Flushes the open segment first; the marker is durable when this returns.
 */
int wtkms_segmenter_gap(wtkms_segmenter *sg, wtkms_ts from, wtkms_ts to, wtkms_err *err);

/* Monotonic milliseconds. */
int64_t wtkms_oplog_mono_ms(void);

#endif
