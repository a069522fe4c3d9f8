/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c -- wall-clock time.
 */
#include "clock.h"

#include <stddef.h>
#include <sys/time.h>

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
