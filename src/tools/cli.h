/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h -- what every "wtkms GROUP COMMAND" shares: options, the provider, output, exit codes.
 *
 * Usage: wtkms [--config FILE] GROUP COMMAND [ARGS] [--home DIR] [--json] [--flag VALUE ...]
 *
 * Flags a command does not take are provider settings: "--key-file P" is key_file=P, "--new-key-id
 * K" is key_id=K of the new provider (rotation). So every provider setting is also a flag, and a
 * misspelt flag is reported as an unknown setting by name.
 */
#ifndef WTKMS_CLI_H
#define WTKMS_CLI_H

#include <bson/bson.h>
#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "keystore.h"
#include "kms.h"
#include "kms_ring.h"
#include "render.h"

/* Exit codes: docs/CLI.md. */
#define WTKMS_EXIT_OK 0
#define WTKMS_EXIT_FAIL 1      /* the operation failed (I/O, service error, ...) */
#define WTKMS_EXIT_USAGE 2     /* bad command line or configuration */
#define WTKMS_EXIT_KEY 3       /* master key unavailable: disabled, deleted, denied, unreachable */
#define WTKMS_EXIT_INTEGRITY 4 /* verification failed: altered, truncated, reordered, damaged */
#define WTKMS_EXIT_NOTFOUND 5  /* no such home, keystore, snapshot, segment */
#define WTKMS_EXIT_REFUSED 6   /* refused for safety: non-empty target, gap, key still in use */
#define WTKMS_EXIT_OVERDUE 8   /* keys status --check: master-key rotation is overdue */
#define WTKMS_EXIT_UNREPLAYABLE 10 /* oplog history intact but of a shape wtkms cannot replay */

#define WTKMS_CLI_MAX_OPTS 48
#define WTKMS_CLI_MAX_ARGS 32

typedef struct {
    char *name; /* without the leading "--", dashes kept */
    char *value;
    bool used;
} wtkms_cli_opt;

typedef struct {
    const char *prog;
    const char *group, *command;
    const char *config_file; /* --config */
    const char *home;        /* --home */
    bool json;               /* --json */
    bool help;               /* --help */
    char *args[WTKMS_CLI_MAX_ARGS];
    int nargs;
    wtkms_cli_opt opts[WTKMS_CLI_MAX_OPTS];
    int nopts;
} wtkms_cli;

/* One command group: "keys", "snapshot", "oplog", "pit". Returns an exit code. */
typedef int (*wtkms_cli_group_fn)(wtkms_cli *cli);

/* A command-specific flag's value (marks it used), or NULL. */
const char *wtkms_cli_opt_get(wtkms_cli *cli, const char *name);
/* Each value of a flag that may be repeated, in order (marks them used): *pos starts at 0. */
const char *wtkms_cli_opt_next(wtkms_cli *cli, const char *name, int *pos);
/*
 * Flag values (cli_values.c): a count with an optional K/M suffix, at most max; a duration
 * ("90s", "12h", "30d", ...) in milliseconds; a number with an optional K/M/G suffix between min
 * and max, named flag in the error; --compress-level N / --no-compress (*levelp 0: the default,
 * -1: off); whether to draw progress bars (--progress, --no-progress, else on a terminal); and
 * bytes for people ("1.5 GiB").
 */
int wtkms_cli_parse_u32(const char *s, uint64_t max, uint32_t *vp);
int wtkms_cli_parse_duration(const char *s, int64_t *msp);
int wtkms_cli_parse_size(
  const char *s, const char *flag, uint64_t min, uint64_t max, uint64_t *out, wtkms_err *err);
int wtkms_cli_compression(wtkms_cli *cli, int *levelp, wtkms_err *err);
bool wtkms_cli_progress(wtkms_cli *cli);

/* A boolean flag (given without value). */
bool wtkms_cli_flag(wtkms_cli *cli, const char *name);

/*
 * Settings from --config FILE (prefix "" only) and every flag not yet taken whose name starts
 * with prefix ("new-" flags belong to a rotation's new provider and are left for it when prefix is
 * ""), dashes turned into underscores. With file_used, the file's settings count as used (for a
 * command that consumes only some of them). The caller frees cfg.
 */
int wtkms_cli_settings(
  wtkms_cli *cli, const char *prefix, bool file_used, wtkms_config *cfg, wtkms_err *err);

/* The --s3-* flags as s3_* settings, for a store (cfg initialised here; the caller frees it). */
int wtkms_cli_s3_settings(wtkms_cli *cli, wtkms_config *cfg, wtkms_err *err);

/*
 * Build the provider from --config FILE and the remaining flags (prefix "" for the current
 * provider, "new-" for the new one in a rotation). Call after taking the command's own flags.
 */
int wtkms_cli_kms(wtkms_cli *cli, const char *prefix, wtkms_kms **kmsp, wtkms_err *err);
/*
 * A ring (kms_ring.h) holding one provider per --key-config FILE (a provider configuration in
 * the --config syntax, read by the extension as config_file=FILE for a restored home's first
 * open). Call before taking the provider flags; add the --config/flags provider to it yourself.
 */
int wtkms_cli_key_ring(wtkms_cli *cli, wtkms_kms_ring **ringp, wtkms_err *err);
/*
 * Provider settings as the extension's config=(...) contents, key="value",... (used settings
 * only, store settings left out): for the open that finishes a restored home's recovery.
 */
int wtkms_snapshot_ext_config(wtkms_config *cfg, char **outp, wtkms_err *err);
/*
 * --home-config FILE: the provider of a home's own keystore, and the extension's settings for it
 * (config_file="FILE"), for snapshot create, restore and pit restore (snapshot.c).
 */
int wtkms_snapshot_home_kms(const char *path, wtkms_kms **kmsp, char **extp, wtkms_err *err);
/*
 * Mark the extension's own settings (create, rotation_alert_days, rotation_alert_repeat) used: a
 * configuration file shared with the extension may hold them.
 */
void wtkms_cli_accept_ext_settings(wtkms_config *cfg);
/* Whether any "--new-..." flag was given. */
bool wtkms_cli_has_prefix(wtkms_cli *cli, const char *prefix);

/* The --home value, or an error naming the flag. */
int wtkms_cli_home(wtkms_cli *cli, const char **homep, wtkms_err *err);

/* Fail on flags nobody used (call at the end of a command that builds no provider). */
int wtkms_cli_check_unused(wtkms_cli *cli, wtkms_err *err);

/* Print err on stderr as one line and map its code to an exit code. */
int wtkms_cli_fail(wtkms_cli *cli, const wtkms_err *err);
int wtkms_cli_exit_code(int code);

/* Groups; each file defines one. */
int wtkms_cmd_keys(wtkms_cli *cli);
int wtkms_cmd_keys_usage(wtkms_cli *cli);   /* keys_usage.c */
int wtkms_cmd_keys_compact(wtkms_cli *cli); /* keys_compact.c */
int wtkms_cmd_snapshot(wtkms_cli *cli);     /* snapshot.c */
int wtkms_cmd_oplog(wtkms_cli *cli);        /* oplog.c */
int wtkms_cmd_pit(wtkms_cli *cli);          /* pit.c */

/*
 * keys.c: load the home's keystore and unlock it with the configured master key (*wrapp, if
 * given, is the wrapping used); with want_new, the "--new-..." provider is built first.
 */
int wtkms_keys_open_current(wtkms_cli *cli, bool want_new, wtkms_keystore **ksp, uint32_t *wrapp,
  wtkms_kms **kmsp, wtkms_kms **newkmsp, wtkms_err *err);

#endif
