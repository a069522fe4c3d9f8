/*
 * ks_backdate.c -- test program: move a keystore's rotation time into the past, as if its master
 * key had not been rotated for DAYS days, keeping the keystore valid (MAC recomputed with the
 * real keystore key, unlocked through the local provider).
 *
 * usage: ks_backdate HOME KEY_FILE DAYS
 */
#include <stdio.h>
#include <stdlib.h>

#include "keystore.h"
#include "kms.h"

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
    wtkms_config cfg;
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
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
    ks->rotated -= (int64_t)atoi(argv[3]) * 86400 * 1000;
    if ((ret = wtkms_keystore_save(ks, &err)) != 0)
        goto err;
err:
    if (ret != 0)
        (void)fprintf(stderr, "ks_backdate: %s\n", err.msg);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);
    return (ret == 0 ? 0 : 1);
}
