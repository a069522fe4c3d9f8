/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunk_read.h -- read one chunk record of a snapshot object from a store, in order: bound its
 * length, authenticate it, then decompress it (chunk.h has the formats).
 */
#ifndef WTKMS_SNAP_CHUNK_READ_H
#define WTKMS_SNAP_CHUNK_READ_H

#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "err.h"
#include "manifest.h"
#include "store.h"
#include "zcodec.h"

/*
 * Read chunk i of file fi (the next record of reader r, whose header check gave hdr_codec) into
 * *bufp. *bufp and *sparep each hold chunk size + tag bytes; when the chunk was compressed they
 * are swapped, so *bufp always ends with the plaintext (the manifest's length of chunk i). 0;
 * EBADMSG with why when the record is damaged, truncated or forged; another error with err set
 * when the store fails.
 */
int wtkms_snap_read_chunk(wtkms_store *store, wtkms_store_reader *r, const wtkms_snap_manifest *m,
  wtkms_snap_codec *codec, wtkms_zd *zd, int hdr_codec, uint32_t fi, uint64_t i, uint8_t **bufp,
  uint8_t **sparep, char *why, size_t whylen, wtkms_err *err);

#endif
