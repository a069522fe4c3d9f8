/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_replay.c -- applyOps replay into a running mongod.
 */
#define _GNU_SOURCE
#include "oplog_replay.h"
#include "oplog_shape.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inner operations of open transactions, by the commit they wait for. */
typedef struct {
    wtkms_ts commit;
    bson_t *ops; /* an array of the inner operations, in order (a bson_t must not move) */
    uint32_t n;
} txn_buf;

struct wtkms_replay {
    mongoc_client_t *client;
    mongoc_uri_t *uri;
    const wtkms_txn_plan *plan;
    txn_buf *txns;
    size_t ntxns;
    uint64_t applied, skipped, committed;
    wtkms_ui_mode ui;
    char server[512];
};

/*
 * wtkms_replay_open --
 *     A client for the target, checked with a ping.
 */
int
wtkms_replay_open(
  const char *uri, const wtkms_txn_plan *plan, wtkms_ui_mode ui, wtkms_replay **rp, wtkms_err *err)
{
    wtkms_replay *r;
    const mongoc_host_list_t *h;
    bson_error_t e;
    bson_t cmd;
    size_t off;
    bool ok;

    *rp = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    r->plan = plan;
    r->ui = ui;
    if ((r->uri = mongoc_uri_new_with_error(uri, &e)) == NULL) {
        free(r);
        return (
          wtkms_errf(err, EINVAL, "--target is not a MongoDB connection string: %s", e.message));
    }
    for (off = 0, h = mongoc_uri_get_hosts(r->uri); h != NULL && off < sizeof(r->server) - 1;
         h = h->next)
        off += (size_t)snprintf(
          r->server + off, sizeof(r->server) - off, "%s%s", off > 0 ? "," : "", h->host_and_port);
    if (!mongoc_uri_has_option(r->uri, MONGOC_URI_APPNAME))
        (void)mongoc_uri_set_appname(r->uri, "wtkms-pit-restore");
    if ((r->client = mongoc_client_new_from_uri_with_error(r->uri, &e)) == NULL) {
        wtkms_replay_close(r);
        return (wtkms_errf(err, EINVAL, "cannot use --target: %s", e.message));
    }
    (void)mongoc_client_set_error_api(r->client, MONGOC_ERROR_API_VERSION_2);
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "ping", 1);
    ok = mongoc_client_command_simple(r->client, "admin", &cmd, NULL, NULL, &e);
    bson_destroy(&cmd);
    if (!ok) {
        (void)wtkms_errf(err, ECONNREFUSED, "cannot reach the target %s: %s", r->server, e.message);
        wtkms_replay_close(r);
        return (ECONNREFUSED);
    }
    *rp = r;
    return (0);
}

/*
 * wtkms_replay_close --
 *     Disconnect and free buffers.
 */
void
wtkms_replay_close(wtkms_replay *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->ntxns; i++)
        bson_destroy(r->txns[i].ops);
    free(r->txns);
    if (r->client != NULL)
        mongoc_client_destroy(r->client);
    if (r->uri != NULL)
        mongoc_uri_destroy(r->uri);
    free(r);
}

/*
 * wtkms_replay_ui_mode --
 *     What was decided about ui.
 */
wtkms_ui_mode
wtkms_replay_ui_mode(const wtkms_replay *r)
{
    return (r->ui);
}

/*
 * probe_ui --
 *     Does the target's collection carry the entry's UUID? Decides for the whole replay once a
 *     collection the target holds is found.
 */
static int
probe_ui(wtkms_replay *r, const bson_t *entry, const char *ns, wtkms_ts ts, wtkms_err *err)
{
    bson_iter_t it, u;
    bson_error_t e;
    bson_t cmd, reply, filter;
    const uint8_t *mine, *theirs;
    uint32_t mlen, tlen;
    bson_subtype_t st;
    char db[256], a[WTKMS_TS_STRLEN];
    const char *dot;
    bool ok;

    if (!bson_iter_init_find(&it, entry, "ui") || !BSON_ITER_HOLDS_BINARY(&it) ||
        (dot = strchr(ns, '.')) == NULL || (size_t)(dot - ns) >= sizeof(db))
        return (0);
    bson_iter_binary(&it, &st, &mlen, &mine);
    memcpy(db, ns, (size_t)(dot - ns));
    db[dot - ns] = '\0';
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "listCollections", 1);
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
    BSON_APPEND_UTF8(&filter, "name", dot + 1);
    bson_append_document_end(&cmd, &filter);
    ok = mongoc_client_command_simple(r->client, db, &cmd, NULL, &reply, &e);
    bson_destroy(&cmd);
    if (!ok) {
        bson_destroy(&reply);
        wtkms_ts_str(ts, a, sizeof(a));
        return (wtkms_errf(err, e.domain == MONGOC_ERROR_SERVER ? EIO : ECONNRESET,
          "asking %s for the UUID of %s (before replaying the oplog entry at %s) failed: %s "
          "(error %u); nothing of that entry is applied",
          r->server, ns, a, e.message, e.code));
    }
    if (bson_iter_init(&it, &reply) &&
        bson_iter_find_descendant(&it, "cursor.firstBatch.0.info.uuid", &u) &&
        BSON_ITER_HOLDS_BINARY(&u)) {
        bson_iter_binary(&u, &st, &tlen, &theirs);
        r->ui = tlen == mlen && memcmp(theirs, mine, mlen) == 0 ? WTKMS_UI_KEEP : WTKMS_UI_STRIP;
    }
    bson_destroy(&reply);
    return (0);
}

/*
 * wtkms_replay_stats --
 *     Counters for the summary.
 */
void
wtkms_replay_stats(const wtkms_replay *r, uint64_t *applied, uint64_t *skipped, uint64_t *txns)
{
    *applied = r->applied;
    *skipped = r->skipped;
    *txns = r->committed;
}

/*
 * run_command --
 *     Run a command on a database; an error names the entry.
 */
static int
run_command(
  wtkms_replay *r, const char *db, const bson_t *cmd, wtkms_ts ts, const char *what, wtkms_err *err)
{
    bson_error_t e;
    bson_t reply;
    char a[WTKMS_TS_STRLEN];
    bool ok;

    ok = mongoc_client_command_simple(r->client, db, cmd, NULL, &reply, &e);
    bson_destroy(&reply);
    if (ok)
        return (0);
    wtkms_ts_str(ts, a, sizeof(a));
    return (wtkms_errf(err, e.domain == MONGOC_ERROR_SERVER ? EIO : ECONNRESET,
      "replaying the oplog entry at %s into %s failed (%s): %s (error %u)", a, r->server, what,
      e.message, e.code));
}

/*
 * err_append --
 *     Say what the target holds after a failure.
 */
static void err_append(wtkms_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
err_append(wtkms_err *err, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(err->msg);

    if (n >= sizeof(err->msg) - 1)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
    va_end(ap);
}

/*
 * ns_db --
 *     The database part of a namespace.
 */
static void
ns_db(const char *ns, char *db, size_t len)
{
    const char *dot = strchr(ns, '.');
    size_t n = dot != NULL ? (size_t)(dot - ns) : strlen(ns);

    if (n >= len)
        n = len - 1;
    memcpy(db, ns, n);
    db[n] = '\0';
}

static int apply_op(wtkms_replay *r, const bson_t *entry, wtkms_ts ts, int depth, wtkms_err *err);

/*
 * apply_create_indexes --
 *     createIndexes/commitIndexBuild become a createIndexes command.
 */
static int
apply_create_indexes(
  wtkms_replay *r, const char *db, bson_iter_t *o, bool commit_build, wtkms_ts ts, wtkms_err *err)
{
    bson_t cmd, idx, spec;
    bson_iter_t f, arr;
    const char *coll;
    int ret;

    coll = NULL;
    bson_init(&cmd);
    bson_init(&idx);
    bson_iter_init_from_data(
      &f, bson_iter_value(o)->value.v_doc.data, bson_iter_value(o)->value.v_doc.data_len);
    if (commit_build) {
        while (bson_iter_next(&f))
            if (strcmp(bson_iter_key(&f), "commitIndexBuild") == 0 && BSON_ITER_HOLDS_UTF8(&f))
                coll = bson_iter_utf8(&f, NULL);
            else if (strcmp(bson_iter_key(&f), "indexes") == 0 && BSON_ITER_HOLDS_ARRAY(&f) &&
                     bson_iter_recurse(&f, &arr)) {
                uint32_t i = 0;
                char key[16];
                while (bson_iter_next(&arr)) {
                    (void)snprintf(key, sizeof(key), "%u", i++);
                    (void)bson_append_iter(&idx, key, -1, &arr);
                }
            }
    } else {
        bson_init(&spec);
        while (bson_iter_next(&f))
            if (strcmp(bson_iter_key(&f), "createIndexes") == 0 && BSON_ITER_HOLDS_UTF8(&f))
                coll = bson_iter_utf8(&f, NULL);
            else
                (void)bson_append_iter(&spec, NULL, 0, &f);
        BSON_APPEND_DOCUMENT(&idx, "0", &spec);
        bson_destroy(&spec);
    }
    if (coll == NULL) {
        bson_destroy(&cmd);
        bson_destroy(&idx);
        return (wtkms_errf(err, EILSEQ, "an index-creation oplog entry names no collection"));
    }
    BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
    BSON_APPEND_ARRAY(&cmd, "indexes", &idx);
    ret = run_command(r, db, &cmd, ts, "createIndexes", err);
    bson_destroy(&cmd);
    bson_destroy(&idx);
    if (ret == 0)
        r->applied++;
    return (ret);
}

/*
 * apply_op --
 *     One operation (an entry, or an inner operation of applyOps).
 */
static int
apply_op(wtkms_replay *r, const bson_t *entry, wtkms_ts ts, int depth, wtkms_err *err)
{
    bson_iter_t it, o, inner;
    bson_t cmd, arr, op, nested;
    const char *opname, *ns, *first;
    char db[256], a[WTKMS_TS_STRLEN];
    uint32_t dlen;
    const uint8_t *data;
    wtkms_cmd_kind kind;
    int ret;

    opname = ns = first = NULL;
    if (!bson_iter_init(&it, entry))
        return (wtkms_errf(err, EILSEQ, "an oplog operation is not BSON"));
    while (bson_iter_next(&it))
        if (strcmp(bson_iter_key(&it), "op") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            opname = bson_iter_utf8(&it, NULL);
        else if (strcmp(bson_iter_key(&it), "ns") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            ns = bson_iter_utf8(&it, NULL);
    if (opname == NULL || ns == NULL)
        return (wtkms_errf(err, EILSEQ, "an oplog operation has no op or ns"));
    if (strcmp(opname, "n") == 0 || strcmp(opname, "cd") == 0 || strcmp(opname, "ci") == 0 ||
        strcmp(opname, "cu") == 0 || strcmp(opname, "km") == 0 || !wtkms_oplog_ns_replayed(ns)) {
        r->skipped++;
        return (0);
    }
    ns_db(ns, db, sizeof(db));
    if (strcmp(opname, "c") == 0) {
        if (!bson_iter_init_find(&o, entry, "o") || !BSON_ITER_HOLDS_DOCUMENT(&o))
            return (wtkms_errf(err, EILSEQ, "a command oplog entry has no o"));
        bson_iter_document(&o, &dlen, &data);
        if (!bson_iter_init_from_data(&inner, data, dlen) || !bson_iter_next(&inner))
            return (wtkms_errf(err, EILSEQ, "a command oplog entry has an empty o"));
        first = bson_iter_key(&inner);
        kind = wtkms_oplog_cmd_kind(first);
        if (kind == WTKMS_CMD_SKIP) {
            r->skipped++;
            return (0);
        }
        if (kind == WTKMS_CMD_INDEX)
            return (
              apply_create_indexes(r, db, &o, strcmp(first, "commitIndexBuild") == 0, ts, err));
        if (kind == WTKMS_CMD_NESTED) {
            /*
             * A user's applyOps, a batched delete, an 8.0 retryable write's: each nested
             * operation on its own, as mongod and mongorestore apply them.
             */
            if (depth >= WTKMS_APPLYOPS_MAX_DEPTH)
                return (wtkms_errf(err, WTKMS_EUNREPLAYABLE, "applyOps nested too deep"));
            if (!BSON_ITER_HOLDS_ARRAY(&inner) || !bson_iter_recurse(&inner, &it))
                return (wtkms_errf(err, EILSEQ, "applyOps holds no array"));
            while (bson_iter_next(&it)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                    return (wtkms_errf(err, EILSEQ, "applyOps holds a non-document"));
                bson_iter_document(&it, &dlen, &data);
                if (!bson_init_static(&nested, data, dlen))
                    return (wtkms_errf(err, EILSEQ, "applyOps holds a damaged operation"));
                if ((ret = apply_op(r, &nested, ts, depth + 1, err)) != 0)
                    return (ret);
            }
            return (0);
        }
        if (kind != WTKMS_CMD_APPLY) {
            wtkms_ts_str(ts, a, sizeof(a));
            return (wtkms_errf(err, WTKMS_EUNREPLAYABLE,
              "the oplog entry at %s (namespace %s) is a \"%s\" command, which wtkms cannot "
              "replay (mongorestore refuses unknown commands too): restore to a time before it",
              a, ns, first));
        }
    }
    if (r->ui == WTKMS_UI_PROBE &&
        (strcmp(opname, "i") == 0 || strcmp(opname, "u") == 0 || strcmp(opname, "d") == 0) &&
        (ret = probe_ui(r, entry, ns, ts, err)) != 0)
        return (ret);
    bson_init(&cmd);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "applyOps", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &op);
    (void)bson_iter_init(&it, entry);
    wtkms_oplog_op_for_apply(&it, opname, r->ui == WTKMS_UI_STRIP, &op);
    bson_append_document_end(&arr, &op);
    bson_append_array_end(&cmd, &arr);
    ret = run_command(r, "admin", &cmd, ts, "applyOps", err);
    bson_destroy(&cmd);
    if (ret == 0)
        r->applied++;
    return (ret);
}

/*
 * txn_for --
 *     The buffer of the transaction committing at commit (created on first use).
 */
static txn_buf *
txn_for(wtkms_replay *r, wtkms_ts commit)
{
    txn_buf *p;
    size_t i;

    for (i = 0; i < r->ntxns; i++)
        if (r->txns[i].commit == commit)
            return (&r->txns[i]);
    if ((p = realloc(r->txns, (r->ntxns + 1) * sizeof(*p))) == NULL)
        return (NULL);
    r->txns = p;
    p = &r->txns[r->ntxns++];
    p->commit = commit;
    p->n = 0;
    if ((p->ops = bson_new()) == NULL) {
        r->ntxns--;
        return (NULL);
    }
    return (p);
}

/*
 * buffer_inner --
 *     Append an entry's o.applyOps operations to a transaction buffer.
 */
static int
buffer_inner(txn_buf *t, const bson_t *entry, wtkms_err *err)
{
    bson_iter_t it, arr;
    char key[16];

    if (!bson_iter_init_find(&it, entry, "o") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &arr) || !bson_iter_find(&arr, "applyOps") ||
        !BSON_ITER_HOLDS_ARRAY(&arr) || !bson_iter_recurse(&arr, &it))
        return (wtkms_errf(err, EILSEQ, "a transaction entry has no o.applyOps array"));
    while (bson_iter_next(&it)) {
        (void)snprintf(key, sizeof(key), "%u", t->n++);
        (void)bson_append_iter(t->ops, key, -1, &it);
    }
    return (0);
}

/*
 * apply_txn --
 *     Apply a committed transaction's buffered operations, in order, then forget them.
 */
static int
apply_txn(wtkms_replay *r, txn_buf *t, wtkms_ts ts, wtkms_err *err)
{
    bson_iter_t it;
    bson_t op;
    uint32_t dlen, done;
    const uint8_t *data;
    char a[WTKMS_TS_STRLEN];
    size_t i;
    int ret;

    ret = 0;
    done = 0;
    if (bson_iter_init(&it, t->ops))
        while (ret == 0 && bson_iter_next(&it)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                ret = wtkms_errf(err, EILSEQ, "a transaction holds a non-document operation");
                break;
            }
            bson_iter_document(&it, &dlen, &data);
            if (!bson_init_static(&op, data, dlen))
                ret = wtkms_errf(err, EILSEQ, "a transaction holds a damaged operation");
            else if ((ret = apply_op(r, &op, ts, 0, err)) == 0)
                done++;
        }
    if (ret == 0)
        r->committed++;
    else if (done == 0) {
        wtkms_ts_str(ts, a, sizeof(a));
        err_append(err,
          "; it is the first of the %u operations of the transaction committed at %s, none of "
          "which is applied: the target holds every entry before %s and nothing of this "
          "transaction; restore again into a fresh target",
          t->n, a, a);
    } else {
        wtkms_ts_str(ts, a, sizeof(a));
        err_append(err,
          "; it is operation %u of the %u of the transaction committed at %s, and the %u before "
          "it ARE applied: the target holds PART of this transaction; restore again into a fresh "
          "target",
          done + 1, t->n, a, done);
    }
    bson_destroy(t->ops);
    i = (size_t)(t - r->txns);
    memmove(&r->txns[i], &r->txns[i + 1], (r->ntxns - i - 1) * sizeof(*t));
    r->ntxns--;
    return (ret);
}

/*
 * wtkms_replay_entry --
 *     One entry the plan delivers.
 */
int
wtkms_replay_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    wtkms_replay *r = arg;
    wtkms_txn_info info;
    txn_buf *t;
    bson_t entry;
    wtkms_ts commit;
    uint64_t before;
    char a[WTKMS_TS_STRLEN];
    int ret;

    if (!bson_init_static(&entry, doc, len) || wtkms_txn_classify(doc, len, &info) != 0)
        return (wtkms_errf(err, EILSEQ, "an oplog entry is damaged"));
    switch (info.kind) {
    case WTKMS_TXN_NONE:
        before = r->applied + r->skipped;
        if ((ret = apply_op(r, &entry, ts, 0, err)) == 0)
            return (0);
        wtkms_ts_str(ts, a, sizeof(a));
        if (r->applied + r->skipped == before)
            err_append(err,
              "; the target holds every entry before %s and nothing of it: restore again into a "
              "fresh target",
              a);
        else
            err_append(err,
              "; the %" PRIu64 " operations before it in the applyOps entry at %s ARE applied "
              "(mongod applies them one by one): the target holds PART of that entry; restore "
              "again into a fresh target",
              r->applied + r->skipped - before, a);
        return (ret);
    case WTKMS_TXN_ABORT:
        r->skipped++;
        return (0);
    case WTKMS_TXN_PART:
        if ((commit = wtkms_txn_plan_commit_of(r->plan, ts)) == 0) {
            r->skipped++;
            return (0);
        }
        if ((t = txn_for(r, commit)) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        return (buffer_inner(t, &entry, err));
    case WTKMS_TXN_COMMIT:
        if ((t = txn_for(r, ts)) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        if ((ret = buffer_inner(t, &entry, err)) != 0)
            return (ret);
        return (apply_txn(r, t, ts, err));
    case WTKMS_TXN_COMMIT_PREPARED:
        if ((t = txn_for(r, ts)) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        return (apply_txn(r, t, ts, err));
    }
    return (0);
}
