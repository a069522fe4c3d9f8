/*
 * oplog_replay.h -- apply oplog entries to a running mongod, as mongorestore --oplogReplay does.
 *
 * Each entry is applied with the applyOps command (one operation per command), without its
 * collection UUID ("ui"), session fields or wall time, so it applies to a restored or rebuilt
 * collection; "o" and "o2" are copied byte for byte (an update's $v: 2 diff is never rewritten).
 * Transactions are applied at their commit: the inner operations of every part, in order, then
 * the commit's own. Skipped like mongorestore: no-ops, the internal config.* and local.*
 * namespaces, index-build bookkeeping (startIndexBuild, abortIndexBuild, setMultikeyMetadata).
 * Index creation (createIndexes, commitIndexBuild) runs as a createIndexes command, which recent
 * servers require instead of applyOps.
 */
#ifndef WTKMS_OPLOG_REPLAY_H
#define WTKMS_OPLOG_REPLAY_H

#include <stdint.h>

#include "oplog_txn.h"

typedef struct wtkms_replay wtkms_replay;

/* Connect to the target (a mongodb:// URI). */
int wtkms_replay_open(
  const char *uri, const wtkms_txn_plan *plan, wtkms_replay **rp, wtkms_err *err);
/* An entry the plan delivers (wtkms_txn_plan_walk's callback; arg is the wtkms_replay). */
int wtkms_replay_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err);
/* Counts: operations applied, entries skipped, transactions applied. */
void wtkms_replay_stats(
  const wtkms_replay *r, uint64_t *applied, uint64_t *skipped, uint64_t *txns);
void wtkms_replay_close(wtkms_replay *r);

#endif
