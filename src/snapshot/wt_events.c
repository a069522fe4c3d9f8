/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_events.c -- the command's WiredTiger event handler (wt_events.h).
 */
#include "wt_events.h"

#include <stdio.h>
#include <string.h>

/*
 * on_error --
 *     Keep WiredTiger's last error message for our own, one-line error.
 */
static int
on_error(WT_EVENT_HANDLER *handler, WT_SESSION *session, int error, const char *message)
{
    wtkms_wt_events *ev = (wtkms_wt_events *)handler;
    const char *p;

    (void)session;
    (void)error;
    /* Drop WiredTiger's "[time][pid:thread], " prefix: our message names the home already. */
    if (message[0] == '[' && (p = strstr(message, "], ")) != NULL)
        message = p + 3;
    (void)snprintf(ev->last_error, sizeof(ev->last_error), "%s", message);
    return (0);
}

/*
 * on_message --
 *     Pass the extension's own messages (warnings) on; WiredTiger's chatter is dropped.
 */
static int
on_message(WT_EVENT_HANDLER *handler, WT_SESSION *session, const char *message)
{
    (void)handler;
    (void)session;
    if (strstr(message, "wtkms:") != NULL)
        (void)fprintf(stderr, "%s\n", message);
    return (0);
}

/*
 * wtkms_wt_events_init --
 *     An empty handler with our two callbacks.
 */
void
wtkms_wt_events_init(wtkms_wt_events *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->handler.handle_error = on_error;
    ev->handler.handle_message = on_message;
}

/*
 * wtkms_wt_events_error --
 *     The last error WiredTiger reported, else the string of ret.
 */
const char *
wtkms_wt_events_error(const wtkms_wt_events *ev, int ret)
{
    return (ev->last_error[0] != '\0' ? ev->last_error : wiredtiger_strerror(ret));
}
