/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_mongod.c -- the consistent oplog timestamp of an fsync-locked mongod, through
 * mongo-c-driver: refuse unless currentOp reports fsyncLock, then read the newest entry of
 * local.oplog.rs (nothing is written while the lock holds, so it is the last applied optime).
 */
#include <errno.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "source.h"

static pthread_once_t mongoc_once = PTHREAD_ONCE_INIT;

/*
 * init_mongoc --
 *     mongoc_init, once per process.
 */
static void
init_mongoc(void)
{
    mongoc_init();
}

/*
 * wtkms_mongod_client --
 *     A client for the mongod at uri_str, with timeouts a backup can live with; host names it in
 *     messages (never the URI, which may hold a password).
 */
int
wtkms_mongod_client(
  const char *uri_str, mongoc_client_t **clientp, char *host, size_t hostlen, wtkms_err *err)
{
    mongoc_uri_t *uri;
    bson_error_t berr;
    const mongoc_host_list_t *h;

    *clientp = NULL;
    (void)pthread_once(&mongoc_once, init_mongoc);
    if ((uri = mongoc_uri_new_with_error(uri_str, &berr)) == NULL)
        return (
          wtkms_errf(err, EINVAL, "--uri is not a MongoDB connection string: %s", berr.message));
    /*
     * A password is the caller's to vet (wtkms_cli_connection_uri: never on the command line, only
     * in a private --uri-file); no message here names the URI, only its host.
     */
    /* A mongod that does not answer should not hold a backup for mongoc's default 30 s. */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        (void)mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
    /* Nor one that accepts a command and never answers it (mongoc waits 5 minutes by default). */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
        (void)mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 30000);
    h = mongoc_uri_get_hosts(uri);
    (void)snprintf(host, hostlen, "%.200s", h != NULL ? h->host_and_port : "?");
    *clientp = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    if (*clientp == NULL)
        return (wtkms_errf(err, EINVAL, "--uri: cannot make a client for %s", host));
    (void)mongoc_client_set_appname(*clientp, "wtkms-snapshot");
    return (0);
}

/*
 * wtkms_mongod_oplog_ts --
 *     Check the lock, read the newest oplog timestamp.
 */
int
wtkms_mongod_oplog_ts(const char *uri_str, uint32_t *tp, uint32_t *ip, int64_t *termp, char *rs,
  size_t rslen, wtkms_err *err)
{
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_cursor_t *cursor;
    bson_error_t berr;
    bson_t cmd, reply, filter, *opts;
    const bson_t *doc;
    bson_iter_t it;
    char host[256];
    bool locked, ok;
    int ret;

    *termp = -1;
    rs[0] = '\0';
    if ((ret = wtkms_mongod_client(uri_str, &client, host, sizeof(host), err)) != 0)
        return (ret);
    ret = 0;
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "currentOp", 1);
    if (!mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &berr)) {
        ret =
          wtkms_errf(err, ECONNREFUSED, "mongod at %s: currentOp failed: %s", host, berr.message);
        bson_destroy(&reply);
        bson_destroy(&cmd);
        goto done;
    }
    locked = bson_iter_init_find(&it, &reply, "fsyncLock") && bson_iter_as_bool(&it);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    if (!locked) {
        ret = wtkms_errf(err, EBUSY,
          "mongod at %s is not fsync-locked: run db.fsyncLock() (or stop it) before taking a "
          "snapshot of its files, and db.fsyncUnlock() after",
          host);
        goto done;
    }
    /* The replica set: pit restore checks that an oplog store taps the same one. */
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &berr);
    bson_destroy(&cmd);
    if (!ok) { /* servers before 4.4.2 know only the older name */
        bson_destroy(&reply);
        bson_init(&cmd);
        BSON_APPEND_INT32(&cmd, "isMaster", 1);
        ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &berr);
        bson_destroy(&cmd);
    }
    if (ok && bson_iter_init_find(&it, &reply, "setName") && BSON_ITER_HOLDS_UTF8(&it))
        (void)snprintf(rs, rslen, "%s", bson_iter_utf8(&it, NULL));
    bson_destroy(&reply);
    coll = mongoc_client_get_collection(client, "local", "oplog.rs");
    bson_init(&filter);
    opts = BCON_NEW("sort", "{", "$natural", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
    cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    if (mongoc_cursor_next(cursor, &doc)) {
        if (bson_iter_init_find(&it, doc, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
            bson_iter_timestamp(&it, tp, ip);
            /* The term identifies the entry with its ts: pit restore checks both at T0. */
            if (bson_iter_init_find(&it, doc, "t") &&
                (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)))
                *termp = bson_iter_as_int64(&it);
        } else
            ret = wtkms_errf(err, EPROTO, "mongod at %s: the newest oplog entry has no ts", host);
    } else if (mongoc_cursor_error(cursor, &berr))
        ret = wtkms_errf(err, EIO, "mongod at %s: reading local.oplog.rs: %s", host, berr.message);
    else
        ret = wtkms_errf(err, ENOENT,
          "mongod at %s has no oplog (local.oplog.rs is empty or missing): it is not a replica "
          "set member; point-in-time restore needs one",
          host);
    mongoc_cursor_destroy(cursor);
    bson_destroy(opts);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
done:
    mongoc_client_destroy(client);
    return (ret);
}

struct wtkms_mongod_lock {
    mongoc_client_t *client;
    char host[256];
    struct timespec start;
    sigset_t saved;
};

/*
 * lock_command --
 *     Run one admin command; a failure names the host and the command.
 */
static int
lock_command(wtkms_mongod_lock *l, bson_t *cmd, const char *what, wtkms_err *err)
{
    bson_error_t berr;
    bson_t reply;
    bool ok;

    ok = mongoc_client_command_simple(l->client, "admin", cmd, NULL, &reply, &berr);
    bson_destroy(&reply);
    bson_destroy(cmd);
    if (!ok)
        return (wtkms_errf(err,
          (berr.domain == MONGOC_ERROR_SERVER || berr.domain == MONGOC_ERROR_QUERY) ? EPERM
                                                                                    : ECONNREFUSED,
          "mongod at %s: %s failed: %s", l->host, what, berr.message));
    return (0);
}

/*
 * wtkms_mongod_lock_take --
 *     db.fsyncLock(): flush and block writes. SIGINT, SIGTERM and SIGHUP wait until the lock is
 *     released, so an interrupted snapshot never leaves the server locked.
 */
int
wtkms_mongod_lock_take(const char *uri, wtkms_mongod_lock **lp, wtkms_err *err)
{
    wtkms_mongod_lock *l;
    sigset_t block;
    bson_t cmd;
    int ret;

    *lp = NULL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_mongod_client(uri, &l->client, l->host, sizeof(l->host), err)) != 0) {
        free(l);
        return (ret);
    }
    (void)sigemptyset(&block);
    (void)sigaddset(&block, SIGINT);
    (void)sigaddset(&block, SIGTERM);
    (void)sigaddset(&block, SIGHUP);
    (void)pthread_sigmask(SIG_BLOCK, &block, &l->saved);
    (void)clock_gettime(CLOCK_MONOTONIC, &l->start);
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "fsync", 1);
    BSON_APPEND_BOOL(&cmd, "lock", true);
    if ((ret = lock_command(l, &cmd, "fsync with lock (db.fsyncLock())", err)) != 0) {
        (void)pthread_sigmask(SIG_SETMASK, &l->saved, NULL);
        mongoc_client_destroy(l->client);
        free(l);
        return (ret);
    }
    *lp = l;
    return (0);
}

/*
 * wtkms_mongod_lock_release --
 *     db.fsyncUnlock(); *held_ms (optional) is how long writes were blocked. Frees l.
 */
int
wtkms_mongod_lock_release(wtkms_mongod_lock *l, int64_t *held_ms, wtkms_err *err)
{
    struct timespec end;
    bson_t cmd;
    int ret;

    if (l == NULL)
        return (0);
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "fsyncUnlock", 1);
    ret = lock_command(l, &cmd, "fsyncUnlock", err);
    (void)clock_gettime(CLOCK_MONOTONIC, &end);
    if (held_ms != NULL)
        *held_ms = (int64_t)(end.tv_sec - l->start.tv_sec) * 1000 +
                   (end.tv_nsec - l->start.tv_nsec) / 1000000;
    if (ret != 0)
        (void)wtkms_err_prefix(err,
          "the server may still be locked: run db.fsyncUnlock() on it (db.currentOp().fsyncLock "
          "says)");
    (void)pthread_sigmask(SIG_SETMASK, &l->saved, NULL);
    mongoc_client_destroy(l->client);
    free(l);
    return (ret);
}
