/*
 * fileio.h -- reading whole small files and replacing files atomically.
 */
#ifndef WTKMS_FILEIO_H
#define WTKMS_FILEIO_H

#include <stddef.h>

#include "err.h"

/* Read a whole file of at most max bytes into a malloc'd buffer (NUL-terminated, not counted). */
int wtkms_read_file(const char *path, size_t max, char **bufp, size_t *lenp, wtkms_err *err);

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
