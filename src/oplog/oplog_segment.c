/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_segment.c -- sealing and opening oplog segment files.
 */
#include "oplog_segment.h"

#include <bson/bson.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "secure.h"
#include "zcodec.h"

static const char seg_info[] = "wtkms oplog segment v1";

/*
 * wtkms_seg_name --
 *     oplog-<12-digit seq>.seg: names sort in chain order.
 */
void
wtkms_seg_name(uint64_t seq, char *out, size_t outlen)
{
    (void)snprintf(out, outlen, "oplog-%012" PRIu64 ".seg", seq);
}

/*
 * wtkms_seg_name_seq --
 *     Parse a segment file name, exactly.
 */
uint64_t
wtkms_seg_name_seq(const char *name)
{
    uint64_t seq;
    int i;

    if (strlen(name) != 22 || strncmp(name, "oplog-", 6) != 0 || strcmp(name + 18, ".seg") != 0)
        return (0);
    for (seq = 0, i = 6; i < 18; i++) {
        if (name[i] < '0' || name[i] > '9')
            return (0);
        seq = seq * 10 + (uint64_t)(name[i] - '0');
    }
    return (seq);
}

/*
 * wtkms_seg_file_len --
 *     Prefix, header, body and tag.
 */
uint64_t
wtkms_seg_file_len(const wtkms_seg_header *h)
{
    return ((uint64_t)h->header_len + h->body_len + (h->encrypted ? WTKMS_GCM_TAG_LEN : 0));
}

/*
 * wtkms_seg_derive_key --
 *     HKDF(run key, run id, info | seq): a key used for exactly one segment.
 */
int
wtkms_seg_derive_key(
  const wtkms_key *run_key, const uint8_t run[WTKMS_RUN_ID_LEN], uint64_t seq, wtkms_key *out)
{
    uint8_t info[sizeof(seg_info) - 1 + 8];
    int i;

    memcpy(info, seg_info, sizeof(seg_info) - 1);
    for (i = 0; i < 8; i++)
        info[sizeof(seg_info) - 1 + (size_t)i] = (uint8_t)(seq >> (56 - 8 * i));
    return (wtkms_hkdf(
      run_key->b, WTKMS_KEY_LEN, run, WTKMS_RUN_ID_LEN, info, sizeof(info), out->b, WTKMS_KEY_LEN));
}

/*
 * append_ts --
 *     A Timestamp field.
 */
static void
append_ts(bson_t *b, const char *key, wtkms_ts ts)
{
    BSON_APPEND_TIMESTAMP(b, key, WTKMS_TS_SECS(ts), WTKMS_TS_INC(ts));
}

/*
 * get_rs --
 *     The optional replica-set name of a format 2 header.
 */
static int
get_rs(const bson_t *hdr, wtkms_seg_header *h, const char *name, wtkms_err *err)
{
    bson_iter_t it;
    const char *v;
    uint32_t len;

    h->rs[0] = '\0';
    if (!bson_iter_init_find(&it, hdr, "rs"))
        return (0);
    if (!BSON_ITER_HOLDS_UTF8(&it) || (v = bson_iter_utf8(&it, &len)) == NULL || len == 0 ||
        len >= sizeof(h->rs) || strlen(v) != len)
        return (
          wtkms_errf(err, EILSEQ, "%s: the segment header's replica-set name is malformed", name));
    memcpy(h->rs, v, len + 1);
    return (0);
}

/*
 * build_header --
 *     The header document. Every field is written, so the layout is the same for every segment
 *     of a kind and parse can insist on each.
 */
static void
build_header(const wtkms_seg_header *h, bson_t *b)
{
    bson_t cmk;

    BSON_APPEND_INT32(b, "format", h->format);
    BSON_APPEND_UTF8(b, "kind", h->kind == WTKMS_SEG_GAP ? "gap" : "entries");
    BSON_APPEND_INT64(b, "seq", (int64_t)h->seq);
    BSON_APPEND_BINARY(b, "run", BSON_SUBTYPE_BINARY, h->run, WTKMS_RUN_ID_LEN);
    if (h->format >= 2)
        BSON_APPEND_BINARY(b, "store", BSON_SUBTYPE_BINARY, h->store, WTKMS_STORE_ID_LEN);
    if (h->format >= 2 && h->rs[0] != '\0')
        BSON_APPEND_UTF8(b, "rs", h->rs);
    BSON_APPEND_DATE_TIME(b, "created", h->created_ms);
    BSON_APPEND_INT64(b, "count", (int64_t)h->count);
    if (h->kind == WTKMS_SEG_ENTRIES) {
        append_ts(b, "first_ts", h->first_ts);
        append_ts(b, "last_ts", h->last_ts);
        BSON_APPEND_INT64(b, "last_t", h->last_term);
    } else {
        append_ts(b, "gap_from", h->gap_from);
        append_ts(b, "gap_to", h->gap_to);
    }
    if (h->format >= 3)
        BSON_APPEND_UTF8(b, "compression", h->compressed ? "zstd" : "none");
    BSON_APPEND_INT64(b, "plain_len", (int64_t)h->plain_len);
    BSON_APPEND_INT64(b, "body_len", (int64_t)h->body_len);
    BSON_APPEND_BINARY(b, "prev", BSON_SUBTYPE_BINARY, h->prev, WTKMS_SHA256_LEN);
    if (h->encrypted) {
        BSON_APPEND_UTF8(b, "cipher", "aes-256-gcm");
        BSON_APPEND_BINARY(b, "nonce", BSON_SUBTYPE_BINARY, h->nonce, WTKMS_GCM_NONCE_LEN);
        BSON_APPEND_DOCUMENT_BEGIN(b, "cmk", &cmk);
        BSON_APPEND_UTF8(&cmk, "provider", h->cmk.provider);
        BSON_APPEND_UTF8(&cmk, "key_id", h->cmk.key_id);
        BSON_APPEND_UTF8(&cmk, "key_version", h->cmk.key_version);
        BSON_APPEND_UTF8(&cmk, "endpoint", h->cmk.endpoint);
        BSON_APPEND_UTF8(&cmk, "region", h->cmk.region);
        bson_append_document_end(b, &cmk);
        BSON_APPEND_BINARY(
          b, "wrapped_run_key", BSON_SUBTYPE_BINARY, h->wrapped, (uint32_t)h->wrapped_len);
    } else {
        BSON_APPEND_UTF8(b, "cipher", "none");
        BSON_APPEND_BINARY(b, "body_sha256", BSON_SUBTYPE_BINARY, h->body_sha256, WTKMS_SHA256_LEN);
    }
}

/*
 * wtkms_seg_seal --
 *     Lay out prefix, header, body and tag in out.
 */
int
wtkms_seg_seal(wtkms_seg_header *h, wtkms_gcm *gcm, const wtkms_key *run_key, struct wtkms_zc *zc,
  const uint8_t *plain, size_t plain_len, wtkms_buf *out, wtkms_err *err)
{
    wtkms_key seg_key;
    bson_t hdr;
    uint8_t *p, *zbuf;
    const uint8_t *body;
    size_t zlen;
    uint32_t hlen;
    int ret;

    zbuf = NULL;
    h->format = WTKMS_SEG_FORMAT;
    h->has_store = true;
    h->encrypted = run_key != NULL;
    h->compressed = false;
    h->plain_len = plain_len;
    h->body_len = plain_len;
    body = plain;
    /* Compressed only when that saves bytes; the frame is secret as the entries are. */
    if (zc != NULL && plain_len > 1) {
        if ((zbuf = malloc(plain_len - 1)) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory for a %zu-byte segment", plain_len));
        ret = wtkms_zc_compress(zc, plain, plain_len, zbuf, plain_len - 1, &zlen);
        if (ret == 0) {
            h->compressed = true;
            h->body_len = zlen;
            body = zbuf;
        } else if (ret != ENOSPC) {
            ret = wtkms_errf(err, ret, "zstd failed on segment %" PRIu64, h->seq);
            goto err;
        }
    }
    if (h->encrypted) {
        if ((ret = wtkms_random(h->nonce, sizeof(h->nonce))) != 0) {
            ret = wtkms_errf(err, ret, "no random bytes from OpenSSL for a segment nonce");
            goto err;
        }
    } else if ((ret = wtkms_sha256(body, (size_t)h->body_len, h->body_sha256)) != 0) {
        ret = wtkms_errf(err, ret, "SHA-256 failed");
        goto err;
    }

    bson_init(&hdr);
    build_header(h, &hdr);
    hlen = hdr.len;
    h->header_len = WTKMS_SEG_PREFIX_LEN + hlen;
    out->len = 0;
    if ((ret = wtkms_buf_reserve(out, (size_t)wtkms_seg_file_len(h))) != 0) {
        bson_destroy(&hdr);
        ret = wtkms_errf(err, ret, "out of memory for a %zu-byte segment", plain_len);
        goto err;
    }
    p = out->p;
    memcpy(p, WTKMS_SEG_MAGIC, WTKMS_SEG_MAGIC_LEN);
    wtkms_put_le32(p + WTKMS_SEG_HLEN_LOCATION, hlen);
    memcpy(p + WTKMS_SEG_PREFIX_LEN, bson_get_data(&hdr), hlen);
    bson_destroy(&hdr);
    p += h->header_len;

    if (!h->encrypted) {
        if (h->body_len > 0)
            memcpy(p, body, (size_t)h->body_len);
        out->len = (size_t)wtkms_seg_file_len(h);
        ret = 0;
        goto err;
    }
    if ((ret = wtkms_seg_derive_key(run_key, h->run, h->seq, &seg_key)) != 0 ||
        (ret = wtkms_gcm_setkey(gcm, seg_key.b)) != 0) {
        wtkms_wipe(&seg_key, sizeof(seg_key));
        ret = wtkms_errf(err, ret ? ret : EIO, "cannot derive the key of segment %" PRIu64, h->seq);
        goto err;
    }
    wtkms_wipe(&seg_key, sizeof(seg_key));
    if ((ret = wtkms_gcm_seal(gcm, h->nonce, out->p, h->header_len, body, (size_t)h->body_len, p,
           p + h->body_len)) != 0) {
        ret = wtkms_errf(err, ret, "AES-256-GCM failed on segment %" PRIu64, h->seq);
        goto err;
    }
    out->len = (size_t)wtkms_seg_file_len(h);
err:
    if (zbuf != NULL) {
        wtkms_wipe(zbuf, plain_len - 1);
        free(zbuf);
    }
    return (ret);
}

/*
 * get_field --
 *     Find a required field of a type, or say which is missing.
 */
static int
get_field(const bson_t *b, const char *key, bson_type_t type, bson_iter_t *it, const char *name,
  wtkms_err *err)
{
    if (!bson_iter_init_find(it, b, key) || bson_iter_type(it) != type)
        return (wtkms_errf(err, EILSEQ,
          "%s: the segment header has no valid \"%s\": the file is damaged or not a wtkms oplog "
          "segment",
          name, key));
    return (0);
}

/*
 * get_binary --
 *     A binary field of an exact length (or at most max when exact is 0).
 */
static int
get_binary(const bson_t *b, const char *key, uint8_t *out, size_t exact, size_t max, size_t *lenp,
  const char *name, wtkms_err *err)
{
    bson_iter_t it;
    bson_subtype_t st;
    const uint8_t *data;
    uint32_t len;
    int ret;

    if ((ret = get_field(b, key, BSON_TYPE_BINARY, &it, name, err)) != 0)
        return (ret);
    bson_iter_binary(&it, &st, &len, &data);
    if ((exact != 0 && len != exact) || (exact == 0 && len > max))
        return (wtkms_errf(err, EILSEQ, "%s: the segment header's \"%s\" is %u bytes, expected %zu",
          name, key, len, exact != 0 ? exact : max));
    memcpy(out, data, len);
    if (lenp != NULL)
        *lenp = len;
    return (0);
}

/*
 * get_int64 --
 *     A non-negative int64 field.
 */
static int
get_int64(const bson_t *b, const char *key, int64_t *out, bool allow_negative, const char *name,
  wtkms_err *err)
{
    bson_iter_t it;
    int ret;

    if ((ret = get_field(b, key, BSON_TYPE_INT64, &it, name, err)) != 0)
        return (ret);
    *out = bson_iter_int64(&it);
    if (*out < 0 && !allow_negative)
        return (wtkms_errf(err, EILSEQ, "%s: the segment header's \"%s\" is negative", name, key));
    return (0);
}

/*
 * get_ts --
 *     A Timestamp field.
 */
static int
get_ts(const bson_t *b, const char *key, wtkms_ts *out, const char *name, wtkms_err *err)
{
    bson_iter_t it;
    uint32_t secs, inc;
    int ret;

    if ((ret = get_field(b, key, BSON_TYPE_TIMESTAMP, &it, name, err)) != 0)
        return (ret);
    bson_iter_timestamp(&it, &secs, &inc);
    *out = WTKMS_TS(secs, inc);
    return (0);
}

/*
 * get_str --
 *     A string field into a fixed buffer.
 */
static int
get_str(
  const bson_t *b, const char *key, char *out, size_t outlen, const char *name, wtkms_err *err)
{
    bson_iter_t it;
    const char *s;
    uint32_t len;
    int ret;

    if ((ret = get_field(b, key, BSON_TYPE_UTF8, &it, name, err)) != 0)
        return (ret);
    s = bson_iter_utf8(&it, &len);
    if (len >= outlen || strlen(s) != len)
        return (wtkms_errf(err, EILSEQ, "%s: the segment header's \"%s\" is too long", name, key));
    memcpy(out, s, len + 1);
    return (0);
}

/*
 * wtkms_seg_parse_header --
 *     Check the prefix and read every header field.
 */
int
wtkms_seg_parse_header(
  const uint8_t *file, size_t len, const char *name, wtkms_seg_header *h, wtkms_err *err)
{
    bson_t hdr, cmk;
    bson_iter_t it;
    const uint8_t *data;
    char kind[16], cipher[32];
    uint32_t hlen, dlen;
    int64_t v;
    int ret;

    memset(h, 0, sizeof(*h));
    if (len < WTKMS_SEG_PREFIX_LEN || memcmp(file, WTKMS_SEG_MAGIC, WTKMS_SEG_MAGIC_LEN) != 0)
        return (wtkms_errf(err, EILSEQ,
          "%s is not a wtkms oplog segment (%s): it was truncated or replaced", name,
          len < WTKMS_SEG_PREFIX_LEN ? "shorter than the segment prefix" : "wrong magic bytes"));
    hlen = wtkms_get_le32(file + WTKMS_SEG_HLEN_LOCATION);
    if (hlen < 5 || hlen > WTKMS_SEG_MAX_HEADER)
        return (wtkms_errf(err, EILSEQ,
          "%s: segment header length %u is impossible: the file is "
          "damaged",
          name, hlen));
    if (len - WTKMS_SEG_PREFIX_LEN < hlen)
        return (wtkms_errf(
          err, EILSEQ, "%s is truncated: it ends inside its %u-byte header", name, hlen));
    if (!bson_init_static(&hdr, file + WTKMS_SEG_PREFIX_LEN, hlen) ||
        !bson_validate(&hdr, BSON_VALIDATE_UTF8, NULL))
        return (wtkms_errf(err, EILSEQ,
          "%s: the segment header is not valid BSON: the file is "
          "damaged",
          name));
    h->header_len = WTKMS_SEG_PREFIX_LEN + hlen;

    if ((ret = get_field(&hdr, "format", BSON_TYPE_INT32, &it, name, err)) != 0)
        return (ret);
    h->format = bson_iter_int32(&it);
    if (h->format != WTKMS_SEG_FORMAT && h->format != WTKMS_SEG_FORMAT_2 &&
        h->format != WTKMS_SEG_FORMAT_OLD)
        return (wtkms_errf(err, EILSEQ,
          "%s: segment format %d is not one this wtkms reads (%d .. %d): use a newer wtkms", name,
          h->format, WTKMS_SEG_FORMAT_OLD, WTKMS_SEG_FORMAT));
    if ((ret = get_str(&hdr, "kind", kind, sizeof(kind), name, err)) != 0)
        return (ret);
    if (strcmp(kind, "entries") == 0)
        h->kind = WTKMS_SEG_ENTRIES;
    else if (strcmp(kind, "gap") == 0)
        h->kind = WTKMS_SEG_GAP;
    else
        return (wtkms_errf(err, EILSEQ, "%s: unknown segment kind \"%s\"", name, kind));
    if ((ret = get_int64(&hdr, "seq", &v, false, name, err)) != 0)
        return (ret);
    h->seq = (uint64_t)v;
    if ((ret = get_binary(&hdr, "run", h->run, WTKMS_RUN_ID_LEN, 0, NULL, name, err)) != 0)
        return (ret);
    if (h->format >= 2) {
        if ((ret = get_binary(&hdr, "store", h->store, WTKMS_STORE_ID_LEN, 0, NULL, name, err)) !=
            0)
            return (ret);
        h->has_store = true;
        if ((ret = get_rs(&hdr, h, name, err)) != 0)
            return (ret);
    }
    if ((ret = get_field(&hdr, "created", BSON_TYPE_DATE_TIME, &it, name, err)) != 0)
        return (ret);
    h->created_ms = bson_iter_date_time(&it);
    if ((ret = get_int64(&hdr, "count", &v, false, name, err)) != 0)
        return (ret);
    h->count = (uint64_t)v;
    h->last_term = -1;
    if (h->kind == WTKMS_SEG_ENTRIES) {
        if ((ret = get_ts(&hdr, "first_ts", &h->first_ts, name, err)) != 0 ||
            (ret = get_ts(&hdr, "last_ts", &h->last_ts, name, err)) != 0 ||
            (ret = get_int64(&hdr, "last_t", &h->last_term, true, name, err)) != 0)
            return (ret);
        if (h->count == 0 || h->first_ts > h->last_ts)
            return (wtkms_errf(
              err, EILSEQ, "%s: the segment header's entry count and timestamps disagree", name));
    } else {
        if ((ret = get_ts(&hdr, "gap_from", &h->gap_from, name, err)) != 0 ||
            (ret = get_ts(&hdr, "gap_to", &h->gap_to, name, err)) != 0)
            return (ret);
        if (h->count != 0 || h->gap_from >= h->gap_to)
            return (wtkms_errf(err, EILSEQ, "%s: the gap segment's range is impossible", name));
    }
    if (h->format >= 3) {
        if ((ret = get_str(&hdr, "compression", cipher, sizeof(cipher), name, err)) != 0)
            return (ret);
        if (strcmp(cipher, "zstd") == 0)
            h->compressed = true;
        else if (strcmp(cipher, "none") != 0)
            return (
              wtkms_errf(err, EILSEQ, "%s: unknown segment compression \"%s\"", name, cipher));
    }
    if ((ret = get_int64(&hdr, "plain_len", &v, false, name, err)) != 0)
        return (ret);
    h->plain_len = (uint64_t)v;
    if ((ret = get_int64(&hdr, "body_len", &v, false, name, err)) != 0)
        return (ret);
    h->body_len = (uint64_t)v;
    /* plain_len bounds the decompressed entries: the same limit as an uncompressed body's. */
    if (h->body_len > WTKMS_SEG_MAX_BODY || h->plain_len > WTKMS_SEG_MAX_BODY ||
        (!h->compressed && h->plain_len != h->body_len) ||
        (h->compressed && (h->body_len == 0 || h->body_len >= h->plain_len)) ||
        (h->kind == WTKMS_SEG_GAP && (h->body_len != 0 || h->compressed)))
        return (
          wtkms_errf(err, EILSEQ, "%s: the segment header's body length is impossible", name));
    if ((ret = get_binary(&hdr, "prev", h->prev, WTKMS_SHA256_LEN, 0, NULL, name, err)) != 0)
        return (ret);
    if ((ret = get_str(&hdr, "cipher", cipher, sizeof(cipher), name, err)) != 0)
        return (ret);
    if (strcmp(cipher, "aes-256-gcm") == 0) {
        h->encrypted = true;
        if ((ret = get_binary(&hdr, "nonce", h->nonce, WTKMS_GCM_NONCE_LEN, 0, NULL, name, err)) !=
            0)
            return (ret);
        if ((ret = get_field(&hdr, "cmk", BSON_TYPE_DOCUMENT, &it, name, err)) != 0)
            return (ret);
        bson_iter_document(&it, &dlen, &data);
        if (!bson_init_static(&cmk, data, dlen))
            return (wtkms_errf(err, EILSEQ, "%s: the segment header's \"cmk\" is damaged", name));
        if ((ret = get_str(
               &cmk, "provider", h->cmk.provider, sizeof(h->cmk.provider), name, err)) != 0 ||
            (ret = get_str(&cmk, "key_id", h->cmk.key_id, sizeof(h->cmk.key_id), name, err)) != 0 ||
            (ret = get_str(&cmk, "key_version", h->cmk.key_version, sizeof(h->cmk.key_version),
               name, err)) != 0 ||
            (ret = get_str(
               &cmk, "endpoint", h->cmk.endpoint, sizeof(h->cmk.endpoint), name, err)) != 0 ||
            (ret = get_str(&cmk, "region", h->cmk.region, sizeof(h->cmk.region), name, err)) != 0)
            return (ret);
        if ((ret = get_binary(&hdr, "wrapped_run_key", h->wrapped, 0, sizeof(h->wrapped),
               &h->wrapped_len, name, err)) != 0)
            return (ret);
    } else if (strcmp(cipher, "none") == 0) {
        if ((ret = get_binary(
               &hdr, "body_sha256", h->body_sha256, WTKMS_SHA256_LEN, 0, NULL, name, err)) != 0)
            return (ret);
    } else
        return (wtkms_errf(err, EILSEQ, "%s: unknown segment cipher \"%s\"", name, cipher));
    return (0);
}

/*
 * decompress --
 *     An authenticated compressed body into exactly plain_len bytes.
 */
static int
decompress(
  const wtkms_seg_header *h, const uint8_t *body, const char *name, uint8_t *plain, wtkms_err *err)
{
    wtkms_zd *zd;
    char why[256];
    int ret;

    if ((ret = wtkms_zd_new(&zd)) != 0)
        return (wtkms_errf(err, ret, "cannot set up zstd"));
    ret = wtkms_zd_decompress(
      zd, body, (size_t)h->body_len, plain, (size_t)h->plain_len, why, sizeof(why));
    wtkms_zd_free(zd);
    if (ret != 0) {
        wtkms_wipe(plain, (size_t)h->plain_len);
        return (
          wtkms_errf(err, EBADMSG, "%s (segment %" PRIu64 ") is damaged: %s", name, h->seq, why));
    }
    return (0);
}

/*
 * wtkms_seg_open --
 *     Length, then authenticity, then plaintext.
 */
int
wtkms_seg_open(const wtkms_seg_header *h, const uint8_t *file, size_t len, wtkms_gcm *gcm,
  const wtkms_key *run_key, const char *name, uint8_t *plain, wtkms_err *err)
{
    wtkms_key seg_key;
    uint8_t digest[WTKMS_SHA256_LEN], *body;
    uint64_t want;
    int ret;

    want = wtkms_seg_file_len(h);
    if (len < want)
        return (wtkms_errf(err, EILSEQ,
          "%s is truncated: %zu bytes, its header says %" PRIu64 " (segment %" PRIu64 ")", name,
          len, want, h->seq));
    if (len > want)
        return (wtkms_errf(err, EILSEQ,
          "%s has %" PRIu64 " bytes more than its header says (segment %" PRIu64
          "): something was appended",
          name, (uint64_t)len - want, h->seq));
    if (!h->encrypted) {
        /* Check the digest of the bytes in the file, then copy: nothing unchecked is returned. */
        if (wtkms_sha256(file + h->header_len, h->body_len, digest) != 0 ||
            wtkms_ct_memcmp(digest, h->body_sha256, WTKMS_SHA256_LEN) != 0)
            return (wtkms_errf(err, EBADMSG,
              "%s (segment %" PRIu64 ") was altered: its entries do not match the digest in its "
              "header",
              name, h->seq));
        if (h->compressed)
            return (decompress(h, file + h->header_len, name, plain, err));
        if (h->body_len > 0)
            memcpy(plain, file + h->header_len, h->body_len);
        return (0);
    }
    if (run_key == NULL)
        return (wtkms_errf(err, EINVAL, "%s is encrypted but no key was given", name));
    if ((ret = wtkms_seg_derive_key(run_key, h->run, h->seq, &seg_key)) != 0 ||
        (ret = wtkms_gcm_setkey(gcm, seg_key.b)) != 0) {
        wtkms_wipe(&seg_key, sizeof(seg_key));
        return (
          wtkms_errf(err, ret ? ret : EIO, "cannot derive the key of segment %" PRIu64, h->seq));
    }
    wtkms_wipe(&seg_key, sizeof(seg_key));
    /* A compressed body is decrypted beside plain, then decompressed into it once authentic. */
    body = plain;
    if (h->compressed && (body = malloc((size_t)h->body_len)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory for segment %" PRIu64, h->seq));
    if (wtkms_gcm_open(gcm, h->nonce, file, h->header_len, file + h->header_len, h->body_len, body,
          file + h->header_len + h->body_len) != 0)
        ret = wtkms_errf(err, EBADMSG,
          "%s (segment %" PRIu64 ") was altered or damaged: its header or entries fail "
          "authentication",
          name, h->seq);
    else if (h->compressed)
        ret = decompress(h, body, name, plain, err);
    if (body != plain) {
        wtkms_wipe(body, (size_t)h->body_len);
        free(body);
    }
    return (ret);
}

/*
 * wtkms_seg_next_entry --
 *     Step over one BSON document, checking its framing.
 */
int
wtkms_seg_next_entry(
  const uint8_t *body, size_t len, size_t *offp, const uint8_t **docp, size_t *doc_lenp)
{
    size_t off = *offp;
    uint32_t dlen;

    if (off == len)
        return (1);
    if (len - off < 5)
        return (EILSEQ);
    dlen = wtkms_get_le32(body + off); /* a BSON document's own length */
    if (dlen < 5 || dlen > len - off || body[off + dlen - 1] != 0)
        return (EILSEQ);
    *docp = body + off;
    *doc_lenp = dlen;
    *offp = off + dlen;
    return (0);
}

/*
 * wtkms_seg_key_id --
 *     The Encryption Key ID as listings show it.
 */
void
wtkms_seg_key_id(const wtkms_seg_header *h, char *out, size_t outlen)
{
    if (!h->encrypted)
        (void)snprintf(out, outlen, "Not enabled");
    else
        wtkms_kms_desc_name(&h->cmk, out, outlen);
}
