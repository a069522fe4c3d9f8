/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c -- the wall clock and the monotonic clock.
 */
#include "clock.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

/*
 * wtkms_now_ms --
 *     Wall-clock milliseconds.
 */
int64_t
wtkms_now_ms(void)
{
    struct timeval tv;

    (void)gettimeofday(&tv, NULL);
    return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/*
 * wtkms_mono_ms --
 *     Monotonic milliseconds.
 */
int64_t
wtkms_mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * wtkms_iso_time --
 *     Milliseconds since the epoch as ISO-8601 UTC.
 */
void
wtkms_iso_time(int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void)snprintf(out, outlen, "%lld", (long long)ms);
}
