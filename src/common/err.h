/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h -- one error value carried out of every fallible call.
 *
 * Functions that can fail return 0 or an errno-style code and fill a wtkms_err with one sentence
 * a DBA can act on: what failed (file, key, setting), why, and what to do.
 */
#ifndef WTKMS_ERR_H
#define WTKMS_ERR_H

#include <stddef.h>

typedef struct {
    int code;       /* errno-style code, 0 when no error */
    char msg[1024]; /* one line, no trailing newline */
} wtkms_err;

/* Set the error and return code, so callers can write "return wtkms_errf(err, EINVAL, ...)". */
int wtkms_errf(wtkms_err *err, int code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context ("opening keystore X: <old message>"). */
int wtkms_err_prefix(wtkms_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void wtkms_err_clear(wtkms_err *err);

/* Text from a service, made safe for a one-line message: printable ASCII only, bounded. */
void wtkms_printable(const char *s, size_t len, char *out, size_t outlen);

#endif
