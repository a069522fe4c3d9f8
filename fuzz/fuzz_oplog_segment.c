/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_oplog_segment.c -- an oplog segment file as export, replay and verify read it: the header
 * (wtkms_seg_parse_header), then the whole reader (wtkms_oplog_read_segment: file name against
 * header, length, run key unwrapped through the local provider, tag or digest, decryption) and
 * the walk over its entries (wtkms_oplog_walk: framing, timestamps, counts). The file is stored
 * under the name its header's seq gives, in a tmpfs store. Seeds are segments sealed by
 * wtkms_seg_seal (fuzz/seedgen.c); inputs with an odd last byte skip the tag, the digest and the
 * run key's unwrap check (fuzz_auth_mode).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz_common.h"
#include "oplog_catalog.h"
#include "oplog_segment.h"
#include "oplog_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wtkms_oplog_store *store;
static wtkms_oplog_reader rd;

/*
 * LLVMFuzzerInitialize --
 *     The store and the reader's buffers.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wtkms_err err;
    char dir[512];

    (void)argc;
    (void)argv;
    (void)snprintf(dir, sizeof(dir), "%s/oplog", fuzz_tmpdir());
    if (wtkms_oplog_store_open(dir, NULL, true, &store, &err) != 0 ||
        wtkms_oplog_reader_init(&rd, &err) != 0)
        abort();
    (void)fuzz_local_kms();
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One segment file.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_seg_header h, h2;
    wtkms_oplog_keys *keys;
    wtkms_err err;
    uint8_t digest[WTKMS_SHA256_LEN];
    char name[WTKMS_SEG_NAME_LEN], kid[1200];
    size_t off, dlen;
    const uint8_t *doc;

    fuzz_auth_mode(data, size);
    if (wtkms_seg_parse_header(data, size, "fuzz.seg", &h, &err) != 0) {
        fuzz_note("header", err.msg);
        goto done;
    }
    wtkms_seg_key_id(&h, kid, sizeof(kid));
    if (h.seq == 0 || h.seq > 999999999999ULL)
        goto done; /* no file name carries it */
    wtkms_seg_name(h.seq, name, sizeof(name));
    if (wtkms_seg_name_seq(name) != h.seq)
        abort();
    {
        char rel[64];
        (void)snprintf(rel, sizeof(rel), "oplog/%s", name);
        (void)fuzz_write_file(rel, data, size);
    }
    /* A store of unencrypted segments is read without a master key (with one, they are refused). */
    if ((keys = wtkms_oplog_keys_new(h.encrypted ? fuzz_local_kms() : NULL)) == NULL)
        abort();
    if (wtkms_oplog_read_segment(store, h.seq, keys, &rd, &h2, digest, &err) != 0)
        fuzz_note("read", err.msg);
    else {
        fuzz_note("read", NULL);
        if (wtkms_oplog_walk(&h2, rd.plain.p, 0, NULL, NULL, &err) != 0)
            fuzz_note("walk", err.msg);
        for (off = 0; wtkms_seg_next_entry(rd.plain.p, h2.plain_len, &off, &doc, &dlen) == 0;)
            ;
    }
    wtkms_oplog_keys_free(keys);
    {
        char path[4096];
        wtkms_oplog_store_path(store, h.seq, path, sizeof(path));
        (void)remove(path);
    }
done:
    wtkms_fuzz_skip_auth = false;
    return (0);
}
