/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_update.c -- every change to a keystore is a read-modify-write under one exclusive lock.
 *
 * The lock is an open-file-description lock (fcntl F_OFD_SETLK) on "wtkms.keystore.lock" beside
 * the keystore: released by the kernel when the holder dies, so a kill -9 never leaves it held.
 * Under the lock: re-read the keystore, authenticate it with the KSK held in memory (rotation
 * rewraps the KSK and never changes it, so no KMS call is needed), merge it into memory, apply
 * the change, write it atomically with the next generation. docs/FORMATS.md has the protocol.
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

#define KS_MAX_SIZE (64u << 20)
#define KS_LOCK_TIMEOUT_MS 30000 /* the holders keep it for milliseconds */
#define KS_LOCK_HOLDER_MAX 256

/*
 * test_hit --
 *     Whether a test setting "STEP[:...]" names step, and, with an occurrence ":N" at field
 *     nth_field, whether this is the Nth time the process reaches it.
 */
static bool
test_hit(const char *v, const char *step, int nth_field, unsigned *hits)
{
    const char *p;
    size_t len;
    long nth;
    int i;

    len = strcspn(v, ":");
    if (len != strlen(step) || strncmp(v, step, len) != 0)
        return (false);
    ++*hits;
    for (p = v, i = 0; i < nth_field && (p = strchr(p, ':')) != NULL; i++)
        p++;
    if (p == NULL || i < nth_field)
        return (true); /* no occurrence given: every time */
    nth = atol(p);
    return (nth <= 0 || (unsigned long)nth == *hits);
}

/*
 * wtkms_ks_test_point --
 *     Fault injection for the tests (docs/FORMATS.md): WTKMS_TEST_KS_KILL=STEP[:N] kills this
 *     process with SIGKILL at STEP (the Nth time it gets there); WTKMS_TEST_KS_PAUSE=STEP:MS[:N]
 *     holds it there MS milliseconds, saying so on stderr, so a test can interleave two processes
 *     exactly. Callers are serialized (one keystore change at a time per process).
 */
void
wtkms_ks_test_point(const char *step)
{
    static unsigned kill_hits, pause_hits;
    const char *v;
    struct timespec ts;
    long ms;

    if ((v = getenv("WTKMS_TEST_KS_PAUSE")) != NULL && test_hit(v, step, 2, &pause_hits) &&
        (ms = atol(v + strlen(step) + 1)) > 0) {
        (void)fprintf(stderr, "wtkms: test point %s: pausing %ld ms\n", step, ms);
        (void)fflush(stderr);
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        (void)nanosleep(&ts, NULL);
    }
    if ((v = getenv("WTKMS_TEST_KS_KILL")) != NULL && test_hit(v, step, 1, &kill_hits))
        (void)raise(SIGKILL);
}

/*
 * ks_lock --
 *     Take the keystore's lock, waiting at most KS_LOCK_TIMEOUT_MS; record who holds it.
 */
static int
ks_lock(const wtkms_keystore *ks, int *fdp, wtkms_err *err)
{
    struct flock fl;
    struct timespec ts;
    char holder[KS_LOCK_HOLDER_MAX], host[64];
    ssize_t n;
    long waited_ms, step_ms;
    long timeout_ms;
    const char *v;
    int fd, len;

    *fdp = -1;
    timeout_ms = KS_LOCK_TIMEOUT_MS;
    if ((v = getenv("WTKMS_TEST_KS_LOCK_TIMEOUT_MS")) != NULL && atol(v) > 0)
        timeout_ms = atol(v); /* a test point (docs/FORMATS.md) */
    if ((fd = open(ks->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return (wtkms_errf(err, errno, "keystore %s: cannot open its lock file %s: %s", ks->path,
          ks->lock_path, strerror(errno)));
    for (waited_ms = 0, step_ms = 1;;
         waited_ms += step_ms, step_ms = step_ms < 50 ? step_ms * 2 : 50) {
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
            break;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
            (void)close(fd);
            return (wtkms_errf(err, errno, "keystore %s: cannot lock %s: %s", ks->path,
              ks->lock_path, strerror(errno)));
        }
        if (waited_ms >= timeout_ms) {
            n = pread(fd, holder, sizeof(holder) - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\r\n")] = '\0';
            (void)close(fd);
            return (wtkms_errf(err, EBUSY,
              "keystore %s: its lock %s has been held for %ld s by %s: that process is changing "
              "the keystore; retry once it is done",
              ks->path, ks->lock_path, waited_ms / 1000, holder[0] ? holder : "another process"));
        }
        ts.tv_sec = 0;
        ts.tv_nsec = step_ms * 1000000L;
        (void)nanosleep(&ts, NULL);
    }
    host[0] = '\0';
    (void)gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    len = snprintf(holder, sizeof(holder), "pid %ld on %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, holder, (size_t)len, 0) != len) {
        /* Only the name in a later timeout message is lost: the lock is held. */
    }
    *fdp = fd;
    return (0);
}

/*
 * ks_unlock --
 *     Release the lock (closing the descriptor releases an OFD lock).
 */
static void
ks_unlock(int fd)
{
    if (fd >= 0)
        (void)close(fd);
}

/*
 * merge_roots --
 *     Take the data keys on disk; keep the unwrapped keys already in memory, unwrap the others
 *     with the KSK. A record in memory but not on disk was removed by compaction.
 */
static int
merge_roots(wtkms_keystore *ks, wtkms_keystore *d, wtkms_err *err)
{
    wtkms_ks_root *m, *r;
    uint32_t i;
    int ret;

    for (i = 0; i < d->nroots; i++) {
        r = &d->roots[i];
        if ((m = wtkms_keystore_root(ks, r->n)) != NULL) {
            if (strcmp(m->keyid, r->keyid) != 0 || memcmp(m->fp, r->fp, WTKMS_FP_LEN) != 0)
                return (wtkms_errf(err, EBADMSG,
                  "keystore %s: data key %u on disk is not the one this process holds (keyid %s "
                  "vs %s): the keystore was replaced by another home's or an older copy; restore "
                  "the right one",
                  ks->path, r->n, r->keyid, m->keyid));
            if (m->key != NULL) {
                r->key = m->key;
                m->key = NULL;
                continue;
            }
        }
        if ((ret = wtkms_ks_unwrap_root(ks, r, err)) != 0)
            return (ret);
    }
    return (0);
}

/*
 * merge_opens --
 *     Take the open records on disk; a record both sides hold must be the same record.
 */
static int
merge_opens(wtkms_keystore *ks, wtkms_keystore *d, wtkms_err *err)
{
    wtkms_ks_open *m;
    uint32_t i;

    for (i = 0; i < d->nopens; i++)
        if ((m = wtkms_keystore_open_rec(ks, d->opens[i].n)) != NULL &&
            memcmp(m->salt, d->opens[i].salt, WTKMS_SALT_LEN) != 0)
            return (wtkms_errf(err, EBADMSG,
              "keystore %s: open record %u on disk is not the one this process holds: the "
              "keystore was replaced by another home's or an older copy; restore the right one",
              ks->path, d->opens[i].n));
    return (0);
}

/*
 * take --
 *     Move d's records into ks (which keeps its KSK and paths), and free what ks had.
 */
static void
take(wtkms_keystore *ks, wtkms_keystore *d)
{
    wtkms_keystore old;
    uint32_t i;

    old = *ks;
    memcpy(ks->wraps, d->wraps, sizeof(ks->wraps));
    ks->nwraps = d->nwraps;
    ks->gen = d->gen;
    ks->file_version = d->file_version;
    ks->created = d->created;
    ks->roots = d->roots;
    ks->nroots = d->nroots;
    ks->opens = d->opens;
    ks->nopens = d->nopens;
    ks->loaded = d->loaded;
    ks->loaded_len = d->loaded_len;
    for (i = 0; i < old.nroots; i++) {
        free(old.roots[i].wrapped);
        wtkms_key_free(old.roots[i].key);
    }
    free(old.roots);
    free(old.opens);
    for (i = 0; i < old.nwraps; i++)
        wtkms_ks_wrap_clear(&old.wraps[i]);
    free(old.loaded);
    memset(d, 0, sizeof(*d));
    free(d);
}

/*
 * ks_refresh --
 *     Under the lock: make memory hold what the file holds, authenticated with the KSK in memory.
 *     Unless force is set, an unchanged file is not parsed again.
 */
static int
ks_refresh(wtkms_keystore *ks, bool force, wtkms_err *err)
{
    wtkms_keystore *d;
    char *img;
    size_t len;
    int ret;

    if ((ret = wtkms_read_file(ks->path, KS_MAX_SIZE, &img, &len, err)) != 0) {
        if (ret == ENOENT)
            wtkms_errf(err, ENOENT,
              "keystore %s disappeared while this process held it: restore it from a backup of "
              "this home; wtkms never creates a keystore for a home with data",
              ks->path);
        return (ret);
    }
    if (!force && ks->loaded != NULL && len == ks->loaded_len &&
        memcmp(img, ks->loaded, len) == 0) {
        free(img);
        return (0);
    }
    if ((ret = wtkms_ks_parse(ks->path, (uint8_t *)img, len, &d, err)) != 0)
        return (ret);
    if (memcmp(d->home_id, ks->home_id, sizeof(ks->home_id)) != 0) {
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s now belongs to another home (its home id changed while this process held "
          "it): put this home's keystore back from a backup",
          ks->path);
        goto err;
    }
    if ((ret = wtkms_ks_verify_mac(ks, d->loaded, d->loaded_len, ks->path, err)) != 0)
        goto err;
    if (d->gen < ks->gen) {
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s went back from generation %llu to %llu: an older copy was put in its "
          "place, which may lack data keys in use; put the newest copy back",
          ks->path, (unsigned long long)ks->gen, (unsigned long long)d->gen);
        goto err;
    }
    if ((ret = merge_roots(ks, d, err)) != 0 || (ret = merge_opens(ks, d, err)) != 0)
        goto err;
    take(ks, d);
    return (0);
err:
    wtkms_keystore_free(d);
    return (ret);
}

/*
 * wtkms_keystore_update --
 *     Lock, re-read and merge, change, write, unlock.
 */
int
wtkms_keystore_update(wtkms_keystore *ks, wtkms_ks_change change, void *arg, wtkms_err *err)
{
    wtkms_err ignore;
    uint8_t *img;
    size_t len;
    int fd, ret;

    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if ((ret = ks_lock(ks, &fd, err)) != 0)
        return (ret);
    wtkms_ks_test_point("locked");
    if ((ret = ks_refresh(ks, false, err)) != 0)
        goto done;
    wtkms_ks_test_point("merged");
    if (change != NULL && (ret = change(ks, arg, err)) != 0) {
        if (ret == WTKMS_KS_NOCHANGE)
            ret = 0;
        else
            (void)ks_refresh(ks, true, &ignore);
        goto done;
    }
    wtkms_ks_test_point("changed");
    ks->gen++;
    if ((ret = wtkms_ks_serialize(ks, &img, &len, err)) == 0 &&
        (ret = wtkms_write_file_atomic(ks->path, img, len, 0600, 0, err)) != 0)
        free(img);
    if (ret != 0) {
        /* Memory holds again exactly what the file holds (old or, if the rename happened, new). */
        ks->gen--;
        (void)ks_refresh(ks, true, &ignore);
        goto done;
    }
    free(ks->loaded);
    ks->loaded = img;
    ks->loaded_len = len;
    ks->file_version = WTKMS_KEYSTORE_VERSION;
    wtkms_ks_test_point("written");
done:
    ks_unlock(fd);
    return (ret);
}

/*
 * wtkms_keystore_save --
 *     Write the keystore as memory holds it, merged with the file.
 */
int
wtkms_keystore_save(wtkms_keystore *ks, wtkms_err *err)
{
    return (wtkms_keystore_update(ks, NULL, NULL, err));
}
