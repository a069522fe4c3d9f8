/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fileio.h -- whole reads and writes of a descriptor, reading whole small files and replacing
 * files atomically.
 */
#ifndef WTKMS_FILEIO_H
#define WTKMS_FILEIO_H

#include <stddef.h>

#include "err.h"

/* read(2) until len bytes or end of file, retrying EINTR: 0 (*gotp < len: the file ended) or an
 * errno. */
int wtkms_read_all(int fd, void *buf, size_t len, size_t *gotp);
/* write(2) until done, retrying EINTR: 0 or an errno (EIO for a write that makes no progress). */
int wtkms_write_all(int fd, const void *buf, size_t len);

/* Read a whole file of at most max bytes into a malloc'd buffer (NUL-terminated, not counted). */
int wtkms_read_file(const char *path, size_t max, char **bufp, size_t *lenp, wtkms_err *err);

/*
 * Read a private file (a master key, a client key, a credentials file) of at most max bytes. The
 * descriptor that is read is the one checked (fstat, no window between check and read): a
 * regular file, owned by this process's effective user or by root, with no permission bits for
 * group or others (mode 600 or 400). A symlink is followed, as Kubernetes mounts secrets through
 * symlinks: what is checked is the file it leads to, so a link planted to a file someone else
 * owns, or one others may read, is refused all the same. what names the file in errors ("local
 * key file"). Errors: ENOENT, EACCES (owner or mode, with the chmod/chown to run, or not
 * readable), EINVAL (not a regular file), EFBIG.
 */
int wtkms_read_private_file(
  const char *path, const char *what, size_t max, char **bufp, size_t *lenp, wtkms_err *err);

/* Open path and check it as wtkms_read_private_file does, without reading: 0 or an error. */
int wtkms_check_private_file(const char *path, const char *what, wtkms_err *err);

/*
 * Replace path with data atomically and durably: write a temporary file beside it, fsync it,
 * rename it over path, fsync the directory. A crash leaves either the old or the new file. When
 * exclusive is set, an existing path is an error (EEXIST) and is never replaced.
 */
int wtkms_write_file_atomic(
  const char *path, const void *data, size_t len, int mode, int exclusive, wtkms_err *err);

/* fsync a directory so a rename or create in it is durable. */
int wtkms_fsync_dir(const char *dir, wtkms_err *err);

/* dir + "/" + name into out. */
int wtkms_path_join(char *out, size_t outlen, const char *dir, const char *name, wtkms_err *err);

#endif
