/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_export.c -- entries out of a store; BSON files out of entries.
 */
#define _GNU_SOURCE
#include "oplog_export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

typedef struct {
    wtkms_ts after, until;
    wtkms_oplog_entry_fn fn;
    void *arg;
} scan_filter;

/*
 * filter_entry --
 *     Pass on the entries inside the range.
 */
static int
filter_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    scan_filter *f = arg;

    if (ts <= f->after || ts > f->until)
        return (0);
    return (f->fn(f->arg, doc, len, ts, err));
}

/*
 * wtkms_oplog_scan --
 *     Read the segments that overlap the range, and the gap markers between them.
 */
int
wtkms_oplog_scan(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after, wtkms_ts until,
  wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err)
{
    wtkms_oplog_seginfo *si;
    wtkms_seg_header h;
    wtkms_oplog_reader rd;
    scan_filter f;
    uint8_t digest[WTKMS_SHA256_LEN], prev_digest[WTKMS_SHA256_LEN];
    wtkms_ts last;
    uint64_t prev_seq;
    char name[WTKMS_SEG_NAME_LEN];
    size_t i, lo, hi;
    int ret;

    /* The first and last segments to read: entries segments overlapping (after, until]. */
    lo = hi = cat->n;
    for (i = 0; i < cat->n; i++) {
        si = &cat->segs[i];
        if (!si->ok || si->h.kind != WTKMS_SEG_ENTRIES)
            continue;
        if (si->h.last_ts > after && si->h.first_ts <= until) {
            if (lo == cat->n)
                lo = i;
            hi = i;
        }
    }
    if (lo == cat->n)
        return (0);
    if ((ret = wtkms_oplog_reader_init(&rd, err)) != 0)
        return (ret);
    f.after = after;
    f.until = until;
    f.fn = fn;
    f.arg = arg;
    prev_seq = 0;
    last = 0;
    ret = 0;
    for (i = lo; i <= hi; i++) {
        si = &cat->segs[i];
        wtkms_seg_name(si->seq, name, sizeof(name));
        if (prev_seq != 0 && si->seq != prev_seq + 1) {
            ret = wtkms_errf(err, EILSEQ,
              "oplog store %s is missing segment %" PRIu64 ": run 'wtkms oplog verify'",
              wtkms_oplog_store_where(cat->store), prev_seq + 1);
            break;
        }
        if ((ret = wtkms_oplog_read_segment(cat->store, si->seq, keys, &rd, &h, digest, err)) != 0)
            break;
        if (prev_seq != 0 && memcmp(h.prev, prev_digest, sizeof(prev_digest)) != 0) {
            ret = wtkms_errf(err, EILSEQ,
              "%s (segment %" PRIu64 ") does not follow segment %" PRIu64 ": segment %" PRIu64
              " was replaced; run 'wtkms oplog verify'",
              name, si->seq, prev_seq, prev_seq);
            break;
        }
        if (h.kind == WTKMS_SEG_ENTRIES)
            ret = wtkms_oplog_walk(&h, rd.plain.p, last, filter_entry, &f, err);
        if (ret != 0)
            break;
        last = h.kind == WTKMS_SEG_ENTRIES ? h.last_ts : h.gap_to - 1;
        memcpy(prev_digest, digest, sizeof(digest));
        prev_seq = si->seq;
    }
    wtkms_oplog_reader_free(&rd);
    return (ret);
}

/*
 * wtkms_bson_out_open --
 *     A temporary file beside the target.
 */
int
wtkms_bson_out_open(wtkms_bson_out *o, const char *path, bool force, wtkms_err *err)
{
    struct stat sb;

    memset(o, 0, sizeof(*o));
    o->fd = -1;
    if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", path));
    if (!force && stat(path, &sb) == 0)
        return (wtkms_errf(err, EEXIST,
          "%s already exists: refusing to overwrite it (--force "
          "replaces it)",
          path));
    (void)snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%ld", path, (long)getpid());
    if ((o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", o->tmp, strerror(errno)));
    return (0);
}

/*
 * flush_buf --
 *     Write the buffered bytes.
 */
static int
flush_buf(wtkms_bson_out *o, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_write_all(o->fd, o->buf.p, o->buf.len)) != 0)
        return (wtkms_errf(err, ret, "%s: write: %s", o->tmp, strerror(ret)));
    o->buf.len = 0; /* reused; wiped when freed */
    return (0);
}

/*
 * wtkms_bson_out_write --
 *     Append one document.
 */
int
wtkms_bson_out_write(wtkms_bson_out *o, const uint8_t *doc, size_t len, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_buf_append(&o->buf, doc, len)) != 0)
        return (wtkms_errf(err, ret, "out of memory"));
    o->count++;
    o->bytes += len;
    if (o->buf.len >= 1024 * 1024)
        return (flush_buf(o, err));
    return (0);
}

/*
 * wtkms_bson_out_commit --
 *     Durable, then visible.
 */
int
wtkms_bson_out_commit(wtkms_bson_out *o, wtkms_err *err)
{
    char dir[4096];
    int ret;

    if ((ret = flush_buf(o, err)) != 0)
        goto err;
    if (fsync(o->fd) != 0) {
        ret = wtkms_errf(err, errno, "%s: fsync: %s", o->tmp, strerror(errno));
        goto err;
    }
    if (close(o->fd) != 0) {
        o->fd = -1;
        ret = wtkms_errf(err, errno, "%s: close: %s", o->tmp, strerror(errno));
        goto err;
    }
    o->fd = -1;
    if (rename(o->tmp, o->path) != 0) {
        ret = wtkms_errf(err, errno, "%s: rename: %s", o->path, strerror(errno));
        goto err;
    }
    wtkms_buf_free(&o->buf);
    (void)snprintf(dir, sizeof(dir), "%s", o->path);
    return (wtkms_fsync_dir(dirname(dir), err));
err:
    wtkms_bson_out_abort(o);
    return (ret);
}

/*
 * wtkms_bson_out_abort --
 *     Leave nothing behind.
 */
void
wtkms_bson_out_abort(wtkms_bson_out *o)
{
    if (o->fd >= 0)
        (void)close(o->fd);
    o->fd = -1;
    if (o->tmp[0] != '\0')
        (void)unlink(o->tmp);
    wtkms_buf_free(&o->buf);
}
