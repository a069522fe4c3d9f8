/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.h -- a one-line progress bar on stderr, for terminals only.
 */
#ifndef WTKMS_SNAP_PROGRESS_H
#define WTKMS_SNAP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool on;
    const char *what;
    int64_t total, done;
    int64_t start_ms, last_ms;
} wtkms_progress;

void wtkms_progress_init(wtkms_progress *p, bool on, const char *what, int64_t total);
void wtkms_progress_add(wtkms_progress *p, int64_t n);
void wtkms_progress_end(wtkms_progress *p);

#endif
