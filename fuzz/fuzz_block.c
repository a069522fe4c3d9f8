/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_block.c -- a data block as WiredTiger hands it to the encryptor for reading: header parse,
 * key lookup and derivation, GCM open (wtkms_block_decrypt), under a real keystore
 * (fuzz/fixture/wtkms.keystore, made by fuzz/seedgen.c with the local provider). Seeds are blocks
 * that keystore's engine sealed; inputs with an odd last byte skip the tag check
 * (fuzz_auth_mode), so what follows it runs too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block.h"
#include "crypto.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wtkms_engine *engine;

/*
 * LLVMFuzzerInitialize --
 *     A home holding the fixture keystore, unlocked, and its engine.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wtkms_keystore *ks;
    wtkms_err err;
    uint8_t *img;
    char home[512];
    size_t len;

    (void)argc;
    (void)argv;
    img = fuzz_read_repo_file("fixture/" WTKMS_KEYSTORE_FILE, &len);
    (void)snprintf(home, sizeof(home), "%s/home", fuzz_tmpdir());
    (void)mkdir(home, 0700);
    (void)fuzz_write_file("home/" WTKMS_KEYSTORE_FILE, img, len);
    free(img);
    if (wtkms_keystore_load(home, &ks, &err) != 0 ||
        wtkms_keystore_unlock(ks, fuzz_local_kms(), &err) != 0 ||
        wtkms_engine_new(ks, &engine, &err) != 0) {
        fprintf(stderr, "fuzz_block: fixture: %s\n", err.msg);
        abort();
    }
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One block, under a fresh per-keyid state (its derived-key cache starts empty, so an input
 *     always runs the same way).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_block_hdr hdr;
    wtkms_ks_root *root;
    wtkms_keyed *kd;
    wtkms_err err;
    uint8_t *dst;
    size_t len;
    int ret;

    fuzz_auth_mode(data, size);
    /* WiredTiger opens a block with its table's keyid: the one the header's data key belongs to. */
    root = wtkms_block_parse_header(data, size, &hdr) == 0
             ? wtkms_keystore_root(wtkms_engine_keystore(engine), hdr.root)
             : NULL;
    if (wtkms_keyed_new(engine, root != NULL ? root->keyid : "fuzz", &kd, &err) != 0)
        abort();
    if ((dst = malloc(size + 1)) == NULL)
        abort();
    len = (size_t)-1;
    ret = wtkms_block_decrypt(kd, data, size, dst, size, &len, &err);
    fuzz_note(ret == 0 ? "decrypted" : "decrypt", ret == 0 ? NULL : err.msg);
    if (ret == 0 && len != size - WTKMS_BLOCK_OVERHEAD)
        abort(); /* a block's plaintext is exactly its ciphertext's length */
    if (ret != 0 && (len != 0 || err.msg[0] == '\0'))
        abort(); /* a failure returns nothing and says why */
    free(dst);
    wtkms_keyed_free(kd);
    wtkms_fuzz_skip_auth = false;
    return (0);
}
