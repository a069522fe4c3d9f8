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
wtkms_oplog_verify(
  wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_oplog_verify_report *rep, wtkms_err *err)
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

    /* The head file names the newest segment written: a missing tail shows here. */
    if (cat->head_problem[0] != '\0')
        ret = problem(rep, 0, "%s", cat->head_problem);
    else if (!cat->have_head && cat->n > 0)
        ret = problem(rep, 0,
          "oplog.head is missing from %s: the newest segments may have been removed",
          wtkms_oplog_store_where(cat->store));
    else if (cat->have_head && (cat->n == 0 || cat->head.seq > cat->segs[cat->n - 1].seq))
        ret = problem(rep, cat->head.seq,
          "segment %" PRIu64 " (the newest, named by oplog.head) is missing%s", cat->head.seq,
          cat->n > 0 && cat->head.seq > cat->segs[cat->n - 1].seq + 1 ? ", and others before it"
                                                                      : "");
    else if (cat->have_head) {
        for (i = 0; i < cat->n && cat->segs[i].seq != cat->head.seq; i++)
            ;
        if (i == cat->n)
            ret = 0; /* already reported as missing */
        else {
            uint8_t *buf;
            size_t len;
            uint64_t flen;
            wtkms_err_clear(&e2);
            if (wtkms_oplog_store_read(cat->store, cat->head.seq, false, &buf, &len, &flen, &e2) ==
                0) {
                (void)wtkms_sha256(buf, len, digest);
                free(buf);
                if (memcmp(digest, cat->head.digest, sizeof(digest)) != 0)
                    ret = problem(rep, cat->head.seq,
                      "segment %" PRIu64 " is not the file oplog.head records: it was replaced or "
                      "altered",
                      cat->head.seq);
            }
        }
    }
    if (ret != 0)
        goto nomem;
    ret = 0;
    goto done;
nomem:
    ret = wtkms_errf(err, ENOMEM, "out of memory");
done:
    wtkms_oplog_reader_free(&rd);
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
