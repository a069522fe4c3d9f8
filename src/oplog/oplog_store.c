/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store.c -- the local-directory oplog store.
 */
#define _GNU_SOURCE
#include "oplog_store.h"

#include <bson/bson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "oplog_segment.h"

#define HEAD_NAME "oplog.head"
#define LOCK_NAME "tap.lock"

struct wtkms_oplog_store {
    char dir[4096];
    int lock_fd;
};

/*
 * wtkms_oplog_store_open --
 *     A directory store.
 */
int
wtkms_oplog_store_open(
  const char *location, bool create, wtkms_oplog_store **storep, wtkms_err *err)
{
    wtkms_oplog_store *s;
    struct stat sb;

    *storep = NULL;
    if (location == NULL || location[0] == '\0')
        return (wtkms_errf(err, EINVAL, "an oplog store is needed: --store DIR"));
    if (strncmp(location, "s3://", 5) == 0)
        return (wtkms_errf(err, EINVAL,
          "oplog store %s: this build keeps oplog segments in a local directory only; give a "
          "directory (and copy it to object storage with your own tooling)",
          location));
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
    s->lock_fd = -1;
    *storep = s;
    return (0);
}

/*
 * wtkms_oplog_store_close --
 *     Release the lock and free.
 */
void
wtkms_oplog_store_close(wtkms_oplog_store *s)
{
    if (s == NULL)
        return;
    if (s->lock_fd >= 0)
        (void)close(s->lock_fd);
    free(s);
}

/*
 * wtkms_oplog_store_where --
 *     The store's location.
 */
const char *
wtkms_oplog_store_where(const wtkms_oplog_store *s)
{
    return (s->dir);
}

/*
 * wtkms_oplog_store_path --
 *     STORE/oplog-N.seg.
 */
void
wtkms_oplog_store_path(const wtkms_oplog_store *s, uint64_t seq, char *out, size_t outlen)
{
    char name[WTKMS_SEG_NAME_LEN];

    wtkms_seg_name(seq, name, sizeof(name));
    (void)snprintf(out, outlen, "%s/%s", s->dir, name);
}

/*
 * cmp_u64 --
 *     qsort order.
 */
static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x < y ? -1 : x > y);
}

/*
 * wtkms_oplog_store_list --
 *     Scan the directory for segment names.
 */
int
wtkms_oplog_store_list(wtkms_oplog_store *s, uint64_t **seqsp, size_t *np, wtkms_err *err)
{
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
    if (n > 0)
        qsort(seqs, n, sizeof(*seqs), cmp_u64);
    *seqsp = seqs;
    *np = n;
    return (0);
}

/*
 * read_full --
 *     read(2) until len bytes or end of file.
 */
static ssize_t
read_full(int fd, uint8_t *buf, size_t len)
{
    size_t off;
    ssize_t n;

    for (off = 0; off < len; off += (size_t)n) {
        n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n < 0)
            return (-1);
        if (n == 0)
            break;
    }
    return ((ssize_t)off);
}

/*
 * wtkms_oplog_store_read --
 *     A segment file, whole or its header.
 */
int
wtkms_oplog_store_read(wtkms_oplog_store *s, uint64_t seq, bool header_only, uint8_t **bufp,
  size_t *lenp, uint64_t *file_lenp, wtkms_err *err)
{
    struct stat sb;
    char path[4200];
    uint8_t *buf;
    size_t want;
    ssize_t n;
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
        if (read_full(fd, prefix, sizeof(prefix)) != (ssize_t)sizeof(prefix)) {
            ret = wtkms_errf(err, errno ? errno : EIO, "%s: read failed", path);
            goto err;
        }
        hlen = (uint32_t)prefix[8] | (uint32_t)prefix[9] << 8 | (uint32_t)prefix[10] << 16 |
               (uint32_t)prefix[11] << 24;
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
    if ((n = read_full(fd, buf, want)) < 0) {
        ret = wtkms_errf(err, errno, "%s: read: %s", path, strerror(errno));
        goto err;
    }
    (void)close(fd);
    *bufp = buf;
    *lenp = (size_t)n;
    return (0);
err:
    free(buf);
    (void)close(fd);
    return (ret);
}

/*
 * wtkms_oplog_store_read_buf --
 *     A whole segment file into a reusable buffer.
 */
int
wtkms_oplog_store_read_buf(wtkms_oplog_store *s, uint64_t seq, wtkms_buf *b, wtkms_err *err)
{
    struct stat sb;
    char path[4200];
    ssize_t n;
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
    if ((n = read_full(fd, b->p, (size_t)sb.st_size)) < 0) {
        ret = wtkms_errf(err, errno, "%s: read: %s", path, strerror(errno));
        goto done;
    }
    b->len = (size_t)n;
    ret = 0;
done:
    (void)close(fd);
    return (ret);
}

/*
 * wtkms_oplog_store_write --
 *     Atomic, durable, exclusive.
 */
int
wtkms_oplog_store_write(
  wtkms_oplog_store *s, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err)
{
    char path[4200];

    wtkms_oplog_store_path(s, seq, path, sizeof(path));
    return (wtkms_write_file_atomic(path, data, len, 0600, 1, err));
}

/*
 * wtkms_oplog_head_mac --
 *     HMAC over the head's fields under a key derived from the run key.
 */
int
wtkms_oplog_head_mac(
  const wtkms_key *run_key, const wtkms_oplog_head *head, uint8_t out[WTKMS_SHA256_LEN])
{
    static const char info[] = "wtkms oplog head v2";
    uint8_t key[WTKMS_KEY_LEN], msg[sizeof(info) - 1 + 8 + WTKMS_SHA256_LEN + 16 + 16], *p;
    int i, ret;

    if ((ret = wtkms_hkdf(run_key->b, WTKMS_KEY_LEN, head->run, sizeof(head->run),
           (const uint8_t *)info, sizeof(info) - 1, key, sizeof(key))) != 0)
        return (ret);
    p = msg;
    memcpy(p, info, sizeof(info) - 1);
    p += sizeof(info) - 1;
    for (i = 0; i < 8; i++)
        *p++ = (uint8_t)(head->seq >> (56 - 8 * i));
    memcpy(p, head->digest, WTKMS_SHA256_LEN);
    p += WTKMS_SHA256_LEN;
    memcpy(p, head->store, sizeof(head->store));
    p += sizeof(head->store);
    memcpy(p, head->run, sizeof(head->run));
    ret = wtkms_hmac_sha256(key, sizeof(key), msg, sizeof(msg), out);
    wtkms_wipe(key, sizeof(key));
    return (ret);
}

/*
 * get_bin --
 *     A binary field (generic subtype, as written) of an exact length.
 */
static bool
get_bin(const bson_t *doc, const char *key, uint8_t *out, uint32_t len)
{
    bson_iter_t it;
    bson_subtype_t st;
    const uint8_t *data;
    uint32_t dlen;

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_BINARY(&it))
        return (false);
    bson_iter_binary(&it, &st, &dlen, &data);
    if (st != BSON_SUBTYPE_BINARY || dlen != len)
        return (false);
    memcpy(out, data, len);
    return (true);
}

/*
 * wtkms_oplog_store_read_head --
 *     The head file: format 1 { format, seq, digest }, format 2 adds store, run and mac.
 */
int
wtkms_oplog_store_read_head(wtkms_oplog_store *s, wtkms_oplog_head *head, wtkms_err *err)
{
    bson_t doc;
    bson_iter_t it;
    char path[4200], *buf;
    size_t len;
    bool ok;
    int ret;

    memset(head, 0, sizeof(*head));
    (void)snprintf(path, sizeof(path), "%s/%s", s->dir, HEAD_NAME);
    if ((ret = wtkms_read_file(path, 4096, &buf, &len, err)) != 0)
        return (ret);
    ok = bson_init_static(&doc, (const uint8_t *)buf, len) &&
         bson_validate(&doc, BSON_VALIDATE_NONE, NULL);
    if (ok && bson_iter_init_find(&it, &doc, "format") && BSON_ITER_HOLDS_INT32(&it))
        head->format = bson_iter_int32(&it);
    if (ok && head->format != 1 && head->format != WTKMS_OPLOG_HEAD_FORMAT) {
        free(buf);
        return (wtkms_errf(err, EILSEQ,
          "%s has head format %d, not one this wtkms reads (1, %d): use a newer wtkms, or the file "
          "is damaged",
          path, head->format, WTKMS_OPLOG_HEAD_FORMAT));
    }
    ok = ok && bson_iter_init_find(&it, &doc, "seq") && BSON_ITER_HOLDS_INT64(&it) &&
         bson_iter_int64(&it) > 0;
    if (ok)
        head->seq = (uint64_t)bson_iter_int64(&it);
    ok = ok && get_bin(&doc, "digest", head->digest, WTKMS_SHA256_LEN);
    if (ok && head->format == 2) {
        ok = get_bin(&doc, "store", head->store, sizeof(head->store)) &&
             get_bin(&doc, "run", head->run, sizeof(head->run));
        if (ok && bson_iter_init_find(&it, &doc, "mac")) {
            head->has_mac = true;
            ok = get_bin(&doc, "mac", head->mac, WTKMS_SHA256_LEN);
        }
    }
    free(buf);
    if (!ok)
        return (wtkms_errf(
          err, EILSEQ, "%s is damaged: it does not name a segment and its digest", path));
    return (0);
}

/*
 * wtkms_oplog_store_write_head --
 *     Replace the head file atomically (format 2).
 */
int
wtkms_oplog_store_write_head(wtkms_oplog_store *s, const wtkms_oplog_head *head, wtkms_err *err)
{
    bson_t doc;
    char path[4200];
    int ret;

    (void)snprintf(path, sizeof(path), "%s/%s", s->dir, HEAD_NAME);
    bson_init(&doc);
    BSON_APPEND_INT32(&doc, "format", WTKMS_OPLOG_HEAD_FORMAT);
    BSON_APPEND_INT64(&doc, "seq", (int64_t)head->seq);
    BSON_APPEND_BINARY(&doc, "digest", BSON_SUBTYPE_BINARY, head->digest, WTKMS_SHA256_LEN);
    BSON_APPEND_BINARY(&doc, "store", BSON_SUBTYPE_BINARY, head->store, sizeof(head->store));
    BSON_APPEND_BINARY(&doc, "run", BSON_SUBTYPE_BINARY, head->run, sizeof(head->run));
    if (head->has_mac)
        BSON_APPEND_BINARY(&doc, "mac", BSON_SUBTYPE_BINARY, head->mac, WTKMS_SHA256_LEN);
    ret = wtkms_write_file_atomic(path, bson_get_data(&doc), doc.len, 0600, 0, err);
    bson_destroy(&doc);
    return (ret);
}

/*
 * remove_leftovers --
 *     Temporary files a crashed tap left behind (never a segment: those appear only by rename).
 *     Only the lock holder writes, so none of them is being written now.
 */
static void
remove_leftovers(wtkms_oplog_store *s)
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
 * wtkms_oplog_store_lock --
 *     flock the lock file; the kernel drops it when the process dies, so a crash leaves no stale
 *     lock behind.
 */
int
wtkms_oplog_store_lock(wtkms_oplog_store *s, wtkms_err *err)
{
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
