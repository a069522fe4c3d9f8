/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_list.c -- "wtkms oplog list": every segment of a store from its header, as a table or
 * JSON (no key needed).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "clock.h"
#include "oplog_catalog.h"
#include "oplog_cli.h"

/*
 * ts_cell --
 *     "SECS:INC ISO-TIME" for the list table.
 */
static void
ts_cell(wtkms_ts ts, char *out, size_t outlen)
{
    char s[24], when[32];

    wtkms_ts_str(ts, s, sizeof(s));
    wtkms_iso_time((int64_t)WTKMS_TS_SECS(ts) * 1000, when, sizeof(when));
    (void)snprintf(out, outlen, "%.23s %.31s", s, when);
}

/*
 * wtkms_oplog_cmd_list --
 *     wtkms oplog list.
 */
int
wtkms_oplog_cmd_list(wtkms_cli *cli)
{
    wtkms_oplog_catalog cat;
    wtkms_oplog_store *store;
    wtkms_oplog_seginfo *si;
    wtkms_err err;
    bson_t out, segs, gaps, probs, d;
    wtkms_ts first, last;
    char key[24], kid[1200], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], created[32], run[33];
    uint64_t entries, bytes, plain, ngaps, nseg;
    size_t i;
    int ret;

    wtkms_err_clear(&err);
    store = NULL;
    memset(&cat, 0, sizeof(cat));
    if ((ret = wtkms_oplog_cli_store(cli, false, &store, &err)) != 0 ||
        (ret = wtkms_cli_check_unused(cli, &err)) != 0 ||
        (ret = wtkms_oplog_catalog_load(store, &cat, &err)) != 0)
        goto err;
    wtkms_oplog_catalog_range(&cat, &first, &last);
    entries = bytes = plain = ngaps = nseg = 0;
    bson_init(&out);
    bson_init(&segs);
    bson_init(&gaps);
    bson_init(&probs);
    if (!cli->json)
        (void)printf("%-8s %-7s %-36s %-36s %8s %10s %10s  %s\n", "SEGMENT", "KIND",
          "FIRST (TS, UTC)", "LAST (TS, UTC)", "ENTRIES", "SIZE", "STORED", "ENCRYPTION KEY ID");
    for (i = 0; i < cat.n; i++) {
        si = &cat.segs[i];
        (void)snprintf(key, sizeof(key), "%zu", i);
        if (!si->ok) {
            if (!cli->json)
                (void)printf("%-8" PRIu64 " DAMAGED  %s\n", si->seq, si->problem);
            bson_init(&d);
            BSON_APPEND_INT64(&d, "seq", (int64_t)si->seq);
            BSON_APPEND_UTF8(&d, "problem", si->problem);
            (void)snprintf(key, sizeof(key), "%zu", (size_t)(bson_count_keys(&probs)));
            BSON_APPEND_DOCUMENT(&probs, key, &d);
            bson_destroy(&d);
            continue;
        }
        nseg++;
        bytes += si->file_len;
        plain += si->h.plain_len;
        wtkms_seg_key_id(&si->h, kid, sizeof(kid));
        wtkms_iso_time(si->h.created_ms, created, sizeof(created));
        wtkms_hex(si->h.run, 16, run);
        bson_init(&d);
        BSON_APPEND_INT64(&d, "seq", (int64_t)si->seq);
        {
            char name[WTKMS_SEG_NAME_LEN];
            wtkms_seg_name(si->seq, name, sizeof(name));
            BSON_APPEND_UTF8(&d, "file", name);
        }
        BSON_APPEND_UTF8(&d, "kind", si->h.kind == WTKMS_SEG_GAP ? "gap" : "entries");
        if (si->h.kind == WTKMS_SEG_ENTRIES) {
            entries += si->h.count;
            wtkms_cli_ts_json(&d, "first_ts", si->h.first_ts);
            wtkms_cli_ts_json(&d, "last_ts", si->h.last_ts);
            ts_cell(si->h.first_ts, a, sizeof(a));
            ts_cell(si->h.last_ts, b, sizeof(b));
        } else {
            ngaps++;
            wtkms_cli_ts_json(&d, "gap_from", si->h.gap_from);
            wtkms_cli_ts_json(&d, "gap_to", si->h.gap_to);
            ts_cell(si->h.gap_from, a, sizeof(a));
            ts_cell(si->h.gap_to, b, sizeof(b));
        }
        BSON_APPEND_INT64(&d, "entries", (int64_t)si->h.count);
        BSON_APPEND_INT64(&d, "bytes", (int64_t)si->file_len);
        BSON_APPEND_INT64(&d, "size", (int64_t)si->h.plain_len);
        BSON_APPEND_INT64(&d, "stored_size", (int64_t)si->file_len);
        BSON_APPEND_UTF8(&d, "compression", si->h.compressed ? "zstd" : "none");
        BSON_APPEND_UTF8(&d, "encryption_key_id", kid);
        BSON_APPEND_UTF8(&d, "created", created);
        BSON_APPEND_UTF8(&d, "run", run);
        (void)snprintf(key, sizeof(key), "%zu", (size_t)bson_count_keys(&segs));
        BSON_APPEND_DOCUMENT(&segs, key, &d);
        if (si->h.kind == WTKMS_SEG_GAP) {
            (void)snprintf(key, sizeof(key), "%zu", (size_t)bson_count_keys(&gaps));
            BSON_APPEND_DOCUMENT(&gaps, key, &d);
        }
        bson_destroy(&d);
        if (!cli->json)
            (void)printf("%-8" PRIu64 " %-7s %-36s %-36s %8" PRIu64 " %10" PRIu64 " %10" PRIu64
                         "  %s\n",
              si->seq, si->h.kind == WTKMS_SEG_GAP ? "GAP" : "entries", a, b, si->h.count,
              si->h.plain_len, si->file_len,
              si->h.kind == WTKMS_SEG_GAP ? "(entries in between were lost)" : kid);
    }
    /* Missing segments show from the headers alone: say so here, verify tells the rest. */
    for (i = 0; i <= cat.n; i++) {
        uint64_t want = i == 0 ? 1 : cat.segs[i - 1].seq + 1;
        uint64_t have = i < cat.n ? cat.segs[i].seq : (cat.have_head ? cat.head.seq + 1 : want);
        char msg[256];
        if (have <= want)
            continue;
        if (have == want + 1)
            (void)snprintf(msg, sizeof(msg), "segment %" PRIu64 " is missing%s", want,
              i == cat.n ? " (the newest, named by oplog.head)" : "");
        else
            (void)snprintf(msg, sizeof(msg), "segments %" PRIu64 " to %" PRIu64 " are missing%s",
              want, have - 1, i == cat.n ? " (the newest, named by oplog.head)" : "");
        if (!cli->json)
            (void)printf("%-8" PRIu64 " MISSING  %s: run 'wtkms oplog verify'\n", want, msg);
        bson_init(&d);
        BSON_APPEND_INT64(&d, "seq", (int64_t)want);
        BSON_APPEND_UTF8(&d, "problem", msg);
        (void)snprintf(key, sizeof(key), "%zu", (size_t)bson_count_keys(&probs));
        BSON_APPEND_DOCUMENT(&probs, key, &d);
        bson_destroy(&d);
    }
    if (cli->json) {
        BSON_APPEND_UTF8(&out, "store", wtkms_oplog_store_where(store));
        BSON_APPEND_INT64(&out, "segments", (int64_t)nseg);
        BSON_APPEND_INT64(&out, "entries", (int64_t)entries);
        BSON_APPEND_INT64(&out, "bytes", (int64_t)bytes);
        BSON_APPEND_INT64(&out, "size", (int64_t)plain);
        BSON_APPEND_INT64(&out, "stored_size", (int64_t)bytes);
        if (first != 0) {
            wtkms_cli_ts_json(&out, "first_ts", first);
            wtkms_cli_ts_json(&out, "last_ts", last);
        }
        BSON_APPEND_ARRAY(&out, "list", &segs);
        BSON_APPEND_ARRAY(&out, "gaps", &gaps);
        BSON_APPEND_ARRAY(&out, "problems", &probs);
        wtkms_cli_print_json(&out);
    } else {
        if (first != 0) {
            wtkms_ts_str_long(first, a, sizeof(a));
            wtkms_ts_str_long(last, b, sizeof(b));
            (void)printf("%" PRIu64 " segments, %" PRIu64 " entries, %" PRIu64 " bytes (%" PRIu64
                         " stored), covering %s to %s, %" PRIu64 " gap%s\n",
              nseg, entries, plain, bytes, a, b, ngaps, ngaps == 1 ? "" : "s");
        } else
            (void)printf("no oplog entries in %s\n", wtkms_oplog_store_where(store));
    }
    bson_destroy(&out);
    bson_destroy(&segs);
    bson_destroy(&gaps);
    bson_destroy(&probs);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (WTKMS_EXIT_OK);
err:
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
    return (wtkms_cli_fail(cli, &err));
}
