/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_local.c -- a snapshot store in a local directory.
 *
 * DIR/snapshots/ID/{manifest,files/NNNNNNNN}. A snapshot is written into
 * DIR/snapshots/.ID.partial/ and renamed into place after its manifest is durable; a deleted one
 * is first renamed to .ID.deleting, so a crash leaves either a listed, complete snapshot or a
 * hidden leftover that "prune" removes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "snaputil.h"
#include "store.h"

typedef struct {
    wtkms_store iface; /* must come first */
    char root[4096];   /* DIR/snapshots */
} local_store;

struct wtkms_store_writer {
    int fd;
    int64_t written, flushed;
    char path[4096];
};

struct wtkms_store_reader {
    int fd;
    char path[4096];
};

/*
 * lpath --
 *     root/ID or root/.ID.partial, plus an optional name.
 */
static int
lpath(local_store *ls, const char *id, const char *suffix, const char *name, char *out,
  size_t outlen, wtkms_err *err)
{
    int n;

    if (suffix != NULL)
        n = snprintf(
          out, outlen, "%s/.%s%s%s%s", ls->root, id, suffix, name ? "/" : "", name ? name : "");
    else
        n = snprintf(out, outlen, "%s/%s%s%s", ls->root, id, name ? "/" : "", name ? name : "");
    if (n < 0 || (size_t)n >= outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "store %s: path too long", ls->iface.url));
    return (0);
}

/*
 * local_begin --
 *     Create the store if needed and the snapshot's partial directory.
 */
static int
local_begin(wtkms_store *s, const char *id, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    char path[4096];
    int ret;

    if ((ret = wtkms_mkdir_p(ls->root, 0700, err)) != 0)
        return (wtkms_err_prefix(err, "snapshot store %s", s->url));
    if ((ret = lpath(ls, id, ".partial", NULL, path, sizeof(path), err)) != 0)
        return (ret);
    if (mkdir(path, 0700) != 0)
        return (wtkms_errf(
          err, errno, "snapshot store %s: cannot create %s: %s", s->url, path, strerror(errno)));
    if ((ret = lpath(ls, id, ".partial", "files", path, sizeof(path), err)) != 0)
        return (ret);
    if (mkdir(path, 0700) != 0)
        return (wtkms_errf(
          err, errno, "snapshot store %s: cannot create %s: %s", s->url, path, strerror(errno)));
    return (0);
}

/*
 * local_put_open --
 *     Create an object file in the partial directory.
 */
static int
local_put_open(
  wtkms_store *s, const char *id, const char *name, wtkms_store_writer **wp, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    wtkms_store_writer *w;
    int ret;

    *wp = NULL;
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = lpath(ls, id, ".partial", name, w->path, sizeof(w->path), err)) != 0) {
        free(w);
        return (ret);
    }
    if ((w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        ret =
          wtkms_errf(err, errno, "snapshot store: cannot create %s: %s", w->path, strerror(errno));
        free(w);
        return (ret);
    }
    *wp = w;
    return (0);
}

/*
 * local_put_write --
 *     Append to an object.
 */
static int
local_put_write(wtkms_store_writer *w, const void *buf, size_t len, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_write_all(w->fd, buf, len)) != 0)
        return (wtkms_errf(err, ret, "snapshot store: writing %s: %s", w->path, strerror(ret)));
    w->written += (int64_t)len;
    wtkms_stream_flush(w->fd, w->written, &w->flushed);
    return (0);
}

/*
 * local_put_close --
 *     fdatasync and close an object.
 */
static int
local_put_close(wtkms_store_writer *w, wtkms_err *err)
{
    int ret;

    ret = 0;
    if (fdatasync(w->fd) != 0)
        ret = wtkms_errf(err, errno, "snapshot store: fsync %s: %s", w->path, strerror(errno));
    if (close(w->fd) != 0 && ret == 0)
        ret = wtkms_errf(err, errno, "snapshot store: close %s: %s", w->path, strerror(errno));
    free(w);
    return (ret);
}

/*
 * local_put_abort --
 *     Drop an object being written.
 */
static void
local_put_abort(wtkms_store_writer *w)
{
    if (w == NULL)
        return;
    (void)close(w->fd);
    (void)unlink(w->path);
    free(w);
}

/*
 * local_commit --
 *     Manifest, fsync, rename the partial directory into place, fsync the parent.
 */
static int
local_commit(wtkms_store *s, const char *id, const void *manifest, size_t len, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    char path[4096], dir[4096], final[4096];
    int ret;

    if ((ret = lpath(ls, id, ".partial", "files", dir, sizeof(dir), err)) != 0 ||
        (ret = wtkms_fsync_dir(dir, err)) != 0)
        return (ret);
    if ((ret = lpath(ls, id, ".partial", "manifest", path, sizeof(path), err)) != 0 ||
        (ret = wtkms_write_file_atomic(path, manifest, len, 0600, 1, err)) != 0)
        return (wtkms_err_prefix(err, "snapshot store %s", s->url));
    if ((ret = lpath(ls, id, ".partial", NULL, dir, sizeof(dir), err)) != 0 ||
        (ret = lpath(ls, id, NULL, NULL, final, sizeof(final), err)) != 0)
        return (ret);
    if (rename(dir, final) != 0)
        return (wtkms_errf(err, errno, "snapshot store %s: cannot rename %s to %s: %s", s->url, dir,
          final, strerror(errno)));
    return (wtkms_fsync_dir(ls->root, err));
}

/*
 * local_abort --
 *     Remove a partial snapshot.
 */
static void
local_abort(wtkms_store *s, const char *id)
{
    local_store *ls = (local_store *)s;
    char path[4096];

    if (lpath(ls, id, ".partial", NULL, path, sizeof(path), NULL) == 0)
        (void)wtkms_rmtree(path, NULL);
}

/*
 * no_such_snapshot --
 *     The error for a snapshot id the store does not hold.
 */
static int
no_such_snapshot(wtkms_store *s, const char *id, wtkms_err *err)
{
    return (wtkms_errf(err, ENOENT,
      "store %s holds no snapshot %s: see 'wtkms snapshot list --store %s'", s->url, id, s->url));
}

/*
 * local_get_manifest --
 *     Read a committed manifest.
 */
static int
local_get_manifest(wtkms_store *s, const char *id, uint8_t **bufp, size_t *lenp, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    char path[4096];
    int ret;

    if ((ret = lpath(ls, id, NULL, "manifest", path, sizeof(path), err)) != 0)
        return (ret);
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        if ((ret = lpath(ls, id, NULL, NULL, path, sizeof(path), err)) != 0)
            return (ret);
        if (access(path, F_OK) == 0)
            return (wtkms_errf(err, EBADMSG,
              "snapshot %s in store %s has no manifest: it is damaged (its manifest was removed)",
              id, s->url));
        return (no_such_snapshot(s, id, err));
    }
    if ((ret = wtkms_read_file(path, WTKMS_STORE_MANIFEST_MAX, (char **)bufp, lenp, err)) != 0)
        return (wtkms_err_prefix(err, "snapshot %s", id));
    return (0);
}

/*
 * local_get_open --
 *     Open an object for reading.
 */
static int
local_get_open(
  wtkms_store *s, const char *id, const char *name, wtkms_store_reader **rp, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    wtkms_store_reader *r;
    int ret;

    *rp = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = lpath(ls, id, NULL, name, r->path, sizeof(r->path), err)) != 0) {
        free(r);
        return (ret);
    }
    if ((r->fd = open(r->path, O_RDONLY | O_CLOEXEC)) < 0) {
        ret = wtkms_errf(err, errno, "%s: %s", r->path, strerror(errno));
        free(r);
        return (ret);
    }
    (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *rp = r;
    return (0);
}

/*
 * local_get_read --
 *     Read from an object.
 */
static int
local_get_read(wtkms_store_reader *r, void *buf, size_t len, size_t *gotp, wtkms_err *err)
{
    ssize_t n;

    for (;;) {
        if ((n = read(r->fd, buf, len)) >= 0)
            break;
        if (errno != EINTR)
            return (wtkms_errf(err, errno, "%s: read: %s", r->path, strerror(errno)));
    }
    *gotp = (size_t)n;
    return (0);
}

/*
 * local_get_close --
 *     Close an object.
 */
static void
local_get_close(wtkms_store_reader *r)
{
    if (r == NULL)
        return;
    (void)close(r->fd);
    free(r);
}

/*
 * cmp_str --
 *     qsort comparator for strings.
 */
static int
cmp_str(const void *a, const void *b)
{
    return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * local_list --
 *     Committed snapshots: directories named like an id that hold a manifest.
 */
static int
local_list(wtkms_store *s, char ***idsp, size_t *np, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    struct dirent *de;
    char **ids, **tmp, path[4096];
    size_t n, cap;
    DIR *d;
    int ret;

    *idsp = NULL;
    *np = 0;
    if ((d = opendir(ls->root)) == NULL) {
        struct stat sb;
        if (errno != ENOENT)
            return (wtkms_errf(err, errno, "snapshot store %s: %s", s->url, strerror(errno)));
        /* A store directory with nothing in it yet is an empty store; no directory is an error. */
        if (stat(s->url, &sb) == 0 && S_ISDIR(sb.st_mode))
            return (0);
        return (wtkms_errf(err, ENOENT, "snapshot store %s does not exist", s->url));
    }
    ids = NULL;
    n = cap = 0;
    ret = 0;
    while ((de = readdir(d)) != NULL) {
        if (!wtkms_snap_id_valid(de->d_name))
            continue;
        if (lpath(ls, de->d_name, NULL, "manifest", path, sizeof(path), NULL) != 0 ||
            access(path, F_OK) != 0)
            continue;
        if (n == cap) {
            cap = cap == 0 ? 16 : cap * 2;
            if ((tmp = realloc(ids, cap * sizeof(*ids))) == NULL) {
                ret = wtkms_errf(err, ENOMEM, "out of memory");
                break;
            }
            ids = tmp;
        }
        if ((ids[n] = strdup(de->d_name)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    (void)closedir(d);
    if (ret != 0) {
        wtkms_store_free_ids(ids, n);
        return (ret);
    }
    if (n > 0)
        qsort(ids, n, sizeof(*ids), cmp_str);
    *idsp = ids;
    *np = n;
    return (0);
}

/*
 * local_cleanup --
 *     Remove .ID.partial and .ID.deleting leftovers older than max_age_ms.
 */
static int
local_cleanup(wtkms_store *s, int64_t max_age_ms, int *removedp, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    struct dirent *de;
    struct stat sb;
    char path[4096];
    size_t len;
    time_t now;
    DIR *d;
    int ret;

    *removedp = 0;
    if ((d = opendir(ls->root)) == NULL)
        return (errno == ENOENT
                  ? 0
                  : wtkms_errf(err, errno, "snapshot store %s: %s", s->url, strerror(errno)));
    now = time(NULL);
    ret = 0;
    while ((de = readdir(d)) != NULL) {
        len = strlen(de->d_name);
        if (de->d_name[0] != '.' || !((len > 8 && strcmp(de->d_name + len - 8, ".partial") == 0) ||
                                      (len > 9 && strcmp(de->d_name + len - 9, ".deleting") == 0)))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", ls->root, de->d_name) >= (int)sizeof(path))
            continue;
        if (lstat(path, &sb) != 0 || (int64_t)(now - sb.st_mtime) * 1000 < max_age_ms)
            continue;
        if ((ret = wtkms_rmtree(path, err)) != 0)
            break;
        (*removedp)++;
    }
    (void)closedir(d);
    return (ret);
}

/*
 * local_remove --
 *     Hide a snapshot by renaming it, then remove it.
 */
static int
local_remove(wtkms_store *s, const char *id, wtkms_err *err)
{
    local_store *ls = (local_store *)s;
    char from[4096], to[4096];
    int ret;

    if ((ret = lpath(ls, id, NULL, NULL, from, sizeof(from), err)) != 0 ||
        (ret = lpath(ls, id, ".deleting", NULL, to, sizeof(to), err)) != 0)
        return (ret);
    if (rename(from, to) != 0)
        return (errno == ENOENT ? no_such_snapshot(s, id, err)
                                : wtkms_errf(err, errno, "snapshot store %s: cannot remove %s: %s",
                                    s->url, from, strerror(errno)));
    if ((ret = wtkms_fsync_dir(ls->root, err)) != 0)
        return (ret);
    return (wtkms_rmtree(to, err));
}

/*
 * local_free --
 *     Free the store.
 */
static void
local_free(wtkms_store *s)
{
    free(s);
}

/*
 * wtkms_store_local_open --
 *     A store in a directory (created on the first snapshot).
 */
int
wtkms_store_local_open(const char *path, wtkms_store **sp, wtkms_err *err)
{
    local_store *ls;
    size_t len;

    *sp = NULL;
    if ((ls = calloc(1, sizeof(*ls))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len >= sizeof(ls->iface.url) - 16 || snprintf(ls->root, sizeof(ls->root), "%.*s/snapshots",
                                               (int)len, path) >= (int)sizeof(ls->root)) {
        free(ls);
        return (wtkms_errf(err, ENAMETOOLONG, "store %s: path too long", path));
    }
    (void)snprintf(ls->iface.url, sizeof(ls->iface.url), "%.*s", (int)len, path);
    ls->iface.begin = local_begin;
    ls->iface.put_open = local_put_open;
    ls->iface.put_write = local_put_write;
    ls->iface.put_close = local_put_close;
    ls->iface.put_abort = local_put_abort;
    ls->iface.commit = local_commit;
    ls->iface.abort = local_abort;
    ls->iface.get_manifest = local_get_manifest;
    ls->iface.get_open = local_get_open;
    ls->iface.get_read = local_get_read;
    ls->iface.get_close = local_get_close;
    ls->iface.list = local_list;
    ls->iface.cleanup = local_cleanup;
    ls->iface.remove = local_remove;
    ls->iface.free = local_free;
    *sp = &ls->iface;
    return (0);
}
