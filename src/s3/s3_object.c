/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_object.c -- objects in an S3-compatible service: whole small objects, streamed uploads
 * (multipart beyond one part, one part in memory at a time) and streamed reads (ranged GETs of
 * one part).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_client.h"

struct wtkms_s3_upload {
    wtkms_s3 *c;
    char key[1200];
    uint8_t *buf;
    size_t len;
    char upload_id[1024];
    char (*etags)[128];
    size_t nparts, cap;
};

struct wtkms_s3_download {
    wtkms_s3 *c;
    char key[1200];
    int64_t off, total; /* total -1 until the first answer says */
    wtkms_http_resp resp;
    size_t pos;
};

/*
 * wtkms_s3_get --
 *     GET a whole small object.
 */
int
wtkms_s3_get(wtkms_s3 *c, const char *key, size_t max, wtkms_http_resp *resp, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_s3_call(c, "reading", "GET", key, "", NULL, 0, NULL, max, resp, err)) != 0)
        return (ret);
    if (resp->status == 200)
        return (0);
    ret = wtkms_s3_error(c, "reading", key, resp, err);
    wtkms_http_resp_free(resp);
    return (ret);
}

/*
 * wtkms_s3_put --
 *     PUT a whole small object (one request: it appears whole or not at all).
 */
int
wtkms_s3_put(wtkms_s3 *c, const char *key, const void *data, size_t len, wtkms_err *err)
{
    wtkms_http_resp resp;
    int ret;

    if ((ret = wtkms_s3_call(
           c, "writing", "PUT", key, "", data, len, NULL, WTKMS_S3_SMALL_ANSWER, &resp, err)) != 0)
        return (ret);
    if (resp.status != 200)
        ret = wtkms_s3_error(c, "writing", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_s3_put_new --
 *     A conditional PUT: 412 means the name is taken (an earlier attempt of ours whose answer was
 *     lost, or another writer); the caller compares.
 */
int
wtkms_s3_put_new(
  wtkms_s3 *c, const char *key, const void *data, size_t len, bool *existedp, wtkms_err *err)
{
    wtkms_http_resp resp;
    int ret;

    *existedp = false;
    if ((ret = wtkms_s3_call(c, "writing", "PUT", key, "", data, len, "If-None-Match: *",
           WTKMS_S3_SMALL_ANSWER, &resp, err)) != 0)
        return (ret);
    if (resp.status == 412)
        *existedp = true;
    else if (resp.status == 409)
        ret = wtkms_errf(err, EAGAIN,
          "%s %s: writing %s: the service reports a conflicting write of the same object (HTTP "
          "409)",
          c->noun, c->url, key);
    else if (resp.status != 200)
        ret = wtkms_s3_error(c, "writing", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_s3_exists --
 *     Whether an object exists (HEAD).
 */
int
wtkms_s3_exists(wtkms_s3 *c, const char *key, bool *yesp, wtkms_err *err)
{
    wtkms_http_resp resp;
    int ret;

    *yesp = false;
    if ((ret = wtkms_s3_call(c, "checking", "HEAD", key, "", NULL, 0, NULL, 0, &resp, err)) != 0)
        return (ret);
    if (resp.status == 200)
        *yesp = true;
    else if (resp.status != 404)
        ret = wtkms_s3_error(c, "checking", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_s3_delete --
 *     DELETE one object (a missing one is fine).
 */
int
wtkms_s3_delete(wtkms_s3 *c, const char *key, wtkms_err *err)
{
    wtkms_http_resp resp;
    int ret;

    if ((ret = wtkms_s3_call(c, "deleting", "DELETE", key, "", NULL, 0, NULL, WTKMS_S3_SMALL_ANSWER,
           &resp, err)) != 0)
        return (ret);
    if (resp.status != 204 && resp.status != 200 && resp.status != 404)
        ret = wtkms_s3_error(c, "deleting", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_s3_upload_open --
 *     Start an object (nothing is sent until a part is full or the object is closed).
 */
int
wtkms_s3_upload_open(wtkms_s3 *c, const char *key, wtkms_s3_upload **up, wtkms_err *err)
{
    wtkms_s3_upload *u;

    *up = NULL;
    if ((u = calloc(1, sizeof(*u))) == NULL || (u->buf = malloc(c->part_size)) == NULL) {
        free(u);
        return (wtkms_errf(err, ENOMEM, "out of memory for a %zu-byte upload part", c->part_size));
    }
    u->c = c;
    if (snprintf(u->key, sizeof(u->key), "%s", key) >= (int)sizeof(u->key)) {
        free(u->buf);
        free(u);
        return (wtkms_errf(err, ENAMETOOLONG, "%s %s: key too long", c->noun, c->url));
    }
    *up = u;
    return (0);
}

/*
 * upload_part --
 *     Send the buffer as the next part (starting the multipart upload first if needed).
 */
static int
upload_part(wtkms_s3_upload *u, wtkms_err *err)
{
    wtkms_s3 *c = u->c;
    wtkms_http_resp resp;
    char q[1400], uid[1200], etag[128];
    void *tmp;
    int ret;

    if (u->upload_id[0] == '\0') {
        if ((ret = wtkms_s3_call(c, "starting the upload of", "POST", u->key, "uploads=", NULL, 0,
               NULL, WTKMS_S3_SMALL_ANSWER, &resp, err)) != 0)
            return (ret);
        if (resp.status != 200 || wtkms_s3_xml_value(resp.body, NULL, "UploadId", u->upload_id,
                                    sizeof(u->upload_id)) == NULL) {
            ret = resp.status != 200
                    ? wtkms_s3_error(c, "starting the upload of", u->key, &resp, err)
                    : wtkms_errf(err, EPROTO, "%s %s: no UploadId in the answer for %s", c->noun,
                        c->url, u->key);
            u->upload_id[0] = '\0';
            wtkms_http_resp_free(&resp);
            return (ret);
        }
        wtkms_http_resp_free(&resp);
    }
    if (u->nparts == u->cap) {
        u->cap = u->cap == 0 ? 64 : u->cap * 2;
        if ((tmp = realloc(u->etags, u->cap * sizeof(*u->etags))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        u->etags = tmp;
    }
    if ((ret = wtkms_s3_escape(u->upload_id, uid, sizeof(uid))) != 0)
        return (wtkms_errf(err, ret, "upload id too long"));
    (void)snprintf(q, sizeof(q), "partNumber=%zu&uploadId=%s", u->nparts + 1, uid);
    if ((ret = wtkms_s3_call(c, "uploading part of", "PUT", u->key, q, u->buf, u->len, NULL,
           WTKMS_S3_SMALL_ANSWER, &resp, err)) != 0)
        return (ret);
    if (resp.status != 200)
        ret = wtkms_s3_error(c, "uploading part of", u->key, &resp, err);
    else if (wtkms_http_resp_header(&resp, "ETag", etag, sizeof(etag)) != 0)
        ret = wtkms_errf(err, EPROTO, "%s %s: no ETag for a part of %s", c->noun, c->url, u->key);
    else
        (void)snprintf(u->etags[u->nparts++], sizeof(u->etags[0]), "%s", etag);
    wtkms_http_resp_free(&resp);
    u->len = 0;
    return (ret);
}

/*
 * wtkms_s3_upload_write --
 *     Buffer; send full parts.
 */
int
wtkms_s3_upload_write(wtkms_s3_upload *u, const void *buf, size_t len, wtkms_err *err)
{
    const uint8_t *p = buf;
    size_t n;
    int ret;

    while (len > 0) {
        n = u->c->part_size - u->len;
        if (n > len)
            n = len;
        memcpy(u->buf + u->len, p, n);
        u->len += n;
        p += n;
        len -= n;
        if (u->len == u->c->part_size && (ret = upload_part(u, err)) != 0)
            return (ret);
    }
    return (0);
}

/*
 * wtkms_s3_upload_abort --
 *     Abandon an object: abort its multipart upload, if any.
 */
void
wtkms_s3_upload_abort(wtkms_s3_upload *u)
{
    wtkms_http_resp resp;
    char q[1300], uid[1200];

    if (u == NULL)
        return;
    if (u->upload_id[0] != '\0' && wtkms_s3_escape(u->upload_id, uid, sizeof(uid)) == 0) {
        (void)snprintf(q, sizeof(q), "uploadId=%s", uid);
        if (wtkms_s3_call(u->c, "aborting the upload of", "DELETE", u->key, q, NULL, 0, NULL,
              WTKMS_S3_SMALL_ANSWER, &resp, NULL) == 0)
            wtkms_http_resp_free(&resp);
    }
    free(u->etags);
    free(u->buf);
    free(u);
}

/*
 * wtkms_s3_upload_close --
 *     One PUT for a small object; the last part and CompleteMultipartUpload for a large one.
 */
int
wtkms_s3_upload_close(wtkms_s3_upload *u, wtkms_err *err)
{
    wtkms_s3 *c = u->c;
    wtkms_http_resp resp;
    char q[1300], uid[1200], *xml;
    size_t i, len, off;
    int ret;

    if (u->upload_id[0] == '\0') {
        if ((ret = wtkms_s3_put(c, u->key, u->buf, u->len, err)) != 0)
            goto err;
        wtkms_s3_upload_abort(u);
        return (0);
    }
    if (u->len > 0 && (ret = upload_part(u, err)) != 0)
        goto err;
    len = 128 + u->nparts * 200;
    if ((xml = malloc(len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    off = (size_t)snprintf(xml, len, "<CompleteMultipartUpload>");
    for (i = 0; i < u->nparts; i++)
        off += (size_t)snprintf(xml + off, len - off,
          "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, u->etags[i]);
    off += (size_t)snprintf(xml + off, len - off, "</CompleteMultipartUpload>");
    if ((ret = wtkms_s3_escape(u->upload_id, uid, sizeof(uid))) != 0) {
        free(xml);
        ret = wtkms_errf(err, ret, "upload id too long");
        goto err;
    }
    (void)snprintf(q, sizeof(q), "uploadId=%s", uid);
    ret = wtkms_s3_call(c, "completing the upload of", "POST", u->key, q, xml, off, NULL,
      WTKMS_S3_SMALL_ANSWER, &resp, err);
    free(xml);
    if (ret != 0)
        goto err;
    /* S3 can answer 200 with an error document in the body. */
    if (resp.status != 200 || strstr(resp.body, "<Error>") != NULL)
        ret = wtkms_s3_error(c, "completing the upload of", u->key, &resp, err);
    wtkms_http_resp_free(&resp);
    if (ret != 0)
        goto err;
    u->upload_id[0] = '\0';
    wtkms_s3_upload_abort(u);
    return (0);
err:
    wtkms_s3_upload_abort(u);
    return (ret);
}

/*
 * fetch_range --
 *     The next part of an object: 206 with Content-Range, 200 for the whole thing, 416 at the
 *     end.
 */
static int
fetch_range(wtkms_s3_download *d, wtkms_err *err)
{
    wtkms_s3 *c = d->c;
    char range[96], cr[128], *slash;
    int ret;

    wtkms_http_resp_free(&d->resp);
    d->pos = 0;
    if (d->total >= 0 && d->off >= d->total)
        return (0);
    (void)snprintf(range, sizeof(range), "Range: bytes=%lld-%lld", (long long)d->off,
      (long long)(d->off + (int64_t)c->part_size - 1));
    if ((ret = wtkms_s3_call(c, "reading", "GET", d->key, "", NULL, 0, range, c->part_size + 4096,
           &d->resp, err)) != 0)
        return (ret);
    if (d->resp.status == 416) {
        wtkms_http_resp_free(&d->resp);
        d->total = d->off;
        return (0);
    }
    if (d->resp.status == 200) {
        d->total = (int64_t)d->resp.body_len;
        d->off = d->total;
        return (0);
    }
    if (d->resp.status != 206) {
        ret = wtkms_s3_error(c, "reading", d->key, &d->resp, err);
        wtkms_http_resp_free(&d->resp);
        return (ret);
    }
    if (wtkms_http_resp_header(&d->resp, "Content-Range", cr, sizeof(cr)) == 0 &&
        (slash = strchr(cr, '/')) != NULL)
        d->total = strtoll(slash + 1, NULL, 10);
    d->off += (int64_t)d->resp.body_len;
    return (0);
}

/*
 * wtkms_s3_download_open --
 *     Open an object: the first range tells whether it exists.
 */
int
wtkms_s3_download_open(wtkms_s3 *c, const char *key, wtkms_s3_download **dp, wtkms_err *err)
{
    wtkms_s3_download *d;
    int ret;

    *dp = NULL;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    d->c = c;
    d->total = -1;
    if (snprintf(d->key, sizeof(d->key), "%s", key) >= (int)sizeof(d->key))
        ret = wtkms_errf(err, ENAMETOOLONG, "%s %s: key too long", c->noun, c->url);
    else
        ret = fetch_range(d, err);
    if (ret != 0) {
        wtkms_http_resp_free(&d->resp);
        free(d);
        return (ret);
    }
    *dp = d;
    return (0);
}

/*
 * wtkms_s3_download_read --
 *     Serve from the current range; fetch the next when it is used up.
 */
int
wtkms_s3_download_read(wtkms_s3_download *d, void *buf, size_t len, size_t *gotp, wtkms_err *err)
{
    size_t n;
    int ret;

    *gotp = 0;
    if (d->pos == d->resp.body_len) {
        if (d->total >= 0 && d->off >= d->total)
            return (0);
        if ((ret = fetch_range(d, err)) != 0)
            return (ret);
        if (d->resp.body_len == 0)
            return (0);
    }
    n = d->resp.body_len - d->pos;
    if (n > len)
        n = len;
    memcpy(buf, d->resp.body + d->pos, n);
    d->pos += n;
    *gotp = n;
    return (0);
}

/*
 * wtkms_s3_download_size --
 *     The object's size, once known.
 */
int64_t
wtkms_s3_download_size(const wtkms_s3_download *d)
{
    return (d->total);
}

/*
 * wtkms_s3_download_close --
 *     Close a reader.
 */
void
wtkms_s3_download_close(wtkms_s3_download *d)
{
    if (d == NULL)
        return;
    wtkms_http_resp_free(&d->resp);
    free(d);
}
