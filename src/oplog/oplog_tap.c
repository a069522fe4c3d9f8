/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_tap.c -- the oplog tap: tail local.oplog.rs through mongo-c-driver into segments.
 */
#define _GNU_SOURCE
#include "oplog_tap.h"

#include <errno.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oplog_segmenter.h"

volatile sig_atomic_t wtkms_tap_stop;

typedef enum { TAP_RETRY, TAP_POSITION_LOST, TAP_FATAL } tap_error_kind;

typedef struct {
    const wtkms_tap_opts *o;
    wtkms_segmenter sg;
    mongoc_uri_t *uri;
    mongoc_client_t *client;
    char server[512]; /* host list for messages: never the URI, which may hold a password */

    bool have_pos;     /* else: read from the oldest entry */
    wtkms_ts pos;      /* position to read from ({ts: {$gte: pos}}) */
    int64_t pos_term;  /* "t" of pos when it was saved, -1 when unknown */
    bool pos_saved;    /* pos was saved: it must come back first, and is skipped */
    bool after_gap;    /* pos is a gap marker's gap_to: a newer first entry is a further gap */
    wtkms_ts gap_from; /* ... whose gap_from */

    unsigned backoff_ms;
    uint64_t retries;
    uint64_t store_retries; /* writes to the store tried again */
} tap_state;

/*
 * nap --
 *     Sleep in short steps so a stop request is seen quickly.
 */
static void
nap(unsigned ms)
{
    struct timespec ts;
    unsigned step;

    while (ms > 0 && !wtkms_tap_stop) {
        step = ms > 100 ? 100 : ms;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)step * 1000000L;
        (void)nanosleep(&ts, NULL);
        ms -= step;
    }
}

/*
 * backoff --
 *     Capped exponential backoff with jitter (0.5x to 1x of the current step).
 */
static void
backoff(tap_state *t)
{
    uint16_t r;
    unsigned ms;

    if (t->backoff_ms == 0)
        t->backoff_ms = 100;
    if (wtkms_random(&r, sizeof(r)) != 0)
        r = 0x8000;
    ms = t->backoff_ms / 2 + (unsigned)(((uint64_t)t->backoff_ms / 2 * r) >> 16);
    nap(ms);
    t->backoff_ms =
      t->backoff_ms * 2 > t->o->backoff_max_ms ? t->o->backoff_max_ms : t->backoff_ms * 2;
}

/*
 * classify --
 *     What to do about a driver or server error.
 */
static tap_error_kind
classify(const bson_error_t *e)
{
    switch (e->domain) {
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_PROTOCOL:
    case MONGOC_ERROR_CURSOR:
        return (TAP_RETRY);
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_COMMAND:
        break;
    default:
        return (TAP_FATAL);
    }
    switch (e->code) {
    case 136: /* CappedPositionLost */
        return (TAP_POSITION_LOST);
    case 6:     /* HostUnreachable */
    case 7:     /* HostNotFound */
    case 43:    /* CursorNotFound */
    case 50:    /* MaxTimeMSExpired */
    case 89:    /* NetworkTimeout */
    case 91:    /* ShutdownInProgress */
    case 134:   /* ReadConcernMajorityNotAvailableYet */
    case 175:   /* QueryPlanKilled */
    case 189:   /* PrimarySteppedDown */
    case 237:   /* CursorKilled */
    case 262:   /* ExceededTimeLimit */
    case 9001:  /* SocketException */
    case 10107: /* NotWritablePrimary */
    case 11600: /* InterruptedAtShutdown */
    case 11602: /* InterruptedDueToReplStateChange */
    case 13435: /* NotPrimaryNoSecondaryOk */
    case 13436: /* NotPrimaryOrSecondary */
        return (TAP_RETRY);
    default:
        return (TAP_FATAL);
    }
}

/*
 * tap_log --
 *     The driver's own log lines: warnings and worse, marked as the driver's.
 */
static void
tap_log(mongoc_log_level_t level, const char *domain, const char *message, void *arg)
{
    (void)arg;
    if (level <= MONGOC_LOG_LEVEL_WARNING)
        (void)fprintf(stderr, "wtkms oplog tap: mongo-c-driver %s: %s\n", domain, message);
}

/*
 * describe_server --
 *     host:port[,host:port...] from the URI, for messages.
 */
static void
describe_server(tap_state *t)
{
    const mongoc_host_list_t *h;
    size_t off;

    t->server[0] = '\0';
    for (off = 0, h = mongoc_uri_get_hosts(t->uri); h != NULL && off < sizeof(t->server) - 1;
         h = h->next)
        off += (size_t)snprintf(
          t->server + off, sizeof(t->server) - off, "%s%s", off > 0 ? "," : "", h->host_and_port);
}

/*
 * open_uri --
 *     Parse the URI and fill in timeouts that suit a long-lived tail.
 */
static int
open_uri(tap_state *t, wtkms_err *err)
{
    bson_error_t e;
    int32_t sock;

    if ((t->uri = mongoc_uri_new_with_error(t->o->uri, &e)) == NULL)
        return (wtkms_errf(err, EINVAL, "--uri is not a MongoDB connection string: %s", e.message));
    describe_server(t);
    if (!mongoc_uri_has_option(t->uri, MONGOC_URI_APPNAME))
        (void)mongoc_uri_set_appname(t->uri, "wtkms-oplog-tap");
    if (!mongoc_uri_has_option(t->uri, MONGOC_URI_CONNECTTIMEOUTMS))
        (void)mongoc_uri_set_option_as_int32(t->uri, MONGOC_URI_CONNECTTIMEOUTMS, 5000);
    if (!mongoc_uri_has_option(t->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        (void)mongoc_uri_set_option_as_int32(t->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
    /* A getMore waits up to await_ms: the socket must wait longer, but not forever. */
    sock = (int32_t)t->o->await_ms + 30000;
    if (!mongoc_uri_has_option(t->uri, MONGOC_URI_SOCKETTIMEOUTMS) ||
        mongoc_uri_get_option_as_int32(t->uri, MONGOC_URI_SOCKETTIMEOUTMS, 0) <=
          (int32_t)t->o->await_ms)
        (void)mongoc_uri_set_option_as_int32(t->uri, MONGOC_URI_SOCKETTIMEOUTMS, sock);
    return (0);
}

/*
 * drop_client --
 *     Forget the connection: the next round connects and discovers the primary afresh.
 */
static void
drop_client(tap_state *t)
{
    if (t->client != NULL)
        mongoc_client_destroy(t->client);
    t->client = NULL;
}

/*
 * connect_server --
 *     A client, and a check that the server keeps an oplog.
 */
static int
connect_server(tap_state *t, bson_error_t *e, wtkms_err *err)
{
    bson_t cmd, reply;
    bson_iter_t it;
    char set_name[WTKMS_RS_NAME_MAX];
    bool ok, rs, mongos;

    if (t->client != NULL)
        return (0);
    if ((t->client = mongoc_client_new_from_uri_with_error(t->uri, e)) == NULL)
        return (wtkms_errf(err, EINVAL, "cannot use --uri: %s", e->message));
    (void)mongoc_client_set_error_api(t->client, MONGOC_ERROR_API_VERSION_2);
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    ok = mongoc_client_command_simple(t->client, "admin", &cmd, NULL, &reply, e);
    bson_destroy(&cmd);
    if (!ok && e->domain == MONGOC_ERROR_SERVER && e->code == 59) {
        /* Servers before 4.4.2 know only the older name. */
        bson_destroy(&reply);
        bson_init(&cmd);
        BSON_APPEND_INT32(&cmd, "isMaster", 1);
        ok = mongoc_client_command_simple(t->client, "admin", &cmd, NULL, &reply, e);
        bson_destroy(&cmd);
    }
    if (!ok) {
        bson_destroy(&reply);
        drop_client(t);
        return (-1);
    }
    rs = bson_iter_init_find(&it, &reply, "setName") && BSON_ITER_HOLDS_UTF8(&it);
    set_name[0] = '\0';
    if (rs)
        (void)snprintf(set_name, sizeof(set_name), "%s", bson_iter_utf8(&it, NULL));
    mongos = bson_iter_init_find(&it, &reply, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
             strcmp(bson_iter_utf8(&it, NULL), "isdbgrid") == 0;
    bson_destroy(&reply);
    if (mongos) {
        drop_client(t);
        return (wtkms_errf(err, EINVAL,
          "%s is a mongos: a sharded cluster keeps one oplog per shard; run one tap per shard, "
          "each with --uri naming that shard's replica set",
          t->server));
    }
    if (!rs) {
        drop_client(t);
        return (wtkms_errf(err, EINVAL,
          "%s is not a replica-set member, so it keeps no oplog: start mongod with --replSet "
          "(a single-member replica set is enough) before tapping it",
          t->server));
    }
    /* One store holds one replica set's history: its segments record which. */
    if (t->sg.rs[0] == '\0')
        (void)snprintf(t->sg.rs, sizeof(t->sg.rs), "%s", set_name);
    else if (strcmp(t->sg.rs, set_name) != 0) {
        drop_client(t);
        return (wtkms_errf(err, EINVAL,
          "%s is a member of replica set %s, but this oplog store holds the history of replica "
          "set %s: tap each replica set into a store of its own",
          t->server, set_name, t->sg.rs));
    }
    return (0);
}

/*
 * report_gap --
 *     Say it loudly and record it durably.
 */
static int
report_gap(tap_state *t, wtkms_ts from, wtkms_ts to, const char *how, wtkms_err *err)
{
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    int ret;

    wtkms_ts_str_long(from, a, sizeof(a));
    wtkms_ts_str_long(to, b, sizeof(b));
    (void)fprintf(stderr,
      "wtkms oplog tap: *** GAP IN THE SAVED OPLOG ***\n"
      "wtkms oplog tap: %s: the oplog of %s no longer holds the entries after %s up to %s;\n"
      "wtkms oplog tap: they were overwritten before the tap read them. Point-in-time restore to\n"
      "wtkms oplog tap: any time in between is impossible and will be refused. Recording the gap\n"
      "wtkms oplog tap: and continuing from %s. Take a new snapshot, and size the oplog\n"
      "wtkms oplog tap: (replSetResizeOplog) to outlast tap outages.\n",
      how, t->server, a, b, b);
    (void)fflush(stderr);
    if ((ret = wtkms_segmenter_gap(&t->sg, from, to, err)) != 0)
        return (wtkms_err_prefix(err, "recording an oplog gap"));
    (void)fprintf(
      stderr, "wtkms oplog tap: gap recorded as segment %" PRIu64 "\n", t->sg.next_seq - 1);
    return (0);
}

/*
 * start_latest --
 *     For an empty store with --start latest: the newest entry's ts.
 */
static int
start_latest(tap_state *t, bson_error_t *e)
{
    mongoc_collection_t *coll;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_t filter, opts, sort, rc;
    wtkms_ts ts;
    int64_t term;
    int ret;

    coll = mongoc_client_get_collection(t->client, "local", "oplog.rs");
    bson_init(&filter);
    bson_init(&opts);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "$natural", -1);
    bson_append_document_end(&opts, &sort);
    BSON_APPEND_INT64(&opts, "limit", 1);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "readConcern", &rc);
    BSON_APPEND_UTF8(&rc, "level", "majority");
    bson_append_document_end(&opts, &rc);
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    ret = -1;
    if (mongoc_cursor_next(cur, &doc)) {
        if (wtkms_oplog_entry_ts(bson_get_data(doc), doc->len, &ts, &term) == 0) {
            t->have_pos = true;
            t->pos = ts;
            t->pos_saved = false;
            ret = 0;
        }
    } else if (!mongoc_cursor_error(cur, e))
        ret = 1; /* an empty oplog: start from the oldest */
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    bson_destroy(&opts);
    if (ret == 1) {
        t->have_pos = false;
        ret = 0;
    }
    return (ret);
}

/*
 * check_first --
 *     The first entry after (re)opening the cursor: is it where the store left off? Returns 1
 *     to skip the entry, 0 to keep it, or an error.
 */
static int
check_first(tap_state *t, wtkms_ts ts, int64_t term, wtkms_err *err)
{
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    int ret;

    if (!t->have_pos)
        return (0);
    if (t->pos_saved) {
        if (ts == t->pos) {
            if (t->pos_term >= 0 && term >= 0 && term != t->pos_term) {
                wtkms_ts_str(ts, a, sizeof(a));
                return (wtkms_errf(err, EILSEQ,
                  "the oplog entry at %s on %s has term %" PRId64
                  " but the saved one has term %" PRId64
                  ": this is not the replica set whose oplog the store holds (check --uri and "
                  "--store)",
                  a, t->server, term, t->pos_term));
            }
            return (1);
        }
        if (ts < t->pos) {
            wtkms_ts_str(ts, a, sizeof(a));
            wtkms_ts_str(t->pos, b, sizeof(b));
            return (wtkms_errf(err, EPROTO,
              "%s answered {ts: {$gte: %s}} with an entry at %s: the server ignored the filter",
              t->server, b, a));
        }
        return ((ret = report_gap(t, t->pos, ts, "resuming", err)) != 0 ? ret : 0);
    }
    if (t->after_gap && ts != t->pos)
        return ((ret = report_gap(t, t->gap_from, ts, "resuming after a recorded gap", err)) != 0
                  ? ret
                  : 0);
    return (0);
}

/*
 * tail_once --
 *     Open a cursor at the position and read until it fails, stops, or (once) catches up.
 *     Returns 0 to stop, -1 to retry (e filled), or an error.
 */
static int
tail_once(tap_state *t, bson_error_t *e, bool *caught_up, wtkms_err *err)
{
    mongoc_collection_t *coll;
    mongoc_cursor_t *cur;
    const bson_t *doc, *reply;
    bson_t filter, opts, rc, cond;
    wtkms_ts ts;
    int64_t term;
    bool announced, first, got;
    char a[WTKMS_TS_STRLEN];
    int ret;

    *caught_up = false;
    coll = mongoc_client_get_collection(t->client, "local", "oplog.rs");
    bson_init(&filter);
    if (t->have_pos) {
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "ts", &cond);
        BSON_APPEND_TIMESTAMP(&cond, "$gte", WTKMS_TS_SECS(t->pos), WTKMS_TS_INC(t->pos));
        bson_append_document_end(&filter, &cond);
    }
    bson_init(&opts);
    BSON_APPEND_BOOL(&opts, "tailable", true);
    BSON_APPEND_BOOL(&opts, "awaitData", true);
    BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", (int64_t)t->o->await_ms);
    /* Only majority-committed entries: a write that may still roll back is never saved. */
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "readConcern", &rc);
    BSON_APPEND_UTF8(&rc, "level", "majority");
    bson_append_document_end(&opts, &rc);
    cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    bson_destroy(&filter);
    bson_destroy(&opts);

    first = true;
    announced = false;
    ret = 0;
    while (!wtkms_tap_stop) {
        got = mongoc_cursor_next(cur, &doc);
        if (!announced && (got || !mongoc_cursor_error(cur, NULL))) {
            /* The find answered: say where tailing starts (once per cursor). */
            announced = true;
            if (t->have_pos)
                wtkms_ts_str(t->pos, a, sizeof(a));
            (void)fprintf(stderr, "wtkms oplog tap: tailing local.oplog.rs on %s from %s\n",
              t->server, t->have_pos ? a : "the oldest entry");
            (void)fflush(stderr);
        }
        if (got) {
            if (wtkms_oplog_entry_ts(bson_get_data(doc), doc->len, &ts, &term) != 0) {
                ret = wtkms_errf(err, EPROTO,
                  "%s returned a document without a Timestamp \"ts\" from local.oplog.rs",
                  t->server);
                break;
            }
            if (first) {
                first = false;
                if ((ret = check_first(t, ts, term, err)) < 0 || ret > 1)
                    break;
                t->after_gap = false;
                if (ret == 1) {
                    ret = 0;
                    continue;
                }
            }
            if ((ret = wtkms_segmenter_add(&t->sg, bson_get_data(doc), doc->len, err)) != 0)
                break;
            t->have_pos = true;
            t->pos = ts;
            t->pos_term = term;
            t->pos_saved = true;
            t->backoff_ms = 0;
            if (wtkms_segmenter_due(&t->sg, wtkms_oplog_mono_ms()) &&
                (ret = wtkms_segmenter_flush(&t->sg, err)) != 0)
                break;
            continue;
        }
        if (mongoc_cursor_error_document(cur, e, &reply)) {
            ret = -1;
            break;
        }
        /* An empty batch: the tap has caught up (or the cursor found nothing and died). */
        if (wtkms_segmenter_due(&t->sg, wtkms_oplog_mono_ms()) &&
            (ret = wtkms_segmenter_flush(&t->sg, err)) != 0)
            break;
        if (t->o->once) {
            *caught_up = true;
            break;
        }
        if (!mongoc_cursor_more(cur)) {
            if (first && t->have_pos) {
                wtkms_ts_str_long(t->pos, a, sizeof(a));
                (void)fprintf(stderr,
                  "wtkms oplog tap: %s holds nothing at or after %s yet (a lagging member, or "
                  "its majority point is behind); waiting\n",
                  t->server, a);
            }
            bson_set_error(e, MONGOC_ERROR_CURSOR, 0, "the tailable cursor ended");
            ret = -1;
            break;
        }
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    return (ret);
}

/*
 * store_retry --
 *     The store failed in a way that can pass: say so, wait (capped exponential backoff with
 *     jitter), and try again unless the tap is stopping. The entries stay in memory meanwhile.
 */
static bool
store_retry(void *arg, unsigned attempt, const wtkms_err *why)
{
    tap_state *t = arg;
    uint16_t r;
    unsigned ms;

    if (wtkms_tap_stop)
        return (false);
    ms = attempt >= 16 ? t->o->backoff_max_ms : 100U << (attempt - 1);
    if (ms > t->o->backoff_max_ms)
        ms = t->o->backoff_max_ms;
    if (wtkms_random(&r, sizeof(r)) != 0)
        r = 0x8000;
    ms = ms / 2 + (unsigned)(((uint64_t)ms / 2 * r) >> 16);
    t->store_retries++;
    (void)fprintf(stderr,
      "wtkms oplog tap: %s; trying again in %u ms (attempt %u; the entries read are kept)\n",
      why->msg, ms, attempt + 1);
    (void)fflush(stderr);
    nap(ms);
    return (!wtkms_tap_stop);
}

/*
 * wtkms_tap_run --
 *     The tap's main loop.
 */
int
wtkms_tap_run(wtkms_oplog_store *store, wtkms_kms *kms, const wtkms_tap_opts *opts, wtkms_err *err)
{
    tap_state t;
    wtkms_oplog_resume r;
    bson_error_t e;
    bool caught_up;
    char a[WTKMS_TS_STRLEN];
    int ret;

    memset(&t, 0, sizeof(t));
    t.o = opts;
    t.pos_term = -1;
    mongoc_log_set_handler(tap_log, NULL);
    if ((ret = wtkms_oplog_store_lock(store, err)) != 0)
        return (ret);
    if ((ret = open_uri(&t, err)) != 0)
        return (ret);
    if ((ret = wtkms_segmenter_init(
           &t.sg, store, kms, opts->segment_bytes, opts->segment_seconds, err)) != 0)
        goto done;
    t.sg.log = stderr;
    if (opts->compress_level != 0)
        t.sg.compress_level = opts->compress_level < 0 ? 0 : opts->compress_level;
    t.sg.retry = store_retry;
    t.sg.retry_arg = &t;
    if ((ret = wtkms_segmenter_resume(&t.sg, &r, err)) != 0)
        goto done;
    if (!r.empty) {
        t.have_pos = true;
        t.pos = r.ts;
        t.pos_term = r.term;
        t.pos_saved = r.saved;
        t.after_gap = !r.saved;
        t.gap_from = r.gap_from;
        wtkms_ts_str_long(r.ts, a, sizeof(a));
        (void)fprintf(stderr, "wtkms oplog tap: resuming %s after segment %" PRIu64 " at %s\n",
          wtkms_oplog_store_where(store), t.sg.next_seq - 1, a);
    } else if (opts->start == WTKMS_TAP_START_TS) {
        t.have_pos = true;
        t.pos = opts->start_ts;
    }

    while (!wtkms_tap_stop) {
        if (t.client == NULL) {
            if ((ret = connect_server(&t, &e, err)) > 0)
                goto done;
            if (ret < 0) {
                ret = 0;
                goto retry;
            }
            if (r.empty && opts->start == WTKMS_TAP_START_LATEST && !t.have_pos &&
                t.sg.next_seq == 1 && t.sg.count == 0) {
                if (start_latest(&t, &e) != 0)
                    goto retry;
                r.empty = false;
            }
        }
        ret = tail_once(&t, &e, &caught_up, err);
        if (ret > 0)
            goto done;
        if (ret == 0) /* stopped, or caught up with --once */
            break;
        ret = 0;
    retry:
        if (wtkms_tap_stop)
            break;
        switch (classify(&e)) {
        case TAP_FATAL:
            ret = wtkms_errf(err, e.domain == MONGOC_ERROR_CLIENT ? EACCES : EIO,
              "tailing local.oplog.rs on %s failed: %s (error %u): fix the cause and restart the "
              "tap; it resumes where it stopped",
              t.server, e.message, e.code);
            goto done;
        case TAP_POSITION_LOST:
            /*
             * The server deleted the cursor's position: entries after it may be gone. Save what
             * was read, then re-read from the position: the first-entry check records the gap.
             */
            (void)fprintf(stderr,
              "wtkms oplog tap: %s reports CappedPositionLost: the oplog overwrote the tap's "
              "position; saving what was read and checking for a gap\n",
              t.server);
            if ((ret = wtkms_segmenter_flush(&t.sg, err)) != 0)
                goto done;
            drop_client(&t);
            continue;
        case TAP_RETRY:
            t.retries++;
            (void)fprintf(stderr,
              "wtkms oplog tap: %s: %s (error %u); reconnecting in up to %u ms\n", t.server,
              e.message, e.code, t.backoff_ms == 0 ? 100 : t.backoff_ms);
            drop_client(&t);
            /* A segment due by time is cut even while the server is away. */
            if (wtkms_segmenter_due(&t.sg, wtkms_oplog_mono_ms()) &&
                (ret = wtkms_segmenter_flush(&t.sg, err)) != 0)
                goto done;
            backoff(&t);
            break;
        }
    }
    ret = wtkms_segmenter_flush(&t.sg, err);
    if (ret == 0)
        (void)fprintf(stderr,
          "wtkms oplog tap: stopped: %" PRIu64 " entries in %" PRIu64 " segments this run, %" PRIu64
          " gaps, %" PRIu64 " reconnects, %" PRIu64 " store writes tried again\n",
          t.sg.entries, t.sg.segments, t.sg.gaps, t.retries, t.store_retries);
done:
    if (ret != 0) {
        /* Save what was read before failing: it is majority-committed and in order. */
        wtkms_err e2;
        wtkms_err_clear(&e2);
        (void)wtkms_segmenter_flush(&t.sg, &e2);
    }
    drop_client(&t);
    if (t.uri != NULL)
        mongoc_uri_destroy(t.uri);
    wtkms_segmenter_free(&t.sg);
    return (ret);
}
