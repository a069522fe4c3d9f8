/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_values.c -- every value the command reads from a flag: one place for the parsers, so one
 * flag is read one way everywhere (as curl's tool_paramhlp.c). What the command prints: render.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "zcodec.h"

/*
 * wtkms_cli_progress --
 *     Progress bars only on a terminal, unless forced either way.
 */
bool
wtkms_cli_progress(wtkms_cli *cli)
{
    bool force = wtkms_cli_flag(cli, "progress"), never = wtkms_cli_flag(cli, "no-progress");

    if (never)
        return (false);
    return (force || (isatty(STDOUT_FILENO) && isatty(STDERR_FILENO)));
}

/*
 * wtkms_cli_parse_u32 --
 *     An unsigned number with an optional K/M suffix.
 */
int
wtkms_cli_parse_u32(const char *s, uint64_t max, uint32_t *vp)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return (EINVAL);
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1024 * 1024, end++;
    if (*end != '\0' || v > max)
        return (EINVAL);
    *vp = (uint32_t)v;
    return (0);
}

/*
 * wtkms_cli_parse_duration --
 *     "90s", "15m", "12h", "30d", "2w" into milliseconds.
 */
int
wtkms_cli_parse_duration(const char *s, int64_t *msp)
{
    unsigned long long v;
    char *end;
    int64_t unit;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || v > 1000000000ULL)
        return (EINVAL);
    switch (*end) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 86400LL * 1000;
        break;
    case 'w':
        unit = 7 * 86400LL * 1000;
        break;
    default:
        return (EINVAL);
    }
    if (end[1] != '\0')
        return (EINVAL);
    *msp = (int64_t)v * unit;
    return (0);
}

/*
 * wtkms_cli_parse_size --
 *     A byte count with an optional K/M/G (binary) suffix.
 */
int
wtkms_cli_parse_size(
  const char *s, const char *flag, uint64_t min, uint64_t max, uint64_t *out, wtkms_err *err)
{
    unsigned long long v;
    char *end;
    uint64_t mult;

    errno = 0;
    v = strtoull(s, &end, 10);
    mult = 1;
    if (end != s && *end != '\0') {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            mult = 1024;
            break;
        case 'M':
            mult = 1024 * 1024;
            break;
        case 'G':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            mult = 0;
        }
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
    }
    if (errno != 0 || end == s || *end != '\0' || mult == 0 || s[0] == '-' || v > max / mult ||
        v * mult < min)
        return (wtkms_errf(err, EINVAL,
          "%s %s: give a number from %" PRIu64 " to %" PRIu64 " (K, M and G suffixes allowed)",
          flag, s, min, max));
    *out = v * mult;
    return (0);
}

/*
 * wtkms_cli_compression --
 *     --compress-level and --no-compress.
 */
int
wtkms_cli_compression(wtkms_cli *cli, int *levelp, wtkms_err *err)
{
    const char *v;
    char *end;
    long n;

    *levelp = 0;
    v = wtkms_cli_opt_get(cli, "compress-level");
    if (wtkms_cli_flag(cli, "no-compress")) {
        if (v != NULL)
            return (wtkms_errf(err, EINVAL,
              "%s %s: --compress-level and --no-compress contradict each other: give one",
              cli->group, cli->command));
        *levelp = -1;
        return (0);
    }
    if (v == NULL)
        return (0);
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < WTKMS_ZSTD_LEVEL_MIN ||
        n > WTKMS_ZSTD_LEVEL_MAX)
        return (wtkms_errf(err, EINVAL,
          "--compress-level %s: expected a zstd level from %d (fastest, the default is %d) to %d "
          "(smallest), or --no-compress",
          v, WTKMS_ZSTD_LEVEL_MIN, WTKMS_ZSTD_LEVEL_DEFAULT, WTKMS_ZSTD_LEVEL_MAX));
    *levelp = (int)n;
    return (0);
}
