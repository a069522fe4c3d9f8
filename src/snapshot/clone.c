/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone.c -- reflink a locked mongod's files (FICLONE) so the lock can be released before the
 * slow part: the snapshot then reads the clones, which no later write of the server changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "snaputil.h"
#include "source.h"

#define CLONE_PREFIX ".wtkms-clone-"

/*
 * clone_parent --
 *     Beside the home when that is the same filesystem (a reflink cannot cross one), else
 *     inside the home (a home that is a mount point of its own).
 */
static int
clone_parent(const char *home, char *out, size_t outlen, wtkms_err *err)
{
    struct stat hs, ps;
    char up[4200];

    if (snprintf(up, sizeof(up), "%s/..", home) >= (int)sizeof(up))
        return (wtkms_errf(err, ENAMETOOLONG, "home %s: path too long", home));
    if (stat(home, &hs) != 0)
        return (wtkms_errf(err, errno, "home %s: %s", home, strerror(errno)));
    if (snprintf(out, outlen, "%s",
          stat(up, &ps) == 0 && ps.st_dev == hs.st_dev && access(up, W_OK) == 0 ? up : home) >=
        (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "home %s: path too long", home));
    return (0);
}

/*
 * make_dirs --
 *     The directories of relative name under root.
 */
static int
make_dirs(const char *root, const char *name, wtkms_err *err)
{
    char path[4096 + 4096], *p;

    if (snprintf(path, sizeof(path), "%s/%s", root, name) >= (int)sizeof(path))
        return (wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", root, name));
    for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
        *p = '/';
    }
    return (0);
}

/*
 * clone_one --
 *     FICLONE src into a new file dst: 0, an errno the filesystem gives for "cannot" (*cannot
 *     set), or another error.
 */
static int
clone_one(const char *src, const char *dst, bool *cannot, wtkms_err *err)
{
    int sfd, dfd, ret, e;

    *cannot = false;
    if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
        return (wtkms_errf(err, errno, "%s: %s", src, strerror(errno)));
    if ((dfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        e = errno;
        (void)close(sfd);
        return (wtkms_errf(err, e, "%s: %s", dst, strerror(e)));
    }
    ret = 0;
    if (ioctl(dfd, FICLONE, sfd) != 0) {
        e = errno;
        /* No reflinks here: another filesystem, or one without them (ext4, tmpfs, ...). */
        *cannot =
          e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS || e == EPERM;
        ret = wtkms_errf(err, e, "%s: %s", src, strerror(e));
    }
    (void)close(sfd);
    if (close(dfd) != 0 && ret == 0)
        ret = wtkms_errf(err, errno, "%s: %s", dst, strerror(errno));
    return (ret);
}

/*
 * wtkms_source_clone --
 *     Reflink every file of src; read the clones from now on.
 */
int
wtkms_source_clone(wtkms_source *src, const char *home, const char *parent, bool *cloned, char *why,
  size_t whylen, wtkms_err *err)
{
    wtkms_err e2;
    char dir[4096], dst[8192], **paths;
    uint32_t i, n;
    bool cannot;
    int ret;

    *cloned = false;
    why[0] = '\0';
    paths = NULL;
    if (parent == NULL) {
        if ((ret = clone_parent(home, dir, sizeof(dir) - 32, err)) != 0)
            return (ret);
    } else
        (void)snprintf(dir, sizeof(dir) - 32, "%s", parent);
    (void)strcat(dir, "/" CLONE_PREFIX "XXXXXX");
    if (mkdtemp(dir) == NULL)
        return (wtkms_errf(err, errno, "cannot create a directory for the clones beside %s: %s",
          home, strerror(errno)));
    if ((paths = calloc(src->nfiles, sizeof(*paths))) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    for (n = 0; n < src->nfiles; n++) {
        if ((ret = make_dirs(dir, src->files[n].name, err)) != 0)
            goto err;
        if (snprintf(dst, sizeof(dst), "%s/%s", dir, src->files[n].name) >= (int)sizeof(dst)) {
            ret = wtkms_errf(err, ENAMETOOLONG, "%s/%s: path too long", dir, src->files[n].name);
            goto err;
        }
        wtkms_err_clear(&e2);
        if ((ret = clone_one(src->files[n].path, dst, &cannot, &e2)) != 0) {
            if (!cannot) {
                *err = e2;
                goto err;
            }
            (void)snprintf(why, whylen, "%s", e2.msg);
            ret = 0;
            goto err; /* read in place */
        }
        if ((paths[n] = strdup(dst)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            goto err;
        }
    }
    for (i = 0; i < src->nfiles; i++) {
        free(src->files[i].path);
        src->files[i].path = paths[i];
    }
    free(paths);
    (void)snprintf(src->clonedir, sizeof(src->clonedir), "%s", dir);
    /* The keystore read for the manifest is the cloned one: the bytes the snapshot stores. */
    if (src->has_keystore)
        (void)snprintf(src->keystore_dir, sizeof(src->keystore_dir), "%s", dir);
    *cloned = true;
    return (0);
err:
    for (i = 0; paths != NULL && i < n && i < src->nfiles; i++)
        free(paths[i]);
    free(paths);
    (void)wtkms_rmtree(dir, NULL);
    return (ret);
}
