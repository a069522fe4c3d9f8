/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore_bench.c -- the cost of the keystore lock: the first write of a keyid records its data
 * key with one locked read-modify-write (wtkms_keystore_update: lock, re-read and compare, write
 * with fsync, unlock). Measured against the same write without the lock and the re-read (what a
 * save cost before the protocol), interleaved, in the same run, in the same directory.
 *
 * usage: keystore_bench DIR [ROUNDS]   prints medians and the ratio locked/unlocked
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "keystore.h"
#include "kms.h"

int main(int argc, char **argv);

static double
now_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3);
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x < y ? -1 : x > y);
}

static void
die(const char *what, const wtkms_err *err)
{
    (void)fprintf(stderr, "keystore_bench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(1);
}

/* Inside the update: one more data key. */
static int
add_key(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    wtkms_ks_root *r;
    char keyid[32];

    (void)snprintf(keyid, sizeof(keyid), "k%u", (*(unsigned *)arg)++);
    return (wtkms_keystore_add_root(ks, keyid, &r, err));
}

int
main(int argc, char **argv)
{
    wtkms_config cfg;
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    wtkms_ks_root *r;
    uint8_t *img;
    size_t len;
    unsigned i, rounds, n;
    double *locked, *plain, t;
    char keyfile[4096], keyid[32];
    uint8_t key[32];
    int fd;

    if (argc < 2)
        die("usage: keystore_bench DIR [ROUNDS]", NULL);
    rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 200;
    if (rounds == 0 || (locked = calloc(rounds, sizeof(double))) == NULL ||
        (plain = calloc(rounds, sizeof(double))) == NULL)
        die("rounds", NULL);
    (void)snprintf(keyfile, sizeof(keyfile), "%s/master.key", argv[1]);
    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)rand();
    if ((fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || close(fd) != 0)
        die("key file", NULL);
    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "keystore_bench");
    if (wtkms_config_set(&cfg, "key_file", keyfile, &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0 ||
        wtkms_keystore_create(argv[1], kms, &ks, &err) != 0)
        die("keystore", &err);
    for (n = 0, i = 0; i < rounds; i++) {
        t = now_us();
        if (wtkms_keystore_update(ks, add_key, &n, &err) != 0)
            die("locked update", &err);
        locked[i] = now_us() - t;
        /* The same change, saved the way it was before: serialize, write atomically. */
        t = now_us();
        (void)snprintf(keyid, sizeof(keyid), "k%u", n++);
        ks->gen++;
        if (wtkms_keystore_add_root(ks, keyid, &r, &err) != 0 ||
            wtkms_ks_serialize(ks, &img, &len, &err) != 0 ||
            wtkms_write_file_atomic(ks->path, img, len, 0600, 0, &err) != 0)
            die("plain write", &err);
        free(ks->loaded);
        ks->loaded = img;
        ks->loaded_len = len;
        plain[i] = now_us() - t;
    }
    qsort(locked, rounds, sizeof(double), cmp);
    qsort(plain, rounds, sizeof(double), cmp);
    (void)printf(
      "first write of a keyid, %u rounds interleaved (keystore grows to %u data keys):\n", rounds,
      n);
    (void)printf("  locked read-modify-write: median %.0f us\n", locked[rounds / 2]);
    (void)printf("  plain atomic write:       median %.0f us\n", plain[rounds / 2]);
    (void)printf("  ratio locked/plain:       %.3f\n", locked[rounds / 2] / plain[rounds / 2]);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);
    free(locked);
    free(plain);
    return (0);
}
