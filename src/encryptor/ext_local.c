/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext_local.c -- the encryptor inside the wtkms command: when the command opens a home with a
 * keystore (snapshot create), it unlocks the keystore once with the provider it already built
 * and offers it here; WiredTiger then calls wtkms_ext_local_init from this program (a "local"
 * extension), which registers the encryptor with that keystore. No second provider is built,
 * no settings string is parsed again, and no key leaves the process in a configuration string.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <wiredtiger_ext.h>

#include "version_guard.h"
#include "wtkms_ext.h"

WTKMS_EXPORT int wtkms_ext_local_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config);

static pthread_mutex_t offer_lock = PTHREAD_MUTEX_INITIALIZER;
static wtkms_keystore *offered; /* the keystore the next local open registers with */

/*
 * wtkms_ext_local_offer --
 *     Hand the next local open its unlocked keystore (NULL: withdraw one not taken).
 */
void
wtkms_ext_local_offer(wtkms_keystore *ks)
{
    wtkms_keystore *old;

    (void)pthread_mutex_lock(&offer_lock);
    old = offered;
    offered = ks;
    (void)pthread_mutex_unlock(&offer_lock);
    wtkms_keystore_free(old);
}

/*
 * wtkms_ext_local_init --
 *     The local extension's entry: register the encryptor with the offered keystore.
 */
int
wtkms_ext_local_init(WT_CONNECTION *connection, WT_CONFIG_ARG *config)
{
    WT_EXTENSION_API *wt_api;
    wtkms_keystore *ks;
    wtkms_err err;
    int ret;

    (void)config;
    wtkms_err_clear(&err);
    wt_api = connection->get_extension_api(connection);
    (void)pthread_mutex_lock(&offer_lock);
    ks = offered;
    offered = NULL;
    (void)pthread_mutex_unlock(&offer_lock);
    if ((ret = wtkms_version_guard(&err)) != 0)
        wtkms_keystore_free(ks);
    else if (ks == NULL)
        ret = wtkms_errf(&err, EINVAL,
          "the wtkms command's own encryptor was loaded without an unlocked keystore (only the "
          "command itself names it)");
    else
        ret = wtkms_ext_register(connection, ks, 0, 0, &err);
    if (ret != 0)
        (void)wt_api->err_printf(wt_api, NULL, "wtkms: %s", err.msg);
    return (ret);
}
