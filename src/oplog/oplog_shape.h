/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_shape.h -- an oplog operation as the applyOps of a replay target takes it (what is kept,
 * stripped or rewritten, as mongorestore --oplogReplay does), and which namespaces are replayed.
 */
#ifndef WTKMS_OPLOG_SHAPE_H
#define WTKMS_OPLOG_SHAPE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "oplog_ts.h"

/* applyOps nested deeper than this is refused (mongod never nests them). */
#define WTKMS_APPLYOPS_MAX_DEPTH 8

/* What a replay does with a command entry, by the first field of its o. */
typedef enum {
    WTKMS_CMD_APPLY,  /* applyOps with the operation (create, drop, collMod, dbCheck, ...) */
    WTKMS_CMD_SKIP,   /* the server's own bookkeeping: startIndexBuild, abortIndexBuild, ... */
    WTKMS_CMD_INDEX,  /* createIndexes / commitIndexBuild: a createIndexes command */
    WTKMS_CMD_NESTED, /* applyOps: each operation on its own */
    WTKMS_CMD_TXN,    /* commitTransaction / abortTransaction: the transaction planner's */
    WTKMS_CMD_UNKNOWN /* anything else: history this tool cannot replay */
} wtkms_cmd_kind;

wtkms_cmd_kind wtkms_oplog_cmd_kind(const char *name);

/*
 * 0 when a replay can apply every operation of the entry at ts (looking into applyOps), else
 * WTKMS_EUNREPLAYABLE naming the entry and the command; EILSEQ when the entry is malformed (not
 * valid BSON at any depth, or a command without its fields).
 */
int wtkms_oplog_check_replayable(const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err);

/* Whether operations on ns are replayed (false for local.*, internal and the server's config.*). */
bool wtkms_oplog_ns_replayed(const char *ns);

/*
 * Append to out the fields of the operation it iterates (op, ns, o, o2, ts, t, h, v, b, and ui
 * unless strip_ui), o rewritten only to drop a create's recordIdsReplicated and, with strip_ui, to
 * turn a renameCollection's dropTarget UUID into true.
 */
void wtkms_oplog_op_for_apply(bson_iter_t *it, const char *opname, bool strip_ui, bson_t *out);

#endif
