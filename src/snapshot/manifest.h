/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h -- a snapshot's manifest: what it holds, under which keys, and how to check it.
 *
 * Stored as a BSON envelope {format, version, body: {...}, mac_alg, mac} (docs/FORMATS.md). The
 * MAC covers the exact bytes of the embedded body: HMAC-SHA256 under the manifest key derived
 * from the snapshot key, or, for an unencrypted snapshot, a plain SHA-256 (it detects damage,
 * not forgery). Reading the body needs no key, so listing needs no KMS call; trusting it does:
 * restore and verify authenticate it before using anything but the key descriptor.
 */
#ifndef WTKMS_SNAP_MANIFEST_H
#define WTKMS_SNAP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "crypto.h"
#include "err.h"
#include "kms.h"

#define WTKMS_SNAP_FORMAT_VERSION 2   /* written: chunks may be compressed (zstd) */
#define WTKMS_SNAP_FORMAT_VERSION_1 1 /* still read: chunks stored as they are */
#define WTKMS_SNAP_NOT_ENABLED "Not enabled"
#define WTKMS_SNAP_MAX_KEYSTORE_CMKS 4 /* as many master keys as a keystore holds */
/* At most this many files in one snapshot (docs/FORMATS.md, "Limits"). */
#define WTKMS_SNAP_MAX_FILES (1000 * 1000)

typedef struct {
    char *name;   /* relative path inside the home */
    int64_t size; /* bytes */
    uint64_t chunks;
    uint32_t mode; /* permission bits to restore */
    uint8_t sha256[WTKMS_SHA256_LEN];
} wtkms_snap_file;

typedef struct {
    int format_version;
    char id[WTKMS_SNAP_ID_LEN];
    int64_t created_ms;
    char source_host[256];
    char source_path[4096];
    char
      source_method[32]; /* "backup_cursor", "fsync_locked", "fsync_lock_reflink", "fsync_lock" */
    char wt_version[256];
    uint32_t chunk_size;
    int64_t size;        /* sum of the files' sizes */
    int64_t stored_size; /* sum of the objects' sizes */
    int compress_level;  /* format 2: zstd level of the chunks, 0 when not compressed */

    bool encrypted;
    wtkms_kms_desc key;   /* the CMK that wraps the snapshot key */
    uint8_t *wrapped_key; /* opaque, provider-specific */
    size_t wrapped_len;

    bool has_keystore;
    wtkms_kms_desc keystore_cmk; /* the CMK that wraps the keystore inside the snapshot */
    /* Every CMK that wraps it (a keystore may be under up to 4); the first is keystore_cmk. */
    wtkms_kms_desc keystore_cmks[WTKMS_SNAP_MAX_KEYSTORE_CMKS];
    uint32_t n_keystore_cmks;

    bool has_oplog_ts; /* the consistent oplog timestamp (from a mongod) */
    uint32_t oplog_t, oplog_i;
    int64_t oplog_term; /* "t" of the entry at oplog_ts when read from the mongod, else -1 */
    char oplog_rs[128]; /* the replica set (setName) when read from the mongod, else "" */

    wtkms_snap_file *files;
    uint32_t nfiles;

    /* Filled by decode: the exact body bytes and MAC, for authentication. */
    uint8_t *body;
    size_t body_len;
    uint8_t mac[WTKMS_SHA256_LEN];
    bool authenticated;
    /* create --fsync-lock (not stored): how long the server's writes were blocked, and why the
     * files could not be cloned ("" when they were). */
    int64_t lock_ms;
    char clone_why[256];
} wtkms_snap_manifest;

/* Encode with its MAC (keys NULL: unencrypted snapshot, SHA-256 checksum). */
int wtkms_manifest_encode(const wtkms_snap_manifest *m, const wtkms_snap_keys *keys, uint8_t **bufp,
  size_t *lenp, wtkms_err *err);

/*
 * Parse and check the structure (every field's type and bounds, file names safe, sizes and chunk
 * counts consistent). An unencrypted manifest's checksum is verified here; an encrypted one's
 * MAC needs wtkms_manifest_authenticate. expect_id, when set, must be the body's id.
 */
int wtkms_manifest_decode(
  const uint8_t *buf, size_t len, const char *expect_id, wtkms_snap_manifest **mp, wtkms_err *err);

/* Verify the MAC with the snapshot's keys: 0, or EBADMSG. */
int wtkms_manifest_authenticate(
  wtkms_snap_manifest *m, const wtkms_snap_keys *keys, wtkms_err *err);

void wtkms_manifest_free(wtkms_snap_manifest *m);

/* "local:local-1a2b...", "aws:arn:...", or "Not enabled". */
void wtkms_manifest_key_name(const wtkms_snap_manifest *m, char *out, size_t outlen);

/* The envelope's format name and MAC algorithms (manifest.c reads what manifest_encode.c writes).
 */
#define WTKMS_MANIFEST_FORMAT "wtkms-snapshot"
#define WTKMS_MANIFEST_MAC_HMAC "hmac-sha256"
#define WTKMS_MANIFEST_MAC_SHA "sha256"

/* The body's MAC: HMAC-SHA256 under the manifest key, or (keys NULL) SHA-256 (manifest.c). */
int wtkms_manifest_mac(
  const uint8_t *body, size_t len, const wtkms_snap_keys *keys, uint8_t out[WTKMS_SHA256_LEN]);

#endif
