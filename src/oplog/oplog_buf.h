/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_buf.h -- a growable byte buffer for segment bodies and files.
 */
#ifndef WTKMS_OPLOG_BUF_H
#define WTKMS_OPLOG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} wtkms_buf;

/* Make room for at least need more bytes; 0 or ENOMEM. */
int wtkms_buf_reserve(wtkms_buf *b, size_t need);
int wtkms_buf_append(wtkms_buf *b, const void *data, size_t len);
/* Wipe (the bytes may be decrypted oplog entries) and free. */
void wtkms_buf_free(wtkms_buf *b);

#endif
