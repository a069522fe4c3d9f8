/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunk_read.c -- one chunk record from a store: length bounded, tag checked, then decompressed.
 */
#include "chunk_read.h"

#include <errno.h>
#include <stdio.h>

#define ENDS_EARLY "the object ends early (truncated, or chunks dropped)"

/*
 * wtkms_snap_read_chunk --
 *     The next record of an object, opened.
 */
int
wtkms_snap_read_chunk(wtkms_store *store, wtkms_store_reader *r, const wtkms_snap_manifest *m,
  wtkms_snap_codec *codec, wtkms_zd *zd, int hdr_codec, uint32_t fi, uint64_t i, uint8_t **bufp,
  uint8_t **sparep, char *why, size_t whylen, wtkms_err *err)
{
    const wtkms_snap_file *f = &m->files[fi];
    wtkms_snap_rec rec;
    uint8_t word[WTKMS_SNAP_REC_LEN], *plain;
    size_t got;
    int ret;

    rec.file = fi;
    rec.chunk = i;
    rec.final = i + 1 == f->chunks;
    rec.plain = !rec.final ? m->chunk_size : (size_t)(f->size - (int64_t)i * m->chunk_size);
    rec.compressed = false;
    rec.stored = rec.plain;
    if (m->format_version >= WTKMS_SNAP_DATA_VERSION) {
        /* The record word first: its length is bounded before any payload byte is read. */
        if ((ret = wtkms_store_read_full(store, r, word, sizeof(word), &got, err)) != 0)
            return (ret);
        if (got != sizeof(word)) {
            (void)snprintf(why, whylen, ENDS_EARLY);
            return (EBADMSG);
        }
        if (wtkms_snap_rec_decode(word, m->chunk_size, hdr_codec, &rec, why, whylen) != 0)
            return (EBADMSG);
    }
    if ((ret = wtkms_store_read_full(
           store, r, *bufp, rec.stored + WTKMS_SNAP_TAG_LEN, &got, err)) != 0)
        return (ret);
    if (got != rec.stored + WTKMS_SNAP_TAG_LEN) {
        (void)snprintf(why, whylen, ENDS_EARLY);
        return (EBADMSG);
    }
    /* Authenticated before anything is decompressed. */
    if ((ret = wtkms_snap_open(codec, &rec, *bufp)) != 0) {
        (void)snprintf(why, whylen, "%s",
          ret == EBADMSG ? "it does not authenticate (altered, dropped, reordered, or from another "
                           "file or snapshot)"
                         : "it cannot be opened");
        return (EBADMSG);
    }
    if (wtkms_snap_decompress(zd, &rec, *bufp, *sparep, &plain, why, whylen) != 0)
        return (EBADMSG);
    if (plain == *sparep) {
        *sparep = *bufp;
        *bufp = plain;
    }
    return (0);
}
