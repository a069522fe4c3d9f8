/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_cli.h -- what the files of "wtkms snapshot" share (snapshot.c, snapshot_list.c).
 */
#ifndef WTKMS_SNAPSHOT_CLI_H
#define WTKMS_SNAPSHOT_CLI_H

#include <bson/bson.h>

#include "cli.h"
#include "snapshot.h"

/* The snapshot id, the command's one positional argument. */
int wtkms_snapshot_one_arg(wtkms_cli *cli, const char **idp, wtkms_err *err);
/* --store, required. */
int wtkms_snapshot_need_store(wtkms_cli *cli, const char **urlp, wtkms_err *err);
/* The store of a command that needs no master key. */
int wtkms_snapshot_open_store_only(
  wtkms_cli *cli, const char *url, wtkms_store **storep, wtkms_err *err);
/* The id and the store of a command that needs no master key (show, delete). */
int wtkms_snapshot_id_store(wtkms_cli *cli, const char **idp, wtkms_store **storep, wtkms_err *err);
/* snapshot list, snapshot show. */
int wtkms_snapshot_cmd_list(wtkms_cli *cli);
int wtkms_snapshot_cmd_show(wtkms_cli *cli);

#endif
