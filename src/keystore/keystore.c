/*
 * keystore.c -- read, check, unlock and write the keystore.
 *
 * File: magic "WTKMSKS\n" | u32le format version | u32le body length | BSON body |
 *       HMAC-SHA256 over everything before it, keyed by HKDF(KSK, "wtkms keystore mac v1").
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "crypto.h"
#include "fileio.h"

#define KS_MAGIC "WTKMSKS\n"
#define KS_MAGIC_LEN 8
#define KS_HDR_LEN (KS_MAGIC_LEN + 8)
#define KS_MAX_SIZE (64u << 20)

static const char mac_info[] = "wtkms keystore mac v1";
static const char rootwrap_info[] = "wtkms root wrap v1";
static const char fp_info[] = "wtkms key fingerprint v1";

/*
 * wtkms_now_ms --
 *     Wall-clock milliseconds.
 */
int64_t
wtkms_now_ms(void)
{
    struct timeval tv;

    (void)gettimeofday(&tv, NULL);
    return ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/*
 * wtkms_keystore_path --
 *     The keystore path in a home.
 */
int
wtkms_keystore_path(const char *home, char *out, size_t outlen, wtkms_err *err)
{
    return (wtkms_path_join(out, outlen, home, WTKMS_KEYSTORE_FILE, err));
}

/*
 * wtkms_keystore_exists --
 *     Whether a keystore file is present.
 */
bool
wtkms_keystore_exists(const char *home)
{
    char path[4096];
    struct stat sb;

    if (wtkms_keystore_path(home, path, sizeof(path), NULL) != 0)
        return (false);
    return (lstat(path, &sb) == 0);
}

/*
 * ks_derive --
 *     A subkey of the KSK.
 */
static int
ks_derive(const wtkms_keystore *ks, const char *info, uint8_t out[WTKMS_KEY_LEN])
{
    return (wtkms_hkdf(ks->ksk->b, WTKMS_KEY_LEN, ks->home_id, sizeof(ks->home_id),
      (const uint8_t *)info, strlen(info), out, WTKMS_KEY_LEN));
}

/*
 * root_aad --
 *     What a wrapped data key is bound to: its number, keyid and home.
 */
static size_t
root_aad(const wtkms_keystore *ks, const wtkms_ks_root *r, uint8_t *buf, size_t len)
{
    size_t klen = strlen(r->keyid);

    if (len < 16 + 4 + klen)
        return (0);
    memcpy(buf, ks->home_id, 16);
    buf[16] = (uint8_t)(r->n >> 24);
    buf[17] = (uint8_t)(r->n >> 16);
    buf[18] = (uint8_t)(r->n >> 8);
    buf[19] = (uint8_t)r->n;
    memcpy(buf + 20, r->keyid, klen);
    return (20 + klen);
}

/*
 * root_fingerprint --
 *     A public name for a data key: HMAC(key, label), truncated.
 */
static int
root_fingerprint(const wtkms_key *k, uint8_t fp[WTKMS_FP_LEN])
{
    uint8_t full[WTKMS_SHA256_LEN];
    int ret;

    ret = wtkms_hmac_sha256(k->b, WTKMS_KEY_LEN, fp_info, sizeof(fp_info) - 1, full);
    memcpy(fp, full, WTKMS_FP_LEN);
    return (ret);
}

/*
 * wtkms_keystore_free --
 *     Wipe and free.
 */
void
wtkms_keystore_free(wtkms_keystore *ks)
{
    uint32_t i;

    if (ks == NULL)
        return;
    for (i = 0; i < ks->nroots; i++) {
        free(ks->roots[i].wrapped);
        wtkms_key_free(ks->roots[i].key);
    }
    free(ks->roots);
    free(ks->opens);
    free(ks->ksk_wrapped);
    wtkms_key_free(ks->ksk);
    free(ks->loaded);
    free(ks);
}

/*
 * ks_serialize --
 *     Build the file image (header, BSON, MAC).
 */
static int
ks_serialize(wtkms_keystore *ks, uint8_t **imgp, size_t *lenp, wtkms_err *err)
{
    bson_t doc, cmk, arr, sub;
    uint8_t *img, mackey[WTKMS_KEY_LEN];
    char idx[16];
    const char *k;
    size_t len;
    uint32_t i, blen;
    int ret;

    *imgp = NULL;
    bson_init(&doc);
    BSON_APPEND_INT32(&doc, "v", WTKMS_KEYSTORE_VERSION);
    BSON_APPEND_BINARY(&doc, "home_id", BSON_SUBTYPE_BINARY, ks->home_id, sizeof(ks->home_id));
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "cmk", &cmk);
    BSON_APPEND_UTF8(&cmk, "provider", ks->cmk.provider);
    BSON_APPEND_UTF8(&cmk, "key_id", ks->cmk.key_id);
    BSON_APPEND_UTF8(&cmk, "key_version", ks->cmk.key_version);
    BSON_APPEND_UTF8(&cmk, "endpoint", ks->cmk.endpoint);
    BSON_APPEND_UTF8(&cmk, "region", ks->cmk.region);
    bson_append_document_end(&doc, &cmk);
    BSON_APPEND_BINARY(
      &doc, "ksk", BSON_SUBTYPE_BINARY, ks->ksk_wrapped, (uint32_t)ks->ksk_wrapped_len);
    BSON_APPEND_DATE_TIME(&doc, "created", ks->created);
    BSON_APPEND_DATE_TIME(&doc, "rotated", ks->rotated);
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
    img[8] = WTKMS_KEYSTORE_VERSION;
    img[9] = img[10] = img[11] = 0;
    img[12] = (uint8_t)blen;
    img[13] = (uint8_t)(blen >> 8);
    img[14] = (uint8_t)(blen >> 16);
    img[15] = (uint8_t)(blen >> 24);
    memcpy(img + KS_HDR_LEN, bson_get_data(&doc), blen);
    bson_destroy(&doc);
    if ((ret = ks_derive(ks, mac_info, mackey)) == 0)
        ret =
          wtkms_hmac_sha256(mackey, WTKMS_KEY_LEN, img, KS_HDR_LEN + blen, img + KS_HDR_LEN + blen);
    wtkms_wipe(mackey, sizeof(mackey));
    if (ret != 0) {
        free(img);
        return (wtkms_errf(err, ret, "keystore %s: cannot compute its MAC", ks->path));
    }
    *imgp = img;
    *lenp = len;
    return (0);
}

/*
 * ks_write --
 *     Serialize and write atomically.
 */
static int
ks_write(wtkms_keystore *ks, int exclusive, wtkms_err *err)
{
    uint8_t *img;
    size_t len;
    int ret;

    if ((ret = ks_serialize(ks, &img, &len, err)) != 0)
        return (ret);
    ret = wtkms_write_file_atomic(ks->path, img, len, 0600, exclusive, err);
    free(img);
    return (ret);
}

/*
 * wtkms_keystore_save --
 *     Replace the keystore file.
 */
int
wtkms_keystore_save(wtkms_keystore *ks, wtkms_err *err)
{
    return (ks_write(ks, 0, err));
}

/*
 * wtkms_keystore_create --
 *     A new keystore with a fresh KSK.
 */
int
wtkms_keystore_create(const char *home, wtkms_kms *kms, wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_keystore *ks;
    int ret;

    *ksp = NULL;
    if ((ks = calloc(1, sizeof(*ks))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_keystore_path(home, ks->path, sizeof(ks->path), err)) != 0)
        goto err;
    if ((ks->ksk = wtkms_key_new()) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    if ((ret = wtkms_random_key(ks->ksk->b)) != 0 ||
        (ret = wtkms_random(ks->home_id, sizeof(ks->home_id))) != 0) {
        ret = wtkms_errf(err, ret, "keystore %s: no random bytes from OpenSSL", ks->path);
        goto err;
    }
    if ((ret = kms->wrap(kms, ks->ksk->b, &ks->ksk_wrapped, &ks->ksk_wrapped_len, &ks->cmk, err)) !=
        0) {
        wtkms_err_prefix(err, "creating keystore %s", ks->path);
        goto err;
    }
    ks->created = ks->rotated = wtkms_now_ms();
    if ((ret = ks_write(ks, 1, err)) != 0)
        goto err;
    *ksp = ks;
    return (0);
err:
    wtkms_keystore_free(ks);
    return (ret);
}

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
 *     Find a binary field; optionally of an exact length.
 */
static bool
get_binary(bson_iter_t *parent, const char *key, const uint8_t **data, uint32_t *len)
{
    bson_iter_t it;
    bson_subtype_t st;

    if (!bson_iter_find_descendant(parent, key, &it) || !BSON_ITER_HOLDS_BINARY(&it))
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
 * parse_roots --
 *     The data-key records.
 */
static int
parse_roots(wtkms_keystore *ks, const bson_t *doc, wtkms_err *err)
{
    bson_iter_t it, arr, rec, f;
    const uint8_t *data;
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
        {
            const char *s = bson_iter_utf8(&f, &len);
            if (len == 0 || len >= sizeof(r->keyid) || strlen(s) != len)
                return (bad(err, ks->path, "a data-key record has a bad keyid"));
            memcpy(r->keyid, s, len + 1);
        }
        f = rec;
        if (!get_binary(&f, "fp", &data, &len) || len != WTKMS_FP_LEN)
            return (bad(err, ks->path, "a data-key record has no fingerprint"));
        memcpy(r->fp, data, WTKMS_FP_LEN);
        f = rec;
        if (!get_binary(&f, "wrapped", &data, &len) || len != WTKMS_SEAL_OVERHEAD + WTKMS_KEY_LEN)
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
 *     The writing-open records.
 */
static int
parse_opens(wtkms_keystore *ks, const bson_t *doc, wtkms_err *err)
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
        if (!get_int(&rec, "n", &v) || v != (int64_t)i + 1)
            return (bad(err, ks->path, "open records are not numbered 1, 2, 3, ..."));
        o->n = (uint32_t)v;
        if (!get_int(&rec, "created", &o->created))
            return (bad(err, ks->path, "an open record has no creation time"));
        if (get_int(&rec, "pid", &v))
            o->pid = v;
        f = rec;
        if (!get_binary(&f, "salt", &data, &len) || len != WTKMS_SALT_LEN)
            return (bad(err, ks->path, "an open record has no salt"));
        memcpy(o->salt, data, WTKMS_SALT_LEN);
        f = rec;
        if (bson_iter_find(&f, "host") && BSON_ITER_HOLDS_UTF8(&f))
            (void)snprintf(o->host, sizeof(o->host), "%s", bson_iter_utf8(&f, NULL));
    }
    return (0);
}

/*
 * wtkms_keystore_load --
 *     Read and parse the keystore of a home.
 */
int
wtkms_keystore_load(const char *home, wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_keystore *ks;
    bson_t doc, cmk;
    bson_iter_t it;
    const uint8_t *data;
    char *img;
    size_t len;
    uint32_t blen, dlen;
    int64_t v;
    int ret;
    bool have_doc;

    *ksp = NULL;
    img = NULL;
    have_doc = false;
    if ((ks = calloc(1, sizeof(*ks))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_keystore_path(home, ks->path, sizeof(ks->path), err)) != 0)
        goto err;
    if ((ret = wtkms_read_file(ks->path, KS_MAX_SIZE, &img, &len, err)) != 0) {
        if (ret == ENOENT)
            wtkms_errf(err, ENOENT,
              "keystore %s is missing: this home's data keys are in it; restore it from a backup "
              "(a new keystore is only ever created for an empty home)",
              ks->path);
        goto err;
    }
    if (len < KS_HDR_LEN || memcmp(img, KS_MAGIC, KS_MAGIC_LEN) != 0) {
        ret = wtkms_errf(err, EBADMSG,
          "%s is not a wtkms keystore (%zu bytes, no keystore header): restore the keystore from "
          "a backup of this home",
          ks->path, len);
        goto err;
    }
    if (img[8] != WTKMS_KEYSTORE_VERSION || img[9] || img[10] || img[11]) {
        ret = wtkms_errf(err, EPROTO,
          "keystore %s has format version %u, this wtkms reads version %d: use a newer wtkms",
          ks->path, (unsigned)(uint8_t)img[8], WTKMS_KEYSTORE_VERSION);
        goto err;
    }
    blen = (uint32_t)(uint8_t)img[12] | (uint32_t)(uint8_t)img[13] << 8 |
           (uint32_t)(uint8_t)img[14] << 16 | (uint32_t)(uint8_t)img[15] << 24;
    if ((size_t)blen + KS_HDR_LEN + WTKMS_SHA256_LEN != len) {
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s is truncated or has bytes appended (%zu bytes, its header says %zu): "
          "restore it from a backup of this home",
          ks->path, len, (size_t)blen + KS_HDR_LEN + WTKMS_SHA256_LEN);
        goto err;
    }
    if (!bson_init_static(&doc, (const uint8_t *)img + KS_HDR_LEN, blen) ||
        !bson_validate(&doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_EMPTY_KEYS, NULL)) {
        ret = bad(err, ks->path, "its body is not valid BSON");
        goto err;
    }
    have_doc = true;
    if (!bson_iter_init(&it, &doc) || !get_int(&it, "v", &v) || v != WTKMS_KEYSTORE_VERSION) {
        ret = bad(err, ks->path, "body version");
        goto err;
    }
    (void)bson_iter_init(&it, &doc);
    if (!get_binary(&it, "home_id", &data, &dlen) || dlen != sizeof(ks->home_id)) {
        ret = bad(err, ks->path, "no home id");
        goto err;
    }
    memcpy(ks->home_id, data, dlen);
    (void)bson_iter_init(&it, &doc);
    if (!bson_iter_find(&it, "cmk") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        ret = bad(err, ks->path, "no master-key descriptor");
        goto err;
    }
    bson_iter_document(&it, &dlen, &data);
    if (!bson_init_static(&cmk, data, dlen) ||
        !get_utf8(&cmk, "provider", ks->cmk.provider, sizeof(ks->cmk.provider)) ||
        !get_utf8(&cmk, "key_id", ks->cmk.key_id, sizeof(ks->cmk.key_id)) ||
        !get_utf8(&cmk, "key_version", ks->cmk.key_version, sizeof(ks->cmk.key_version)) ||
        !get_utf8(&cmk, "endpoint", ks->cmk.endpoint, sizeof(ks->cmk.endpoint)) ||
        !get_utf8(&cmk, "region", ks->cmk.region, sizeof(ks->cmk.region))) {
        ret = bad(err, ks->path, "master-key descriptor incomplete");
        goto err;
    }
    (void)bson_iter_init(&it, &doc);
    if (!get_binary(&it, "ksk", &data, &dlen) || dlen == 0 || dlen > 65536) {
        ret = bad(err, ks->path, "no wrapped keystore key");
        goto err;
    }
    if ((ks->ksk_wrapped = malloc(dlen)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    memcpy(ks->ksk_wrapped, data, dlen);
    ks->ksk_wrapped_len = dlen;
    (void)bson_iter_init(&it, &doc);
    if (!get_int(&it, "created", &ks->created) || !get_int(&it, "rotated", &ks->rotated)) {
        ret = bad(err, ks->path, "no creation or rotation time");
        goto err;
    }
    if ((ret = parse_roots(ks, &doc, err)) != 0 || (ret = parse_opens(ks, &doc, err)) != 0)
        goto err;
    /* Keep the bytes parsed: unlock authenticates exactly these, not a second read. */
    ks->loaded = (uint8_t *)img;
    ks->loaded_len = len;
    *ksp = ks;
    return (0);
err:
    (void)have_doc;
    free(img);
    wtkms_keystore_free(ks);
    return (ret);
}

/*
 * verify_mac --
 *     Recompute the MAC of the image load parsed. Not of a second read of the file: a file
 *     changed between load and unlock would have its MAC checked while the records in memory came
 *     from the bytes before, which nothing authenticated.
 */
static int
verify_mac(wtkms_keystore *ks, wtkms_err *err)
{
    uint8_t mackey[WTKMS_KEY_LEN], mac[WTKMS_SHA256_LEN];
    const uint8_t *img = ks->loaded;
    size_t len = ks->loaded_len;
    int ret;

    if (img == NULL || len < KS_HDR_LEN + WTKMS_SHA256_LEN)
        return (bad(err, ks->path, "unlocked without being loaded"));
    if ((ret = ks_derive(ks, mac_info, mackey)) == 0 &&
        (ret = wtkms_hmac_sha256(mackey, WTKMS_KEY_LEN, img, len - WTKMS_SHA256_LEN, mac)) == 0 &&
        wtkms_ct_memcmp(mac, img + len - WTKMS_SHA256_LEN, WTKMS_SHA256_LEN) != 0)
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s fails its integrity check: it was altered or damaged after wtkms wrote it; "
          "restore it from a backup of this home",
          ks->path);
    wtkms_wipe(mackey, sizeof(mackey));
    return (ret);
}

/*
 * wtkms_keystore_unlock --
 *     One KMS unwrap, then everything locally.
 */
int
wtkms_keystore_unlock(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err)
{
    uint8_t wkey[WTKMS_KEY_LEN], aad[16 + 4 + WTKMS_KEYID_MAX], fp[WTKMS_FP_LEN];
    size_t aadlen;
    uint32_t i;
    int ret;

    /* The configuration decides where keys live: compare before any credential is used. */
    if ((ret = wtkms_kms_check_match(kms, &ks->cmk, err)) != 0)
        return (wtkms_err_prefix(err, "keystore %s", ks->path));
    if ((ret = kms->unwrap(kms, ks->ksk_wrapped, ks->ksk_wrapped_len, &ks->cmk, &ks->ksk, err)) !=
        0)
        return (wtkms_err_prefix(err, "keystore %s", ks->path));
    if ((ret = verify_mac(ks, err)) != 0)
        return (ret);
    if ((ret = ks_derive(ks, rootwrap_info, wkey)) != 0)
        return (wtkms_errf(err, ret, "keystore %s: key derivation failed", ks->path));
    for (i = 0; i < ks->nroots; i++) {
        wtkms_ks_root *r = &ks->roots[i];
        aadlen = root_aad(ks, r, aad, sizeof(aad));
        if ((r->key = wtkms_key_new()) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            break;
        }
        if (wtkms_open_random(wkey, aad, aadlen, r->wrapped, r->wrapped_len, r->key->b) != 0 ||
            root_fingerprint(r->key, fp) != 0 || wtkms_ct_memcmp(fp, r->fp, WTKMS_FP_LEN) != 0) {
            ret = wtkms_errf(err, EBADMSG,
              "keystore %s: data key %u (keyid %s) does not unwrap: the keystore was altered; "
              "restore it from a backup",
              ks->path, r->n, r->keyid);
            break;
        }
    }
    wtkms_wipe(wkey, sizeof(wkey));
    return (ret);
}

/*
 * wtkms_keystore_add_root --
 *     A new data key for keyid, wrapped under the KSK.
 */
int
wtkms_keystore_add_root(
  wtkms_keystore *ks, const char *keyid, wtkms_ks_root **rootp, wtkms_err *err)
{
    wtkms_ks_root *roots, *r;
    uint8_t wkey[WTKMS_KEY_LEN], aad[16 + 4 + WTKMS_KEYID_MAX];
    size_t aadlen;
    int ret;

    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if (strlen(keyid) == 0 || strlen(keyid) >= WTKMS_KEYID_MAX)
        return (
          wtkms_errf(err, EINVAL, "keyid '%s' must be 1 to %d bytes", keyid, WTKMS_KEYID_MAX - 1));
    if ((roots = realloc(ks->roots, (ks->nroots + 1) * sizeof(*roots))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ks->roots = roots;
    r = &roots[ks->nroots];
    memset(r, 0, sizeof(*r));
    r->n = ks->nroots == 0 ? 1 : roots[ks->nroots - 1].n + 1;
    (void)snprintf(r->keyid, sizeof(r->keyid), "%s", keyid);
    r->created = wtkms_now_ms();
    r->wrapped_len = WTKMS_SEAL_OVERHEAD + WTKMS_KEY_LEN;
    if ((r->key = wtkms_key_new()) == NULL || (r->wrapped = malloc(r->wrapped_len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    aadlen = root_aad(ks, r, aad, sizeof(aad));
    if ((ret = wtkms_random_key(r->key->b)) != 0 || (ret = root_fingerprint(r->key, r->fp)) != 0 ||
        (ret = ks_derive(ks, rootwrap_info, wkey)) != 0 ||
        (ret = wtkms_seal_random(wkey, aad, aadlen, r->key->b, WTKMS_KEY_LEN, r->wrapped)) != 0) {
        wtkms_wipe(wkey, sizeof(wkey));
        ret = wtkms_errf(err, ret, "keystore %s: cannot make a data key", ks->path);
        goto err;
    }
    wtkms_wipe(wkey, sizeof(wkey));
    ks->nroots++;
    *rootp = r;
    return (0);
err:
    wtkms_key_free(r->key);
    free(r->wrapped);
    memset(r, 0, sizeof(*r));
    return (ret);
}

/*
 * wtkms_keystore_add_open --
 *     A new writing-open record.
 */
int
wtkms_keystore_add_open(wtkms_keystore *ks, wtkms_ks_open **openp, wtkms_err *err)
{
    wtkms_ks_open *opens, *o;

    if ((opens = realloc(ks->opens, (ks->nopens + 1) * sizeof(*opens))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ks->opens = opens;
    o = &opens[ks->nopens];
    memset(o, 0, sizeof(*o));
    o->n = ks->nopens + 1;
    o->created = wtkms_now_ms();
    o->pid = (int64_t)getpid();
    (void)gethostname(o->host, sizeof(o->host) - 1);
    if (wtkms_random(o->salt, sizeof(o->salt)) != 0)
        return (wtkms_errf(err, EIO, "keystore %s: no random bytes from OpenSSL", ks->path));
    ks->nopens++;
    *openp = o;
    return (0);
}

/*
 * wtkms_keystore_rewrap --
 *     Rotate the CMK: wrap the same KSK under newkms; data keys are untouched.
 */
int
wtkms_keystore_rewrap(wtkms_keystore *ks, wtkms_kms *newkms, wtkms_err *err)
{
    wtkms_kms_desc desc, olddesc;
    uint8_t *blob, *oldblob;
    size_t blob_len, oldlen;
    int64_t oldrot;
    int ret;

    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if ((ret = newkms->wrap(newkms, ks->ksk->b, &blob, &blob_len, &desc, err)) != 0)
        return (wtkms_err_prefix(err, "rotating keystore %s", ks->path));
    oldblob = ks->ksk_wrapped;
    oldlen = ks->ksk_wrapped_len;
    olddesc = ks->cmk;
    oldrot = ks->rotated;
    ks->ksk_wrapped = blob;
    ks->ksk_wrapped_len = blob_len;
    ks->cmk = desc;
    ks->rotated = wtkms_now_ms();
    if ((ret = wtkms_keystore_save(ks, err)) != 0) {
        /* Nothing was replaced on disk: restore the in-memory view too. */
        ks->ksk_wrapped = oldblob;
        ks->ksk_wrapped_len = oldlen;
        ks->cmk = olddesc;
        ks->rotated = oldrot;
        free(blob);
        return (ret);
    }
    free(oldblob);
    (void)oldlen;
    return (0);
}

/*
 * wtkms_keystore_root --
 *     A data key by number.
 */
wtkms_ks_root *
wtkms_keystore_root(wtkms_keystore *ks, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < ks->nroots; i++)
        if (ks->roots[i].n == n)
            return (&ks->roots[i]);
    return (NULL);
}

/*
 * wtkms_keystore_current_root --
 *     The newest data key of a keyid.
 */
wtkms_ks_root *
wtkms_keystore_current_root(wtkms_keystore *ks, const char *keyid)
{
    uint32_t i;

    for (i = ks->nroots; i > 0; i--)
        if (strcmp(ks->roots[i - 1].keyid, keyid) == 0)
            return (&ks->roots[i - 1]);
    return (NULL);
}

/*
 * wtkms_keystore_open_rec --
 *     An open record by number.
 */
wtkms_ks_open *
wtkms_keystore_open_rec(wtkms_keystore *ks, uint32_t n)
{
    if (n == 0 || n > ks->nopens)
        return (NULL);
    return (&ks->opens[n - 1]);
}
