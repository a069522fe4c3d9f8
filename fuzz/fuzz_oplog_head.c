/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_oplog_head.c -- an oplog store's head file (oplog.head) and the catalog built from it and
 * the segment headers: read_head, catalog_load, the range, the check every export runs, the gap
 * count. The store holds the three seed segments (fuzz/corpus/oplog_segment) beside the head.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "oplog_catalog.h"
#include "oplog_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wtkms_oplog_store *store;

/*
 * LLVMFuzzerInitialize --
 *     The store with the seed segments.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const segs[] = { "encrypted", "clear", "gap-encrypted" };
    wtkms_err err;
    uint8_t *seg;
    char dir[512], rel[600], name[WTKMS_SEG_NAME_LEN];
    size_t i, len;

    (void)argc;
    (void)argv;
    (void)snprintf(dir, sizeof(dir), "%s/oplog", fuzz_tmpdir());
    if (wtkms_oplog_store_open(dir, NULL, true, &store, &err) != 0)
        abort();
    for (i = 0; i < 3; i++) {
        (void)snprintf(rel, sizeof(rel), "corpus/oplog_segment/%s", segs[i]);
        seg = fuzz_read_repo_file(rel, &len);
        wtkms_seg_name(i + 1, name, sizeof(name));
        (void)snprintf(rel, sizeof(rel), "oplog/%s", name);
        (void)fuzz_write_file(rel, seg, len);
        free(seg);
    }
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One head file.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_oplog_catalog cat;
    wtkms_oplog_head head;
    wtkms_err err;
    wtkms_ts first, last;

    (void)fuzz_write_file("oplog/oplog.head", data, size);
    fuzz_note("head", wtkms_oplog_store_read_head(store, &head, &err) == 0 ? NULL : err.msg);
    memset(&cat, 0, sizeof(cat));
    if (wtkms_oplog_catalog_load(store, &cat, &err) != 0)
        fuzz_note("catalog", err.msg);
    else {
        wtkms_oplog_catalog_range(&cat, &first, &last);
        (void)wtkms_oplog_catalog_check(&cat, 0, last, "fuzz export", &err);
        cat.allow_gaps = true;
        (void)wtkms_oplog_catalog_check(&cat, first, WTKMS_TS_MAX, "fuzz export", &err);
        (void)wtkms_oplog_catalog_gaps_in(&cat, 0, WTKMS_TS_MAX);
        wtkms_oplog_catalog_free(&cat);
    }
    return (0);
}
