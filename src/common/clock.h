/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h -- wall-clock time for records that carry a date.
 */
#ifndef WTKMS_CLOCK_H
#define WTKMS_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch. */
int64_t wtkms_now_ms(void);

#endif
