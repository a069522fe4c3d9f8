/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms.h -- the customer-master-key (CMK) provider interface.
 *
 * A provider wraps and unwraps 32-byte keys under a CMK it holds. It knows nothing of WiredTiger,
 * keystores or files beyond its own credentials. One file per provider (local.c, aws.c, ...);
 * kms.c maps a provider name to its constructor.
 *
 * Error codes (wtkms_err.code) a caller may branch on; every error also carries a message naming
 * the provider, the key, the cause and the next step:
 *     EKEYREVOKED   the key is disabled or revoked ("enable it, then retry")
 *     EKEYEXPIRED   the key is scheduled for deletion / pending deletion
 *     ENOKEY        the key does not exist (deleted): data under it cannot be recovered
 *     EKEYREJECTED  the key exists but this blob was not made by it (wrong key, altered blob)
 *     EACCES        credentials missing, rejected or denied access
 *     EAGAIN        the service answered, but failed (5xx, throttling) on every attempt
 *     ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, ECONNRESET   the service is unreachable (retried)
 *     ECONNABORTED  the server's TLS certificate failed verification (never retried)
 *     EPROTO        the service answered something we could not understand
 *     EINVAL        a setting is wrong (named)
 * docs/CLI.md, "Failure classes", maps these to exit codes, the same for every provider.
 */
#ifndef WTKMS_KMS_H
#define WTKMS_KMS_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "secure.h"

/*
 * Describes a CMK: what the keystore, snapshot manifests and oplog segments record. Never a
 * credential. Strings are empty when they do not apply.
 */
typedef struct {
    char provider[16];     /* "local", "aws", "azure", "gcp", "kmip" */
    char key_id[512];      /* local: key fingerprint; aws: key id/ARN/alias as configured, ... */
    char key_version[256]; /* the CMK version a wrap used (aws: key ARN; azure: version; ...) */
    char endpoint[512];    /* endpoint or vault URL; "" for the provider default */
    char region[64];       /* aws region, gcp location, ... */
} wtkms_kms_desc;

typedef struct wtkms_kms wtkms_kms;
struct wtkms_kms {
    const char *name; /* provider name */

    /*
     * Wrap a 32-byte key under the CMK. *blobp is malloc'd, opaque, and only unwrap of the same
     * provider reads it. *desc is filled with the CMK that was used (with its version).
     */
    int (*wrap)(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp,
      size_t *blob_lenp, wtkms_kms_desc *desc, wtkms_err *err);

    /*
     * Unwrap a blob that wrap made. stored describes the CMK recorded when it was wrapped (the
     * provider may need its version). *keyp is a locked key the caller frees.
     */
    int (*unwrap)(wtkms_kms *kms, const uint8_t *blob, size_t blob_len,
      const wtkms_kms_desc *stored, wtkms_key **keyp, wtkms_err *err);

    /* The configured CMK, without I/O (key_version empty unless configured). */
    void (*describe)(wtkms_kms *kms, wtkms_kms_desc *desc);

    /*
     * Whether the configured CMK is the one a stored descriptor names: the configuration, not the
     * keystore, is authoritative for where keys live, so a mismatch stops the open before any
     * credential is sent. NULL means "compare provider, key_id, endpoint and region exactly".
     */
    int (*matches)(wtkms_kms *kms, const wtkms_kms_desc *stored, wtkms_err *err);

    void (*free)(wtkms_kms *kms);
};

/*
 * Build the provider the configuration names (setting "provider", default "local"). Consumes the
 * provider's settings from cfg (marking them used).
 */
int wtkms_kms_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);
void wtkms_kms_close(wtkms_kms *kms);

/* Compare the configured CMK with a stored descriptor, through kms->matches or exactly. */
int wtkms_kms_check_match(wtkms_kms *kms, const wtkms_kms_desc *stored, wtkms_err *err);

/*
 * A descriptor as the subdocument key of doc (null when d is NULL): how the keystore, manifests
 * and --json output record a master key. A descriptor holds no credential.
 */
void wtkms_kms_desc_append(bson_t *doc, const char *key, const wtkms_kms_desc *d);

/* "aws:arn:aws:kms:...:key/..." style one-line name for messages and listings. */
void wtkms_kms_desc_name(const wtkms_kms_desc *d, char *out, size_t outlen);

/* Constructors, one per provider file. */
int wtkms_kms_local_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);
int wtkms_kms_aws_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);
int wtkms_kms_kmip_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);
int wtkms_kms_azure_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);
int wtkms_kms_gcp_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err);

#endif
