/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pit.c -- "wtkms pit restore": a snapshot plus the saved oplog up to a chosen time.
 *
 * The snapshot's oplog time T0 must name an entry the store holds (same ts, and the same term
 * when the snapshot recorded one), so a snapshot of another replica set, a mistyped --oplog-ts or
 * a T0 that was rolled back is refused before anything is written. The transaction planner
 * (src/oplog/oplog_txn.c) decides every transaction before anything is written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "oplog_catalog.h"
#include "oplog_cli.h"
#include "oplog_export.h"
#include "oplog_replay.h"
#include "oplog_txn.h"
#include "oplog_verify.h"
#include "snapshot.h"

static const char pit_usage[] =
  "usage:\n"
  "  wtkms pit restore --snapshot ID --store SNAPSTORE --oplog-store DIR --until TS\n"
  "                    (--to DIR [--oplog-out FILE] | --target URI | --target-file FILE |\n"
  "                    both) [--preserve-uuid] [--expect-last TS] [--allow-unencrypted]\n"
  "                    [--no-recover] [--wt-config STRING] [--home-config FILE]\n"
  "                    [--key-config FILE ...] [--json] [provider flags]\n"
  "Restores the snapshot into DIR and writes the oplog after the snapshot's time up to and\n"
  "including TS to DIR-oplog/oplog.bson (mongorestore --oplogReplay --dir DIR-oplog), and/or\n"
  "replays it into the running mongod at URI with applyOps. TS: SECS:INC, SECS or\n"
  "YYYY-MM-DDTHH:MM:SSZ. Collection UUIDs (ui) are kept when the target runs on the snapshot's\n"
  "files (what --to restored; --preserve-uuid says so; otherwise the target is asked) and\n"
  "stripped for a rebuilt target. Across a master-key rotation, give each key's provider\n"
  "settings: the provider flags or --config for one, --key-config FILE for each other one; each\n"
  "snapshot and segment is read with the key it records.\n";

/*
 * pit_settings --
 *     Every flag the command did not take, as settings for the snapshot store and the provider.
 */
static int
pit_settings(wtkms_cli *cli, wtkms_config *cfg, wtkms_err *err)
{
    return (wtkms_cli_settings(cli, "", false, cfg, err));
}

typedef struct {
    wtkms_bson_out *out;
    wtkms_replay *replay;
    uint64_t entries;
} pit_sink;

/*
 * pit_entry --
 *     Each entry the plan keeps: into oplog.bson, into the target, or both.
 */
static int
pit_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    pit_sink *s = arg;
    int ret;

    s->entries++;
    if (s->out != NULL && (ret = wtkms_bson_out_write(s->out, doc, len, err)) != 0)
        return (ret);
    if (s->replay != NULL && (ret = wtkms_replay_entry(s->replay, doc, len, ts, err)) != 0)
        return (ret);
    return (0);
}

typedef struct {
    wtkms_ts want;
    bool found;
    int64_t term;
} t0_find;

/*
 * t0_entry --
 *     The entry at T0, if the store holds it.
 */
static int
t0_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    t0_find *f = arg;
    wtkms_ts ets;

    (void)err;
    if (ts == f->want && wtkms_oplog_entry_ts(doc, len, &ets, &f->term) == 0)
        f->found = true;
    return (0);
}

/*
 * check_t0 --
 *     The snapshot's T0 must be an entry of this store: the oplog takes over exactly there. A T0
 *     that names no saved entry is a snapshot of another replica set, a mistyped --oplog-ts, or a
 *     newest entry that was later rolled back; restoring from it would silently differ.
 */
static int
check_t0(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, const char *id,
  const wtkms_snap_manifest *m, wtkms_ts t0, wtkms_err *err)
{
    t0_find f;
    char a[WTKMS_TS_STRLEN];
    size_t i;
    int ret;

    /*
     * The replica set the snapshot was read from, and the one whose history the store holds (a
     * tap keeps one replica set per store; its segments name it).
     */
    for (i = 0; m->oplog_rs[0] != '\0' && i < cat->n; i++) {
        const wtkms_seg_header *h = &cat->segs[i].h;
        if (cat->segs[i].ok && h->rs[0] != '\0' && strcmp(h->rs, m->oplog_rs) != 0)
            return (wtkms_errf(err, ERANGE,
              "snapshot %s was taken from replica set %s, but oplog store %s holds the history of "
              "replica set %s: use a snapshot of the replica set this store taps",
              id, m->oplog_rs, wtkms_oplog_store_where(cat->store), h->rs));
    }
    memset(&f, 0, sizeof(f));
    f.want = t0;
    f.term = -1;
    if ((ret = wtkms_oplog_scan(cat, keys, t0 - 1, t0, t0_entry, &f, err)) != 0)
        return (ret);
    wtkms_ts_str(t0, a, sizeof(a));
    if (!f.found)
        return (wtkms_errf(err, ERANGE,
          "snapshot %s was taken at oplog time %s, but oplog store %s holds no entry at %s: the "
          "snapshot is of another replica set, its --oplog-ts was mistyped, or that entry was "
          "rolled back after the snapshot; use a snapshot of the replica set this store taps",
          id, a, wtkms_oplog_store_where(cat->store), a));
    if (m->oplog_term >= 0 && f.term >= 0 && f.term != m->oplog_term)
        return (wtkms_errf(err, ERANGE,
          "snapshot %s was taken at oplog time %s in term %" PRId64 ", but the entry oplog store "
          "%s holds at %s has term %" PRId64 ": it is not the same history (another replica set, "
          "or the snapshot's entry was rolled back); use a snapshot of the replica set this store "
          "taps",
          id, a, m->oplog_term, wtkms_oplog_store_where(cat->store), a, f.term));
    return (0);
}

/* The providers of one pit restore. */
typedef struct {
    wtkms_kms_ring *ring; /* --config/flags and each --key-config FILE */
    wtkms_kms *snap_kms;  /* the snapshot key's (owned by ring), NULL when none is configured */
    wtkms_kms *home_kms;  /* --home-config FILE's */
    char *main_ext, *home_ext;
} pit_keyset;

/*
 * pit_keys --
 *     Build the providers, and find the ones for the snapshot's key and for the keystore inside
 *     it by what the manifest records (segments: wtkms_oplog_keys_use_ring). Before any KMS call:
 *     finding compares descriptors only.
 */
static int
pit_keys(wtkms_cli *cli, wtkms_config *cfg, bool need_kms, const wtkms_snap_manifest *m,
  const char *home_cfg, pit_keyset *ks, wtkms_snap_restore_opts *ro, wtkms_err *err)
{
    wtkms_kms *kms;
    wtkms_err e2;
    const char *ext;
    bool main_given;
    uint32_t i;
    int n, ret;

    main_given = cli->config_file != NULL;
    for (n = 0; n < cfg->n; n++)
        main_given = main_given || !cfg->items[n].used;
    if (need_kms && (main_given || wtkms_kms_ring_count(ks->ring) == 0)) {
        if ((ret = wtkms_kms_open(cfg, &kms, err)) != 0)
            return (ret);
        if ((ret = wtkms_config_check_unused(cfg, err)) != 0 ||
            (ret = wtkms_snapshot_ext_config(cfg, &ks->main_ext, err)) != 0) {
            wtkms_kms_close(kms);
            return (ret);
        }
        if ((ret = wtkms_kms_ring_add(ks->ring, kms,
               cli->config_file != NULL ? "--config" : "the provider flags", ks->main_ext, err)) !=
            0)
            return (ret);
    } else if ((ret = wtkms_config_check_unused(cfg, err)) != 0)
        return (ret);
    if (home_cfg != NULL &&
        (ret = wtkms_snapshot_home_kms(home_cfg, &ks->home_kms, &ks->home_ext, err)) != 0)
        return (ret);

    ext = ks->main_ext;
    if (m->encrypted) {
        if ((ret = wtkms_kms_ring_find(ks->ring, &m->key, &ks->snap_kms, &ext, err)) != 0)
            return (wtkms_err_prefix(err, "snapshot %s", m->id));
    } else
        ks->snap_kms = wtkms_kms_ring_first(ks->ring);
    ro->ext_config = ext;
    if (ks->home_kms != NULL) {
        ro->home_kms = ks->home_kms;
        ro->ext_config = ks->home_ext;
    } else if (m->has_keystore && wtkms_kms_ring_count(ks->ring) > 0) {
        /* The restored home opens under any master key that wraps its keystore. */
        for (i = 0; i < m->n_keystore_cmks; i++) {
            wtkms_err_clear(&e2);
            if (wtkms_kms_ring_find(ks->ring, &m->keystore_cmks[i], &kms, &ext, &e2) == 0)
                break;
        }
        if (i == m->n_keystore_cmks) {
            if ((ret = wtkms_kms_ring_find(ks->ring, &m->keystore_cmk, &kms, &ext, err)) != 0)
                return (wtkms_err_prefix(err, "snapshot %s: the keystore inside it", m->id));
        }
        ro->home_kms = kms;
        ro->ext_config = ext;
    }
    return (0);
}

/*
 * cmd_pit_restore --
 *     wtkms pit restore.
 */
static int
cmd_pit_restore(wtkms_cli *cli)
{
    wtkms_config cfg;
    wtkms_oplog_catalog cat;
    wtkms_oplog_store *ostore;
    wtkms_oplog_keys *keys;
    wtkms_snap_manifest *m, *am;
    wtkms_store *sstore;
    pit_keyset ks;
    wtkms_txn_plan plan;
    wtkms_bson_out out;
    wtkms_replay *replay;
    wtkms_snap_restore_opts ro;
    wtkms_err err;
    pit_sink sink;
    wtkms_ts t0, until, expect_last;
    struct stat sb;
    bson_t j;
    const char *id, *surl, *odir, *vuntil, *to, *target, *oplog_out, *vexpect, *home_cfg;
    char *target_buf;
    char opath[4096], odirbuf[4096], what[512], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    uint64_t applied, skipped, txns;
    wtkms_ui_mode ui;
    bool need_kms, out_open, made_dir, restored;
    size_t i, n;
    int ret;

    wtkms_err_clear(&err);
    memset(&cat, 0, sizeof(cat));
    memset(&plan, 0, sizeof(plan));
    memset(&sink, 0, sizeof(sink));
    memset(&ro, 0, sizeof(ro));
    memset(&ks, 0, sizeof(ks));
    wtkms_config_init(&cfg, "command-line flags");
    expect_last = 0;
    ostore = NULL;
    keys = NULL;
    m = NULL;
    sstore = NULL;
    replay = NULL;
    out_open = made_dir = restored = false;
    target_buf = NULL;
    target = NULL;
    oplog_out = NULL;
    applied = skipped = txns = 0;
    opath[0] = odirbuf[0] = '\0';

    id = wtkms_cli_opt_get(cli, "snapshot");
    surl = wtkms_cli_opt_get(cli, "store");
    odir = wtkms_cli_opt_get(cli, "oplog-store");
    vuntil = wtkms_cli_opt_get(cli, "until");
    to = wtkms_cli_opt_get(cli, "to");
    if ((ret = wtkms_cli_connection_uri(cli, "target", &target_buf, &err)) != 0)
        goto err;
    target = target_buf;
    oplog_out = wtkms_cli_opt_get(cli, "oplog-out");
    /*
     * The target's collections carry the snapshot's UUIDs when it runs on the snapshot's files:
     * certain when it runs on what --to restores, or when the user says so; asked otherwise.
     */
    ui = wtkms_cli_flag(cli, "preserve-uuid") || to != NULL ? WTKMS_UI_KEEP : WTKMS_UI_PROBE;
    if (id == NULL && cli->nargs > 0)
        id = cli->args[0];
    if (id == NULL || surl == NULL || odir == NULL || vuntil == NULL ||
        (to == NULL && target == NULL)) {
        ret = wtkms_errf(&err, EINVAL,
          "pit restore needs --snapshot ID --store SNAPSTORE --oplog-store DIR --until TS and "
          "--to DIR and/or --target URI (wtkms pit --help)");
        goto err;
    }
    if ((ret = wtkms_ts_parse(vuntil, "--until", &until, &err)) != 0)
        goto err;
    if ((vexpect = wtkms_cli_opt_get(cli, "expect-last")) != NULL &&
        (ret = wtkms_ts_parse(vexpect, "--expect-last", &expect_last, &err)) != 0)
        goto err;
    ro.allow_unencrypted = wtkms_cli_flag(cli, "allow-unencrypted");
    ro.no_recover = wtkms_cli_flag(cli, "no-recover");
    ro.wt_config = wtkms_cli_opt_get(cli, "wt-config");
    ro.ext_path = wtkms_cli_opt_get(cli, "extension");
    home_cfg = wtkms_cli_opt_get(cli, "home-config");
    if ((ret = wtkms_cli_key_ring(cli, &ks.ring, &err)) != 0)
        goto err;
    wtkms_config_free(&cfg);
    if ((ret = pit_settings(cli, &cfg, &err)) != 0)
        goto err;

    /* The snapshot's consistent oplog time is where the oplog takes over. */
    if ((ret = wtkms_store_open(surl, &cfg, &sstore, &err)) != 0 ||
        (ret = wtkms_snapshot_read_manifest(sstore, id, &m, &err)) != 0)
        goto err;
    if (!m->has_oplog_ts) {
        ret = wtkms_errf(&err, ERANGE,
          "snapshot %s records no oplog timestamp (it was not taken from a mongod with --uri): "
          "point-in-time restore needs one; restore it with 'wtkms snapshot restore' instead",
          id);
        goto err;
    }
    t0 = WTKMS_TS(m->oplog_t, m->oplog_i);
    wtkms_ts_str_long(t0, a, sizeof(a));
    if (until < t0) {
        wtkms_ts_str_long(until, b, sizeof(b));
        ret = wtkms_errf(&err, ERANGE,
          "--until %s is before snapshot %s's time %s: choose an older snapshot", b, id, a);
        goto err;
    }
    if ((ret = wtkms_oplog_store_open(odir, &cfg, false, &ostore, &err)) != 0 ||
        (ret = wtkms_oplog_catalog_load(ostore, &cat, &err)) != 0)
        goto err;
    (void)snprintf(
      what, sizeof(what), "pit restore from snapshot %s (%s) --until %s", id, a, vuntil);
    /* T0 itself must be in the store (it is checked below), and everything after it. */
    if ((ret = wtkms_oplog_catalog_check(&cat, t0 - 1, until, what, &err)) != 0)
        goto err;

    /* Any provider setting given configures a key, and with it the no-downgrade rule. */
    need_kms = m->encrypted || m->has_keystore;
    for (i = 0; i < cat.n; i++)
        need_kms = need_kms || cat.segs[i].h.encrypted;
    for (n = 0; n < (size_t)cfg.n; n++)
        need_kms = need_kms || !cfg.items[n].used;
    if ((ret = pit_keys(cli, &cfg, need_kms, m, home_cfg, &ks, &ro, &err)) != 0)
        goto err;
    /*
     * Every key the snapshot depends on and the no-downgrade rule, before anything is written;
     * and T0 from the authenticated manifest, not the one read without a key.
     */
    if ((ret = wtkms_snapshot_check_keys(sstore, id, ks.snap_kms, &ro, &am, &err)) != 0)
        goto err;
    if (!am->has_oplog_ts || WTKMS_TS(am->oplog_t, am->oplog_i) != t0) {
        wtkms_manifest_free(am);
        ret = wtkms_errf(&err, EBADMSG,
          "the manifest of snapshot %s changed while pit restore read it: run it again", id);
        goto err;
    }
    wtkms_manifest_free(am);
    if ((keys = wtkms_oplog_keys_new(NULL)) == NULL) {
        ret = wtkms_errf(&err, ENOMEM, "out of memory");
        goto err;
    }
    wtkms_oplog_keys_use_ring(keys, ks.ring);
    wtkms_oplog_keys_allow_unencrypted(keys, ro.allow_unencrypted);
    if ((ret = wtkms_oplog_check_ends(&cat, keys, expect_last, NULL, &err)) != 0)
        goto err;
    if ((ret = check_t0(&cat, keys, id, m, t0, &err)) != 0)
        goto err;
    /* Decide every transaction (and read every segment once) before writing anything. */
    if ((ret = wtkms_txn_plan_build(&cat, keys, t0, until, WTKMS_PLAN_RESTORE, &plan, &err)) != 0)
        goto err;

    if (to != NULL || oplog_out != NULL) {
        if (oplog_out != NULL)
            (void)snprintf(opath, sizeof(opath), "%s", oplog_out);
        else {
            (void)snprintf(odirbuf, sizeof(odirbuf), "%s", to);
            for (n = strlen(odirbuf); n > 1 && odirbuf[n - 1] == '/'; n--)
                odirbuf[n - 1] = '\0';
            if (strlen(odirbuf) + 20 >= sizeof(odirbuf)) {
                ret = wtkms_errf(&err, ENAMETOOLONG, "--to %s: path too long", to);
                goto err;
            }
            (void)strcat(odirbuf, "-oplog");
            if (stat(odirbuf, &sb) != 0) {
                if (mkdir(odirbuf, 0700) != 0) {
                    ret = wtkms_errf(&err, errno, "%s: %s", odirbuf, strerror(errno));
                    goto err;
                }
                made_dir = true;
            }
            (void)snprintf(opath, sizeof(opath), "%s/oplog.bson", odirbuf);
        }
        if ((ret = wtkms_bson_out_open(&out, opath, false, &err)) != 0)
            goto err;
        out_open = true;
        sink.out = &out;
    }
    if (target != NULL && to == NULL &&
        (ret = wtkms_replay_open(target, &plan, ui, &replay, &err)) != 0)
        goto err;
    sink.replay = replay;
    if ((ret = wtkms_txn_plan_walk(&cat, keys, &plan, pit_entry, &sink, &err)) != 0)
        goto err;
    if (out_open) {
        if ((ret = wtkms_bson_out_commit(&out, &err)) != 0) {
            out_open = false;
            goto err;
        }
        out_open = false;
    }
    if (to != NULL) {
        if ((ret = wtkms_snapshot_restore(sstore, id, to, ks.snap_kms, &ro, NULL, &err)) != 0)
            goto err;
        restored = true;
        if (target != NULL) {
            /* The target runs on what was just restored: replay after the restore. */
            if ((ret = wtkms_replay_open(target, &plan, ui, &replay, &err)) != 0)
                goto err;
            sink.out = NULL;
            sink.replay = replay;
            sink.entries = 0;
            if ((ret = wtkms_txn_plan_walk(&cat, keys, &plan, pit_entry, &sink, &err)) != 0)
                goto err;
        }
    }
    if (replay != NULL)
        wtkms_replay_stats(replay, &applied, &skipped, &txns);

    wtkms_ts_str(t0, a, sizeof(a));
    wtkms_ts_str(until, b, sizeof(b));
    if (cli->json) {
        bson_init(&j);
        BSON_APPEND_UTF8(&j, "snapshot", id);
        wtkms_cli_ts_json(&j, "snapshot_ts", t0);
        wtkms_cli_ts_json(&j, "until", until);
        if (to != NULL)
            BSON_APPEND_UTF8(&j, "restored_to", to);
        if (opath[0] != '\0')
            BSON_APPEND_UTF8(&j, "oplog_file", opath);
        BSON_APPEND_INT64(&j, "entries", (int64_t)sink.entries);
        BSON_APPEND_INT64(&j, "transactions_committed", (int64_t)plan.commits);
        BSON_APPEND_INT64(&j, "transaction_entries_left_out", (int64_t)plan.dropped_parts);
        if (replay != NULL) {
            bson_t rj;
            BSON_APPEND_DOCUMENT_BEGIN(&j, "replayed", &rj);
            BSON_APPEND_UTF8(&rj, "target", target);
            BSON_APPEND_INT64(&rj, "applied", (int64_t)applied);
            BSON_APPEND_INT64(&rj, "skipped", (int64_t)skipped);
            BSON_APPEND_INT64(&rj, "transactions", (int64_t)txns);
            BSON_APPEND_UTF8(
              &rj, "uuids", wtkms_replay_ui_mode(replay) == WTKMS_UI_STRIP ? "stripped" : "kept");
            bson_append_document_end(&j, &rj);
        }
        wtkms_cli_print_json(&j);
        bson_destroy(&j);
    } else {
        if (to != NULL)
            (void)printf("restored snapshot %s (oplog time %s) into %s\n", id, a, to);
        if (opath[0] != '\0')
            (void)printf("wrote %" PRIu64 " oplog entries after %s up to and including %s to %s\n"
                         "replay them with: mongorestore --oplogReplay --dir %s\n",
              sink.entries, a, b, opath, odirbuf[0] != '\0' ? odirbuf : "DIR-holding-oplog.bson");
        if (replay != NULL)
            (void)printf("replayed into %s: %" PRIu64 " operations applied, %" PRIu64
                         " skipped, %" PRIu64 " transactions (collection UUIDs %s)\n",
              target, applied, skipped, txns,
              wtkms_replay_ui_mode(replay) == WTKMS_UI_STRIP ? "stripped" : "kept");
        if (plan.dropped_parts > 0)
            (void)printf("left out %" PRIu64 " entries of transactions not committed by %s\n",
              plan.dropped_parts, b);
    }
    ret = WTKMS_EXIT_OK;
    goto done;
err:
    if (replay != NULL) {
        wtkms_replay_stats(replay, &applied, &skipped, &txns);
        (void)fprintf(stderr,
          "wtkms: replayed into %s before the failure: %" PRIu64 " operations applied, %" PRIu64
          " skipped, %" PRIu64 " transactions applied whole\n",
          target, applied, skipped, txns);
    }
    if (out_open)
        wtkms_bson_out_abort(&out);
    /* Leave nothing half-done behind: the oplog file goes if the restore did not happen. */
    if (!restored && opath[0] != '\0' && oplog_out == NULL && ret != EEXIST) {
        (void)unlink(opath);
        if (made_dir)
            (void)rmdir(odirbuf);
    }
    ret = wtkms_cli_fail(cli, &err);
done:
    wtkms_replay_close(replay);
    wtkms_txn_plan_free(&plan);
    wtkms_oplog_keys_free(keys);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(ostore);
    if (m != NULL)
        wtkms_manifest_free(m);
    wtkms_store_close(sstore);
    wtkms_kms_close(ks.home_kms);
    wtkms_kms_ring_free(ks.ring);
    wtkms_config_free(&cfg);
    free(ks.main_ext);
    free(ks.home_ext);
    if (target_buf != NULL) {
        wtkms_wipe(target_buf, strlen(target_buf));
        free(target_buf);
    }
    return (ret);
}

/*
 * wtkms_cmd_pit --
 *     The pit group.
 */
int
wtkms_cmd_pit(wtkms_cli *cli)
{
    if (cli->help || strcmp(cli->command, "help") == 0) {
        (void)fputs(pit_usage, stdout);
        return (WTKMS_EXIT_OK);
    }
    if (strcmp(cli->command, "restore") == 0)
        return (cmd_pit_restore(cli));
    (void)fprintf(stderr, "wtkms: unknown command 'pit %s'\n%s", cli->command, pit_usage);
    return (WTKMS_EXIT_USAGE);
}
