/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_s3.c -- a snapshot store in S3-compatible object storage: s3://BUCKET[/PREFIX].
 *
 * Every request goes through the shared HTTPS transport (http.c, libcurl) signed with SigV4 by
 * libcurl; curl 7.88 does not add x-amz-content-sha256, which S3 requires, so each request
 * carries it (the hex SHA-256 of the body) and curl signs it. Credentials come from the AWS
 * chain (aws_creds.c: s3_credentials_file/s3_profile, the environment, the shared files, web
 * identity, container and instance credentials), never from a setting's value.
 *
 * Objects larger than one part (s3_part_size, default 8 MiB) are written with a multipart
 * upload, one part in memory at a time; reads are ranged GETs of one part. The manifest is
 * written last, so a snapshot without one is incomplete and invisible. Query strings are built
 * already in SigV4 canonical form (sorted, encoded, "k=" for empty values): curl 7.88 signs the
 * query as given.
 *
 * Settings (flags --s3-...): s3_endpoint (default https://s3.REGION.amazonaws.com), s3_region
 * (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1), s3_addressing=path|virtual (default path
 * with an endpoint, virtual without), s3_credentials_file, s3_profile, s3_role_arn,
 * s3_external_id, s3_sts_endpoint, s3_ca_file, s3_proxy, s3_part_size (MiB, 5..64: one part is
 * held in memory, and one ranged read).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_creds.h"
#include "crypto.h"
#include "http.h"
#include "keystore.h"
#include "store.h"

#define S3_PART_DEFAULT (8 * 1024 * 1024)
#define S3_LIST_MAX (4 * 1024 * 1024) /* one ListObjectsV2 page */
/*
 * A listing is bounded whatever the service answers (docs/FORMATS.md, "Limits"): an endpoint that
 * keeps saying IsTruncated=true, or returns the same continuation token, stops it with an error.
 */
#define S3_LIST_MAX_PAGES 10000
#define S3_LIST_MAX_ENTRIES (2 * 1000 * 1000)
#define S3_LIST_MAX_KEY_BYTES (256 * 1024 * 1024)

typedef struct {
    wtkms_store iface; /* must come first */
    char bucket[256];
    char prefix[1024]; /* "" or "a/b/" (with the trailing slash) */
    char endpoint[512];
    char region[64];
    bool path_style;
    size_t part_size;
    char credentials_file[1024], profile[128], role_arn[512], external_id[256];
    char sts_endpoint[512];
    wtkms_http_opts http;
    pthread_mutex_t lock; /* guards creds */
    wtkms_aws_creds *creds;
} s3_store;

struct wtkms_store_writer {
    s3_store *s;
    char key[1200];
    uint8_t *buf;
    size_t len;
    char upload_id[1024];
    char (*etags)[128];
    size_t nparts, cap;
};

struct wtkms_store_reader {
    s3_store *s;
    char key[1200];
    int64_t off, total; /* total -1 until the first answer says */
    wtkms_http_resp resp;
    size_t pos;
};

/*
 * xml_value --
 *     The text of the first <tag>...</tag> at or after *from (advanced past it), or NULL. S3's
 *     answers are flat enough for this; values are XML-unescaped for the entities S3 uses.
 */
static char *
xml_value(const char *body, const char **from, const char *tag, char *out, size_t outlen)
{
    char open[64], close[64];
    const char *p, *q;
    size_t n, i, o;

    (void)snprintf(open, sizeof(open), "<%s>", tag);
    (void)snprintf(close, sizeof(close), "</%s>", tag);
    if ((p = strstr(from != NULL ? *from : body, open)) == NULL)
        return (NULL);
    p += strlen(open);
    if ((q = strstr(p, close)) == NULL)
        return (NULL);
    n = (size_t)(q - p);
    for (i = o = 0; i < n && o + 1 < outlen; i++) {
        if (p[i] == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
                { "&apos;", '\'' } };
            size_t e;
            for (e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
                if (strncmp(p + i, ents[e].ent, strlen(ents[e].ent)) == 0) {
                    out[o++] = ents[e].c;
                    i += strlen(ents[e].ent) - 1;
                    break;
                }
            if (e < sizeof(ents) / sizeof(ents[0]))
                continue;
        }
        out[o++] = p[i];
    }
    out[o] = '\0';
    if (from != NULL)
        *from = q + strlen(close);
    return (out);
}

/*
 * s3_error --
 *     An S3 error answer in words: the code from its XML body, then what to do.
 */
static int
s3_error(
  s3_store *s, const char *what, const char *key, const wtkms_http_resp *resp, wtkms_err *err)
{
    char code[128], msg[256];
    int ecode;

    code[0] = msg[0] = '\0';
    if (resp->body != NULL) {
        (void)xml_value(resp->body, NULL, "Code", code, sizeof(code));
        (void)xml_value(resp->body, NULL, "Message", msg, sizeof(msg));
    }
    if (strcmp(code, "NoSuchBucket") == 0)
        return (wtkms_errf(err, ENOENT,
          "snapshot store %s: bucket %s does not exist at %s: create it, or check s3_endpoint and "
          "s3_region",
          s->iface.url, s->bucket, s->endpoint));
    if (resp->status == 403 || strcmp(code, "AccessDenied") == 0 ||
        strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0)
        return (wtkms_errf(err, EACCES,
          "snapshot store %s: %s %s was refused (%s%s%s) with the credentials from %s: check them, "
          "and that the policy allows s3:GetObject, s3:PutObject, s3:ListBucket and "
          "s3:DeleteObject on the bucket",
          s->iface.url, what, key, code[0] ? code : "HTTP 403", msg[0] ? ": " : "", msg,
          s->creds->source));
    ecode = resp->status == 404 ? ENOENT : resp->status >= 500 ? EHOSTUNREACH : EIO;
    return (wtkms_errf(err, ecode, "snapshot store %s: %s %s failed with HTTP %ld%s%s%s%s",
      s->iface.url, what, key, resp->status, code[0] ? " " : "", code, msg[0] ? ": " : "", msg));
}

/*
 * s3_creds --
 *     Credentials good for the next call (resolved once, refreshed before they expire).
 */
static int
s3_creds(s3_store *s, wtkms_err *err)
{
    wtkms_aws_cred_cfg cc;
    int ret;

    (void)pthread_mutex_lock(&s->lock);
    ret = 0;
    if (!wtkms_aws_creds_fresh(s->creds)) {
        memset(&cc, 0, sizeof(cc));
        cc.region = s->region;
        cc.credentials_file = s->credentials_file;
        cc.profile = s->profile;
        cc.role_arn = s->role_arn;
        cc.external_id = s->external_id;
        cc.sts_endpoint = s->sts_endpoint;
        cc.http = &s->http;
        if ((ret = wtkms_aws_creds_resolve(&cc, s->creds, err)) != 0)
            wtkms_err_prefix(err, "snapshot store %s", s->iface.url);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return (ret);
}

/*
 * s3_call --
 *     One signed request. key is the object key ("" for the bucket); query is canonical.
 */
static int
s3_call(s3_store *s, const char *what, const char *method, const char *key, const char *query,
  const void *body, size_t len, const char *extra, size_t max_body, wtkms_http_resp *resp,
  wtkms_err *err)
{
    wtkms_http_req req;
    uint8_t sum[WTKMS_SHA256_LEN];
    char url[4096], sha_hdr[128], hex[2 * WTKMS_SHA256_LEN + 1], sigv4[128];
    const char *headers[4];
    int n, ret, h;

    memset(resp, 0, sizeof(*resp));
    if ((ret = s3_creds(s, err)) != 0)
        return (ret);
    if (s->path_style)
        n = snprintf(url, sizeof(url), "%s/%s/%s%s%s", s->endpoint, s->bucket, key,
          query[0] ? "?" : "", query);
    else
        n = snprintf(url, sizeof(url), "https://%s.s3.%s.amazonaws.com/%s%s%s", s->bucket,
          s->region, key, query[0] ? "?" : "", query);
    if (n < 0 || (size_t)n >= sizeof(url))
        return (wtkms_errf(err, ENAMETOOLONG, "snapshot store %s: URL too long", s->iface.url));
    if ((ret = wtkms_sha256(body != NULL ? body : "", len, sum)) != 0)
        return (wtkms_errf(err, ret, "SHA-256 failed"));
    wtkms_hex(sum, sizeof(sum), hex);
    (void)snprintf(sha_hdr, sizeof(sha_hdr), "x-amz-content-sha256: %s", hex);
    (void)snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", s->region);
    h = 0;
    headers[h++] = sha_hdr;
    if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
        headers[h++] = "Content-Type: application/octet-stream";
    if (extra != NULL)
        headers[h++] = extra;
    headers[h] = NULL;
    memset(&req, 0, sizeof(req));
    req.what = what;
    req.setting = "s3_endpoint=";
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.sigv4 = sigv4;
    (void)pthread_mutex_lock(&s->lock);
    req.access_key = s->creds->access_key;
    req.secret_key = s->creds->secret;
    req.session_token = s->creds->token[0] != '\0' ? s->creds->token : NULL;
    req.max_body = max_body;
    ret = wtkms_http_request(&s->http, &req, resp, err);
    (void)pthread_mutex_unlock(&s->lock);
    if (ret != 0)
        return (wtkms_err_prefix(err, "snapshot store %s", s->iface.url));
    return (0);
}

/*
 * object_key --
 *     PREFIX/snapshots/ID[/NAME].
 */
static int
object_key(s3_store *s, const char *id, const char *name, char *out, size_t outlen, wtkms_err *err)
{
    int n;

    n = snprintf(out, outlen, "%ssnapshots/%s%s%s", s->prefix, id, name != NULL ? "/" : "",
      name != NULL ? name : "");
    if (n < 0 || (size_t)n >= outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "snapshot store %s: key too long", s->iface.url));
    return (0);
}

/*
 * escape --
 *     URI-encode a query value (SigV4 rules: everything but unreserved characters).
 */
static int
escape(const char *in, char *out, size_t outlen)
{
    char *e;
    int ret;

    if ((e = curl_easy_escape(NULL, in, 0)) == NULL)
        return (ENOMEM);
    ret = snprintf(out, outlen, "%s", e) >= (int)outlen ? ENAMETOOLONG : 0;
    curl_free(e);
    return (ret);
}

/*
 * s3_begin --
 *     Check the bucket is there before copying anything.
 */
static int
s3_begin(wtkms_store *st, const char *id, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_http_resp resp;
    char q[1400], pfx[1200];
    int ret;

    (void)id;
    if ((ret = escape(s->prefix, pfx, sizeof(pfx))) != 0)
        return (wtkms_errf(err, ret, "snapshot store %s: prefix too long", st->url));
    (void)snprintf(q, sizeof(q), "list-type=2&max-keys=1&prefix=%s", pfx);
    if ((ret = s3_call(s, "list", "GET", "", q, NULL, 0, NULL, S3_LIST_MAX, &resp, err)) != 0)
        return (ret);
    if (resp.status != 200)
        ret = s3_error(s, "listing bucket", s->bucket, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * s3_put_open --
 *     Start an object (nothing is sent until a part is full or the object is closed).
 */
static int
s3_put_open(
  wtkms_store *st, const char *id, const char *name, wtkms_store_writer **wp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_store_writer *w;
    int ret;

    *wp = NULL;
    if ((w = calloc(1, sizeof(*w))) == NULL || (w->buf = malloc(s->part_size)) == NULL) {
        free(w);
        return (wtkms_errf(err, ENOMEM, "out of memory for a %zu-byte upload part", s->part_size));
    }
    w->s = s;
    if ((ret = object_key(s, id, name, w->key, sizeof(w->key), err)) != 0) {
        free(w->buf);
        free(w);
        return (ret);
    }
    *wp = w;
    return (0);
}

/*
 * upload_part --
 *     Send the buffer as the next part (starting the multipart upload first if needed).
 */
static int
upload_part(wtkms_store_writer *w, wtkms_err *err)
{
    s3_store *s = w->s;
    wtkms_http_resp resp;
    char q[1400], uid[1200], etag[128];
    void *tmp;
    int ret;

    if (w->upload_id[0] == '\0') {
        if ((ret = s3_call(s, "starting the upload of", "POST", w->key, "uploads=", NULL, 0, NULL,
               64 * 1024, &resp, err)) != 0)
            return (ret);
        if (resp.status != 200 ||
            xml_value(resp.body, NULL, "UploadId", w->upload_id, sizeof(w->upload_id)) == NULL) {
            ret = resp.status != 200
                    ? s3_error(s, "starting the upload of", w->key, &resp, err)
                    : wtkms_errf(err, EPROTO, "snapshot store %s: no UploadId in the answer for %s",
                        s->iface.url, w->key);
            w->upload_id[0] = '\0';
            wtkms_http_resp_free(&resp);
            return (ret);
        }
        wtkms_http_resp_free(&resp);
    }
    if (w->nparts == w->cap) {
        w->cap = w->cap == 0 ? 64 : w->cap * 2;
        if ((tmp = realloc(w->etags, w->cap * sizeof(*w->etags))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        w->etags = tmp;
    }
    if ((ret = escape(w->upload_id, uid, sizeof(uid))) != 0)
        return (wtkms_errf(err, ret, "upload id too long"));
    (void)snprintf(q, sizeof(q), "partNumber=%zu&uploadId=%s", w->nparts + 1, uid);
    if ((ret = s3_call(s, "uploading part of", "PUT", w->key, q, w->buf, w->len, NULL, 64 * 1024,
           &resp, err)) != 0)
        return (ret);
    if (resp.status != 200)
        ret = s3_error(s, "uploading part of", w->key, &resp, err);
    else if (wtkms_http_resp_header(&resp, "ETag", etag, sizeof(etag)) != 0)
        ret = wtkms_errf(
          err, EPROTO, "snapshot store %s: no ETag for a part of %s", s->iface.url, w->key);
    else
        (void)snprintf(w->etags[w->nparts++], sizeof(w->etags[0]), "%s", etag);
    wtkms_http_resp_free(&resp);
    w->len = 0;
    return (ret);
}

/*
 * s3_put_write --
 *     Buffer; send full parts.
 */
static int
s3_put_write(wtkms_store_writer *w, const void *buf, size_t len, wtkms_err *err)
{
    const uint8_t *p = buf;
    size_t n;
    int ret;

    while (len > 0) {
        n = w->s->part_size - w->len;
        if (n > len)
            n = len;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        p += n;
        len -= n;
        if (w->len == w->s->part_size && (ret = upload_part(w, err)) != 0)
            return (ret);
    }
    return (0);
}

/*
 * s3_put_abort --
 *     Abandon an object: abort its multipart upload, if any.
 */
static void
s3_put_abort(wtkms_store_writer *w)
{
    wtkms_http_resp resp;
    char q[1300], uid[1200];

    if (w == NULL)
        return;
    if (w->upload_id[0] != '\0' && escape(w->upload_id, uid, sizeof(uid)) == 0) {
        (void)snprintf(q, sizeof(q), "uploadId=%s", uid);
        if (s3_call(w->s, "aborting the upload of", "DELETE", w->key, q, NULL, 0, NULL, 64 * 1024,
              &resp, NULL) == 0)
            wtkms_http_resp_free(&resp);
    }
    free(w->etags);
    free(w->buf);
    free(w);
}

/*
 * s3_put_close --
 *     One PUT for a small object; the last part and CompleteMultipartUpload for a large one.
 */
static int
s3_put_close(wtkms_store_writer *w, wtkms_err *err)
{
    s3_store *s = w->s;
    wtkms_http_resp resp;
    char q[1300], uid[1200], *xml;
    size_t i, len, off;
    int ret;

    if (w->upload_id[0] == '\0') {
        if ((ret = s3_call(
               s, "writing", "PUT", w->key, "", w->buf, w->len, NULL, 64 * 1024, &resp, err)) != 0)
            goto err;
        if (resp.status != 200)
            ret = s3_error(s, "writing", w->key, &resp, err);
        wtkms_http_resp_free(&resp);
        if (ret != 0)
            goto err;
        s3_put_abort(w);
        return (0);
    }
    if (w->len > 0 && (ret = upload_part(w, err)) != 0)
        goto err;
    len = 128 + w->nparts * 200;
    if ((xml = malloc(len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    off = (size_t)snprintf(xml, len, "<CompleteMultipartUpload>");
    for (i = 0; i < w->nparts; i++)
        off += (size_t)snprintf(xml + off, len - off,
          "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, w->etags[i]);
    off += (size_t)snprintf(xml + off, len - off, "</CompleteMultipartUpload>");
    if ((ret = escape(w->upload_id, uid, sizeof(uid))) != 0) {
        free(xml);
        ret = wtkms_errf(err, ret, "upload id too long");
        goto err;
    }
    (void)snprintf(q, sizeof(q), "uploadId=%s", uid);
    ret = s3_call(
      s, "completing the upload of", "POST", w->key, q, xml, off, NULL, 64 * 1024, &resp, err);
    free(xml);
    if (ret != 0)
        goto err;
    /* S3 can answer 200 with an error document in the body. */
    if (resp.status != 200 || strstr(resp.body, "<Error>") != NULL)
        ret = s3_error(s, "completing the upload of", w->key, &resp, err);
    wtkms_http_resp_free(&resp);
    if (ret != 0)
        goto err;
    w->upload_id[0] = '\0';
    s3_put_abort(w);
    return (0);
err:
    s3_put_abort(w);
    return (ret);
}

/*
 * get_object --
 *     GET a whole small object.
 */
static int
get_object(s3_store *s, const char *key, size_t max, wtkms_http_resp *resp, wtkms_err *err)
{
    int ret;

    if ((ret = s3_call(s, "reading", "GET", key, "", NULL, 0, NULL, max, resp, err)) != 0)
        return (ret);
    if (resp->status == 200)
        return (0);
    ret = s3_error(s, "reading", key, resp, err);
    wtkms_http_resp_free(resp);
    return (ret);
}

/*
 * s3_get_manifest --
 *     The manifest object.
 */
static int
s3_get_manifest(wtkms_store *st, const char *id, uint8_t **bufp, size_t *lenp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_http_resp resp;
    char key[1200];
    int ret;

    *bufp = NULL;
    *lenp = 0;
    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) != 0)
        return (ret);
    if ((ret = get_object(s, key, WTKMS_STORE_MANIFEST_MAX, &resp, err)) != 0) {
        if (ret == ENOENT)
            return (wtkms_errf(err, ENOENT,
              "store %s holds no snapshot %s: see 'wtkms snapshot list --store %s'", st->url, id,
              st->url));
        return (ret);
    }
    if ((*bufp = malloc(resp.body_len + 1)) == NULL) {
        wtkms_http_resp_free(&resp);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    memcpy(*bufp, resp.body, resp.body_len);
    *lenp = resp.body_len;
    wtkms_http_resp_free(&resp);
    return (0);
}

/*
 * fetch_range --
 *     The next part of an object: 206 with Content-Range, 200 for the whole thing, 416 at the
 *     end.
 */
static int
fetch_range(wtkms_store_reader *r, wtkms_err *err)
{
    s3_store *s = r->s;
    char range[96], cr[128], *slash;
    int ret;

    wtkms_http_resp_free(&r->resp);
    r->pos = 0;
    if (r->total >= 0 && r->off >= r->total)
        return (0);
    (void)snprintf(range, sizeof(range), "Range: bytes=%lld-%lld", (long long)r->off,
      (long long)(r->off + (int64_t)s->part_size - 1));
    if ((ret = s3_call(s, "reading", "GET", r->key, "", NULL, 0, range, s->part_size + 4096,
           &r->resp, err)) != 0)
        return (ret);
    if (r->resp.status == 416) {
        wtkms_http_resp_free(&r->resp);
        r->total = r->off;
        return (0);
    }
    if (r->resp.status == 200) {
        r->total = (int64_t)r->resp.body_len;
        r->off = r->total;
        return (0);
    }
    if (r->resp.status != 206) {
        ret = s3_error(s, "reading", r->key, &r->resp, err);
        wtkms_http_resp_free(&r->resp);
        return (ret);
    }
    if (wtkms_http_resp_header(&r->resp, "Content-Range", cr, sizeof(cr)) == 0 &&
        (slash = strchr(cr, '/')) != NULL)
        r->total = strtoll(slash + 1, NULL, 10);
    r->off += (int64_t)r->resp.body_len;
    return (0);
}

/*
 * s3_get_open --
 *     Open an object: the first range tells whether it exists.
 */
static int
s3_get_open(
  wtkms_store *st, const char *id, const char *name, wtkms_store_reader **rp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_store_reader *r;
    int ret;

    *rp = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    r->s = s;
    r->total = -1;
    if ((ret = object_key(s, id, name, r->key, sizeof(r->key), err)) != 0 ||
        (ret = fetch_range(r, err)) != 0) {
        wtkms_http_resp_free(&r->resp);
        free(r);
        return (ret);
    }
    *rp = r;
    return (0);
}

/*
 * s3_get_read --
 *     Serve from the current range; fetch the next when it is used up.
 */
static int
s3_get_read(wtkms_store_reader *r, void *buf, size_t len, size_t *gotp, wtkms_err *err)
{
    size_t n;
    int ret;

    *gotp = 0;
    if (r->pos == r->resp.body_len) {
        if (r->total >= 0 && r->off >= r->total)
            return (0);
        if ((ret = fetch_range(r, err)) != 0)
            return (ret);
        if (r->resp.body_len == 0)
            return (0);
    }
    n = r->resp.body_len - r->pos;
    if (n > len)
        n = len;
    memcpy(buf, r->resp.body + r->pos, n);
    r->pos += n;
    *gotp = n;
    return (0);
}

/*
 * s3_get_close --
 *     Close a reader.
 */
static void
s3_get_close(wtkms_store_reader *r)
{
    if (r == NULL)
        return;
    wtkms_http_resp_free(&r->resp);
    free(r);
}

/* One listing entry. */
typedef struct {
    char *key; /* malloc'd */
    int64_t modified_ms;
} s3_entry;

/*
 * s3_entries_free --
 *     Free a listing.
 */
static void
s3_entries_free(s3_entry *e, size_t n)
{
    size_t i;

    for (i = 0; e != NULL && i < n; i++)
        free(e[i].key);
    free(e);
}

/*
 * s3_list_keys --
 *     ListObjectsV2 under prefix: with a delimiter, the common prefixes; without, the keys.
 */
static int
s3_list_keys(
  s3_store *s, const char *prefix, bool delimited, s3_entry **outp, size_t *np, wtkms_err *err)
{
    wtkms_http_resp resp;
    s3_entry *out, *tmp;
    char q[6000], pfx[2400], token[1200], prev[1200], etoken[3000], val[1200], when[64];
    const char *p, *tag;
    size_t n, cap, bytes, pages, klen;
    bool more;
    int ret;

    *outp = NULL;
    *np = 0;
    out = NULL;
    n = cap = bytes = pages = 0;
    token[0] = prev[0] = '\0';
    if ((ret = escape(prefix, pfx, sizeof(pfx))) != 0)
        return (wtkms_errf(err, ret, "snapshot store %s: prefix too long", s->iface.url));
    tag = delimited ? "Prefix" : "Key";
    do {
        if (++pages > S3_LIST_MAX_PAGES) {
            ret = wtkms_errf(err, EMSGSIZE,
              "snapshot store %s: listing %s did not end after %d pages (%zu entries): the "
              "service keeps answering IsTruncated=true; wtkms reads at most %d pages: check "
              "s3_endpoint",
              s->iface.url, prefix, S3_LIST_MAX_PAGES, n, S3_LIST_MAX_PAGES);
            goto err;
        }
        if (token[0] != '\0') {
            if ((ret = escape(token, etoken, sizeof(etoken))) != 0) {
                ret = wtkms_errf(err, ret, "continuation token too long");
                goto err;
            }
            (void)snprintf(q, sizeof(q), "continuation-token=%s&%slist-type=2&prefix=%s", etoken,
              delimited ? "delimiter=%2F&" : "", pfx);
        } else
            (void)snprintf(
              q, sizeof(q), "%slist-type=2&prefix=%s", delimited ? "delimiter=%2F&" : "", pfx);
        if ((ret = s3_call(s, "listing", "GET", "", q, NULL, 0, NULL, S3_LIST_MAX, &resp, err)) !=
            0)
            goto err;
        if (resp.status != 200) {
            ret = s3_error(s, "listing", prefix, &resp, err);
            wtkms_http_resp_free(&resp);
            goto err;
        }
        /* Entries: <CommonPrefixes><Prefix>..</Prefix> or <Contents><Key>..</Key>...</Contents>. */
        p = strstr(resp.body, delimited ? "<CommonPrefixes>" : "<Contents>");
        while (p != NULL && xml_value(resp.body, &p, tag, val, sizeof(val)) != NULL) {
            klen = strlen(val) + 1;
            if (n >= S3_LIST_MAX_ENTRIES || klen > S3_LIST_MAX_KEY_BYTES - bytes) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, EMSGSIZE,
                  "snapshot store %s: listing %s returned more than %d entries or %d MiB of "
                  "names, more than any snapshot store holds: check s3_endpoint and the bucket",
                  s->iface.url, prefix, S3_LIST_MAX_ENTRIES, S3_LIST_MAX_KEY_BYTES >> 20);
                goto err;
            }
            if (n == cap) {
                cap = cap == 0 ? 64 : cap * 2;
                if ((tmp = realloc(out, cap * sizeof(*out))) == NULL) {
                    wtkms_http_resp_free(&resp);
                    ret = wtkms_errf(err, ENOMEM, "out of memory");
                    goto err;
                }
                out = tmp;
            }
            if ((out[n].key = strdup(val)) == NULL) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, ENOMEM, "out of memory");
                goto err;
            }
            bytes += klen;
            out[n].modified_ms = 0;
            if (!delimited && xml_value(resp.body, &p, "LastModified", when, sizeof(when)) != NULL)
                out[n].modified_ms = wtkms_aws_parse_time(when);
            n++;
        }
        more = xml_value(resp.body, NULL, "IsTruncated", val, sizeof(val)) != NULL &&
               strcmp(val, "true") == 0;
        (void)snprintf(prev, sizeof(prev), "%s", token);
        if (more &&
            xml_value(resp.body, NULL, "NextContinuationToken", token, sizeof(token)) == NULL)
            more = false;
        wtkms_http_resp_free(&resp);
        if (more && strcmp(token, prev) == 0) {
            ret = wtkms_errf(err, EPROTO,
              "snapshot store %s: listing %s: the service answered the same continuation token "
              "twice, so the listing would never end: check s3_endpoint",
              s->iface.url, prefix);
            goto err;
        }
    } while (more);
    *outp = out;
    *np = n;
    return (0);
err:
    s3_entries_free(out, n);
    return (ret);
}

/*
 * has_manifest --
 *     Whether a snapshot's manifest object exists (HEAD).
 */
static int
has_manifest(s3_store *s, const char *id, bool *yesp, wtkms_err *err)
{
    wtkms_http_resp resp;
    char key[1200];
    int ret;

    *yesp = false;
    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) != 0 ||
        (ret = s3_call(s, "checking", "HEAD", key, "", NULL, 0, NULL, 0, &resp, err)) != 0)
        return (ret);
    if (resp.status == 200)
        *yesp = true;
    else if (resp.status != 404)
        ret = s3_error(s, "checking", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * snapshot_ids --
 *     Ids under PREFIX/snapshots/, with or without a manifest.
 */
static int
snapshot_ids(s3_store *s, s3_entry **outp, size_t *np, wtkms_err *err)
{
    s3_entry *e;
    char root[1200];
    size_t i, n, len, k;
    int ret;

    (void)snprintf(root, sizeof(root), "%ssnapshots/", s->prefix);
    if ((ret = s3_list_keys(s, root, true, &e, &n, err)) != 0)
        return (ret);
    len = strlen(root);
    for (i = k = 0; i < n; i++) {
        char *id = e[i].key + len;
        size_t l = strlen(e[i].key);
        if (l <= len || e[i].key[l - 1] != '/') {
            free(e[i].key);
            continue;
        }
        e[i].key[l - 1] = '\0';
        if (!wtkms_snap_id_valid(id)) {
            free(e[i].key);
            continue;
        }
        memmove(e[i].key, id, strlen(id) + 1);
        e[k++] = e[i];
    }
    *outp = e;
    *np = k;
    return (0);
}

/*
 * cmp_str --
 *     qsort comparator for strings.
 */
static int
cmp_str(const void *a, const void *b)
{
    return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * s3_list --
 *     Committed snapshots: ids whose manifest exists.
 */
static int
s3_list(wtkms_store *st, char ***idsp, size_t *np, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    s3_entry *e;
    char **ids;
    size_t i, n, k;
    bool yes;
    int ret;

    *idsp = NULL;
    *np = 0;
    if ((ret = snapshot_ids(s, &e, &n, err)) != 0)
        return (ret);
    if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
        s3_entries_free(e, n);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    for (i = k = 0; i < n; i++) {
        if ((ret = has_manifest(s, e[i].key, &yes, err)) != 0)
            break;
        if (yes && (ids[k++] = strdup(e[i].key)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            break;
        }
    }
    s3_entries_free(e, n);
    if (ret != 0) {
        wtkms_store_free_ids(ids, k);
        return (ret);
    }
    qsort(ids, k, sizeof(*ids), cmp_str);
    *idsp = ids;
    *np = k;
    return (0);
}

/*
 * delete_key --
 *     DELETE one object (a missing one is fine).
 */
static int
delete_key(s3_store *s, const char *key, wtkms_err *err)
{
    wtkms_http_resp resp;
    int ret;

    if ((ret = s3_call(s, "deleting", "DELETE", key, "", NULL, 0, NULL, 64 * 1024, &resp, err)) !=
        0)
        return (ret);
    if (resp.status != 204 && resp.status != 200 && resp.status != 404)
        ret = s3_error(s, "deleting", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * delete_snapshot --
 *     The manifest first (the snapshot stops being listed), then every other object.
 */
static int
delete_snapshot(s3_store *s, const char *id, int64_t older_than_ms, bool *deletedp, wtkms_err *err)
{
    s3_entry *e;
    char key[1200], pfx[1200];
    size_t i, n;
    int ret;

    if (deletedp != NULL)
        *deletedp = false;
    if ((ret = object_key(s, id, "", pfx, sizeof(pfx), err)) != 0 ||
        (ret = s3_list_keys(s, pfx, false, &e, &n, err)) != 0)
        return (ret);
    /* Leftovers of an interrupted create: only when every object is old enough. */
    if (older_than_ms > 0)
        for (i = 0; i < n; i++)
            if (e[i].modified_ms < 0 || e[i].modified_ms > older_than_ms) {
                s3_entries_free(e, n);
                return (0);
            }
    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) == 0)
        ret = delete_key(s, key, err);
    for (i = 0; ret == 0 && i < n; i++)
        if (strcmp(e[i].key, key) != 0)
            ret = delete_key(s, e[i].key, err);
    s3_entries_free(e, n);
    if (ret == 0 && deletedp != NULL)
        *deletedp = true;
    return (ret);
}

/*
 * s3_commit --
 *     The manifest object, last.
 */
static int
s3_commit(wtkms_store *st, const char *id, const void *manifest, size_t len, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_http_resp resp;
    char key[1200];
    int ret;

    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) != 0 ||
        (ret = s3_call(s, "writing", "PUT", key, "", manifest, len, NULL, 64 * 1024, &resp, err)) !=
          0)
        return (ret);
    if (resp.status != 200)
        ret = s3_error(s, "writing", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * s3_abort --
 *     Remove what an interrupted create wrote.
 */
static void
s3_abort(wtkms_store *st, const char *id)
{
    (void)delete_snapshot((s3_store *)st, id, 0, NULL, NULL);
}

/*
 * s3_cleanup --
 *     Snapshots without a manifest whose objects are all older than max_age_ms.
 */
static int
s3_cleanup(wtkms_store *st, int64_t max_age_ms, int *removedp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    s3_entry *e;
    size_t i, n;
    bool yes, gone;
    int ret;

    *removedp = 0;
    if ((ret = snapshot_ids(s, &e, &n, err)) != 0)
        return (ret);
    for (i = 0; ret == 0 && i < n; i++) {
        if ((ret = has_manifest(s, e[i].key, &yes, err)) != 0 || yes)
            continue;
        if ((ret = delete_snapshot(s, e[i].key, wtkms_now_ms() - max_age_ms, &gone, err)) == 0 &&
            gone)
            (*removedp)++;
    }
    s3_entries_free(e, n);
    return (ret);
}

/*
 * s3_remove --
 *     Delete a committed snapshot.
 */
static int
s3_remove(wtkms_store *st, const char *id, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    bool yes;
    int ret;

    if ((ret = has_manifest(s, id, &yes, err)) != 0)
        return (ret);
    if (!yes)
        return (wtkms_errf(err, ENOENT,
          "store %s holds no snapshot %s: see 'wtkms snapshot list --store %s'", st->url, id,
          st->url));
    return (delete_snapshot(s, id, 0, NULL, err));
}

/*
 * s3_free --
 *     Free the store (credentials are wiped).
 */
static void
s3_free(wtkms_store *st)
{
    s3_store *s = (s3_store *)st;

    wtkms_aws_creds_free(s->creds);
    (void)pthread_mutex_destroy(&s->lock);
    free(s);
}

/*
 * copy_setting --
 *     An optional string setting into a buffer.
 */
static int
copy_setting(wtkms_config *cfg, const char *key, char *out, size_t outlen, wtkms_err *err)
{
    const char *v;

    out[0] = '\0';
    if (cfg == NULL || (v = wtkms_config_get(cfg, key)) == NULL)
        return (0);
    if (snprintf(out, outlen, "%s", v) >= (int)outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "%s: %s is too long", cfg->origin, key));
    return (0);
}

/*
 * wtkms_store_s3_open --
 *     Parse s3://BUCKET[/PREFIX] and the s3_* settings.
 */
int
wtkms_store_s3_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err)
{
    s3_store *s;
    const char *rest, *slash, *env;
    char addressing[16], ca[1024], proxy[1024];
    unsigned long part;
    size_t n;
    int ret;

    *sp = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)pthread_mutex_init(&s->lock, NULL);
    if (wtkms_aws_creds_new(&s->creds) != 0) {
        (void)pthread_mutex_destroy(&s->lock);
        free(s);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    (void)snprintf(s->iface.url, sizeof(s->iface.url), "%s", url);
    rest = url + 5;
    slash = strchr(rest, '/');
    n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(s->bucket) ||
        strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n) {
        ret = wtkms_errf(err, EINVAL,
          "store %s: the bucket name must be 1..255 lower-case letters, digits, '.' or '-'", url);
        goto err;
    }
    memcpy(s->bucket, rest, n);
    if (slash != NULL) {
        rest = slash + 1;
        n = strlen(rest);
        while (n > 0 && rest[n - 1] == '/')
            n--;
        if (n + 2 >= sizeof(s->prefix) ||
            strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") <
              n ||
            strstr(rest, "//") != NULL) {
            ret = wtkms_errf(err, EINVAL,
              "store %s: the prefix may hold letters, digits, '.', '_', '-' and single '/' only",
              url);
            goto err;
        }
        if (n > 0)
            (void)snprintf(s->prefix, sizeof(s->prefix), "%.*s/", (int)n, rest);
    }

    if ((ret = copy_setting(cfg, "s3_region", s->region, sizeof(s->region), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_endpoint", s->endpoint, sizeof(s->endpoint), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_addressing", addressing, sizeof(addressing), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_credentials_file", s->credentials_file,
           sizeof(s->credentials_file), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_profile", s->profile, sizeof(s->profile), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_role_arn", s->role_arn, sizeof(s->role_arn), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_external_id", s->external_id, sizeof(s->external_id), err)) !=
          0 ||
        (ret = copy_setting(
           cfg, "s3_sts_endpoint", s->sts_endpoint, sizeof(s->sts_endpoint), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_ca_file", ca, sizeof(ca), err)) != 0 ||
        (ret = copy_setting(cfg, "s3_proxy", proxy, sizeof(proxy), err)) != 0)
        goto err;
    if (s->region[0] == '\0') {
        if (((env = getenv("AWS_REGION")) != NULL && env[0] != '\0') ||
            ((env = getenv("AWS_DEFAULT_REGION")) != NULL && env[0] != '\0'))
            (void)snprintf(s->region, sizeof(s->region), "%s", env);
        else
            (void)snprintf(s->region, sizeof(s->region), "us-east-1");
    }
    if (strspn(s->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s->region)) {
        ret = wtkms_errf(err, EINVAL, "s3_region=%s is not an AWS region name", s->region);
        goto err;
    }
    if (s->endpoint[0] != '\0') {
        if ((ret = wtkms_http_check_endpoint(NULL, "s3_endpoint", s->endpoint, err)) != 0)
            goto err;
        while ((n = strlen(s->endpoint)) > 0 && s->endpoint[n - 1] == '/')
            s->endpoint[n - 1] = '\0';
        s->path_style = strcmp(addressing, "virtual") != 0;
        if (!s->path_style) {
            ret = wtkms_errf(err, EINVAL,
              "s3_addressing=virtual is for AWS itself: drop s3_endpoint, or use path addressing");
            goto err;
        }
    } else {
        s->path_style = strcmp(addressing, "path") == 0;
        (void)snprintf(s->endpoint, sizeof(s->endpoint), "https://s3.%s.amazonaws.com", s->region);
    }
    if (addressing[0] != '\0' && strcmp(addressing, "path") != 0 &&
        strcmp(addressing, "virtual") != 0) {
        ret = wtkms_errf(err, EINVAL, "s3_addressing=%s: use path or virtual", addressing);
        goto err;
    }
    part = S3_PART_DEFAULT / (1024 * 1024);
    if (cfg != NULL && (ret = wtkms_config_uint(cfg, "s3_part_size", part, 5, 64, &part, err)) != 0)
        goto err;
    s->part_size = part * 1024 * 1024;

    /* Parts take time to send: a longer attempt and deadline than a KMS call's. */
    wtkms_http_opts_default(&s->http);
    s->http.timeout_ms = 300 * 1000;
    s->http.deadline_ms = 900 * 1000;
    (void)snprintf(s->http.ca_file, sizeof(s->http.ca_file), "%s", ca);
    (void)snprintf(s->http.proxy, sizeof(s->http.proxy), "%s", proxy);

    s->iface.begin = s3_begin;
    s->iface.put_open = s3_put_open;
    s->iface.put_write = s3_put_write;
    s->iface.put_close = s3_put_close;
    s->iface.put_abort = s3_put_abort;
    s->iface.commit = s3_commit;
    s->iface.abort = s3_abort;
    s->iface.get_manifest = s3_get_manifest;
    s->iface.get_open = s3_get_open;
    s->iface.get_read = s3_get_read;
    s->iface.get_close = s3_get_close;
    s->iface.list = s3_list;
    s->iface.cleanup = s3_cleanup;
    s->iface.remove = s3_remove;
    s->iface.free = s3_free;
    *sp = &s->iface;
    return (0);
err:
    s3_free(&s->iface);
    return (ret);
}
