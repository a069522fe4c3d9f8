/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fnd_rows.h -- the rows the foundation tests write and verify (tests/foundation/).
 *
 * Row i of a run: key PREFIX + "%010lu", value TAG + "-v-" + key + "-" padded with digits of i to
 * the value length. Keys and values both carry canary strings (the defaults start with
 * "WTKMSCANARY"), so a test can scan every file of a home for them.
 */
#ifndef FND_ROWS_H
#define FND_ROWS_H

#include <stdio.h>
#include <string.h>

#define FND_PREFIX "WTKMSCANARYK-"
#define FND_TAG "WTKMSCANARYV"
#define FND_VALUE_MAX 8192

/*
 * fnd_key --
 *     The key of row i.
 */
static inline void
fnd_key(const char *prefix, unsigned long i, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "%s%010lu", prefix, i);
}

/*
 * fnd_value --
 *     The value of the row whose key is key (row i), len bytes long (at least the fixed part).
 */
static inline void
fnd_value(const char *tag, const char *key, unsigned long i, size_t len, char *out, size_t outlen)
{
    size_t n;

    n = (size_t)snprintf(out, outlen, "%s-v-%s-", tag, key);
    if (n >= outlen)
        n = outlen - 1;
    while (n < len && n + 1 < outlen) {
        out[n] = (char)('a' + (i * 7 + n) % 26);
        n++;
    }
    out[n] = '\0';
}

#endif
