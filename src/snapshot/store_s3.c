/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_s3.c -- a snapshot store in S3-compatible object storage: s3://BUCKET[/PREFIX].
 *
 * The requests, credentials and settings are the S3 client's (src/s3/s3_client.h); this file is
 * the store's layout and behaviour. Objects larger than one part (s3_part_size, default 8 MiB)
 * are written with a multipart upload, one part in memory at a time; reads are ranged GETs of one
 * part. The manifest is written last, so a snapshot without one is incomplete and invisible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "s3_client.h"
#include "store.h"

typedef struct {
    wtkms_store iface; /* must come first */
    wtkms_s3 *c;
} s3_store;

struct wtkms_store_writer {
    wtkms_s3_upload *u;
};

struct wtkms_store_reader {
    wtkms_s3_download *d;
};

/*
 * object_key --
 *     PREFIX/snapshots/ID[/NAME].
 */
static int
object_key(s3_store *s, const char *id, const char *name, char *out, size_t outlen, wtkms_err *err)
{
    int n;

    n = snprintf(out, outlen, "%ssnapshots/%s%s%s", s->c->prefix, id, name != NULL ? "/" : "",
      name != NULL ? name : "");
    if (n < 0 || (size_t)n >= outlen)
        return (wtkms_errf(err, ENAMETOOLONG, "snapshot store %s: key too long", s->iface.url));
    return (0);
}

/*
 * s3_begin --
 *     Check the bucket is there before copying anything.
 */
static int
s3_begin(wtkms_store *st, const char *id, wtkms_err *err)
{
    (void)id;
    return (wtkms_s3_check_bucket(((s3_store *)st)->c, err));
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
    char key[1200];
    int ret;

    *wp = NULL;
    if ((ret = object_key(s, id, name, key, sizeof(key), err)) != 0)
        return (ret);
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_s3_upload_open(s->c, key, &w->u, err)) != 0) {
        free(w);
        return (ret);
    }
    *wp = w;
    return (0);
}

/*
 * s3_put_write --
 *     Buffer; send full parts.
 */
static int
s3_put_write(wtkms_store_writer *w, const void *buf, size_t len, wtkms_err *err)
{
    return (wtkms_s3_upload_write(w->u, buf, len, err));
}

/*
 * s3_put_abort --
 *     Abandon an object: abort its multipart upload, if any.
 */
static void
s3_put_abort(wtkms_store_writer *w)
{
    if (w == NULL)
        return;
    wtkms_s3_upload_abort(w->u);
    free(w);
}

/*
 * s3_put_close --
 *     One PUT for a small object; the last part and CompleteMultipartUpload for a large one.
 */
static int
s3_put_close(wtkms_store_writer *w, wtkms_err *err)
{
    int ret;

    ret = wtkms_s3_upload_close(w->u, err);
    free(w);
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
    if ((ret = wtkms_s3_get(s->c, key, WTKMS_STORE_MANIFEST_MAX, &resp, err)) != 0) {
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
 * s3_get_open --
 *     Open an object: the first range tells whether it exists.
 */
static int
s3_get_open(
  wtkms_store *st, const char *id, const char *name, wtkms_store_reader **rp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_store_reader *r;
    char key[1200];
    int ret;

    *rp = NULL;
    if ((ret = object_key(s, id, name, key, sizeof(key), err)) != 0)
        return (ret);
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = wtkms_s3_download_open(s->c, key, &r->d, err)) != 0) {
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
    return (wtkms_s3_download_read(r->d, buf, len, gotp, err));
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
    wtkms_s3_download_close(r->d);
    free(r);
}

/*
 * has_manifest --
 *     Whether a snapshot's manifest object exists (HEAD).
 */
static int
has_manifest(s3_store *s, const char *id, bool *yesp, wtkms_err *err)
{
    char key[1200];
    int ret;

    *yesp = false;
    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) != 0)
        return (ret);
    return (wtkms_s3_exists(s->c, key, yesp, err));
}

/*
 * snapshot_ids --
 *     Ids under PREFIX/snapshots/, with or without a manifest.
 */
static int
snapshot_ids(s3_store *s, wtkms_s3_entry **outp, size_t *np, wtkms_err *err)
{
    wtkms_s3_entry *e;
    char root[1200];
    size_t i, n, len, k;
    int ret;

    (void)snprintf(root, sizeof(root), "%ssnapshots/", s->c->prefix);
    if ((ret = wtkms_s3_list(s->c, root, true, &e, &n, err)) != 0)
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
    wtkms_s3_entry *e;
    char **ids;
    size_t i, n, k;
    bool yes;
    int ret;

    *idsp = NULL;
    *np = 0;
    if ((ret = snapshot_ids(s, &e, &n, err)) != 0)
        return (ret);
    if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
        wtkms_s3_entries_free(e, n);
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
    wtkms_s3_entries_free(e, n);
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
 * delete_snapshot --
 *     The manifest first (the snapshot stops being listed), then every other object.
 */
static int
delete_snapshot(s3_store *s, const char *id, int64_t older_than_ms, bool *deletedp, wtkms_err *err)
{
    wtkms_s3_entry *e;
    char key[1200], pfx[1200];
    size_t i, n;
    int ret;

    if (deletedp != NULL)
        *deletedp = false;
    if ((ret = object_key(s, id, "", pfx, sizeof(pfx), err)) != 0 ||
        (ret = wtkms_s3_list(s->c, pfx, false, &e, &n, err)) != 0)
        return (ret);
    /* Leftovers of an interrupted create: only when every object is old enough. */
    if (older_than_ms > 0)
        for (i = 0; i < n; i++)
            if (e[i].modified_ms < 0 || e[i].modified_ms > older_than_ms) {
                wtkms_s3_entries_free(e, n);
                return (0);
            }
    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) == 0)
        ret = wtkms_s3_delete(s->c, key, err);
    for (i = 0; ret == 0 && i < n; i++)
        if (strcmp(e[i].key, key) != 0)
            ret = wtkms_s3_delete(s->c, e[i].key, err);
    wtkms_s3_entries_free(e, n);
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
    char key[1200];
    int ret;

    if ((ret = object_key(s, id, "manifest", key, sizeof(key), err)) != 0)
        return (ret);
    return (wtkms_s3_put(s->c, key, manifest, len, err));
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
    wtkms_s3_entry *e;
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
    wtkms_s3_entries_free(e, n);
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
 * s3_abort_uploads --
 *     Multipart uploads under PREFIX/snapshots/ older than max_age_ms by both clocks: the
 *     service's (Initiated) and the snapshot id's (a create names its objects after the time it
 *     began, so an upload of a create begun less than max_age_ms ago is never touched, whatever
 *     the service reports).
 */
static int
s3_abort_uploads(wtkms_store *st, int64_t max_age_ms, bool dry, int *abortedp, wtkms_err *err)
{
    s3_store *s = (s3_store *)st;
    wtkms_s3_entry *e;
    char root[1200], id[32];
    const char *rest;
    size_t i, n, len;
    int64_t cutoff, born;
    int ret;

    *abortedp = 0;
    (void)snprintf(root, sizeof(root), "%ssnapshots/", s->c->prefix);
    if ((ret = wtkms_s3_list_uploads(s->c, root, &e, &n, err)) != 0)
        return (ret);
    cutoff = wtkms_now_ms() - max_age_ms;
    len = strlen(root);
    for (i = 0; ret == 0 && i < n; i++) {
        if (strncmp(e[i].key, root, len) != 0 || e[i].modified_ms < 0 || e[i].modified_ms > cutoff)
            continue;
        /* snapshots/ID/...: the id's time; a key of another shape is not a create's. */
        rest = e[i].key + len;
        if (strlen(rest) < 26 || rest[25] != '/')
            continue;
        (void)snprintf(id, sizeof(id), "%.25s", rest);
        if ((born = wtkms_snap_id_time_ms(id)) < 0 || born > cutoff)
            continue;
        if (!dry && (ret = wtkms_s3_abort_upload(s->c, e[i].key, e[i].upload_id, err)) != 0)
            break;
        (*abortedp)++;
    }
    wtkms_s3_entries_free(e, n);
    return (ret);
}

/*
 * s3_free --
 *     Free the store (credentials are wiped).
 */
static void
s3_free(wtkms_store *st)
{
    s3_store *s = (s3_store *)st;

    wtkms_s3_free(s->c);
    free(s);
}

/*
 * wtkms_store_s3_open --
 *     Parse s3://BUCKET[/PREFIX] and the s3_* settings.
 */
int
wtkms_store_s3_open(const char *url, wtkms_config *cfg, wtkms_store **sp, wtkms_err *err)
{
    s3_store *s;
    int ret;

    *sp = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    (void)snprintf(s->iface.url, sizeof(s->iface.url), "%s", url);
    if ((ret = wtkms_s3_open(url, cfg, "snapshot store", &s->c, err)) != 0) {
        free(s);
        return (ret);
    }
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
    s->iface.abort_uploads = s3_abort_uploads;
    s->iface.free = s3_free;
    *sp = &s->iface;
    return (0);
}
