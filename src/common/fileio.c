/*
 * fileio.c -- whole-file reads and atomic replacement.
 */
#define _GNU_SOURCE
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * wtkms_read_file --
 *     Read a small file whole.
 */
int
wtkms_read_file(const char *path, size_t max, char **bufp, size_t *lenp, wtkms_err *err)
{
    struct stat sb;
    char *buf;
    size_t off;
    ssize_t n;
    int fd, ret;

    *bufp = NULL;
    *lenp = 0;
    buf = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (fstat(fd, &sb) != 0) {
        ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
        goto err;
    }
    if (!S_ISREG(sb.st_mode)) {
        ret = wtkms_errf(err, EINVAL, "%s: not a regular file", path);
        goto err;
    }
    if ((size_t)sb.st_size > max) {
        ret = wtkms_errf(err, EFBIG, "%s: %lld bytes, more than the %zu expected", path,
          (long long)sb.st_size, max);
        goto err;
    }
    if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    for (off = 0; off < (size_t)sb.st_size; off += (size_t)n) {
        n = read(fd, buf + off, (size_t)sb.st_size - off);
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n < 0) {
            ret = wtkms_errf(err, errno, "%s: read: %s", path, strerror(errno));
            goto err;
        }
        if (n == 0)
            break;
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
    char tmp[4096], dirbuf[4096];
    const char *p;
    size_t off;
    ssize_t n;
    int fd, ret;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", path));
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", tmp, strerror(errno)));
    for (p = data, off = 0; off < len; off += (size_t)n) {
        if ((n = write(fd, p + off, len - off)) < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }
            ret = wtkms_errf(err, errno, "%s: write: %s", tmp, strerror(errno));
            goto err;
        }
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
    (void)unlink(tmp);
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
