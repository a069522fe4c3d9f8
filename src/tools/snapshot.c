/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c -- "wtkms snapshot create|verify|restore|delete|prune" (list and show:
 * snapshot_list.c).
 *
 * Settings: --config FILE and the flags a command does not take, as everywhere (cli.h). The
 * store's own settings (s3_endpoint, s3_region, ...) are taken first, the provider's next; what
 * the provider consumed is also what the wtkms extension gets when restore opens a home. create
 * opens the home with this program's own encryptor (wtkms_ext.h), unlocked with the provider it
 * built: one parse, one provider, one keystore unlock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "keystore.h"
#include "wtkms_ext.h"
#include "oplog_cli.h"
#include "secure.h"
#include "snapshot.h"
#include "snapshot_cli.h"
#include "zcodec.h"

static const char snapshot_usage[] =
  "usage:\n"
  "  wtkms snapshot create --home DIR --store STORE [--no-encryption]\n"
  "        [--compress-level N | --no-compress] [--chunk-size N]\n"
  "        [--fsync-locked [--uri URI | --uri-file FILE] |\n"
  "         (--live | --fsync-lock) (--uri URI | --uri-file FILE) [--clone-dir DIR]]\n"
  "        [--oplog-ts T:I] [--wt-config STRING] [--home-config FILE] [--json] [provider "
  "flags]\n"
  "  wtkms snapshot list --store STORE [--json]\n"
  "  wtkms snapshot show ID --store STORE [--json]\n"
  "  wtkms snapshot verify ID --store STORE [--allow-unencrypted] [--home-config FILE] [--json]\n"
  "        [provider flags]\n"
  "  wtkms snapshot restore ID --store STORE --to DIR [--allow-unencrypted] [--no-recover]\n"
  "        [--home-config FILE] [--wt-config STRING] [--json] [provider flags]\n"
  "  wtkms snapshot delete ID --store STORE [--json]\n"
  "  wtkms snapshot prune --store STORE (--keep-last N | --older-than DURATION) [--dry-run] "
  "[--abandoned-after DURATION] [--json]\n"
  "STORE is a directory or s3://BUCKET/PREFIX (--s3-endpoint URL, --s3-region R).\n";

/* Settings of this file (never passed to a provider or the extension). */
static bool
is_store_setting(const char *key)
{
    return (strncmp(key, "s3_", 3) == 0);
}

/*
 * settings --
 *     --config FILE plus every flag the command did not take. When the command builds no
 *     provider, the file's settings are the provider's and are not checked here.
 */
static int
settings(wtkms_cli *cli, wtkms_config *cfg, bool file_is_used, wtkms_err *err)
{
    return (wtkms_cli_settings(cli, "", file_is_used, cfg, err));
}

/*
 * not_for_extension --
 *     Settings of the store and of key creation, which the extension never takes.
 */
static bool
not_for_extension(const char *key)
{
    return (is_store_setting(key) || strcmp(key, "create") == 0);
}

/*
 * wtkms_snapshot_ext_config --
 *     The provider settings as the extension's config=(...) contents: key="value",... (also
 *     what pit restore gives the extension when it finishes a restored home's recovery).
 */
int
wtkms_snapshot_ext_config(wtkms_config *cfg, char **outp, wtkms_err *err)
{
    return (wtkms_config_format(cfg, not_for_extension, outp, err));
}

/*
 * wtkms_snapshot_home_kms --
 *     --home-config FILE: the provider of the home's own keystore, and the extension's settings
 *     (config_file="FILE") for the open that finishes a restored home's recovery.
 */
int
wtkms_snapshot_home_kms(const char *path, wtkms_kms **kmsp, char **extp, wtkms_err *err)
{
    wtkms_config cfg;
    int ret;

    *kmsp = NULL;
    *extp = NULL;
    if (strchr(path, '"') != NULL)
        return (wtkms_errf(err, EINVAL, "--home-config %s: the path may not contain '\"'", path));
    /* Read as the extension reads config_file=FILE: the same file serves both. */
    wtkms_config_init(&cfg, "--home-config");
    if ((ret = wtkms_config_set(&cfg, "config_file", path, err)) == 0 &&
        (ret = wtkms_config_include(&cfg, err)) == 0 &&
        (ret = wtkms_kms_open(&cfg, kmsp, err)) == 0) {
        wtkms_cli_accept_ext_settings(&cfg);
        ret = wtkms_config_check_unused(&cfg, err);
    }
    wtkms_config_free(&cfg);
    if (ret != 0) {
        wtkms_kms_close(*kmsp);
        *kmsp = NULL;
        return (wtkms_err_prefix(err, "--home-config %s", path));
    }
    if ((*extp = malloc(strlen(path) + 32)) == NULL) {
        wtkms_kms_close(*kmsp);
        *kmsp = NULL;
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    (void)sprintf(*extp, "config_file=\"%s\"", path);
    return (0);
}

/*
 * cmd_create --
 *     snapshot create.
 */
static int
cmd_create(wtkms_cli *cli)
{
    wtkms_snap_create_opts o;
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_kms *kms, *home_kms;
    wtkms_config cfg;
    wtkms_err err;
    char *ext, *uri, ts[64], name[1200], sz[32];
    const char *url, *home_cfg, *v;
    unsigned long t, i;
    int ret, n;
    bool any;

    wtkms_err_clear(&err);
    memset(&o, 0, sizeof(o));
    store = NULL;
    kms = home_kms = NULL;
    ext = uri = NULL;
    m = NULL;
    wtkms_config_init(&cfg, "command-line flags");
    if ((ret = wtkms_cli_home(cli, &o.home, &err)) != 0 ||
        (ret = wtkms_snapshot_need_store(cli, &url, &err)) != 0)
        goto err;
    o.no_encryption = wtkms_cli_flag(cli, "no-encryption");
    o.fsync_locked = wtkms_cli_flag(cli, "fsync-locked");
    o.fsync_lock = wtkms_cli_flag(cli, "fsync-lock");
    o.live = wtkms_cli_flag(cli, "live");
    o.clone_dir = wtkms_cli_opt_get(cli, "clone-dir");
    /* --uri-file FILE: a URI with a password (SCRAM), kept out of the process list. */
    if ((ret = wtkms_cli_connection_uri(cli, "uri", &uri, &err)) != 0)
        goto err;
    o.uri = uri;
    o.wt_config = wtkms_cli_opt_get(cli, "wt-config");
    o.ext_path = wtkms_cli_opt_get(cli, "extension");
    home_cfg = wtkms_cli_opt_get(cli, "home-config");
    o.progress = wtkms_cli_progress(cli);
    if ((v = wtkms_cli_opt_get(cli, "oplog-ts")) != NULL) {
        if (sscanf(v, "%lu:%lu%n", &t, &i, &n) != 2 || v[n] != '\0' || t > UINT32_MAX ||
            i > UINT32_MAX) {
            ret = wtkms_errf(&err, EINVAL, "--oplog-ts %s: expected SECONDS:INCREMENT", v);
            goto err;
        }
        o.has_oplog_ts = true;
        o.oplog_t = (uint32_t)t;
        o.oplog_i = (uint32_t)i;
    }
    if ((v = wtkms_cli_opt_get(cli, "chunk-size")) != NULL &&
        wtkms_cli_parse_u32(v, WTKMS_SNAP_CHUNK_MAX, &o.chunk_size) != 0) {
        ret = wtkms_errf(
          &err, EINVAL, "--chunk-size %s: expected 4K .. 4M bytes (K and M suffixes)", v);
        goto err;
    }
    if ((ret = wtkms_cli_compression(cli, &o.compress_level, &err)) != 0)
        goto err;
    o.no_compress = o.compress_level < 0;
    if (o.no_compress)
        o.compress_level = 0;
    wtkms_config_free(&cfg);
    if ((ret = settings(cli, &cfg, o.no_encryption, &err)) != 0 ||
        (ret = wtkms_store_open(url, &cfg, &store, &err)) != 0)
        goto err;
    if (!o.no_encryption) {
        for (any = false, n = 0; n < cfg.n; n++)
            if (!cfg.items[n].used)
                any = true;
        if (!any && cli->config_file == NULL) {
            ret = wtkms_errf(&err, EINVAL,
              "snapshot create: an encrypted snapshot needs a master key: give --config FILE or "
              "provider flags (--key-file PATH for a local key, --provider aws --key-id ... for "
              "AWS KMS), or pass --no-encryption");
            goto err;
        }
        if ((ret = wtkms_kms_open(&cfg, &kms, &err)) != 0)
            goto err;
    }
    if (o.no_encryption)
        for (n = 0; n < cfg.n; n++)
            cfg.items[n].used = true;
    if ((ret = wtkms_config_check_unused(&cfg, &err)) != 0)
        goto err;
    /*
     * The home's keystore is opened by this program's own encryptor with the provider built
     * above (or the --home-config one); the extension's settings string is what a --extension
     * PATH or a --wt-config that lists extensions gets instead.
     */
    if (home_cfg != NULL) {
        if ((ret = wtkms_snapshot_home_kms(home_cfg, &home_kms, &ext, &err)) != 0)
            goto err;
    } else if ((ret = wtkms_snapshot_ext_config(&cfg, &ext, &err)) != 0)
        goto err;
    o.ext_config = ext;
    o.store = store;
    o.kms = kms;
    o.home_kms = home_kms;
    o.local_entry = WTKMS_EXT_LOCAL_ENTRY;
    o.local_offer = wtkms_ext_local_offer;
    if ((ret = wtkms_snapshot_create(&o, &m, &err)) != 0)
        goto err;

    wtkms_manifest_key_name(m, name, sizeof(name));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        wtkms_snapshot_summary(&doc, m, false);
        BSON_APPEND_UTF8(&doc, "store", store->url);
        if (o.fsync_lock || o.live)
            BSON_APPEND_INT64(&doc, "lock_ms", m->lock_ms);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else {
        wtkms_cli_human(m->size, sz, sizeof(sz));
        if (m->has_oplog_ts)
            (void)snprintf(ts, sizeof(ts), ", oplog timestamp %u:%u", m->oplog_t, m->oplog_i);
        else
            ts[0] = '\0';
        (void)fprintf(stderr, "snapshot %s of %s: %u files, %s, encryption key %s%s\n", m->id,
          o.home, m->nfiles, sz, name, ts);
        if (strcmp(m->source_method, "mongod_backup_cursor") == 0)
            (void)fprintf(stderr, "mongod's writes were not blocked (its $backupCursor)\n");
        else if ((o.fsync_lock || o.live) && m->clone_why[0] == '\0')
            (void)fprintf(stderr,
              "mongod's writes were blocked for %" PRId64 " ms (fsyncLock while the files were "
              "cloned)\n",
              m->lock_ms);
        else if (o.fsync_lock || o.live)
            (void)fprintf(stderr,
              "mongod's writes were blocked for %" PRId64 " ms: the files could not be cloned "
              "(%s), so the lock was held while they were read; on XFS or btrfs it is held only "
              "while they are cloned\n",
              m->lock_ms, m->clone_why);
        (void)printf("%s\n", m->id);
    }
    ret = 0;
err:
    if (uri != NULL) {
        wtkms_wipe(uri, strlen(uri));
        free(uri);
    }
    wtkms_manifest_free(m);
    free(ext);
    wtkms_kms_close(home_kms);
    wtkms_kms_close(kms);
    wtkms_store_close(store);
    wtkms_config_free(&cfg);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}

/*
 * open_store_kms --
 *     The store and the provider a snapshot needs: none for an unencrypted snapshot given no
 *     provider settings. A provider that cannot be built (a missing key file, say) is explained
 *     in terms of the snapshot's key.
 */
static int
open_store_kms(wtkms_cli *cli, const char *url, const char *id, wtkms_store **storep,
  wtkms_kms **kmsp, char **extp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_config cfg;
    int ret, n;
    bool any;

    *storep = NULL;
    *kmsp = NULL;
    *extp = NULL;
    m = NULL;
    if ((ret = settings(cli, &cfg, false, err)) != 0 ||
        (ret = wtkms_store_open(url, &cfg, storep, err)) != 0 ||
        (ret = wtkms_snapshot_read_manifest(*storep, id, &m, err)) != 0)
        goto done;
    for (any = false, n = 0; n < cfg.n; n++)
        if (!cfg.items[n].used)
            any = true;
    if (m->encrypted && !any && cli->config_file == NULL) {
        char name[1200];
        wtkms_manifest_key_name(m, name, sizeof(name));
        ret = wtkms_errf(err, EINVAL,
          "snapshot %s is encrypted under master key %s: give that key's provider settings "
          "(--config FILE, or --provider ... flags); nothing was written",
          id, name);
        goto done;
    }
    if ((m->encrypted || any) && (ret = wtkms_kms_open(&cfg, kmsp, err)) != 0) {
        if (m->encrypted)
            ret = wtkms_snapshot_key_error(m, err);
        goto done;
    }
    if ((ret = wtkms_config_check_unused(&cfg, err)) == 0)
        ret = wtkms_snapshot_ext_config(&cfg, extp, err);
done:
    if (ret != 0) {
        wtkms_kms_close(*kmsp);
        wtkms_store_close(*storep);
        *kmsp = NULL;
        *storep = NULL;
    }
    wtkms_manifest_free(m);
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * cmd_verify_restore --
 *     snapshot verify ID, snapshot restore ID --to DIR.
 */
static int
cmd_verify_restore(wtkms_cli *cli, bool restore)
{
    wtkms_snap_restore_opts ro;
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_kms *kms, *home_kms;
    wtkms_err err;
    char sz[32], *ext, *home_ext;
    const char *url = NULL, *id = NULL, *to, *home_cfg;
    int ret;

    wtkms_err_clear(&err);
    memset(&ro, 0, sizeof(ro));
    to = NULL;
    ext = home_ext = NULL;
    home_kms = NULL;
    if ((ret = wtkms_snapshot_one_arg(cli, &id, &err)) != 0 ||
        (ret = wtkms_snapshot_need_store(cli, &url, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (restore && ((to = wtkms_cli_opt_get(cli, "to")) == NULL || to[0] == '\0')) {
        wtkms_errf(&err, EINVAL, "snapshot restore needs --to DIR (a new or empty directory)");
        return (wtkms_cli_fail(cli, &err));
    }
    ro.progress = wtkms_cli_progress(cli);
    ro.allow_unencrypted = wtkms_cli_flag(cli, "allow-unencrypted");
    if (restore) {
        ro.no_recover = wtkms_cli_flag(cli, "no-recover");
        ro.wt_config = wtkms_cli_opt_get(cli, "wt-config");
        ro.ext_path = wtkms_cli_opt_get(cli, "extension");
    }
    if ((home_cfg = wtkms_cli_opt_get(cli, "home-config")) != NULL &&
        (ret = wtkms_snapshot_home_kms(home_cfg, &home_kms, &home_ext, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if ((ret = open_store_kms(cli, url, id, &store, &kms, &ext, &err)) != 0) {
        wtkms_kms_close(home_kms);
        free(home_ext);
        return (wtkms_cli_fail(cli, &err));
    }
    ro.home_kms = home_kms;
    ro.ext_config = home_ext != NULL ? home_ext : ext;
    ret = restore ? wtkms_snapshot_restore(store, id, to, kms, &ro, &m, &err)
                  : wtkms_snapshot_verify(store, id, kms, &ro, &m, &err);
    free(ext);
    free(home_ext);
    wtkms_kms_close(home_kms);
    wtkms_kms_close(kms);
    wtkms_store_close(store);
    if (ret != 0)
        return (wtkms_cli_fail(cli, &err));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "id", m->id);
        if (restore)
            BSON_APPEND_UTF8(&doc, "to", to);
        else
            BSON_APPEND_BOOL(&doc, "verified", true);
        BSON_APPEND_INT32(&doc, "file_count", (int32_t)m->nfiles);
        BSON_APPEND_INT64(&doc, "size", m->size);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else {
        wtkms_cli_human(m->size, sz, sizeof(sz));
        if (restore)
            (void)printf("restored snapshot %s into %s: %u files, %s, every chunk and digest "
                         "checked\n",
              m->id, to, m->nfiles, sz);
        else
            (void)printf("snapshot %s is intact: %u files, %s, every chunk and digest checked\n",
              m->id, m->nfiles, sz);
    }
    wtkms_manifest_free(m);
    return (WTKMS_EXIT_OK);
}

/*
 * cmd_delete --
 *     snapshot delete ID.
 */
static int
cmd_delete(wtkms_cli *cli)
{
    wtkms_store *store;
    wtkms_err err;
    const char *id = NULL;
    int ret;

    wtkms_err_clear(&err);
    if ((ret = wtkms_snapshot_id_store(cli, &id, &store, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (!wtkms_snap_id_valid(id))
        ret = wtkms_errf(&err, EINVAL, "'%s' is not a snapshot id (see 'wtkms snapshot list')", id);
    else
        ret = store->remove(store, id, &err);
    wtkms_store_close(store);
    if (ret != 0)
        return (wtkms_cli_fail(cli, &err));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "id", id);
        BSON_APPEND_BOOL(&doc, "deleted", true);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        (void)printf("deleted snapshot %s\n", id);
    return (WTKMS_EXIT_OK);
}

/*
 * cmd_prune --
 *     snapshot prune --keep-last N | --older-than DURATION.
 */
static int
cmd_prune(wtkms_cli *cli)
{
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_err err, merr;
    bson_t doc, del, kept;
    char **ids, idx[16];
    const char *url, *keep_s, *older_s, *aband_s, *k;
    size_t n, i, ndel, nkept;
    int64_t older_ms, aband_ms, now;
    uint32_t keep;
    bool dry, go, *gone;
    int ret, removed, aborted;

    wtkms_err_clear(&err);
    ids = NULL;
    n = 0;
    keep = 0;
    older_ms = 0;
    keep_s = wtkms_cli_opt_get(cli, "keep-last");
    older_s = wtkms_cli_opt_get(cli, "older-than");
    aband_s = wtkms_cli_opt_get(cli, "abandoned-after");
    dry = wtkms_cli_flag(cli, "dry-run");
    if ((ret = wtkms_snapshot_need_store(cli, &url, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if (keep_s == NULL && older_s == NULL) {
        wtkms_errf(&err, EINVAL,
          "snapshot prune needs --keep-last N or --older-than DURATION (30d, 12h, ...)");
        return (wtkms_cli_fail(cli, &err));
    }
    if (keep_s != NULL && wtkms_cli_parse_u32(keep_s, 1000000, &keep) != 0) {
        wtkms_errf(&err, EINVAL, "--keep-last %s: expected a number", keep_s);
        return (wtkms_cli_fail(cli, &err));
    }
    if (older_s != NULL && wtkms_cli_parse_duration(older_s, &older_ms) != 0) {
        wtkms_errf(&err, EINVAL,
          "--older-than %s: expected a duration such as 90s, 15m, 12h, 30d, 2w", older_s);
        return (wtkms_cli_fail(cli, &err));
    }
    aband_ms = 86400LL * 1000;
    if (aband_s != NULL &&
        (wtkms_cli_parse_duration(aband_s, &aband_ms) != 0 || aband_ms < 3600LL * 1000)) {
        wtkms_errf(&err, EINVAL,
          "--abandoned-after %s: expected a duration of an hour or more (1h, 12h, 2d, ...): a "
          "create running longer than it could lose an upload",
          aband_s);
        return (wtkms_cli_fail(cli, &err));
    }
    if ((ret = wtkms_snapshot_open_store_only(cli, url, &store, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if ((ret = store->list(store, &ids, &n, &err)) != 0) {
        wtkms_store_close(store);
        return (wtkms_cli_fail(cli, &err));
    }
    if ((gone = calloc(n + 1, sizeof(*gone))) == NULL) {
        wtkms_store_free_ids(ids, n);
        wtkms_store_close(store);
        wtkms_errf(&err, ENOMEM, "out of memory");
        return (wtkms_cli_fail(cli, &err));
    }
    now = wtkms_now_ms();
    bson_init(&doc);
    BSON_APPEND_ARRAY_BEGIN(&doc, "deleted", &del);
    ndel = nkept = 0;
    ret = 0;
    /* Newest first: ids sort by creation time. */
    for (i = n; i-- > 0;) {
        go = true;
        if (keep_s != NULL && n - 1 - i < keep)
            go = false;
        if (go && older_s != NULL) {
            wtkms_err_clear(&merr);
            if (wtkms_snapshot_read_manifest(store, ids[i], &m, &merr) != 0) {
                /* Age unknown: keep it; the damage is reported. */
                (void)fprintf(stderr, "wtkms: keeping %s: %s\n", ids[i], merr.msg);
                go = false;
            } else {
                go = m->created_ms < now - older_ms;
                wtkms_manifest_free(m);
            }
        }
        if (!go) {
            nkept++;
            continue;
        }
        if (!dry && (ret = store->remove(store, ids[i], &err)) != 0)
            break;
        gone[i] = true;
        (void)bson_uint32_to_string((uint32_t)ndel++, &k, idx, sizeof(idx));
        BSON_APPEND_UTF8(&del, k, ids[i]);
        if (!cli->json)
            (void)printf("%s %s\n", dry ? "would delete" : "deleted", ids[i]);
    }
    bson_append_array_end(&doc, &del);
    removed = aborted = 0;
    /* Leftovers of interrupted creates and deletes, and their multipart uploads, a day old. */
    if (ret == 0 && !dry)
        ret = store->cleanup(store, aband_ms, &removed, &err);
    if (ret == 0 && store->abort_uploads != NULL)
        ret = store->abort_uploads(store, aband_ms, dry, &aborted, &err);
    BSON_APPEND_ARRAY_BEGIN(&doc, "kept", &kept);
    for (nkept = 0, i = 0; i < n; i++)
        if (!gone[i]) {
            (void)bson_uint32_to_string((uint32_t)nkept++, &k, idx, sizeof(idx));
            BSON_APPEND_UTF8(&kept, k, ids[i]);
        }
    bson_append_array_end(&doc, &kept);
    BSON_APPEND_BOOL(&doc, "dry_run", dry);
    BSON_APPEND_INT32(&doc, "leftovers_removed", removed);
    BSON_APPEND_INT32(&doc, "uploads_aborted", aborted);
    if (ret == 0) {
        if (cli->json)
            wtkms_cli_print_json(&doc);
        else {
            (void)printf("%s %zu snapshot%s, kept %zu\n", dry ? "would delete" : "deleted", ndel,
              ndel == 1 ? "" : "s", nkept);
            if (aborted > 0)
                (void)printf("%s %d abandoned multipart upload%s\n",
                  dry ? "would abort" : "aborted", aborted, aborted == 1 ? "" : "s");
        }
    }
    bson_destroy(&doc);
    free(gone);
    wtkms_store_free_ids(ids, n);
    wtkms_store_close(store);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}

/*
 * wtkms_cmd_snapshot --
 *     The "snapshot" group.
 */
int
wtkms_cmd_snapshot(wtkms_cli *cli)
{
    if (cli->help || cli->command[0] == '\0') {
        (void)fputs(snapshot_usage, stdout);
        return (WTKMS_EXIT_OK);
    }
    if (strcmp(cli->command, "create") == 0)
        return (cmd_create(cli));
    if (strcmp(cli->command, "list") == 0)
        return (wtkms_snapshot_cmd_list(cli));
    if (strcmp(cli->command, "show") == 0)
        return (wtkms_snapshot_cmd_show(cli));
    if (strcmp(cli->command, "verify") == 0)
        return (cmd_verify_restore(cli, false));
    if (strcmp(cli->command, "restore") == 0)
        return (cmd_verify_restore(cli, true));
    if (strcmp(cli->command, "delete") == 0)
        return (cmd_delete(cli));
    if (strcmp(cli->command, "prune") == 0)
        return (cmd_prune(cli));
    (void)fprintf(stderr, "wtkms: unknown command 'snapshot %s'\n%s", cli->command, snapshot_usage);
    return (WTKMS_EXIT_USAGE);
}
