/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_tap.h -- tail local.oplog.rs into a store of encrypted segments.
 *
 * The tap runs find on local.oplog.rs with {ts: {$gte: <resume ts>}}, tailable and awaitData,
 * with readConcern "majority", so the server returns only entries a majority of the replica set
 * has written (a write that could still roll back is never returned, hence never saved). The
 * first entry returned must be the one the store saved last; if it is newer, the oplog rolled
 * over while the tap was away and a gap marker is recorded. A getMore that fails with
 * CappedPositionLost (136) means the same while running: the tap saves what it has, re-reads from
 * its position, and the check above records the gap. Network errors and primary step-downs are
 * retried with capped exponential backoff and jitter; SIGTERM or SIGINT (wtkms_tap_stop) flush the
 * open segment and end the run cleanly.
 */
#ifndef WTKMS_OPLOG_TAP_H
#define WTKMS_OPLOG_TAP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kms.h"
#include "oplog_store.h"
#include "oplog_ts.h"

typedef enum { WTKMS_TAP_START_OLDEST, WTKMS_TAP_START_LATEST, WTKMS_TAP_START_TS } wtkms_tap_start;

typedef struct {
    const char *uri;          /* mongodb:// URI (may carry credentials: never printed) */
    uint64_t segment_bytes;   /* cut at this many bytes of entries */
    unsigned segment_seconds; /* cut this long after a segment's first entry */
    wtkms_tap_start start;    /* where an empty store starts */
    wtkms_ts start_ts;        /* WTKMS_TAP_START_TS */
    unsigned await_ms;        /* maxAwaitTimeMS of each getMore */
    unsigned backoff_max_ms;  /* cap of the reconnect backoff */
    bool once;                /* stop when caught up (the first empty getMore) */
    int compress_level;       /* zstd level of segment bodies; 0: the default; -1: none */
} wtkms_tap_opts;

/* Set from a signal handler: flush and return. */
extern volatile sig_atomic_t wtkms_tap_stop;

/*
 * Run the tap until stopped (0), or until an error that retrying cannot fix. kms is NULL for
 * unencrypted segments.
 */
int wtkms_tap_run(
  wtkms_oplog_store *store, wtkms_kms *kms, const wtkms_tap_opts *opts, wtkms_err *err);

#endif
