/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fileio.c -- whole-file reads and atomic replacement.
 */
#define _GNU_SOURCE
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TRIES 8

/*
 * wtkms_read_all --
 *     Read len bytes, or up to end of file.
 */
int
wtkms_read_all(int fd, void *buf, size_t len, size_t *gotp)
{
    uint8_t *p = buf;
    size_t got;
    ssize_t n;

    for (got = 0; got < len;) {
        if ((n = read(fd, p + got, len - got)) < 0) {
            if (errno == EINTR)
                continue;
            *gotp = got;
            return (errno);
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *gotp = got;
    return (0);
}

/*
 * wtkms_write_all --
 *     Write a whole buffer.
 */
int
wtkms_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, p, len)) < 0) {
            if (errno == EINTR)
                continue;
            return (errno);
        }
        if (n == 0)
            return (EIO);
        p += n;
        len -= (size_t)n;
    }
    return (0);
}

/*
 * read_fd --
 *     Read a whole open file of at most max bytes; closes fd.
 */
static int
read_fd(int fd, const struct stat *sb, const char *path, size_t max, char **bufp, size_t *lenp,
  wtkms_err *err)
{
    char *buf;
    size_t off;
    int ret;

    buf = NULL;
    if (!S_ISREG(sb->st_mode)) {
        ret = wtkms_errf(err, EINVAL, "%s: not a regular file", path);
        goto err;
    }
    if ((size_t)sb->st_size > max) {
        ret = wtkms_errf(err, EFBIG, "%s: %lld bytes, more than the %zu expected", path,
          (long long)sb->st_size, max);
        goto err;
    }
    if ((buf = malloc((size_t)sb->st_size + 1)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    if ((ret = wtkms_read_all(fd, buf, (size_t)sb->st_size, &off)) != 0) {
        ret = wtkms_errf(err, ret, "%s: read: %s", path, strerror(ret));
        goto err;
    }
    buf[off] = '\0';
    (void)close(fd);
    *bufp = buf;
    *lenp = off;
    return (0);
err:
    free(buf);
    (void)close(fd);
    return (ret);
}

/*
 * wtkms_read_file --
 *     Read a small file whole.
 */
int
wtkms_read_file(const char *path, size_t max, char **bufp, size_t *lenp, wtkms_err *err)
{
    struct stat sb;
    int fd, ret;

    *bufp = NULL;
    *lenp = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (fstat(fd, &sb) != 0) {
        ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
        (void)close(fd);
        return (ret);
    }
    return (read_fd(fd, &sb, path, max, bufp, lenp, err));
}

/*
 * open_private --
 *     Open a private file and check the descriptor: regular, ours or root's, mode 600 or
 *     stricter. 0 with *fdp open, or an error.
 */
static int
open_private(const char *path, const char *what, struct stat *sb, int *fdp, wtkms_err *err)
{
    int fd, ret;

    *fdp = -1;
    /* O_NONBLOCK: a FIFO planted at path must not hang the open; it fails the S_ISREG check. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
        return (wtkms_errf(err, errno, "%s %s: %s", what, path, strerror(errno)));
    if (fstat(fd, sb) != 0)
        ret = wtkms_errf(err, errno, "%s %s: %s", what, path, strerror(errno));
    else if (!S_ISREG(sb->st_mode))
        ret = wtkms_errf(err, EINVAL, "%s %s is not a regular file", what, path);
    else if (sb->st_uid != geteuid() && sb->st_uid != 0)
        ret = wtkms_errf(err, EACCES,
          "%s %s is owned by uid %u, not by this user (uid %u) or root: someone else could "
          "replace it; chown it to uid %u",
          what, path, (unsigned)sb->st_uid, (unsigned)geteuid(), (unsigned)geteuid());
    else if (sb->st_mode & (S_IRWXG | S_IRWXO))
        ret = wtkms_errf(err, EACCES,
          "%s %s can be read or written by group or others (mode %03o): chmod 600 %s", what, path,
          (unsigned)(sb->st_mode & 0777), path);
    else {
        *fdp = fd;
        return (0);
    }
    (void)close(fd);
    return (ret);
}

/*
 * wtkms_read_private_file --
 *     Read a key or credentials file, checked on the descriptor read.
 */
int
wtkms_read_private_file(
  const char *path, const char *what, size_t max, char **bufp, size_t *lenp, wtkms_err *err)
{
    struct stat sb;
    int fd, ret;

    *bufp = NULL;
    *lenp = 0;
    if ((ret = open_private(path, what, &sb, &fd, err)) != 0)
        return (ret);
    return (read_fd(fd, &sb, path, max, bufp, lenp, err));
}

/*
 * wtkms_check_private_file --
 *     The same checks, without reading.
 */
int
wtkms_check_private_file(const char *path, const char *what, wtkms_err *err)
{
    struct stat sb;
    int fd, ret;

    if ((ret = open_private(path, what, &sb, &fd, err)) != 0)
        return (ret);
    (void)close(fd);
    return (0);
}

/*
 * wtkms_fsync_dir --
 *     Make directory entries durable.
 */
int
wtkms_fsync_dir(const char *dir, wtkms_err *err)
{
    int fd, ret;

    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", dir, strerror(errno)));
    ret = fsync(fd) == 0 ? 0 : wtkms_errf(err, errno, "%s: fsync: %s", dir, strerror(errno));
    (void)close(fd);
    return (ret);
}

/*
 * wtkms_write_file_atomic --
 *     Write a temporary file, fsync, rename over the target, fsync the directory.
 */
int
wtkms_write_file_atomic(
  const char *path, const void *data, size_t len, int mode, int exclusive, wtkms_err *err)
{
    uint8_t rnd[8];
    char tmp[4096], dirbuf[4096];
    int fd, i, ret, tries;

    /*
     * The temporary file has a name nobody can guess and is created here or not at all
     * (O_EXCL|O_NOFOLLOW): a symlink or a file planted beside path is never followed, written or
     * given our data, and the new file has exactly the requested mode, whatever was there.
     */
    for (fd = -1, tries = 0; fd < 0; tries++) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return (wtkms_errf(
              err, EIO, "%s: no random bytes for a temporary name: %s", path, strerror(errno)));
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.", path) >= sizeof(tmp) - 2 * sizeof(rnd))
            return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", path));
        for (i = 0; i < (int)sizeof(rnd); i++)
            (void)snprintf(tmp + strlen(tmp), 3, "%02x", rnd[i]);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
        if (fd < 0 && (errno != EEXIST || tries + 1 >= TMP_TRIES))
            return (wtkms_errf(err, errno, "%s: %s", tmp, strerror(errno)));
    }
    if (fchmod(fd, (mode_t)(mode & 07777)) != 0) {
        ret = wtkms_errf(err, errno, "%s: chmod: %s", tmp, strerror(errno));
        goto err;
    }
    if ((ret = wtkms_write_all(fd, data, len)) != 0) {
        ret = wtkms_errf(err, ret, "%s: write: %s", tmp, strerror(ret));
        goto err;
    }
    if (fsync(fd) != 0) {
        ret = wtkms_errf(err, errno, "%s: fsync: %s", tmp, strerror(errno));
        goto err;
    }
    if (close(fd) != 0) {
        fd = -1;
        ret = wtkms_errf(err, errno, "%s: close: %s", tmp, strerror(errno));
        goto err;
    }
    fd = -1;
    if (exclusive) {
        /* link(2) fails with EEXIST rather than replacing: never overwrite an existing file. */
        if (link(tmp, path) != 0) {
            ret = errno == EEXIST
                    ? wtkms_errf(err, EEXIST, "%s already exists: refusing to overwrite it", path)
                    : wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
            goto err;
        }
        (void)unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        ret = wtkms_errf(err, errno, "%s: rename: %s", path, strerror(errno));
        goto err;
    }
    (void)snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    return (wtkms_fsync_dir(dirname(dirbuf), err));
err:
    if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp); /* ours: created above with O_EXCL */
    return (ret);
}

/*
 * wtkms_path_join --
 *     Join a directory and a file name.
 */
int
wtkms_path_join(char *out, size_t outlen, const char *dir, const char *name, wtkms_err *err)
{
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", dir, name));
    return (0);
}
