/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore.h -- the file beside the data that holds the data keys, wrapped.
 *
 * One KMS call (unwrap of the keystore key, KSK) unlocks it; everything after is local. Layout
 * and the update protocol in docs/FORMATS.md. The keystore is never repaired or overwritten on
 * error: every failure names the file and the problem and leaves the file as it was.
 *
 * Several processes change one keystore over its life: the extension inside a running mongod
 * (a data key per new keyid, a record per writing open), and the command (rotation, a second
 * master key, compaction). Every change is a read-modify-write under one exclusive lock
 * (wtkms_keystore_update): re-read the file, check its MAC with the KSK held in memory, merge
 * what is on disk into memory, apply the change, write atomically. Rotation rewraps the KSK and
 * never changes it, so a running process merges a rotated keystore without a KMS call.
 */
#ifndef WTKMS_KEYSTORE_H
#define WTKMS_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "err.h"
#include "kms.h"
#include "secure.h"

#define WTKMS_KEYSTORE_FILE "wtkms.keystore"
#define WTKMS_KEYSTORE_LOCK_FILE "wtkms.keystore.lock"
#define WTKMS_KEYSTORE_VERSION 2 /* written; version 1 is still read */
#define WTKMS_FP_LEN 16
#define WTKMS_SALT_LEN 32
#define WTKMS_KEYID_MAX 256
#define WTKMS_KS_MAX_WRAPS 4 /* master keys wrapping one KSK */
#define WTKMS_ROTATION_ALERT_DAYS 365

/* A data key ("root"): one chain per WiredTiger keyid; numbers are unique within the keystore. */
typedef struct {
    uint32_t n;
    char keyid[WTKMS_KEYID_MAX];
    int64_t created; /* milliseconds since the epoch */
    uint8_t fp[WTKMS_FP_LEN];
    uint8_t *wrapped; /* under the KSK */
    size_t wrapped_len;
    wtkms_key *key; /* NULL until unlocked */
} wtkms_ks_root;

/* A writing open: its random salt makes this open's write keys unique (docs/FORMATS.md). */
typedef struct {
    uint32_t n;
    int64_t created;
    uint8_t salt[WTKMS_SALT_LEN];
    char host[64];
    int64_t pid;
} wtkms_ks_open;

/* One master key's wrapping of the KSK. */
typedef struct {
    wtkms_kms_desc cmk;
    uint8_t *ksk_wrapped;
    size_t ksk_wrapped_len;
    int64_t since;   /* when this key (and key version) first wrapped the KSK: rotation age */
    int64_t wrapped; /* when this blob was made */
} wtkms_ks_wrap;

typedef struct {
    char path[4096];
    char lock_path[4096];
    uint8_t home_id[16];
    uint64_t gen;     /* generation: one more at every write */
    int file_version; /* the format version of the file last read */
    wtkms_ks_wrap wraps[WTKMS_KS_MAX_WRAPS];
    uint32_t nwraps;
    int64_t created; /* milliseconds since the epoch */
    wtkms_ks_root *roots;
    uint32_t nroots;
    wtkms_ks_open *opens;
    uint32_t nopens;
    wtkms_key *ksk;  /* NULL until unlocked */
    uint8_t *loaded; /* the file image load parsed: unlock checks its MAC (NULL after create) */
    size_t loaded_len;
} wtkms_keystore;

/* Path of the keystore in a home. */
int wtkms_keystore_path(const char *home, char *out, size_t outlen, wtkms_err *err);

/* Whether the home has a keystore file (any content). */
bool wtkms_keystore_exists(const char *home);

/* Create a new keystore in home: a fresh KSK wrapped by kms (one KMS call). Never overwrites. */
int wtkms_keystore_create(const char *home, wtkms_kms *kms, wtkms_keystore **ksp, wtkms_err *err);

/* Read and parse, without keys: the structure is checked, the MAC is not (it needs the KSK). */
int wtkms_keystore_load(const char *home, wtkms_keystore **ksp, wtkms_err *err);

/* How wtkms_keystore_open treats a home. */
typedef struct {
    bool create; /* create a keystore in a home that has none */
    /* Whether a home without a keystore holds data: then it is an error, never a new keystore. */
    bool (*has_data)(const char *home);
    /*
     * Called once the provider has taken its settings from cfg, before any file or KMS I/O
     * (to refuse settings nobody used): an error stops the open.
     */
    int (*before_io)(wtkms_config *cfg, void *arg, wtkms_err *err);
    void *arg;
} wtkms_ks_open_opts;

/*
 * Open a home's keystore with the master key the settings name: build the provider from cfg
 * (consuming its settings), then unlock the keystore (one KMS call), or create one in an empty
 * home when opts->create says so. The provider is closed before this returns: an unlocked
 * keystore needs no KMS call again.
 */
int wtkms_keystore_open(const char *home, wtkms_config *cfg, const wtkms_ks_open_opts *opts,
  wtkms_keystore **ksp, wtkms_err *err);

/* One master key of a keystore, and since when it wraps the KSK. */
typedef struct {
    wtkms_kms_desc cmk;
    int64_t since, wrapped; /* as in wtkms_ks_wrap */
} wtkms_ks_master;

/*
 * The master keys that wrap a home's keystore, read without unlocking it (the structure is
 * checked, the MAC is not): up to max into out, *np how many there are; path (optional) gets the
 * keystore's path.
 */
int wtkms_keystore_masters(const char *home, wtkms_ks_master *out, uint32_t max, uint32_t *np,
  char *path, size_t pathlen, wtkms_err *err);

/*
 * Find the wrapping whose master key the configuration names (before any credential is used),
 * unwrap the KSK (one KMS call), verify the MAC, unwrap every data key. *wrapp (optional) is the
 * index of the wrapping used.
 */
int wtkms_keystore_unlock(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err);
int wtkms_keystore_unlock_wrap(wtkms_keystore *ks, wtkms_kms *kms, uint32_t *wrapp, wtkms_err *err);

/* In memory, inside an update: a new random data key for keyid. */
int wtkms_keystore_add_root(
  wtkms_keystore *ks, const char *keyid, wtkms_ks_root **rootp, wtkms_err *err);
/* In memory, inside an update: a new writing-open record with a random salt. */
int wtkms_keystore_add_open(wtkms_keystore *ks, wtkms_ks_open **openp, wtkms_err *err);

/*
 * A change to an unlocked keystore, applied in memory to the freshly merged keystore while the
 * lock is held. It returns 0 to write, WTKMS_KS_NOCHANGE to write nothing, or an error (nothing
 * is written; the change must leave memory as it found it on error).
 */
#define WTKMS_KS_NOCHANGE (-31800)
typedef int (*wtkms_ks_change)(wtkms_keystore *ks, void *arg, wtkms_err *err);

/*
 * The read-modify-write: take the lock, re-read and authenticate the file with the KSK held,
 * merge it into ks, apply change, write atomically and durably with the next generation, release
 * the lock. On error the file is as it was and ks holds what the file holds.
 */
int wtkms_keystore_update(wtkms_keystore *ks, wtkms_ks_change change, void *arg, wtkms_err *err);

/* Write ks as it is in memory (under the lock, merging first): wtkms_keystore_update(ks, NULL). */
int wtkms_keystore_save(wtkms_keystore *ks, wtkms_err *err);

/*
 * Rotate: rewrap the KSK under newkms (one KMS wrap, outside the lock) and replace the wrapping
 * at index wrap (the one unlock used) in one update. No data key changes. The rotation age
 * restarts only when the master key or its version changes.
 */
int wtkms_keystore_rewrap(wtkms_keystore *ks, uint32_t wrap, wtkms_kms *newkms, wtkms_err *err);

/* Add a wrapping of the KSK under another master key (one KMS wrap), in one update. */
int wtkms_keystore_add_wrap(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err);

/* Remove the wrapping at index wrap (never the last one), in one update. */
int wtkms_keystore_remove_wrap(wtkms_keystore *ks, uint32_t wrap, wtkms_err *err);

/* What a scan of a home's files found: which records a block header there can name. */
typedef struct {
    uint32_t max_root, max_open; /* the highest numbers when the scan started */
    uint8_t *roots, *opens;      /* bitmaps: named */
    uint64_t bytes, files, headers;
} wtkms_ks_scan;

/* Read every file below dirs (the home first) and mark the records their blocks can name. */
int wtkms_keystore_scan(const wtkms_keystore *ks, const char *const *dirs, size_t ndirs,
  wtkms_ks_scan *sc, wtkms_err *err);
void wtkms_keystore_scan_free(wtkms_ks_scan *sc);

/* A compaction: the wtkms_ks_change to pass to wtkms_keystore_update, and what it did. */
typedef struct {
    const wtkms_ks_scan *scan;
    const char *home;
    bool (*is_live)(const char *home); /* whether a process has the home open; NULL: assume so */
    bool dry_run;
    uint32_t removed_roots, removed_opens, kept_roots, kept_opens;
} wtkms_ks_compact;
int wtkms_keystore_compact_change(wtkms_keystore *ks, void *arg, wtkms_err *err);

/* The oldest rotation age of the keystore's master keys, in whole days. */
int64_t wtkms_keystore_rotation_age_days(const wtkms_keystore *ks, int64_t now_ms);

/* Lookups. */
wtkms_ks_root *wtkms_keystore_root(wtkms_keystore *ks, uint32_t n);
wtkms_ks_root *wtkms_keystore_current_root(wtkms_keystore *ks, const char *keyid);
wtkms_ks_open *wtkms_keystore_open_rec(wtkms_keystore *ks, uint32_t n);

void wtkms_keystore_free(wtkms_keystore *ks);

/*
 * Internal to src/keystore: the file format (ks_format.c) and the data-key wrapping
 * (keystore.c) that the update merge (ks_update.c) shares.
 */
int wtkms_ks_parse(
  const char *path, uint8_t *img, size_t len, wtkms_keystore **ksp, wtkms_err *err);
int wtkms_ks_serialize(wtkms_keystore *ks, uint8_t **imgp, size_t *lenp, wtkms_err *err);
int wtkms_ks_verify_mac(
  const wtkms_keystore *ks, const uint8_t *img, size_t len, const char *path, wtkms_err *err);
int wtkms_ks_unwrap_root(const wtkms_keystore *ks, wtkms_ks_root *r, wtkms_err *err);
void wtkms_ks_wrap_clear(wtkms_ks_wrap *w);
void wtkms_ks_test_point(const char *step);
bool wtkms_ks_desc_equal(const wtkms_kms_desc *a, const wtkms_kms_desc *b);

#endif
