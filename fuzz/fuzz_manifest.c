/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_manifest.c -- a snapshot manifest as list, restore and verify read it: decode (structure,
 * names, sizes, checksum of a clear one), then the key name list prints, then authentication of
 * an encrypted one with the keys of the seeds' snapshot (fuzz/seedgen.c), and for what passes,
 * an encode and decode again (what the reader accepts, the writer must write and the reader
 * accept again). Inputs with an odd last byte skip the MAC and checksum (fuzz_auth_mode).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz_common.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput --
 *     One manifest.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_snap_manifest *m, *again;
    wtkms_snap_keys keys;
    wtkms_err err;
    uint8_t key[32], *buf;
    char name[1024];
    size_t len;
    uint32_t i;

    fuzz_auth_mode(data, size);
    if (wtkms_manifest_decode(data, size, NULL, &m, &err) != 0) {
        fuzz_note("decode", err.msg);
        goto done;
    }
    wtkms_manifest_key_name(m, name, sizeof(name));
    fuzz_snapshot_key(key);
    if (wtkms_snap_derive(key, m->id, &keys) != 0)
        abort();
    if (m->encrypted && wtkms_manifest_authenticate(m, &keys, &err) != 0) {
        fuzz_note("authenticate", err.msg);
        goto free;
    }
    fuzz_note("authenticated", NULL);
    for (i = 0; i < m->nfiles; i++)
        if (m->files[i].chunks != wtkms_snap_nchunks(m->files[i].size, m->chunk_size))
            abort(); /* decode promises consistent chunk counts */
    if (wtkms_manifest_encode(m, m->encrypted ? &keys : NULL, &buf, &len, &err) != 0) {
        fprintf(stderr, "fuzz_manifest: an accepted manifest cannot be encoded: %s\n", err.msg);
        abort();
    }
    if (wtkms_manifest_decode(buf, len, m->id, &again, &err) != 0) {
        fprintf(stderr, "fuzz_manifest: an encoded manifest does not decode: %s\n", err.msg);
        abort();
    }
    if (again->nfiles != m->nfiles || again->size != m->size)
        abort();
    wtkms_manifest_free(again);
    free(buf);
free:
    wtkms_manifest_free(m);
done:
    wtkms_fuzz_skip_auth = false;
    return (0);
}
