/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_list.c -- listings of an S3-compatible bucket, bounded whatever the service answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_client.h"

/*
 * wtkms_s3_entries_free --
 *     Free a listing.
 */
void
wtkms_s3_entries_free(wtkms_s3_entry *e, size_t n)
{
    size_t i;

    for (i = 0; e != NULL && i < n; i++) {
        free(e[i].key);
        free(e[i].upload_id);
    }
    free(e);
}

/*
 * wtkms_s3_check_bucket --
 *     List at most one key under the prefix: the bucket is there and may be listed.
 */
int
wtkms_s3_check_bucket(wtkms_s3 *c, wtkms_err *err)
{
    wtkms_http_resp resp;
    char q[1400], pfx[1200];
    int ret;

    if ((ret = wtkms_s3_escape(c->prefix, pfx, sizeof(pfx))) != 0)
        return (wtkms_errf(err, ret, "%s %s: prefix too long", c->noun, c->url));
    (void)snprintf(q, sizeof(q), "list-type=2&max-keys=1&prefix=%s", pfx);
    if ((ret = wtkms_s3_call(
           c, "list", "GET", "", q, NULL, 0, NULL, WTKMS_S3_LIST_MAX, &resp, err)) != 0)
        return (ret);
    if (resp.status != 200)
        ret = wtkms_s3_error(c, "listing bucket", c->bucket, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}

/*
 * wtkms_s3_list --
 *     ListObjectsV2 under prefix: with a delimiter, the common prefixes; without, the keys.
 */
int
wtkms_s3_list(wtkms_s3 *c, const char *prefix, bool delimited, wtkms_s3_entry **outp, size_t *np,
  wtkms_err *err)
{
    wtkms_http_resp resp;
    wtkms_s3_entry *out, *tmp;
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
    if ((ret = wtkms_s3_escape(prefix, pfx, sizeof(pfx))) != 0)
        return (wtkms_errf(err, ret, "%s %s: prefix too long", c->noun, c->url));
    tag = delimited ? "Prefix" : "Key";
    do {
        if (++pages > WTKMS_S3_LIST_MAX_PAGES) {
            ret = wtkms_errf(err, EMSGSIZE,
              "%s %s: listing %s did not end after %d pages (%zu entries): the service keeps "
              "answering IsTruncated=true; wtkms reads at most %d pages: check s3_endpoint",
              c->noun, c->url, prefix, WTKMS_S3_LIST_MAX_PAGES, n, WTKMS_S3_LIST_MAX_PAGES);
            goto err;
        }
        if (token[0] != '\0') {
            if ((ret = wtkms_s3_escape(token, etoken, sizeof(etoken))) != 0) {
                ret = wtkms_errf(err, ret, "continuation token too long");
                goto err;
            }
            (void)snprintf(q, sizeof(q), "continuation-token=%s&%slist-type=2&prefix=%s", etoken,
              delimited ? "delimiter=%2F&" : "", pfx);
        } else
            (void)snprintf(
              q, sizeof(q), "%slist-type=2&prefix=%s", delimited ? "delimiter=%2F&" : "", pfx);
        if ((ret = wtkms_s3_call(
               c, "listing", "GET", "", q, NULL, 0, NULL, WTKMS_S3_LIST_MAX, &resp, err)) != 0)
            goto err;
        if (resp.status != 200) {
            ret = wtkms_s3_error(c, "listing", prefix, &resp, err);
            wtkms_http_resp_free(&resp);
            goto err;
        }
        /* Entries: <CommonPrefixes><Prefix>..</Prefix> or <Contents><Key>..</Key>...</Contents>. */
        p = strstr(resp.body, delimited ? "<CommonPrefixes>" : "<Contents>");
        while (p != NULL && wtkms_s3_xml_value(resp.body, &p, tag, val, sizeof(val)) != NULL) {
            klen = strlen(val) + 1;
            if (n >= WTKMS_S3_LIST_MAX_ENTRIES || klen > WTKMS_S3_LIST_MAX_KEY_BYTES - bytes) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, EMSGSIZE,
                  "%s %s: listing %s returned more than %d entries or %d MiB of names, more than "
                  "any %s holds: check s3_endpoint and the bucket",
                  c->noun, c->url, prefix, WTKMS_S3_LIST_MAX_ENTRIES,
                  WTKMS_S3_LIST_MAX_KEY_BYTES >> 20, c->noun);
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
            out[n].upload_id = NULL;
            if ((out[n].key = strdup(val)) == NULL) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, ENOMEM, "out of memory");
                goto err;
            }
            bytes += klen;
            out[n].modified_ms = 0;
            if (!delimited &&
                wtkms_s3_xml_value(resp.body, &p, "LastModified", when, sizeof(when)) != NULL)
                out[n].modified_ms = wtkms_aws_parse_time(when);
            n++;
        }
        more = wtkms_s3_xml_value(resp.body, NULL, "IsTruncated", val, sizeof(val)) != NULL &&
               strcmp(val, "true") == 0;
        (void)snprintf(prev, sizeof(prev), "%s", token);
        if (more && wtkms_s3_xml_value(
                      resp.body, NULL, "NextContinuationToken", token, sizeof(token)) == NULL)
            more = false;
        wtkms_http_resp_free(&resp);
        if (more && strcmp(token, prev) == 0) {
            ret = wtkms_errf(err, EPROTO,
              "%s %s: listing %s: the service answered the same continuation token twice, so the "
              "listing would never end: check s3_endpoint",
              c->noun, c->url, prefix);
            goto err;
        }
    } while (more);
    *outp = out;
    *np = n;
    return (0);
err:
    wtkms_s3_entries_free(out, n);
    return (ret);
}

/*
 * upload_entry --
 *     The Key, UploadId and Initiated of one <Upload>...</Upload> element (between p and q).
 */
static int
upload_entry(const char *p, const char *q, wtkms_s3_entry *e)
{
    char *one, val[1200], when[64];
    int ret;

    memset(e, 0, sizeof(*e));
    if ((one = strndup(p, (size_t)(q - p))) == NULL)
        return (ENOMEM);
    ret = EPROTO;
    if (wtkms_s3_xml_value(one, NULL, "Key", val, sizeof(val)) != NULL &&
        (e->key = strdup(val)) != NULL &&
        wtkms_s3_xml_value(one, NULL, "UploadId", val, sizeof(val)) != NULL &&
        (e->upload_id = strdup(val)) != NULL) {
        e->modified_ms = wtkms_s3_xml_value(one, NULL, "Initiated", when, sizeof(when)) != NULL
                           ? wtkms_aws_parse_time(when)
                           : -1;
        ret = 0;
    }
    free(one);
    if (ret != 0) {
        free(e->key);
        free(e->upload_id);
        memset(e, 0, sizeof(*e));
    }
    return (ret);
}

/*
 * wtkms_s3_list_uploads --
 *     ListMultipartUploads under prefix, every page (key-marker and upload-id-marker), with the
 *     bounds of a listing.
 */
int
wtkms_s3_list_uploads(
  wtkms_s3 *c, const char *prefix, wtkms_s3_entry **outp, size_t *np, wtkms_err *err)
{
    wtkms_http_resp resp;
    wtkms_s3_entry *out, *tmp;
    char q[9000], pfx[2400], km[1200], um[1200], ekm[3000], eum[3000], val[16];
    const char *p, *end;
    size_t n, cap, pages;
    bool more;
    int ret;

    *outp = NULL;
    *np = 0;
    out = NULL;
    n = cap = pages = 0;
    km[0] = um[0] = '\0';
    if ((ret = wtkms_s3_escape(prefix, pfx, sizeof(pfx))) != 0)
        return (wtkms_errf(err, ret, "%s %s: prefix too long", c->noun, c->url));
    do {
        if (++pages > WTKMS_S3_LIST_MAX_PAGES) {
            ret = wtkms_errf(err, EMSGSIZE,
              "%s %s: the listing of multipart uploads under %s did not end after %d pages: "
              "check s3_endpoint",
              c->noun, c->url, prefix, WTKMS_S3_LIST_MAX_PAGES);
            goto err;
        }
        if ((ret = wtkms_s3_escape(km, ekm, sizeof(ekm))) != 0 ||
            (ret = wtkms_s3_escape(um, eum, sizeof(eum))) != 0) {
            ret = wtkms_errf(err, ret, "%s %s: upload marker too long", c->noun, c->url);
            goto err;
        }
        /* Canonical order: key-marker, prefix, upload-id-marker, uploads. */
        if (km[0] != '\0')
            (void)snprintf(
              q, sizeof(q), "key-marker=%s&prefix=%s&upload-id-marker=%s&uploads=", ekm, pfx, eum);
        else
            (void)snprintf(q, sizeof(q), "prefix=%s&uploads=", pfx);
        if ((ret = wtkms_s3_call(c, "listing multipart uploads", "GET", "", q, NULL, 0, NULL,
               WTKMS_S3_LIST_MAX, &resp, err)) != 0)
            goto err;
        if (resp.status != 200) {
            ret = wtkms_s3_error(c, "listing multipart uploads under", prefix, &resp, err);
            wtkms_http_resp_free(&resp);
            goto err;
        }
        for (p = resp.body; (p = strstr(p, "<Upload>")) != NULL; p = end) {
            if ((end = strstr(p, "</Upload>")) == NULL)
                break;
            if (n >= WTKMS_S3_LIST_MAX_ENTRIES) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, EMSGSIZE,
                  "%s %s: more than %d multipart uploads under %s: check s3_endpoint", c->noun,
                  c->url, WTKMS_S3_LIST_MAX_ENTRIES, prefix);
                goto err;
            }
            if (n == cap) {
                cap = cap == 0 ? 16 : cap * 2;
                if ((tmp = realloc(out, cap * sizeof(*out))) == NULL) {
                    wtkms_http_resp_free(&resp);
                    ret = wtkms_errf(err, ENOMEM, "out of memory");
                    goto err;
                }
                out = tmp;
            }
            if ((ret = upload_entry(p, end, &out[n])) == ENOMEM) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, ENOMEM, "out of memory");
                goto err;
            }
            if (ret == 0)
                n++;
        }
        more = wtkms_s3_xml_value(resp.body, NULL, "IsTruncated", val, sizeof(val)) != NULL &&
               strcmp(val, "true") == 0;
        if (more) {
            char nkm[1200], num[1200];
            if (wtkms_s3_xml_value(resp.body, NULL, "NextKeyMarker", nkm, sizeof(nkm)) == NULL ||
                wtkms_s3_xml_value(resp.body, NULL, "NextUploadIdMarker", num, sizeof(num)) ==
                  NULL ||
                (strcmp(nkm, km) == 0 && strcmp(num, um) == 0)) {
                wtkms_http_resp_free(&resp);
                ret = wtkms_errf(err, EPROTO,
                  "%s %s: the listing of multipart uploads under %s says it goes on but gives no "
                  "new place to go on from: check s3_endpoint",
                  c->noun, c->url, prefix);
                goto err;
            }
            (void)snprintf(km, sizeof(km), "%s", nkm);
            (void)snprintf(um, sizeof(um), "%s", num);
        }
        wtkms_http_resp_free(&resp);
    } while (more);
    *outp = out;
    *np = n;
    return (0);
err:
    wtkms_s3_entries_free(out, n);
    return (ret);
}

/*
 * wtkms_s3_abort_upload --
 *     DELETE key?uploadId=ID.
 */
int
wtkms_s3_abort_upload(wtkms_s3 *c, const char *key, const char *upload_id, wtkms_err *err)
{
    wtkms_http_resp resp;
    char q[3100], uid[3000];
    int ret;

    if ((ret = wtkms_s3_escape(upload_id, uid, sizeof(uid))) != 0)
        return (wtkms_errf(err, ret, "%s %s: upload id too long", c->noun, c->url));
    (void)snprintf(q, sizeof(q), "uploadId=%s", uid);
    if ((ret = wtkms_s3_call(c, "aborting the upload of", "DELETE", key, q, NULL, 0, NULL,
           WTKMS_S3_SMALL_ANSWER, &resp, err)) != 0)
        return (ret);
    if (resp.status != 204 && resp.status != 200 && resp.status != 404)
        ret = wtkms_s3_error(c, "aborting the upload of", key, &resp, err);
    wtkms_http_resp_free(&resp);
    return (ret);
}
