/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore.c -- "snapshot restore" and "snapshot verify".
 *
 * Both unwrap the snapshot key first (nothing is written before the key is known to work),
 * authenticate the manifest, then stream every object through two threads: the producer reads
 * and opens (decrypts and authenticates) each chunk in order, then decompresses it (format 2,
 * bounded by the chunk's length in the authenticated manifest), the consumer hashes it and, for
 * a restore, writes it into a temporary directory beside the target, renamed into place at the
 * end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk.h"
#include "chunk_read.h"
#include "fileio.h"
#include "pipe.h"
#include "progress.h"
#include "snaputil.h"
#include "snapshot.h"
#include "zcodec.h"

#define NSLOTS 8
#define TMP_TAG ".wtkms-restore."

typedef struct {
    wtkms_store *store;
    wtkms_snap_manifest *m;
    wtkms_snap_codec *codec;
    wtkms_zd *zd;
    uint8_t *spare; /* the producer's: decompressed chunks, swapped into the slot */
    wtkms_pipe *pipe;
    int ret; /* the producer's error */
    wtkms_err err;
} restore_ctx;

/*
 * chunk_error --
 *     An integrity error naming the snapshot, file, object and chunk.
 */
static int
chunk_error(
  wtkms_err *err, const wtkms_snap_manifest *m, uint32_t fi, uint64_t chunk, const char *why)
{
    return (wtkms_errf(err, EBADMSG,
      "snapshot %s is damaged: file %s (object files/%08u), chunk %llu of %llu: %s; restore "
      "another snapshot",
      m->id, m->files[fi].name, fi, (unsigned long long)chunk,
      (unsigned long long)m->files[fi].chunks, why));
}

/*
 * read_chunk --
 *     Read, open and (format 2) decompress chunk i of file fi into slot s.
 */
static int
read_chunk(restore_ctx *c, wtkms_store_reader *r, uint32_t fi, uint64_t i, int codec, wtkms_slot *s)
{
    char why[256];
    int ret;

    if ((ret = wtkms_snap_read_chunk(c->store, r, c->m, c->codec, c->zd, codec, fi, i, &s->buf,
           &c->spare, why, sizeof(why), &c->err)) != 0)
        return (ret == EBADMSG ? chunk_error(&c->err, c->m, fi, i, why) : ret);
    s->file = fi;
    s->chunk = i;
    s->final = i + 1 == c->m->files[fi].chunks;
    s->len =
      s->final ? (size_t)(c->m->files[fi].size - (int64_t)i * c->m->chunk_size) : c->m->chunk_size;
    return (0);
}

/*
 * producer --
 *     Read and open every chunk, in order.
 */
static void *
producer(void *arg)
{
    restore_ctx *c = arg;
    const wtkms_snap_manifest *m = c->m;
    wtkms_store_reader *r;
    wtkms_slot *s;
    uint8_t hdr[WTKMS_SNAP_HDR_LEN], extra;
    char obj[32], why[256];
    uint64_t i;
    uint32_t fi;
    size_t got;
    int codec, ret;

    r = NULL;
    for (fi = 0; fi < m->nfiles; fi++) {
        (void)snprintf(obj, sizeof(obj), "files/%08u", fi);
        if ((ret = c->store->get_open(c->store, m->id, obj, &r, &c->err)) != 0) {
            c->ret = ret == ENOENT ? chunk_error(&c->err, m, fi, 0, "the object is missing") : ret;
            goto err;
        }
        if ((ret = wtkms_store_read_full(c->store, r, hdr, sizeof(hdr), &got, &c->err)) != 0) {
            c->ret = ret;
            goto err;
        }
        if (got != sizeof(hdr)) {
            c->ret = chunk_error(&c->err, m, fi, 0, "the object is truncated (no header)");
            goto err;
        }
        if (wtkms_snap_hdr_check(hdr, m->format_version,
              m->encrypted ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR, fi, m->chunk_size, &codec,
              why, sizeof(why)) != 0) {
            c->ret = chunk_error(&c->err, m, fi, 0, why);
            goto err;
        }
        for (i = 0; i < m->files[fi].chunks; i++) {
            if ((s = wtkms_pipe_get_free(c->pipe)) == NULL)
                goto err; /* the consumer failed */
            if ((ret = read_chunk(c, r, fi, i, codec, s)) != 0) {
                wtkms_pipe_put_free(c->pipe, s);
                c->ret = ret;
                goto err;
            }
            wtkms_pipe_put_full(c->pipe, s);
        }
        if ((ret = wtkms_store_read_full(c->store, r, &extra, 1, &got, &c->err)) != 0) {
            c->ret = ret;
            goto err;
        }
        if (got != 0) {
            c->ret = chunk_error(&c->err, m, fi, m->files[fi].chunks,
              "the object has data after its final chunk (appended or reordered)");
            goto err;
        }
        c->store->get_close(r);
        r = NULL;
    }
err:
    if (r != NULL)
        c->store->get_close(r);
    wtkms_pipe_done(c->pipe);
    return (NULL);
}

/*
 * consume --
 *     Hash every chunk and, when restoring into dir, write it.
 */
static int
consume(restore_ctx *c, const char *dir, wtkms_progress *prog, wtkms_err *err)
{
    const wtkms_snap_manifest *m = c->m;
    wtkms_sha256_ctx *sha;
    wtkms_slot *s;
    uint8_t digest[WTKMS_SHA256_LEN];
    char path[4096];
    int64_t written, flushed;
    int fd, ret;

    sha = NULL;
    fd = -1;
    ret = 0;
    written = flushed = 0;
    while ((s = wtkms_pipe_get_full(c->pipe)) != NULL) {
        if (s->chunk == 0) {
            if ((sha = wtkms_sha256_begin()) == NULL) {
                ret = wtkms_errf(err, ENOMEM, "out of memory");
                break;
            }
            if (dir != NULL) {
                if ((ret = wtkms_mkdir_parents(dir, m->files[s->file].name, err)) != 0 ||
                    (ret = wtkms_path_join(path, sizeof(path), dir, m->files[s->file].name, err)) !=
                      0)
                    break;
                if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
                    ret = wtkms_errf(err, errno, "cannot create %s: %s", path, strerror(errno));
                    break;
                }
                written = flushed = 0;
            }
        }
        (void)wtkms_sha256_update(sha, s->buf, s->len);
        if (fd >= 0) {
            if ((ret = wtkms_write_all(fd, s->buf, s->len)) != 0) {
                ret = wtkms_errf(err, ret, "writing %s: %s", path, strerror(ret));
                break;
            }
            written += (int64_t)s->len;
            wtkms_stream_flush(fd, written, &flushed);
        }
        wtkms_progress_add(prog, (int64_t)s->len);
        if (s->final) {
            ret = wtkms_sha256_end(sha, digest);
            sha = NULL;
            if (ret == 0 &&
                wtkms_ct_memcmp(digest, m->files[s->file].sha256, WTKMS_SHA256_LEN) != 0)
                ret = chunk_error(
                  err, m, s->file, s->chunk, "the file's SHA-256 does not match the manifest");
            if (ret == 0 && fd >= 0) {
                if (fchmod(fd, (mode_t)(m->files[s->file].mode & 0777)) != 0 || fdatasync(fd) != 0)
                    ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
                if (close(fd) != 0 && ret == 0)
                    ret = wtkms_errf(err, errno, "%s: close: %s", path, strerror(errno));
                fd = -1;
            }
            if (ret != 0)
                break;
        }
        wtkms_pipe_put_free(c->pipe, s);
        s = NULL;
    }
    if (s != NULL)
        wtkms_pipe_put_free(c->pipe, s);
    if (ret != 0)
        wtkms_pipe_cancel(c->pipe);
    if (sha != NULL)
        (void)wtkms_sha256_end(sha, digest);
    if (fd >= 0)
        (void)close(fd);
    return (ret);
}

/*
 * open_snapshot --
 *     Manifest, key unwrap, manifest authentication: everything before the first byte written.
 */
static int
open_snapshot(wtkms_store *store, const char *id, wtkms_kms *kms, const wtkms_snap_restore_opts *ro,
  wtkms_snap_manifest **mp, wtkms_snap_keys **keysp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_snap_keys *keys;
    wtkms_key *key;
    char name[1200];
    int ret;

    *mp = NULL;
    *keysp = NULL;
    keys = NULL;
    key = NULL;
    if ((ret = wtkms_snapshot_read_manifest(store, id, &m, err)) != 0)
        return (ret);
    /*
     * No downgrade: an unencrypted manifest carries only a keyless checksum, so anyone who can
     * write to the store can make one under any id, an existing snapshot's included.
     */
    if (!m->encrypted && (kms != NULL || ro->home_kms != NULL) && !ro->allow_unencrypted) {
        ret = wtkms_errf(err, EBADMSG,
          "snapshot %s is not encrypted (Encryption Key ID \"%s\"), but a master key is "
          "configured: an unencrypted snapshot is not authenticated, so anyone who can write to "
          "the store could have made it, under this id too; refused, nothing was written (pass "
          "--allow-unencrypted only if you made it with --no-encryption yourself)",
          id, WTKMS_SNAP_NOT_ENABLED);
        goto err;
    }
    if (m->encrypted) {
        wtkms_kms_desc_name(&m->key, name, sizeof(name));
        if (kms == NULL) {
            ret = wtkms_errf(err, EINVAL,
              "snapshot %s is encrypted under master key %s: give that key's provider settings "
              "(--config FILE, or --provider ... flags)",
              id, name);
            goto err;
        }
        /* The configuration decides where keys live: compare before sending any credential. */
        if ((ret = wtkms_kms_check_match(kms, &m->key, err)) != 0) {
            wtkms_err_prefix(err, "snapshot %s (nothing was written)", id);
            goto err;
        }
        if ((ret = kms->unwrap(kms, m->wrapped_key, m->wrapped_len, &m->key, &key, err)) != 0) {
            ret = wtkms_snapshot_key_error(m, err);
            goto err;
        }
        if ((keys = wtkms_secure_alloc(sizeof(*keys))) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            goto err;
        }
        if ((ret = wtkms_snap_derive(key->b, m->id, keys)) != 0) {
            ret = wtkms_errf(err, ret, "key derivation failed");
            goto err;
        }
        if ((ret = wtkms_manifest_authenticate(m, keys, err)) != 0)
            goto err;
    }
    /* The restored home's own master key: unlock its keystore now, not at its first open. */
    if ((ret = wtkms_snap_check_keystore(
           store, m, keys, ro->home_kms != NULL ? ro->home_kms : kms, err)) != 0)
        goto err;
    wtkms_key_free(key);
    *mp = m;
    *keysp = keys;
    return (0);
err:
    wtkms_key_free(key);
    if (keys != NULL)
        wtkms_secure_free(keys, sizeof(*keys));
    wtkms_manifest_free(m);
    return (ret);
}

/*
 * run --
 *     The pipeline, restoring into dir or (dir NULL) only verifying.
 */
static int
run(wtkms_store *store, wtkms_snap_manifest *m, const wtkms_snap_keys *keys, const char *dir,
  bool progress, wtkms_err *err)
{
    restore_ctx c;
    wtkms_progress prog;
    pthread_t tid;
    int ret;

    memset(&c, 0, sizeof(c));
    c.store = store;
    c.m = m;
    if ((ret = wtkms_snap_codec_new(keys, m->id, m->format_version, &c.codec)) != 0)
        return (wtkms_errf(err, ret, "cannot set up the snapshot cipher"));
    if ((ret = wtkms_zd_new(&c.zd)) != 0 ||
        (c.spare = malloc((size_t)m->chunk_size + WTKMS_SNAP_TAG_LEN)) == NULL ||
        (ret = wtkms_pipe_new(NSLOTS, m->chunk_size + WTKMS_SNAP_TAG_LEN, 0, &c.pipe)) != 0) {
        wtkms_zd_free(c.zd);
        free(c.spare);
        wtkms_snap_codec_free(c.codec);
        return (wtkms_errf(err, ENOMEM, "out of memory for %d chunk buffers", NSLOTS));
    }
    wtkms_progress_init(&prog, progress, dir != NULL ? "restore" : "verify", m->size);
    if ((ret = pthread_create(&tid, NULL, producer, &c)) != 0) {
        wtkms_pipe_free(c.pipe);
        wtkms_zd_free(c.zd);
        free(c.spare);
        wtkms_snap_codec_free(c.codec);
        return (wtkms_errf(err, ret, "cannot start a reader thread"));
    }
    ret = consume(&c, dir, &prog, err);
    (void)pthread_join(tid, NULL);
    wtkms_progress_end(&prog);
    if (ret == 0 && c.ret != 0) {
        *err = c.err;
        ret = c.ret;
    }
    wtkms_pipe_free(c.pipe);
    wtkms_zd_free(c.zd);
    free(c.spare);
    wtkms_snap_codec_free(c.codec);
    return (ret);
}

/*
 * check_target --
 *     The target must be absent or an empty directory, and its parent must exist.
 */
static int
check_target(const char *to, wtkms_err *err)
{
    struct dirent *de;
    struct stat sb;
    DIR *d;
    char buf[4096], *parent;
    bool empty;

    if (stat(to, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return (wtkms_errf(err, EEXIST, "restore target %s exists and is not a directory", to));
        if ((d = opendir(to)) == NULL)
            return (wtkms_errf(err, errno, "restore target %s: %s", to, strerror(errno)));
        empty = true;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                empty = false;
        (void)closedir(d);
        if (!empty)
            return (wtkms_errf(err, ENOTEMPTY,
              "restore target %s is not empty: restore into a new or empty directory (nothing "
              "was written)",
              to));
        return (0);
    }
    (void)snprintf(buf, sizeof(buf), "%s", to);
    parent = dirname(buf);
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return (wtkms_errf(err, ENOENT,
          "the directory %s, where restore target %s would go, does not exist", parent, to));
    return (0);
}

/*
 * clean_stale --
 *     Remove temporary directories of earlier restores into the same target whose process is
 *     gone (an interrupted restore leaves its temporary directory, never the target).
 */
static void
clean_stale(const char *parent, const char *base)
{
    struct dirent *de;
    char prefix[1024], path[4096], *end;
    long pid;
    DIR *d;

    if (snprintf(prefix, sizeof(prefix), ".%s" TMP_TAG, base) >= (int)sizeof(prefix) ||
        (d = opendir(parent)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        pid = strtol(de->d_name + strlen(prefix), &end, 10);
        if (*end != '\0' || pid <= 0 || pid == (long)getpid())
            continue;
        /* Only a directory whose process is gone: another restore may be running. */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", parent, de->d_name) < (int)sizeof(path))
            (void)wtkms_rmtree(path, NULL);
    }
    (void)closedir(d);
}

/*
 * fsync_tree --
 *     fsync every directory under dir (the files were fsync'd as they were closed).
 */
static int
fsync_tree(const char *dir, wtkms_err *err)
{
    struct dirent *de;
    struct stat sb;
    char path[4096];
    DIR *d;
    int ret;

    if ((d = opendir(dir)) == NULL)
        return (wtkms_errf(err, errno, "%s: %s", dir, strerror(errno)));
    ret = 0;
    while (ret == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
            continue;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            ret = fsync_tree(path, err);
    }
    (void)closedir(d);
    return (ret != 0 ? ret : wtkms_fsync_dir(dir, err));
}

/*
 * wtkms_snapshot_read_manifest --
 *     Fetch and decode a manifest.
 */
int
wtkms_snapshot_read_manifest(
  wtkms_store *store, const char *id, wtkms_snap_manifest **mp, wtkms_err *err)
{
    uint8_t *buf;
    size_t len;
    int ret;

    *mp = NULL;
    if (!wtkms_snap_id_valid(id))
        return (wtkms_errf(err, EINVAL,
          "'%s' is not a snapshot id (ids look like 20261125T224529Z-1a2b3c4d; see 'wtkms "
          "snapshot list')",
          id));
    if ((ret = store->get_manifest(store, id, &buf, &len, err)) != 0)
        return (ret);
    ret = wtkms_manifest_decode(buf, len, id, mp, err);
    free(buf);
    return (ret);
}

/*
 * wtkms_snapshot_check_keys --
 *     Everything restore checks before writing, and nothing else.
 */
int
wtkms_snapshot_check_keys(wtkms_store *store, const char *id, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_snap_keys *keys;
    int ret;

    *mp = NULL;
    if ((ret = open_snapshot(store, id, kms, ro, &m, &keys, err)) != 0)
        return (ret);
    if (keys != NULL)
        wtkms_secure_free(keys, sizeof(*keys));
    *mp = m;
    return (0);
}

/*
 * wtkms_snapshot_verify --
 *     Check everything, write nothing.
 */
int
wtkms_snapshot_verify(wtkms_store *store, const char *id, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_snap_keys *keys;
    int ret;

    if (mp != NULL)
        *mp = NULL;
    if ((ret = open_snapshot(store, id, kms, ro, &m, &keys, err)) != 0)
        return (ret);
    ret = run(store, m, keys, NULL, ro->progress, err);
    if (keys != NULL)
        wtkms_secure_free(keys, sizeof(*keys));
    if (ret == 0 && mp != NULL)
        *mp = m;
    else
        wtkms_manifest_free(m);
    return (ret);
}

/*
 * wtkms_snapshot_restore --
 *     Restore into a new directory, atomically.
 */
int
wtkms_snapshot_restore(wtkms_store *store, const char *id, const char *to, wtkms_kms *kms,
  const wtkms_snap_restore_opts *ro, wtkms_snap_manifest **mp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_snap_keys *keys;
    char b1[4096], b2[4096], tmp[4096], *parent, *base;
    bool made;
    int ret;

    if (mp != NULL)
        *mp = NULL;
    m = NULL;
    keys = NULL;
    made = false;
    if (to == NULL || to[0] == '\0')
        return (wtkms_errf(err, EINVAL, "snapshot restore needs --to DIR (a new directory)"));
    if ((ret = check_target(to, err)) != 0)
        return (ret);
    if ((ret = open_snapshot(store, id, kms, ro, &m, &keys, err)) != 0)
        return (ret);

    (void)snprintf(b1, sizeof(b1), "%s", to);
    (void)snprintf(b2, sizeof(b2), "%s", to);
    parent = dirname(b1);
    base = basename(b2);
    if (snprintf(tmp, sizeof(tmp), "%s/.%s" TMP_TAG "%ld", parent, base, (long)getpid()) >=
        (int)sizeof(tmp)) {
        ret = wtkms_errf(err, ENAMETOOLONG, "%s: path too long", to);
        goto err;
    }
    clean_stale(parent, base);
    if (mkdir(tmp, 0700) != 0) {
        ret = wtkms_errf(err, errno, "cannot create %s: %s", tmp, strerror(errno));
        goto err;
    }
    made = true;
    if ((ret = run(store, m, keys, tmp, ro->progress, err)) != 0)
        goto err;
    /* Checked and whole: finish WiredTiger's recovery before anything can open it wrongly. */
    if (!ro->no_recover && (ret = wtkms_snap_recover(tmp, m, ro, err)) != 0)
        goto err;
    if ((ret = fsync_tree(tmp, err)) != 0)
        goto err;
    /* rename(2) replaces an empty directory and refuses a non-empty one. */
    if (rename(tmp, to) != 0) {
        ret =
          errno == ENOTEMPTY || errno == EEXIST
            ? wtkms_errf(err, ENOTEMPTY,
                "restore target %s was filled by something else during the restore: nothing of it "
                "was replaced; restore again into an empty directory",
                to)
            : wtkms_errf(err, errno, "cannot rename %s to %s: %s", tmp, to, strerror(errno));
        goto err;
    }
    made = false;
    if ((ret = wtkms_fsync_dir(parent, err)) != 0)
        goto err;
    if (mp != NULL) {
        *mp = m;
        m = NULL;
    }
err:
    if (made)
        (void)wtkms_rmtree(tmp, NULL);
    if (keys != NULL)
        wtkms_secure_free(keys, sizeof(*keys));
    wtkms_manifest_free(m);
    return (ret);
}

/*
 * wtkms_snap_key_matches --
 *     Whether a user's key name designates a descriptor: its id, its version (an ARN), or the
 *     one-line "provider:key" forms.
 */
bool
wtkms_snap_key_matches(const wtkms_kms_desc *d, const char *key)
{
    char name[1200];

    if (key == NULL || key[0] == '\0')
        return (false);
    if (strcmp(d->key_id, key) == 0 ||
        (d->key_version[0] != '\0' && strcmp(d->key_version, key) == 0))
        return (true);
    wtkms_kms_desc_name(d, name, sizeof(name));
    if (strcmp(name, key) == 0)
        return (true);
    (void)snprintf(name, sizeof(name), "%s:%s", d->provider, d->key_id);
    return (strcmp(name, key) == 0);
}
