/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h -- wtkms settings: a flat list of key=value pairs.
 *
 * One syntax everywhere: the extension's config=(...) in a WiredTiger configuration string, the
 * file named by config_file=PATH, and the wtkms command's --config FILE. The syntax is
 * WiredTiger's: key=value pairs separated by commas, values optionally "double quoted"; a file
 * may also separate pairs by newlines and carry # comments.
 *
 * Because WiredTiger writes the extension string into WiredTiger.basecfg in clear and mongod logs
 * it, settings that would carry a secret are refused everywhere with a message saying where the
 * secret belongs instead.
 */
#ifndef WTKMS_CONFIG_H
#define WTKMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define WTKMS_CONFIG_MAX 64

typedef struct {
    char *key;
    char *value;
    bool used;    /* consulted by some consumer: unused keys are reported as unknown */
    char *origin; /* where it was set ("config file /etc/wtkms.conf"): named in errors */
} wtkms_config_item;

typedef struct {
    wtkms_config_item items[WTKMS_CONFIG_MAX];
    int n;
    char origin[512]; /* "extension config" or "config file /etc/wtkms.conf": named in errors */
} wtkms_config;

void wtkms_config_init(wtkms_config *cfg, const char *origin);
void wtkms_config_free(wtkms_config *cfg);

/* Parse text (len bytes, not necessarily NUL-terminated) and add its pairs; later pairs win. */
int wtkms_config_parse(wtkms_config *cfg, const char *text, size_t len, wtkms_err *err);
/* Read and parse a file; refuses a file that group or others can write. */
int wtkms_config_parse_file(wtkms_config *cfg, const char *path, wtkms_err *err);
/*
 * config_file=PATH, as the extension reads it: that file's settings after those already in cfg;
 * the file may not name another config_file. Nothing to do without the setting.
 */
int wtkms_config_include(wtkms_config *cfg, wtkms_err *err);
/* Set one pair (replacing an earlier value), after the secret check. */
int wtkms_config_set(wtkms_config *cfg, const char *key, const char *value, wtkms_err *err);

/* The value of key, or NULL; marks the key used. */
const char *wtkms_config_get(wtkms_config *cfg, const char *key);
/*
 * An optional setting into a fixed buffer ("" when absent; cfg may be NULL): a value that does
 * not fit is an error naming the setting and its limit.
 */
int wtkms_config_copy(wtkms_config *cfg, const char *key, char *out, size_t outlen, wtkms_err *err);
/* Like get, but a missing or empty value is an error naming the setting. */
int wtkms_config_require(wtkms_config *cfg, const char *key, const char **valuep, wtkms_err *err);
/* Parse an unsigned integer setting with a default and bounds. */
int wtkms_config_uint(wtkms_config *cfg, const char *key, unsigned long dflt, unsigned long min,
  unsigned long max, unsigned long *valuep, wtkms_err *err);
/* Parse a boolean setting (true/false/1/0/on/off). */
int wtkms_config_bool(wtkms_config *cfg, const char *key, bool dflt, bool *valuep, wtkms_err *err);

/* After every consumer has looked: any key nobody asked for is an error naming it. */
int wtkms_config_check_unused(const wtkms_config *cfg, wtkms_err *err);

/*
 * The used settings as text wtkms_config_parse reads back (what the extension's config=(...)
 * holds): key="value" joined by ",", in the order they were first set, leaving out those skip
 * (may be NULL) names. A value holding '"' cannot be quoted: EINVAL naming the setting. *outp is
 * malloc'd ("" when nothing is left); free it.
 */
int wtkms_config_format(
  const wtkms_config *cfg, bool (*skip)(const char *key), char **outp, wtkms_err *err);

/* Non-zero if key names a secret that must never appear in a configuration. */
int wtkms_config_is_secret_key(const char *key);

#endif
