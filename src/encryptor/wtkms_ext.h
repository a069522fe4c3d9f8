/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wtkms_ext.h -- registering the encryptor "wtkms" on a WiredTiger connection: by the extension
 * (libwtkms.so, wtkms_ext.c), or in the wtkms command's own process as a "local" extension
 * (ext_local.c) with a keystore the command already unlocked.
 */
#ifndef WTKMS_EXT_H
#define WTKMS_EXT_H

#include <wiredtiger.h>

#include "err.h"
#include "keystore.h"

#define WTKMS_EXPORT __attribute__((visibility("default")))

/*
 * Register the encryptor on connection with an unlocked keystore, which it takes (also on
 * error), and the rotation alert's settings (days 0: no alert).
 */
int wtkms_ext_register(WT_CONNECTION *connection, wtkms_keystore *ks, unsigned long alert_days,
  unsigned long alert_repeat, wtkms_err *err);

/*
 * The command's in-process encryptor: name WTKMS_EXT_LOCAL_ENTRY as the entry of a "local"
 * extension (extensions=[local=(entry=...)]) after handing the unlocked keystore to
 * wtkms_ext_local_offer; that open registers the encryptor with it. An offer replaces (and
 * frees) one not taken; wtkms_ext_local_offer(NULL) frees it. The command links ext_local.c and
 * exports the entry; libwtkms.so has neither.
 */
#define WTKMS_EXT_LOCAL_ENTRY "wtkms_ext_local_init"
void wtkms_ext_local_offer(wtkms_keystore *ks);

#endif
