/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snaputil.h -- small file-system helpers the snapshot code shares.
 */
#ifndef WTKMS_SNAPUTIL_H
#define WTKMS_SNAPUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "fileio.h"

/* Remove a directory tree (no symlink is followed). Missing is not an error. */
int wtkms_rmtree(const char *path, wtkms_err *err);
/* mkdir -p with mode for the directories it creates. */
int wtkms_mkdir_p(const char *path, mode_t mode, wtkms_err *err);
/* Create the parent directories of a relative name under root (mode 0700), fsync'ing nothing. */
int wtkms_mkdir_parents(const char *root, const char *rel, wtkms_err *err);
/*
 * Streaming writes: start writeback of each full window behind the write position and wait for
 * the window before it, dropping it from the page cache. The final fdatasync then has little
 * left to do, the disk works while we compute, and a large copy does not fill memory with dirty
 * pages. *flushedp is the offset up to which writeback was started.
 */
#define WTKMS_STREAM_WINDOW (8 * 1024 * 1024)
void wtkms_stream_flush(int fd, int64_t written, int64_t *flushedp);

/* Whether a relative file name is safe to create under a root: no "..", no absolute path. */
int wtkms_relname_safe(const char *name);

#endif
