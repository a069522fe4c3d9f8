/*
 * oplog_shape.h -- an oplog operation as the applyOps of a replay target takes it (what is kept,
 * stripped or rewritten, as mongorestore --oplogReplay does), and which namespaces are replayed.
 */
#ifndef WTKMS_OPLOG_SHAPE_H
#define WTKMS_OPLOG_SHAPE_H

#include <bson/bson.h>
#include <stdbool.h>

/* Whether operations on ns are replayed (false for local.*, internal and the server's config.*). */
bool wtkms_oplog_ns_replayed(const char *ns);

/*
 * Append to out the fields of the operation it iterates (op, ns, o, o2, ts, t, h, v, b, and ui
 * unless strip_ui), o rewritten only to drop a create's recordIdsReplicated and, with strip_ui, to
 * turn a renameCollection's dropTarget UUID into true.
 */
void wtkms_oplog_op_for_apply(bson_iter_t *it, const char *opname, bool strip_ui, bson_t *out);

#endif
