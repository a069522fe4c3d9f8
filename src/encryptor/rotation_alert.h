/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotation_alert.h -- the master-key rotation alert of a running process: once at open, then
 * again every rotation_alert_repeat seconds (default a day) while rotation is overdue.
 */
#ifndef WTKMS_ROTATION_ALERT_H
#define WTKMS_ROTATION_ALERT_H

#include "config.h"
#include "err.h"
#include "keystore.h"

typedef struct wtkms_alert wtkms_alert;

/* Where a warning goes (WiredTiger's message stream). */
typedef void (*wtkms_alert_say)(void *arg, const char *msg);

/*
 * Read rotation_alert_days (default 365, 0 turns the alert off) and, when repeatp is given,
 * rotation_alert_repeat (seconds, default 86400) from cfg.
 */
int wtkms_alert_settings(
  wtkms_config *cfg, unsigned long *daysp, unsigned long *repeatp, wtkms_err *err);

/*
 * Say the warning now if ks is overdue, and start the thread that says it again every repeat_s
 * seconds while it stays overdue. *alertp is NULL when the alert is off (days 0).
 */
int wtkms_alert_start(unsigned long days, unsigned long repeat_s, const char *home,
  const wtkms_keystore *ks, wtkms_alert_say say, void *say_arg, wtkms_alert **alertp,
  wtkms_err *err);

/* Stop and join the thread. */
void wtkms_alert_stop(wtkms_alert *alert);

#endif
