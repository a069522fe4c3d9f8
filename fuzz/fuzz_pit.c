/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pit.c -- the internals of a point-in-time restore over a sequence of oplog entries: each
 * entry's transaction classification (wtkms_txn_classify), the replayability check with its
 * nested applyOps (wtkms_oplog_check_replayable) and the operation as applyOps takes it
 * (wtkms_oplog_op_for_apply, both ways of ui); then the entries saved, through the segmenter, as
 * an unencrypted oplog store in a tmpfs, and over that store the transaction planner
 * (wtkms_txn_plan_build, restore or export), its walk (wtkms_txn_plan_walk) and, for a restore,
 * the replay (wtkms_replay_entry: transaction buffers, applyOps, createIndexes, the ui probe, the
 * messages of a failure part-way).
 *
 * The replay's target is mongoc_client_command_simple, replaced at link time (fuzz/build.sh): it
 * checks that every command is valid BSON, answers listCollections with a fixed collection UUID
 * (the seeds' ui: same ones keep ui, others strip it), and fails the command the input names.
 *
 * Checked: an output of op_for_apply is valid BSON when its entry is; the walk delivers entries in
 * strictly increasing ts (each at most once).
 *
 * Input: u8 flags (bit 0: export plan, else restore; bits 1-2: ui probe, keep, strip; bits 3-7:
 * the replay command that fails, 0 none), u8 segment size (n * 64 + 1 bytes: cuts between
 * entries so that chains cross segments), u8 after, u8 until (indexes into the entries' ts:
 * after 255 is 0, until past the end is the last ts plus the excess), then the entries, BSON
 * documents back to back. Entries the segmenter refuses (no ts, out of order) are left out.
 */
#include <bson/bson.h>
#include <dirent.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "oplog_catalog.h"
#include "oplog_replay.h"
#include "oplog_segmenter.h"
#include "oplog_shape.h"
#include "oplog_store.h"
#include "oplog_txn.h"
#include "oplog_verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool __wrap_mongoc_client_command_simple(mongoc_client_t *client, const char *db_name,
  const bson_t *command, const mongoc_read_prefs_t *read_prefs, bson_t *reply, bson_error_t *error);

#define MAX_ENTRIES 256

static char dir[512];
static int fail_at, commands;

/*
 * __wrap_mongoc_client_command_simple --
 *     The replay target: checks each command, fails the one asked for.
 */
bool
__wrap_mongoc_client_command_simple(mongoc_client_t *client, const char *db_name,
  const bson_t *command, const mongoc_read_prefs_t *read_prefs, bson_t *reply, bson_error_t *error)
{
    static const uint8_t uuid[16] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
    bson_t cursor, batch, coll, info, none;
    size_t off;

    (void)client;
    (void)read_prefs;
    if (reply == NULL)
        reply = &none; /* the ping's */
    bson_init(reply);
    if (db_name == NULL || !bson_validate(command, BSON_VALIDATE_NONE, &off))
        abort(); /* the replay built a damaged command */
    if (++commands == fail_at) {
        bson_set_error(error, MONGOC_ERROR_SERVER, 2, "fuzz: command %d refused", commands);
        if (reply == &none)
            bson_destroy(&none);
        return (false);
    }
    if (bson_has_field(command, "listCollections")) {
        BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cursor);
        BSON_APPEND_ARRAY_BEGIN(&cursor, "firstBatch", &batch);
        BSON_APPEND_DOCUMENT_BEGIN(&batch, "0", &coll);
        BSON_APPEND_DOCUMENT_BEGIN(&coll, "info", &info);
        BSON_APPEND_BINARY(&info, "uuid", BSON_SUBTYPE_UUID, uuid, sizeof(uuid));
        bson_append_document_end(&coll, &info);
        bson_append_document_end(&batch, &coll);
        bson_append_array_end(&cursor, &batch);
        bson_append_document_end(reply, &cursor);
    }
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    if (reply == &none)
        bson_destroy(&none);
    return (true);
}

/*
 * LLVMFuzzerInitialize --
 *     mongoc's global state; the store's directory.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    mongoc_init();
    (void)snprintf(dir, sizeof(dir), "%s/pit", fuzz_tmpdir());
    return (0);
}

/*
 * clear_store --
 *     Remove the previous input's segments and head file.
 */
static void
clear_store(void)
{
    struct dirent *de;
    char path[1024];
    DIR *d;

    if ((d = opendir(dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || (de->d_name[1] != '\0' && de->d_name[1] != '.')) {
            (void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            if (unlink(path) != 0)
                abort(); /* the store is flat */
        }
    (void)closedir(d);
}

/*
 * one_entry --
 *     The per-entry functions, as the planner and the replay apply them.
 */
static void
one_entry(const uint8_t *doc, size_t len, wtkms_ts ts)
{
    wtkms_txn_info info;
    wtkms_err err;
    bson_iter_t it;
    bson_t out;
    const char *op;
    size_t off;
    bool valid;
    int strip;

    (void)wtkms_txn_classify(doc, len, &info);
    memset(&err, 0, sizeof(err));
    if (wtkms_oplog_check_replayable(doc, len, ts, &err) != 0)
        fuzz_note("replayable", err.msg);
    memset(&err, 0, sizeof(err));
    if (!bson_iter_init_from_data(&it, doc, len))
        return;
    op = bson_iter_find(&it, "op") && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
    /* Valid as the restore judges it (bson_validate and every nested document walked). */
    valid = wtkms_oplog_check_replayable(doc, len, ts, &err) == 0 ||
            strstr(err.msg, "is not valid BSON") == NULL;
    for (strip = 0; strip < 2; strip++) {
        bson_init(&out);
        (void)bson_iter_init_from_data(&it, doc, len);
        wtkms_oplog_op_for_apply(&it, op, strip != 0, &out);
        if (valid && !bson_validate(&out, BSON_VALIDATE_NONE, &off))
            abort();
        bson_destroy(&out);
    }
}

typedef struct {
    wtkms_replay *replay;
    wtkms_ts last;
    uint64_t n;
} walk_sink;

/*
 * walk_entry --
 *     What the plan delivers: in ts order, each once, then to the replay.
 */
static int
walk_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    walk_sink *w = arg;

    if (w->n > 0 && ts <= w->last) {
        fprintf(stderr,
          "fuzz: the walk delivered %" PRIu64 ":%" PRIu64 " after %" PRIu64 ":%" PRIu64 "\n",
          ts >> 32, ts & 0xffffffffu, w->last >> 32, w->last & 0xffffffffu);
        abort();
    }
    w->last = ts;
    w->n++;
    return (w->replay != NULL ? wtkms_replay_entry(w->replay, doc, len, ts, err) : 0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     Entries, then the store, the plan, the walk and the replay.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wtkms_ts ts[MAX_ENTRIES];
    wtkms_oplog_store *store;
    wtkms_oplog_catalog cat;
    wtkms_oplog_keys *keys;
    wtkms_segmenter sg;
    wtkms_txn_plan plan;
    wtkms_replay *replay;
    wtkms_plan_mode mode;
    wtkms_ui_mode ui;
    wtkms_err err;
    walk_sink w;
    wtkms_ts after, until;
    uint32_t dlen;
    size_t off, n, nts;
    int64_t term;
    uint8_t flags;
    bool have_cat, have_plan;

    if (size < 4)
        return (0);
    flags = data[0];
    mode = (flags & 1) != 0 ? WTKMS_PLAN_EXPORT : WTKMS_PLAN_RESTORE;
    ui = ((flags >> 1) & 3) == 1   ? WTKMS_UI_KEEP
         : ((flags >> 1) & 3) == 2 ? WTKMS_UI_STRIP
                                   : WTKMS_UI_PROBE;
    fail_at = flags >> 3;
    commands = 0;

    clear_store();
    store = NULL;
    keys = NULL;
    have_cat = have_plan = false;
    memset(&sg, 0, sizeof(sg));
    memset(&err, 0, sizeof(err));
    if (wtkms_oplog_store_open(dir, NULL, true, &store, &err) != 0 ||
        wtkms_segmenter_init(&sg, store, NULL, (uint64_t)data[1] * 64 + 1, 3600, &err) != 0) {
        fprintf(stderr, "fuzz: store %s: %s\n", dir, err.msg);
        abort();
    }
    for (off = 4, n = nts = 0; off + 4 <= size && n < MAX_ENTRIES; off += dlen, n++) {
        memcpy(&dlen, data + off, 4);
        dlen = BSON_UINT32_FROM_LE(dlen);
        if (dlen < 5 || dlen > size - off)
            break;
        if (wtkms_oplog_entry_ts(data + off, dlen, &ts[nts], &term) != 0)
            continue;
        one_entry(data + off, dlen, ts[nts]);
        if (wtkms_segmenter_add(&sg, data + off, dlen, &err) != 0) {
            fuzz_note("add", err.msg);
            continue;
        }
        nts++;
    }
    if (wtkms_segmenter_flush(&sg, &err) != 0) {
        fuzz_note("flush", err.msg);
        goto done;
    }
    if (nts == 0)
        goto done;
    after = data[2] == 255 ? 0 : data[2] < nts ? ts[data[2]] : ts[nts - 1];
    until = data[3] < nts ? ts[data[3]] : ts[nts - 1] + (data[3] - nts);

    if (wtkms_oplog_catalog_load(store, &cat, &err) != 0) {
        fuzz_note("catalog", err.msg);
        goto done;
    }
    have_cat = true;
    if ((keys = wtkms_oplog_keys_new(NULL)) == NULL)
        abort();
    if (wtkms_oplog_check_ends(&cat, keys, 0, NULL, &err) != 0)
        fuzz_note("ends", err.msg);
    if (wtkms_oplog_catalog_check(&cat, after, until, "fuzz", &err) != 0) {
        fuzz_note("range", err.msg);
        goto done;
    }
    if (wtkms_txn_plan_build(&cat, keys, after, until, mode, &plan, &err) != 0) {
        fuzz_note("plan", err.msg);
        goto done;
    }
    have_plan = true;
    (void)snprintf(err.msg, sizeof(err.msg),
      "%" PRIu64 " commits, %zu parts kept (%" PRIu64 " early), %zu late, %zu excluded, %" PRIu64
      " dropped, %" PRIu64 " aborted",
      plan.commits, plan.nkeep, plan.early_parts, plan.nlate, plan.nexcluded, plan.dropped_parts,
      plan.aborted);
    fuzz_note("plan", err.msg);
    replay = NULL;
    if (mode == WTKMS_PLAN_RESTORE &&
        wtkms_replay_open(
          "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=1", &plan, ui, &replay, &err) != 0) {
        fuzz_note("replay open", err.msg);
        goto done;
    }
    memset(&w, 0, sizeof(w));
    w.replay = replay;
    if (wtkms_txn_plan_walk(&cat, keys, &plan, walk_entry, &w, &err) != 0)
        fuzz_note("walk", err.msg);
    else if (replay != NULL) {
        uint64_t applied, skipped, txns;
        wtkms_replay_stats(replay, &applied, &skipped, &txns);
        (void)snprintf(err.msg, sizeof(err.msg),
          "%" PRIu64 " delivered; replay: %" PRIu64 " applied, %" PRIu64 " skipped, %" PRIu64
          " transactions",
          w.n, applied, skipped, txns);
        fuzz_note("walk", err.msg);
    } else
        fuzz_note("walk", NULL);
    wtkms_replay_close(replay);

done:
    if (have_plan)
        wtkms_txn_plan_free(&plan);
    if (have_cat)
        wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_keys_free(keys);
    wtkms_segmenter_free(&sg);
    wtkms_oplog_store_close(store);
    return (0);
}
