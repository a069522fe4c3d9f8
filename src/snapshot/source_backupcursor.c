/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_backupcursor.c -- a running mongod's files through its $backupCursor (MongoDB
 * Enterprise, Percona Server for MongoDB), with no lock: the server pins a checkpoint and keeps
 * every block of it in place while the cursor is open.
 *
 * The aggregation's first document is {metadata: {backupId, dbpath, oplogStart, oplogEnd,
 * checkpointTimestamp, ...}}, then one {filename: ABSOLUTE PATH, fileSize: N} per file, over
 * getMore batches; an empty batch with a live cursor id ends the list. Only the first fileSize
 * bytes of a file belong to the copy (the server may append after). The server closes an idle
 * cursor after 10 minutes: a thread sends getMore every keepalive period until the copy is done,
 * then killCursors closes it. The copy is consistent at oplogEnd, which the snapshot records.
 */
#include <errno.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source.h"

#define BC_MAX_FILES 1000000
#define BC_MAX_BATCHES 100000
#define BC_KEEPALIVE_MS (5 * 60 * 1000)

struct wtkms_backup_cursor {
    mongoc_client_t *client;
    char host[256];
    int64_t id;
    pthread_t thread;
    bool running;
    pthread_mutex_t mtx;
    pthread_cond_t cond;
    bool stop;
    unsigned keepalive_ms;
    uint64_t keepalives; /* getMores sent while copying (tests read it in --json) */
    bool keepalive_failed;
    char keepalive_error[512]; /* NUL-terminated: calloc'd, one byte never written */
};

/*
 * bc_command --
 *     One admin command and its reply (the caller destroys *reply).
 */
static int
bc_command(wtkms_backup_cursor *bc, bson_t *cmd, bson_t *reply, const char *what, wtkms_err *err)
{
    bson_error_t berr;
    bool ok;

    ok = mongoc_client_command_simple(bc->client, "admin", cmd, NULL, reply, &berr);
    bson_destroy(cmd);
    if (!ok)
        return (wtkms_errf(err,
          (berr.domain == MONGOC_ERROR_SERVER || berr.domain == MONGOC_ERROR_QUERY)
            ? (berr.code == 40324 ? ENOTSUP : EPERM)
            : ECONNREFUSED,
          "mongod at %s: %s failed: %s", bc->host, what, berr.message));
    return (0);
}

/*
 * doc_ts --
 *     {ts: Timestamp, t: term} of the metadata.
 */
static bool
doc_ts(const bson_t *meta, const char *key, uint32_t *tp, uint32_t *ip, int64_t *termp)
{
    bson_iter_t it, sub;

    if (!bson_iter_init_find(&it, meta, key) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &sub) || !bson_iter_find(&sub, "ts") ||
        !BSON_ITER_HOLDS_TIMESTAMP(&sub))
        return (false);
    bson_iter_timestamp(&sub, tp, ip);
    if (bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "t") &&
        (BSON_ITER_HOLDS_INT64(&sub) || BSON_ITER_HOLDS_INT32(&sub)))
        *termp = bson_iter_as_int64(&sub);
    return (true);
}

/*
 * batch --
 *     One batch: the metadata (first document) and the files. *n counts the documents.
 */
static int
batch(wtkms_backup_cursor *bc, const bson_t *reply, const char *key, const char *home,
  wtkms_backup_meta *meta, wtkms_source *src, size_t *n, wtkms_err *err)
{
    bson_iter_t it, cur, arr, f;
    const uint8_t *data;
    uint32_t len;
    bson_t doc, sub;
    const char *name;
    char path[8192];
    size_t dlen;
    int ret;

    bc->id = 0;
    *n = 0;
    if (!bson_iter_init_find(&it, reply, "cursor") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &cur))
        return (
          wtkms_errf(err, EPROTO, "mongod at %s: $backupCursor answered no cursor", bc->host));
    if (bson_iter_find(&cur, "id") && (BSON_ITER_HOLDS_INT64(&cur) || BSON_ITER_HOLDS_INT32(&cur)))
        bc->id = bson_iter_as_int64(&cur);
    if (!bson_iter_recurse(&it, &cur) || !bson_iter_find(&cur, key) ||
        !BSON_ITER_HOLDS_ARRAY(&cur) || !bson_iter_recurse(&cur, &arr))
        return (
          wtkms_errf(err, EPROTO, "mongod at %s: $backupCursor answered no %s", bc->host, key));
    while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            return (
              wtkms_errf(err, EPROTO, "mongod at %s: $backupCursor sent a non-document", bc->host));
        bson_iter_document(&arr, &len, &data);
        if (!bson_init_static(&doc, data, len))
            return (wtkms_errf(
              err, EPROTO, "mongod at %s: $backupCursor sent a damaged document", bc->host));
        (*n)++;
        if (bson_iter_init_find(&f, &doc, "metadata") && BSON_ITER_HOLDS_DOCUMENT(&f)) {
            bson_iter_document(&f, &len, &data);
            if (meta->seen || !bson_init_static(&sub, data, len))
                return (wtkms_errf(err, EPROTO,
                  "mongod at %s: $backupCursor sent a second or damaged metadata document",
                  bc->host));
            meta->seen = true;
            if (bson_iter_init_find(&f, &sub, "dbpath") && BSON_ITER_HOLDS_UTF8(&f))
                (void)snprintf(meta->dbpath, sizeof(meta->dbpath), "%s", bson_iter_utf8(&f, NULL));
            meta->has_end = doc_ts(&sub, "oplogEnd", &meta->t, &meta->i, &meta->term);
            continue;
        }
        if (!meta->seen || meta->dbpath[0] == '\0')
            return (wtkms_errf(err, EPROTO,
              "mongod at %s: $backupCursor listed a file before its metadata (dbpath)", bc->host));
        if (!bson_iter_init_find(&f, &doc, "filename") || !BSON_ITER_HOLDS_UTF8(&f))
            return (wtkms_errf(
              err, EPROTO, "mongod at %s: $backupCursor listed a file without a name", bc->host));
        name = bson_iter_utf8(&f, NULL);
        dlen = strlen(meta->dbpath);
        /* Names are absolute on the server: inside its dbpath, and the same inside --home. */
        if (strncmp(name, meta->dbpath, dlen) != 0 || name[dlen] != '/')
            return (wtkms_errf(err, EPROTO,
              "mongod at %s: $backupCursor listed %s, which is not under its dbpath %s", bc->host,
              name, meta->dbpath));
        name += dlen + 1;
        if (snprintf(path, sizeof(path), "%s/%s", home, name) >= (int)sizeof(path))
            return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", home, name));
        if (src->nfiles >= BC_MAX_FILES)
            return (wtkms_errf(err, E2BIG, "mongod at %s: $backupCursor listed more than %d files",
              bc->host, BC_MAX_FILES));
        if ((ret = wtkms_source_add(src, name, path, err)) != 0)
            return (ret);
        src->files[src->nfiles - 1].limit = -1;
        if (bson_iter_init_find(&f, &doc, "fileSize") &&
            (BSON_ITER_HOLDS_INT64(&f) || BSON_ITER_HOLDS_INT32(&f)) && bson_iter_as_int64(&f) >= 0)
            src->files[src->nfiles - 1].limit = bson_iter_as_int64(&f);
    }
    return (0);
}

/*
 * get_more --
 *     getMore on the backup cursor into *reply.
 */
static int
get_more(wtkms_backup_cursor *bc, bson_t *reply, wtkms_err *err)
{
    bson_t cmd;

    bson_init(&cmd);
    BSON_APPEND_INT64(&cmd, "getMore", bc->id);
    BSON_APPEND_UTF8(&cmd, "collection", "$cmd.aggregate");
    return (bc_command(bc, &cmd, reply, "getMore on the $backupCursor", err));
}

/*
 * keepalive --
 *     getMore every keepalive_ms until told to stop: the server closes an idle cursor.
 */
static void *
keepalive(void *arg)
{
    wtkms_backup_cursor *bc = arg;
    struct timespec when;
    wtkms_err e;
    bson_t reply;

    (void)pthread_mutex_lock(&bc->mtx);
    while (!bc->stop) {
        (void)clock_gettime(CLOCK_REALTIME, &when);
        when.tv_sec += bc->keepalive_ms / 1000;
        when.tv_nsec += (long)(bc->keepalive_ms % 1000) * 1000000L;
        if (when.tv_nsec >= 1000000000L) {
            when.tv_sec++;
            when.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&bc->cond, &bc->mtx, &when) == 0 || bc->stop)
            continue;
        wtkms_err_clear(&e);
        if (get_more(bc, &reply, &e) != 0 && !bc->keepalive_failed) {
            bc->keepalive_failed = true;
            memcpy(bc->keepalive_error, e.msg, sizeof(bc->keepalive_error) - 1);
        }
        bson_destroy(&reply);
        bc->keepalives++;
    }
    (void)pthread_mutex_unlock(&bc->mtx);
    return (NULL);
}

/*
 * wtkms_backup_cursor_open --
 *     Open the cursor, list every file into src, start the keepalive.
 */
int
wtkms_backup_cursor_open(const char *uri, const char *home, unsigned keepalive_ms,
  wtkms_source *src, wtkms_backup_meta *meta, wtkms_backup_cursor **bcp, wtkms_err *err)
{
    wtkms_backup_cursor *bc;
    bson_t cmd, reply, pipeline, stage, empty, cursor;
    bson_iter_t it;
    wtkms_err e;
    size_t n, batches;
    int ret;

    *bcp = NULL;
    memset(meta, 0, sizeof(*meta));
    meta->term = -1;
    if ((bc = calloc(1, sizeof(*bc))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)pthread_mutex_init(&bc->mtx, NULL);
    (void)pthread_cond_init(&bc->cond, NULL);
    bc->keepalive_ms = keepalive_ms != 0 ? keepalive_ms : BC_KEEPALIVE_MS;
    if ((ret = wtkms_mongod_client(uri, &bc->client, bc->host, sizeof(bc->host), err)) != 0)
        goto err;
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "aggregate", 1);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "pipeline", &pipeline);
    BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$backupCursor", &empty);
    bson_append_document_end(&stage, &empty);
    bson_append_document_end(&pipeline, &stage);
    bson_append_array_end(&cmd, &pipeline);
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
    bson_append_document_end(&cmd, &cursor);
    if ((ret = bc_command(bc, &cmd, &reply, "aggregate $backupCursor", err)) != 0) {
        bson_destroy(&reply);
        goto err;
    }
    ret = batch(bc, &reply, "firstBatch", home, meta, src, &n, err);
    bson_destroy(&reply);
    for (batches = 0; ret == 0 && bc->id != 0 && n > 0; batches++) {
        if (batches == BC_MAX_BATCHES) {
            ret = wtkms_errf(err, E2BIG, "mongod at %s: $backupCursor sent more than %d batches",
              bc->host, BC_MAX_BATCHES);
            break;
        }
        if ((ret = get_more(bc, &reply, err)) == 0)
            ret = batch(bc, &reply, "nextBatch", home, meta, src, &n, err);
        bson_destroy(&reply);
    }
    if (ret != 0)
        goto err;
    if (!meta->seen) {
        ret = wtkms_errf(err, EPROTO, "mongod at %s: $backupCursor sent no metadata", bc->host);
        goto err;
    }
    /* The checkpoint stays pinned only while the cursor is open. */
    if (bc->id == 0) {
        ret = wtkms_errf(err, EPROTO,
          "mongod at %s closed the $backupCursor as soon as it listed the files: a copy made now "
          "would not be consistent",
          bc->host);
        goto err;
    }
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    wtkms_err_clear(&e);
    if (bc_command(bc, &cmd, &reply, "hello", &e) == 0 &&
        bson_iter_init_find(&it, &reply, "setName") && BSON_ITER_HOLDS_UTF8(&it))
        (void)snprintf(meta->rs, sizeof(meta->rs), "%s", bson_iter_utf8(&it, NULL));
    bson_destroy(&reply);
    {
        if ((ret = pthread_create(&bc->thread, NULL, keepalive, bc)) != 0) {
            ret = wtkms_errf(err, ret, "cannot start the backup cursor's keepalive thread");
            goto err;
        }
        bc->running = true;
    }
    *bcp = bc;
    return (0);
err:
    (void)wtkms_backup_cursor_close(bc, NULL, NULL);
    return (ret);
}

/*
 * wtkms_backup_cursor_close --
 *     Stop the keepalive and close the cursor. A keepalive that failed means the server may have
 *     closed the cursor early, and the copy may not be consistent: an error.
 */
int
wtkms_backup_cursor_close(wtkms_backup_cursor *bc, uint64_t *keepalives, wtkms_err *err)
{
    wtkms_err e;
    bson_t cmd, reply, ids;
    int ret;

    if (bc == NULL)
        return (0);
    ret = 0;
    if (bc->running) {
        (void)pthread_mutex_lock(&bc->mtx);
        bc->stop = true;
        (void)pthread_cond_signal(&bc->cond);
        (void)pthread_mutex_unlock(&bc->mtx);
        (void)pthread_join(bc->thread, NULL);
    }
    if (keepalives != NULL)
        *keepalives = bc->keepalives;
    if (bc->keepalive_failed && err != NULL)
        ret = wtkms_errf(err, EIO,
          "the $backupCursor on mongod at %s could not be kept open while the files were copied "
          "(%s): the copy may not be consistent; take the snapshot again",
          bc->host, bc->keepalive_error);
    if (bc->client != NULL && bc->id != 0) {
        bson_init(&cmd);
        BSON_APPEND_UTF8(&cmd, "killCursors", "$cmd.aggregate");
        BSON_APPEND_ARRAY_BEGIN(&cmd, "cursors", &ids);
        BSON_APPEND_INT64(&ids, "0", bc->id);
        bson_append_array_end(&cmd, &ids);
        wtkms_err_clear(&e);
        (void)bc_command(bc, &cmd, &reply, "killCursors", &e);
        bson_destroy(&reply);
    }
    if (bc->client != NULL)
        mongoc_client_destroy(bc->client);
    (void)pthread_cond_destroy(&bc->cond);
    (void)pthread_mutex_destroy(&bc->mtx);
    free(bc);
    return (ret);
}
