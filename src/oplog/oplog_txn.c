/*
 * oplog_txn.c -- transaction-aware selection of the entries a restore applies.
 */
#include "oplog_txn.h"

#include <bson/bson.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplog_export.h"

/*
 * wtkms_txn_classify --
 *     Look at op, lsid/txnNumber, prevOpTime and the shape of o.
 */
int
wtkms_txn_classify(const uint8_t *doc, size_t len, wtkms_txn_info *info)
{
    bson_iter_t it, o, p;
    const char *op, *first;
    bool has_txn, apply_ops, partial, prepare;
    uint32_t secs, inc;

    memset(info, 0, sizeof(*info));
    if (!bson_iter_init_from_data(&it, doc, len))
        return (EILSEQ);
    op = NULL;
    has_txn = apply_ops = partial = prepare = false;
    first = NULL;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "op") == 0 && BSON_ITER_HOLDS_UTF8(&it))
            op = bson_iter_utf8(&it, NULL);
        else if (strcmp(key, "txnNumber") == 0)
            has_txn = true;
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
    /* An applyOps run by a user (no session transaction) is an ordinary command. */
    if (!apply_ops || !has_txn)
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

    if (wtkms_txn_classify(doc, len, &info) != 0) {
        wtkms_ts_str(ts, a, sizeof(a));
        return (wtkms_errf(err, EILSEQ,
          "the transaction entry at %s has no prevOpTime: it cannot be tied to its transaction",
          a));
    }
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
    case WTKMS_TXN_COMMIT:
    case WTKMS_TXN_COMMIT_PREPARED:
        s->plan->commits++;
        if (info.prev == 0)
            break;
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
        s->commit_prev[s->ncommits] = info.prev;
        s->ncommits++;
        break;
    case WTKMS_TXN_ABORT:
        s->plan->aborted++;
        break;
    case WTKMS_TXN_NONE:
        break;
    }
    return (0);
}

/*
 * find_part --
 *     Binary search of the parts seen in the slice.
 */
static const part_rec *
find_part(const plan_scan *s, wtkms_ts ts)
{
    size_t lo = 0, hi = s->nparts, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (s->parts[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < s->nparts && s->parts[lo].ts == ts ? &s->parts[lo] : NULL);
}

typedef struct {
    wtkms_ts want;
    bool found;
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

    (void)err;
    if (ts != f->want)
        return (0);
    f->found = true;
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
 * wtkms_txn_plan_build --
 *     Pass one over the slice, then follow every commit's chain back.
 */
int
wtkms_txn_plan_build(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after,
  wtkms_ts until, wtkms_txn_plan *plan, wtkms_err *err)
{
    plan_scan s;
    const part_rec *pr;
    early_find f;
    wtkms_ts p, commit;
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], what[256];
    size_t i;
    int ret;

    memset(plan, 0, sizeof(*plan));
    memset(&s, 0, sizeof(s));
    plan->after = after;
    plan->until = until;
    s.plan = plan;
    if ((ret = wtkms_oplog_scan(cat, keys, after, until, plan_entry, &s, err)) != 0)
        goto done;
    for (i = 0; i < s.ncommits; i++) {
        commit = s.commits[i];
        for (p = s.commit_prev[i]; p != 0;) {
            if (p > after) {
                if ((pr = find_part(&s, p)) == NULL) {
                    wtkms_ts_str(commit, a, sizeof(a));
                    wtkms_ts_str(p, b, sizeof(b));
                    ret = wtkms_errf(err, EILSEQ,
                      "the transaction committed at %s continues an entry at %s that is not a "
                      "transaction part in the saved oplog",
                      a, b);
                    goto done;
                }
                if ((ret = add_keep(plan, p, commit)) != 0)
                    goto nomem;
                p = pr->prev;
                continue;
            }
            /* The chain began before the slice: read the part from an earlier segment. */
            wtkms_ts_str(commit, a, sizeof(a));
            wtkms_ts_str(p, b, sizeof(b));
            (void)snprintf(what, sizeof(what),
              "the transaction committed at %s began at %s, before the restore's start", a, b);
            if ((ret = wtkms_oplog_catalog_check(cat, p - 1, p, what, err)) != 0)
                goto done;
            memset(&f, 0, sizeof(f));
            f.want = p;
            if ((ret = wtkms_oplog_scan(cat, keys, p - 1, p, early_entry, &f, err)) != 0)
                goto done;
            if (!f.found || f.info.kind != WTKMS_TXN_PART) {
                ret = wtkms_errf(
                  err, EILSEQ, "%s, but the saved oplog has no transaction part at %s", what, b);
                goto done;
            }
            if ((ret = add_keep(plan, p, commit)) != 0)
                goto nomem;
            p = f.info.prev;
        }
    }
    if (plan->nkeep > 0)
        qsort(plan->keep, plan->nkeep, sizeof(*plan->keep), cmp_link);
    for (i = 0; i < s.nparts; i++)
        if (wtkms_txn_plan_commit_of(plan, s.parts[i].ts) == 0)
            plan->dropped_parts++;
    ret = 0;
    goto done;
nomem:
    ret = wtkms_errf(err, ENOMEM, "out of memory");
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
 *     Free the kept list.
 */
void
wtkms_txn_plan_free(wtkms_txn_plan *plan)
{
    free(plan->keep);
    plan->keep = NULL;
    plan->nkeep = 0;
}

/*
 * wtkms_txn_plan_commit_of --
 *     Binary search of the kept parts.
 */
wtkms_ts
wtkms_txn_plan_commit_of(const wtkms_txn_plan *plan, wtkms_ts part_ts)
{
    size_t lo = 0, hi = plan->nkeep, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (plan->keep[mid].ts < part_ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < plan->nkeep && plan->keep[lo].ts == part_ts ? plan->keep[lo].commit_ts : 0);
}

typedef struct {
    const wtkms_txn_plan *plan;
    wtkms_oplog_entry_fn fn;
    void *arg;
    bool early; /* delivering parts at or before `after` */
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

    if (w->early) {
        if (wtkms_txn_plan_commit_of(w->plan, ts) == 0)
            return (0);
        return (w->fn(w->arg, doc, len, ts, err));
    }
    if (wtkms_txn_classify(doc, len, &info) != 0)
        return (wtkms_errf(err, EILSEQ, "a transaction entry changed between two reads"));
    if (info.kind == WTKMS_TXN_ABORT ||
        (info.kind == WTKMS_TXN_PART && wtkms_txn_plan_commit_of(w->plan, ts) == 0))
        return (0);
    return (w->fn(w->arg, doc, len, ts, err));
}

/*
 * wtkms_txn_plan_walk --
 *     Early parts first (each read from its segment), then the slice.
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
        if ((ret = wtkms_oplog_scan(
               cat, keys, plan->keep[i].ts - 1, plan->keep[i].ts, walk_entry, &w, err)) != 0)
            return (ret);
    }
    w.early = false;
    return (wtkms_oplog_scan(cat, keys, plan->after, plan->until, walk_entry, &w, err));
}
