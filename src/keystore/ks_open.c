/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_open.c -- opening a home's keystore for the extension: the provider the settings name is
 * built, used for the one KMS call (unlock, or the wrap of a new keystore) and closed here, so
 * its caller needs nothing of the KMS layer; and the master keys of a keystore, read without
 * unlocking it.
 */
#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * wtkms_keystore_open --
 *     Unlock the home's keystore with the master key the settings name, or create one in an
 *     empty home.
 */
int
wtkms_keystore_open(const char *home, wtkms_config *cfg, const wtkms_ks_open_opts *opts,
  wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_keystore *ks;
    wtkms_kms *kms;
    int ret;

    *ksp = NULL;
    ks = NULL;
    if ((ret = wtkms_kms_open(cfg, &kms, err)) != 0)
        return (ret);
    if (opts->before_io != NULL && (ret = opts->before_io(cfg, opts->arg, err)) != 0)
        goto done;
    if (!wtkms_keystore_exists(home)) {
        if (opts->has_data != NULL && opts->has_data(home))
            ret = wtkms_errf(err, ENOENT,
              "home %s holds WiredTiger data but no keystore (%s): restore the keystore from a "
              "backup of this home; wtkms creates a keystore only for an empty home",
              home, WTKMS_KEYSTORE_FILE);
        else if (!opts->create)
            ret = wtkms_errf(err, ENOENT,
              "home %s has no keystore and create=false: run 'wtkms keys init --home %s'", home,
              home);
        else
            ret = wtkms_keystore_create(home, kms, ksp, err);
        goto done;
    }
    if ((ret = wtkms_keystore_load(home, &ks, err)) != 0)
        goto done;
    if ((ret = wtkms_keystore_unlock(ks, kms, err)) != 0) {
        wtkms_keystore_free(ks);
        goto done;
    }
    *ksp = ks;
done:
    wtkms_kms_close(kms);
    return (ret);
}

/*
 * wtkms_keystore_masters --
 *     The master keys that wrap a home's keystore, without unlocking it.
 */
int
wtkms_keystore_masters(const char *home, wtkms_ks_master *out, uint32_t max, uint32_t *np,
  char *path, size_t pathlen, wtkms_err *err)
{
    wtkms_keystore *ks;
    uint32_t i;
    int ret;

    *np = 0;
    if ((ret = wtkms_keystore_load(home, &ks, err)) != 0)
        return (ret);
    for (i = 0; i < ks->nwraps && i < max; i++) {
        out[i].cmk = ks->wraps[i].cmk;
        out[i].since = ks->wraps[i].since;
        out[i].wrapped = ks->wraps[i].wrapped;
    }
    *np = ks->nwraps;
    if (path != NULL && pathlen > 0)
        (void)snprintf(path, pathlen, "%s", ks->path);
    wtkms_keystore_free(ks);
    return (0);
}
