/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_events.h -- the WiredTiger event handler of the command's own opens of a home (snapshot
 * create, restore's recovery): keep WiredTiger's last error for a one-line message, pass the
 * extension's warnings on to stderr, drop WiredTiger's chatter.
 */
#ifndef WTKMS_WT_EVENTS_H
#define WTKMS_WT_EVENTS_H

#include <wiredtiger.h>

typedef struct {
    WT_EVENT_HANDLER handler; /* must come first */
    char last_error[512];
} wtkms_wt_events;

/* Ready to pass as &ev->handler to wiredtiger_open. */
void wtkms_wt_events_init(wtkms_wt_events *ev);

/* WiredTiger's last error, or the string of ret when it said nothing. */
const char *wtkms_wt_events_error(const wtkms_wt_events *ev, int ret);

#endif
