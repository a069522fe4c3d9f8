/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c -- the wall clock and the monotonic clock.
 */
#include "clock.h"

#include <stddef.h>
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
