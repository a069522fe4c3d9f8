/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.c -- the "local" provider: the master key is a 32-byte file on this machine.
 *
 * For demos, tests and hosts without a KMS. The file holds 32 raw bytes or their base64 (one
 * line). It must not be readable by group or others. The key's id is a fingerprint of the key,
 * so a different file is recognised as a different key before anything is unwrapped.
 *
 * Blob: version byte 0x01 || nonce (12) || AES-256-GCM(key file, 32-byte key) || tag (16).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "fileio.h"
#include "kms.h"

#define LOCAL_BLOB_VERSION 0x01
#define LOCAL_BLOB_LEN (1 + WTKMS_SEAL_OVERHEAD + WTKMS_KEY_LEN)
static const char local_aad[] = "wtkms local wrap v1";

typedef struct {
    wtkms_kms iface; /* must come first */
    char path[4096];
    char key_id[40];
    wtkms_key *key;
} local_kms;

/*
 * local_load_key --
 *     Read and check the key file.
 */
static int
local_load_key(local_kms *lk, wtkms_err *err)
{
    uint8_t fp[WTKMS_SHA256_LEN], tmp[64];
    char *buf;
    size_t len, n;
    int ret;

    /* Checked on the descriptor that is read: owner, mode 600, a regular file. */
    if ((ret = wtkms_read_private_file(lk->path, "local key file", 4096, &buf, &len, err)) != 0) {
        if (ret == ENOENT)
            return (wtkms_errf(err, ENOKEY,
              "local key file %s does not exist (create one with 'wtkms keys generate-local "
              "--key-file %s')",
              lk->path, lk->path));
        return (ret);
    }
    ret = 0;
    if (len == WTKMS_KEY_LEN)
        memcpy(lk->key->b, buf, WTKMS_KEY_LEN);
    else {
        /* Base64, one line, perhaps with a trailing newline. */
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            len--;
        /* 44 base64 characters, the last one '=', decode to 32 bytes. */
        if (len != 44 || wtkms_b64_decode(buf, len, tmp, sizeof(tmp), &n) != 0 ||
            n != WTKMS_KEY_LEN)
            ret = wtkms_errf(err, EPROTO,
              "local key file %s holds %zu bytes: it must hold exactly 32 raw bytes or their "
              "base64 (44 characters)",
              lk->path, len);
        else
            memcpy(lk->key->b, tmp, WTKMS_KEY_LEN);
        wtkms_wipe(tmp, sizeof(tmp));
    }
    wtkms_wipe(buf, len);
    free(buf);
    if (ret != 0)
        return (ret);
    if ((ret = wtkms_hmac_sha256(lk->key->b, WTKMS_KEY_LEN, "wtkms local key id v1", 21, fp)) != 0)
        return (wtkms_errf(err, ret, "local key file %s: cannot fingerprint", lk->path));
    memcpy(lk->key_id, "local-", 6);
    wtkms_hex(fp, 8, lk->key_id + 6);
    return (0);
}

/*
 * local_describe --
 *     The key's descriptor: its fingerprint, no path (files move).
 */
static void
local_describe(wtkms_kms *kms, wtkms_kms_desc *desc)
{
    local_kms *lk = (local_kms *)kms;

    memset(desc, 0, sizeof(*desc));
    (void)snprintf(desc->provider, sizeof(desc->provider), "local");
    (void)snprintf(desc->key_id, sizeof(desc->key_id), "%s", lk->key_id);
}

/*
 * local_matches --
 *     Compare fingerprints, and say which file to use when they differ.
 */
static int
local_matches(wtkms_kms *kms, const wtkms_kms_desc *stored, wtkms_err *err)
{
    local_kms *lk = (local_kms *)kms;

    if (strcmp(stored->provider, "local") != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "this was made under a %s master key (%s), but the configuration names the local key "
          "file %s: configure provider=%s with that key",
          stored->provider, stored->key_id, lk->path, stored->provider));
    if (strcmp(stored->key_id, lk->key_id) != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "local key file %s is key %s, but this was made under key %s: use the original key "
          "file",
          lk->path, lk->key_id, stored->key_id));
    return (0);
}

/*
 * local_wrap --
 *     Seal a key under the key file's key.
 */
static int
local_wrap(wtkms_kms *kms, const uint8_t key[WTKMS_KEY_LEN], uint8_t **blobp, size_t *blob_lenp,
  wtkms_kms_desc *desc, wtkms_err *err)
{
    local_kms *lk = (local_kms *)kms;
    uint8_t *blob;
    int ret;

    if ((blob = malloc(LOCAL_BLOB_LEN)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    blob[0] = LOCAL_BLOB_VERSION;
    if ((ret = wtkms_seal_random(lk->key->b, (const uint8_t *)local_aad, sizeof(local_aad) - 1, key,
           WTKMS_KEY_LEN, blob + 1)) != 0) {
        free(blob);
        return (wtkms_errf(err, ret, "local key %s: wrap failed", lk->key_id));
    }
    *blobp = blob;
    *blob_lenp = LOCAL_BLOB_LEN;
    local_describe(kms, desc);
    return (0);
}

/*
 * local_unwrap --
 *     Open a sealed key.
 */
static int
local_unwrap(wtkms_kms *kms, const uint8_t *blob, size_t blob_len, const wtkms_kms_desc *stored,
  wtkms_key **keyp, wtkms_err *err)
{
    local_kms *lk = (local_kms *)kms;
    wtkms_key *k;
    int ret;

    (void)stored;
    *keyp = NULL;
    if (blob_len != LOCAL_BLOB_LEN || blob[0] != LOCAL_BLOB_VERSION)
        return (wtkms_errf(err, EKEYREJECTED,
          "local key %s: the wrapped key is %zu bytes with version %u, expected %d bytes with "
          "version %d: it was not made by the local provider",
          lk->key_id, blob_len, blob_len > 0 ? blob[0] : 0, LOCAL_BLOB_LEN, LOCAL_BLOB_VERSION));
    if ((k = wtkms_key_new()) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_open_random(lk->key->b, (const uint8_t *)local_aad, sizeof(local_aad) - 1,
           blob + 1, blob_len - 1, k->b)) != 0) {
        wtkms_key_free(k);
        return (wtkms_errf(err, EKEYREJECTED,
          "local key file %s (key %s) cannot unwrap this key: it was wrapped under another key "
          "or altered",
          lk->path, lk->key_id));
    }
    *keyp = k;
    return (0);
}

/*
 * local_free --
 *     Wipe and free.
 */
static void
local_free(wtkms_kms *kms)
{
    local_kms *lk = (local_kms *)kms;

    wtkms_key_free(lk->key);
    free(lk);
}

/*
 * wtkms_kms_local_open --
 *     Build the local provider from "key_file".
 */
int
wtkms_kms_local_open(wtkms_config *cfg, wtkms_kms **kmsp, wtkms_err *err)
{
    local_kms *lk;
    const char *path;
    int ret;

    if ((ret = wtkms_config_require(cfg, "key_file", &path, err)) != 0)
        return (ret);
    if ((lk = calloc(1, sizeof(*lk))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    lk->iface.name = "local";
    lk->iface.wrap = local_wrap;
    lk->iface.unwrap = local_unwrap;
    lk->iface.describe = local_describe;
    lk->iface.matches = local_matches;
    lk->iface.free = local_free;
    if (snprintf(lk->path, sizeof(lk->path), "%s", path) >= (int)sizeof(lk->path)) {
        free(lk);
        return (wtkms_errf(err, ENAMETOOLONG, "%s: key_file path too long", cfg->origin));
    }
    if ((lk->key = wtkms_key_new()) == NULL) {
        free(lk);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    if ((ret = local_load_key(lk, err)) != 0) {
        local_free(&lk->iface);
        return (ret);
    }
    *kmsp = &lk->iface;
    return (0);
}
