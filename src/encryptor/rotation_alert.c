/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotation_alert.c -- warn while the master key's rotation is overdue, at open and then
 * periodically, from a thread that re-reads the keystore (no key, no KMS call): a rotation made
 * meanwhile with "wtkms keys rotate" silences it.
 */
#include "rotation_alert.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wtkms_alert {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    char home[4096];
    unsigned long days, repeat_s;
    wtkms_alert_say say;
    void *say_arg;
};

/*
 * alert_check --
 *     Say the warning if the keystore's rotation is overdue.
 */
static void
alert_check(wtkms_alert *a, const wtkms_keystore *ks)
{
    char msg[2 * 4096 + 256];
    int64_t age;

    age = wtkms_keystore_rotation_age_days(ks, wtkms_now_ms());
    if (age <= (int64_t)a->days)
        return;
    (void)snprintf(msg, sizeof(msg),
      "wtkms: warning: the master key of %s was last rotated %lld days ago (more than %lu): "
      "rotate it with 'wtkms keys rotate --home %s'",
      ks->path, (long long)age, a->days, a->home);
    a->say(a->say_arg, msg);
}

/*
 * alert_main --
 *     The thread: wake every repeat_s seconds, re-read the keystore, warn if overdue.
 */
static void *
alert_main(void *arg)
{
    wtkms_alert *a = arg;
    wtkms_keystore *ks;
    wtkms_err err;
    struct timespec until;
    char msg[1200];

    (void)pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        (void)clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)a->repeat_s;
        while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT)
            ;
        if (a->stop)
            break;
        (void)pthread_mutex_unlock(&a->mu);
        if (wtkms_keystore_load(a->home, &ks, &err) == 0) {
            alert_check(a, ks);
            wtkms_keystore_free(ks);
        } else {
            (void)snprintf(msg, sizeof(msg), "wtkms: warning: rotation check: %s", err.msg);
            a->say(a->say_arg, msg);
        }
        (void)pthread_mutex_lock(&a->mu);
    }
    (void)pthread_mutex_unlock(&a->mu);
    return (NULL);
}

/*
 * wtkms_alert_settings --
 *     The two settings, bounded.
 */
int
wtkms_alert_settings(
  wtkms_config *cfg, unsigned long *daysp, unsigned long *repeatp, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_config_uint(
           cfg, "rotation_alert_days", WTKMS_ROTATION_ALERT_DAYS, 0, 36500, daysp, err)) != 0)
        return (ret);
    if (repeatp == NULL)
        return (0);
    return (wtkms_config_uint(cfg, "rotation_alert_repeat", 86400, 1, 366UL * 86400, repeatp, err));
}

/*
 * wtkms_alert_start --
 *     Check now; start the periodic check.
 */
int
wtkms_alert_start(unsigned long days, unsigned long repeat_s, const char *home,
  const wtkms_keystore *ks, wtkms_alert_say say, void *say_arg, wtkms_alert **alertp,
  wtkms_err *err)
{
    wtkms_alert *a;
    pthread_condattr_t attr;
    int ret;

    *alertp = NULL;
    if (days == 0)
        return (0);
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)snprintf(a->home, sizeof(a->home), "%s", home);
    a->days = days;
    a->repeat_s = repeat_s;
    a->say = say;
    a->say_arg = say_arg;
    alert_check(a, ks);
    (void)pthread_mutex_init(&a->mu, NULL);
    (void)pthread_condattr_init(&attr);
    (void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    (void)pthread_cond_init(&a->cv, &attr);
    (void)pthread_condattr_destroy(&attr);
    if ((ret = pthread_create(&a->tid, NULL, alert_main, a)) != 0) {
        (void)pthread_cond_destroy(&a->cv);
        (void)pthread_mutex_destroy(&a->mu);
        free(a);
        return (wtkms_errf(err, ret, "cannot start the rotation-alert thread: %s", strerror(ret)));
    }
    *alertp = a;
    return (0);
}

/*
 * wtkms_alert_stop --
 *     Wake the thread, join it, free.
 */
void
wtkms_alert_stop(wtkms_alert *a)
{
    if (a == NULL)
        return;
    (void)pthread_mutex_lock(&a->mu);
    a->stop = true;
    (void)pthread_cond_signal(&a->cv);
    (void)pthread_mutex_unlock(&a->mu);
    (void)pthread_join(a->tid, NULL);
    (void)pthread_cond_destroy(&a->cv);
    (void)pthread_mutex_destroy(&a->mu);
    free(a);
}
