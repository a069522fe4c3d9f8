/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create.c -- "snapshot create": copy a home's files, each encrypted again under a fresh
 * snapshot key, into a store.
 *
 * A pipeline: the producer reads each file in chunks and hashes it (SHA-256); workers (one per
 * core but the producer's, at least one, at most MAX_WORKERS) compress each chunk (zstd, kept only
 * when it shrinks) and seal it (AES-256-GCM); the consumer appends the chunks, in order, to each
 * file's object. A fixed ring of chunk buffers, plus one spare per worker, bounds memory whatever
 * the size of the home.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "fileio.h"
#include "keystore.h"
#include "pipe.h"
#include "progress.h"
#include "snapshot.h"
#include "source.h"
#include "zcodec.h"

/*
 * Chunks in flight: enough to ride out a busy machine's scheduling delays between the stages,
 * about 16 MiB whatever the chunk size (16 of 1 MiB, 4 of 4 MiB), plus one spare per worker.
 */
#define RING_BYTES (16 * 1024 * 1024)
#define MIN_SLOTS 4
#define MAX_SLOTS 16
#define MAX_WORKERS 4

typedef struct {
    wtkms_source *src;
    wtkms_snap_manifest *m;
    wtkms_pipe *pipe;
    uint32_t chunk_size;
    int ret; /* the producer's error */
    wtkms_err err;
} create_ctx;

/* One worker: its own cipher, compressor and spare buffer. */
typedef struct {
    create_ctx *c;
    wtkms_snap_codec *codec;
    wtkms_zc *zc; /* NULL: --no-compress */
    uint8_t *spare;
    pthread_t tid;
    bool started;
    int ret;
    wtkms_err err;
} create_worker;

/*
 * producer --
 *     Read and hash every file, chunk by chunk.
 */
static void *
producer(void *arg)
{
    create_ctx *c = arg;
    wtkms_snap_file *f;
    wtkms_sha256_ctx *sha;
    wtkms_slot *s;
    struct stat sb;
    uint64_t i;
    uint32_t fi;
    size_t len, got = 0;
    int fd, ret;

    sha = NULL;
    fd = -1;
    for (fi = 0; fi < c->m->nfiles; fi++) {
        f = &c->m->files[fi];
        if ((fd = open(c->src->files[fi].path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
            c->ret = wtkms_errf(
              &c->err, errno, "cannot read %s: %s", c->src->files[fi].path, strerror(errno));
            goto err;
        }
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* A file may grow while it is copied; blocks past this size are not in the checkpoint. */
        f->size = c->src->files[fi].limit >= 0 && c->src->files[fi].limit < sb.st_size
                    ? c->src->files[fi].limit
                    : sb.st_size;
        f->mode = sb.st_mode & 07777;
        f->chunks = wtkms_snap_nchunks(f->size, c->chunk_size);
        if ((sha = wtkms_sha256_begin()) == NULL) {
            c->ret = wtkms_errf(&c->err, ENOMEM, "out of memory");
            goto err;
        }
        for (i = 0; i < f->chunks; i++) {
            if ((s = wtkms_pipe_get_free(c->pipe)) == NULL)
                goto err; /* the consumer failed */
            len =
              i + 1 < f->chunks ? c->chunk_size : (size_t)(f->size - (int64_t)i * c->chunk_size);
            if ((ret = wtkms_read_all(fd, s->buf, len, &got)) != 0 || got != len) {
                wtkms_pipe_put_free(c->pipe, s);
                c->ret =
                  ret != 0
                    ? wtkms_errf(
                        &c->err, ret, "reading %s: %s", c->src->files[fi].path, strerror(ret))
                    : wtkms_errf(&c->err, EIO,
                        "%s shrank while it was copied (%zu of %zu bytes at chunk %llu): something "
                        "else is writing to the home",
                        c->src->files[fi].path, got, len, (unsigned long long)i);
                goto err;
            }
            (void)wtkms_sha256_update(sha, s->buf, len);
            s->len = len;
            s->file = fi;
            s->chunk = i;
            s->final = i + 1 == f->chunks;
            wtkms_pipe_put_full(c->pipe, s);
        }
        ret = wtkms_sha256_end(sha, f->sha256);
        sha = NULL;
        (void)close(fd);
        fd = -1;
        if (ret != 0) {
            c->ret = wtkms_errf(&c->err, ret, "SHA-256 failed");
            goto err;
        }
    }
err:
    if (sha != NULL) {
        uint8_t junk[WTKMS_SHA256_LEN];
        (void)wtkms_sha256_end(sha, junk);
    }
    if (fd >= 0)
        (void)close(fd);
    /* Done, not cancelled: the consumer finishes what was read before any error. */
    wtkms_pipe_done(c->pipe);
    return (NULL);
}

/*
 * worker --
 *     Compress and seal chunks, any order; the pipe hands them to the consumer in order.
 */
static void *
worker(void *arg)
{
    create_worker *w = arg;
    create_ctx *c = w->c;
    wtkms_snap_rec r;
    wtkms_slot *s;
    uint8_t *payload, *t;
    int ret;

    while ((s = wtkms_pipe_get_work(c->pipe)) != NULL) {
        r.file = s->file;
        r.chunk = s->chunk;
        r.final = s->final;
        if ((ret = wtkms_snap_compress(w->zc, s->buf, s->len, w->spare, &r, &payload)) != 0) {
            w->ret = wtkms_errf(&w->err, ret, "compressing %s chunk %llu failed",
              c->src->files[s->file].name, (unsigned long long)s->chunk);
            break;
        }
        if (payload == w->spare) { /* the slot keeps the compressed chunk, the worker the rest */
            t = s->buf;
            s->buf = w->spare;
            w->spare = t;
        }
        if ((ret = wtkms_snap_seal(w->codec, &r, s->buf)) != 0) {
            w->ret = wtkms_errf(&w->err, ret, "sealing %s chunk %llu failed",
              c->src->files[s->file].name, (unsigned long long)s->chunk);
            break;
        }
        s->plain = r.plain;
        s->len = r.stored;
        s->compressed = r.compressed;
        wtkms_pipe_put_worked(c->pipe, s);
    }
    if (s != NULL)
        wtkms_pipe_cancel(c->pipe);
    return (NULL);
}

/*
 * consume --
 *     Store every sealed chunk, in order.
 */
static int
consume(create_ctx *c, wtkms_store *store, wtkms_progress *prog, wtkms_err *err)
{
    wtkms_store_writer *w;
    wtkms_snap_rec r;
    wtkms_slot *s;
    uint8_t hdr[WTKMS_SNAP_HDR_LEN], word[WTKMS_SNAP_REC_LEN];
    char obj[32];
    int ret;

    w = NULL;
    ret = 0;
    while ((s = wtkms_pipe_get_full(c->pipe)) != NULL) {
        if (s->chunk == 0) {
            (void)snprintf(obj, sizeof(obj), "files/%08u", s->file);
            wtkms_snap_hdr_encode(hdr, WTKMS_SNAP_DATA_VERSION,
              c->m->encrypted ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR,
              c->m->compress_level > 0 ? WTKMS_SNAP_CODEC_ZSTD : WTKMS_SNAP_CODEC_NONE, s->file,
              c->chunk_size);
            if ((ret = store->put_open(store, c->m->id, obj, &w, err)) != 0 ||
                (ret = store->put_write(w, hdr, sizeof(hdr), err)) != 0)
                break;
            c->m->stored_size += WTKMS_SNAP_HDR_LEN;
        }
        r.compressed = s->compressed;
        r.stored = s->len;
        wtkms_snap_rec_encode(word, &r);
        if ((ret = store->put_write(w, word, sizeof(word), err)) != 0 ||
            (ret = store->put_write(w, s->buf, s->len + WTKMS_SNAP_TAG_LEN, err)) != 0)
            break;
        c->m->stored_size += (int64_t)(WTKMS_SNAP_REC_LEN + s->len + WTKMS_SNAP_TAG_LEN);
        wtkms_progress_add(prog, (int64_t)s->plain);
        if (s->final) {
            ret = store->put_close(w, err);
            w = NULL;
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
    if (w != NULL)
        store->put_abort(w);
    return (ret);
}

/*
 * nworkers --
 *     One worker per online core but the reader's (at least one, at most MAX_WORKERS): the reader
 *     and the workers fill the cores, and the writer mostly waits for the disk. On 2 cores, one
 *     worker made create 15-35% faster than two in bench/snapshot_bench.sh's home, in each of 7
 *     interleaved runs: two workers and a reader only took turns on the same cores.
 */
static size_t
nworkers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;

    return (n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (size_t)n);
}

/*
 * workers_stop --
 *     Join the started workers and free them; the first error is copied to *retp/err.
 */
static void
workers_stop(create_worker *w, size_t n, int *retp, wtkms_err *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (w[i].started)
            (void)pthread_join(w[i].tid, NULL);
        if (*retp == 0 && w[i].ret != 0) {
            *retp = w[i].ret;
            *err = w[i].err;
        }
        wtkms_snap_codec_free(w[i].codec);
        wtkms_zc_free(w[i].zc);
        free(w[i].spare);
    }
}

/*
 * copy_files --
 *     Run the pipeline over the source's files.
 */
static int
copy_files(const wtkms_snap_create_opts *o, wtkms_source *src, wtkms_snap_manifest *m,
  const wtkms_snap_keys *keys, wtkms_err *err)
{
    create_ctx c;
    create_worker w[MAX_WORKERS];
    wtkms_progress prog;
    pthread_t tid;
    struct stat sb;
    int64_t total;
    size_t n, k, slot_size, nslots;
    uint32_t i;
    wtkms_err werr;
    int ret, wret;
    bool producer_started;

    memset(&c, 0, sizeof(c));
    memset(w, 0, sizeof(w));
    producer_started = false;
    c.src = src;
    c.m = m;
    c.chunk_size = m->chunk_size;
    n = nworkers();
    slot_size = (size_t)m->chunk_size + WTKMS_SNAP_TAG_LEN;
    nslots = RING_BYTES / m->chunk_size;
    nslots = nslots < MIN_SLOTS ? MIN_SLOTS : nslots > MAX_SLOTS ? MAX_SLOTS : nslots;
    if ((ret = wtkms_pipe_new(nslots, slot_size, n, &c.pipe)) != 0)
        return (wtkms_errf(err, ret, "out of memory for %zu chunk buffers", nslots));
    for (k = 0; k < n; k++) {
        w[k].c = &c;
        if ((ret = wtkms_snap_codec_new(keys, m->id, WTKMS_SNAP_DATA_VERSION, &w[k].codec)) != 0) {
            ret = wtkms_errf(err, ret, "cannot set up the snapshot cipher");
            goto err;
        }
        if (m->compress_level > 0 && (ret = wtkms_zc_new(m->compress_level, &w[k].zc)) != 0) {
            ret = wtkms_errf(err, ret, "cannot set up zstd at level %d", m->compress_level);
            goto err;
        }
        if ((w[k].spare = malloc(slot_size)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory for chunk buffers");
            goto err;
        }
    }
    for (total = 0, i = 0; i < src->nfiles; i++)
        if (stat(src->files[i].path, &sb) == 0)
            total += sb.st_size;
    for (k = 0; k < n; k++) {
        if ((ret = pthread_create(&w[k].tid, NULL, worker, &w[k])) != 0) {
            ret = wtkms_errf(err, ret, "cannot start a compression thread");
            goto err;
        }
        w[k].started = true;
    }
    wtkms_progress_init(&prog, o->progress, "create", total);
    if ((ret = pthread_create(&tid, NULL, producer, &c)) != 0) {
        wtkms_progress_end(&prog);
        ret = wtkms_errf(err, ret, "cannot start a reader thread");
        goto err;
    }
    producer_started = true;
    ret = consume(&c, o->store, &prog, err);
    (void)pthread_join(tid, NULL);
    wtkms_progress_end(&prog);
err:
    /* Workers wait for slots until the producer is done or the pipe is cancelled. */
    if (!producer_started || ret != 0)
        wtkms_pipe_cancel(c.pipe);
    wret = 0;
    workers_stop(w, n, &wret, &werr);
    /*
     * The consumer's error comes first: it is about an earlier chunk than the others'. Then a
     * worker's (it cancelled the pipe, so the consumer stopped short), then the producer's.
     */
    if (ret == 0 && wret != 0) {
        *err = werr;
        ret = wret;
    }
    if (ret == 0 && c.ret != 0) {
        *err = c.err;
        ret = c.ret;
    }
    if (ret == 0 && wtkms_pipe_cancelled(c.pipe))
        ret = wtkms_errf(err, EIO, "the copy stopped short");
    wtkms_pipe_free(c.pipe);
    return (ret);
}

/*
 * make_id --
 *     "20261125T224529Z-1a2b3c4d": sortable by time, unique by 32 random bits.
 */
static int
make_id(int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    uint8_t rnd[4];
    char hex[9];

    if (gmtime_r(&t, &tm) == NULL || wtkms_random(rnd, sizeof(rnd)) != 0)
        return (EIO);
    wtkms_hex(rnd, sizeof(rnd), hex);
    if (strftime(out, outlen, "%Y%m%dT%H%M%SZ-", &tm) == 0)
        return (EIO);
    (void)strncat(out, hex, outlen - strlen(out) - 1);
    return (0);
}

/*
 * wtkms_snapshot_create --
 *     Make one snapshot.
 */
int
wtkms_snapshot_create(const wtkms_snap_create_opts *o, wtkms_snap_manifest **mp, wtkms_err *err)
{
    wtkms_snap_manifest *m;
    wtkms_source *src;
    wtkms_mongod_lock *lock;
    wtkms_ks_master masters[WTKMS_SNAP_MAX_KEYSTORE_CMKS];
    wtkms_err e2;
    wtkms_snap_keys *keys;
    wtkms_key *key;
    uint8_t *mbuf;
    size_t mlen;
    bool begun;
    wtkms_backup_meta meta;
    char *real, why[1024];
    uint32_t i, n;
    bool cloned, lock_it;
    int ret, tret;

    if (mp != NULL)
        *mp = NULL;
    src = NULL;
    lock = NULL;
    keys = NULL;
    key = NULL;
    mbuf = NULL;
    begun = false;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    m->format_version = WTKMS_SNAP_FORMAT_VERSION;
    m->oplog_term = -1;
    m->chunk_size = o->chunk_size != 0 ? o->chunk_size : WTKMS_SNAP_CHUNK_DEFAULT;
    if (m->chunk_size < WTKMS_SNAP_CHUNK_MIN || m->chunk_size > WTKMS_SNAP_CHUNK_MAX) {
        ret = wtkms_errf(err, EINVAL, "chunk size %u is outside 4 KiB .. 4 MiB", m->chunk_size);
        goto err;
    }
    m->compress_level = o->no_compress           ? 0
                        : o->compress_level != 0 ? o->compress_level
                                                 : WTKMS_ZSTD_LEVEL_DEFAULT;
    if (m->compress_level != 0 &&
        (m->compress_level < WTKMS_ZSTD_LEVEL_MIN || m->compress_level > WTKMS_ZSTD_LEVEL_MAX)) {
        ret = wtkms_errf(err, EINVAL, "compression level %d is outside %d .. %d", m->compress_level,
          WTKMS_ZSTD_LEVEL_MIN, WTKMS_ZSTD_LEVEL_MAX);
        goto err;
    }
    if (!o->no_encryption && o->kms == NULL) {
        ret = wtkms_errf(err, EINVAL,
          "an encrypted snapshot needs a master key: give provider settings (--config FILE, or "
          "--provider ... --key-file ...), or pass --no-encryption");
        goto err;
    }
    if (o->uri != NULL && !o->fsync_locked && !o->fsync_lock && !o->live) {
        ret = wtkms_errf(err, EINVAL,
          "--uri reads the oplog timestamp of an fsync-locked mongod: it needs --fsync-locked (you "
          "locked it) or --fsync-lock (wtkms locks and unlocks it)");
        goto err;
    }
    if ((o->fsync_lock || o->live) &&
        (o->uri == NULL || (int)o->fsync_locked + (int)o->fsync_lock + (int)o->live > 1)) {
        ret = wtkms_errf(err, EINVAL,
          o->uri == NULL ? "--live and --fsync-lock need --uri URI (or --uri-file FILE): the "
                           "running mongod"
                         : "give one of --live, --fsync-lock (wtkms locks the mongod) and "
                           "--fsync-locked (you did)");
        goto err;
    }

    /* --live: the server's $backupCursor, no lock; without one, as --fsync-lock. */
    lock_it = o->fsync_lock;
    if (o->live) {
        if ((ret = wtkms_source_backup_cursor(o, &src, &meta, err)) == ENOTSUP) {
            wtkms_err_clear(err);
            lock_it = true;
        } else if (ret != 0)
            goto err;
        else if (meta.has_end) {
            m->oplog_t = meta.t;
            m->oplog_i = meta.i;
            m->oplog_term = meta.term;
            if (snprintf(m->oplog_rs, sizeof(m->oplog_rs), "%s", meta.rs) >=
                (int)sizeof(m->oplog_rs))
                m->oplog_rs[0] = '\0'; /* longer than any replica-set name */
            m->has_oplog_ts = true;
        }
    }
    /* With --fsync-lock, the lock first: writes stop until wtkms_mongod_lock_release. */
    if (lock_it && (ret = wtkms_mongod_lock_take(o->uri, &lock, err)) != 0)
        goto err;
    /* The oplog position first: it must be read while the mongod is locked, before copying. */
    if (src != NULL) {
        /* The $backupCursor said where its copy is consistent. */
    } else if (o->uri != NULL) {
        if ((ret = wtkms_mongod_oplog_ts(o->uri, &m->oplog_t, &m->oplog_i, &m->oplog_term,
               m->oplog_rs, sizeof(m->oplog_rs), err)) != 0)
            goto err;
        m->has_oplog_ts = true;
    } else if (o->has_oplog_ts) {
        m->oplog_t = o->oplog_t;
        m->oplog_i = o->oplog_i;
        m->has_oplog_ts = true;
    }

    /* Refusals (a live home) before any KMS call or store write. */
    if (src == NULL && (ret = wtkms_source_open(o, &src, err)) != 0)
        goto err;
    /* Reflinks take a moment whatever the size: unlock as soon as they exist. */
    if (lock != NULL) {
        if ((ret = wtkms_source_clone(
               src, o->home, o->clone_dir, &cloned, why, sizeof(why), err)) != 0)
            goto err;
        src->method = cloned ? "fsync_lock_reflink" : "fsync_lock";
        if (snprintf(m->clone_why, sizeof(m->clone_why), "%s", why) >= (int)sizeof(m->clone_why))
            m->clone_why[sizeof(m->clone_why) - 1] = '\0';
        if (cloned) {
            ret = wtkms_mongod_lock_release(lock, &m->lock_ms, err);
            lock = NULL;
            if (ret != 0)
                goto err;
        }
    }
    /* The master keys of the keystore copy the snapshot stores, read without unlocking it. */
    if (src->has_keystore) {
        if ((ret = wtkms_keystore_masters(
               src->keystore_dir, masters, WTKMS_SNAP_MAX_KEYSTORE_CMKS, &n, NULL, 0, err)) != 0) {
            wtkms_err_prefix(err, "home %s", o->home);
            goto err;
        }
        for (m->n_keystore_cmks = 0;
             m->n_keystore_cmks < n && m->n_keystore_cmks < WTKMS_SNAP_MAX_KEYSTORE_CMKS;
             m->n_keystore_cmks++)
            m->keystore_cmks[m->n_keystore_cmks] = masters[m->n_keystore_cmks].cmk;
        m->keystore_cmk = masters[0].cmk;
        m->has_keystore = true;
    }

    m->created_ms = wtkms_now_ms();
    if ((ret = make_id(m->created_ms, m->id, sizeof(m->id))) != 0) {
        ret = wtkms_errf(err, ret, "cannot make a snapshot id");
        goto err;
    }
    if (!o->no_encryption) {
        /* A fresh key, wrapped by the master key current now. */
        if ((key = wtkms_key_new()) == NULL || (keys = wtkms_secure_alloc(sizeof(*keys))) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            goto err;
        }
        if ((ret = wtkms_random_key(key->b)) != 0) {
            ret = wtkms_errf(err, ret, "no random bytes from OpenSSL");
            goto err;
        }
        if ((ret = o->kms->wrap(o->kms, key->b, &m->wrapped_key, &m->wrapped_len, &m->key, err)) !=
            0) {
            wtkms_err_prefix(err, "cannot wrap the snapshot key");
            goto err;
        }
        if ((ret = wtkms_snap_derive(key->b, m->id, keys)) != 0) {
            ret = wtkms_errf(err, ret, "key derivation failed");
            goto err;
        }
        m->encrypted = true;
    }

    (void)gethostname(m->source_host, sizeof(m->source_host) - 1);
    if ((real = realpath(o->home, NULL)) != NULL) {
        (void)snprintf(m->source_path, sizeof(m->source_path), "%s", real);
        free(real);
    } else
        (void)snprintf(m->source_path, sizeof(m->source_path), "%s", o->home);
    (void)snprintf(m->source_method, sizeof(m->source_method), "%s", src->method);
    (void)snprintf(m->wt_version, sizeof(m->wt_version), "%s", src->wt_version);
    m->nfiles = src->nfiles;
    if ((m->files = calloc(m->nfiles, sizeof(*m->files))) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    for (i = 0; i < m->nfiles; i++)
        if ((m->files[i].name = strdup(src->files[i].name)) == NULL) {
            ret = wtkms_errf(err, ENOMEM, "out of memory");
            goto err;
        }

    if ((ret = o->store->begin(o->store, m->id, err)) != 0)
        goto err;
    begun = true;
    if ((ret = copy_files(o, src, m, keys, err)) != 0)
        goto err;
    if (lock != NULL) {
        ret = wtkms_mongod_lock_release(lock, &m->lock_ms, err);
        lock = NULL;
        if (ret != 0)
            goto err;
    }
    /* The copy is complete: release the backup cursor before the (slower) commit. */
    tret = wtkms_source_close(src, err);
    src = NULL;
    if ((ret = tret) != 0)
        goto err;
    for (m->size = 0, i = 0; i < m->nfiles; i++)
        m->size += m->files[i].size;
    if ((ret = wtkms_manifest_encode(m, keys, &mbuf, &mlen, err)) != 0 ||
        (ret = o->store->commit(o->store, m->id, mbuf, mlen, err)) != 0)
        goto err;
    begun = false;
    m->authenticated = true;
    if (mp != NULL) {
        *mp = m;
        m = NULL;
    }
    ret = 0;
err:
    if (lock != NULL) {
        /* Never leave the server locked; the first error is the one reported. */
        wtkms_err_clear(&e2);
        if (wtkms_mongod_lock_release(lock, NULL, &e2) != 0)
            (void)wtkms_err_prefix(err, "%s; and", e2.msg);
    }
    if (begun)
        o->store->abort(o->store, m->id);
    if (src != NULL)
        (void)wtkms_source_close(src, NULL);
    free(mbuf);
    wtkms_key_free(key);
    if (keys != NULL)
        wtkms_secure_free(keys, sizeof(*keys));
    wtkms_manifest_free(m);
    return (ret);
}
