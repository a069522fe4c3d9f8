/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_buf.c -- a growable byte buffer.
 */
#include "oplog_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secure.h"

/*
 * wtkms_buf_reserve --
 *     Grow geometrically so appends stay amortised O(1).
 */
int
wtkms_buf_reserve(wtkms_buf *b, size_t need)
{
    size_t cap;
    uint8_t *p;

    if (b->cap - b->len >= need)
        return (0);
    if (need > SIZE_MAX / 2 - b->len)
        return (ENOMEM);
    cap = b->cap == 0 ? 4096 : b->cap;
    while (cap - b->len < need)
        cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL)
        return (ENOMEM);
    b->p = p;
    b->cap = cap;
    return (0);
}

/*
 * wtkms_buf_append --
 *     Append bytes.
 */
int
wtkms_buf_append(wtkms_buf *b, const void *data, size_t len)
{
    int ret;

    if (len == 0)
        return (0);
    if ((ret = wtkms_buf_reserve(b, len)) != 0)
        return (ret);
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return (0);
}

/*
 * wtkms_buf_free --
 *     Wipe the used bytes and free.
 */
void
wtkms_buf_free(wtkms_buf *b)
{
    if (b->p != NULL)
        wtkms_wipe(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof(*b));
}
