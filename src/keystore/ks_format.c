/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_format.c -- the keystore file: parse, serialize, MAC.
 *
 * File: magic "WTKMSKS\n" | u8 format version | 3 zero bytes | u32le body length | BSON body |
 *       HMAC-SHA256 over everything before it, keyed by HKDF(KSK, home_id, "wtkms keystore mac
 *       v1"). Version 2 writes; version 1 (one master key, no generation) is still read.
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

#define KS_MAGIC "WTKMSKS\n"
#define KS_MAGIC_LEN 8
#define KS_HDR_VERSION 8 /* offset of the format version byte */
#define KS_HDR_BLEN 12   /* offset of the body length */
#define KS_HDR_LEN 16
#define KS_MAX_WRAPPED 65536 /* a provider's wrapped-KSK blob */

static const char mac_info[] = "wtkms keystore mac v1";

/*
 * bad --
 *     The message for a keystore that does not parse.
 */
static int
bad(wtkms_err *err, const char *path, const char *what)
{
    return (wtkms_errf(err, EBADMSG,
      "keystore %s is damaged (%s): restore it from a backup of this home; wtkms never rewrites a "
      "damaged keystore",
      path, what));
}

/*
 * get_utf8 --
 *     Copy a string field, which must exist and fit.
 */
static bool
get_utf8(const bson_t *doc, const char *key, char *out, size_t outlen)
{
    bson_iter_t it;
    const char *s;
    uint32_t len;

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return (false);
    s = bson_iter_utf8(&it, &len);
    if (len >= outlen || strlen(s) != len)
        return (false);
    memcpy(out, s, len + 1);
    return (true);
}

/*
 * get_binary --
 *     Find a binary field.
 */
static bool
get_binary(const bson_iter_t *parent, const char *key, const uint8_t **data, uint32_t *len)
{
    bson_iter_t it = *parent;
    bson_subtype_t st;

    if (!bson_iter_find(&it, key) || !BSON_ITER_HOLDS_BINARY(&it))
        return (false);
    bson_iter_binary(&it, &st, len, data);
    return (true);
}

/*
 * get_int --
 *     An integer or date field as int64.
 */
static bool
get_int(const bson_iter_t *base, const char *key, int64_t *v)
{
    bson_iter_t it = *base;

    if (!bson_iter_find(&it, key))
        return (false);
    if (BSON_ITER_HOLDS_INT64(&it))
        *v = bson_iter_int64(&it);
    else if (BSON_ITER_HOLDS_INT32(&it))
        *v = bson_iter_int32(&it);
    else if (BSON_ITER_HOLDS_DATE_TIME(&it))
        *v = bson_iter_date_time(&it);
    else
        return (false);
    return (true);
}

/*
 * parse_cmk --
 *     A master-key descriptor document.
 */
static bool
parse_cmk(const bson_iter_t *parent, const char *key, wtkms_kms_desc *d)
{
    bson_iter_t it = *parent;
    const uint8_t *data;
    uint32_t dlen;
    bson_t cmk;

    if (!bson_iter_find(&it, key) || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return (false);
    bson_iter_document(&it, &dlen, &data);
    return (bson_init_static(&cmk, data, dlen) &&
            get_utf8(&cmk, "provider", d->provider, sizeof(d->provider)) &&
            get_utf8(&cmk, "key_id", d->key_id, sizeof(d->key_id)) &&
            get_utf8(&cmk, "key_version", d->key_version, sizeof(d->key_version)) &&
            get_utf8(&cmk, "endpoint", d->endpoint, sizeof(d->endpoint)) &&
            get_utf8(&cmk, "region", d->region, sizeof(d->region)));
}

/*
 * set_wrap --
 *     Fill one wrapping from its parts.
 */
static int
set_wrap(wtkms_ks_wrap *w, const uint8_t *blob, uint32_t len, wtkms_err *err)
{
    if ((w->ksk_wrapped = malloc(len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    memcpy(w->ksk_wrapped, blob, len);
    w->ksk_wrapped_len = len;
    return (0);
}

/*
 * parse_wraps_v1 --
 *     Version 1: one master key at the top level.
 */
static int
parse_wraps_v1(wtkms_keystore *ks, const bson_iter_t *top, wtkms_err *err)
{
    wtkms_ks_wrap *w = &ks->wraps[0];
    const uint8_t *data;
    uint32_t dlen;
    int64_t rotated;

    if (!parse_cmk(top, "cmk", &w->cmk))
        return (bad(err, ks->path, "master-key descriptor incomplete"));
    if (!get_binary(top, "ksk", &data, &dlen) || dlen == 0 || dlen > KS_MAX_WRAPPED)
        return (bad(err, ks->path, "no wrapped keystore key"));
    if (!get_int(top, "rotated", &rotated))
        return (bad(err, ks->path, "no rotation time"));
    w->since = w->wrapped = rotated;
    ks->nwraps = 1;
    return (set_wrap(w, data, dlen, err));
}

/*
 * parse_wraps_v2 --
 *     Version 2: an array of wrappings, one per master key.
 */
static int
parse_wraps_v2(wtkms_keystore *ks, const bson_iter_t *top, wtkms_err *err)
{
    bson_iter_t it = *top, arr, rec;
    const uint8_t *data;
    uint32_t dlen, i;
    int ret;

    if (!bson_iter_find(&it, "wraps") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return (bad(err, ks->path, "no master-key list"));
    for (i = 0; bson_iter_next(&arr); i++) {
        wtkms_ks_wrap *w = &ks->wraps[i];
        if (i >= WTKMS_KS_MAX_WRAPS)
            return (bad(err, ks->path, "more master keys than a keystore holds"));
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &rec))
            return (bad(err, ks->path, "a master-key record is not a document"));
        if (!parse_cmk(&rec, "cmk", &w->cmk))
            return (bad(err, ks->path, "master-key descriptor incomplete"));
        if (!get_binary(&rec, "ksk", &data, &dlen) || dlen == 0 || dlen > KS_MAX_WRAPPED)
            return (bad(err, ks->path, "no wrapped keystore key"));
        if (!get_int(&rec, "since", &w->since) || !get_int(&rec, "wrapped", &w->wrapped))
            return (bad(err, ks->path, "a master-key record has no rotation time"));
        ks->nwraps = i + 1;
        if ((ret = set_wrap(w, data, dlen, err)) != 0)
            return (ret);
    }
    if (ks->nwraps == 0)
        return (bad(err, ks->path, "no master key"));
    return (0);
}

/*
 * parse_roots --
 *     The data-key records.
 */
static int
parse_roots(wtkms_keystore *ks, const bson_t *doc, wtkms_err *err)
{
    bson_iter_t it, arr, rec, f;
    const uint8_t *data;
    const char *s;
    uint32_t len, count, i;
    int64_t v;
    wtkms_ks_root *r;

    if (!bson_iter_init_find(&it, doc, "roots") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return (bad(err, ks->path, "no data-key list"));
    for (count = 0; bson_iter_next(&arr); count++)
        ;
    if (count > 0 && (ks->roots = calloc(count, sizeof(*ks->roots))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)bson_iter_recurse(&it, &arr);
    for (i = 0; bson_iter_next(&arr); i++) {
        r = &ks->roots[i];
        ks->nroots = i + 1;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &rec))
            return (bad(err, ks->path, "a data-key record is not a document"));
        if (!get_int(&rec, "n", &v) || v < 1 || v > UINT32_MAX)
            return (bad(err, ks->path, "a data-key record has no valid number"));
        r->n = (uint32_t)v;
        if (!get_int(&rec, "created", &r->created))
            return (bad(err, ks->path, "a data-key record has no creation time"));
        f = rec;
        if (!bson_iter_find(&f, "keyid") || !BSON_ITER_HOLDS_UTF8(&f))
            return (bad(err, ks->path, "a data-key record has no keyid"));
        s = bson_iter_utf8(&f, &len);
        if (len == 0 || len >= sizeof(r->keyid) || strlen(s) != len)
            return (bad(err, ks->path, "a data-key record has a bad keyid"));
        memcpy(r->keyid, s, len + 1);
        if (!get_binary(&rec, "fp", &data, &len) || len != WTKMS_FP_LEN)
            return (bad(err, ks->path, "a data-key record has no fingerprint"));
        memcpy(r->fp, data, WTKMS_FP_LEN);
        if (!get_binary(&rec, "wrapped", &data, &len) || len != WTKMS_SEAL_OVERHEAD + WTKMS_KEY_LEN)
            return (bad(err, ks->path, "a data-key record has no wrapped key"));
        if ((r->wrapped = malloc(len)) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        memcpy(r->wrapped, data, len);
        r->wrapped_len = len;
        if (i > 0 && r->n <= ks->roots[i - 1].n)
            return (bad(err, ks->path, "data-key numbers are not increasing"));
    }
    return (0);
}

/*
 * parse_opens --
 *     The writing-open records: numbers increase (version 1: 1, 2, 3, ...; compaction leaves
 *     gaps in version 2).
 */
static int
parse_opens(wtkms_keystore *ks, const bson_t *doc, int version, wtkms_err *err)
{
    bson_iter_t it, arr, rec, f;
    const uint8_t *data;
    uint32_t len, count, i;
    int64_t v;
    wtkms_ks_open *o;

    if (!bson_iter_init_find(&it, doc, "opens") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return (bad(err, ks->path, "no open list"));
    for (count = 0; bson_iter_next(&arr); count++)
        ;
    if (count > 0 && (ks->opens = calloc(count, sizeof(*ks->opens))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)bson_iter_recurse(&it, &arr);
    for (i = 0; bson_iter_next(&arr); i++) {
        o = &ks->opens[i];
        ks->nopens = i + 1;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &rec))
            return (bad(err, ks->path, "an open record is not a document"));
        if (!get_int(&rec, "n", &v) || v < 1 || v > UINT32_MAX ||
            (version == 1 && v != (int64_t)i + 1) || (i > 0 && v <= ks->opens[i - 1].n))
            return (bad(err, ks->path, "open records are not numbered in increasing order"));
        o->n = (uint32_t)v;
        if (!get_int(&rec, "created", &o->created))
            return (bad(err, ks->path, "an open record has no creation time"));
        if (get_int(&rec, "pid", &v))
            o->pid = v;
        if (!get_binary(&rec, "salt", &data, &len) || len != WTKMS_SALT_LEN)
            return (bad(err, ks->path, "an open record has no salt"));
        memcpy(o->salt, data, WTKMS_SALT_LEN);
        f = rec;
        if (bson_iter_find(&f, "host") && BSON_ITER_HOLDS_UTF8(&f))
            (void)snprintf(o->host, sizeof(o->host), "%s", bson_iter_utf8(&f, NULL));
    }
    return (0);
}

/*
 * wtkms_ks_parse --
 *     Parse a file image (which the keystore takes over, even on error) into a new keystore.
 */
int
wtkms_ks_parse(const char *path, uint8_t *img, size_t len, wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_keystore *ks;
    bson_t doc;
    bson_iter_t top;
    const uint8_t *data;
    uint32_t blen, dlen;
    int64_t v;
    int ret;

    *ksp = NULL;
    if ((ks = calloc(1, sizeof(*ks))) == NULL) {
        free(img);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    ks->loaded = img;
    ks->loaded_len = len;
    (void)snprintf(ks->path, sizeof(ks->path), "%s", path);
    if (len < KS_HDR_LEN || memcmp(img, KS_MAGIC, KS_MAGIC_LEN) != 0) {
        ret = wtkms_errf(err, EBADMSG,
          "%s is not a wtkms keystore (%zu bytes, no keystore header): restore the keystore from "
          "a backup of this home",
          path, len);
        goto err;
    }
    ks->file_version = img[KS_HDR_VERSION];
    if ((ks->file_version != 1 && ks->file_version != 2) || img[9] || img[10] || img[11]) {
        ret = wtkms_errf(err, EPROTO,
          "keystore %s has format version %u, this wtkms reads versions 1 and 2: use a newer wtkms",
          path, (unsigned)img[KS_HDR_VERSION]);
        goto err;
    }
    blen = wtkms_get_le32(img + KS_HDR_BLEN);
    if ((size_t)blen + KS_HDR_LEN + WTKMS_SHA256_LEN != len) {
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s is truncated or has bytes appended (%zu bytes, its header says %zu): "
          "restore it from a backup of this home",
          path, len, (size_t)blen + KS_HDR_LEN + WTKMS_SHA256_LEN);
        goto err;
    }
    if (!bson_init_static(&doc, img + KS_HDR_LEN, blen) ||
        !bson_validate(&doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_EMPTY_KEYS, NULL) ||
        !bson_iter_init(&top, &doc)) {
        ret = bad(err, path, "its body is not valid BSON");
        goto err;
    }
    if (!get_int(&top, "v", &v) || v != ks->file_version) {
        ret = bad(err, path, "body version");
        goto err;
    }
    if (!get_binary(&top, "home_id", &data, &dlen) || dlen != sizeof(ks->home_id)) {
        ret = bad(err, path, "no home id");
        goto err;
    }
    memcpy(ks->home_id, data, dlen);
    if (ks->file_version >= 2) {
        if (!get_int(&top, "gen", &v) || v < 0) {
            ret = bad(err, path, "no generation");
            goto err;
        }
        ks->gen = (uint64_t)v;
    }
    if (!get_int(&top, "created", &ks->created)) {
        ret = bad(err, path, "no creation time");
        goto err;
    }
    if ((ret = ks->file_version == 1 ? parse_wraps_v1(ks, &top, err)
                                     : parse_wraps_v2(ks, &top, err)) != 0 ||
        (ret = parse_roots(ks, &doc, err)) != 0 ||
        (ret = parse_opens(ks, &doc, ks->file_version, err)) != 0)
        goto err;
    *ksp = ks;
    return (0);
err:
    wtkms_keystore_free(ks);
    return (ret);
}

/*
 * ks_mac --
 *     The MAC of an image's first len bytes.
 */
static int
ks_mac(const wtkms_keystore *ks, const uint8_t *img, size_t len, uint8_t mac[WTKMS_SHA256_LEN])
{
    uint8_t mackey[WTKMS_KEY_LEN];
    int ret;

    if ((ret = wtkms_hkdf(ks->ksk->b, WTKMS_KEY_LEN, ks->home_id, sizeof(ks->home_id),
           (const uint8_t *)mac_info, strlen(mac_info), mackey, WTKMS_KEY_LEN)) == 0)
        ret = wtkms_hmac_sha256(mackey, WTKMS_KEY_LEN, img, len, mac);
    wtkms_wipe(mackey, sizeof(mackey));
    return (ret);
}

/*
 * wtkms_ks_serialize --
 *     Build the file image (header, BSON, MAC) of the current format version.
 */
int
wtkms_ks_serialize(wtkms_keystore *ks, uint8_t **imgp, size_t *lenp, wtkms_err *err)
{
    bson_t doc, arr, sub;
    uint8_t *img;
    char idx[16];
    const char *k;
    size_t len;
    uint32_t i, blen;

    *imgp = NULL;
    bson_init(&doc);
    BSON_APPEND_INT32(&doc, "v", WTKMS_KEYSTORE_VERSION);
    BSON_APPEND_BINARY(&doc, "home_id", BSON_SUBTYPE_BINARY, ks->home_id, sizeof(ks->home_id));
    BSON_APPEND_INT64(&doc, "gen", (int64_t)ks->gen);
    BSON_APPEND_DATE_TIME(&doc, "created", ks->created);
    BSON_APPEND_ARRAY_BEGIN(&doc, "wraps", &arr);
    for (i = 0; i < ks->nwraps; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        wtkms_kms_desc_append(&sub, "cmk", &ks->wraps[i].cmk);
        BSON_APPEND_BINARY(&sub, "ksk", BSON_SUBTYPE_BINARY, ks->wraps[i].ksk_wrapped,
          (uint32_t)ks->wraps[i].ksk_wrapped_len);
        BSON_APPEND_DATE_TIME(&sub, "since", ks->wraps[i].since);
        BSON_APPEND_DATE_TIME(&sub, "wrapped", ks->wraps[i].wrapped);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_ARRAY_BEGIN(&doc, "roots", &arr);
    for (i = 0; i < ks->nroots; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        BSON_APPEND_INT64(&sub, "n", ks->roots[i].n);
        BSON_APPEND_UTF8(&sub, "keyid", ks->roots[i].keyid);
        BSON_APPEND_DATE_TIME(&sub, "created", ks->roots[i].created);
        BSON_APPEND_BINARY(&sub, "fp", BSON_SUBTYPE_BINARY, ks->roots[i].fp, WTKMS_FP_LEN);
        BSON_APPEND_BINARY(&sub, "wrapped", BSON_SUBTYPE_BINARY, ks->roots[i].wrapped,
          (uint32_t)ks->roots[i].wrapped_len);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_ARRAY_BEGIN(&doc, "opens", &arr);
    for (i = 0; i < ks->nopens; i++) {
        (void)bson_uint32_to_string(i, &k, idx, sizeof(idx));
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
        BSON_APPEND_INT64(&sub, "n", ks->opens[i].n);
        BSON_APPEND_DATE_TIME(&sub, "created", ks->opens[i].created);
        BSON_APPEND_BINARY(&sub, "salt", BSON_SUBTYPE_BINARY, ks->opens[i].salt, WTKMS_SALT_LEN);
        BSON_APPEND_UTF8(&sub, "host", ks->opens[i].host);
        BSON_APPEND_INT64(&sub, "pid", ks->opens[i].pid);
        bson_append_document_end(&arr, &sub);
    }
    bson_append_array_end(&doc, &arr);

    blen = doc.len;
    len = KS_HDR_LEN + blen + WTKMS_SHA256_LEN;
    if ((img = malloc(len)) == NULL) {
        bson_destroy(&doc);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    memcpy(img, KS_MAGIC, KS_MAGIC_LEN);
    img[KS_HDR_VERSION] = WTKMS_KEYSTORE_VERSION;
    img[9] = img[10] = img[11] = 0;
    wtkms_put_le32(img + KS_HDR_BLEN, blen);
    memcpy(img + KS_HDR_LEN, bson_get_data(&doc), blen);
    bson_destroy(&doc);
    if (ks_mac(ks, img, KS_HDR_LEN + blen, img + KS_HDR_LEN + blen) != 0) {
        free(img);
        return (wtkms_errf(err, EIO, "keystore %s: cannot compute its MAC", ks->path));
    }
    *imgp = img;
    *lenp = len;
    return (0);
}

/*
 * wtkms_ks_verify_mac --
 *     Check an image's MAC with the KSK of ks (which must match the image's home).
 */
int
wtkms_ks_verify_mac(
  const wtkms_keystore *ks, const uint8_t *img, size_t len, const char *path, wtkms_err *err)
{
    uint8_t mac[WTKMS_SHA256_LEN];
    int ret;

    if (img == NULL || len < KS_HDR_LEN + WTKMS_SHA256_LEN)
        return (bad(err, path, "unlocked without being loaded"));
    if ((ret = ks_mac(ks, img, len - WTKMS_SHA256_LEN, mac)) != 0)
        return (wtkms_errf(err, ret, "keystore %s: cannot compute its MAC", path));
    if (wtkms_ct_memcmp(mac, img + len - WTKMS_SHA256_LEN, WTKMS_SHA256_LEN) != 0)
        return (wtkms_errf(err, EBADMSG,
          "keystore %s fails its integrity check: it was altered or damaged after wtkms wrote it; "
          "restore it from a backup of this home",
          path));
    return (0);
}
