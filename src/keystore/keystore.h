/*
 * keystore.h -- the file beside the data that holds the data keys, wrapped.
 *
 * One KMS call (unwrap of the keystore key, KSK) unlocks it; everything after is local. Layout
 * in docs/FORMATS.md. The keystore is never repaired or overwritten on error: every failure names
 * the file and the problem and leaves the file as it was.
 */
#ifndef WTKMS_KEYSTORE_H
#define WTKMS_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kms.h"
#include "secure.h"

#define WTKMS_KEYSTORE_FILE "wtkms.keystore"
#define WTKMS_KEYSTORE_VERSION 1
#define WTKMS_FP_LEN 16
#define WTKMS_SALT_LEN 32
#define WTKMS_KEYID_MAX 256

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

typedef struct {
    char path[4096];
    uint8_t home_id[16];
    wtkms_kms_desc cmk; /* the CMK that wraps the KSK */
    uint8_t *ksk_wrapped;
    size_t ksk_wrapped_len;
    int64_t created, rotated; /* milliseconds since the epoch */
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

/*
 * Check the configured CMK against the stored descriptor (before any credential is used), unwrap
 * the KSK (one KMS call), verify the MAC, unwrap every data key.
 */
int wtkms_keystore_unlock(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err);

/* In memory: a new random data key for keyid; the caller saves. */
int wtkms_keystore_add_root(
  wtkms_keystore *ks, const char *keyid, wtkms_ks_root **rootp, wtkms_err *err);
/* In memory: a new writing-open record with a random salt; the caller saves. */
int wtkms_keystore_add_open(wtkms_keystore *ks, wtkms_ks_open **openp, wtkms_err *err);

/* Write atomically and durably (temp file, fsync, rename, fsync directory). */
int wtkms_keystore_save(wtkms_keystore *ks, wtkms_err *err);

/* Rewrap the KSK under another CMK (or the same CMK's new version) and save; no data changes. */
int wtkms_keystore_rewrap(wtkms_keystore *ks, wtkms_kms *newkms, wtkms_err *err);

/* Lookups. */
wtkms_ks_root *wtkms_keystore_root(wtkms_keystore *ks, uint32_t n);
wtkms_ks_root *wtkms_keystore_current_root(wtkms_keystore *ks, const char *keyid);
wtkms_ks_open *wtkms_keystore_open_rec(wtkms_keystore *ks, uint32_t n);

void wtkms_keystore_free(wtkms_keystore *ks);

/* Milliseconds since the epoch. */
int64_t wtkms_now_ms(void);

#endif
