/*
 * oplog_txn.h -- which oplog entries a point-in-time restore applies, transaction by transaction.
 *
 * A transaction is applied only at its commit, and only when the commit is at or before the
 * target time:
 *   - small: one applyOps entry (lsid + txnNumber), applied as it stands;
 *   - large: applyOps entries with o.partialTxn: true linked by prevOpTime, ending in an
 *     applyOps without partialTxn (the commit);
 *   - prepared: the chain ends in an applyOps with o.prepare: true; a later commitTransaction
 *     (or abortTransaction) entry names it through prevOpTime.
 * A chain that began before the restore's start (at or before the snapshot's time) is followed
 * back into earlier segments. Chains not committed by the target time, and aborted ones, are
 * left out. Entries are never rewritten.
 */
#ifndef WTKMS_OPLOG_TXN_H
#define WTKMS_OPLOG_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oplog_catalog.h"

typedef enum {
    WTKMS_TXN_NONE,            /* not part of a multi-document transaction */
    WTKMS_TXN_PART,            /* partialTxn or prepare applyOps: waits for its commit */
    WTKMS_TXN_COMMIT,          /* the applyOps that commits (small or the last of a large one) */
    WTKMS_TXN_COMMIT_PREPARED, /* commitTransaction */
    WTKMS_TXN_ABORT            /* abortTransaction */
} wtkms_txn_kind;

typedef struct {
    wtkms_txn_kind kind;
    wtkms_ts prev; /* prevOpTime.ts (0: none, or the start of a chain) */
} wtkms_txn_info;

/* Classify a raw entry. EILSEQ when a transaction entry is malformed. */
int wtkms_txn_classify(const uint8_t *doc, size_t len, wtkms_txn_info *info);

/* A transaction part kept for the commit at commit_ts. */
typedef struct {
    wtkms_ts ts, commit_ts;
} wtkms_txn_link;

typedef struct {
    wtkms_ts after, until; /* the slice: after < ts <= until */
    /* Parts to keep, sorted by ts; those at or before `after` are the chains' early parts. */
    wtkms_txn_link *keep;
    size_t nkeep;
    uint64_t commits;       /* transactions committed in the slice */
    uint64_t dropped_parts; /* parts of transactions not committed by `until`, or aborted */
    uint64_t aborted;
} wtkms_txn_plan;

/*
 * Read (after, until] once and decide: which transaction parts belong to commits inside it,
 * following chains back before `after` when they started earlier. A chain that cannot be
 * followed (its start is not in the store) is an error naming it.
 */
int wtkms_txn_plan_build(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after,
  wtkms_ts until, wtkms_txn_plan *plan, wtkms_err *err);
void wtkms_txn_plan_free(wtkms_txn_plan *plan);

/* The commit a kept part belongs to (0: the part is not kept). */
wtkms_ts wtkms_txn_plan_commit_of(const wtkms_txn_plan *plan, wtkms_ts part_ts);

/*
 * Deliver, in timestamp order, every entry the restore applies: first the early parts of chains
 * (at or before `after`), then every entry of (after, until] except parts not kept and aborts.
 */
int wtkms_txn_plan_walk(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys,
  const wtkms_txn_plan *plan, wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err);

#endif
