/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dbuf.c -- the one growable buffer (dbuf.h).
 */
#include "dbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secure.h"

/*
 * dbuf_release --
 *     Wipe and free the allocation.
 */
static void
dbuf_release(wtkms_dbuf *b)
{
    if (b->locked)
        wtkms_secure_free(b->p, b->cap); /* wipes */
    else {
        wtkms_wipe(b->p, b->cap);
        free(b->p);
    }
}

/*
 * wtkms_dbuf_reserve --
 *     Grow geometrically, copying into a new allocation and wiping the old one.
 */
int
wtkms_dbuf_reserve(wtkms_dbuf *b, size_t need)
{
    size_t cap;
    uint8_t *np;

    if (b->error != 0)
        return (b->error);
    if (b->max != 0 && (need > b->max || b->len > b->max - need))
        return (b->error = EMSGSIZE);
    if (need >= SIZE_MAX / 2 - b->len)
        return (b->error = ENOMEM);
    if (b->cap - b->len > need)
        return (0);
    for (cap = b->cap == 0 ? 256 : b->cap; cap - b->len <= need;)
        cap *= 2;
    if ((np = b->locked ? wtkms_secure_alloc(cap) : malloc(cap)) == NULL)
        return (b->error = ENOMEM);
    if (b->p != NULL) {
        memcpy(np, b->p, b->len);
        dbuf_release(b);
    }
    b->p = np;
    b->cap = cap;
    return (0);
}

/*
 * wtkms_dbuf_add --
 *     Append bytes, keeping a NUL after them.
 */
int
wtkms_dbuf_add(wtkms_dbuf *b, const void *data, size_t len)
{
    int ret;

    if ((ret = wtkms_dbuf_reserve(b, len)) != 0)
        return (ret);
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return (0);
}

/*
 * wtkms_dbuf_str --
 *     Append a string.
 */
int
wtkms_dbuf_str(wtkms_dbuf *b, const char *s)
{
    return (wtkms_dbuf_add(b, s, strlen(s)));
}

/*
 * wtkms_dbuf_free --
 *     Wipe and free.
 */
void
wtkms_dbuf_free(wtkms_dbuf *b)
{
    if (b->p != NULL)
        dbuf_release(b);
    memset(b, 0, sizeof(*b));
}
