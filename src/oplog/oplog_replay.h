/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_replay.h -- apply oplog entries to a running mongod, as mongorestore --oplogReplay does.
 *
 * Each entry is applied with the applyOps command (one operation per command), without session
 * fields, wall time or rid; "o" and "o2" are copied byte for byte (an update's $v: 2 diff is never
 * rewritten), except that a create loses recordIdsReplicated (as mongorestore strips it).
 *
 * The collection UUID ("ui") is kept when the target runs on the files of the snapshot the oplog
 * continues: its collections have the source's UUIDs, so a collection created later gets the
 * source's UUID too and a later renameCollection dropTarget: UUID finds it. It is stripped for a
 * rebuilt target (as mongorestore does without --preserveUUID), and then a renameCollection's
 * dropTarget UUID becomes true. WTKMS_UI_PROBE decides per target: at the first CRUD operation
 * on a collection the target holds, listCollections says whether the target's UUID is the
 * entry's (keep from then on) or not (strip from then on); until then ui is kept.
 *
 * Transactions are applied at their commit: the inner operations of every part, in order, then
 * the commit's own. An applyOps a user ran, or an 8.0 retryable write's (multiOpType 1), has its
 * operations applied one by one. Skipped like mongorestore: no-ops, the internal config.*
 * namespaces (all but chunks, collections, databases, settings, shards, tags and version),
 * local.*, index-build bookkeeping (startIndexBuild, abortIndexBuild, setMultikeyMetadata). dbCheck
 * is applied (mongod only logs it). Index creation (createIndexes, commitIndexBuild) runs as a
 * createIndexes command, which recent servers require instead of applyOps. A command of any other
 * kind stops the replay with WTKMS_EUNREPLAYABLE, naming the entry.
 */
#ifndef WTKMS_OPLOG_REPLAY_H
#define WTKMS_OPLOG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "oplog_txn.h"

typedef struct wtkms_replay wtkms_replay;

/* Connect to the target (a mongodb:// URI). */
typedef enum {
    WTKMS_UI_PROBE, /* ask the target (see above) */
    WTKMS_UI_KEEP,  /* the target runs on the snapshot's files */
    WTKMS_UI_STRIP  /* a rebuilt target */
} wtkms_ui_mode;

int wtkms_replay_open(
  const char *uri, const wtkms_txn_plan *plan, wtkms_ui_mode ui, wtkms_replay **rp, wtkms_err *err);
/* Whether ui is (still) kept: WTKMS_UI_STRIP once decided so. */
wtkms_ui_mode wtkms_replay_ui_mode(const wtkms_replay *r);
/* An entry the plan delivers (wtkms_txn_plan_walk's callback; arg is the wtkms_replay). */
int wtkms_replay_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err);
/* Counts: operations applied, entries skipped, transactions applied. */
void wtkms_replay_stats(
  const wtkms_replay *r, uint64_t *applied, uint64_t *skipped, uint64_t *txns);
void wtkms_replay_close(wtkms_replay *r);

#endif
