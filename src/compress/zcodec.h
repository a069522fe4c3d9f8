/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zcodec.h -- zstd compression of snapshot chunks and oplog segment bodies (libzstd), with a
 * decompression that treats its input as hostile: the output is bounded by a length the caller
 * already trusts (the authenticated manifest or segment header), never by what the frame says.
 *
 * Linked into the command only, never into the extension loaded by mongod.
 */
#ifndef WTKMS_ZCODEC_H
#define WTKMS_ZCODEC_H

#include <stdbool.h>
#include <stddef.h>

#define WTKMS_ZSTD_LEVEL_DEFAULT 1 /* fast: a backup should not wait for the compressor */
#define WTKMS_ZSTD_LEVEL_MIN 1
#define WTKMS_ZSTD_LEVEL_MAX 19 /* 20..22 ("ultra") need windows far beyond a chunk */

/* A compression context for one thread. */
typedef struct wtkms_zc wtkms_zc;
int wtkms_zc_new(int level, wtkms_zc **zp);
void wtkms_zc_free(wtkms_zc *z);

/*
 * Compress src[0..len) into one zstd frame (content size recorded, no checksum: the chunk's tag
 * authenticates it) in dst[0..cap). 0 and *outlen, or ENOSPC when the frame would not fit in cap
 * bytes: the caller stores the data as it is (pass cap = len - 1 so that only a gain is kept).
 */
int wtkms_zc_compress(
  wtkms_zc *z, const void *src, size_t len, void *dst, size_t cap, size_t *outlen);

/* A decompression context for one thread. */
typedef struct wtkms_zd wtkms_zd;
int wtkms_zd_new(wtkms_zd **zp);
void wtkms_zd_free(wtkms_zd *z);

/*
 * Decompress src[0..len), which must be exactly one zstd frame, into dst, which must come out
 * exactly expect bytes. Nothing is ever written past dst[expect): a frame that declares another
 * content size, expands beyond expect, stops short of it, or is followed by anything (another
 * frame, a skippable frame, trailing bytes) is refused. 0, or EBADMSG with why set.
 */
int wtkms_zd_decompress(
  wtkms_zd *z, const void *src, size_t len, void *dst, size_t expect, char *why, size_t whylen);

/* libzstd's version ("1.5.4"). */
const char *wtkms_zstd_version(void);

#endif
