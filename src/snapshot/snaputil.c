/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaputil.c -- small file-system helpers.
 */
#define _GNU_SOURCE
#include "snaputil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * rm_one --
 *     nftw callback: remove one entry, children first.
 */
static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        return (rmdir(path) == 0 || errno == ENOENT ? 0 : errno);
    return (unlink(path) == 0 || errno == ENOENT ? 0 : errno);
}

/*
 * wtkms_rmtree --
 *     rm -rf, without following symlinks.
 */
int
wtkms_rmtree(const char *path, wtkms_err *err)
{
    struct stat sb;
    int ret;

    if (lstat(path, &sb) != 0)
        return (errno == ENOENT ? 0 : wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if (!S_ISDIR(sb.st_mode))
        return (unlink(path) == 0 ? 0 : wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    if ((ret = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS)) != 0)
        return (wtkms_errf(err, ret > 0 ? ret : errno, "cannot remove %s: %s", path,
          strerror(ret > 0 ? ret : errno)));
    return (0);
}

/*
 * wtkms_mkdir_p --
 *     Create a directory and its parents.
 */
int
wtkms_mkdir_p(const char *path, mode_t mode, wtkms_err *err)
{
    char buf[4096], *p;
    struct stat sb;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: path too long", path));
    for (p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return (wtkms_errf(err, errno, "cannot create directory %s: %s", buf, strerror(errno)));
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return (wtkms_errf(err, errno, "cannot create directory %s: %s", buf, strerror(errno)));
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return (wtkms_errf(err, ENOTDIR, "%s exists and is not a directory", buf));
    return (0);
}

/*
 * wtkms_mkdir_parents --
 *     Make the directories a relative file name needs under root.
 */
int
wtkms_mkdir_parents(const char *root, const char *rel, wtkms_err *err)
{
    char buf[4096], *slash;

    if (strchr(rel, '/') == NULL)
        return (0);
    if (snprintf(buf, sizeof(buf), "%s/%s", root, rel) >= (int)sizeof(buf))
        return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", root, rel));
    slash = strrchr(buf, '/');
    *slash = '\0';
    return (wtkms_mkdir_p(buf, 0700, err));
}

/*
 * wtkms_relname_safe --
 *     A relative name with no empty, "." or ".." component.
 */
int
wtkms_relname_safe(const char *name)
{
    const char *p, *end;
    size_t n;

    if (name == NULL || name[0] == '\0' || name[0] == '/' || strlen(name) >= 1024)
        return (0);
    for (p = name;; p = end + 1) {
        end = strchr(p, '/');
        n = end == NULL ? strlen(p) : (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return (0);
        if (end == NULL)
            return (1);
    }
}

/*
 * wtkms_stream_flush --
 *     Keep writeback one window behind the writer (Linux sync_file_range; best effort).
 */
void
wtkms_stream_flush(int fd, int64_t written, int64_t *flushedp)
{
    int64_t start;

    while (written - *flushedp >= WTKMS_STREAM_WINDOW) {
        start = *flushedp;
        (void)sync_file_range(fd, start, WTKMS_STREAM_WINDOW, SYNC_FILE_RANGE_WRITE);
        if (start >= WTKMS_STREAM_WINDOW) {
            (void)sync_file_range(fd, start - WTKMS_STREAM_WINDOW, WTKMS_STREAM_WINDOW,
              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
            (void)posix_fadvise(
              fd, start - WTKMS_STREAM_WINDOW, WTKMS_STREAM_WINDOW, POSIX_FADV_DONTNEED);
        }
        *flushedp = start + WTKMS_STREAM_WINDOW;
    }
}
