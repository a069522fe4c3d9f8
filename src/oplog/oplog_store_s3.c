/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_store_s3.c -- the oplog store in S3-compatible object storage: s3://BUCKET[/PREFIX],
 * through the S3 client the snapshot store uses (src/s3/).
 *
 *     PREFIX/oplog-000000000001.seg ...   one object per segment, the names of a directory store
 *     PREFIX/oplog.head                   the head file
 *
 * A single PUT is atomic: readers see a whole object or none. A segment is put with If-None-Match:
 * * so it never replaces another: a retry whose first attempt did land finds the same bytes there
 * (accepted), another tap's segment differs (refused: two writers would fork the chain). The head
 * is put after its segment, so a failure between the two leaves a head one segment behind, which
 * readers accept and the next segment corrects, as in a directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "oplog_segment.h"
#include "oplog_store_impl.h"
#include "s3_client.h"

/* The largest segment object: header and body bounds of oplog_segment.h, plus the tag. */
#define SEG_OBJECT_MAX ((size_t)(WTKMS_SEG_MAX_BODY + WTKMS_SEG_MAX_HEADER + 64))

typedef struct {
    wtkms_oplog_store iface; /* must come first */
    wtkms_s3 *c;
} s3_oplog_store;

static const wtkms_oplog_store_ops s3_ops;

/*
 * seg_key --
 *     PREFIX/oplog-N.seg.
 */
static void
seg_key(s3_oplog_store *s, uint64_t seq, char *out, size_t outlen)
{
    char name[WTKMS_SEG_NAME_LEN];

    wtkms_seg_name(seq, name, sizeof(name));
    (void)snprintf(out, outlen, "%s%s", s->c->prefix, name);
}

/*
 * s3_list --
 *     The segment objects under the prefix (a bounded listing: s3_list.c).
 */
static int
s3_list(wtkms_oplog_store *st, uint64_t **seqsp, size_t *np, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    wtkms_s3_entry *e;
    uint64_t *seqs, seq;
    char pfx[1100];
    size_t i, n, k, plen;
    int ret;

    *seqsp = NULL;
    *np = 0;
    (void)snprintf(pfx, sizeof(pfx), "%soplog-", s->c->prefix);
    if ((ret = wtkms_s3_list(s->c, pfx, false, &e, &n, err)) != 0)
        return (ret);
    if ((seqs = calloc(n + 1, sizeof(*seqs))) == NULL) {
        wtkms_s3_entries_free(e, n);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    plen = strlen(s->c->prefix);
    for (i = k = 0; i < n; i++)
        /* The service may answer any key: only names under the prefix are segments. */
        if (strncmp(e[i].key, s->c->prefix, plen) == 0 &&
            (seq = wtkms_seg_name_seq(e[i].key + plen)) != 0)
            seqs[k++] = seq;
    wtkms_s3_entries_free(e, n);
    if (k == 0) {
        free(seqs);
        seqs = NULL;
    }
    *seqsp = seqs;
    *np = k;
    return (0);
}

/*
 * get_segment --
 *     GET a segment object, whole (bounded by the largest segment) or its first bytes (a ranged
 *     GET of the prefix and the largest header); *file_lenp is the object's full size.
 */
static int
get_segment(s3_oplog_store *s, uint64_t seq, bool header_only, wtkms_http_resp *resp,
  uint64_t *file_lenp, wtkms_err *err)
{
    char key[1200], range[96], cr[128], *slash, *end;
    unsigned long long total;
    int ret;

    seg_key(s, seq, key, sizeof(key));
    if (!header_only) {
        if ((ret = wtkms_s3_get(s->c, key, SEG_OBJECT_MAX, resp, err)) != 0)
            return (ret);
        *file_lenp = resp->body_len;
        return (0);
    }
    (void)snprintf(
      range, sizeof(range), "Range: bytes=0-%d", WTKMS_SEG_PREFIX_LEN + WTKMS_SEG_MAX_HEADER - 1);
    if ((ret = wtkms_s3_call(s->c, "reading", "GET", key, "", NULL, 0, range,
           WTKMS_SEG_PREFIX_LEN + WTKMS_SEG_MAX_HEADER + 4096, resp, err)) != 0)
        return (ret);
    if (resp->status == 200) {
        *file_lenp = resp->body_len;
        return (0);
    }
    /* 206: "Content-Range: bytes 0-N/TOTAL", and no more bytes than TOTAL. */
    if (resp->status == 206 && wtkms_http_resp_header(resp, "Content-Range", cr, sizeof(cr)) == 0 &&
        (slash = strchr(cr, '/')) != NULL && slash[1] >= '0' && slash[1] <= '9') {
        errno = 0;
        total = strtoull(slash + 1, &end, 10);
        if (errno == 0 && *end == '\0' && resp->body_len <= total) {
            *file_lenp = total;
            return (0);
        }
    }
    /* 416: an empty object has no first byte. */
    if (resp->status == 416) {
        wtkms_http_resp_free(resp);
        resp->body = NULL;
        resp->body_len = 0;
        *file_lenp = 0;
        return (0);
    }
    ret = resp->status == 206
            ? wtkms_errf(err, EPROTO,
                "%s %s: reading %s: a ranged answer whose Content-Range is missing or does not "
                "match its body: check s3_endpoint",
                s->c->noun, s->c->url, key)
            : wtkms_s3_error(s->c, "reading", key, resp, err);
    wtkms_http_resp_free(resp);
    return (ret);
}

/*
 * s3_read --
 *     A segment object, whole or its header.
 */
static int
s3_read(wtkms_oplog_store *st, uint64_t seq, bool header_only, uint8_t **bufp, size_t *lenp,
  uint64_t *file_lenp, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    wtkms_http_resp resp;
    uint32_t hlen;
    size_t want;
    int ret;

    *bufp = NULL;
    *lenp = 0;
    if ((ret = get_segment(s, seq, header_only, &resp, file_lenp, err)) != 0)
        return (ret);
    want = resp.body_len;
    if (header_only && want > WTKMS_SEG_PREFIX_LEN) {
        hlen = wtkms_get_le32((const uint8_t *)resp.body + WTKMS_SEG_HLEN_LOCATION);
        if (hlen <= WTKMS_SEG_MAX_HEADER && (size_t)hlen + WTKMS_SEG_PREFIX_LEN < want)
            want = (size_t)hlen + WTKMS_SEG_PREFIX_LEN;
    }
    if ((*bufp = malloc(want + 1)) == NULL) {
        wtkms_http_resp_free(&resp);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    if (want > 0)
        memcpy(*bufp, resp.body, want);
    *lenp = want;
    wtkms_http_resp_free(&resp);
    return (0);
}

/*
 * s3_read_buf --
 *     A whole segment object into a reusable buffer.
 */
static int
s3_read_buf(wtkms_oplog_store *st, uint64_t seq, wtkms_buf *b, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    wtkms_http_resp resp;
    uint64_t flen;
    int ret;

    b->len = 0;
    if ((ret = get_segment(s, seq, false, &resp, &flen, err)) != 0)
        return (ret);
    if ((ret = wtkms_buf_reserve(b, resp.body_len + 1)) != 0)
        ret = wtkms_errf(err, ret, "out of memory");
    else {
        memcpy(b->p, resp.body, resp.body_len);
        b->len = resp.body_len;
    }
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * s3_write --
 *     A conditional PUT; a segment already there is ours only when it is byte for byte the same.
 */
static int
s3_write(wtkms_oplog_store *st, uint64_t seq, const uint8_t *data, size_t len, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    wtkms_http_resp resp;
    char key[1200];
    bool existed, same;
    int ret;

    seg_key(s, seq, key, sizeof(key));
    if ((ret = wtkms_s3_put_new(s->c, key, data, len, &existed, err)) != 0 || !existed)
        return (ret);
    /* One byte more than ours: a longer object is not ours either. */
    if ((ret = wtkms_s3_get(s->c, key, len + 1, &resp, err)) != 0 && ret != EMSGSIZE)
        return (ret);
    same = ret == 0 && resp.body_len == len && memcmp(resp.body, data, len) == 0;
    if (ret == 0)
        wtkms_http_resp_free(&resp);
    if (!same)
        return (wtkms_errf(err, EEXIST,
          "oplog store %s already holds a different segment %" PRIu64
          " (%s): another tap writes this store, and two would fork its chain; stop the other tap "
          "or use another store",
          st->where, seq, key));
    return (0);
}

/*
 * s3_read_head --
 *     The head object's bytes.
 */
static int
s3_read_head(wtkms_oplog_store *st, char **bufp, size_t *lenp, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    wtkms_http_resp resp;
    char key[1200];
    int ret;

    *bufp = NULL;
    *lenp = 0;
    (void)snprintf(key, sizeof(key), "%s%s", s->c->prefix, WTKMS_OPLOG_HEAD_NAME);
    if ((ret = wtkms_s3_get(s->c, key, WTKMS_OPLOG_HEAD_MAX, &resp, err)) != 0)
        return (ret);
    if ((*bufp = malloc(resp.body_len + 1)) == NULL) {
        wtkms_http_resp_free(&resp);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    memcpy(*bufp, resp.body, resp.body_len);
    (*bufp)[resp.body_len] = '\0';
    *lenp = resp.body_len;
    wtkms_http_resp_free(&resp);
    return (0);
}

/*
 * s3_write_head --
 *     One PUT replaces the head object whole.
 */
static int
s3_write_head(wtkms_oplog_store *st, const uint8_t *data, size_t len, wtkms_err *err)
{
    s3_oplog_store *s = (s3_oplog_store *)st;
    char key[1200];

    (void)snprintf(key, sizeof(key), "%s%s", s->c->prefix, WTKMS_OPLOG_HEAD_NAME);
    return (wtkms_s3_put(s->c, key, data, len, err));
}

/*
 * s3_lock --
 *     No lock object: the conditional segment PUT stops a second writer (s3_write).
 */
static int
s3_lock(wtkms_oplog_store *st, wtkms_err *err)
{
    (void)st;
    (void)err;
    return (0);
}

/*
 * s3_close --
 *     Free the store (credentials are wiped).
 */
static void
s3_close(wtkms_oplog_store *st)
{
    s3_oplog_store *s = (s3_oplog_store *)st;

    wtkms_s3_free(s->c);
    free(s);
}

/*
 * wtkms_oplog_store_s3_open --
 *     Parse the URL and settings; check the bucket can be listed.
 */
int
wtkms_oplog_store_s3_open(
  const char *url, wtkms_config *cfg, bool create, wtkms_oplog_store **storep, wtkms_err *err)
{
    s3_oplog_store *s;
    size_t n;
    int ret;

    (void)create; /* a prefix needs no creating; the bucket must exist */
    *storep = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    s->iface.ops = &s3_ops;
    s->iface.remote = true;
    (void)snprintf(s->iface.where, sizeof(s->iface.where), "%s", url);
    while ((n = strlen(s->iface.where)) > 5 && s->iface.where[n - 1] == '/')
        s->iface.where[n - 1] = '\0';
    if ((ret = wtkms_s3_open(url, cfg, "oplog store", &s->c, err)) != 0 ||
        (ret = wtkms_s3_check_bucket(s->c, err)) != 0) {
        s3_close(&s->iface);
        return (ret);
    }
    *storep = &s->iface;
    return (0);
}

static const wtkms_oplog_store_ops s3_ops = {
    .list = s3_list,
    .read = s3_read,
    .read_buf = s3_read_buf,
    .write = s3_write,
    .read_head = s3_read_head,
    .write_head = s3_write_head,
    .lock = s3_lock,
    .close = s3_close,
};
