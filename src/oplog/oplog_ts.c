/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_ts.c -- oplog timestamps.
 */
#define _GNU_SOURCE
#include "oplog_ts.h"

#include <bson/bson.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/*
 * parse_u32 --
 *     A decimal number that fits in 32 bits, and nothing else.
 */
static int
parse_u32(const char *s, size_t len, uint32_t *out)
{
    uint64_t v;
    size_t i;

    if (len == 0 || len > 10)
        return (EINVAL);
    for (v = 0, i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return (EINVAL);
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return (EINVAL);
    *out = (uint32_t)v;
    return (0);
}

/*
 * wtkms_ts_parse --
 *     SECS:INC, SECS or an ISO-8601 UTC time.
 */
int
wtkms_ts_parse(const char *s, const char *what, wtkms_ts *tsp, wtkms_err *err)
{
    struct tm tm;
    const char *colon, *end;
    uint32_t secs, inc;
    time_t t;

    if (s == NULL || s[0] == '\0')
        return (wtkms_errf(
          err, EINVAL, "%s needs a timestamp: SECS:INC, SECS or YYYY-MM-DDTHH:MM:SSZ", what));
    if (strchr(s, '-') != NULL && strchr(s, 'T') != NULL) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end != NULL && (strcmp(end, "Z") == 0 || strcmp(end, "+00:00") == 0 || *end == '\0') &&
            (t = timegm(&tm)) >= 0 && (uint64_t)t <= UINT32_MAX) {
            *tsp = WTKMS_TS((uint32_t)t, 0);
            return (0);
        }
        return (wtkms_errf(
          err, EINVAL, "%s %s is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ", what, s));
    }
    inc = 0;
    if ((colon = strchr(s, ':')) != NULL) {
        if (parse_u32(s, (size_t)(colon - s), &secs) != 0 ||
            parse_u32(colon + 1, strlen(colon + 1), &inc) != 0)
            goto bad;
    } else if (parse_u32(s, strlen(s), &secs) != 0)
        goto bad;
    *tsp = WTKMS_TS(secs, inc);
    return (0);
bad:
    return (wtkms_errf(err, EINVAL,
      "%s %s is not a timestamp: use SECS:INC (as mongorestore --oplogLimit), SECS, or "
      "YYYY-MM-DDTHH:MM:SSZ",
      what, s));
}

/*
 * wtkms_ts_str --
 *     SECS:INC.
 */
void
wtkms_ts_str(wtkms_ts ts, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "%" PRIu32 ":%" PRIu32, WTKMS_TS_SECS(ts), WTKMS_TS_INC(ts));
}

/*
 * wtkms_ts_str_long --
 *     SECS:INC with the UTC time for people.
 */
void
wtkms_ts_str_long(wtkms_ts ts, char *out, size_t outlen)
{
    char when[32];

    wtkms_iso_time((int64_t)WTKMS_TS_SECS(ts) * 1000, when, sizeof(when));
    (void)snprintf(
      out, outlen, "%" PRIu32 ":%" PRIu32 " (%s)", WTKMS_TS_SECS(ts), WTKMS_TS_INC(ts), when);
}

/*
 * wtkms_oplog_entry_ts --
 *     The entry's ts and t, read with libbson's iterator (which checks every length it crosses).
 */
int
wtkms_oplog_entry_ts(const uint8_t *doc, size_t len, wtkms_ts *tsp, int64_t *termp)
{
    bson_iter_t it;
    uint32_t secs, inc;
    bool have_ts;

    *termp = -1;
    have_ts = false;
    if (len < 5 || !bson_iter_init_from_data(&it, doc, len))
        return (EILSEQ);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (key[0] == 't' && key[1] == 's' && key[2] == '\0') {
            if (!BSON_ITER_HOLDS_TIMESTAMP(&it))
                return (EILSEQ);
            bson_iter_timestamp(&it, &secs, &inc);
            *tsp = WTKMS_TS(secs, inc);
            have_ts = true;
        } else if (key[0] == 't' && key[1] == '\0') {
            if (BSON_ITER_HOLDS_INT64(&it))
                *termp = bson_iter_int64(&it);
            else if (BSON_ITER_HOLDS_INT32(&it))
                *termp = bson_iter_int32(&it);
        }
        if (have_ts && *termp != -1)
            break;
    }
    return (have_ts ? 0 : EILSEQ);
}
