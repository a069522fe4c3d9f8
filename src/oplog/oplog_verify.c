/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_verify.c -- offline verification of an oplog store.
 */
#include "oplog_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * problem --
 *     Record one problem.
 */
static int
problem(wtkms_oplog_verify_report *rep, uint64_t seq, const char *fmt, ...)
{
    wtkms_oplog_problem *p;
    va_list ap;

    if ((p = realloc(rep->problems, (rep->nproblems + 1) * sizeof(*p))) == NULL)
        return (ENOMEM);
    rep->problems = p;
    p = &rep->problems[rep->nproblems++];
    p->seq = seq;
    va_start(ap, fmt);
    (void)vsnprintf(p->problem, sizeof(p->problem), fmt, ap);
    va_end(ap);
    return (0);
}

/*
 * integrity_error --
 *     Whether an error is about the data (record and go on) rather than the key or the system.
 */
static bool
integrity_error(int code)
{
    return (code == EBADMSG || code == EILSEQ || code == ENOENT || code == EFBIG);
}

/*
 * wtkms_oplog_verify --
 *     Every segment, in chain order.
 */
int
wtkms_oplog_verify(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts expect_last,
  wtkms_oplog_verify_report *rep, wtkms_err *err)
{
    wtkms_oplog_seginfo *si;
    wtkms_seg_header h;
    wtkms_oplog_reader rd;
    wtkms_err e2;
    uint8_t digest[WTKMS_SHA256_LEN], prev_digest[WTKMS_SHA256_LEN];
    static const uint8_t zeros[WTKMS_SHA256_LEN];
    wtkms_ts last;
    uint64_t expect, prev_seq;
    bool prev_ok;
    char name[WTKMS_SEG_NAME_LEN], a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN];
    size_t i;
    int ret;

    memset(rep, 0, sizeof(*rep));
    if ((ret = wtkms_oplog_reader_init(&rd, err)) != 0)
        return (ret);
    ret = 0;
    last = 0;
    expect = 1;
    prev_seq = 0;
    prev_ok = false;
    for (i = 0; i < cat->n; i++) {
        si = &cat->segs[i];
        wtkms_seg_name(si->seq, name, sizeof(name));
        if (si->seq != expect) {
            if (si->seq == expect + 1) {
                char missing[WTKMS_SEG_NAME_LEN];
                wtkms_seg_name(expect, missing, sizeof(missing));
                ret = problem(
                  rep, expect, "segment %" PRIu64 " is missing (%s was removed)", expect, missing);
            } else if (si->seq > expect)
                ret = problem(rep, expect, "segments %" PRIu64 " to %" PRIu64 " are missing",
                  expect, si->seq - 1);
            if (ret != 0)
                goto nomem;
            prev_ok = false;
        }
        expect = si->seq + 1;
        if (!si->ok) {
            if ((ret = problem(rep, si->seq, "%s", si->problem)) != 0)
                goto nomem;
            prev_ok = false;
            continue;
        }
        wtkms_err_clear(&e2);
        ret = wtkms_oplog_read_segment(cat->store, si->seq, keys, &rd, &h, digest, &e2);
        if (ret != 0) {
            if (!integrity_error(ret)) {
                *err = e2;
                goto done;
            }
            if ((ret = problem(rep, si->seq, "%s", e2.msg)) != 0)
                goto nomem;
            prev_ok = false;
            continue;
        }
        rep->segments++;
        rep->bytes += si->file_len;
        /* The link to the predecessor: its whole file, as this segment recorded it. */
        if (si->seq == 1) {
            if (memcmp(h.prev, zeros, sizeof(zeros)) != 0 &&
                (ret = problem(rep, si->seq,
                   "%s is segment 1 but records a predecessor: the segments before it were "
                   "removed",
                   name)) != 0)
                goto nomem;
        } else if (prev_ok && prev_seq + 1 == si->seq &&
                   memcmp(h.prev, prev_digest, sizeof(prev_digest)) != 0) {
            if ((ret = problem(rep, si->seq,
                   "%s (segment %" PRIu64 ") does not follow segment %" PRIu64
                   ": the predecessor it records is a different file (segment %" PRIu64
                   " was replaced)",
                   name, si->seq, prev_seq, prev_seq)) != 0)
                goto nomem;
        }
        if (h.kind == WTKMS_SEG_ENTRIES) {
            wtkms_err_clear(&e2);
            if (wtkms_oplog_walk(&h, rd.plain.p, last, NULL, NULL, &e2) != 0) {
                if ((ret = problem(rep, si->seq, "%s", e2.msg)) != 0)
                    goto nomem;
            } else {
                if (rep->first == 0)
                    rep->first = h.first_ts;
                rep->entries += h.count;
            }
            last = h.last_ts;
        } else {
            rep->gaps++;
            if (h.gap_from > last || h.gap_to <= last) {
                wtkms_ts_str(h.gap_from, a, sizeof(a));
                wtkms_ts_str(h.gap_to, b, sizeof(b));
                if ((ret = problem(rep, si->seq,
                       "%s: the gap it records (%s to %s) does not fit between its neighbours",
                       name, a, b)) != 0)
                    goto nomem;
            }
            last = h.gap_to - 1;
        }
        rep->last = h.kind == WTKMS_SEG_ENTRIES ? h.last_ts : rep->last;
        memcpy(prev_digest, digest, sizeof(digest));
        prev_seq = si->seq;
        prev_ok = true;
    }

    /* The head file names the newest segment written: a missing or cut tail shows here. */
    ret = wtkms_oplog_check_ends(cat, keys, expect_last, rep, err);
    goto done;
nomem:
    ret = wtkms_errf(err, ENOMEM, "out of memory");
done:
    wtkms_oplog_reader_free(&rd);
    return (ret);
}

/*
 * end_problem --
 *     Record a problem of the ends, or make it the error.
 */
static int end_problem(wtkms_oplog_verify_report *rep, wtkms_err *err, uint64_t seq,
  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int
end_problem(wtkms_oplog_verify_report *rep, wtkms_err *err, uint64_t seq, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (rep == NULL)
        return (wtkms_errf(err, EBADMSG, "%s; run 'wtkms oplog verify' for details", msg));
    if (problem(rep, seq, "%s", msg) != 0)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    return (0);
}

/*
 * head_mac --
 *     Check the head's MAC with the run key of the segment it names.
 */
static int
head_mac(const wtkms_oplog_catalog *cat, const wtkms_oplog_seginfo *si, wtkms_oplog_keys *keys,
  wtkms_oplog_verify_report *rep, wtkms_err *err)
{
    const wtkms_oplog_head *head = &cat->head;
    const wtkms_key *key;
    uint8_t mac[WTKMS_SHA256_LEN];
    char name[WTKMS_SEG_NAME_LEN];
    int ret;

    wtkms_seg_name(si->seq, name, sizeof(name));
    if (!si->h.encrypted)
        return (0); /* an unencrypted chain (allowed): nothing to key a MAC */
    if (!head->has_mac)
        return (end_problem(rep, err, head->seq,
          "oplog.head (format %d) carries no MAC, while the segment it names is encrypted: the "
          "end of the chain is not authenticated, so segments after it could have been removed "
          "(stores written by an older wtkms get an authenticated head with the tap's next "
          "segment; --allow-unencrypted accepts it)",
          head->format));
    if (memcmp(head->run, si->h.run, sizeof(head->run)) != 0)
        return (end_problem(rep, err, head->seq,
          "oplog.head names segment %" PRIu64 " as written by another tap run than the one that "
          "wrote %s: the head file was replaced",
          head->seq, name));
    if ((ret = wtkms_oplog_keys_get(keys, &si->h, name, &key, err)) != 0)
        return (ret);
    if ((ret = wtkms_oplog_head_mac(key, head, mac)) != 0)
        return (wtkms_errf(err, ret, "cannot compute the oplog head's MAC"));
    if (wtkms_ct_memcmp(mac, head->mac, sizeof(mac)) != 0)
        return (end_problem(rep, err, head->seq,
          "oplog.head does not authenticate under the key of %s: it was rewritten by someone "
          "without the master key (newest segments removed and the head recomputed, or the head "
          "replaced)",
          name));
    return (0);
}

/*
 * wtkms_oplog_check_ends --
 *     The head file against the segments; the newest entry against a record kept elsewhere.
 */
int
wtkms_oplog_check_ends(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts expect_last,
  wtkms_oplog_verify_report *rep, wtkms_err *err)
{
    const wtkms_oplog_seginfo *si;
    wtkms_ts first, last;
    uint64_t newest, flen;
    uint8_t *buf, digest[WTKMS_SHA256_LEN];
    char a[WTKMS_TS_STRLEN], b[WTKMS_TS_STRLEN], name[WTKMS_SEG_NAME_LEN];
    size_t i, len;
    wtkms_err e2;
    int ret;

    ret = 0;
    newest = cat->n > 0 ? cat->segs[cat->n - 1].seq : 0;
    if (cat->head_problem[0] != '\0')
        ret = end_problem(rep, err, 0, "%s", cat->head_problem);
    else if (!cat->have_head && cat->n > 0)
        ret = end_problem(rep, err, 0,
          "oplog.head is missing from %s: the newest segments may have been removed",
          wtkms_oplog_store_where(cat->store));
    else if (cat->have_head && cat->head.seq > newest)
        ret = end_problem(rep, err, cat->head.seq,
          "segment %" PRIu64 " (the newest, named by oplog.head) is missing%s", cat->head.seq,
          cat->n > 0 && cat->head.seq > newest + 1 ? ", and others before it" : "");
    else if (cat->have_head && cat->head.seq + 1 < newest)
        ret = end_problem(rep, err, cat->head.seq,
          "oplog.head names segment %" PRIu64 ", but segments up to %" PRIu64 " are present: "
          "the head file was replaced by an older one",
          cat->head.seq, newest);
    else if (cat->have_head) {
        for (i = 0; i < cat->n && cat->segs[i].seq != cat->head.seq; i++)
            ;
        si = i < cat->n ? &cat->segs[i] : NULL;
        wtkms_err_clear(&e2);
        if (si != NULL &&
            wtkms_oplog_store_read(cat->store, cat->head.seq, false, &buf, &len, &flen, &e2) == 0) {
            (void)wtkms_sha256(buf, len, digest);
            free(buf);
            if (memcmp(digest, cat->head.digest, sizeof(digest)) != 0)
                ret = end_problem(rep, err, cat->head.seq,
                  "segment %" PRIu64 " is not the file oplog.head records: it was replaced or "
                  "altered",
                  cat->head.seq);
            else if (si->ok && wtkms_oplog_keys_strict(keys))
                ret = head_mac(cat, si, keys, rep, err);
        }
        /* Every segment written with a store id must carry this store's. */
        for (i = 0; ret == 0 && cat->head.format >= 2 && i < cat->n; i++) {
            si = &cat->segs[i];
            if (!si->ok || !si->h.has_store ||
                memcmp(si->h.store, cat->head.store, sizeof(cat->head.store)) == 0)
                continue;
            wtkms_seg_name(si->seq, name, sizeof(name));
            ret = end_problem(rep, err, si->seq,
              "%s (segment %" PRIu64 ") was written into another oplog store: it was moved or "
              "copied here",
              name, si->seq);
        }
    }
    if (ret != 0 || expect_last == 0)
        return (ret);
    wtkms_oplog_catalog_range(cat, &first, &last);
    if (last < expect_last) {
        wtkms_ts_str_long(last, a, sizeof(a));
        wtkms_ts_str_long(expect_last, b, sizeof(b));
        ret = end_problem(rep, err, newest,
          "the newest entry in oplog store %s is %s, but --expect-last says %s was saved: the "
          "newest segments were removed (with the head rolled back), or the store was replaced",
          wtkms_oplog_store_where(cat->store), last == 0 ? "(none)" : a, b);
    }
    return (ret);
}

/*
 * wtkms_oplog_verify_report_free --
 *     Free the problem list.
 */
void
wtkms_oplog_verify_report_free(wtkms_oplog_verify_report *rep)
{
    free(rep->problems);
    memset(rep, 0, sizeof(*rep));
}
