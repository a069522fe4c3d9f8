/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.h -- what the command prints (render.c): JSON on stdout for --json, byte counts for
 * people, and the layouts of its tables, each one format for the header and every row.
 */
#ifndef WTKMS_RENDER_H
#define WTKMS_RENDER_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

/* Print a document or an array (a bson_t whose keys are "0", "1", ...) as JSON on stdout. */
void wtkms_cli_print_json(const bson_t *doc);
void wtkms_cli_print_json_array(const bson_t *arr);

/* Bytes for people: "512 B", "1.5 MiB". */
void wtkms_cli_human(int64_t n, char *out, size_t outlen);

/* What listings and create --json print for one snapshot (with_files: show's file list too). */
void wtkms_snapshot_summary(bson_t *doc, const wtkms_snap_manifest *m, bool with_files);

/* snapshot list: ID, CREATED, SIZE, STORED, ENCRYPTION KEY ID. */
#define WTKMS_TABLE_SNAPSHOTS "%-26s %-21s %10s %10s  %s\n"
/* keys usage: KIND, ID, CREATED, DEPENDS THROUGH, STORE. */
#define WTKMS_TABLE_USAGE "%-8s %-26s %-21s %-40s %s\n"

#endif
