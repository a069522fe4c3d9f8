/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dbuf.h -- the one growable buffer: answers read from services (HTTP bodies and headers), form
 * bodies and URLs that carry secrets, oplog segments. Like curl's dynbuf: a hard size limit, and a
 * failure that sticks (after one refused append every append fails, so a caller may build a whole
 * text and check once). It may hold keys, tokens or decrypted data, so growing copies into a new
 * allocation and wipes the old one, and free wipes everything.
 *
 * A zeroed wtkms_dbuf is empty with no limit; set max before the first append to bound it, and
 * locked to keep it in locked memory (secure.h) for a secret that must not reach swap.
 */
#ifndef WTKMS_DBUF_H
#define WTKMS_DBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    union {
        char *s;    /* as text: NUL-terminated after every append (the NUL is not in len) */
        uint8_t *p; /* as bytes */
    };
    size_t len, cap;
    size_t max;  /* bytes it may hold; 0 = no limit */
    bool locked; /* allocated with wtkms_secure_alloc */
    int error;   /* 0, or why an append failed (ENOMEM, EMSGSIZE past max): it sticks */
} wtkms_dbuf;

/* Room for need more bytes (and a NUL): 0, ENOMEM, or EMSGSIZE past max. */
int wtkms_dbuf_reserve(wtkms_dbuf *b, size_t need);
/* Append bytes: 0, or the (sticky) error. */
int wtkms_dbuf_add(wtkms_dbuf *b, const void *data, size_t len);
/* Append a string. */
int wtkms_dbuf_str(wtkms_dbuf *b, const char *s);
/* Wipe and free; the buffer is zeroed (its limit and locked too). */
void wtkms_dbuf_free(wtkms_dbuf *b);

#endif
