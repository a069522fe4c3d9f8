/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c -- parse wtkms settings.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbuf.h"
#include "fileio.h"
#include "secure.h"

/*
 * Settings that name a secret. A secret in a configuration string ends up in WiredTiger.basecfg
 * and in mongod's log; in a config file it is one accidental "cat" away from a ticket. Secrets
 * live in files of their own (credentials files, key files) that the settings name by path, in
 * the environment, or come from the instance's identity.
 */
static const char *const secret_keys[] = { "secret", "secret_key", "secret_access_key",
    "aws_secret_access_key", "session_token", "aws_session_token", "client_secret", "password",
    "passphrase", "private_key", "token", "access_token", "key_material", "master_key", NULL };

/*
 * wtkms_config_is_secret_key --
 *     Whether a key names a secret.
 */
int
wtkms_config_is_secret_key(const char *key)
{
    int i;

    for (i = 0; secret_keys[i] != NULL; i++)
        if (strcmp(key, secret_keys[i]) == 0)
            return (1);
    return (0);
}

/*
 * wtkms_config_init --
 *     An empty configuration.
 */
void
wtkms_config_init(wtkms_config *cfg, const char *origin)
{
    memset(cfg, 0, sizeof(*cfg));
    (void)snprintf(cfg->origin, sizeof(cfg->origin), "%s", origin);
}

/*
 * wtkms_config_free --
 *     Release every pair.
 */
void
wtkms_config_free(wtkms_config *cfg)
{
    int i;

    for (i = 0; i < cfg->n; i++) {
        free(cfg->items[i].key);
        free(cfg->items[i].value);
        free(cfg->items[i].origin);
    }
    cfg->n = 0;
}

/*
 * secret_error --
 *     The message for a secret given inline.
 */
static int
secret_error(wtkms_config *cfg, const char *key, wtkms_err *err)
{
    return (wtkms_errf(err, EINVAL,
      "%s: setting '%s' would put a secret in a configuration, which WiredTiger writes to "
      "WiredTiger.basecfg and mongod logs: put it in a credentials file named by path "
      "(credentials_file, client_secret_file, service_account_file, key_file) or in the "
      "environment instead",
      cfg->origin, key));
}

/*
 * wtkms_config_set --
 *     Add or replace one pair.
 */
int
wtkms_config_set(wtkms_config *cfg, const char *key, const char *value, wtkms_err *err)
{
    char *k, *v, *o;
    int i;

    if (key[0] == '\0')
        return (wtkms_errf(err, EINVAL, "%s: a setting has an empty name", cfg->origin));
    if (wtkms_config_is_secret_key(key))
        return (secret_error(cfg, key, err));
    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0) {
            v = strdup(value);
            o = strdup(cfg->origin);
            if (v == NULL || o == NULL) {
                free(v);
                free(o);
                return (wtkms_errf(err, ENOMEM, "out of memory"));
            }
            free(cfg->items[i].value);
            free(cfg->items[i].origin);
            cfg->items[i].value = v;
            cfg->items[i].origin = o;
            return (0);
        }
    if (cfg->n == WTKMS_CONFIG_MAX)
        return (
          wtkms_errf(err, EINVAL, "%s: more than %d settings", cfg->origin, WTKMS_CONFIG_MAX));
    k = strdup(key);
    v = strdup(value);
    o = strdup(cfg->origin);
    if (k == NULL || v == NULL || o == NULL) {
        free(k);
        free(v);
        free(o);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    cfg->items[cfg->n].key = k;
    cfg->items[cfg->n].value = v;
    cfg->items[cfg->n].origin = o;
    cfg->items[cfg->n].used = false;
    cfg->n++;
    return (0);
}

/*
 * wtkms_config_parse --
 *     Parse key=value pairs separated by commas or newlines.
 */
int
wtkms_config_parse(wtkms_config *cfg, const char *text, size_t len, wtkms_err *err)
{
    char key[128], *value;
    size_t i, klen, vcap, vlen;
    int depth, ret;

    ret = 0;
    /* A value is never longer than the text, except a bare key's "true" ("a" is 1 byte). */
    vcap = len + sizeof("true");
    if ((value = malloc(vcap)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    i = 0;
    /* WiredTiger hands us the value of config=(...) with its parentheses: look inside. */
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && text[i] == '(' && len > 0 && text[len - 1] == ')') {
        i++;
        len--;
    }
    for (;;) {
        /* Skip separators, white space and comment lines. */
        while (i < len && (isspace((unsigned char)text[i]) || text[i] == ','))
            i++;
        if (i < len && text[i] == '#') {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (i >= len)
            break;
        klen = 0;
        while (i < len && text[i] != '=' && text[i] != ',' && text[i] != '\n' &&
               !isspace((unsigned char)text[i])) {
            if (!(isalnum((unsigned char)text[i]) || text[i] == '_' || text[i] == '.' ||
                  text[i] == '-') ||
                klen + 1 >= sizeof(key)) {
                ret = wtkms_errf(err, EINVAL,
                  "%s: bad setting name near offset %zu: names are letters, digits and '_'",
                  cfg->origin, i);
                goto done;
            }
            key[klen++] = text[i++];
        }
        key[klen] = '\0';
        while (i < len && (text[i] == ' ' || text[i] == '\t'))
            i++;
        vlen = 0;
        if (i < len && text[i] == '=') {
            i++;
            while (i < len && (text[i] == ' ' || text[i] == '\t'))
                i++;
            if (i < len && text[i] == '"') {
                for (i++; i < len && text[i] != '"'; i++) {
                    if (text[i] == '\\' && i + 1 < len)
                        i++;
                    value[vlen++] = text[i];
                }
                if (i >= len) {
                    ret = wtkms_errf(
                      err, EINVAL, "%s: setting '%s' has an unterminated quote", cfg->origin, key);
                    goto done;
                }
                i++;
            } else {
                for (depth = 0; i < len; i++) {
                    if (text[i] == '(' || text[i] == '[')
                        depth++;
                    else if ((text[i] == ')' || text[i] == ']') && depth > 0)
                        depth--;
                    else if (depth == 0 && (text[i] == ',' || text[i] == '\n'))
                        break;
                    value[vlen++] = text[i];
                }
                while (vlen > 0 && isspace((unsigned char)value[vlen - 1]))
                    vlen--;
            }
        } else {
            /* A bare key is "true", as in WiredTiger. */
            memcpy(value, "true", 5);
            vlen = 4;
        }
        value[vlen] = '\0';
        if ((ret = wtkms_config_set(cfg, key, value, err)) != 0)
            goto done;
    }
done:
    wtkms_wipe(value, vcap);
    free(value);
    return (ret);
}

/*
 * wtkms_config_parse_file --
 *     Parse a configuration file.
 */
int
wtkms_config_parse_file(wtkms_config *cfg, const char *path, wtkms_err *err)
{
    struct stat sb;
    char *buf, saved[sizeof(cfg->origin)];
    size_t len;
    int ret;

    if (stat(path, &sb) != 0)
        return (wtkms_errf(err, errno, "config file %s: %s", path, strerror(errno)));
    if (sb.st_mode & (S_IWGRP | S_IWOTH))
        return (wtkms_errf(err, EPERM,
          "config file %s is writable by group or others, who could point wtkms at another key "
          "service: chmod go-w %s",
          path, path));
    if ((ret = wtkms_read_file(path, 1 << 20, &buf, &len, err)) != 0)
        return (ret);
    (void)snprintf(saved, sizeof(saved), "%s", cfg->origin);
    (void)snprintf(cfg->origin, sizeof(cfg->origin), "config file %s", path);
    ret = wtkms_config_parse(cfg, buf, len, err);
    (void)snprintf(cfg->origin, sizeof(cfg->origin), "%s", saved);
    free(buf);
    return (ret);
}

/*
 * wtkms_config_include --
 *     config_file=PATH, the extension's rule: the file's settings after the string's, and the
 *     file may not name another file.
 */
int
wtkms_config_include(wtkms_config *cfg, wtkms_err *err)
{
    const char *file, *again;
    char path[4096];
    int ret;

    if ((file = wtkms_config_get(cfg, "config_file")) == NULL)
        return (0);
    if (snprintf(path, sizeof(path), "%s", file) >= (int)sizeof(path))
        return (wtkms_errf(err, ENAMETOOLONG, "%s: config_file is longer than %zu bytes",
          cfg->origin, sizeof(path) - 1));
    if ((ret = wtkms_config_parse_file(cfg, path, err)) != 0)
        return (ret);
    if ((again = wtkms_config_get(cfg, "config_file")) != NULL && strcmp(again, path) != 0)
        return (
          wtkms_errf(err, EINVAL, "config file %s: config_file may not name another file", path));
    return (0);
}

/*
 * wtkms_config_get --
 *     Look up a key.
 */
const char *
wtkms_config_get(wtkms_config *cfg, const char *key)
{
    int i;

    for (i = 0; i < cfg->n; i++)
        if (strcmp(cfg->items[i].key, key) == 0) {
            cfg->items[i].used = true;
            return (cfg->items[i].value);
        }
    return (NULL);
}

/*
 * wtkms_config_require --
 *     Look up a key that must be present.
 */
int
wtkms_config_require(wtkms_config *cfg, const char *key, const char **valuep, wtkms_err *err)
{
    const char *v;

    if ((v = wtkms_config_get(cfg, key)) == NULL || v[0] == '\0')
        return (wtkms_errf(err, EINVAL, "%s: setting '%s' is required", cfg->origin, key));
    *valuep = v;
    return (0);
}

/*
 * wtkms_config_uint --
 *     An unsigned integer setting.
 */
int
wtkms_config_uint(wtkms_config *cfg, const char *key, unsigned long dflt, unsigned long min,
  unsigned long max, unsigned long *valuep, wtkms_err *err)
{
    const char *v;
    char *end;
    unsigned long n;

    if ((v = wtkms_config_get(cfg, key)) == NULL) {
        *valuep = dflt;
        return (0);
    }
    errno = 0;
    n = strtoul(v, &end, 10);
    if (v[0] == '\0' || v[0] == '-' || *end != '\0' || errno != 0 || n < min || n > max)
        return (
          wtkms_errf(err, EINVAL, "%s: setting '%s=%s' must be a whole number from %lu to %lu",
            cfg->origin, key, v, min, max));
    *valuep = n;
    return (0);
}

/*
 * wtkms_config_bool --
 *     A boolean setting.
 */
int
wtkms_config_bool(wtkms_config *cfg, const char *key, bool dflt, bool *valuep, wtkms_err *err)
{
    const char *v;

    if ((v = wtkms_config_get(cfg, key)) == NULL) {
        *valuep = dflt;
        return (0);
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
        *valuep = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
        *valuep = false;
    else
        return (wtkms_errf(
          err, EINVAL, "%s: setting '%s=%s' must be true or false", cfg->origin, key, v));
    return (0);
}

/*
 * wtkms_config_check_unused --
 *     Report the first setting nobody consumed.
 */
int
wtkms_config_check_unused(const wtkms_config *cfg, wtkms_err *err)
{
    int i;

    for (i = 0; i < cfg->n; i++)
        if (!cfg->items[i].used)
            return (wtkms_errf(err, EINVAL,
              "%s: unknown setting '%s' (see README, \"Configuration\", for the settings of each "
              "provider)",
              cfg->items[i].origin, cfg->items[i].key));
    return (0);
}

/*
 * wtkms_config_format --
 *     The used settings as text wtkms_config_parse reads back.
 */
int
wtkms_config_format(
  const wtkms_config *cfg, bool (*skip)(const char *key), char **outp, wtkms_err *err)
{
    wtkms_dbuf b;
    const char *k, *v;
    int i;

    *outp = NULL;
    memset(&b, 0, sizeof(b));
    (void)wtkms_dbuf_str(&b, "");
    for (i = 0; i < cfg->n; i++) {
        k = cfg->items[i].key;
        v = cfg->items[i].value;
        if (!cfg->items[i].used || (skip != NULL && skip(k)))
            continue;
        if (strchr(v, '"') != NULL) {
            wtkms_dbuf_free(&b);
            return (wtkms_errf(
              err, EINVAL, "setting %s: a value with '\"' cannot be passed to the extension", k));
        }
        if (b.len > 0)
            (void)wtkms_dbuf_add(&b, ",", 1);
        (void)wtkms_dbuf_str(&b, k);
        (void)wtkms_dbuf_add(&b, "=\"", 2);
        (void)wtkms_dbuf_str(&b, v);
        (void)wtkms_dbuf_add(&b, "\"", 1);
    }
    if (b.error != 0) {
        wtkms_dbuf_free(&b);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    *outp = b.s;
    return (0);
}

/*
 * wtkms_config_copy --
 *     An optional setting into a fixed buffer, named if too long.
 */
int
wtkms_config_copy(wtkms_config *cfg, const char *key, char *out, size_t outlen, wtkms_err *err)
{
    const char *v;

    out[0] = '\0';
    if (cfg == NULL || (v = wtkms_config_get(cfg, key)) == NULL)
        return (0);
    if (snprintf(out, outlen, "%s", v) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s: %s is too long (at most %zu bytes)", cfg->origin,
          key, outlen - 1));
    return (0);
}
