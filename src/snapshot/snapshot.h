/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h -- encrypted, checkpoint-consistent snapshots of a WiredTiger home.
 *
 * The C API behind "wtkms snapshot ..." and "wtkms keys usage", and what point-in-time restore
 * ("wtkms pit restore") calls: read a snapshot's manifest (for its oplog timestamp) and restore
 * it into a new directory. Formats: chunk.h, manifest.h, store.h, docs/FORMATS.md.
 */
#ifndef WTKMS_SNAPSHOT_H
#define WTKMS_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "keystore.h"
#include "kms.h"
#include "manifest.h"
#include "store.h"

#define WTKMS_SNAP_CHUNK_DEFAULT (1024 * 1024)
/* Eight chunk buffers are in flight: 4 MiB chunks keep that at 32 MiB. */
#define WTKMS_SNAP_CHUNK_MIN 4096
#define WTKMS_SNAP_CHUNK_MAX (4 * 1024 * 1024)

typedef struct {
    const char *home;
    wtkms_store *store;
    wtkms_kms *kms;     /* wraps the snapshot key; may be NULL with no_encryption */
    bool no_encryption; /* --no-encryption: the Key ID reads "Not enabled" */

    /*
     * How the home is read. Default: open it with WiredTiger (this program's line) and copy what
     * a backup cursor lists while the cursor is open; refused when another process holds the
     * home. fsync_locked: copy every file as it is, for a stopped mongod or one locked with
     * db.fsyncLock() (the caller vouches for that, or uri lets us check).
     */
    bool fsync_locked;
    /*
     * fsync_lock: take db.fsyncLock() on the mongod at uri, clone the files (reflinks, on a
     * filesystem that has them) into clone_dir (NULL: beside the home), release the lock, then
     * read the clones; without reflinks the lock is held until the files are read.
     */
    bool fsync_lock;
    const char *clone_dir;
    /*
     * live: the mongod's $backupCursor where it offers one (no lock at all), else as
     * fsync_lock.
     */
    bool live;
    const char *ext_path;   /* libwtkms.so to load; NULL: the one beside this program */
    const char *ext_config; /* the extension's config=(...) contents; NULL: no extension */
    const char *wt_config;  /* more wiredtiger_open settings; NULL: encryption=(name=wtkms,
                               keyid=system) when the home has a keystore */
    /*
     * The command's own encryptor (wtkms_ext.h) for that open of a home with a keystore: create
     * unlocks the keystore once, with home_kms (NULL: kms), hands it to local_offer and names
     * local_entry as a "local" extension, so no second provider is built and no settings string
     * is parsed again. Without local_entry, a provider, or with ext_path or a wt_config that
     * lists extensions: ext_path is loaded with ext_config.
     */
    const char *local_entry;
    void (*local_offer)(wtkms_keystore *ks);
    wtkms_kms *home_kms;

    /* The consistent oplog timestamp: given, or read from the mongod at uri (fsync-locked). */
    bool has_oplog_ts;
    uint32_t oplog_t, oplog_i;
    const char *uri;

    uint32_t chunk_size; /* 0: WTKMS_SNAP_CHUNK_DEFAULT */
    int compress_level;  /* zstd level of the chunks; 0: WTKMS_ZSTD_LEVEL_DEFAULT */
    bool no_compress;    /* --no-compress: chunks stored as they are */
    bool progress;       /* a progress bar on stderr */
} wtkms_snap_create_opts;

/* Make a snapshot; *mp (optional) receives its manifest. */
int wtkms_snapshot_create(
  const wtkms_snap_create_opts *o, wtkms_snap_manifest **mp, wtkms_err *err);

/*
 * A snapshot's manifest, structure checked, not authenticated (no key needed: listing and
 * planning). An unencrypted snapshot's checksum is checked.
 */
int wtkms_snapshot_read_manifest(
  wtkms_store *store, const char *id, wtkms_snap_manifest **mp, wtkms_err *err);

/*
 * How restore and verify treat a snapshot. A master key is "configured" when kms is not NULL.
 */
typedef struct {
    bool progress; /* a progress bar on stderr */
    /*
     * Accept a snapshot with no MAC (made with --no-encryption) although a master key is
     * configured. Without it such a snapshot is refused: anyone who can write to the store can
     * make one, under any id (--allow-unencrypted).
     */
    bool allow_unencrypted;
    /*
     * Restore only: leave WiredTiger's recovery to the first open (--no-recover). By default a
     * restored backup-cursor copy is opened once through the extension and closed cleanly before
     * it is renamed into place, so any program (wt without -R, mongod) opens it afterwards.
     */
    bool no_recover;
    /*
     * The provider of the home's own keystore when it is not kms (--home-config FILE): the
     * keystore check and the recovery open use it. NULL: kms.
     */
    wtkms_kms *home_kms;
    const char *ext_path;   /* libwtkms.so for that open; NULL: the one beside this program */
    const char *ext_config; /* the extension's config=(...) contents (provider settings) */
    const char *wt_config;  /* more wiredtiger_open settings for that open, or NULL */
} wtkms_snap_restore_opts;

/*
 * Restore snapshot id into the new directory to (absent or empty). Every key the restore depends
 * on is checked before anything is written: the snapshot key is unwrapped and the keystore
 * inside the snapshot is unlocked (its master key), so a disabled, deleted or unreachable key
 * stops it with the provider's reason and what to do. Files are written into a temporary
 * directory beside to, checked, recovered (see no_recover), fsync'd and renamed into place at
 * the end: an interrupted restore never leaves a partial target. kms may be NULL for an
 * unencrypted snapshot of a home without a keystore. *mp (optional) receives the authenticated
 * manifest.
 */
int wtkms_snapshot_restore(wtkms_store *store, const char *id, const char *to, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err);

/*
 * What restore checks before it writes anything (the downgrade rule, the snapshot key, the
 * manifest's MAC, the inner keystore's key), alone: for pit restore, which writes its oplog file
 * before it restores the snapshot. *mp receives the authenticated manifest.
 */
int wtkms_snapshot_check_keys(wtkms_store *store, const char *id, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err);

/*
 * Rewrite a provider error about snapshot m's key (disabled, pending deletion, deleted, denied,
 * unreachable, missing key file) as what to do; returns err->code.
 */
int wtkms_snapshot_key_error(const wtkms_snap_manifest *m, wtkms_err *err);

/* Check every chunk and digest without writing anything; errors name the file and chunk. */
int wtkms_snapshot_verify(wtkms_store *store, const char *id, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err);

/*
 * Internal to restore and verify (restore_keys.c, recover.c). Check the keystore inside snapshot
 * m (decrypted with keys, NULL when unencrypted) against kms: present, readable, unlocked by its
 * master key. A snapshot of a home without a keystore needs nothing.
 */
int wtkms_snap_check_keystore(wtkms_store *store, const wtkms_snap_manifest *m,
  const wtkms_snap_keys *keys, wtkms_kms *kms, wtkms_err *err);
/* Say why key d (the snapshot's "master key" or its keystore's) is unavailable. */
int wtkms_snap_key_state_error(
  const wtkms_snap_manifest *m, const wtkms_kms_desc *d, const char *which, wtkms_err *err);
/* Open the restored copy in dir through the extension and close it cleanly (see no_recover). */
int wtkms_snap_recover(
  const char *dir, const wtkms_snap_manifest *m, const wtkms_snap_restore_opts *ro, wtkms_err *err);

/* Whether a CMK name given by a user ("alias/db", "local-1a2b...", "aws:arn:...") is d. */
bool wtkms_snap_key_matches(const wtkms_kms_desc *d, const char *key);

#endif
