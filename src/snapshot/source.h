/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h -- what a snapshot copies: the file list of a home, held consistent while copying.
 *
 * Backup-cursor mode opens the home with WiredTiger (this program's line, the wtkms extension
 * loaded when the home has a keystore) and lists what a "backup:" cursor returns, plus the
 * keystore, which is copied once into a private directory so the copy and the descriptor read
 * from it are the same bytes. The cursor stays open until wtkms_source_close, so the checkpoint
 * it pins stays intact while the files are copied. fsync-locked mode lists every file under the
 * home as it is.
 */
#ifndef WTKMS_SNAP_SOURCE_H
#define WTKMS_SNAP_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "snapshot.h"

typedef struct {
    char *name;    /* relative name inside the home, as restored */
    char *path;    /* where to read it now */
    int64_t limit; /* bytes that belong to the copy (a $backupCursor's fileSize), -1: all */
} wtkms_src_file;

typedef struct wtkms_source wtkms_source;
struct wtkms_source {
    wtkms_src_file *files;
    uint32_t nfiles, cap;
    const char *method;   /* "backup_cursor" or "fsync_locked" */
    char wt_version[256]; /* the WiredTiger that made the copy, or that wrote the home */
    bool has_keystore;
    char keystore_dir[4096]; /* a directory holding exactly the keystore bytes copied */
    char tmpdir[4096];       /* private directory to remove at close ("" if none) */
    char clonedir[4096];     /* the reflinked copy (wtkms_source_clone) to remove at close */
    void *wt;                /* the WiredTiger connection state (source.c) */
    void *bc;                /* the mongod's $backupCursor (source_backupcursor.c) */
};

int wtkms_source_open(const wtkms_snap_create_opts *o, wtkms_source **srcp, wtkms_err *err);
/*
 * A running mongod's files through its $backupCursor (o->uri; the files are read from o->home,
 * its dbpath on this machine) without a lock, when the server offers the stage: ENOTSUP when it
 * does not (MongoDB Community). *meta: the oplog time the copy is consistent at.
 */
typedef struct {
    bool seen, has_end;
    char dbpath[4096]; /* the server's dbpath (the files' names start with it) */
    uint32_t t, i;     /* oplogEnd */
    int64_t term;
    char rs[256];
} wtkms_backup_meta;
int wtkms_source_backup_cursor(
  const wtkms_snap_create_opts *o, wtkms_source **srcp, wtkms_backup_meta *meta, wtkms_err *err);
/* Append one file to the list (a safe relative name; duplicates ignored). */
int wtkms_source_add(wtkms_source *src, const char *name, const char *path, wtkms_err *err);
/* Close the backup cursor and the connection; remove the private copy. */
int wtkms_source_close(wtkms_source *src, wtkms_err *err);

/* libwtkms.so beside this program (same build, same WiredTiger line), checked readable. */
int wtkms_snap_default_ext_path(char *out, size_t outlen, wtkms_err *err);
/* Whether a path must be quoted inside a WiredTiger configuration string. */
bool wtkms_snap_needs_quotes(const char *s);

/* Internal to source.c: the $backupCursor (keepalive_ms 0: every 5 minutes). */
typedef struct wtkms_backup_cursor wtkms_backup_cursor;
int wtkms_backup_cursor_open(const char *uri, const char *home, unsigned keepalive_ms,
  wtkms_source *src, wtkms_backup_meta *meta, wtkms_backup_cursor **bcp, wtkms_err *err);
int wtkms_backup_cursor_close(wtkms_backup_cursor *bc, uint64_t *keepalives, wtkms_err *err);

/* The process holding a home's WiredTiger.lock, 0 if none (or no lock file). */
pid_t wtkms_source_lock_holder(const char *home);

/*
 * The consistent oplog timestamp of the mongod at uri, which must be fsync-locked, with the term
 * of that entry and the replica set's name (setName; "" when the server does not say).
 */
int wtkms_mongod_oplog_ts(const char *uri, uint32_t *tp, uint32_t *ip, int64_t *termp, char *rs,
  size_t rslen, wtkms_err *err);

/* A client for the mongod at uri with a backup's timeouts; host names it in messages. */
struct _mongoc_client_t;
int wtkms_mongod_client(
  const char *uri, struct _mongoc_client_t **clientp, char *host, size_t hostlen, wtkms_err *err);

/*
 * --fsync-lock: wtkms takes db.fsyncLock() itself and releases it as soon as the files are
 * cloned (or copied, where the filesystem cannot clone). SIGINT, SIGTERM and SIGHUP are held
 * while the lock is, so an interrupted snapshot unlocks first; after kill -9, run
 * db.fsyncUnlock() by hand.
 */
typedef struct wtkms_mongod_lock wtkms_mongod_lock;
int wtkms_mongod_lock_take(const char *uri, wtkms_mongod_lock **lp, wtkms_err *err);
/* Unlock and free l; *held_ms (optional): how long writes were blocked. */
int wtkms_mongod_lock_release(wtkms_mongod_lock *l, int64_t *held_ms, wtkms_err *err);

/*
 * Reflink every listed file into a private directory on the home's filesystem (FICLONE, as on
 * XFS and btrfs) and read the clones from then on; the directory goes at wtkms_source_close.
 * *cloned false (why says which file and why) when the filesystem cannot: nothing is left
 * behind and the files are read in place. parent: where the directory goes (NULL: beside the
 * home when on the same filesystem, else inside it).
 */
int wtkms_source_clone(wtkms_source *src, const char *home, const char *parent, bool *cloned,
  char *why, size_t whylen, wtkms_err *err);

#endif
