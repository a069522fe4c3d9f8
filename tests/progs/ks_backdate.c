/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_backdate.c -- test program: move a keystore's rotation times into the past, as if its master
 * keys had not been rotated for DAYS days, keeping the keystore valid (MAC recomputed with the
 * real keystore key, unlocked through the local provider, written through the locked update).
 *
 * usage: ks_backdate HOME KEY_FILE DAYS
 */
#include <stdio.h>
#include <stdlib.h>

#include "keystore.h"
#include "kms.h"

int main(int argc, char **argv);

/*
 * backdate --
 *     Inside the update: move every master key's rotation time back.
 */
static int
backdate(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    int64_t by = *(const int64_t *)arg;
    uint32_t i;

    (void)err;
    for (i = 0; i < ks->nwraps; i++)
        ks->wraps[i].since -= by;
    return (0);
}

int
main(int argc, char **argv)
{
    wtkms_config cfg;
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    int64_t by;
    int ret;

    if (argc != 4) {
        (void)fprintf(stderr, "usage: ks_backdate HOME KEY_FILE DAYS\n");
        return (2);
    }
    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "ks_backdate");
    ks = NULL;
    kms = NULL;
    if ((ret = wtkms_config_set(&cfg, "key_file", argv[2], &err)) != 0 ||
        (ret = wtkms_kms_open(&cfg, &kms, &err)) != 0 ||
        (ret = wtkms_keystore_load(argv[1], &ks, &err)) != 0 ||
        (ret = wtkms_keystore_unlock(ks, kms, &err)) != 0)
        goto err;
    by = (int64_t)atoi(argv[3]) * 86400 * 1000;
    if ((ret = wtkms_keystore_update(ks, backdate, &by, &err)) != 0)
        goto err;
err:
    if (ret != 0)
        (void)fprintf(stderr, "ks_backdate: %s\n", err.msg);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);
    return (ret == 0 ? 0 : 1);
}
