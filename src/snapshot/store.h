/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h -- where snapshots live: a local directory or S3-compatible object storage.
 *
 * A store holds, under its root (a directory, or s3://bucket/prefix):
 *     snapshots/ID/manifest          the manifest (written last: its presence makes the
 *                                    snapshot complete)
 *     snapshots/ID/files/NNNNNNNN    one object per copied file (chunk.h)
 * A snapshot being written is invisible to listing until commit: a local store writes into
 * snapshots/.ID.partial/ and renames it; S3 writes the manifest object last.
 *
 * Objects are written as streams (the caller appends whole chunk records) and read as streams;
 * nothing is held in memory beyond a bounded buffer (S3: one multipart part).
 */
#ifndef WTKMS_SNAP_STORE_H
#define WTKMS_SNAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define WTKMS_STORE_MANIFEST_MAX (64 * 1024 * 1024)

typedef struct wtkms_store wtkms_store;
typedef struct wtkms_store_writer wtkms_store_writer;
typedef struct wtkms_store_reader wtkms_store_reader;

struct wtkms_store {
    char url[4096]; /* as given, for messages (never a credential) */

    /* Start writing snapshot id (creates the store if needed). */
    int (*begin)(wtkms_store *s, const char *id, wtkms_err *err);
    /* Stream one object of snapshot id being written (name: "files/00000001"). */
    int (*put_open)(
      wtkms_store *s, const char *id, const char *name, wtkms_store_writer **wp, wtkms_err *err);
    int (*put_write)(wtkms_store_writer *w, const void *buf, size_t len, wtkms_err *err);
    /* Make the object durable and close it. */
    int (*put_close)(wtkms_store_writer *w, wtkms_err *err);
    /* Drop an object being written (on error). */
    void (*put_abort)(wtkms_store_writer *w);
    /* Write the manifest and make the snapshot visible, atomically. */
    int (*commit)(wtkms_store *s, const char *id, const void *manifest, size_t len, wtkms_err *err);
    /* Remove a snapshot that was begun but not committed. */
    void (*abort)(wtkms_store *s, const char *id);

    /* Read a committed snapshot's manifest (ENOENT: no such snapshot). */
    int (*get_manifest)(
      wtkms_store *s, const char *id, uint8_t **bufp, size_t *lenp, wtkms_err *err);
    /* Stream one object of a committed snapshot (ENOENT when missing). */
    int (*get_open)(
      wtkms_store *s, const char *id, const char *name, wtkms_store_reader **rp, wtkms_err *err);
    /* Read up to len bytes; *gotp < len only at the end of the object. */
    int (*get_read)(wtkms_store_reader *r, void *buf, size_t len, size_t *gotp, wtkms_err *err);
    void (*get_close)(wtkms_store_reader *r);

    /* Committed snapshot ids, sorted (malloc'd array of malloc'd strings). */
    int (*list)(wtkms_store *s, char ***idsp, size_t *np, wtkms_err *err);
    /* Uncommitted leftovers (interrupted creates): remove those older than max_age_ms. */
    int (*cleanup)(wtkms_store *s, int64_t max_age_ms, int *removedp, wtkms_err *err);
    /* Delete a committed snapshot: first make it invisible, then remove its objects. */
    int (*remove)(wtkms_store *s, const char *id, wtkms_err *err);
    /*
     * Object storage only (NULL otherwise): abort the multipart uploads under the store begun more
     * than max_age_ms ago and never completed (an interrupted create's); never one of a create
     * that may still be running. dry: count them only.
     */
    int (*abort_uploads)(
      wtkms_store *s, int64_t max_age_ms, bool dry, int *abortedp, wtkms_err *err);

    void (*free)(wtkms_store *s);
};

/*
 * Open the store a URL names: "s3://bucket[/prefix]" or a directory path ("file://" optional).
 * S3 settings come from cfg (s3_endpoint, s3_region, s3_profile, s3_ca_file, ...), marking them
 * used; credentials as for AWS (environment, shared credentials file), never from cfg.
 */
int wtkms_store_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err);
void wtkms_store_close(wtkms_store *s);
void wtkms_store_free_ids(char **ids, size_t n);

/* Read exactly len bytes unless the object ends: *gotp says how many. */
int wtkms_store_read_full(
  wtkms_store *s, wtkms_store_reader *r, void *buf, size_t len, size_t *gotp, wtkms_err *err);

int wtkms_store_local_open(const char *path, wtkms_store **sp, wtkms_err *err);
int wtkms_store_s3_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err);

/* Whether a string is a well-formed snapshot id (and so safe as a path component). */
int wtkms_snap_id_valid(const char *id);

/* The creation time a valid snapshot id carries (YYYYMMDDTHHMMSSZ), in ms; -1 when not valid. */
int64_t wtkms_snap_id_time_ms(const char *id);

#endif
