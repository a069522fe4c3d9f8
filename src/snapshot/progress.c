/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.c -- "create  [=========>          ]  48%  512.0 MiB / 1.0 GiB  410 MiB/s".
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>

/*
 * now_ms --
 *     Monotonic milliseconds.
 */
static int64_t
now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * human --
 *     Bytes as a short human string.
 */
static void
human(double v, char *out, size_t outlen)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u;

    for (u = 0; v >= 1024 && u < 4; u++)
        v /= 1024;
    (void)snprintf(out, outlen, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/*
 * draw --
 *     Redraw the line.
 */
static void
draw(wtkms_progress *p, int64_t now)
{
    char bar[31], a[32], b[32], r[32];
    double frac, secs;
    int i, fill;

    frac = p->total > 0 ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1)
        frac = 1;
    fill = (int)(frac * 30);
    for (i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[30] = '\0';
    secs = (double)(now - p->start_ms) / 1000.0;
    human((double)p->done, a, sizeof(a));
    human((double)p->total, b, sizeof(b));
    human(secs > 0 ? (double)p->done / secs : 0, r, sizeof(r));
    (void)fprintf(
      stderr, "\r%-8s [%s] %3d%%  %s / %s  %s/s   ", p->what, bar, (int)(frac * 100), a, b, r);
    (void)fflush(stderr);
}

/*
 * wtkms_progress_init --
 *     Start a bar (nothing happens when off).
 */
void
wtkms_progress_init(wtkms_progress *p, bool on, const char *what, int64_t total)
{
    p->on = on;
    p->what = what;
    p->total = total;
    p->done = 0;
    p->start_ms = p->last_ms = now_ms();
}

/*
 * wtkms_progress_add --
 *     Count bytes; redraw at most five times a second.
 */
void
wtkms_progress_add(wtkms_progress *p, int64_t n)
{
    int64_t now;

    p->done += n;
    if (!p->on)
        return;
    now = now_ms();
    if (now - p->last_ms < 200)
        return;
    p->last_ms = now;
    draw(p, now);
}

/*
 * wtkms_progress_end --
 *     Final redraw and newline.
 */
void
wtkms_progress_end(wtkms_progress *p)
{
    if (!p->on)
        return;
    draw(p, now_ms());
    (void)fputc('\n', stderr);
    p->on = false;
}
