/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_export.h -- read entries back out of a store, and write them as a BSON file.
 */
#ifndef WTKMS_OPLOG_EXPORT_H
#define WTKMS_OPLOG_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "oplog_buf.h"
#include "oplog_catalog.h"

/*
 * Every entry with after < ts <= until, in order, to fn. Each segment read is checked (its
 * header names the seq its file does, its tag verifies, its entries match its header) and each
 * link between consecutive segments read is checked, so a slice can never silently miss or repeat
 * entries. Call wtkms_oplog_catalog_check first to refuse ranges the store does not cover.
 */
int wtkms_oplog_scan(wtkms_oplog_catalog *cat, wtkms_oplog_keys *keys, wtkms_ts after,
  wtkms_ts until, wtkms_oplog_entry_fn fn, void *arg, wtkms_err *err);

/*
 * A BSON file written as mongodump writes oplog.bson (documents back to back), into a temporary
 * file beside the target that is renamed into place only when complete.
 */
typedef struct {
    int fd;
    char path[4096], tmp[4200];
    wtkms_buf buf;
    uint64_t count, bytes;
} wtkms_bson_out;

/* Refuses an existing path unless force. */
int wtkms_bson_out_open(wtkms_bson_out *o, const char *path, bool force, wtkms_err *err);
int wtkms_bson_out_write(wtkms_bson_out *o, const uint8_t *doc, size_t len, wtkms_err *err);
/* fsync, rename, fsync the directory. */
int wtkms_bson_out_commit(wtkms_bson_out *o, wtkms_err *err);
/* Remove the temporary file (after a failure). */
void wtkms_bson_out_abort(wtkms_bson_out *o);

#endif
