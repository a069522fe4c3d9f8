/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store_impl.h -- what a kind of oplog store provides (private to oplog_store*.c): a local
 * directory (oplog_store_local.c) or S3-compatible object storage (oplog_store_s3.c). The head
 * file's encoding and MAC are shared (oplog_store.c).
 */
#ifndef WTKMS_OPLOG_STORE_IMPL_H
#define WTKMS_OPLOG_STORE_IMPL_H

#include "config.h"
#include "oplog_store.h"

#define WTKMS_OPLOG_HEAD_NAME "oplog.head"
#define WTKMS_OPLOG_HEAD_MAX 4096

typedef struct {
    /* The segment seqs present, in any order (the caller sorts). */
    int (*list)(wtkms_oplog_store *s, uint64_t **seqsp, size_t *np, wtkms_err *err);
    int (*read)(wtkms_oplog_store *s, uint64_t seq, bool header_only, uint8_t **bufp, size_t *lenp,
      uint64_t *file_lenp, wtkms_err *err);
    int (*read_buf)(wtkms_oplog_store *s, uint64_t seq, wtkms_buf *b, wtkms_err *err);
    /* Write a segment atomically, never replacing another one (EEXIST). */
    int (*write)(
      wtkms_oplog_store *s, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err);
    /* The head file's bytes (ENOENT when there is none; at most WTKMS_OPLOG_HEAD_MAX). */
    int (*read_head)(wtkms_oplog_store *s, char **bufp, size_t *lenp, wtkms_err *err);
    /* Replace the head file atomically. */
    int (*write_head)(wtkms_oplog_store *s, const uint8_t *data, size_t len, wtkms_err *err);
    int (*lock)(wtkms_oplog_store *s, wtkms_err *err);
    void (*close)(wtkms_oplog_store *s);
} wtkms_oplog_store_ops;

struct wtkms_oplog_store {
    const wtkms_oplog_store_ops *ops;
    char where[4096]; /* the directory, or s3://BUCKET[/PREFIX]: for messages */
    bool remote;      /* object storage: its failures can pass (wtkms_oplog_store_transient) */
};

int wtkms_oplog_store_local_open(
  const char *location, bool create, wtkms_oplog_store **storep, wtkms_err *err);
int wtkms_oplog_store_s3_open(
  const char *url, wtkms_config *cfg, bool create, wtkms_oplog_store **storep, wtkms_err *err);

#endif
