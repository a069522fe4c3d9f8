/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_helpers.h -- shared by the wtkms unit tests.
 *
 * Header only: SConstruct builds each unittests/test_*.c into its own binary, so every helper is
 * static. The one exception is the fsync/rename interposition below, which must be a global
 * definition to take the place of libc's in the test binary (the core is linked statically into
 * it, so the keystore's calls land here); include this header from exactly one file per binary.
 */
#ifndef WTKMS_TEST_HELPERS_H
#define WTKMS_TEST_HELPERS_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#define T_UNUSED __attribute__((unused))

#include "block.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "kms.h"

/* Messages must carry a cause a DBA can act on: check by substring. */
#define assert_msg_has(err, s)                                     \
    do {                                                           \
        if (strstr((err)->msg, (s)) == NULL)                       \
            fail_msg("message lacks \"%s\": %s", (s), (err)->msg); \
    } while (0)

/*
 * t_tmpdir --
 *     A fresh private directory (freed with t_rmtree).
 */
static T_UNUSED char *
t_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    char *d;

    (void)snprintf(tmpl, sizeof(tmpl), "%s/wtkms-ut-%s-XXXXXX", base ? base : "/tmp", tag);
    if ((d = mkdtemp(tmpl)) == NULL)
        fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
    return (strdup(d));
}

static T_UNUSED int
t_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return (remove(path));
}

/*
 * t_rmtree --
 *     Remove a directory made by t_tmpdir and free its name.
 */
static T_UNUSED void
t_rmtree(char *dir)
{
    if (dir == NULL)
        return;
    (void)nftw(dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/*
 * t_path --
 *     dir/name in a static rotating buffer (enough for a few at once).
 */
static T_UNUSED const char *
t_path(const char *dir, const char *name)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];

    (void)snprintf(b, PATH_MAX, "%s/%s", dir, name);
    return (b);
}

/*
 * t_write_file --
 *     Create or replace a file with exact content and mode.
 */
static T_UNUSED void
t_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd;

    (void)unlink(path);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    if (len > 0 && write(fd, data, len) != (ssize_t)len)
        fail_msg("write %s: %s", path, strerror(errno));
    (void)close(fd);
    if (chmod(path, mode) != 0)
        fail_msg("chmod %s: %s", path, strerror(errno));
}

/*
 * t_read_file --
 *     A whole file into a malloc'd buffer; *lenp its length. NULL if it does not exist.
 */
static T_UNUSED uint8_t *
t_read_file(const char *path, size_t *lenp)
{
    struct stat sb;
    uint8_t *buf;
    int fd;

    *lenp = 0;
    if ((fd = open(path, O_RDONLY)) < 0)
        return (NULL);
    if (fstat(fd, &sb) != 0)
        fail_msg("fstat %s", path);
    if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
        fail_msg("out of memory");
    if (sb.st_size > 0 && read(fd, buf, (size_t)sb.st_size) != sb.st_size)
        fail_msg("read %s", path);
    (void)close(fd);
    *lenp = (size_t)sb.st_size;
    return (buf);
}

/*
 * t_count_entries --
 *     Directory entries other than . and .. (a failed call must leave no temporary files).
 */
static T_UNUSED int
t_count_entries(const char *dir)
{
    DIR *d;
    struct dirent *de;
    int n = 0;

    if ((d = opendir(dir)) == NULL)
        fail_msg("opendir %s", dir);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    (void)closedir(d);
    return (n);
}

/*
 * t_random --
 *     Test data (not key material).
 */
static T_UNUSED void
t_random(void *p, size_t len)
{
    if (wtkms_random(p, len) != 0)
        fail_msg("no random bytes");
}

/*
 * t_make_key_file --
 *     A fresh random 32-byte local master key, mode 600, in dir; returns its path (static).
 */
static T_UNUSED const char *
t_make_key_file(const char *dir, const char *name)
{
    uint8_t key[32];
    const char *path = t_path(dir, name);

    t_random(key, sizeof(key));
    t_write_file(path, key, sizeof(key), 0600);
    return (path);
}

/*
 * t_local_kms --
 *     The local provider for a key file.
 */
static T_UNUSED wtkms_kms *
t_local_kms(const char *key_file)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    wtkms_err err;

    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "unit test config");
    if (wtkms_config_set(&cfg, "provider", "local", &err) != 0 ||
        wtkms_config_set(&cfg, "key_file", key_file, &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0 || wtkms_config_check_unused(&cfg, &err) != 0)
        fail_msg("local provider for %s: %s", key_file, err.msg);
    wtkms_config_free(&cfg);
    return (kms);
}

/*
 * t_keystore_open --
 *     What the extension does at open: create the keystore of an empty home, or load and unlock
 *     it. Returns the error code; *ksp is set on success.
 */
static T_UNUSED int
t_keystore_open(const char *home, const char *key_file, wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_kms *kms = t_local_kms(key_file);
    wtkms_keystore *ks = NULL;
    int ret;

    *ksp = NULL;
    wtkms_err_clear(err);
    if (!wtkms_keystore_exists(home))
        ret = wtkms_keystore_create(home, kms, &ks, err);
    else if ((ret = wtkms_keystore_load(home, &ks, err)) == 0 &&
             (ret = wtkms_keystore_unlock(ks, kms, err)) != 0) {
        wtkms_keystore_free(ks);
        ks = NULL;
    }
    wtkms_kms_close(kms);
    *ksp = ks;
    return (ret);
}

/*
 * t_engine_open --
 *     An engine over the home's keystore (made by the local provider); fails the test on error.
 */
static T_UNUSED wtkms_engine *
t_engine_open(const char *home, const char *key_file)
{
    wtkms_keystore *ks;
    wtkms_engine *e;
    wtkms_err err;

    if (t_keystore_open(home, key_file, &ks, &err) != 0)
        fail_msg("keystore of %s: %s", home, err.msg);
    if (wtkms_engine_new(ks, &e, &err) != 0)
        fail_msg("engine: %s", err.msg);
    return (e);
}

/*
 * t_keyed --
 *     The per-keyid state; fails the test on error.
 */
static T_UNUSED wtkms_keyed *
t_keyed(wtkms_engine *e, const char *keyid)
{
    wtkms_keyed *kd;
    wtkms_err err;

    if (wtkms_keyed_new(e, keyid, &kd, &err) != 0)
        fail_msg("keyed %s: %s", keyid, err.msg);
    return (kd);
}

/*
 * t_seal --
 *     Encrypt into a malloc'd block exactly as WiredTiger sizes it; fails the test on error.
 */
static T_UNUSED uint8_t *
t_seal(wtkms_keyed *kd, const uint8_t *src, size_t len, size_t *blen)
{
    uint8_t *dst;
    wtkms_err err;

    if ((dst = malloc(len + WTKMS_BLOCK_OVERHEAD)) == NULL)
        fail_msg("out of memory");
    if (wtkms_block_encrypt(kd, src, len, dst, len + WTKMS_BLOCK_OVERHEAD, blen, &err) != 0)
        fail_msg("encrypt %zu bytes: %s", len, err.msg);
    assert_int_equal(*blen, len + WTKMS_BLOCK_OVERHEAD);
    return (dst);
}

/*
 * t_plaintext_matches --
 *     How many bytes of out equal the plaintext at the same offset: a failed decrypt must leave
 *     no plaintext behind, so this stays near len/256 (chance) for random plaintext.
 */
static T_UNUSED size_t
t_plaintext_matches(const uint8_t *out, const uint8_t *pt, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++)
        n += out[i] == pt[i];
    return (n);
}

/*
 * File-operation log: fsync and rename in the test binary come here, so tests can check the
 * keystore's write discipline (temporary file fsync'd, renamed, directory fsync'd) and that a
 * block is never sealed before the records it names are durable.
 */
#define T_IO_MAX 256
typedef struct {
    char op; /* 'f' fsync, 'r' rename, 'l' link */
    char path[PATH_MAX];
    char to[PATH_MAX];
} t_io_event;

static t_io_event t_io_log[T_IO_MAX];
static int t_io_n;

static T_UNUSED void
t_io_record(char op, const char *path, const char *to)
{
    t_io_event *ev;

    if (t_io_n >= T_IO_MAX)
        return;
    ev = &t_io_log[t_io_n++];
    ev->op = op;
    (void)snprintf(ev->path, sizeof(ev->path), "%s", path);
    (void)snprintf(ev->to, sizeof(ev->to), "%s", to ? to : "");
}

/* Global definitions replacing libc's for this binary: keep the prototypes' exact types. */
int
fsync(int fd)
{
    char link[64], path[PATH_MAX];
    ssize_t n;

    (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
        n = 0;
    path[n] = '\0';
    t_io_record('f', path, NULL);
    return ((int)syscall(SYS_fsync, fd));
}

int
rename(const char *from, const char *to)
{
    t_io_record('r', from, to);
    return ((int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to));
}

int
link(const char *from, const char *to)
{
    t_io_record('l', from, to);
    return ((int)syscall(SYS_linkat, AT_FDCWD, from, AT_FDCWD, to, 0));
}

static T_UNUSED void
t_io_reset(void)
{
    t_io_n = 0;
}

/*
 * t_io_find --
 *     The index of the first event at or after from with op and a path (or target) ending in
 *     suffix (or holding it, for temporary names), or -1.
 */
static T_UNUSED int
t_io_find(int from, char op, const char *path_has, const char *to_has)
{
    int i;

    for (i = from; i < t_io_n; i++)
        if (t_io_log[i].op == op && (path_has == NULL || strstr(t_io_log[i].path, path_has)) &&
            (to_has == NULL || strstr(t_io_log[i].to, to_has)))
            return (i);
    return (-1);
}

/*
 * t_assert_durable_write --
 *     The log shows one atomic, durable replacement of the keystore in home: the temporary file
 *     fsync'd, then renamed (or linked) onto the keystore, then the directory fsync'd.
 */
static T_UNUSED void
t_assert_durable_write(const char *home)
{
    char ks[PATH_MAX + 64], tmp[PATH_MAX + 64], real[PATH_MAX];
    int f, r, d;

    /* /proc/self/fd names are canonical: compare with the canonical home. */
    if (realpath(home, real) == NULL)
        fail_msg("realpath %s", home);
    (void)snprintf(ks, sizeof(ks), "%s/%s", real, WTKMS_KEYSTORE_FILE);
    (void)snprintf(tmp, sizeof(tmp), "%s/%s.tmp.", real, WTKMS_KEYSTORE_FILE);
    if ((f = t_io_find(0, 'f', tmp, NULL)) < 0)
        fail_msg(
          "the keystore's temporary file was never fsync'd (%d file operations seen)", t_io_n);
    r = t_io_find(f, 'r', WTKMS_KEYSTORE_FILE ".tmp.", WTKMS_KEYSTORE_FILE);
    if (r < 0)
        r = t_io_find(f, 'l', WTKMS_KEYSTORE_FILE ".tmp.", WTKMS_KEYSTORE_FILE);
    if (r < 0)
        fail_msg("the fsync'd temporary keystore was never renamed onto %s", ks);
    for (d = r + 1; d < t_io_n; d++)
        if (t_io_log[d].op == 'f' && strcmp(t_io_log[d].path, real) == 0)
            break;
    if (d >= t_io_n)
        fail_msg(
          "the home directory %s was not fsync'd after the keystore was renamed into it", real);
}

/*
 * t_fsyncs_of --
 *     How many fsync calls touched the keystore (temporary file or directory) of home.
 */
static T_UNUSED int
t_fsyncs_of(const char *home)
{
    char real[PATH_MAX];
    int i, n = 0;

    if (realpath(home, real) == NULL)
        fail_msg("realpath %s", home);
    for (i = 0; i < t_io_n; i++)
        if (t_io_log[i].op == 'f' && strncmp(t_io_log[i].path, real, strlen(real)) == 0)
            n++;
    return (n);
}

#endif
