/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c -- choose a store by URL; helpers shared by every store.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * wtkms_store_open --
 *     A local directory or an S3 bucket/prefix.
 */
int
wtkms_store_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err)
{
    *sp = NULL;
    if (url == NULL || url[0] == '\0')
        return (
          wtkms_errf(err, EINVAL, "no snapshot store: pass --store DIR or s3://BUCKET/PREFIX"));
    if (strncmp(url, "s3://", 5) == 0)
        return (wtkms_store_s3_open(url, cfg, sp, err));
    if (strncmp(url, "file://", 7) == 0)
        url += 7;
    if (strstr(url, "://") != NULL)
        return (wtkms_errf(
          err, EINVAL, "store %s: only a directory path or s3://BUCKET/PREFIX is supported", url));
    return (wtkms_store_local_open(url, sp, err));
}

/*
 * wtkms_store_close --
 *     Free a store.
 */
void
wtkms_store_close(wtkms_store *s)
{
    if (s != NULL)
        s->free(s);
}

/*
 * wtkms_store_free_ids --
 *     Free a list of ids.
 */
void
wtkms_store_free_ids(char **ids, size_t n)
{
    size_t i;

    if (ids == NULL)
        return;
    for (i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/*
 * wtkms_store_read_full --
 *     Read until len bytes or the end of the object.
 */
int
wtkms_store_read_full(
  wtkms_store *s, wtkms_store_reader *r, void *buf, size_t len, size_t *gotp, wtkms_err *err)
{
    size_t got, n;
    int ret;

    for (got = 0; got < len; got += n) {
        if ((ret = s->get_read(r, (uint8_t *)buf + got, len - got, &n, err)) != 0)
            return (ret);
        if (n == 0)
            break;
    }
    *gotp = got;
    return (0);
}

/*
 * wtkms_snap_id_valid --
 *     Ids look like 20261125T224529Z-1a2b3c4d: digits, T, Z, dash, lower-case hex.
 */
int
wtkms_snap_id_valid(const char *id)
{
    size_t i;

    if (id == NULL || strlen(id) != 25)
        return (0);
    for (i = 0; i < 25; i++) {
        char c = id[i];
        if (i == 8    ? c != 'T'
            : i == 15 ? c != 'Z'
            : i == 16 ? c != '-'
            : i < 16  ? !isdigit((unsigned char)c)
                      : !(isdigit((unsigned char)c) || (c >= 'a' && c <= 'f')))
            return (0);
    }
    return (1);
}

/*
 * wtkms_snap_id_time_ms --
 *     YYYYMMDDTHHMMSSZ as UTC.
 */
int64_t
wtkms_snap_id_time_ms(const char *id)
{
    struct tm tm;
    time_t t;

    if (!wtkms_snap_id_valid(id))
        return (-1);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year =
      (id[0] - '0') * 1000 + (id[1] - '0') * 100 + (id[2] - '0') * 10 + (id[3] - '0') - 1900;
    tm.tm_mon = (id[4] - '0') * 10 + (id[5] - '0') - 1;
    tm.tm_mday = (id[6] - '0') * 10 + (id[7] - '0');
    tm.tm_hour = (id[9] - '0') * 10 + (id[10] - '0');
    tm.tm_min = (id[11] - '0') * 10 + (id[12] - '0');
    tm.tm_sec = (id[13] - '0') * 10 + (id[14] - '0');
    if ((t = timegm(&tm)) == (time_t)-1)
        return (-1);
    return ((int64_t)t * 1000);
}
