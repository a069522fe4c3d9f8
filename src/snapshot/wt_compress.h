/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_compress.h -- WiredTiger's compressor extensions for opening a home to snapshot it.
 */
#ifndef WTKMS_SNAP_WT_COMPRESS_H
#define WTKMS_SNAP_WT_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * The compressor extensions (snappy, zlib, zstd, lz4) installed beside the libwiredtiger this
 * program runs, as entries for extensions=[...]: "PATH","PATH" ("" when there are none). A
 * compressor that wt_config names (compressor=NAME, block_compressor=NAME; wt_config may be NULL)
 * and that is not among them is an error (EINVAL) naming where it was looked for.
 */
int wtkms_wt_compressors(const char *wt_config, char *out, size_t outlen, wtkms_err *err);

/*
 * The "extensions=[...]," of the command's own open of a home ("" when there is none): unless
 * wt_config lists extensions itself (it then takes them over), wtkms when with_wtkms, then the
 * compressors above. wtkms is the command's own encryptor when local_entry is given (a "local"
 * extension with that entry), else ext_path (NULL: the build beside the command) configured with
 * ext_config and create=false.
 */
int wtkms_wt_extensions(const char *wt_config, bool with_wtkms, const char *local_entry,
  const char *ext_path, const char *ext_config, char *out, size_t outlen, wtkms_err *err);

#endif
