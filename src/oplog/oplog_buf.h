/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_buf.h -- the growable byte buffer for segment bodies and files: the common one (dbuf.h),
 * under the names the oplog code uses. It wipes what it held when it grows and when it is freed
 * (the bytes may be decrypted oplog entries).
 */
#ifndef WTKMS_OPLOG_BUF_H
#define WTKMS_OPLOG_BUF_H

#include "dbuf.h"

typedef wtkms_dbuf wtkms_buf;

/* Make room for at least need more bytes; 0 or ENOMEM. */
#define wtkms_buf_reserve wtkms_dbuf_reserve
#define wtkms_buf_append wtkms_dbuf_add
#define wtkms_buf_free wtkms_dbuf_free

#endif
