/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_list.c -- "wtkms snapshot list|show": a store's snapshots as a table or JSON, and the
 * argument helpers every snapshot command shares (snapshot_cli.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "snapshot.h"
#include "snapshot_cli.h"

/*
 * wtkms_snapshot_one_arg --
 *     The snapshot id (the one positional argument).
 */
int
wtkms_snapshot_one_arg(wtkms_cli *cli, const char **idp, wtkms_err *err)
{
    if (cli->nargs != 1)
        return (wtkms_errf(err, EINVAL,
          "snapshot %s needs one snapshot ID (see 'wtkms snapshot "
          "list')",
          cli->command));
    *idp = cli->args[0];
    return (0);
}

/*
 * wtkms_snapshot_need_store --
 *     --store, required.
 */
int
wtkms_snapshot_need_store(wtkms_cli *cli, const char **urlp, wtkms_err *err)
{
    if ((*urlp = wtkms_cli_opt_get(cli, "store")) == NULL || (*urlp)[0] == '\0')
        return (wtkms_errf(
          err, EINVAL, "snapshot %s needs --store DIR or s3://BUCKET/PREFIX", cli->command));
    return (0);
}

/*
 * wtkms_snapshot_open_store_only --
 *     The store of a command that needs no master key.
 */
int
wtkms_snapshot_open_store_only(
  wtkms_cli *cli, const char *url, wtkms_store **storep, wtkms_err *err)
{
    wtkms_config cfg;
    int ret;

    *storep = NULL;
    if ((ret = wtkms_cli_settings(cli, "", true, &cfg, err)) == 0 &&
        (ret = wtkms_store_open(url, &cfg, storep, err)) == 0 &&
        (ret = wtkms_config_check_unused(&cfg, err)) != 0) {
        wtkms_store_close(*storep);
        *storep = NULL;
    }
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * wtkms_snapshot_id_store --
 *     The snapshot id and the store of a command that needs no master key (show, delete).
 */
int
wtkms_snapshot_id_store(wtkms_cli *cli, const char **idp, wtkms_store **storep, wtkms_err *err)
{
    const char *url;
    int ret;

    if ((ret = wtkms_snapshot_one_arg(cli, idp, err)) != 0 ||
        (ret = wtkms_snapshot_need_store(cli, &url, err)) != 0)
        return (ret);
    return (wtkms_snapshot_open_store_only(cli, url, storep, err));
}

/*
 * wtkms_snapshot_cmd_list --
 *     snapshot list.
 */
int
wtkms_snapshot_cmd_list(wtkms_cli *cli)
{
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_err err, merr;
    bson_t arr, doc;
    char **ids, idx[16], when[32], sz[32], stored[32], name[1200];
    const char *url, *k;
    size_t n, i;
    int ret, bad;

    wtkms_err_clear(&err);
    ids = NULL;
    n = 0;
    if ((ret = wtkms_snapshot_need_store(cli, &url, &err)) != 0 ||
        (ret = wtkms_snapshot_open_store_only(cli, url, &store, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    if ((ret = store->list(store, &ids, &n, &err)) != 0) {
        wtkms_store_close(store);
        return (wtkms_cli_fail(cli, &err));
    }
    bson_init(&arr);
    if (!cli->json)
        (void)printf(WTKMS_TABLE_SNAPSHOTS, "ID", "CREATED", "SIZE", "STORED", "ENCRYPTION KEY ID");
    for (bad = 0, i = 0; i < n; i++) {
        wtkms_err_clear(&merr);
        (void)bson_uint32_to_string((uint32_t)i, &k, idx, sizeof(idx));
        if (wtkms_snapshot_read_manifest(store, ids[i], &m, &merr) != 0) {
            bad++;
            (void)fprintf(stderr, "wtkms: %s\n", merr.msg);
            if (cli->json) {
                BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &doc);
                BSON_APPEND_UTF8(&doc, "id", ids[i]);
                BSON_APPEND_NULL(&doc, "created");
                BSON_APPEND_NULL(&doc, "size");
                BSON_APPEND_NULL(&doc, "stored_size");
                BSON_APPEND_NULL(&doc, "encryption_key_id");
                BSON_APPEND_UTF8(&doc, "error", merr.msg);
                bson_append_document_end(&arr, &doc);
            } else
                (void)printf(WTKMS_TABLE_SNAPSHOTS, ids[i], "?", "?", "?", "(damaged manifest)");
            continue;
        }
        if (cli->json) {
            BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &doc);
            wtkms_snapshot_summary(&doc, m, false);
            bson_append_document_end(&arr, &doc);
        } else {
            wtkms_iso_time(m->created_ms, when, sizeof(when));
            wtkms_cli_human(m->size, sz, sizeof(sz));
            wtkms_cli_human(m->stored_size, stored, sizeof(stored));
            wtkms_manifest_key_name(m, name, sizeof(name));
            (void)printf(WTKMS_TABLE_SNAPSHOTS, m->id, when, sz, stored, name);
        }
        wtkms_manifest_free(m);
    }
    if (cli->json)
        wtkms_cli_print_json_array(&arr);
    bson_destroy(&arr);
    wtkms_store_free_ids(ids, n);
    wtkms_store_close(store);
    return (bad > 0 ? WTKMS_EXIT_INTEGRITY : WTKMS_EXIT_OK);
}

/*
 * wtkms_snapshot_cmd_show --
 *     snapshot show ID.
 */
int
wtkms_snapshot_cmd_show(wtkms_cli *cli)
{
    wtkms_snap_manifest *m;
    wtkms_store *store;
    wtkms_err err;
    char when[32], sz[32], name[1200], hex[2 * WTKMS_SHA256_LEN + 1];
    const char *id = NULL;
    uint32_t i;
    int ret;

    wtkms_err_clear(&err);
    if ((ret = wtkms_snapshot_id_store(cli, &id, &store, &err)) != 0)
        return (wtkms_cli_fail(cli, &err));
    ret = wtkms_snapshot_read_manifest(store, id, &m, &err);
    wtkms_store_close(store);
    if (ret != 0)
        return (wtkms_cli_fail(cli, &err));
    if (cli->json) {
        bson_t doc = BSON_INITIALIZER;
        wtkms_snapshot_summary(&doc, m, true);
        BSON_APPEND_BOOL(&doc, "authenticated", m->authenticated);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else {
        wtkms_iso_time(m->created_ms, when, sizeof(when));
        wtkms_cli_human(m->size, sz, sizeof(sz));
        wtkms_manifest_key_name(m, name, sizeof(name));
        (void)printf("snapshot:          %s\n", m->id);
        (void)printf("created:           %s\n", when);
        (void)printf("source:            %s:%s (%s)\n", m->source_host, m->source_path,
          strcmp(m->source_method, "backup_cursor") == 0
            ? "WiredTiger backup cursor"
            : "files of a stopped or fsync-locked mongod");
        (void)printf("WiredTiger:        %s\n", m->wt_version);
        (void)printf("size:              %s (%lld bytes in %u files; %lld bytes stored)\n", sz,
          (long long)m->size, m->nfiles, (long long)m->stored_size);
        if (m->compress_level > 0)
            (void)printf("compression:       zstd level %d (format %d)\n", m->compress_level,
              m->format_version);
        else
            (void)printf("compression:       none (format %d)\n", m->format_version);
        (void)printf("encryption key id: %s\n", name);
        for (i = 0; m->has_keystore && i < m->n_keystore_cmks; i++) {
            wtkms_kms_desc_name(&m->keystore_cmks[i], name, sizeof(name));
            (void)printf("keystore key:      %s (wraps the keystore inside the snapshot)\n", name);
        }
        if (!m->has_keystore)
            (void)printf("keystore key:      none (the home has no wtkms keystore)\n");
        if (m->has_oplog_ts)
            (void)printf("oplog timestamp:   %u:%u\n", m->oplog_t, m->oplog_i);
        (void)printf("files:\n");
        for (i = 0; i < m->nfiles; i++) {
            wtkms_hex(m->files[i].sha256, 8, hex);
            wtkms_cli_human(m->files[i].size, sz, sizeof(sz));
            (void)printf("  %-40s %10s  sha256 %s...\n", m->files[i].name, sz, hex);
        }
        if (!m->authenticated)
            (void)printf("(read without the key: 'wtkms snapshot verify' authenticates it)\n");
    }
    wtkms_manifest_free(m);
    return (WTKMS_EXIT_OK);
}
