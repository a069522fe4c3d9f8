/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store_local.c -- the local-directory oplog store: every write is a temporary file,
 * fsync, rename (link for a segment, which is never replaced) and fsync of the directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "fileio.h"
#include "oplog_segment.h"
#include "oplog_store_impl.h"

#define LOCK_NAME "tap.lock"

typedef struct {
    wtkms_oplog_store iface; /* must come first */
    char dir[4096];
    int lock_fd;
} local_store;

static const wtkms_oplog_store_ops local_ops;

/*
 * wtkms_oplog_store_local_open --
 *     A directory store.
 */
int
wtkms_oplog_store_local_open(
  const char *location, bool create, wtkms_oplog_store **storep, wtkms_err *err)
{
    local_store *s;
    struct stat sb;

    *storep = NULL;
    if (strlen(location) >= sizeof(s->dir) - 64)
        return (wtkms_errf(err, ENAMETOOLONG, "oplog store %s: path too long", location));
    if (stat(location, &sb) != 0) {
        if (errno != ENOENT || !create)
            return (wtkms_errf(err, errno, "oplog store %s: %s%s", location, strerror(errno),
              errno == ENOENT ? " (no segments have been written there)" : ""));
        if (mkdir(location, 0700) != 0 && errno != EEXIST)
            return (wtkms_errf(
              err, errno, "oplog store %s: cannot create it: %s", location, strerror(errno)));
    } else if (!S_ISDIR(sb.st_mode))
        return (wtkms_errf(err, ENOTDIR, "oplog store %s is not a directory", location));
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)snprintf(s->dir, sizeof(s->dir), "%s", location);
    (void)snprintf(s->iface.where, sizeof(s->iface.where), "%s", location);
    s->iface.ops = &local_ops;
    s->lock_fd = -1;
    *storep = &s->iface;
    return (0);
}

/*
 * local_close --
 *     Release the lock and free.
 */
static void
local_close(wtkms_oplog_store *st)
{
    local_store *s = (local_store *)st;

    if (s->lock_fd >= 0)
        (void)close(s->lock_fd);
    free(s);
}

/*
 * local_list --
 *     Scan the directory for segment names.
 */
static int
local_list(wtkms_oplog_store *st, uint64_t **seqsp, size_t *np, wtkms_err *err)
{
    local_store *s = (local_store *)st;
    struct dirent *de;
    DIR *d;
    uint64_t *seqs, *p, seq;
    size_t n, cap;

    *seqsp = NULL;
    *np = 0;
    if ((d = opendir(s->dir)) == NULL)
        return (wtkms_errf(err, errno, "oplog store %s: %s", s->dir, strerror(errno)));
    seqs = NULL;
    n = cap = 0;
    while ((de = readdir(d)) != NULL) {
        if ((seq = wtkms_seg_name_seq(de->d_name)) == 0)
            continue;
        if (n == cap) {
            cap = cap == 0 ? 64 : cap * 2;
            if ((p = realloc(seqs, cap * sizeof(*seqs))) == NULL) {
                free(seqs);
                (void)closedir(d);
                return (wtkms_errf(err, ENOMEM, "out of memory"));
            }
            seqs = p;
        }
        seqs[n++] = seq;
    }
    (void)closedir(d);
    *seqsp = seqs;
    *np = n;
    return (0);
}

/*
 * local_read --
 *     A segment file, whole or its header.
 */
static int
local_read(wtkms_oplog_store *s, uint64_t seq, bool header_only, uint8_t **bufp, size_t *lenp,
  uint64_t *file_lenp, wtkms_err *err)
{
    struct stat sb;
    char path[4200];
    uint8_t *buf;
    size_t want, got;
    uint32_t hlen;
    int fd, ret;

    *bufp = NULL;
    *lenp = 0;
    buf = NULL;
    wtkms_oplog_store_path(s, seq, path, sizeof(path));
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (fstat(fd, &sb) != 0) {
        ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
        goto err;
    }
    *file_lenp = (uint64_t)sb.st_size;
    if ((uint64_t)sb.st_size > WTKMS_SEG_MAX_BODY + WTKMS_SEG_MAX_HEADER + 64) {
        ret = wtkms_errf(
          err, EFBIG, "%s: %lld bytes is larger than any segment", path, (long long)sb.st_size);
        goto err;
    }
    want = (size_t)sb.st_size;
    if (header_only && want > WTKMS_SEG_PREFIX_LEN) {
        uint8_t prefix[WTKMS_SEG_PREFIX_LEN];
        if ((ret = wtkms_read_all(fd, prefix, sizeof(prefix), &got)) != 0 ||
            got != sizeof(prefix)) {
            ret = wtkms_errf(err, ret != 0 ? ret : EIO, "%s: read failed", path);
            goto err;
        }
        hlen = wtkms_get_le32(prefix + WTKMS_SEG_HLEN_LOCATION);
        if (hlen <= WTKMS_SEG_MAX_HEADER && (size_t)hlen + WTKMS_SEG_PREFIX_LEN < want)
            want = (size_t)hlen + WTKMS_SEG_PREFIX_LEN;
        if (lseek(fd, 0, SEEK_SET) != 0) {
            ret = wtkms_errf(err, errno, "%s: seek: %s", path, strerror(errno));
            goto err;
        }
    }
    if ((buf = malloc(want + 1)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory for %s", path);
        goto err;
    }
    if ((ret = wtkms_read_all(fd, buf, want, &got)) != 0) {
        ret = wtkms_errf(err, ret, "%s: read: %s", path, strerror(ret));
        goto err;
    }
    (void)close(fd);
    *bufp = buf;
    *lenp = got;
    return (0);
err:
    free(buf);
    (void)close(fd);
    return (ret);
}

/*
 * local_read_buf --
 *     A whole segment file into a reusable buffer.
 */
static int
local_read_buf(wtkms_oplog_store *s, uint64_t seq, wtkms_buf *b, wtkms_err *err)
{
    struct stat sb;
    char path[4200];
    int fd, ret;

    b->len = 0;
    wtkms_oplog_store_path(s, seq, path, sizeof(path));
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (fstat(fd, &sb) != 0) {
        ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
        goto done;
    }
    if ((uint64_t)sb.st_size > WTKMS_SEG_MAX_BODY + WTKMS_SEG_MAX_HEADER + 64) {
        ret = wtkms_errf(
          err, EFBIG, "%s: %lld bytes is larger than any segment", path, (long long)sb.st_size);
        goto done;
    }
    if ((ret = wtkms_buf_reserve(b, (size_t)sb.st_size + 1)) != 0) {
        ret = wtkms_errf(err, ret, "out of memory for %s", path);
        goto done;
    }
    if ((ret = wtkms_read_all(fd, b->p, (size_t)sb.st_size, &b->len)) != 0) {
        b->len = 0;
        ret = wtkms_errf(err, ret, "%s: read: %s", path, strerror(ret));
    }
done:
    (void)close(fd);
    return (ret);
}

/*
 * local_write --
 *     Atomic, durable, exclusive.
 */
static int
local_write(wtkms_oplog_store *s, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err)
{
    char path[4200];

    wtkms_oplog_store_path(s, seq, path, sizeof(path));
    return (wtkms_write_file_atomic(path, data, len, 0600, 1, err));
}

/*
 * local_read_head --
 *     The head file's bytes.
 */
static int
local_read_head(wtkms_oplog_store *st, char **bufp, size_t *lenp, wtkms_err *err)
{
    local_store *s = (local_store *)st;
    char path[4200];

    (void)snprintf(path, sizeof(path), "%s/%s", s->dir, WTKMS_OPLOG_HEAD_NAME);
    return (wtkms_read_file(path, WTKMS_OPLOG_HEAD_MAX, bufp, lenp, err));
}

/*
 * local_write_head --
 *     Replace the head file atomically.
 */
static int
local_write_head(wtkms_oplog_store *st, const uint8_t *data, size_t len, wtkms_err *err)
{
    local_store *s = (local_store *)st;
    char path[4200];

    (void)snprintf(path, sizeof(path), "%s/%s", s->dir, WTKMS_OPLOG_HEAD_NAME);
    return (wtkms_write_file_atomic(path, data, len, 0600, 0, err));
}

/*
 * remove_leftovers --
 *     Temporary files a crashed tap left behind (never a segment: those appear only by rename).
 *     Only the lock holder writes, so none of them is being written now.
 */
static void
remove_leftovers(local_store *s)
{
    struct dirent *de;
    DIR *d;
    char path[4096 + 512];

    if ((d = opendir(s->dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL)
        if ((strncmp(de->d_name, "oplog-", 6) == 0 || strncmp(de->d_name, "oplog.head", 10) == 0) &&
            strstr(de->d_name, ".tmp.") != NULL) {
            (void)snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
            (void)unlink(path);
        }
    (void)closedir(d);
}

/*
 * local_lock --
 *     flock the lock file; the kernel drops it when the process dies, so a crash leaves no stale
 *     lock behind.
 */
static int
local_lock(wtkms_oplog_store *st, wtkms_err *err)
{
    local_store *s = (local_store *)st;
    char path[4200];
    int fd;

    (void)snprintf(path, sizeof(path), "%s/%s", s->dir, LOCK_NAME);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        (void)close(fd);
        if (errno == EWOULDBLOCK)
            return (wtkms_errf(err, EBUSY,
              "oplog store %s is in use by another tap (it holds %s): two taps writing one store "
              "would fork its chain; stop the other tap or use another store",
              s->dir, path));
        return (wtkms_errf(err, errno, "%s: lock: %s", path, strerror(errno)));
    }
    s->lock_fd = fd;
    remove_leftovers(s);
    return (0);
}

static const wtkms_oplog_store_ops local_ops = {
    .list = local_list,
    .read = local_read,
    .read_buf = local_read_buf,
    .write = local_write,
    .read_head = local_read_head,
    .write_head = local_write_head,
    .lock = local_lock,
    .close = local_close,
};
