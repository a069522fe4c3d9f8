/* SPDX-License-Identifier: Apache-2.0 */
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
 *
 * A prepared transaction is decided by its commitTransaction's o.commitTimestamp, not by the ts
 * of that entry: in a distributed transaction every shard commits at the same commitTimestamp but
 * writes its commit entry at its own ts, so restoring every shard to one TS must include it on
 * all of them or on none. A commit entry after the target time whose commitTimestamp is at or
 * before it is delivered after the slice (the saved oplog past the target is read to find it).
 *
 * Not transactions: a retryable insertMany/bulkWrite on 8.0 writes applyOps entries with lsid,
 * txnNumber and multiOpType: 1 (and no partialTxn), the second's prevOpTime naming the first or a
 * CRUD entry of the same txnNumber. mongod applies each of them on its own; so does this.
 */
#ifndef WTKMS_OPLOG_TXN_H
#define WTKMS_OPLOG_TXN_H

#include <stdbool.h>
#include <errno.h>
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
    wtkms_ts prev;      /* prevOpTime.ts (0: none, or the start of a chain) */
    wtkms_ts commit_ts; /* commitTransaction: o.commitTimestamp (0 when it has none) */
    int64_t txn_number; /* txnNumber, -1 when absent */
    bool multi_op;      /* an applyOps with multiOpType: 1 (8.0), applied op by op */
} wtkms_txn_info;

/*
 * History that is intact but that this tool cannot replay (an entry of a shape it does not know):
 * its own exit code, distinct from damage (EILSEQ). Every error with it names the entry.
 */
#define WTKMS_EUNREPLAYABLE ENOMSG

/* Classify a raw entry. EILSEQ when a transaction entry is malformed. */
int wtkms_txn_classify(const uint8_t *doc, size_t len, wtkms_txn_info *info);

/* A transaction part kept for the commit at commit_ts. */
typedef struct {
    wtkms_ts ts, commit_ts;
} wtkms_txn_link;

typedef enum {
    WTKMS_PLAN_RESTORE, /* what a restore applies: committed by `until` (commitTimestamp) */
    WTKMS_PLAN_EXPORT   /* every entry of the slice, plus the early parts of its commits */
} wtkms_plan_mode;

typedef struct {
    wtkms_ts after, until; /* the slice: after < ts <= until */
    wtkms_plan_mode mode;
    /* Parts to keep, sorted by ts; those at or before `after` are the chains' early parts. */
    wtkms_txn_link *keep;
    size_t nkeep;
    /* Restore: commitTransaction entries after `until` whose commitTimestamp is not (ts order). */
    wtkms_ts *late;
    size_t nlate;
    /* Restore: commitTransaction entries inside the slice whose commitTimestamp is after it. */
    wtkms_ts *excluded;
    size_t nexcluded;
    uint64_t commits;       /* transactions committed in the slice */
    uint64_t dropped_parts; /* parts of transactions not committed by `until`, or aborted */
    uint64_t aborted;
    uint64_t early_parts; /* parts at or before `after` delivered for commits in the slice */
} wtkms_txn_plan;

/*
 * Read (after, until] once and decide: which transaction parts belong to commits inside it,
 * following chains back before `after` when they started earlier. A chain that cannot be
 * followed (its start is not in the store) is an error naming it. A restore also reads the store
 * past `until` for commits of prepared transactions whose commitTimestamp is at or before it.
 */
int wtkms_txn_plan_build(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after,
  wtkms_ts until, wtkms_plan_mode mode, wtkms_txn_plan *plan, wtkms_err *err);
void wtkms_txn_plan_free(wtkms_txn_plan *plan);

/* The commit a kept part belongs to (0: the part is not kept). */
wtkms_ts wtkms_txn_plan_commit_of(const wtkms_txn_plan *plan, wtkms_ts part_ts);

/*
 * Deliver, in timestamp order, every entry the restore applies: first the early parts of chains
 * (at or before `after`), then every entry of (after, until] except parts not kept, aborts and
 * excluded commits, then the late commits. An export plan delivers the early parts, then every
 * entry of the slice.
 */
int wtkms_txn_plan_walk(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys,
  const wtkms_txn_plan *plan, wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err);

#endif
