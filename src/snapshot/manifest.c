/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.c -- decode and authenticate snapshot manifests (BSON through libbson); written by
 * manifest_encode.c.
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
 * wtkms_manifest_mac --
 *     HMAC-SHA256 of the body under the manifest key, or SHA-256 of it.
 */
int
wtkms_manifest_mac(
  const uint8_t *body, size_t len, const wtkms_snap_keys *keys, uint8_t out[WTKMS_SHA256_LEN])
{
    if (keys != NULL)
        return (wtkms_hmac_sha256(keys->manifest, WTKMS_KEY_LEN, body, len, out));
    return (wtkms_sha256(body, len, out));
}

/* Decoding: every failure is "damaged" with the field named. */
typedef struct {
    const char *id; /* for messages */
    wtkms_err *err;
} dctx;

/*
 * bad --
 *     A structural error.
 */
static int
bad(dctx *d, const char *what)
{
    return (wtkms_errf(d->err, EBADMSG,
      "the manifest of snapshot %s is damaged: %s (run 'wtkms snapshot verify'; restore another "
      "snapshot if it cannot be repaired)",
      d->id, what));
}

/*
 * get_str --
 *     A required UTF-8 field into a fixed buffer.
 */
static int
get_str(dctx *d, const bson_t *doc, const char *key, char *out, size_t outlen)
{
    bson_iter_t it;
    const char *s;
    uint32_t len;
    char what[128];

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it) ||
        (s = bson_iter_utf8(&it, &len)) == NULL || len >= outlen || strlen(s) != len) {
        (void)snprintf(what, sizeof(what), "field '%s' is missing, too long or not a string", key);
        return (bad(d, what));
    }
    memcpy(out, s, (size_t)len + 1);
    return (0);
}

/*
 * get_i64 --
 *     A required integer field.
 */
static int
get_i64(dctx *d, const bson_t *doc, const char *key, int64_t min, int64_t max, int64_t *vp)
{
    bson_iter_t it;
    char what[128];
    int64_t v;

    if (!bson_iter_init_find(&it, doc, key) ||
        !(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) ||
        (v = bson_iter_as_int64(&it)) < min || v > max) {
        (void)snprintf(what, sizeof(what), "field '%s' is missing or out of range", key);
        return (bad(d, what));
    }
    *vp = v;
    return (0);
}

/*
 * get_doc --
 *     A required subdocument (static, pointing into the buffer).
 */
static int
get_doc(dctx *d, const bson_t *doc, const char *key, bool array, bson_t *out)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    char what[128];

    if (!bson_iter_init_find(&it, doc, key) ||
        !(array ? BSON_ITER_HOLDS_ARRAY(&it) : BSON_ITER_HOLDS_DOCUMENT(&it))) {
        (void)snprintf(what, sizeof(what), "field '%s' is missing or not %s", key,
          array ? "an array" : "a document");
        return (bad(d, what));
    }
    if (array)
        bson_iter_array(&it, &len, &data);
    else
        bson_iter_document(&it, &len, &data);
    if (!bson_init_static(out, data, len)) {
        (void)snprintf(what, sizeof(what), "field '%s' is malformed", key);
        return (bad(d, what));
    }
    return (0);
}

/*
 * get_desc --
 *     A CMK descriptor subdocument.
 */
static int
get_desc(dctx *d, const bson_t *doc, const char *key, wtkms_kms_desc *desc)
{
    bson_t sub;
    int ret;

    memset(desc, 0, sizeof(*desc));
    if ((ret = get_doc(d, doc, key, false, &sub)) != 0)
        return (ret);
    if ((ret = get_str(d, &sub, "provider", desc->provider, sizeof(desc->provider))) != 0 ||
        (ret = get_str(d, &sub, "key_id", desc->key_id, sizeof(desc->key_id))) != 0 ||
        (ret = get_str(d, &sub, "key_version", desc->key_version, sizeof(desc->key_version))) !=
          0 ||
        (ret = get_str(d, &sub, "endpoint", desc->endpoint, sizeof(desc->endpoint))) != 0 ||
        (ret = get_str(d, &sub, "region", desc->region, sizeof(desc->region))) != 0)
        return (ret);
    if (desc->provider[0] == '\0')
        return (bad(d, "a master key names no provider"));
    return (0);
}

/*
 * get_keystore_cmks --
 *     Every master key of the keystore inside (optional: a snapshot made before keystores had
 *     several records only keystore_master_key, its first).
 */
static int
get_keystore_cmks(dctx *d, const bson_t *body, wtkms_snap_manifest *m)
{
    bson_iter_t it;
    bson_t arr;
    const uint8_t *data;
    char idx[16];
    const char *k;
    uint32_t len, i;
    int ret;

    m->keystore_cmks[0] = m->keystore_cmk;
    m->n_keystore_cmks = 1;
    if (!bson_iter_init_find(&it, body, "keystore_master_keys"))
        return (0);
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return (bad(d, "field 'keystore_master_keys' is not an array"));
    bson_iter_array(&it, &len, &data);
    if (!bson_init_static(&arr, data, len))
        return (bad(d, "field 'keystore_master_keys' is not an array"));
    for (i = 0; i < WTKMS_SNAP_MAX_KEYSTORE_CMKS; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        if (!bson_iter_init_find(&it, &arr, k))
            break;
        if ((ret = get_desc(d, &arr, k, &m->keystore_cmks[i])) != 0)
            return (ret);
    }
    (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
    if (i == 0 || bson_iter_init_find(&it, &arr, k) ||
        memcmp(&m->keystore_cmks[0], &m->keystore_cmk, sizeof(m->keystore_cmk)) != 0)
        return (bad(d, "field 'keystore_master_keys' does not list 1 to 4 keys, the first being "
                       "'keystore_master_key'"));
    m->n_keystore_cmks = i;
    return (0);
}

/*
 * unhex --
 *     Lower-case hex into bytes.
 */
static int
unhex(const char *s, uint8_t *out, size_t len)
{
    size_t i;
    int hi, lo;

    if (strlen(s) != 2 * len)
        return (-1);
    for (i = 0; i < len; i++) {
        hi = s[2 * i] >= '0' && s[2 * i] <= '9'   ? s[2 * i] - '0'
             : s[2 * i] >= 'a' && s[2 * i] <= 'f' ? s[2 * i] - 'a' + 10
                                                  : -1;
        lo = s[2 * i + 1] >= '0' && s[2 * i + 1] <= '9'   ? s[2 * i + 1] - '0'
             : s[2 * i + 1] >= 'a' && s[2 * i + 1] <= 'f' ? s[2 * i + 1] - 'a' + 10
                                                          : -1;
        if (hi < 0 || lo < 0)
            return (-1);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (0);
}

/*
 * cmp_file_name --
 *     qsort comparator: files by name.
 */
static int
cmp_file_name(const void *a, const void *b)
{
    return (strcmp(
      (*(const wtkms_snap_file *const *)a)->name, (*(const wtkms_snap_file *const *)b)->name));
}

/*
 * check_duplicates --
 *     No name listed twice: sort pointers to the entries and compare neighbours (O(n log n), so a
 *     planted manifest of a million entries is checked in well under a second).
 */
static int
check_duplicates(dctx *d, wtkms_snap_manifest *m)
{
    wtkms_snap_file **v;
    uint32_t i;
    char what[1200];
    int ret;

    if (m->nfiles < 2)
        return (0);
    if ((v = calloc(m->nfiles, sizeof(*v))) == NULL)
        return (wtkms_errf(d->err, ENOMEM, "out of memory"));
    for (i = 0; i < m->nfiles; i++)
        v[i] = &m->files[i];
    qsort(v, m->nfiles, sizeof(*v), cmp_file_name);
    ret = 0;
    for (i = 1; i < m->nfiles; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            (void)snprintf(what, sizeof(what), "file '%s' is listed twice", v[i]->name);
            ret = bad(d, what);
            break;
        }
    free(v);
    return (ret);
}

/*
 * decode_files --
 *     The files array.
 */
static int
decode_files(dctx *d, const bson_t *body, wtkms_snap_manifest *m)
{
    bson_iter_t it;
    bson_t arr, f;
    const uint8_t *data;
    uint32_t len, i;
    int64_t v, total;
    char name[1024], hex[2 * WTKMS_SHA256_LEN + 8], what[1200];
    int ret;

    if ((ret = get_doc(d, body, "files", true, &arr)) != 0)
        return (ret);
    if (m->nfiles > 0 && (m->files = calloc(m->nfiles, sizeof(*m->files))) == NULL)
        return (wtkms_errf(d->err, ENOMEM, "out of memory"));
    if (!bson_iter_init(&it, &arr))
        return (bad(d, "the files array is malformed"));
    total = 0;
    for (i = 0; bson_iter_next(&it); i++) {
        if (i >= m->nfiles)
            return (bad(d, "the files array is longer than file_count"));
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            return (bad(d, "a files entry is not a document"));
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&f, data, len))
            return (bad(d, "a files entry is malformed"));
        if ((ret = get_str(d, &f, "name", name, sizeof(name))) != 0)
            return (ret);
        if (!wtkms_relname_safe(name)) {
            (void)snprintf(what, sizeof(what), "file name '%s' is not a safe relative path", name);
            return (bad(d, what));
        }
        if ((m->files[i].name = strdup(name)) == NULL)
            return (wtkms_errf(d->err, ENOMEM, "out of memory"));
        if ((ret = get_i64(d, &f, "size", 0, INT64_MAX / 2, &m->files[i].size)) != 0)
            return (ret);
        if ((ret = get_i64(d, &f, "chunks", 1, INT64_MAX, &v)) != 0)
            return (ret);
        m->files[i].chunks = (uint64_t)v;
        if (m->files[i].chunks != wtkms_snap_nchunks(m->files[i].size, m->chunk_size)) {
            (void)snprintf(what, sizeof(what),
              "file '%s': %llu chunks do not match its size %lld at chunk size %u", name,
              (unsigned long long)m->files[i].chunks, (long long)m->files[i].size, m->chunk_size);
            return (bad(d, what));
        }
        if ((ret = get_i64(d, &f, "mode", 0, 07777, &v)) != 0)
            return (ret);
        m->files[i].mode = (uint32_t)v;
        if ((ret = get_str(d, &f, "sha256", hex, sizeof(hex))) != 0)
            return (ret);
        if (unhex(hex, m->files[i].sha256, WTKMS_SHA256_LEN) != 0) {
            (void)snprintf(what, sizeof(what), "file '%s': sha256 is not 64 hex digits", name);
            return (bad(d, what));
        }
        /* Both are at most INT64_MAX / 2 and total never passes m->size: no overflow. */
        if (m->files[i].size > m->size - total)
            return (bad(d, "the file sizes add up to more than the snapshot size"));
        total += m->files[i].size;
    }
    if (i != m->nfiles)
        return (bad(d, "the files array is shorter than file_count"));
    if (total != m->size)
        return (bad(d, "the file sizes do not add up to the snapshot size"));
    return (check_duplicates(d, m));
}

/*
 * decode_compression --
 *     Format 2's compression: {algorithm: "zstd" or "none", level}. Informational: each chunk
 *     says, under its tag, whether it is compressed.
 */
static int
decode_compression(dctx *d, const bson_t *body, wtkms_snap_manifest *m)
{
    bson_t sub;
    char alg[16];
    int64_t v;
    int ret;

    if ((ret = get_doc(d, body, "compression", false, &sub)) != 0 ||
        (ret = get_str(d, &sub, "algorithm", alg, sizeof(alg))) != 0 ||
        (ret = get_i64(d, &sub, "level", 0, 22, &v)) != 0)
        return (ret);
    if (strcmp(alg, "zstd") == 0 && v > 0)
        m->compress_level = (int)v;
    else if (strcmp(alg, "none") == 0 && v == 0)
        m->compress_level = 0;
    else
        return (bad(d, "field 'compression' names an unknown algorithm or an impossible level"));
    return (0);
}

/*
 * decode_body --
 *     Every field of the body.
 */
static int
decode_body(dctx *d, const bson_t *body, wtkms_snap_manifest *m)
{
    bson_iter_t it;
    bson_t sub;
    const uint8_t *data;
    uint32_t len;
    int64_t v;
    int ret;

    if ((ret = get_i64(d, body, "format_version", 1, 1000, &v)) != 0)
        return (ret);
    if (v != WTKMS_SNAP_FORMAT_VERSION && v != WTKMS_SNAP_FORMAT_VERSION_1)
        return (wtkms_errf(d->err, ENOTSUP,
          "snapshot %s has manifest format %lld; this wtkms reads formats %d and %d: use a newer "
          "wtkms",
          d->id, (long long)v, WTKMS_SNAP_FORMAT_VERSION_1, WTKMS_SNAP_FORMAT_VERSION));
    m->format_version = (int)v;
    if ((ret = get_str(d, body, "id", m->id, sizeof(m->id))) != 0)
        return (ret);
    if (!wtkms_snap_id_valid(m->id))
        return (bad(d, "its id is malformed"));
    d->id = m->id;
    if ((ret = get_i64(d, body, "created_ms", 0, INT64_MAX, &m->created_ms)) != 0)
        return (ret);
    if ((ret = get_doc(d, body, "source", false, &sub)) != 0 ||
        (ret = get_str(d, &sub, "host", m->source_host, sizeof(m->source_host))) != 0 ||
        (ret = get_str(d, &sub, "path", m->source_path, sizeof(m->source_path))) != 0 ||
        (ret = get_str(d, &sub, "method", m->source_method, sizeof(m->source_method))) != 0)
        return (ret);
    if ((ret = get_str(d, body, "wiredtiger_version", m->wt_version, sizeof(m->wt_version))) != 0)
        return (ret);
    /* Bounded: restore and verify hold eight chunks in memory. */
    if ((ret = get_i64(d, body, "chunk_size", 4096, 4 * 1024 * 1024, &v)) != 0)
        return (ret);
    m->chunk_size = (uint32_t)v;
    if ((ret = get_i64(d, body, "size", 0, INT64_MAX / 2, &m->size)) != 0 ||
        (ret = get_i64(d, body, "stored_size", 0, INT64_MAX, &m->stored_size)) != 0)
        return (ret);
    if (m->format_version >= 2 && (ret = decode_compression(d, body, m)) != 0)
        return (ret);
    if ((ret = get_i64(d, body, "file_count", 0, WTKMS_SNAP_MAX_FILES, &v)) != 0)
        return (ret);
    /* Each entry takes well over 64 bytes: a count the body cannot hold allocates nothing. */
    if ((uint64_t)v > m->body_len / 64)
        return (bad(d, "file_count is larger than the manifest can hold"));
    m->nfiles = (uint32_t)v;

    if ((ret = get_doc(d, body, "encryption", false, &sub)) != 0)
        return (ret);
    if (!bson_iter_init_find(&it, &sub, "enabled") || !BSON_ITER_HOLDS_BOOL(&it))
        return (bad(d, "field 'encryption.enabled' is missing"));
    m->encrypted = bson_iter_bool(&it);
    if (m->encrypted) {
        if ((ret = get_desc(d, &sub, "master_key", &m->key)) != 0)
            return (ret);
        if (!bson_iter_init_find(&it, &sub, "wrapped_key") || !BSON_ITER_HOLDS_BINARY(&it))
            return (bad(d, "field 'encryption.wrapped_key' is missing"));
        bson_iter_binary(&it, NULL, &len, &data);
        if (len == 0 || len > 64 * 1024)
            return (bad(d, "the wrapped snapshot key has an impossible length"));
        if ((m->wrapped_key = malloc(len)) == NULL)
            return (wtkms_errf(d->err, ENOMEM, "out of memory"));
        memcpy(m->wrapped_key, data, len);
        m->wrapped_len = len;
    }
    if (!bson_iter_init_find(&it, body, "keystore_master_key"))
        return (bad(d, "field 'keystore_master_key' is missing"));
    if (!BSON_ITER_HOLDS_NULL(&it)) {
        if ((ret = get_desc(d, body, "keystore_master_key", &m->keystore_cmk)) != 0 ||
            (ret = get_keystore_cmks(d, body, m)) != 0)
            return (ret);
        m->has_keystore = true;
    }
    if (bson_iter_init_find(&it, body, "oplog_ts")) {
        if (!BSON_ITER_HOLDS_TIMESTAMP(&it))
            return (bad(d, "field 'oplog_ts' is not a timestamp"));
        bson_iter_timestamp(&it, &m->oplog_t, &m->oplog_i);
        m->has_oplog_ts = true;
    }
    m->oplog_term = -1;
    if (bson_iter_init_find(&it, body, "oplog_term")) {
        if (!BSON_ITER_HOLDS_INT64(&it) || bson_iter_int64(&it) < 0)
            return (bad(d, "field 'oplog_term' is not a non-negative int64"));
        m->oplog_term = bson_iter_int64(&it);
    }
    if (bson_iter_init_find(&it, body, "oplog_rs") &&
        (ret = get_str(d, body, "oplog_rs", m->oplog_rs, sizeof(m->oplog_rs))) != 0)
        return (ret);
    return (decode_files(d, body, m));
}

/*
 * wtkms_manifest_decode --
 *     Envelope, body, structure checks; the checksum of an unencrypted manifest.
 */
int
wtkms_manifest_decode(
  const uint8_t *buf, size_t len, const char *expect_id, wtkms_snap_manifest **mp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    bson_iter_t it;
    bson_t env, body;
    const uint8_t *data;
    uint32_t blen;
    size_t off;
    char alg[32], fmt[64];
    uint8_t sum[WTKMS_SHA256_LEN];
    dctx d;
    int64_t v;
    int ret;

    *mp = NULL;
    d.id = expect_id != NULL ? expect_id : "?";
    d.err = err;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if (len < 5 || len > UINT32_MAX || !bson_init_static(&env, buf, len) ||
        !bson_validate(&env, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &off)) {
        ret = bad(&d, "it is not a valid BSON document");
        goto err;
    }
    if ((ret = get_str(&d, &env, "format", fmt, sizeof(fmt))) != 0)
        goto err;
    if (strcmp(fmt, WTKMS_MANIFEST_FORMAT) != 0) {
        ret = bad(&d, "it is not a wtkms snapshot manifest");
        goto err;
    }
    if ((ret = get_i64(&d, &env, "version", 1, 1000, &v)) != 0)
        goto err;
    if ((ret = get_str(&d, &env, "mac_alg", alg, sizeof(alg))) != 0)
        goto err;
    if (!bson_iter_init_find(&it, &env, "mac") || !BSON_ITER_HOLDS_BINARY(&it)) {
        ret = bad(&d, "the MAC is missing");
        goto err;
    }
    bson_iter_binary(&it, NULL, &blen, &data);
    if (blen != WTKMS_SHA256_LEN) {
        ret = bad(&d, "the MAC has the wrong length");
        goto err;
    }
    memcpy(m->mac, data, WTKMS_SHA256_LEN);
    if (!bson_iter_init_find(&it, &env, "body") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        ret = bad(&d, "the body is missing");
        goto err;
    }
    bson_iter_document(&it, &blen, &data);
    if ((m->body = malloc(blen)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    memcpy(m->body, data, blen);
    m->body_len = blen;
    if (!bson_init_static(&body, m->body, m->body_len)) {
        ret = bad(&d, "the body is malformed");
        goto err;
    }
    if ((ret = decode_body(&d, &body, m)) != 0)
        goto err;
    if (expect_id != NULL && strcmp(m->id, expect_id) != 0) {
        ret = wtkms_errf(err, EBADMSG,
          "the manifest stored as snapshot %s describes snapshot %s: manifests were swapped or "
          "renamed",
          expect_id, m->id);
        goto err;
    }
    /* The MAC algorithm follows from the body, never from the unauthenticated envelope. */
    if (strcmp(alg, m->encrypted ? WTKMS_MANIFEST_MAC_HMAC : WTKMS_MANIFEST_MAC_SHA) != 0) {
        ret = bad(&d, "its MAC algorithm does not match its encryption setting");
        goto err;
    }
    if (!m->encrypted) {
        if ((ret = wtkms_manifest_mac(m->body, m->body_len, NULL, sum)) != 0) {
            ret = wtkms_errf(err, ret, "cannot compute a checksum");
            goto err;
        }
        if (wtkms_ct_memcmp(sum, m->mac, WTKMS_SHA256_LEN) != 0) {
            ret = bad(&d, "its checksum does not match (altered or damaged)");
            goto err;
        }
        m->authenticated = true;
    }
    *mp = m;
    return (0);
err:
    wtkms_manifest_free(m);
    return (ret);
}

/*
 * wtkms_manifest_authenticate --
 *     Check an encrypted manifest's MAC.
 */
int
wtkms_manifest_authenticate(wtkms_snap_manifest *m, const wtkms_snap_keys *keys, wtkms_err *err)
{
    uint8_t mac[WTKMS_SHA256_LEN];
    int ret;

    if (!m->encrypted)
        return (0);
    if ((ret = wtkms_manifest_mac(m->body, m->body_len, keys, mac)) != 0)
        return (wtkms_errf(err, ret, "snapshot %s: cannot compute the manifest MAC", m->id));
    if (wtkms_ct_memcmp(mac, m->mac, WTKMS_SHA256_LEN) != 0)
        return (wtkms_errf(err, EBADMSG,
          "the manifest of snapshot %s does not authenticate: it was altered or damaged after the "
          "snapshot was made; restore another snapshot",
          m->id));
    m->authenticated = true;
    return (0);
}

/*
 * wtkms_manifest_free --
 *     Free a manifest.
 */
void
wtkms_manifest_free(wtkms_snap_manifest *m)
{
    uint32_t i;

    if (m == NULL)
        return;
    if (m->files != NULL)
        for (i = 0; i < m->nfiles; i++)
            free(m->files[i].name);
    free(m->files);
    free(m->wrapped_key);
    free(m->body);
    free(m);
}
