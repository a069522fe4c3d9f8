/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_chunk.c -- a snapshot object (one copied file) as restore reads it: header check against
 * the manifest's mode, file number and chunk size, then every chunk opened in order with its
 * index and final flag (format 2: record word bounded first, then the tag, then bounded
 * decompression), then nothing after the last. The object's version byte picks the format. The
 * manifest's part comes first in the input: u32le file size, u8 file number; then the object. Mode
 * follows the object's header, so both clear and encrypted objects are fuzzed. Seeds are objects
 * sealed by wtkms_snap_seal for the seeds' snapshot (fuzz/seedgen.c); inputs with an odd last byte
 * skip the tag (fuzz_auth_mode).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "crypto.h"
#include "fuzz_common.h"
#include "zcodec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wtkms_snap_codec *codecs[2][2]; /* [format 2][clear, GCM] */
static wtkms_zd *zd;

/*
 * LLVMFuzzerInitialize --
 *     The codecs of the seeds' snapshot.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wtkms_snap_keys keys;
    uint8_t key[32];

    (void)argc;
    (void)argv;
    fuzz_snapshot_key(key);
    if (wtkms_snap_derive(key, FUZZ_SNAP_ID, &keys) != 0 ||
        wtkms_snap_codec_new(NULL, FUZZ_SNAP_ID, 1, &codecs[0][0]) != 0 ||
        wtkms_snap_codec_new(&keys, FUZZ_SNAP_ID, 1, &codecs[0][1]) != 0 ||
        wtkms_snap_codec_new(NULL, FUZZ_SNAP_ID, 2, &codecs[1][0]) != 0 ||
        wtkms_snap_codec_new(&keys, FUZZ_SNAP_ID, 2, &codecs[1][1]) != 0 || wtkms_zd_new(&zd) != 0)
        abort();
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One object.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_snap_rec r;
    const uint8_t *obj;
    uint8_t *buf, *spare, *plain;
    char why[256];
    size_t objlen, off;
    uint64_t i, n;
    int64_t fsize;
    uint32_t file;
    int mode, version, codec;

    if (size < 5 + WTKMS_SNAP_HDR_LEN)
        return (0);
    fuzz_auth_mode(data, size);
    fsize = (int64_t)((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                      (uint32_t)data[3] << 24);
    file = data[4];
    obj = data + 5;
    objlen = size - 5;
    mode = obj[9] == WTKMS_SNAP_MODE_GCM ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR;
    version =
      obj[8] == WTKMS_SNAP_DATA_VERSION_1 ? WTKMS_SNAP_DATA_VERSION_1 : WTKMS_SNAP_DATA_VERSION;
    if (wtkms_snap_hdr_check(obj, version, mode, file, FUZZ_SNAP_CHUNK, &codec, why, sizeof(why)) !=
        0) {
        fuzz_note("header", why);
        goto done;
    }
    n = wtkms_snap_nchunks(fsize, FUZZ_SNAP_CHUNK);
    if (wtkms_snap_object_size(fsize, FUZZ_SNAP_CHUNK) < WTKMS_SNAP_HDR_LEN)
        abort();
    if ((buf = malloc(FUZZ_SNAP_CHUNK + WTKMS_SNAP_TAG_LEN)) == NULL ||
        (spare = malloc(FUZZ_SNAP_CHUNK + WTKMS_SNAP_TAG_LEN)) == NULL)
        abort();
    off = WTKMS_SNAP_HDR_LEN;
    for (i = 0; i < n; i++) {
        /* As wtkms_snap_read_chunk reads a record, from memory. */
        r.file = file;
        r.chunk = i;
        r.final = i + 1 == n;
        r.plain = i + 1 < n ? FUZZ_SNAP_CHUNK : (size_t)(fsize - (int64_t)i * FUZZ_SNAP_CHUNK);
        r.compressed = false;
        r.stored = r.plain;
        if (version == WTKMS_SNAP_DATA_VERSION) {
            if (objlen - off < WTKMS_SNAP_REC_LEN)
                break; /* truncated */
            if (wtkms_snap_rec_decode(obj + off, FUZZ_SNAP_CHUNK, codec, &r, why, sizeof(why)) !=
                0) {
                fuzz_note("record", why);
                break;
            }
            off += WTKMS_SNAP_REC_LEN;
        }
        if (objlen - off < r.stored + WTKMS_SNAP_TAG_LEN)
            break; /* truncated */
        memcpy(buf, obj + off, r.stored + WTKMS_SNAP_TAG_LEN);
        if (wtkms_snap_open(codecs[version == WTKMS_SNAP_DATA_VERSION][mode], &r, buf) != 0) {
            fuzz_note("open", "chunk does not authenticate");
            break;
        }
        if (wtkms_snap_decompress(zd, &r, buf, spare, &plain, why, sizeof(why)) != 0) {
            fuzz_note("decompress", why);
            break;
        }
        off += r.stored + WTKMS_SNAP_TAG_LEN;
    }
    if (i == n)
        fuzz_note(off == objlen ? "opened" : "opened, data after the last chunk", NULL);
    free(buf);
    free(spare);
done:
    wtkms_fuzz_skip_auth = false;
    return (0);
}
