/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_txn.c -- transaction-aware selection of the entries a restore applies.
 */
#include "oplog_txn.h"

#include <bson/bson.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "oplog_export.h"
#include "oplog_shape.h"

/*
 * wtkms_txn_classify --
 *     Look at op, lsid/txnNumber, multiOpType, prevOpTime and the shape of o.
 */
int
wtkms_txn_classify(const uint8_t *doc, size_t len, wtkms_txn_info *info)
{
    bson_iter_t it, o, p;
    const char *op, *first;
    bool has_txn, apply_ops, partial, prepare;
    uint32_t secs, inc;

    memset(info, 0, sizeof(*info));
    info->txn_number = -1;
    if (!bson_iter_init_from_data(&it, doc, len))
        return (EILSEQ);
    op = NULL;
    has_txn = apply_ops = partial = prepare = false;
    first = NULL;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "op") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            op = bson_iter_utf8(&it, NULL);
        else if (strcmp(key, "txnNumber") == 0) {
            has_txn = true;
            info->txn_number = bson_iter_as_int64(&it);
        } else if (strcmp(key, "multiOpType") == 0)
            info->multi_op = bson_iter_as_int64(&it) == 1;
        else if (strcmp(key, "prevOpTime") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                 bson_iter_recurse(&it, &p) && bson_iter_find(&p, "ts") &&
                 BSON_ITER_HOLDS_TIMESTAMP(&p)) {
            bson_iter_timestamp(&p, &secs, &inc);
            info->prev = WTKMS_TS(secs, inc);
        } else if (strcmp(key, "o") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                   bson_iter_recurse(&it, &o)) {
            while (bson_iter_next(&o)) {
                const char *ok = bson_iter_key(&o);
                if (first == NULL)
                    first = ok;
                if (strcmp(ok, "applyOps") == 0)
                    apply_ops = true;
                else if (strcmp(ok, "partialTxn") == 0)
                    partial = bson_iter_as_bool(&o);
                else if (strcmp(ok, "prepare") == 0)
                    prepare = bson_iter_as_bool(&o);
                else if (strcmp(ok, "commitTimestamp") == 0 && BSON_ITER_HOLDS_TIMESTAMP(&o)) {
                    bson_iter_timestamp(&o, &secs, &inc);
                    info->commit_ts = WTKMS_TS(secs, inc);
                }
            }
        }
    }
    if (op == NULL || strcmp(op, "c") != 0 || first == NULL)
        return (0);
    if (strcmp(first, "commitTransaction") == 0) {
        info->kind = WTKMS_TXN_COMMIT_PREPARED;
        return (info->prev == 0 ? EILSEQ : 0);
    }
    if (strcmp(first, "abortTransaction") == 0) {
        info->kind = WTKMS_TXN_ABORT;
        return (0);
    }
    /*
     * An applyOps run by a user (no session transaction) is an ordinary command; so is one a
     * retryable write wrote on 8.0 (multiOpType 1, applied separately): mongod applies each of
     * its operations on its own, whatever its prevOpTime names.
     */
    if (!apply_ops || !has_txn || (info->multi_op && !partial && !prepare))
        return (0);
    info->kind = partial || prepare ? WTKMS_TXN_PART : WTKMS_TXN_COMMIT;
    return (0);
}

typedef struct {
    wtkms_ts ts, prev;
} part_rec;

typedef struct {
    wtkms_txn_plan *plan;
    part_rec *parts; /* every part seen in the slice, ts order */
    size_t nparts, cap;
    wtkms_ts *commits; /* commit entries of multi-entry chains: (commit ts, first prev) */
    wtkms_ts *commit_prev;
    size_t ncommits, ccap;
} plan_scan;

/*
 * push_ts --
 *     Append a timestamp to a growing array.
 */
static int
push_ts(wtkms_ts **arr, size_t *n, wtkms_ts ts)
{
    wtkms_ts *p;

    if ((p = realloc(*arr, (*n + 1) * sizeof(*p))) == NULL)
        return (ENOMEM);
    *arr = p;
    (*arr)[(*n)++] = ts;
    return (0);
}

/*
 * find_ts --
 *     Binary search of a sorted array of timestamps.
 */
static bool
find_ts(const wtkms_ts *arr, size_t n, wtkms_ts ts)
{
    size_t lo = 0, hi = n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (arr[mid] < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && arr[lo] == ts);
}

/*
 * add_keep --
 *     Mark a part as kept for a commit.
 */
static int
add_keep(wtkms_txn_plan *plan, wtkms_ts ts, wtkms_ts commit)
{
    wtkms_txn_link *p;

    if ((p = realloc(plan->keep, (plan->nkeep + 1) * sizeof(*p))) == NULL)
        return (ENOMEM);
    plan->keep = p;
    plan->keep[plan->nkeep].ts = ts;
    plan->keep[plan->nkeep].commit_ts = commit;
    plan->nkeep++;
    return (0);
}

/*
 * add_commit --
 *     Remember a commit whose chain is followed back.
 */
static int
add_commit(plan_scan *s, wtkms_ts ts, wtkms_ts prev, wtkms_err *err)
{
    void *p;

    if (s->ncommits == s->ccap) {
        s->ccap = s->ccap == 0 ? 64 : s->ccap * 2;
        if ((p = realloc(s->commits, s->ccap * sizeof(*s->commits))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        s->commits = p;
        if ((p = realloc(s->commit_prev, s->ccap * sizeof(*s->commit_prev))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        s->commit_prev = p;
    }
    s->commits[s->ncommits] = ts;
    s->commit_prev[s->ncommits] = prev;
    s->ncommits++;
    return (0);
}

/*
 * plan_entry --
 *     Pass one: remember parts and commits.
 */
static int
plan_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    plan_scan *s = arg;
    wtkms_txn_info info;
    char a[WTKMS_TS_STRLEN];
    void *p;
    int ret;

    if (wtkms_txn_classify(doc, len, &info) != 0) {
        wtkms_ts_str(ts, a, sizeof(a));
        return (wtkms_errf(err, EILSEQ,
          "the transaction entry at %s has no prevOpTime: it cannot be tied to its transaction",
          a));
    }
    /* A restore refuses what it could not replay before writing anything (an export is raw). */
    if (s->plan->mode == WTKMS_PLAN_RESTORE &&
        (ret = wtkms_oplog_check_replayable(doc, len, ts, err)) != 0)
        return (ret);
    switch (info.kind) {
    case WTKMS_TXN_PART:
        if (s->nparts == s->cap) {
            s->cap = s->cap == 0 ? 64 : s->cap * 2;
            if ((p = realloc(s->parts, s->cap * sizeof(*s->parts))) == NULL)
                return (wtkms_errf(err, ENOMEM, "out of memory"));
            s->parts = p;
        }
        s->parts[s->nparts].ts = ts;
        s->parts[s->nparts].prev = info.prev;
        s->nparts++;
        break;
    case WTKMS_TXN_COMMIT_PREPARED:
        /* Committed at commitTimestamp: after the target time, it is not in the restore. */
        if (s->plan->mode == WTKMS_PLAN_RESTORE && info.commit_ts > s->plan->until) {
            if (push_ts(&s->plan->excluded, &s->plan->nexcluded, ts) != 0)
                return (wtkms_errf(err, ENOMEM, "out of memory"));
            break;
        }
        /* FALLTHROUGH */
    case WTKMS_TXN_COMMIT:
        s->plan->commits++;
        if (info.prev == 0)
            break;
        return (add_commit(s, ts, info.prev, err));
    case WTKMS_TXN_ABORT:
        s->plan->aborted++;
        break;
    case WTKMS_TXN_NONE:
        break;
    }
    return (0);
}

/*
 * late_entry --
 *     Past the target time: commits of prepared transactions whose commitTimestamp is not.
 */
static int
late_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    plan_scan *s = arg;
    wtkms_txn_info info;

    if (wtkms_txn_classify(doc, len, &info) != 0 || info.kind != WTKMS_TXN_COMMIT_PREPARED ||
        info.commit_ts == 0 || info.commit_ts > s->plan->until || info.prev > s->plan->until)
        return (0);
    if (push_ts(&s->plan->late, &s->plan->nlate, ts) != 0)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    s->plan->commits++;
    return (add_commit(s, ts, info.prev, err));
}

/*
 * cmp_ts_key --
 *     bsearch over records whose first member is their ts (part_rec, wtkms_txn_link).
 */
static int
cmp_ts_key(const void *key, const void *rec)
{
    wtkms_ts x = *(const wtkms_ts *)key, y = *(const wtkms_ts *)rec;

    return (x < y ? -1 : x > y);
}
_Static_assert(offsetof(part_rec, ts) == 0, "bsearch key: part_rec starts with its ts");
_Static_assert(offsetof(wtkms_txn_link, ts) == 0, "bsearch key: a link starts with its ts");

/*
 * find_part --
 *     The part seen in the slice at ts, or NULL.
 */
static const part_rec *
find_part(const plan_scan *s, wtkms_ts ts)
{
    /* bsearch wants an array even when it is empty (its base is declared non-null). */
    if (s->nparts == 0)
        return (NULL);
    return (bsearch(&ts, s->parts, s->nparts, sizeof(*s->parts), cmp_ts_key));
}

typedef struct {
    wtkms_ts want;
    bool found, check; /* check: refuse a part a restore could not replay */
    wtkms_txn_info info;
} early_find;

/*
 * early_entry --
 *     Pick one entry by ts out of an earlier segment.
 */
static int
early_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    early_find *f = arg;

    if (ts != f->want)
        return (0);
    f->found = true;
    if (f->check && wtkms_oplog_check_replayable(doc, len, ts, err) != 0)
        return (err->code);
    return (wtkms_txn_classify(doc, len, &f->info) != 0 ? EILSEQ : 0);
}

/*
 * cmp_link --
 *     Sort kept parts by ts.
 */
static int
cmp_link(const void *a, const void *b)
{
    wtkms_ts x = ((const wtkms_txn_link *)a)->ts, y = ((const wtkms_txn_link *)b)->ts;

    return (x < y ? -1 : x > y);
}

/*
 * follow_chain --
 *     Keep every part of the chain a commit closes, reading early parts from earlier segments.
 */
static int
follow_chain(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, plan_scan *s, wtkms_ts commit,
  wtkms_ts p, wtkms_err *err)
{
    wtkms_txn_plan *plan = s->plan;
    const part_rec *pr;
    early_find f;
    wtkms_ts at;
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], what[256];
    int ret;

    /* at: the entry whose prevOpTime is p. A chain runs back in time, so it always ends. */
    for (at = commit; p != 0;) {
        if (p >= at) {
            wtkms_ts_str(at, a, sizeof(a));
            wtkms_ts_str(p, b, sizeof(b));
            return (wtkms_errf(err, EILSEQ,
              "the transaction entry at %s names %s as its previous entry, which is not before "
              "it: mongod never writes this, the saved oplog is damaged",
              a, b));
        }
        at = p;
        if (p > plan->after) {
            if ((pr = find_part(s, p)) == NULL) {
                wtkms_ts_str(commit, a, sizeof(a));
                wtkms_ts_str(p, b, sizeof(b));
                return (wtkms_errf(err, WTKMS_EUNREPLAYABLE,
                  "the transaction committed at %s continues the entry at %s, which is not a "
                  "transaction part (partialTxn or prepare): wtkms does not know this shape of "
                  "transaction and cannot replay it; restore to a time before %s",
                  a, b, a));
            }
            if (add_keep(plan, p, commit) != 0)
                return (wtkms_errf(err, ENOMEM, "out of memory"));
            p = pr->prev;
            continue;
        }
        /* The chain began before the slice: read the part from an earlier segment. */
        wtkms_ts_str(commit, a, sizeof(a));
        wtkms_ts_str(p, b, sizeof(b));
        (void)snprintf(what, sizeof(what), "the transaction committed at %s began at %s, %s", a, b,
          plan->mode == WTKMS_PLAN_EXPORT ? "before --from, and its earlier parts must go with it"
                                          : "before the restore's start");
        if ((ret = wtkms_oplog_catalog_check(cat, p - 1, p, what, err)) != 0)
            return (ret);
        memset(&f, 0, sizeof(f));
        f.want = p;
        f.check = plan->mode == WTKMS_PLAN_RESTORE;
        if ((ret = wtkms_oplog_scan(cat, keys, p - 1, p, early_entry, &f, err)) != 0)
            return (ret);
        if (!f.found)
            return (wtkms_errf(err, EILSEQ, "%s, but the saved oplog has no entry at %s", what, b));
        if (f.info.kind != WTKMS_TXN_PART)
            return (wtkms_errf(err, WTKMS_EUNREPLAYABLE,
              "%s, but the entry at %s is not a transaction part (partialTxn or prepare): wtkms "
              "does not know this shape of transaction and cannot replay it",
              what, b));
        if (add_keep(plan, p, commit) != 0)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        plan->early_parts++;
        p = f.info.prev;
    }
    return (0);
}

/*
 * wtkms_txn_plan_build --
 *     Pass one over the slice (and, for a restore, past it), then follow every commit's chain.
 */
int
wtkms_txn_plan_build(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after,
  wtkms_ts until, wtkms_plan_mode mode, wtkms_txn_plan *plan, wtkms_err *err)
{
    plan_scan s;
    wtkms_ts first, last;
    size_t i;
    int ret;

    memset(plan, 0, sizeof(*plan));
    memset(&s, 0, sizeof(s));
    plan->after = after;
    plan->until = until;
    plan->mode = mode;
    s.plan = plan;
    if ((ret = wtkms_oplog_scan(cat, keys, after, until, plan_entry, &s, err)) != 0)
        goto done;
    wtkms_oplog_catalog_range(cat, &first, &last);
    if (mode == WTKMS_PLAN_RESTORE && last > until &&
        (ret = wtkms_oplog_scan(cat, keys, until, last, late_entry, &s, err)) != 0) {
        (void)wtkms_err_prefix(err,
          "reading the saved oplog past %s for the commits of prepared transactions", "--until");
        goto done;
    }
    for (i = 0; i < s.ncommits; i++)
        if ((ret = follow_chain(cat, keys, &s, s.commits[i], s.commit_prev[i], err)) != 0)
            goto done;
    if (plan->nkeep > 0)
        qsort(plan->keep, plan->nkeep, sizeof(*plan->keep), cmp_link);
    /* A part two commits name would be applied twice, or with only one of them. */
    for (i = 1; i < plan->nkeep; i++)
        if (plan->keep[i].ts == plan->keep[i - 1].ts) {
            char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], c[WTKMS_TS_STRLEN];
            wtkms_ts_str(plan->keep[i].ts, a, sizeof(a));
            wtkms_ts_str(plan->keep[i - 1].commit_ts, b, sizeof(b));
            wtkms_ts_str(plan->keep[i].commit_ts, c, sizeof(c));
            ret = wtkms_errf(err, EILSEQ,
              "the transaction entry at %s is named by the commits at %s and at %s: a part "
              "belongs to one transaction, so mongod never writes this; the saved oplog is "
              "damaged",
              a, b, c);
            goto done;
        }
    for (i = 0; i < s.nparts; i++)
        if (wtkms_txn_plan_commit_of(plan, s.parts[i].ts) == 0)
            plan->dropped_parts++;
    ret = 0;
done:
    free(s.parts);
    free(s.commits);
    free(s.commit_prev);
    if (ret != 0)
        wtkms_txn_plan_free(plan);
    return (ret);
}

/*
 * wtkms_txn_plan_free --
 *     Free the kept lists.
 */
void
wtkms_txn_plan_free(wtkms_txn_plan *plan)
{
    free(plan->keep);
    plan->keep = NULL;
    plan->nkeep = 0;
    free(plan->late);
    plan->late = NULL;
    plan->nlate = 0;
    free(plan->excluded);
    plan->excluded = NULL;
    plan->nexcluded = 0;
}

/*
 * wtkms_txn_plan_commit_of --
 *     The commit a kept part belongs to (0: not kept).
 */
wtkms_ts
wtkms_txn_plan_commit_of(const wtkms_txn_plan *plan, wtkms_ts part_ts)
{
    const wtkms_txn_link *l;

    if (plan->nkeep == 0)
        return (0);
    l = bsearch(&part_ts, plan->keep, plan->nkeep, sizeof(*plan->keep), cmp_ts_key);
    return (l != NULL ? l->commit_ts : 0);
}

typedef struct {
    const wtkms_txn_plan *plan;
    wtkms_oplog_entry_fn fn;
    void *arg;
    bool early; /* delivering single entries picked by ts (early parts, late commits) */
    wtkms_ts want;
} walk_state;

/*
 * walk_entry --
 *     Pass two: deliver what the plan keeps.
 */
static int
walk_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    walk_state *w = arg;
    wtkms_txn_info info;

    if (w->early)
        return (ts == w->want ? w->fn(w->arg, doc, len, ts, err) : 0);
    if (w->plan->mode == WTKMS_PLAN_EXPORT)
        return (w->fn(w->arg, doc, len, ts, err));
    if (wtkms_txn_classify(doc, len, &info) != 0)
        return (wtkms_errf(err, EILSEQ, "a transaction entry changed between two reads"));
    if (info.kind == WTKMS_TXN_ABORT ||
        (info.kind == WTKMS_TXN_PART && wtkms_txn_plan_commit_of(w->plan, ts) == 0) ||
        (info.kind == WTKMS_TXN_COMMIT_PREPARED &&
          find_ts(w->plan->excluded, w->plan->nexcluded, ts)))
        return (0);
    return (w->fn(w->arg, doc, len, ts, err));
}

/*
 * wtkms_txn_plan_walk --
 *     Early parts first (each read from its segment), then the slice, then late commits.
 */
int
wtkms_txn_plan_walk(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, const wtkms_txn_plan *plan,
  wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err)
{
    walk_state w;
    size_t i;
    int ret;

    w.plan = plan;
    w.fn = fn;
    w.arg = arg;
    w.early = true;
    for (i = 0; i < plan->nkeep && plan->keep[i].ts <= plan->after; i++) {
        /* Runs of early parts in one segment could share a read; chains this old are rare. */
        w.want = plan->keep[i].ts;
        if ((ret = wtkms_oplog_scan(cat, keys, w.want - 1, w.want, walk_entry, &w, err)) != 0)
            return (ret);
    }
    w.early = false;
    if ((ret = wtkms_oplog_scan(cat, keys, plan->after, plan->until, walk_entry, &w, err)) != 0)
        return (ret);
    w.early = true;
    for (i = 0; i < plan->nlate; i++) {
        w.want = plan->late[i];
        if ((ret = wtkms_oplog_scan(cat, keys, w.want - 1, w.want, walk_entry, &w, err)) != 0)
            return (ret);
    }
    return (0);
}
