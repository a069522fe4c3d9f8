/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_shape.c -- an oplog operation as a replay target takes it, and which namespaces it takes.
 */
#include "oplog_shape.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oplog_txn.h"

/*
 * wtkms_oplog_cmd_kind --
 *     The commands mongorestore --oplogReplay knows (mongo-tools' knownCommands and ignored
 *     entries), and the transaction ones.
 */
wtkms_cmd_kind
wtkms_oplog_cmd_kind(const char *name)
{
    static const char *const apply[] = { "create", "drop", "renameCollection", "dropDatabase",
        "collMod", "dropIndexes", "deleteIndexes", "dropIndex", "deleteIndex", "convertToCapped",
        "emptycapped", "dbCheck", NULL };
    int i;

    for (i = 0; apply[i] != NULL; i++)
        if (strcmp(apply[i], name) == 0)
            return (WTKMS_CMD_APPLY);
    if (strcmp(name, "startIndexBuild") == 0 || strcmp(name, "abortIndexBuild") == 0 ||
        strcmp(name, "setMultikeyMetadata") == 0)
        return (WTKMS_CMD_SKIP);
    if (strcmp(name, "createIndexes") == 0 || strcmp(name, "commitIndexBuild") == 0)
        return (WTKMS_CMD_INDEX);
    if (strcmp(name, "applyOps") == 0)
        return (WTKMS_CMD_NESTED);
    if (strcmp(name, "commitTransaction") == 0 || strcmp(name, "abortTransaction") == 0)
        return (WTKMS_CMD_TXN);
    return (WTKMS_CMD_UNKNOWN);
}

/*
 * check_op --
 *     One operation, and those nested in its applyOps.
 */
static int
check_op(const uint8_t *doc, size_t len, wtkms_ts ts, int depth, wtkms_err *err)
{
    bson_iter_t it, o, arr;
    const char *op, *ns, *first;
    const uint8_t *data;
    uint32_t dlen;
    char a[WTKMS_TS_STRLEN];
    int ret;

    op = ns = first = NULL;
    if (!bson_iter_init_from_data(&it, doc, len))
        return (EILSEQ);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "op") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            op = bson_iter_utf8(&it, NULL);
        else if (strcmp(k, "ns") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            ns = bson_iter_utf8(&it, NULL);
        else if (strcmp(k, "o") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                 bson_iter_recurse(&it, &o) && bson_iter_next(&o))
            first = bson_iter_key(&o);
    }
    if (op == NULL || ns == NULL || strcmp(op, "c") != 0 || first == NULL ||
        !wtkms_oplog_ns_replayed(ns))
        return (0);
    wtkms_ts_str(ts, a, sizeof(a));
    switch (wtkms_oplog_cmd_kind(first)) {
    case WTKMS_CMD_UNKNOWN:
        return (wtkms_errf(err, WTKMS_EUNREPLAYABLE,
          "the oplog entry at %s %s a \"%s\" command (namespace %s), which wtkms cannot replay "
          "(mongorestore refuses unknown commands too): restore to a time before %s",
          a, depth == 0 ? "is" : "holds", first, ns, a));
    case WTKMS_CMD_NESTED:
        if (depth >= WTKMS_APPLYOPS_MAX_DEPTH)
            return (wtkms_errf(err, WTKMS_EUNREPLAYABLE,
              "the oplog entry at %s nests applyOps more than %d deep, which mongod never writes",
              a, WTKMS_APPLYOPS_MAX_DEPTH));
        (void)bson_iter_init_from_data(&it, doc, len);
        if (!bson_iter_find(&it, "o") || !bson_iter_recurse(&it, &o) ||
            !bson_iter_find(&o, "applyOps") || !BSON_ITER_HOLDS_ARRAY(&o) ||
            !bson_iter_recurse(&o, &arr))
            return (EILSEQ);
        while (bson_iter_next(&arr)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
                return (EILSEQ);
            bson_iter_document(&arr, &dlen, &data);
            if ((ret = check_op(data, dlen, ts, depth + 1, err)) != 0)
                return (ret);
        }
        return (0);
    default:
        return (0);
    }
}

/*
 * nested_ok --
 *     Every document and array inside can be walked to its end: bson_validate (libbson 1.23)
 *     passes over an embedded document whose last byte is not its terminator.
 */
static bool
nested_ok(const uint8_t *data, size_t len, int depth)
{
    bson_iter_t it;
    const uint8_t *d;
    uint32_t l;

    if (depth > 100 || !bson_iter_init_from_data(&it, data, len))
        return (false);
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &l, &d);
        else if (BSON_ITER_HOLDS_ARRAY(&it))
            bson_iter_array(&it, &l, &d);
        else
            continue;
        if (!nested_ok(d, l, depth + 1))
            return (false);
    }
    return (it.err_off == 0);
}

/*
 * wtkms_oplog_check_replayable --
 *     Refuse, before anything is written, history a replay would stop at or could not send.
 */
int
wtkms_oplog_check_replayable(const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    bson_t b;
    size_t off;
    char a[WTKMS_TS_STRLEN];
    int ret;

    /* The replay copies fields byte for byte into its commands: never damaged ones. */
    off = 0;
    if (!bson_init_static(&b, doc, len) || !bson_validate(&b, BSON_VALIDATE_NONE, &off) ||
        !nested_ok(doc, len, 0)) {
        wtkms_ts_str(ts, a, sizeof(a));
        return (wtkms_errf(err, EILSEQ,
          "the oplog entry at %s is not valid BSON (from byte %zu of its %zu): the saved oplog "
          "is damaged",
          a, off, len));
    }
    if ((ret = check_op(doc, len, ts, 0, err)) == EILSEQ && err->code != EILSEQ) {
        wtkms_ts_str(ts, a, sizeof(a));
        return (wtkms_errf(err, EILSEQ, "the oplog entry at %s is a malformed command", a));
    }
    return (ret);
}

/*
 * wtkms_oplog_ns_replayed --
 *     Namespaces mongorestore never replays are skipped: the server rebuilds them itself. Of
 * config.*, the sharding metadata a config server's routing table is made of is replayed, as
 * mongorestore does (its ConfigCollectionsToKeep); the rest (sessions, transactions, image
 * collection, ...) is the server's own.
 */
bool
wtkms_oplog_ns_replayed(const char *ns)
{
    static const char *const keep[] = { "chunks", "collections", "databases", "settings", "shards",
        "tags", "version", NULL };
    int i;

    if (strncmp(ns, "config.", 7) == 0) {
        for (i = 0; keep[i] != NULL; i++)
            if (strcmp(ns + 7, keep[i]) == 0)
                return (true);
        return (false);
    }
    return (strncmp(ns, "local.", 6) != 0 && strncmp(ns, "__mdb_internal", 14) != 0);
}

/*
 * copy_o --
 *     An operation's o as the target takes it: byte for byte, except a create's
 *     recordIdsReplicated (stripped, as mongorestore does: the target decides its record ids)
 *     and, when ui is stripped, a renameCollection's dropTarget naming a collection UUID (which
 *     the target's collection does not carry: true, drop what is at the target name).
 */
static void
copy_o(bson_iter_t *it, const char *opname, bool strip_ui, bson_t *out)
{
    bson_iter_t o;
    bson_t doc;
    const char *first;

    if (strcmp(opname, "c") != 0 || !BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &o) ||
        !bson_iter_next(&o)) {
        (void)bson_append_iter(out, "o", -1, it);
        return;
    }
    first = bson_iter_key(&o);
    if (strcmp(first, "create") != 0 && (!strip_ui || strcmp(first, "renameCollection") != 0)) {
        (void)bson_append_iter(out, "o", -1, it);
        return;
    }
    (void)bson_iter_recurse(it, &o);
    BSON_APPEND_DOCUMENT_BEGIN(out, "o", &doc);
    while (bson_iter_next(&o)) {
        const char *k = bson_iter_key(&o);
        if (strcmp(first, "create") == 0 && strcmp(k, "recordIdsReplicated") == 0)
            continue;
        if (strcmp(first, "renameCollection") == 0 && strcmp(k, "dropTarget") == 0 &&
            BSON_ITER_HOLDS_BINARY(&o)) {
            BSON_APPEND_BOOL(&doc, k, true);
            continue;
        }
        (void)bson_append_iter(&doc, k, -1, &o);
    }
    bson_append_document_end(out, &doc);
}

/*
 * wtkms_oplog_op_for_apply --
 *     An operation as applyOps takes it: the entry's fields without session fields, wall or rid,
 *     and without ui unless the target's collections are the snapshot's own (same UUIDs).
 */
void
wtkms_oplog_op_for_apply(bson_iter_t *it, const char *opname, bool strip_ui, bson_t *out)
{
    while (bson_iter_next(it)) {
        const char *k = bson_iter_key(it);
        if (strcmp(k, "o") == 0)
            copy_o(it, opname, strip_ui, out);
        else if (strcmp(k, "op") == 0 || strcmp(k, "ns") == 0 || strcmp(k, "o2") == 0 ||
                 strcmp(k, "ts") == 0 || strcmp(k, "t") == 0 || strcmp(k, "h") == 0 ||
                 strcmp(k, "v") == 0 || strcmp(k, "b") == 0 || (!strip_ui && strcmp(k, "ui") == 0))
            (void)bson_append_iter(out, k, -1, it);
    }
}
