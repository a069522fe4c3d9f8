/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h -- wall-clock time for records that carry a date, and monotonic time for deadlines,
 * timeouts and token lifetimes (it never jumps with the wall clock).
 */
#ifndef WTKMS_CLOCK_H
#define WTKMS_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch. */
int64_t wtkms_now_ms(void);

/* Milliseconds on the monotonic clock (from an arbitrary start). */
int64_t wtkms_mono_ms(void);

#endif
