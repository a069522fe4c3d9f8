/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest_encode.c -- write a snapshot manifest (BSON through libbson); manifest.c reads it.
 */
#define _GNU_SOURCE
#include "manifest.h"

#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "snaputil.h"
#include "store.h"

/*
 * wtkms_manifest_key_name --
 *     The Encryption Key ID as listings show it.
 */
void
wtkms_manifest_key_name(const wtkms_snap_manifest *m, char *out, size_t outlen)
{
    if (!m->encrypted)
        (void)snprintf(out, outlen, "%s", WTKMS_SNAP_NOT_ENABLED);
    else
        wtkms_kms_desc_name(&m->key, out, outlen);
}

/*
 * wtkms_manifest_encode --
 *     Body, MAC, envelope.
 */
int
wtkms_manifest_encode(const wtkms_snap_manifest *m, const wtkms_snap_keys *keys, uint8_t **bufp,
  size_t *lenp, wtkms_err *err)
{
    bson_t body, env, sub, arr, f;
    uint8_t mac[WTKMS_SHA256_LEN], *out;
    char when[32], idx[16], hex[2 * WTKMS_SHA256_LEN + 1], keyname[1200];
    const char *k;
    uint32_t i;
    int ret, version;

    *bufp = NULL;
    *lenp = 0;
    if (m->nfiles > WTKMS_SNAP_MAX_FILES)
        return (wtkms_errf(err, EFBIG,
          "snapshot %s: the home holds %u files, more than the %d a snapshot may hold", m->id,
          m->nfiles, WTKMS_SNAP_MAX_FILES));
    version = m->format_version == WTKMS_SNAP_FORMAT_VERSION_1 ? WTKMS_SNAP_FORMAT_VERSION_1
                                                               : WTKMS_SNAP_FORMAT_VERSION;
    bson_init(&body);
    BSON_APPEND_INT32(&body, "format_version", version);
    BSON_APPEND_UTF8(&body, "id", m->id);
    wtkms_iso_time(m->created_ms, when, sizeof(when));
    BSON_APPEND_UTF8(&body, "created", when);
    BSON_APPEND_INT64(&body, "created_ms", m->created_ms);
    BSON_APPEND_DOCUMENT_BEGIN(&body, "source", &sub);
    BSON_APPEND_UTF8(&sub, "host", m->source_host);
    BSON_APPEND_UTF8(&sub, "path", m->source_path);
    BSON_APPEND_UTF8(&sub, "method", m->source_method);
    bson_append_document_end(&body, &sub);
    BSON_APPEND_UTF8(&body, "wiredtiger_version", m->wt_version);
    BSON_APPEND_INT32(&body, "chunk_size", (int32_t)m->chunk_size);
    BSON_APPEND_INT64(&body, "size", m->size);
    BSON_APPEND_INT64(&body, "stored_size", m->stored_size);
    if (version >= 2) {
        BSON_APPEND_DOCUMENT_BEGIN(&body, "compression", &sub);
        BSON_APPEND_UTF8(&sub, "algorithm", m->compress_level > 0 ? "zstd" : "none");
        BSON_APPEND_INT32(&sub, "level", m->compress_level);
        bson_append_document_end(&body, &sub);
    }
    BSON_APPEND_INT32(&body, "file_count", (int32_t)m->nfiles);
    wtkms_manifest_key_name(m, keyname, sizeof(keyname));
    BSON_APPEND_UTF8(&body, "encryption_key_id", keyname);
    BSON_APPEND_DOCUMENT_BEGIN(&body, "encryption", &sub);
    BSON_APPEND_BOOL(&sub, "enabled", m->encrypted);
    if (m->encrypted) {
        BSON_APPEND_UTF8(&sub, "cipher", "AES-256-GCM");
        BSON_APPEND_UTF8(&sub, "kdf", "HKDF-SHA256");
        wtkms_kms_desc_append(&sub, "master_key", &m->key);
        BSON_APPEND_BINARY(
          &sub, "wrapped_key", BSON_SUBTYPE_BINARY, m->wrapped_key, (uint32_t)m->wrapped_len);
    }
    bson_append_document_end(&body, &sub);
    if (m->has_keystore) {
        wtkms_kms_desc_append(&body, "keystore_master_key", &m->keystore_cmk);
        BSON_APPEND_ARRAY_BEGIN(&body, "keystore_master_keys", &sub);
        for (i = 0; i < m->n_keystore_cmks; i++) {
            (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
            wtkms_kms_desc_append(&sub, k, &m->keystore_cmks[i]);
        }
        bson_append_array_end(&body, &sub);
    } else
        BSON_APPEND_NULL(&body, "keystore_master_key");
    if (m->has_oplog_ts)
        BSON_APPEND_TIMESTAMP(&body, "oplog_ts", m->oplog_t, m->oplog_i);
    if (m->has_oplog_ts && m->oplog_term >= 0)
        BSON_APPEND_INT64(&body, "oplog_term", m->oplog_term);
    if (m->has_oplog_ts && m->oplog_rs[0] != '\0')
        BSON_APPEND_UTF8(&body, "oplog_rs", m->oplog_rs);
    BSON_APPEND_ARRAY_BEGIN(&body, "files", &arr);
    for (i = 0; i < m->nfiles; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &f);
        BSON_APPEND_UTF8(&f, "name", m->files[i].name);
        BSON_APPEND_INT64(&f, "size", m->files[i].size);
        BSON_APPEND_INT64(&f, "chunks", (int64_t)m->files[i].chunks);
        BSON_APPEND_INT32(&f, "mode", (int32_t)m->files[i].mode);
        wtkms_hex(m->files[i].sha256, WTKMS_SHA256_LEN, hex);
        BSON_APPEND_UTF8(&f, "sha256", hex);
        bson_append_document_end(&arr, &f);
    }
    bson_append_array_end(&body, &arr);

    if ((ret = wtkms_manifest_mac(bson_get_data(&body), body.len, keys, mac)) != 0) {
        bson_destroy(&body);
        return (wtkms_errf(err, ret, "snapshot %s: cannot compute the manifest MAC", m->id));
    }
    bson_init(&env);
    BSON_APPEND_UTF8(&env, "format", WTKMS_MANIFEST_FORMAT);
    BSON_APPEND_INT32(&env, "version", version);
    BSON_APPEND_DOCUMENT(&env, "body", &body);
    BSON_APPEND_UTF8(
      &env, "mac_alg", keys != NULL ? WTKMS_MANIFEST_MAC_HMAC : WTKMS_MANIFEST_MAC_SHA);
    BSON_APPEND_BINARY(&env, "mac", BSON_SUBTYPE_BINARY, mac, WTKMS_SHA256_LEN);
    bson_destroy(&body);
    if ((out = malloc(env.len)) == NULL) {
        bson_destroy(&env);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    memcpy(out, bson_get_data(&env), env.len);
    *lenp = env.len;
    *bufp = out;
    bson_destroy(&env);
    return (0);
}
