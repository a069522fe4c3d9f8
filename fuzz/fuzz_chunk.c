/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_chunk.c -- a snapshot object (one copied file) as restore reads it: header check against
 * the manifest's mode, file number and chunk size, then every chunk opened in order with its
 * index and final flag, then nothing after the last. The manifest's part comes first in the
 * input: u32le file size, u8 file number; then the object. Mode follows the object's header, so
 * both clear and encrypted objects are fuzzed. Seeds are objects sealed by wtkms_snap_seal for the
 * seeds' snapshot (fuzz/seedgen.c); inputs with an odd last byte skip the tag (fuzz_auth_mode).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "crypto.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wtkms_snap_codec *codec[2]; /* clear, GCM */

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
        wtkms_snap_codec_new(NULL, FUZZ_SNAP_ID, &codec[0]) != 0 ||
        wtkms_snap_codec_new(&keys, FUZZ_SNAP_ID, &codec[1]) != 0)
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
    const uint8_t *obj;
    uint8_t *buf;
    char why[256];
    size_t objlen, off, len;
    uint64_t i, n;
    int64_t fsize;
    uint32_t file;
    int mode;

    if (size < 5 + WTKMS_SNAP_HDR_LEN)
        return (0);
    fuzz_auth_mode(data, size);
    fsize = (int64_t)((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                      (uint32_t)data[3] << 24);
    file = data[4];
    obj = data + 5;
    objlen = size - 5;
    mode = obj[9] == WTKMS_SNAP_MODE_GCM ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR;
    if (wtkms_snap_hdr_check(obj, mode, file, FUZZ_SNAP_CHUNK, why, sizeof(why)) != 0) {
        fuzz_note("header", why);
        goto done;
    }
    n = wtkms_snap_nchunks(fsize, FUZZ_SNAP_CHUNK);
    if (wtkms_snap_object_size(fsize, FUZZ_SNAP_CHUNK) < WTKMS_SNAP_HDR_LEN)
        abort();
    if ((buf = malloc(FUZZ_SNAP_CHUNK + WTKMS_SNAP_TAG_LEN)) == NULL)
        abort();
    off = WTKMS_SNAP_HDR_LEN;
    for (i = 0; i < n; i++) {
        len = i + 1 < n ? FUZZ_SNAP_CHUNK : (size_t)(fsize - (int64_t)i * FUZZ_SNAP_CHUNK);
        if (objlen - off < len + WTKMS_SNAP_TAG_LEN)
            break; /* truncated */
        memcpy(buf, obj + off, len + WTKMS_SNAP_TAG_LEN);
        if (wtkms_snap_open(codec[mode], file, i, i + 1 == n, buf, len) != 0) {
            fuzz_note("open", "chunk does not authenticate");
            break;
        }
        off += len + WTKMS_SNAP_TAG_LEN;
    }
    if (i == n)
        fuzz_note(off == objlen ? "opened" : "opened, data after the last chunk", NULL);
    free(buf);
done:
    wtkms_fuzz_skip_auth = false;
    return (0);
}
