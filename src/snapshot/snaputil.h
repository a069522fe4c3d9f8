/*
 * snaputil.h -- small file-system helpers the snapshot code shares.
 */
#ifndef WTKMS_SNAPUTIL_H
#define WTKMS_SNAPUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Remove a directory tree (no symlink is followed). Missing is not an error. */
int wtkms_rmtree(const char *path, wtkms_err *err);
/* mkdir -p with mode for the directories it creates. */
int wtkms_mkdir_p(const char *path, mode_t mode, wtkms_err *err);
/* Create the parent directories of a relative name under root (mode 0700), fsync'ing nothing. */
int wtkms_mkdir_parents(const char *root, const char *rel, wtkms_err *err);
/* write(2) until done, retrying EINTR. */
int wtkms_write_all(int fd, const void *buf, size_t len);
/* Whether a relative file name is safe to create under a root: no "..", no absolute path. */
int wtkms_relname_safe(const char *name);

#endif
