/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.c -- option handling, provider construction and exit codes for the command (what it prints:
 * render.c).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * wtkms_cli_opt_get --
 *     A flag's value.
 */
const char *
wtkms_cli_opt_get(wtkms_cli *cli, const char *name)
{
    int i;

    for (i = cli->nopts - 1; i >= 0; i--)
        if (strcmp(cli->opts[i].name, name) == 0) {
            cli->opts[i].used = true;
            return (cli->opts[i].value);
        }
    return (NULL);
}

/*
 * wtkms_cli_opt_next --
 *     The next value of a repeatable flag.
 */
const char *
wtkms_cli_opt_next(wtkms_cli *cli, const char *name, int *pos)
{
    for (; *pos < cli->nopts; (*pos)++)
        if (strcmp(cli->opts[*pos].name, name) == 0) {
            cli->opts[*pos].used = true;
            return (cli->opts[(*pos)++].value);
        }
    return (NULL);
}

/*
 * wtkms_cli_flag --
 *     Whether a boolean flag was given.
 */
bool
wtkms_cli_flag(wtkms_cli *cli, const char *name)
{
    const char *v = wtkms_cli_opt_get(cli, name);

    return (v != NULL && strcmp(v, "false") != 0);
}

/*
 * wtkms_cli_has_prefix --
 *     Whether any flag starts with prefix.
 */
bool
wtkms_cli_has_prefix(wtkms_cli *cli, const char *prefix)
{
    int i;

    for (i = 0; i < cli->nopts; i++)
        if (strncmp(cli->opts[i].name, prefix, strlen(prefix)) == 0)
            return (true);
    return (false);
}

/*
 * wtkms_cli_home --
 *     --home, required.
 */
int
wtkms_cli_home(wtkms_cli *cli, const char **homep, wtkms_err *err)
{
    if (cli->home == NULL || cli->home[0] == '\0')
        return (wtkms_errf(
          err, EINVAL, "%s %s needs --home DIR (the WiredTiger home)", cli->group, cli->command));
    *homep = cli->home;
    return (0);
}

/*
 * take_flag --
 *     A flag as a setting: its name after plen characters, dashes as underscores; marked used.
 */
static int
take_flag(wtkms_cli_opt *o, size_t plen, wtkms_config *cfg, wtkms_err *err)
{
    char key[128];
    size_t i;

    if (strlen(o->name + plen) >= sizeof(key))
        return (wtkms_errf(err, EINVAL, "flag --%s is too long", o->name));
    for (i = 0; o->name[plen + i] != '\0'; i++)
        key[i] = o->name[plen + i] == '-' ? '_' : o->name[plen + i];
    key[i] = '\0';
    o->used = true;
    return (wtkms_config_set(cfg, key, o->value, err));
}

/*
 * wtkms_cli_settings --
 *     --config FILE plus the flags nobody took, as settings.
 */
int
wtkms_cli_settings(
  wtkms_cli *cli, const char *prefix, bool file_used, wtkms_config *cfg, wtkms_err *err)
{
    size_t plen;
    int n, ret;

    plen = strlen(prefix);
    wtkms_config_init(cfg, plen > 0 ? "new provider flags" : "command-line flags");
    /* A rotation's new provider takes no settings from the current provider's config file. */
    if (plen == 0 && cli->config_file != NULL) {
        if ((ret = wtkms_config_parse_file(cfg, cli->config_file, err)) != 0)
            return (ret);
        if (file_used)
            for (n = 0; n < cfg->n; n++)
                cfg->items[n].used = true;
    }
    for (n = 0; n < cli->nopts; n++) {
        wtkms_cli_opt *o = &cli->opts[n];
        if (o->used || strncmp(o->name, prefix, plen) != 0)
            continue;
        if (plen == 0 && strncmp(o->name, "new-", 4) == 0)
            continue;
        if ((ret = take_flag(o, plen, cfg, err)) != 0)
            return (ret);
    }
    wtkms_cli_accept_ext_settings(cfg);
    return (0);
}

/*
 * wtkms_cli_accept_ext_settings --
 *     The extension's own settings, which a file shared with it may hold: accepted unread.
 */
void
wtkms_cli_accept_ext_settings(wtkms_config *cfg)
{
    /* "create" has no meaning to the command. */
    (void)wtkms_config_get(cfg, "create");
    /* The rotation alert's settings are read by the extension and by "keys status". */
    (void)wtkms_config_get(cfg, "rotation_alert_days");
    (void)wtkms_config_get(cfg, "rotation_alert_repeat");
}

/*
 * wtkms_cli_s3_settings --
 *     The --s3-* flags nobody took, as s3_* settings (a store's, never a provider's).
 */
int
wtkms_cli_s3_settings(wtkms_cli *cli, wtkms_config *cfg, wtkms_err *err)
{
    int n, ret;

    wtkms_config_init(cfg, "command-line flags");
    for (n = 0; n < cli->nopts; n++) {
        wtkms_cli_opt *o = &cli->opts[n];
        if (o->used || strncmp(o->name, "s3-", 3) != 0)
            continue;
        if ((ret = take_flag(o, 0, cfg, err)) != 0)
            return (ret);
    }
    return (0);
}

/*
 * wtkms_cli_kms --
 *     The provider from --config FILE plus provider flags.
 */
int
wtkms_cli_kms(wtkms_cli *cli, const char *prefix, wtkms_kms **kmsp, wtkms_err *err)
{
    wtkms_config cfg;
    int ret;

    *kmsp = NULL;
    if ((ret = wtkms_cli_settings(cli, prefix, false, &cfg, err)) != 0)
        goto done;
    if ((ret = wtkms_kms_open(&cfg, kmsp, err)) != 0)
        goto done;
    if ((ret = wtkms_config_check_unused(&cfg, err)) != 0) {
        wtkms_kms_close(*kmsp);
        *kmsp = NULL;
    }
done:
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * wtkms_cli_key_ring --
 *     One provider per --key-config FILE.
 */
int
wtkms_cli_key_ring(wtkms_cli *cli, wtkms_kms_ring **ringp, wtkms_err *err)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    const char *path;
    char origin[4200], ext[4200];
    int pos, ret;

    if ((ret = wtkms_kms_ring_new(ringp, err)) != 0)
        return (ret);
    for (pos = 0; (path = wtkms_cli_opt_next(cli, "key-config", &pos)) != NULL;) {
        (void)snprintf(origin, sizeof(origin), "--key-config %s", path);
        if (strchr(path, '"') != NULL) {
            ret = wtkms_errf(err, EINVAL, "%s: the path may not contain '\"'", origin);
            goto err;
        }
        if (snprintf(ext, sizeof(ext), "config_file=\"%s\"", path) >= (int)sizeof(ext)) {
            ret = wtkms_errf(err, ENAMETOOLONG, "%s: the path is too long", origin);
            goto err;
        }
        kms = NULL;
        wtkms_config_init(&cfg, origin);
        if ((ret = wtkms_config_parse_file(&cfg, path, err)) != 0 ||
            (ret = wtkms_kms_open(&cfg, &kms, err)) != 0 ||
            (ret = wtkms_config_check_unused(&cfg, err)) != 0) {
            wtkms_config_free(&cfg);
            wtkms_kms_close(kms);
            (void)wtkms_err_prefix(err, "%s", origin);
            goto err;
        }
        wtkms_config_free(&cfg);
        if ((ret = wtkms_kms_ring_add(*ringp, kms, origin, ext, err)) != 0)
            goto err;
    }
    return (0);
err:
    wtkms_kms_ring_free(*ringp);
    *ringp = NULL;
    return (ret);
}

/*
 * wtkms_cli_check_unused --
 *     Report a flag nobody took.
 */
int
wtkms_cli_check_unused(wtkms_cli *cli, wtkms_err *err)
{
    int i;

    for (i = 0; i < cli->nopts; i++)
        if (!cli->opts[i].used)
            return (wtkms_errf(err, EINVAL, "%s %s: unknown flag --%s (see wtkms %s --help)",
              cli->group, cli->command, cli->opts[i].name, cli->group));
    return (0);
}

/*
 * wtkms_cli_exit_code --
 *     Map an error code to the documented exit codes.
 */
int
wtkms_cli_exit_code(int code)
{
    switch (code) {
    case 0:
        return (WTKMS_EXIT_OK);
    case EINVAL:
    case ENAMETOOLONG:
        return (WTKMS_EXIT_USAGE);
    case EKEYREVOKED:
    case EKEYEXPIRED:
    case ENOKEY:
    case EKEYREJECTED:
    case EACCES:
    case EAGAIN:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
        return (WTKMS_EXIT_KEY);
    case EBADMSG:
    case EILSEQ:
        return (WTKMS_EXIT_INTEGRITY);
    case ENOENT:
        return (WTKMS_EXIT_NOTFOUND);
    case EEXIST:
    case ENOTEMPTY:
    case EBUSY:
    case ERANGE:
        return (WTKMS_EXIT_REFUSED);
    case ENOMSG: /* WTKMS_EUNREPLAYABLE (oplog_txn.h) */
        return (WTKMS_EXIT_UNREPLAYABLE);
    default:
        return (WTKMS_EXIT_FAIL);
    }
}

/*
 * wtkms_cli_fail --
 *     Print the error and return its exit code.
 */
int
wtkms_cli_fail(wtkms_cli *cli, const wtkms_err *err)
{
    (void)cli;
    (void)fprintf(stderr, "wtkms: %s\n", err->msg[0] != '\0' ? err->msg : "failed");
    return (wtkms_cli_exit_code(err->code != 0 ? err->code : EIO));
}
