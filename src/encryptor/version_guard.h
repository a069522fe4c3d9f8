/* SPDX-License-Identifier: Apache-2.0 */
/*
 * version_guard.h -- refuse to run inside a WiredTiger of another line.
 *
 * The extension is compiled against one line's headers (3.2, 10.0, 11.x): the slot of
 * get_extension_api and add_encryptor in WT_CONNECTION and the whole WT_EXTENSION_API layout
 * differ between lines, so the check must not go through any of them.
 */
#ifndef WTKMS_VERSION_GUARD_H
#define WTKMS_VERSION_GUARD_H

#include "err.h"

/* 0 when the running WiredTiger is of the line this build is for, or cannot be identified. */
int wtkms_version_guard(wtkms_err *err);

/* How the last guard identified the running WiredTiger: "symbol", "image" or "unknown". */
const char *wtkms_version_guard_method(void);

#endif
