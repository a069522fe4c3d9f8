/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_client.h -- a small client for S3-compatible object storage, shared by the snapshot store
 * (src/snapshot/store_s3.c) and any other store kept in object storage.
 *
 * Every request goes through the shared HTTPS transport (http.c, libcurl) signed with SigV4 by
 * libcurl; curl 7.88 does not add x-amz-content-sha256, which S3 requires, so each request
 * carries it (the hex SHA-256 of the body) and curl signs it. Credentials come from the AWS
 * chain (aws_creds.c: s3_credentials_file/s3_profile, the environment, the shared files, web
 * identity, container and instance credentials), never from a setting's value. Query strings are
 * built already in SigV4 canonical form (sorted, encoded, "k=" for empty values): curl 7.88 signs
 * the query as given.
 *
 * Settings (flags --s3-...): s3_endpoint (default https://s3.REGION.amazonaws.com), s3_region
 * (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1), s3_addressing=path|virtual (default path
 * with an endpoint, virtual without), s3_credentials_file, s3_profile, s3_role_arn,
 * s3_external_id, s3_sts_endpoint, s3_ca_file, s3_proxy, s3_part_size (MiB, 5..64: one part is
 * held in memory, and one ranged read), s3_timeout_ms (one attempt of a request, default 300000;
 * every request, retries included, ends within 900 s).
 *
 * Files: s3_client.c (settings, credentials, signed calls, error wording, XML values),
 * s3_object.c (whole objects, multipart uploads, ranged reads), s3_list.c (bounded listings of
 * objects and of multipart uploads).
 */
#ifndef WTKMS_S3_CLIENT_H
#define WTKMS_S3_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_creds.h"
#include "config.h"
#include "err.h"
#include "http.h"

#define WTKMS_S3_PART_DEFAULT (8 * 1024 * 1024)
#define WTKMS_S3_TIMEOUT_DEFAULT_MS (300 * 1000) /* one attempt: a part takes time to send */
#define WTKMS_S3_LIST_MAX (4 * 1024 * 1024)      /* one ListObjectsV2 page */
#define WTKMS_S3_SMALL_ANSWER (64 * 1024)        /* the answer to a PUT, DELETE, POST */
/*
 * A listing is bounded whatever the service answers (docs/FORMATS.md, "Limits"): an endpoint that
 * keeps saying IsTruncated=true, or returns the same continuation token, stops it with an error.
 */
#define WTKMS_S3_LIST_MAX_PAGES 10000
#define WTKMS_S3_LIST_MAX_ENTRIES (2 * 1000 * 1000)
#define WTKMS_S3_LIST_MAX_KEY_BYTES (256 * 1024 * 1024)

typedef struct {
    char url[4096]; /* as given, for messages (never a credential) */
    char noun[32];  /* "snapshot store", "oplog store": how messages name it */
    char bucket[256];
    char prefix[1024]; /* "" or "a/b/" (with the trailing slash) */
    char endpoint[512];
    char region[64];
    bool path_style;
    size_t part_size;
    wtkms_aws_cred_settings cs; /* the credential chain's settings (s3_...) */
    wtkms_http_opts http;
    pthread_mutex_t lock; /* guards creds */
    wtkms_aws_creds *creds;
} wtkms_s3;

/* One listing entry. */
typedef struct {
    char *key;           /* malloc'd */
    int64_t modified_ms; /* LastModified (uploads: Initiated); 0 when not given, -1 malformed */
    char *upload_id;     /* wtkms_s3_list_uploads only (malloc'd), else NULL */
} wtkms_s3_entry;

typedef struct wtkms_s3_upload wtkms_s3_upload;
typedef struct wtkms_s3_download wtkms_s3_download;

/*
 * Parse s3://BUCKET[/PREFIX] and the s3_* settings of cfg (marking them used). noun names the
 * store in messages.
 */
int wtkms_s3_open(
  const char *url, wtkms_config *cfg, const char *noun, wtkms_s3 **cp, wtkms_err *err);
void wtkms_s3_free(wtkms_s3 *c);

/* One signed request. key is the object key ("" for the bucket); query is canonical. */
int wtkms_s3_call(wtkms_s3 *c, const char *what, const char *method, const char *key,
  const char *query, const void *body, size_t len, const char *extra, size_t max_body,
  wtkms_http_resp *resp, wtkms_err *err);

/* An S3 error answer in words (ENOENT for 404, EACCES for refusals, EHOSTUNREACH for 5xx). */
int wtkms_s3_error(
  wtkms_s3 *c, const char *what, const char *key, const wtkms_http_resp *resp, wtkms_err *err);

/* The text of the first <tag>...</tag> at or after *from (advanced past it), or NULL. */
char *wtkms_s3_xml_value(
  const char *body, const char **from, const char *tag, char *out, size_t outlen);

/* URI-encode a query value (SigV4 rules): 0, ENOMEM or ENAMETOOLONG. */
int wtkms_s3_escape(const char *in, char *out, size_t outlen);

/* Whole objects (s3_object.c). get: 200 or an error (ENOENT when missing), resp to free. */
int wtkms_s3_get(wtkms_s3 *c, const char *key, size_t max, wtkms_http_resp *resp, wtkms_err *err);
int wtkms_s3_put(wtkms_s3 *c, const char *key, const void *data, size_t len, wtkms_err *err);
/*
 * PUT an object only where none exists (If-None-Match: *): *existedp is set, and nothing written,
 * when one does. EAGAIN when the service reports a concurrent conditional write.
 */
int wtkms_s3_put_new(
  wtkms_s3 *c, const char *key, const void *data, size_t len, bool *existedp, wtkms_err *err);
int wtkms_s3_exists(wtkms_s3 *c, const char *key, bool *yesp, wtkms_err *err);
/* DELETE one object (a missing one is fine). */
int wtkms_s3_delete(wtkms_s3 *c, const char *key, wtkms_err *err);

/*
 * A streamed upload: nothing is sent until a part is full or the object is closed; a small object
 * is one PUT, a larger one a multipart upload. close and abort free the upload.
 */
int wtkms_s3_upload_open(wtkms_s3 *c, const char *key, wtkms_s3_upload **up, wtkms_err *err);
int wtkms_s3_upload_write(wtkms_s3_upload *u, const void *buf, size_t len, wtkms_err *err);
int wtkms_s3_upload_close(wtkms_s3_upload *u, wtkms_err *err);
void wtkms_s3_upload_abort(wtkms_s3_upload *u);

/* A streamed read, one ranged GET of part_size at a time (ENOENT when missing). */
int wtkms_s3_download_open(wtkms_s3 *c, const char *key, wtkms_s3_download **dp, wtkms_err *err);
/* Read up to len bytes; *gotp < len only at the end of the object. */
int wtkms_s3_download_read(
  wtkms_s3_download *d, void *buf, size_t len, size_t *gotp, wtkms_err *err);
/* The object's size once the first answer said it (-1 before). */
int64_t wtkms_s3_download_size(const wtkms_s3_download *d);
void wtkms_s3_download_close(wtkms_s3_download *d);

/* ListObjectsV2 under prefix (s3_list.c): with a delimiter, the common prefixes; without, keys. */
int wtkms_s3_list(wtkms_s3 *c, const char *prefix, bool delimited, wtkms_s3_entry **outp,
  size_t *np, wtkms_err *err);
void wtkms_s3_entries_free(wtkms_s3_entry *e, size_t n);

/* One ListObjectsV2 call of at most one key: the bucket exists and the credentials may list. */
int wtkms_s3_check_bucket(wtkms_s3 *c, wtkms_err *err);

/* ListMultipartUploads under prefix: the uploads begun and neither completed nor aborted. */
int wtkms_s3_list_uploads(
  wtkms_s3 *c, const char *prefix, wtkms_s3_entry **outp, size_t *np, wtkms_err *err);
/* AbortMultipartUpload (one already gone is fine). */
int wtkms_s3_abort_upload(wtkms_s3 *c, const char *key, const char *upload_id, wtkms_err *err);

#endif
