/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_compact.c -- retire keystore records that no block can name any more.
 *
 * A scan reads every byte of every file under the home (and any other directory holding its
 * blocks, such as a journal kept elsewhere) and marks each data key and open record that a wtkms
 * block header could name there: a header is recognised wherever its fixed bytes appear, at any
 * offset, so a stale copy in freed space or a chance match only keeps a record, never loses one.
 * Then, under the keystore lock, a record is removed only if the scan found no header naming it
 * and no block can be written under it later:
 *   - an open record older than the newest one at the scan's start (only the newest open's
 *     process can still be writing, and a process that opens later gets a newer record);
 *   - a data key that is not its keyid's newest (new blocks of a keyid use its newest key);
 *   - a keyid's newest data key only when no process has the home open (the caller's is_live,
 *     asked under the keystore lock: WiredTiger.lock is free) and no open began since the scan
 *     started.
 * docs/FORMATS.md, "Retiring records".
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "fileio.h"

#define SCAN_CHUNK (1u << 20)
#define HDR_LEN 24 /* a block header: version, cipher, flags, root, open, zero, counter */
#define MAX_NUMBERED (1u << 24) /* records a compaction handles (a bitmap per kind) */
#define MAX_DEPTH 16

/* The fixed bytes of a block header (src/encryptor/block.h): version 1, AES-256-GCM, no flags. */
static const uint8_t hdr_prefix[4] = { 0x01, 0x01, 0x00, 0x00 };

static inline void
mark(uint8_t *bits, uint32_t max, uint32_t n)
{
    if (n >= 1 && n <= max)
        bits[n / 8] |= (uint8_t)(1u << (n % 8));
}

static inline bool
marked(const uint8_t *bits, uint32_t max, uint32_t n)
{
    return (n >= 1 && n <= max && (bits[n / 8] & (1u << (n % 8))) != 0);
}

/*
 * scan_buf --
 *     Mark what every header-shaped run in buf names.
 */
static void
scan_buf(wtkms_ks_scan *sc, const uint8_t *buf, size_t len)
{
    const uint8_t *p, *end;

    for (p = buf, end = buf + len; end - p >= HDR_LEN;) {
        if ((p = memmem(p, (size_t)(end - p - (HDR_LEN - 4)), hdr_prefix, 4)) == NULL)
            break;
        if (wtkms_get_be32(p + 12) == 0) {
            mark(sc->roots, sc->max_root, wtkms_get_be32(p + 4));
            mark(sc->opens, sc->max_open, wtkms_get_be32(p + 8));
            sc->headers++;
        }
        p++;
    }
}

/*
 * scan_file --
 *     One file, in chunks that overlap by a header's length.
 */
static int
scan_file(wtkms_ks_scan *sc, const char *path, uint8_t *buf, wtkms_err *err)
{
    ssize_t n;
    size_t have;
    int fd, ret;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno == ENOENT) /* removed since the directory was read: it held nothing then */
            return (0);
        return (wtkms_errf(err, errno, "%s: %s", path, strerror(errno)));
    }
    ret = 0;
    for (have = 0;;) {
        if ((n = read(fd, buf + have, SCAN_CHUNK - have)) < 0) {
            if (errno == EINTR)
                continue;
            ret = wtkms_errf(err, errno, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (n == 0) {
            scan_buf(sc, buf, have);
            break;
        }
        have += (size_t)n;
        sc->bytes += (uint64_t)n;
        if (have < SCAN_CHUNK)
            continue;
        scan_buf(sc, buf, have);
        /* Keep the tail: a header may straddle two chunks. */
        memmove(buf, buf + have - (HDR_LEN - 1), HDR_LEN - 1);
        have = HDR_LEN - 1;
    }
    (void)close(fd);
    sc->files++;
    return (ret);
}

/*
 * scan_dir --
 *     Every regular file below dir (symbolic links are not followed), but the keystore's own.
 */
static int
scan_dir(wtkms_ks_scan *sc, const char *dir, int depth, uint8_t *buf, wtkms_err *err)
{
    DIR *d;
    struct dirent *de;
    struct stat sb;
    char path[4096];
    int ret;

    if (depth > MAX_DEPTH)
        return (wtkms_errf(err, ELOOP, "%s: directories nested deeper than %d", dir, MAX_DEPTH));
    if ((d = opendir(dir)) == NULL)
        return (wtkms_errf(err, errno, "%s: %s", dir, strerror(errno)));
    ret = 0;
    while (ret == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strncmp(de->d_name, WTKMS_KEYSTORE_FILE, strlen(WTKMS_KEYSTORE_FILE)) == 0)
            continue;
        if ((ret = wtkms_path_join(path, sizeof(path), dir, de->d_name, err)) != 0)
            break;
        if (lstat(path, &sb) != 0) {
            if (errno != ENOENT)
                ret = wtkms_errf(err, errno, "%s: %s", path, strerror(errno));
            continue;
        }
        if (S_ISDIR(sb.st_mode))
            ret = scan_dir(sc, path, depth + 1, buf, err);
        else if (S_ISREG(sb.st_mode))
            ret = scan_file(sc, path, buf, err);
    }
    (void)closedir(d);
    return (ret);
}

/*
 * wtkms_keystore_scan --
 *     Which of ks's records a block under dirs can name.
 */
int
wtkms_keystore_scan(const wtkms_keystore *ks, const char *const *dirs, size_t ndirs,
  wtkms_ks_scan *sc, wtkms_err *err)
{
    uint8_t *buf;
    size_t i;
    int ret;

    memset(sc, 0, sizeof(*sc));
    sc->max_root = ks->nroots > 0 ? ks->roots[ks->nroots - 1].n : 0;
    sc->max_open = ks->nopens > 0 ? ks->opens[ks->nopens - 1].n : 0;
    if (sc->max_root >= MAX_NUMBERED || sc->max_open >= MAX_NUMBERED)
        return (wtkms_errf(err, E2BIG,
          "keystore %s numbers more than %u records: compaction does not handle it", ks->path,
          MAX_NUMBERED));
    if ((sc->roots = calloc(sc->max_root / 8 + 1, 1)) == NULL ||
        (sc->opens = calloc(sc->max_open / 8 + 1, 1)) == NULL ||
        (buf = malloc(SCAN_CHUNK)) == NULL) {
        wtkms_keystore_scan_free(sc);
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    }
    for (ret = 0, i = 0; ret == 0 && i < ndirs; i++)
        ret = scan_dir(sc, dirs[i], 0, buf, err);
    free(buf);
    if (ret != 0)
        wtkms_keystore_scan_free(sc);
    return (ret);
}

/*
 * wtkms_keystore_scan_free --
 *     Free a scan's marks.
 */
void
wtkms_keystore_scan_free(wtkms_ks_scan *sc)
{
    free(sc->roots);
    free(sc->opens);
    sc->roots = sc->opens = NULL;
}

/*
 * newest_of_keyid --
 *     Whether root i is its keyid's newest data key.
 */
static bool
newest_of_keyid(const wtkms_keystore *ks, uint32_t i)
{
    uint32_t j;

    for (j = i + 1; j < ks->nroots; j++)
        if (strcmp(ks->roots[j].keyid, ks->roots[i].keyid) == 0)
            return (false);
    return (true);
}

/*
 * wtkms_keystore_compact_change --
 *     Inside an update (wtkms_ks_change): remove what the scan proved unnamed and nothing can
 *     write under any more. arg is the wtkms_ks_compact the caller filled.
 */
int
wtkms_keystore_compact_change(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    wtkms_ks_compact *c = arg;
    const wtkms_ks_scan *sc = c->scan;
    uint32_t i, keep;
    bool live;

    (void)err;
    /* An open that began since the scan started is a live process too. */
    live = c->is_live == NULL || c->is_live(c->home) ||
           (ks->nopens > 0 && ks->opens[ks->nopens - 1].n > sc->max_open);
    c->removed_roots = c->removed_opens = 0;
    for (keep = 0, i = 0; i < ks->nroots; i++) {
        wtkms_ks_root *r = &ks->roots[i];
        if (r->n <= sc->max_root && !marked(sc->roots, sc->max_root, r->n) &&
            (!newest_of_keyid(ks, i) || !live)) {
            c->removed_roots++;
            if (!c->dry_run) {
                free(r->wrapped);
                wtkms_key_free(r->key);
                continue;
            }
        }
        ks->roots[keep++] = *r;
    }
    if (!c->dry_run)
        ks->nroots = keep;
    for (keep = 0, i = 0; i < ks->nopens; i++) {
        wtkms_ks_open *o = &ks->opens[i];
        if (o->n < sc->max_open && !marked(sc->opens, sc->max_open, o->n)) {
            c->removed_opens++;
            if (!c->dry_run)
                continue;
        }
        ks->opens[keep++] = *o;
    }
    if (!c->dry_run)
        ks->nopens = keep;
    c->kept_roots = ks->nroots - (c->dry_run ? c->removed_roots : 0);
    c->kept_opens = ks->nopens - (c->dry_run ? c->removed_opens : 0);
    return (c->dry_run || (c->removed_roots == 0 && c->removed_opens == 0) ? WTKMS_KS_NOCHANGE : 0);
}
