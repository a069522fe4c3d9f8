/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keystore.c -- a keystore file as the extension and the command read it: load (structure),
 * unlock with the local provider (KSK unwrap, MAC, every data key), then the lookups, an engine
 * over it, and a save and reload of what was accepted (what the reader takes, the writer must
 * write and the reader take again). Through the public wtkms_keystore_load on a file in a tmpfs
 * directory. Seeds are keystores written by wtkms_keystore_save (fuzz/seedgen.c); inputs with an
 * odd last byte skip the MAC and key-unwrap checks (fuzz_auth_mode).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block.h"
#include "crypto.h"
#include "fuzz_common.h"
#include "keystore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char home[512];

/*
 * LLVMFuzzerInitialize --
 *     The home directory.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)snprintf(home, sizeof(home), "%s/ks", fuzz_tmpdir());
    (void)mkdir(home, 0700);
    (void)fuzz_local_kms();
    return (0);
}

/*
 * LLVMFuzzerTestOneInput --
 *     One keystore file.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wtkms_keystore *ks, *again;
    wtkms_engine *engine;
    wtkms_keyed *kd;
    wtkms_err err;
    uint32_t i, nroots, nopens;

    fuzz_auth_mode(data, size);
    (void)fuzz_write_file("ks/" WTKMS_KEYSTORE_FILE, data, size);
    if (wtkms_keystore_load(home, &ks, &err) != 0) {
        fuzz_note("load", err.msg);
        goto done;
    }
    if (wtkms_keystore_unlock(ks, fuzz_local_kms(), &err) != 0) {
        fuzz_note("unlock", err.msg);
        wtkms_keystore_free(ks);
        goto done;
    }
    for (i = 0; i < ks->nroots; i++) {
        if (wtkms_keystore_root(ks, ks->roots[i].n) == NULL ||
            wtkms_keystore_current_root(ks, ks->roots[i].keyid) == NULL)
            abort(); /* every loaded data key can be found */
    }
    for (i = 0; i < ks->nopens; i++)
        if (wtkms_keystore_open_rec(ks, ks->opens[i].n) == NULL)
            abort();
    fuzz_note("unlocked", NULL);
    nroots = ks->nroots;
    nopens = ks->nopens;
    if (wtkms_keystore_save(ks, &err) != 0) {
        fprintf(stderr, "fuzz_keystore: an accepted keystore cannot be saved: %s\n", err.msg);
        abort();
    }
    if (wtkms_keystore_load(home, &again, &err) != 0) {
        fprintf(stderr, "fuzz_keystore: a saved keystore does not load: %s\n", err.msg);
        abort();
    }
    if (again->nroots != nroots || again->nopens != nopens)
        abort();
    wtkms_keystore_free(again);
    /* An engine over it: a per-keyid state for a loaded keyid (no I/O). */
    if (wtkms_engine_new(ks, &engine, &err) == 0) {
        if (nroots > 0 && wtkms_keyed_new(engine, ks->roots[0].keyid, &kd, &err) == 0)
            wtkms_keyed_free(kd);
        wtkms_engine_free(engine); /* frees the keystore */
    } else
        wtkms_keystore_free(ks);
done:
    wtkms_fuzz_skip_auth = false;
    return (0);
}
