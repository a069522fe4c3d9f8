/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h -- wall-clock time for records that carry a date, and monotonic time for deadlines,
 * timeouts and token lifetimes (it never jumps with the wall clock).
 */
#ifndef WTKMS_CLOCK_H
#define WTKMS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch. */
int64_t wtkms_now_ms(void);

/* Milliseconds since the epoch as ISO-8601 UTC ("2026-11-25T22:45:29Z"; the number if out of
 * range). */
void wtkms_iso_time(int64_t ms, char *out, size_t outlen);

/* Milliseconds on the monotonic clock (from an arbitrary start). */
int64_t wtkms_mono_ms(void);

#endif
