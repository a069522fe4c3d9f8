/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_compact.c -- "wtkms keys compact": retire the keystore records no block can name any more
 * (src/keystore/ks_compact.c), online-safe under the keystore lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "source.h"

/*
 * home_live --
 *     Whether a process has the home open (holds WiredTiger.lock).
 */
static bool
home_live(const char *home)
{
    return (wtkms_source_lock_holder(home) != 0);
}

/*
 * wtkms_cmd_keys_compact --
 *     keys compact --home DIR [--scan DIR ...] [--dry-run] [provider flags].
 */
int
wtkms_cmd_keys_compact(wtkms_cli *cli)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    wtkms_ks_scan sc;
    wtkms_ks_compact c;
    const char *dirs[WTKMS_CLI_MAX_OPTS + 1];
    size_t ndirs;
    bson_t doc;
    int j, ret;

    wtkms_err_clear(&err);
    memset(&sc, 0, sizeof(sc));
    memset(&c, 0, sizeof(c));
    ks = NULL;
    kms = NULL;
    c.dry_run = wtkms_cli_flag(cli, "dry-run");
    /* The home first, then every --scan DIR (a journal or data kept outside the home). */
    ndirs = 1;
    for (j = 0; j < cli->nopts; j++)
        if (strcmp(cli->opts[j].name, "scan") == 0) {
            cli->opts[j].used = true;
            dirs[ndirs++] = cli->opts[j].value;
        }
    if ((ret = wtkms_keys_open_current(cli, false, &ks, NULL, &kms, NULL, &err)) != 0)
        goto err;
    dirs[0] = cli->home;
    if ((ret = wtkms_keystore_scan(ks, dirs, ndirs, &sc, &err)) != 0) {
        wtkms_err_prefix(&err, "keys compact: scanning the files that may hold blocks");
        goto err;
    }
    c.scan = &sc;
    c.home = cli->home;
    c.is_live = home_live;
    if ((ret = wtkms_keystore_update(ks, wtkms_keystore_compact_change, &c, &err)) != 0)
        goto err;
    if (cli->json) {
        bson_init(&doc);
        BSON_APPEND_UTF8(&doc, "keystore", ks->path);
        BSON_APPEND_BOOL(&doc, "dry_run", c.dry_run);
        BSON_APPEND_INT32(&doc, "removed_data_keys", (int32_t)c.removed_roots);
        BSON_APPEND_INT32(&doc, "removed_opens", (int32_t)c.removed_opens);
        BSON_APPEND_INT32(&doc, "kept_data_keys", (int32_t)c.kept_roots);
        BSON_APPEND_INT32(&doc, "kept_opens", (int32_t)c.kept_opens);
        BSON_APPEND_INT64(&doc, "scanned_files", (int64_t)sc.files);
        BSON_APPEND_INT64(&doc, "scanned_bytes", (int64_t)sc.bytes);
        BSON_APPEND_INT64(&doc, "generation", (int64_t)ks->gen);
        wtkms_cli_print_json(&doc);
        bson_destroy(&doc);
    } else
        (void)printf("%s %s: %u data key%s and %u open record%s no block names%s; kept %u and %u "
                     "(%llu files, %llu bytes scanned)\n",
          c.dry_run ? "would compact" : "compacted", ks->path, c.removed_roots,
          c.removed_roots == 1 ? "" : "s", c.removed_opens, c.removed_opens == 1 ? "" : "s",
          c.dry_run ? "" : " removed", c.kept_roots, c.kept_opens, (unsigned long long)sc.files,
          (unsigned long long)sc.bytes);
err:
    wtkms_keystore_scan_free(&sc);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    return (ret == 0 ? WTKMS_EXIT_OK : wtkms_cli_fail(cli, &err));
}
