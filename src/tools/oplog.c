/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog.c -- "wtkms oplog tap|list|verify|export" (pit.c: "wtkms pit restore").
 *
 * The tap, segment format and readers live in src/oplog/; this file is the command line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "fileio.h"
#include "oplog_catalog.h"
#include "oplog_cli.h"
#include "oplog_export.h"
#include "oplog_replay.h"
#include "oplog_segmenter.h"
#include "oplog_tap.h"
#include "oplog_txn.h"
#include "oplog_verify.h"
#include "snapshot.h"

static const char oplog_usage[] =
  "usage:\n"
  "  wtkms oplog tap (--uri URI | --uri-file FILE) --store STORE [--segment-bytes N]\n"
  "                  [--segment-seconds S]\n"
  "                  [--start oldest|latest|TS] [--once] [--no-encryption]\n"
  "                  [--compress-level N | --no-compress] [provider flags]\n"
  "  wtkms oplog list --store STORE [--json]\n"
  "  wtkms oplog verify --store STORE [--expect-last TS] [--allow-unencrypted] [--json]\n"
  "                     [--key-config FILE ...] [provider flags]\n"
  "  wtkms oplog export --store STORE [--from TS] [--until TS] --out FILE [--force]\n"
  "                     [--across-gaps] [--expect-last TS] [--allow-unencrypted] [--json]\n"
  "                     [--key-config FILE ...] [provider flags]\n"
  "Across a master-key rotation, give each key's settings (provider flags or --config for one,\n"
  "--key-config FILE for each other): each segment is read with the key it records.\n"
  "STORE is a directory or s3://BUCKET/PREFIX (--s3-endpoint URL, --s3-region R, ...).\n"
  "TS: SECS:INC, SECS (= SECS:0) or YYYY-MM-DDTHH:MM:SSZ. --from and --until are inclusive.\n";

/*
 * wtkms_oplog_cli_store --
 *     --store DIR or s3://BUCKET/PREFIX (with the --s3-* flags), required.
 */
int
wtkms_oplog_cli_store(wtkms_cli *cli, bool create, wtkms_oplog_store **sp, wtkms_err *err)
{
    wtkms_config cfg;
    const char *url = wtkms_cli_opt_get(cli, "store");
    int ret;

    *sp = NULL;
    if (url == NULL)
        return (wtkms_errf(err, EINVAL,
          "oplog %s needs --store DIR or s3://BUCKET/PREFIX (the oplog segment store)",
          cli->command));
    if (strncmp(url, "s3://", 5) != 0)
        return (wtkms_oplog_store_open(url, NULL, create, sp, err));
    if ((ret = wtkms_cli_s3_settings(cli, &cfg, err)) == 0 &&
        (ret = wtkms_oplog_store_open(url, &cfg, create, sp, err)) == 0 &&
        (ret = wtkms_config_check_unused(&cfg, err)) != 0) {
        wtkms_oplog_store_close(*sp);
        *sp = NULL;
    }
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * catalog_keys --
 *     The run-key cache for reading the store, with its providers: one per --key-config FILE,
 *     and the --config/flags one when the store holds encrypted segments and no --key-config was
 *     given, or when provider settings are given (they configure a key, and with it the
 *     no-downgrade rule). Each segment is read with the configured key it records.
 */
static int
catalog_keys(wtkms_cli *cli, const wtkms_oplog_catalog *cat, bool allow, wtkms_kms_ring **ringp,
  wtkms_oplog_keys **keysp, wtkms_err *err)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    char *ext;
    size_t i;
    bool want;
    int ret;

    *keysp = NULL;
    kms = NULL;
    ext = NULL;
    if ((ret = wtkms_cli_key_ring(cli, ringp, err)) != 0)
        return (ret);
    want = cli->config_file != NULL;
    for (i = 0; i < (size_t)cli->nopts; i++)
        want = want || !cli->opts[i].used;
    for (i = 0; i < cat->n && wtkms_kms_ring_count(*ringp) == 0; i++)
        want = want || (cat->segs[i].ok && cat->segs[i].h.encrypted);
    if (want) {
        /* Its settings as the extension would take them: the ring derives other keys from them. */
        if ((ret = wtkms_cli_settings(cli, "", false, &cfg, err)) != 0)
            return (ret);
        if ((ret = wtkms_kms_open(&cfg, &kms, err)) == 0 &&
            (ret = wtkms_config_check_unused(&cfg, err)) == 0 &&
            (ret = wtkms_snapshot_ext_config(&cfg, &ext, err)) == 0)
            ret = wtkms_kms_ring_add(
              *ringp, kms, cli->config_file != NULL ? "--config" : "the provider flags", ext, err);
        else
            wtkms_kms_close(kms);
        wtkms_config_free(&cfg);
        free(ext);
        if (ret != 0)
            return (ret);
    }
    if ((*keysp = wtkms_oplog_keys_new(NULL)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    wtkms_oplog_keys_use_ring(*keysp, *ringp);
    wtkms_oplog_keys_allow_unencrypted(*keysp, allow);
    return (0);
}

/*
 * on_signal --
 *     SIGTERM and SIGINT stop the tap after a flush.
 */
static void
on_signal(int sig)
{
    (void)sig;
    wtkms_tap_stop = 1;
}

/*
 * wtkms_cli_connection_uri --
 *     A MongoDB URI from --FLAG or --FLAG-file FILE. A URI on the command line may not carry a
 *     password (every user sees command lines); in a file it may, if the file is private.
 */
int
wtkms_cli_connection_uri(wtkms_cli *cli, const char *flag, char **urip, wtkms_err *err)
{
    mongoc_uri_t *uri;
    bson_error_t e;
    struct stat sb;
    char file_flag[64], *buf;
    const char *v, *path;
    size_t len;
    int ret;

    *urip = NULL;
    (void)snprintf(file_flag, sizeof(file_flag), "%s-file", flag);
    v = wtkms_cli_opt_get(cli, flag);
    path = wtkms_cli_opt_get(cli, file_flag);
    if (v != NULL && path != NULL)
        return (wtkms_errf(err, EINVAL, "give --%s or --%s, not both", flag, file_flag));
    if (v == NULL && path == NULL)
        return (0);
    if (v != NULL)
        buf = strdup(v);
    else {
        if ((ret = wtkms_read_file(path, 8192, &buf, &len, err)) != 0)
            return (wtkms_err_prefix(err, "--%s", file_flag));
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            buf[--len] = '\0';
    }
    if (buf == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((uri = mongoc_uri_new_with_error(buf, &e)) == NULL) {
        ret = wtkms_errf(err, EINVAL, "--%s is not a MongoDB connection string: %s",
          v != NULL ? flag : file_flag, e.message);
        goto err;
    }
    ret = 0;
    if (mongoc_uri_get_password(uri) != NULL) {
        if (v != NULL)
            ret = wtkms_errf(err, EINVAL,
              "--%s carries a password, which every user of this machine can see in the process "
              "list: put the URI in a file only you can read and give --%s FILE, or use X.509 "
              "(tlsCertificateKeyFile=...)",
              flag, file_flag);
        else if (stat(path, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
            ret = wtkms_errf(err, EPERM,
              "%s holds a password but group or others can read it (mode %03o): chmod 600 %s", path,
              (unsigned)(sb.st_mode & 0777), path);
    }
    mongoc_uri_destroy(uri);
    if (ret == 0) {
        *urip = buf;
        return (0);
    }
err:
    wtkms_wipe(buf, strlen(buf));
    free(buf);
    return (ret);
}

/*
 * cmd_tap --
 *     wtkms oplog tap.
 */
static int
cmd_tap(wtkms_cli *cli)
{
    wtkms_tap_opts o;
    wtkms_oplog_store *store;
    wtkms_kms *kms;
    wtkms_err err;
    struct sigaction sa;
    const char *v, *start;
    char *uri;
    uint64_t n;
    bool plain;
    int ret;

    wtkms_err_clear(&err);
    store = NULL;
    kms = NULL;
    uri = NULL;
    memset(&o, 0, sizeof(o));
    o.segment_bytes = WTKMS_SEGMENT_BYTES_DEFAULT;
    o.segment_seconds = WTKMS_SEGMENT_SECONDS_DEFAULT;
    o.await_ms = 1000;
    o.backoff_max_ms = 10000;
    if ((ret = wtkms_cli_connection_uri(cli, "uri", &uri, &err)) != 0)
        goto err;
    o.uri = uri;
    o.once = wtkms_cli_flag(cli, "once");
    plain = wtkms_cli_flag(cli, "no-encryption");
    if ((ret = wtkms_cli_compression(cli, &o.compress_level, &err)) != 0)
        goto err;
    if ((v = wtkms_cli_opt_get(cli, "segment-bytes")) != NULL &&
        (ret = wtkms_cli_parse_size(
           v, "--segment-bytes", 1, 512ULL * 1024 * 1024, &o.segment_bytes, &err)) != 0)
        goto err;
    if ((v = wtkms_cli_opt_get(cli, "segment-seconds")) != NULL) {
        if ((ret = wtkms_cli_parse_size(v, "--segment-seconds", 1, 86400, &n, &err)) != 0)
            goto err;
        o.segment_seconds = (unsigned)n;
    }
    if ((v = wtkms_cli_opt_get(cli, "await-ms")) != NULL) {
        if ((ret = wtkms_cli_parse_size(v, "--await-ms", 10, 60000, &n, &err)) != 0)
            goto err;
        o.await_ms = (unsigned)n;
    }
    if ((v = wtkms_cli_opt_get(cli, "backoff-max-ms")) != NULL) {
        if ((ret = wtkms_cli_parse_size(v, "--backoff-max-ms", 100, 600000, &n, &err)) != 0)
            goto err;
        o.backoff_max_ms = (unsigned)n;
    }
    start = wtkms_cli_opt_get(cli, "start");
    if (start == NULL || strcmp(start, "oldest") == 0)
        o.start = WTKMS_TAP_START_OLDEST;
    else if (strcmp(start, "latest") == 0)
        o.start = WTKMS_TAP_START_LATEST;
    else {
        o.start = WTKMS_TAP_START_TS;
        if ((ret = wtkms_ts_parse(start, "--start", &o.start_ts, &err)) != 0)
            goto err;
    }
    if (o.uri == NULL) {
        ret = wtkms_errf(&err, EINVAL,
          "oplog tap needs --uri mongodb://HOST:PORT/?replicaSet=NAME (or --uri-file FILE when "
          "the URI holds a password)");
        goto err;
    }
    if ((ret = wtkms_oplog_cli_store(cli, true, &store, &err)) != 0)
        goto err;
    if (plain)
        ret = wtkms_cli_check_unused(cli, &err);
    else
        ret = wtkms_cli_kms(cli, "", &kms, &err);
    if (ret != 0)
        goto err;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    mongoc_init();
    ret = wtkms_tap_run(store, kms, &o, &err);
    mongoc_cleanup();
err:
    if (uri != NULL) {
        wtkms_wipe(uri, strlen(uri));
        free(uri);
    }
    wtkms_kms_close(kms);
    wtkms_oplog_store_close(store);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}

/*
 * wtkms_cli_ts_json --
 *     A timestamp as JSON: "SECS:INC" and an ISO time beside it.
 */
void
wtkms_cli_ts_json(bson_t *doc, const char *key, wtkms_ts ts)
{
    char s[WTKMS_TS_STRLEN], k[64], when[32];

    wtkms_ts_str(ts, s, sizeof(s));
    BSON_APPEND_UTF8(doc, key, s);
    (void)snprintf(k, sizeof(k), "%s_time", key);
    wtkms_iso_time((int64_t)WTKMS_TS_SECS(ts) * 1000, when, sizeof(when));
    BSON_APPEND_UTF8(doc, k, when);
}

/*
 * cmd_verify --
 *     wtkms oplog verify.
 */
static int
cmd_verify(wtkms_cli *cli)
{
    wtkms_oplog_catalog cat;
    wtkms_oplog_verify_report rep;
    wtkms_oplog_store *store;
    wtkms_oplog_keys *keys;
    wtkms_kms_ring *ring;
    wtkms_err err;
    wtkms_ts expect_last;
    bson_t out, probs, d;
    char key[24], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    const char *v;
    bool allow;
    size_t i;
    int ret;

    wtkms_err_clear(&err);
    store = NULL;
    ring = NULL;
    keys = NULL;
    expect_last = 0;
    memset(&cat, 0, sizeof(cat));
    memset(&rep, 0, sizeof(rep));
    allow = wtkms_cli_flag(cli, "allow-unencrypted");
    if ((v = wtkms_cli_opt_get(cli, "expect-last")) != NULL &&
        (ret = wtkms_ts_parse(v, "--expect-last", &expect_last, &err)) != 0)
        goto err;
    if ((ret = wtkms_oplog_cli_store(cli, false, &store, &err)) != 0 ||
        (ret = wtkms_oplog_catalog_load(store, &cat, &err)) != 0 ||
        (ret = catalog_keys(cli, &cat, allow, &ring, &keys, &err)) != 0)
        goto err;
    if ((ret = wtkms_oplog_verify(&cat, keys, expect_last, &rep, &err)) != 0)
        goto err;
    if (cli->json) {
        bson_init(&out);
        bson_init(&probs);
        BSON_APPEND_BOOL(&out, "ok", rep.nproblems == 0);
        BSON_APPEND_UTF8(&out, "store", wtkms_oplog_store_where(store));
        BSON_APPEND_INT64(&out, "segments", (int64_t)rep.segments);
        BSON_APPEND_INT64(&out, "entries", (int64_t)rep.entries);
        BSON_APPEND_INT64(&out, "gaps", (int64_t)rep.gaps);
        if (rep.first != 0) {
            wtkms_cli_ts_json(&out, "first_ts", rep.first);
            wtkms_cli_ts_json(&out, "last_ts", rep.last);
        }
        for (i = 0; i < rep.nproblems; i++) {
            bson_init(&d);
            BSON_APPEND_INT64(&d, "seq", (int64_t)rep.problems[i].seq);
            BSON_APPEND_UTF8(&d, "problem", rep.problems[i].problem);
            (void)snprintf(key, sizeof(key), "%zu", i);
            BSON_APPEND_DOCUMENT(&probs, key, &d);
            bson_destroy(&d);
        }
        BSON_APPEND_ARRAY(&out, "problems", &probs);
        wtkms_cli_print_json(&out);
        bson_destroy(&out);
        bson_destroy(&probs);
    } else {
        for (i = 0; i < rep.nproblems; i++)
            (void)fprintf(stderr, "wtkms: oplog verify: %s\n", rep.problems[i].problem);
        wtkms_ts_str_long(rep.first, a, sizeof(a));
        wtkms_ts_str_long(rep.last, b, sizeof(b));
        (void)printf("oplog store %s: %" PRIu64 " segments, %" PRIu64 " entries%s%s%s%s, %" PRIu64
                     " gaps: %s\n",
          wtkms_oplog_store_where(store), rep.segments, rep.entries, rep.first ? ", " : "",
          rep.first ? a : "", rep.first ? " to " : "", rep.first ? b : "", rep.gaps,
          rep.nproblems == 0 ? "OK" : "FAILED");
    }
    ret = rep.nproblems == 0 ? WTKMS_EXIT_OK : WTKMS_EXIT_INTEGRITY;
    wtkms_oplog_verify_report_free(&rep);
    wtkms_oplog_keys_free(keys);
    wtkms_kms_ring_free(ring);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (ret);
err:
    wtkms_oplog_verify_report_free(&rep);
    wtkms_oplog_keys_free(keys);
    wtkms_kms_ring_free(ring);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (wtkms_cli_fail(cli, &err));
}

/*
 * export_entry --
 *     Write one entry to the BSON file.
 */
static int
export_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    (void)ts;
    return (wtkms_bson_out_write(arg, doc, len, err));
}

/*
 * cmd_export --
 *     wtkms oplog export.
 */
static int
cmd_export(wtkms_cli *cli)
{
    wtkms_oplog_catalog cat;
    wtkms_oplog_store *store;
    wtkms_oplog_keys *keys;
    wtkms_bson_out out;
    wtkms_txn_plan plan;
    wtkms_kms_ring *ring;
    wtkms_err err;
    wtkms_ts from, until, first, last, expect_last;
    bson_t j;
    const char *vfrom, *vuntil, *path, *vexpect;
    char what[256], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    bool allow, force, opened;
    int ngaps, ret;

    wtkms_err_clear(&err);
    store = NULL;
    ring = NULL;
    keys = NULL;
    opened = false;
    memset(&cat, 0, sizeof(cat));
    memset(&plan, 0, sizeof(plan));
    vfrom = wtkms_cli_opt_get(cli, "from");
    vuntil = wtkms_cli_opt_get(cli, "until");
    path = wtkms_cli_opt_get(cli, "out");
    force = wtkms_cli_flag(cli, "force");
    allow = wtkms_cli_flag(cli, "allow-unencrypted");
    if (path == NULL) {
        ret = wtkms_errf(&err, EINVAL, "oplog export needs --out FILE (for example oplog.bson)");
        goto err;
    }
    if ((ret = wtkms_oplog_cli_store(cli, false, &store, &err)) != 0 ||
        (ret = wtkms_oplog_catalog_load(store, &cat, &err)) != 0)
        goto err;
    wtkms_oplog_catalog_range(&cat, &first, &last);
    from = first;
    until = last;
    expect_last = 0;
    if ((vfrom != NULL && (ret = wtkms_ts_parse(vfrom, "--from", &from, &err)) != 0) ||
        (vuntil != NULL && (ret = wtkms_ts_parse(vuntil, "--until", &until, &err)) != 0) ||
        ((vexpect = wtkms_cli_opt_get(cli, "expect-last")) != NULL &&
          (ret = wtkms_ts_parse(vexpect, "--expect-last", &expect_last, &err)) != 0))
        goto err;
    if (until < from) {
        ret = wtkms_errf(&err, EINVAL, "--until %s is before --from %s", vuntil, vfrom);
        goto err;
    }
    (void)snprintf(what, sizeof(what), "oplog export --from %s --until %s",
      vfrom != NULL ? vfrom : "(first)", vuntil != NULL ? vuntil : "(last)");
    cat.allow_gaps = wtkms_cli_flag(cli, "across-gaps");
    if ((ret = wtkms_oplog_catalog_check(&cat, from == 0 ? 0 : from - 1, until, what, &err)) != 0)
        goto err;
    if (cat.allow_gaps &&
        (ngaps = wtkms_oplog_catalog_gaps_in(&cat, from == 0 ? 0 : from - 1, until)) > 0)
        (void)fprintf(stderr,
          "wtkms: warning: the export crosses %d recorded gap%s (oplog list shows them): entries "
          "lost there are not in %s, so it is not a complete oplog for that range\n",
          ngaps, ngaps == 1 ? "" : "s", path);
    if ((ret = catalog_keys(cli, &cat, allow, &ring, &keys, &err)) != 0)
        goto err;
    /* A cut tail or a replaced head stops the export before anything is written. */
    if ((ret = wtkms_oplog_check_ends(&cat, keys, expect_last, NULL, &err)) != 0)
        goto err;
    /*
     * A transaction committed inside the range whose earlier parts (partialTxn, prepare) lie
     * before --from goes out whole: mongorestore would otherwise apply it torn, or a prepared one
     * not at all. When those parts are not in the store the export is refused, naming it.
     */
    if ((ret = wtkms_txn_plan_build(
           &cat, keys, from == 0 ? 0 : from - 1, until, WTKMS_PLAN_EXPORT, &plan, &err)) != 0)
        goto err;
    if ((ret = wtkms_bson_out_open(&out, path, force, &err)) != 0)
        goto err;
    opened = true;
    if ((ret = wtkms_txn_plan_walk(&cat, keys, &plan, export_entry, &out, &err)) != 0 ||
        (ret = wtkms_bson_out_commit(&out, &err)) != 0)
        goto err;
    opened = false;
    wtkms_ts_str(from, a, sizeof(a));
    wtkms_ts_str(until, b, sizeof(b));
    if (cli->json) {
        bson_init(&j);
        BSON_APPEND_UTF8(&j, "out", path);
        BSON_APPEND_INT64(&j, "entries", (int64_t)out.count);
        BSON_APPEND_INT64(&j, "bytes", (int64_t)out.bytes);
        wtkms_cli_ts_json(&j, "from", from);
        wtkms_cli_ts_json(&j, "until", until);
        BSON_APPEND_INT64(&j, "earlier_transaction_parts", (int64_t)plan.early_parts);
        wtkms_cli_print_json(&j);
        bson_destroy(&j);
    } else
        (void)fprintf(stderr,
          "wtkms: exported %" PRIu64 " oplog entries (%" PRIu64 " bytes), %s to %s inclusive, "
          "into %s\n",
          out.count, out.bytes, a, b, path);
    if (!cli->json && plan.early_parts > 0)
        (void)fprintf(stderr,
          "wtkms: %" PRIu64 " of them are earlier parts (before --from) of transactions "
          "committed in the range, included so that none is torn\n",
          plan.early_parts);
    wtkms_txn_plan_free(&plan);
    wtkms_oplog_keys_free(keys);
    wtkms_kms_ring_free(ring);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (WTKMS_EXIT_OK);
err:
    if (opened)
        wtkms_bson_out_abort(&out);
    wtkms_txn_plan_free(&plan);
    wtkms_oplog_keys_free(keys);
    wtkms_kms_ring_free(ring);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (wtkms_cli_fail(cli, &err));
}

/*
 * wtkms_cmd_oplog --
 *     The oplog group.
 */
int
wtkms_cmd_oplog(wtkms_cli *cli)
{
    if (cli->help || strcmp(cli->command, "help") == 0) {
        (void)fputs(oplog_usage, stdout);
        return (WTKMS_EXIT_OK);
    }
    if (strcmp(cli->command, "tap") == 0)
        return (cmd_tap(cli));
    if (strcmp(cli->command, "list") == 0)
        return (wtkms_oplog_cmd_list(cli));
    if (strcmp(cli->command, "verify") == 0)
        return (cmd_verify(cli));
    if (strcmp(cli->command, "export") == 0)
        return (cmd_export(cli));
    (void)fprintf(stderr, "wtkms: unknown command 'oplog %s'\n%s", cli->command, oplog_usage);
    return (WTKMS_EXIT_USAGE);
}
