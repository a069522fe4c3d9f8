/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wtkms.c -- the wtkms command: parse the command line and hand it to a group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Flags that take no value. Every other --flag takes the next argument (or --flag=value). */
static const char *const boolean_flags[] = { "json", "help", "no-encryption", "force", "yes",
    "dry-run", "no-progress", "progress", "once", "all", "keep-going", "verify-only", "verify",
    "fsync-locked", "fsync-lock", "live", "across-gaps", "check", "preserve-uuid",
    "allow-unencrypted", "no-recover", "no-compress", NULL };

static const char usage[] =
  "usage: wtkms [--config FILE] GROUP COMMAND [ARGS] [--home DIR] [--json] [provider flags]\n"
  "\n"
  "groups and commands:\n"
  "  keys generate-local --key-file PATH    make a new local master key file (mode 600)\n"
  "  keys init --home DIR                   create the keystore of an empty home\n"
  "  keys status --home DIR                 master key, rotation age, data keys, opens\n"
  "  keys rotate --home DIR [--new-...]     rewrap the keystore key under a new master key\n"
  "  keys usage KEY --store STORE ...       what still depends on a master key\n"
  "  snapshot create|list|show|verify|restore|delete|prune ...\n"
  "  oplog tap|list|verify|export ...\n"
  "  pit restore ...\n"
  "\n"
  "provider flags (also settings of a --config file, dashes for underscores):\n"
  "  --provider local|aws|azure|gcp|kmip   --key-file PATH (local)   see README, Configuration\n"
  "\n"
  "exit codes: 0 ok, 1 failed, 2 usage, 3 key unavailable, 4 integrity, 5 not found,\n"
  "6 refused for safety (docs/CLI.md)\n";

/*
 * is_boolean --
 *     Whether a flag takes no value.
 */
static int
is_boolean(const char *name)
{
    int i;

    for (i = 0; boolean_flags[i] != NULL; i++)
        if (strcmp(boolean_flags[i], name) == 0)
            return (1);
    return (0);
}

/*
 * parse_args --
 *     Split argv into group, command, positional arguments and flags.
 */
static int
parse_args(wtkms_cli *cli, int argc, char **argv)
{
    char *name, *eq;
    int i;

    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            if (cli->group == NULL)
                cli->group = argv[i];
            else if (cli->command == NULL)
                cli->command = argv[i];
            else if (cli->nargs < WTKMS_CLI_MAX_ARGS)
                cli->args[cli->nargs++] = argv[i];
            else {
                (void)fprintf(stderr, "wtkms: too many arguments\n");
                return (-1);
            }
            continue;
        }
        name = argv[i] + 2;
        if (cli->nopts == WTKMS_CLI_MAX_OPTS) {
            (void)fprintf(stderr, "wtkms: too many flags\n");
            return (-1);
        }
        if ((eq = strchr(name, '=')) != NULL) {
            cli->opts[cli->nopts].name = strndup(name, (size_t)(eq - name));
            cli->opts[cli->nopts].value = strdup(eq + 1);
        } else if (is_boolean(name)) {
            cli->opts[cli->nopts].name = strdup(name);
            cli->opts[cli->nopts].value = strdup("true");
        } else {
            if (i + 1 >= argc) {
                (void)fprintf(stderr, "wtkms: flag --%s needs a value\n", name);
                return (-1);
            }
            cli->opts[cli->nopts].name = strdup(name);
            cli->opts[cli->nopts].value = strdup(argv[++i]);
        }
        if (cli->opts[cli->nopts].name == NULL || cli->opts[cli->nopts].value == NULL)
            return (-1);
        cli->nopts++;
    }
    cli->config_file = wtkms_cli_opt_get(cli, "config");
    cli->home = wtkms_cli_opt_get(cli, "home");
    cli->json = wtkms_cli_flag(cli, "json");
    cli->help = wtkms_cli_flag(cli, "help");
    return (0);
}

int main(int argc, char **argv);

/*
 * main --
 *     Dispatch to a group.
 */
int
main(int argc, char **argv)
{
    wtkms_cli cli;
    wtkms_cli_group_fn fn;
    int i, ret;

    memset(&cli, 0, sizeof(cli));
    cli.prog = argv[0];
    if (parse_args(&cli, argc, argv) != 0)
        return (WTKMS_EXIT_USAGE);
    if (cli.group == NULL || strcmp(cli.group, "help") == 0) {
        (void)fputs(usage, cli.help || cli.group != NULL ? stdout : stderr);
        return (cli.help || cli.group != NULL ? WTKMS_EXIT_OK : WTKMS_EXIT_USAGE);
    }
    if (strcmp(cli.group, "keys") == 0)
        fn = wtkms_cmd_keys;
    else if (strcmp(cli.group, "snapshot") == 0)
        fn = wtkms_cmd_snapshot;
    else if (strcmp(cli.group, "oplog") == 0)
        fn = wtkms_cmd_oplog;
    else if (strcmp(cli.group, "pit") == 0)
        fn = wtkms_cmd_pit;
    else {
        (void)fprintf(stderr, "wtkms: unknown group '%s'\n%s", cli.group, usage);
        return (WTKMS_EXIT_USAGE);
    }
    if (cli.command == NULL && !cli.help) {
        (void)fprintf(
          stderr, "wtkms: '%s' needs a command (wtkms %s --help)\n", cli.group, cli.group);
        return (WTKMS_EXIT_USAGE);
    }
    if (cli.command == NULL)
        cli.command = "";
    ret = fn(&cli);
    for (i = 0; i < cli.nopts; i++) {
        free(cli.opts[i].name);
        free(cli.opts[i].value);
    }
    return (ret);
}
