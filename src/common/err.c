/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c -- error values.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * wtkms_errf --
 *     Record an error message and code; return the code.
 */
int
wtkms_errf(wtkms_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return (code);
    err->code = code;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return (code);
}

/*
 * wtkms_err_prefix --
 *     Put more context in front of an existing message; return the code.
 */
int
wtkms_err_prefix(wtkms_err *err, const char *fmt, ...)
{
    char prefix[512], old[sizeof(err->msg)];
    size_t plen, olen;
    va_list ap;

    if (err == NULL)
        return (0);
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* Concatenate by hand: the result is cut at the buffer's end, on purpose. */
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    plen = strlen(prefix);
    olen = strlen(old);
    if (plen + 2 + olen >= sizeof(err->msg))
        olen =
          sizeof(err->msg) - 1 - (plen + 2 < sizeof(err->msg) ? plen + 2 : sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, ": ", 2);
    memcpy(err->msg + plen + 2, old, olen);
    err->msg[plen + 2 + olen] = '\0';
    return (err->code);
}

/*
 * wtkms_err_clear --
 *     Reset to "no error".
 */
void
wtkms_err_clear(wtkms_err *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

/*
 * wtkms_printable --
 *     Copy text for a message, replacing anything that is not printable ASCII.
 */
void
wtkms_printable(const char *s, size_t len, char *out, size_t outlen)
{
    size_t i, o;

    if (outlen == 0)
        return;
    for (i = o = 0; s != NULL && i < len && o + 1 < outlen; i++)
        out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[o] = '\0';
}
