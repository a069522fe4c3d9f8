/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_usage.c -- "wtkms keys usage KEY": everything that still depends on a master key, in
 * snapshot and oplog stores (--store, repeatable) and live homes (--home, repeatable), and a
 * verdict: safe to delete, not safe, or unknown. Never "safe" on a store that does not exist or
 * cannot be listed, an S3 prefix that holds nothing (a mistyped one looks the same), a home whose
 * keystore cannot be read, or an unreadable manifest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "clock.h"
#include "keystore.h"
#include "oplog_catalog.h"
#include "oplog_store.h"
#include "snapshot.h"
#include "store.h"

/* What "keys usage" collects. */
typedef struct {
    wtkms_cli *cli;
    bson_t arr;     /* dependents */
    uint32_t n;     /* dependents */
    bson_t unknown; /* {store or home, error}: what could not be checked */
    uint32_t nunknown;
    const char *where;
} usage_ctx;

/*
 * usage_add --
 *     One dependent snapshot, oplog run or home.
 */
static void
usage_add(void *arg, const char *kind, const char *id, const char *created, const char *via)
{
    usage_ctx *u = arg;
    bson_t doc;
    char idx[16];
    const char *k;

    (void)bson_uint32_to_string(u->n++, &k, idx, sizeof(idx));
    BSON_APPEND_DOCUMENT_BEGIN(&u->arr, k, &doc);
    BSON_APPEND_UTF8(&doc, "store", u->where);
    BSON_APPEND_UTF8(&doc, "kind", kind);
    BSON_APPEND_UTF8(&doc, "id", id);
    BSON_APPEND_UTF8(&doc, "created", created);
    BSON_APPEND_UTF8(&doc, "via", via);
    bson_append_document_end(&u->arr, &doc);
    if (!u->cli->json)
        (void)printf(WTKMS_TABLE_USAGE, kind, id, created, via, u->where);
}

/*
 * usage_unknown --
 *     Something that could not be checked: the verdict cannot be "safe".
 */
static void
usage_unknown(usage_ctx *u, const char *where, const char *id, const char *why)
{
    bson_t sub;
    char idx[16];
    const char *k;

    (void)bson_uint32_to_string(u->nunknown++, &k, idx, sizeof(idx));
    BSON_APPEND_DOCUMENT_BEGIN(&u->unknown, k, &sub);
    BSON_APPEND_UTF8(&sub, "store", where);
    if (id != NULL)
        BSON_APPEND_UTF8(&sub, "id", id);
    BSON_APPEND_UTF8(&sub, "error", why);
    bson_append_document_end(&u->unknown, &sub);
    (void)fprintf(stderr, "wtkms: cannot tell what %s%s%s depends on: %s\n", where,
      id != NULL ? " " : "", id != NULL ? id : "", why);
}

/*
 * usage_oplog --
 *     The oplog segments in a store that depend on a master key, one line per tap run (every
 *     segment of a run shares the run key the master key wraps). A local path that is not a
 *     directory has none; an S3 URL is opened with the snapshot store's settings.
 */
static int
usage_oplog(usage_ctx *u, const char *store_url, wtkms_config *cfg, const char *key, size_t *seenp,
  wtkms_err *err)
{
    wtkms_oplog_store *store;
    wtkms_oplog_catalog cat;
    wtkms_oplog_seginfo *si, *start;
    wtkms_err e2;
    struct stat sb;
    char id[128], when[32], run[2 * WTKMS_RUN_ID_LEN + 1];
    size_t i, j;
    int ret;

    if (strncmp(store_url, "s3://", 5) == 0) {
        /* The snapshot store opened the same URL with these settings: an error is real. */
        if ((ret = wtkms_oplog_store_open(store_url, cfg, false, &store, err)) != 0)
            return (ret);
    } else {
        if (stat(store_url, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return (0);
        wtkms_err_clear(&e2);
        if (wtkms_oplog_store_open(store_url, NULL, false, &store, &e2) != 0)
            return (0);
    }
    if ((ret = wtkms_oplog_catalog_load(store, &cat, err)) != 0) {
        wtkms_oplog_store_close(store);
        return (ret);
    }
    *seenp += cat.n;
    for (i = 0; i < cat.n; i = j) {
        start = &cat.segs[i];
        for (j = i + 1; j < cat.n && cat.segs[j].ok && start->ok &&
                        memcmp(cat.segs[j].h.run, start->h.run, WTKMS_RUN_ID_LEN) == 0;
             j++)
            ;
        if (!start->ok) {
            /* A segment whose header cannot be read may depend on any key: say so. */
            (void)snprintf(id, sizeof(id), "oplog segment %" PRIu64 " (unreadable)", start->seq);
            usage_add(u, "oplog", id, "-", "unknown: its header is damaged");
            continue;
        }
        if (!start->h.encrypted || !wtkms_snap_key_matches(&start->h.cmk, key))
            continue;
        si = &cat.segs[j - 1];
        wtkms_hex(start->h.run, 4, run);
        (void)snprintf(
          id, sizeof(id), "run %s, segments %" PRIu64 "-%" PRIu64, run, start->seq, si->seq);
        wtkms_iso_time(start->h.created_ms, when, sizeof(when));
        usage_add(u, "oplog", id, when, "oplog run key");
    }
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (0);
}

/*
 * check_store --
 *     The snapshots and oplog segments of one store.
 */
static void
check_store(usage_ctx *u, const char *url, wtkms_config *cfg, const char *key)
{
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_err err;
    struct stat sb;
    char **ids, when[32], via[96];
    size_t n, i, seen;
    uint32_t w;
    bool snap, ks;

    u->where = url;
    wtkms_err_clear(&err);
    if (strncmp(url, "s3://", 5) != 0 && (stat(url, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        usage_unknown(u, url, NULL, "no such directory: check the store's name");
        return;
    }
    ids = NULL;
    n = seen = 0;
    if (wtkms_store_open(url, cfg, &store, &err) != 0) {
        usage_unknown(u, url, NULL, err.msg);
        return;
    }
    if (store->list(store, &ids, &n, &err) != 0) {
        wtkms_store_close(store);
        usage_unknown(u, url, NULL, err.msg);
        return;
    }
    for (i = 0; i < n; i++) {
        wtkms_err_clear(&err);
        if (wtkms_snapshot_read_manifest(store, ids[i], &m, &err) != 0) {
            usage_unknown(u, url, ids[i], err.msg);
            continue;
        }
        snap = m->encrypted && wtkms_snap_key_matches(&m->key, key);
        for (ks = false, w = 0; m->has_keystore && w < m->n_keystore_cmks; w++)
            ks = ks || wtkms_snap_key_matches(&m->keystore_cmks[w], key);
        if (snap || ks) {
            wtkms_iso_time(m->created_ms, when, sizeof(when));
            (void)snprintf(via, sizeof(via), "%s%s",
              snap && ks ? "snapshot key and keystore"
              : snap     ? "snapshot key"
                         : "keystore inside snapshot",
              ks && m->n_keystore_cmks > 1 ? " (one of its master keys)" : "");
            usage_add(u, "snapshot", m->id, when, via);
        }
        wtkms_manifest_free(m);
    }
    wtkms_store_free_ids(ids, n);
    wtkms_store_close(store);
    seen = n;
    wtkms_err_clear(&err);
    if (usage_oplog(u, url, cfg, key, &seen, &err) != 0)
        usage_unknown(u, url, "oplog", err.msg);
    else if (seen == 0 && strncmp(url, "s3://", 5) == 0)
        /* A local store was checked to exist; an S3 prefix that holds nothing cannot be told
         * from a mistyped one. */
        usage_unknown(u, url, NULL,
          "holds no snapshot and no oplog segment: a mistyped prefix looks the same; check it");
}

/*
 * check_home --
 *     A live home: its keystore's master keys (no key needed to read them).
 */
static void
check_home(usage_ctx *u, const char *home, const char *key)
{
    wtkms_ks_master mk[WTKMS_KS_MAX_WRAPS];
    wtkms_err err;
    char when[32], via[96], path[4096];
    uint32_t i, n;

    u->where = home;
    wtkms_err_clear(&err);
    if (wtkms_keystore_masters(home, mk, WTKMS_KS_MAX_WRAPS, &n, path, sizeof(path), &err) != 0) {
        usage_unknown(u, home, NULL, err.msg);
        return;
    }
    for (i = 0; i < n && i < WTKMS_KS_MAX_WRAPS; i++) {
        if (!wtkms_snap_key_matches(&mk[i].cmk, key))
            continue;
        wtkms_iso_time(mk[i].wrapped, when, sizeof(when));
        if (n == 1)
            (void)snprintf(via, sizeof(via), "keystore of a live home");
        else
            (void)snprintf(via, sizeof(via), "keystore, one of %u master keys", n);
        usage_add(u, "home", path, when, via);
    }
}

/*
 * print_result --
 *     The verdict, as JSON or a sentence.
 */
static void
print_result(usage_ctx *u, const char *key, const char **urls, int nurls, const char **homes,
  int nhomes, const char *verdict)
{
    bson_t doc, arr;
    char idx[16];
    const char *k;
    int j;

    if (u->cli->json) {
        bson_init(&doc);
        BSON_APPEND_UTF8(&doc, "key", key);
        BSON_APPEND_UTF8(&doc, "verdict", verdict);
        BSON_APPEND_BOOL(&doc, "safe_to_delete", strcmp(verdict, "safe") == 0);
        BSON_APPEND_ARRAY_BEGIN(&doc, "stores", &arr);
        for (j = 0; j < nurls; j++) {
            (void)bson_uint32_to_string((uint32_t)j, &k, idx, sizeof(idx));
            BSON_APPEND_UTF8(&arr, k, urls[j]);
        }
        bson_append_array_end(&doc, &arr);
        BSON_APPEND_ARRAY_BEGIN(&doc, "homes", &arr);
        for (j = 0; j < nhomes; j++) {
            (void)bson_uint32_to_string((uint32_t)j, &k, idx, sizeof(idx));
            BSON_APPEND_UTF8(&arr, k, homes[j]);
        }
        bson_append_array_end(&doc, &arr);
        BSON_APPEND_ARRAY(&doc, "dependents", &u->arr);
        BSON_APPEND_ARRAY(&doc, "unreadable", &u->unknown);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else if (u->n > 0)
        (void)printf("NOT safe to delete %s: %u snapshot%s, segment%s or home%s depend on it and "
                     "could never be opened or restored without it\n",
          key, u->n, u->n == 1 ? "" : "s", u->n == 1 ? "" : "s", u->n == 1 ? "" : "s");
    else if (u->nunknown > 0)
        (void)printf("UNKNOWN whether %s is safe to delete: %u store%s, home%s or manifest%s could "
                     "not be read (above); fix the names or the access and run it again\n",
          key, u->nunknown, u->nunknown == 1 ? "" : "s", u->nunknown == 1 ? "" : "s",
          u->nunknown == 1 ? "" : "s");
    else
        (void)printf("safe to delete %s as far as the %d store%s and %d home%s checked go: nothing "
                     "in them depends on it\n",
          key, nurls, nurls == 1 ? "" : "s", nhomes, nhomes == 1 ? "" : "s");
}

/*
 * wtkms_cmd_keys_usage --
 *     keys usage KEY [--store S ...] [--home DIR ...]: exit 0 only when deleting it is safe.
 */
int
wtkms_cmd_keys_usage(wtkms_cli *cli)
{
    wtkms_config cfg;
    wtkms_err err;
    usage_ctx u;
    const char *key, *urls[WTKMS_CLI_MAX_OPTS], *homes[WTKMS_CLI_MAX_OPTS], *verdict;
    int nurls, nhomes, j, ret;

    wtkms_err_clear(&err);
    memset(&u, 0, sizeof(u));
    u.cli = cli;
    if (cli->nargs != 1) {
        wtkms_errf(&err, EINVAL,
          "keys usage needs one master key: its key id, version or ARN, or provider:key_id "
          "(as 'wtkms snapshot list' shows it)");
        return (wtkms_cli_fail(cli, &err));
    }
    key = cli->args[0];
    for (nurls = nhomes = 0, j = 0; j < cli->nopts; j++)
        if (strcmp(cli->opts[j].name, "store") == 0) {
            cli->opts[j].used = true;
            urls[nurls++] = cli->opts[j].value;
        } else if (strcmp(cli->opts[j].name, "home") == 0) {
            cli->opts[j].used = true;
            homes[nhomes++] = cli->opts[j].value;
        }
    if (nurls == 0 && nhomes == 0) {
        wtkms_errf(&err, EINVAL,
          "keys usage needs --store STORE and/or --home DIR (repeat them for every snapshot and "
          "oplog store you keep and every live home)");
        return (wtkms_cli_fail(cli, &err));
    }
    if ((ret = wtkms_cli_settings(cli, "", true, &cfg, &err)) != 0) {
        wtkms_config_free(&cfg);
        return (wtkms_cli_fail(cli, &err));
    }
    bson_init(&u.arr);
    bson_init(&u.unknown);
    if (!cli->json)
        (void)printf(WTKMS_TABLE_USAGE, "KIND", "ID", "CREATED", "DEPENDS THROUGH", "STORE");
    for (j = 0; j < nurls; j++)
        check_store(&u, urls[j], &cfg, key);
    for (j = 0; j < nhomes; j++)
        check_home(&u, homes[j], key);
    ret = wtkms_config_check_unused(&cfg, &err);
    wtkms_config_free(&cfg);
    if (ret != 0) {
        bson_destroy(&u.arr);
        bson_destroy(&u.unknown);
        return (wtkms_cli_fail(cli, &err));
    }
    verdict = u.n > 0 ? "not safe" : u.nunknown > 0 ? "unknown" : "safe";
    print_result(&u, key, urls, nurls, homes, nhomes, verdict);
    bson_destroy(&u.arr);
    bson_destroy(&u.unknown);
    return (u.n == 0 && u.nunknown == 0 ? WTKMS_EXIT_OK : WTKMS_EXIT_REFUSED);
}
