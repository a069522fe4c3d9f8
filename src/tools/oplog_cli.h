/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_cli.h -- what the oplog and pit command files share.
 */
#ifndef WTKMS_OPLOG_CLI_H
#define WTKMS_OPLOG_CLI_H

#include <bson/bson.h>

#include "cli.h"
#include "oplog_store.h"
#include "oplog_ts.h"

/*
 * A MongoDB URI from --FLAG or --FLAG-file FILE (NULL when neither is given). A URI on the
 * command line may not carry a password; in a file it may, if the file is private. The caller
 * wipes and frees *urip.
 */
int wtkms_cli_connection_uri(wtkms_cli *cli, const char *flag, char **urip, wtkms_err *err);

/* A timestamp as JSON: "SECS:INC" under key, and an ISO time under key_time. */
void wtkms_cli_ts_json(bson_t *doc, const char *key, wtkms_ts ts);

/* The --store of an oplog command (create: the tap's, made if absent). */
int wtkms_oplog_cli_store(wtkms_cli *cli, bool create, wtkms_oplog_store **sp, wtkms_err *err);
/* wtkms oplog list (oplog_list.c). */
int wtkms_oplog_cmd_list(wtkms_cli *cli);

#endif
