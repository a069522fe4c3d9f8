/*
 * oplog_shape.c -- an oplog operation as a replay target takes it, and which namespaces it takes.
 */
#include "oplog_shape.h"

#include <string.h>

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
