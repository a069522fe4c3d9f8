/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store.c -- an oplog store of either kind (oplog_store_impl.h), and its head file's
 * encoding and MAC, which both kinds share.
 */
#include "oplog_store.h"

#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplog_segment.h"
#include "oplog_store_impl.h"

/*
 * wtkms_oplog_store_open --
 *     A directory, or s3://BUCKET[/PREFIX] (its s3_* settings from cfg, which may be NULL).
 */
int
wtkms_oplog_store_open(
  const char *location, wtkms_config *cfg, bool create, wtkms_oplog_store **storep, wtkms_err *err)
{
    *storep = NULL;
    if (location == NULL || location[0] == '\0')
        return (
          wtkms_errf(err, EINVAL, "an oplog store is needed: --store DIR or s3://BUCKET/PREFIX"));
    if (strncmp(location, "s3://", 5) == 0)
        return (wtkms_oplog_store_s3_open(location, cfg, create, storep, err));
    if (strncmp(location, "file://", 7) == 0)
        location += 7;
    if (strstr(location, "://") != NULL)
        return (wtkms_errf(err, EINVAL,
          "oplog store %s: only a directory path or s3://BUCKET/PREFIX is supported", location));
    return (wtkms_oplog_store_local_open(location, create, storep, err));
}

/*
 * wtkms_oplog_store_close --
 *     Release the lock and free.
 */
void
wtkms_oplog_store_close(wtkms_oplog_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

/*
 * wtkms_oplog_store_where --
 *     The store's location.
 */
const char *
wtkms_oplog_store_where(const wtkms_oplog_store *s)
{
    return (s->where);
}

/*
 * wtkms_oplog_store_path --
 *     STORE/oplog-N.seg.
 */
void
wtkms_oplog_store_path(const wtkms_oplog_store *s, uint64_t seq, char *out, size_t outlen)
{
    char name[WTKMS_SEG_NAME_LEN];

    wtkms_seg_name(seq, name, sizeof(name));
    (void)snprintf(out, outlen, "%s/%s", s->where, name);
}

/*
 * cmp_u64 --
 *     qsort order.
 */
static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x < y ? -1 : x > y);
}

/*
 * wtkms_oplog_store_list --
 *     The segments present, ascending.
 */
int
wtkms_oplog_store_list(wtkms_oplog_store *s, uint64_t **seqsp, size_t *np, wtkms_err *err)
{
    int ret;

    if ((ret = s->ops->list(s, seqsp, np, err)) == 0 && *np > 1)
        qsort(*seqsp, *np, sizeof(**seqsp), cmp_u64);
    return (ret);
}

/*
 * wtkms_oplog_store_read --
 *     A segment, whole or its header.
 */
int
wtkms_oplog_store_read(wtkms_oplog_store *s, uint64_t seq, bool header_only, uint8_t **bufp,
  size_t *lenp, uint64_t *file_lenp, wtkms_err *err)
{
    return (s->ops->read(s, seq, header_only, bufp, lenp, file_lenp, err));
}

/*
 * wtkms_oplog_store_read_buf --
 *     A whole segment into a reusable buffer.
 */
int
wtkms_oplog_store_read_buf(wtkms_oplog_store *s, uint64_t seq, wtkms_buf *b, wtkms_err *err)
{
    return (s->ops->read_buf(s, seq, b, err));
}

/*
 * wtkms_oplog_store_write --
 *     Atomic, durable, exclusive.
 */
int
wtkms_oplog_store_write(
  wtkms_oplog_store *s, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err)
{
    return (s->ops->write(s, seq, data, len, err));
}

/*
 * wtkms_oplog_store_lock --
 *     The one writer's claim on the store.
 */
int
wtkms_oplog_store_lock(wtkms_oplog_store *s, wtkms_err *err)
{
    return (s->ops->lock(s, err));
}

/*
 * wtkms_oplog_head_mac --
 *     HMAC over the head's fields under a key derived from the run key.
 */
int
wtkms_oplog_head_mac(
  const wtkms_key *run_key, const wtkms_oplog_head *head, uint8_t out[WTKMS_SHA256_LEN])
{
    static const char info[] = "wtkms oplog head v2";
    uint8_t key[WTKMS_KEY_LEN], msg[sizeof(info) - 1 + 8 + WTKMS_SHA256_LEN + 16 + 16], *p;
    int i, ret;

    if ((ret = wtkms_hkdf(run_key->b, WTKMS_KEY_LEN, head->run, sizeof(head->run),
           (const uint8_t *)info, sizeof(info) - 1, key, sizeof(key))) != 0)
        return (ret);
    p = msg;
    memcpy(p, info, sizeof(info) - 1);
    p += sizeof(info) - 1;
    for (i = 0; i < 8; i++)
        *p++ = (uint8_t)(head->seq >> (56 - 8 * i));
    memcpy(p, head->digest, WTKMS_SHA256_LEN);
    p += WTKMS_SHA256_LEN;
    memcpy(p, head->store, sizeof(head->store));
    p += sizeof(head->store);
    memcpy(p, head->run, sizeof(head->run));
    ret = wtkms_hmac_sha256(key, sizeof(key), msg, sizeof(msg), out);
    wtkms_wipe(key, sizeof(key));
    return (ret);
}

/*
 * get_bin --
 *     A binary field (generic subtype, as written) of an exact length.
 */
static bool
get_bin(const bson_t *doc, const char *key, uint8_t *out, uint32_t len)
{
    bson_iter_t it;
    bson_subtype_t st;
    const uint8_t *data;
    uint32_t dlen;

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_BINARY(&it))
        return (false);
    bson_iter_binary(&it, &st, &dlen, &data);
    if (st != BSON_SUBTYPE_BINARY || dlen != len)
        return (false);
    memcpy(out, data, len);
    return (true);
}

/*
 * wtkms_oplog_store_read_head --
 *     The head file: format 1 { format, seq, digest }, format 2 adds store, run and mac.
 */
int
wtkms_oplog_store_read_head(wtkms_oplog_store *s, wtkms_oplog_head *head, wtkms_err *err)
{
    bson_t doc;
    bson_iter_t it;
    char path[4200], *buf;
    size_t len;
    bool ok;
    int ret;

    memset(head, 0, sizeof(*head));
    (void)snprintf(path, sizeof(path), "%s/%s", s->where, WTKMS_OPLOG_HEAD_NAME);
    if ((ret = s->ops->read_head(s, &buf, &len, err)) != 0)
        return (ret);
    ok = bson_init_static(&doc, (const uint8_t *)buf, len) &&
         bson_validate(&doc, BSON_VALIDATE_NONE, NULL);
    if (ok && bson_iter_init_find(&it, &doc, "format") && BSON_ITER_HOLDS_INT32(&it))
        head->format = bson_iter_int32(&it);
    if (ok && head->format != 1 && head->format != WTKMS_OPLOG_HEAD_FORMAT) {
        free(buf);
        return (wtkms_errf(err, EILSEQ,
          "%s has head format %d, not one this wtkms reads (1, %d): use a newer wtkms, or the file "
          "is damaged",
          path, head->format, WTKMS_OPLOG_HEAD_FORMAT));
    }
    ok = ok && bson_iter_init_find(&it, &doc, "seq") && BSON_ITER_HOLDS_INT64(&it) &&
         bson_iter_int64(&it) > 0;
    if (ok)
        head->seq = (uint64_t)bson_iter_int64(&it);
    ok = ok && get_bin(&doc, "digest", head->digest, WTKMS_SHA256_LEN);
    if (ok && head->format == 2) {
        ok = get_bin(&doc, "store", head->store, sizeof(head->store)) &&
             get_bin(&doc, "run", head->run, sizeof(head->run));
        if (ok && bson_iter_init_find(&it, &doc, "mac")) {
            head->has_mac = true;
            ok = get_bin(&doc, "mac", head->mac, WTKMS_SHA256_LEN);
        }
    }
    free(buf);
    if (!ok)
        return (wtkms_errf(
          err, EILSEQ, "%s is damaged: it does not name a segment and its digest", path));
    return (0);
}

/*
 * wtkms_oplog_store_write_head --
 *     Replace the head file atomically (format 2).
 */
int
wtkms_oplog_store_write_head(wtkms_oplog_store *s, const wtkms_oplog_head *head, wtkms_err *err)
{
    bson_t doc;
    int ret;

    bson_init(&doc);
    BSON_APPEND_INT32(&doc, "format", WTKMS_OPLOG_HEAD_FORMAT);
    BSON_APPEND_INT64(&doc, "seq", (int64_t)head->seq);
    BSON_APPEND_BINARY(&doc, "digest", BSON_SUBTYPE_BINARY, head->digest, WTKMS_SHA256_LEN);
    BSON_APPEND_BINARY(&doc, "store", BSON_SUBTYPE_BINARY, head->store, sizeof(head->store));
    BSON_APPEND_BINARY(&doc, "run", BSON_SUBTYPE_BINARY, head->run, sizeof(head->run));
    if (head->has_mac)
        BSON_APPEND_BINARY(&doc, "mac", BSON_SUBTYPE_BINARY, head->mac, WTKMS_SHA256_LEN);
    ret = s->ops->write_head(s, bson_get_data(&doc), doc.len, err);
    bson_destroy(&doc);
    return (ret);
}

/*
 * wtkms_oplog_store_transient --
 *     An object store's outage, throttling or timeout.
 */
bool
wtkms_oplog_store_transient(const wtkms_oplog_store *s, int code)
{
    return (s->remote && (code == EHOSTUNREACH || code == ETIMEDOUT || code == ECONNREFUSED ||
                           code == ECONNRESET || code == EAGAIN));
}
