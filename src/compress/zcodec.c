/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zcodec.c -- zstd through libzstd: one-shot frames, bounded decompression.
 */
#include "zcodec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/*
 * Decompression windows are capped at 8 MiB: our frames hold at most a 4 MiB chunk or are
 * decompressed in one shot into a buffer of the trusted size (no window is allocated then), so a
 * frame asking for more is not ours.
 */
#define WINDOW_LOG_MAX 23

struct wtkms_zc {
    ZSTD_CCtx *cctx;
};

struct wtkms_zd {
    ZSTD_DCtx *dctx;
};

/*
 * wtkms_zc_new --
 *     A compression context at a level.
 */
int
wtkms_zc_new(int level, wtkms_zc **zp)
{
    wtkms_zc *z;

    *zp = NULL;
    if (level < WTKMS_ZSTD_LEVEL_MIN || level > WTKMS_ZSTD_LEVEL_MAX)
        return (EINVAL);
    if ((z = calloc(1, sizeof(*z))) == NULL)
        return (ENOMEM);
    if ((z->cctx = ZSTD_createCCtx()) == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 0))) {
        wtkms_zc_free(z);
        return (ENOMEM);
    }
    *zp = z;
    return (0);
}

/*
 * wtkms_zc_free --
 *     Free a compression context.
 */
void
wtkms_zc_free(wtkms_zc *z)
{
    if (z == NULL)
        return;
    ZSTD_freeCCtx(z->cctx);
    free(z);
}

/*
 * wtkms_zc_compress --
 *     One frame, or ENOSPC when it would not fit.
 */
int
wtkms_zc_compress(wtkms_zc *z, const void *src, size_t len, void *dst, size_t cap, size_t *outlen)
{
    size_t n;

    *outlen = 0;
    n = ZSTD_compress2(z->cctx, dst, cap, src, len);
    if (ZSTD_isError(n)) {
        /* The context is reset for the next frame whatever happened to this one. */
        (void)ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
        return (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? ENOSPC : EIO);
    }
    *outlen = n;
    return (0);
}

/*
 * wtkms_zd_new --
 *     A decompression context.
 */
int
wtkms_zd_new(wtkms_zd **zp)
{
    wtkms_zd *z;

    *zp = NULL;
    if ((z = calloc(1, sizeof(*z))) == NULL)
        return (ENOMEM);
    if ((z->dctx = ZSTD_createDCtx()) == NULL ||
        ZSTD_isError(ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
        wtkms_zd_free(z);
        return (ENOMEM);
    }
    *zp = z;
    return (0);
}

/*
 * wtkms_zd_free --
 *     Free a decompression context.
 */
void
wtkms_zd_free(wtkms_zd *z)
{
    if (z == NULL)
        return;
    ZSTD_freeDCtx(z->dctx);
    free(z);
}

/*
 * wtkms_zd_decompress --
 *     Exactly one frame into exactly expect bytes.
 */
int
wtkms_zd_decompress(
  wtkms_zd *z, const void *src, size_t len, void *dst, size_t expect, char *why, size_t whylen)
{
    unsigned long long declared;
    size_t flen, n;

    /* The frame's own claims first, before any output: its length and its content size. */
    flen = ZSTD_findFrameCompressedSize(src, len);
    if (ZSTD_isError(flen)) {
        (void)snprintf(
          why, whylen, "the compressed data is not a zstd frame (%s)", ZSTD_getErrorName(flen));
        return (EBADMSG);
    }
    if (flen != len) {
        (void)snprintf(why, whylen,
          "the compressed data has %zu bytes after its zstd frame (a second frame or garbage)",
          len - flen);
        return (EBADMSG);
    }
    declared = ZSTD_getFrameContentSize(src, len);
    if (declared == ZSTD_CONTENTSIZE_ERROR) {
        (void)snprintf(why, whylen, "the zstd frame header is malformed");
        return (EBADMSG);
    }
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != (unsigned long long)expect) {
        (void)snprintf(why, whylen,
          "the zstd frame says it holds %llu bytes, the authenticated length is %zu", declared,
          expect);
        return (EBADMSG);
    }
    /*
     * The hard cap: the output buffer is exactly expect bytes and libzstd stops with an error
     * before writing past it, whatever the frame says (no frame content size, a lying one).
     */
    n = ZSTD_decompressDCtx(z->dctx, dst, expect, src, len);
    if (ZSTD_isError(n)) {
        (void)snprintf(why, whylen, "the zstd frame does not decompress to %zu bytes (%s)", expect,
          ZSTD_getErrorName(n));
        (void)ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
        return (EBADMSG);
    }
    if (n != expect) {
        (void)snprintf(why, whylen,
          "the zstd frame decompresses to %zu bytes, the authenticated length is %zu", n, expect);
        return (EBADMSG);
    }
    return (0);
}

/*
 * wtkms_zstd_version --
 *     The library's version.
 */
const char *
wtkms_zstd_version(void)
{
    return (ZSTD_versionString());
}
