/* SPDX-License-Identifier: Apache-2.0 */
/*
 * block_bench.c -- wtkms_block_encrypt/decrypt against raw OpenSSL AES-256-GCM, side by side.
 *
 * "Raw" is what wtkms cannot do better than: one pre-keyed EVP context doing the same work per
 * block -- set the 96-bit nonce, authenticate the 24-byte header as AAD, encrypt (or decrypt),
 * produce (or check) the 16-byte tag. wtkms adds its slot pool, nonce counter, header and checks.
 *
 * Each round measures every (size, direction, implementation) once, alternating which of wtkms
 * and raw goes first, so drift on a shared machine hits both; the ratio is taken per round (raw
 * time / wtkms time = wtkms throughput relative to raw, times in thread CPU time) and the median
 * over rounds is reported with its quartiles and range.
 *
 * usage: block_bench [--rounds N] [--ms M]               timing (default 31 rounds, ~20 ms each)
 *        block_bench --callgrind SIZE ITERS              for valgrind --tool=callgrind: runs
 *            ITERS blocks of SIZE bytes through each of raw_seal, wtkms_seal, raw_open,
 *            wtkms_open, raw_seal_same (bench/run.sh collects each function's instructions with
 *            --toggle-collect)
 *        block_bench --callgrind-mixed KEYS SIZE ITERS   ITERS decryptions through
 * wtkms_open_mixed, cycling over blocks under KEYS different derived keys (KEYS nonce epochs, as
 * blocks of several opens are under several keys): what a slot pays when consecutive blocks are
 * under different keys
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "config.h"
#include "crypto.h"
#include "keystore.h"
#include "kms.h"

#define MAX_SIZE (32 * 1024)
#define NSIZES 3

static const size_t sizes[NSIZES] = { 256, 4096, 32768 };

typedef struct {
    wtkms_keyed *kd;
    EVP_CIPHER_CTX *renc, *rdec;
    uint8_t src[MAX_SIZE], dst[MAX_SIZE + WTKMS_BLOCK_OVERHEAD], out[MAX_SIZE];
    uint8_t raw_ct[MAX_SIZE + WTKMS_BLOCK_OVERHEAD]; /* header | ciphertext | tag, raw's layout */
    uint8_t wt_ct[MAX_SIZE + WTKMS_BLOCK_OVERHEAD];  /* a wtkms block of the current size */
    uint64_t nonce_ctr;
} bench;

static volatile uint64_t sink;

int main(int argc, char **argv);

/*
 * now --
 *     This thread's CPU time: on a machine shared with other work, time spent descheduled would
 *     swamp a measurement of a few milliseconds; CPU time leaves it out.
 */
static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
die(const char *what, const wtkms_err *err)
{
    (void)fprintf(stderr, "block_bench: %s: %s\n", what, err != NULL ? err->msg : "failed");
    exit(1);
}

/*
 * raw_seal_body --
 *     What wtkms does per block, minus wtkms: nonce, AAD, encrypt, tag on a pre-keyed context.
 */
static inline void
raw_seal_body(bench *b, size_t len)
{
    uint8_t *hdr = b->raw_ct;
    uint64_t c = b->nonce_ctr++;
    int n, i;

    /* The same 24-byte header a wtkms block carries; its last 12 bytes are the nonce. */
    memset(hdr, 0, 16);
    hdr[0] = 1;
    hdr[1] = 1;
    for (i = 0; i < 8; i++)
        hdr[16 + i] = (uint8_t)(c >> (56 - 8 * i));
    if (EVP_EncryptInit_ex(b->renc, NULL, NULL, NULL, hdr + WTKMS_BLOCK_NONCE_LOCATION) != 1 ||
        EVP_EncryptUpdate(b->renc, NULL, &n, hdr, WTKMS_BLOCK_HDR_LEN) != 1 ||
        EVP_EncryptUpdate(b->renc, b->raw_ct + WTKMS_BLOCK_HDR_LEN, &n, b->src, (int)len) != 1 ||
        EVP_EncryptFinal_ex(b->renc, b->raw_ct + WTKMS_BLOCK_HDR_LEN + len, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(b->renc, EVP_CTRL_GCM_GET_TAG, WTKMS_BLOCK_TAG_LEN,
          b->raw_ct + WTKMS_BLOCK_HDR_LEN + len) != 1)
        die("raw seal", NULL);
}

/*
 * The measured functions are never inlined or cloned, so callgrind's --toggle-collect finds them
 * by name and counts exactly the measured calls (setup goes through raw_seal_body).
 */
#define MEASURED __attribute__((noinline, noclone))

/*
 * raw_seal --
 *     One raw block.
 */
MEASURED static void
raw_seal(bench *b, size_t len)
{
    raw_seal_body(b, len);
}

/*
 * raw_seal_same --
 *     raw_seal through the OpenSSL calls wtkms's contexts use when their self-test allows (nonce
 *     by EVP_CTRL_GCM_SET_IV_FIXED, tag by EVP_CIPHER_CTX_get_params; src/crypto/crypto.c): the
 *     difference from wtkms_seal is then wtkms's own work only.
 */
MEASURED static void
raw_seal_same(bench *b, size_t len)
{
    uint8_t *hdr = b->raw_ct;
    uint64_t c = b->nonce_ctr++;
    OSSL_PARAM params[2];
    int n, i;

    if (!wtkms_gcm_fast_seal()) {
        raw_seal_body(b, len);
        return;
    }
    memset(hdr, 0, 16);
    hdr[0] = 1;
    hdr[1] = 1;
    for (i = 0; i < 8; i++)
        hdr[16 + i] = (uint8_t)(c >> (56 - 8 * i));
    params[0] = OSSL_PARAM_construct_octet_string(
      OSSL_CIPHER_PARAM_AEAD_TAG, b->raw_ct + WTKMS_BLOCK_HDR_LEN + len, WTKMS_BLOCK_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_CIPHER_CTX_ctrl(
          b->renc, EVP_CTRL_GCM_SET_IV_FIXED, -1, hdr + WTKMS_BLOCK_NONCE_LOCATION) != 1 ||
        EVP_EncryptUpdate(b->renc, NULL, &n, hdr, WTKMS_BLOCK_HDR_LEN) != 1 ||
        EVP_EncryptUpdate(b->renc, b->raw_ct + WTKMS_BLOCK_HDR_LEN, &n, b->src, (int)len) != 1 ||
        EVP_EncryptFinal_ex(b->renc, b->raw_ct + WTKMS_BLOCK_HDR_LEN + len, &n) != 1 ||
        EVP_CIPHER_CTX_get_params(b->renc, params) != 1)
        die("raw seal (same calls)", NULL);
}

/*
 * raw_open --
 *     Decrypt and verify what raw_seal made.
 */
MEASURED static void
raw_open(bench *b, size_t len)
{
    const uint8_t *hdr = b->raw_ct;
    int n;

    if (EVP_DecryptInit_ex(b->rdec, NULL, NULL, NULL, hdr + WTKMS_BLOCK_NONCE_LOCATION) != 1 ||
        EVP_DecryptUpdate(b->rdec, NULL, &n, hdr, WTKMS_BLOCK_HDR_LEN) != 1 ||
        EVP_DecryptUpdate(b->rdec, b->out, &n, b->raw_ct + WTKMS_BLOCK_HDR_LEN, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(b->rdec, EVP_CTRL_GCM_SET_TAG, WTKMS_BLOCK_TAG_LEN,
          b->raw_ct + WTKMS_BLOCK_HDR_LEN + len) != 1 ||
        EVP_DecryptFinal_ex(b->rdec, b->out + len, &n) != 1)
        die("raw open", NULL);
}

/*
 * wtkms_seal --
 *     One wtkms block.
 */
MEASURED static void
wtkms_seal(bench *b, size_t len)
{
    wtkms_err err;
    size_t r;

    if (wtkms_block_encrypt(b->kd, b->src, len, b->dst, len + WTKMS_BLOCK_OVERHEAD, &r, &err) != 0)
        die("wtkms encrypt", &err);
}

/*
 * wtkms_open --
 *     Open one wtkms block.
 */
MEASURED static void
wtkms_open(bench *b, size_t len)
{
    wtkms_err err;
    size_t r;

    if (wtkms_block_decrypt(b->kd, b->wt_ct, len + WTKMS_BLOCK_OVERHEAD, b->out, len, &r, &err) !=
        0)
        die("wtkms decrypt", &err);
}

#define MIXED_MAX 16
static uint8_t mixed_ct[MIXED_MAX][MAX_SIZE + WTKMS_BLOCK_OVERHEAD];
static int mixed_n, mixed_i;

/*
 * wtkms_open_mixed --
 *     Open the next of mixed_n blocks, each under another derived key.
 */
MEASURED static void
wtkms_open_mixed(bench *b, size_t len)
{
    wtkms_err err;
    size_t r;

    if (wtkms_block_decrypt(
          b->kd, mixed_ct[mixed_i], len + WTKMS_BLOCK_OVERHEAD, b->out, len, &r, &err) != 0)
        die("wtkms decrypt", &err);
    mixed_i = (mixed_i + 1) % mixed_n;
}

typedef void (*op_fn)(bench *, size_t);

/* raw: the textbook calls (the targets' baseline); same: the calls wtkms's contexts make. */
static const struct {
    const char *name;
    op_fn wtkms, raw, same;
} dirs[] = { { "encrypt", wtkms_seal, raw_seal, raw_seal_same },
    { "decrypt", wtkms_open, raw_open, raw_open } };

/*
 * prepare --
 *     Ciphertexts of the given size for both decrypt paths.
 */
static void
prepare(bench *b, size_t len)
{
    wtkms_err err;
    size_t r;

    if (wtkms_block_encrypt(b->kd, b->src, len, b->wt_ct, len + WTKMS_BLOCK_OVERHEAD, &r, &err) !=
        0)
        die("wtkms encrypt", &err);
    raw_seal_body(b, len);
}

static double
run(bench *b, op_fn fn, size_t len, long iters)
{
    double t;
    long i;

    t = now();
    for (i = 0; i < iters; i++)
        fn(b, len);
    t = now() - t;
    sink += b->out[0] + b->dst[WTKMS_BLOCK_HDR_LEN];
    return (t);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y ? -1 : x > y);
}

/* Quantile of a sorted array (linear interpolation). */
static double
quantile(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;

    return (i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[n - 1]);
}

/*
 * setup --
 *     A keystore under the local provider in a temporary home, one keyid.
 */
static void
setup(bench *b, char *dir, size_t dirlen)
{
    wtkms_config cfg;
    wtkms_keystore *ks;
    wtkms_engine *engine;
    wtkms_kms *kms;
    wtkms_err err;
    uint8_t key[32], rawkey[32];
    char keyfile[600];
    const char *tmp;
    int fd;

    memset(b, 0, sizeof(*b));
    tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    (void)snprintf(dir, dirlen, "%s/wtkms-bench-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", NULL);
    (void)snprintf(keyfile, sizeof(keyfile), "%s/master.key", dir);
    if (RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(rawkey, sizeof(rawkey)) != 1 ||
        RAND_bytes(b->src, sizeof(b->src)) != 1)
        die("random", NULL);
    if ((fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || close(fd) != 0)
        die("key file", NULL);

    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "block_bench");
    if (wtkms_config_set(&cfg, "provider", "local", &err) != 0 ||
        wtkms_config_set(&cfg, "key_file", keyfile, &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0)
        die("local provider", &err);
    if (wtkms_keystore_create(dir, kms, &ks, &err) != 0)
        die("keystore", &err);
    if (wtkms_engine_new(ks, &engine, &err) != 0 ||
        wtkms_keyed_new(engine, "bench", &b->kd, &err) != 0)
        die("engine", &err);
    wtkms_config_free(&cfg);
    /* The provider and engine live as long as the process. */

    if ((b->renc = EVP_CIPHER_CTX_new()) == NULL || (b->rdec = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(b->renc, EVP_aes_256_gcm(), NULL, rawkey, NULL) != 1 ||
        EVP_DecryptInit_ex(b->rdec, EVP_aes_256_gcm(), NULL, rawkey, NULL) != 1)
        die("EVP", NULL);
    /* The first wtkms encrypt records the open (one fsync): keep it out of every measurement. */
    prepare(b, 16);
}

static void
cleanup(const char *dir)
{
    char path[700];

    (void)snprintf(path, sizeof(path), "%s/master.key", dir);
    (void)unlink(path);
    (void)snprintf(path, sizeof(path), "%s/%s", dir, WTKMS_KEYSTORE_FILE);
    (void)unlink(path);
    (void)rmdir(dir);
}

int
main(int argc, char **argv)
{
    static bench b;
    double ratios[NSIZES][2][256], same[NSIZES][2][256], t_w, t_r, t_s, target;
    double bytes_per_sec[NSIZES][2];
    char dir[512];
    long iters[NSIZES], n;
    int rounds, ms, r, s, d, i, fail;

    rounds = 31;
    ms = 20;
    setup(&b, dir, sizeof(dir));

    if (argc == 5 && strcmp(argv[1], "--callgrind-mixed") == 0) {
        wtkms_err err;
        size_t len = strtoul(argv[3], NULL, 10), rl;

        mixed_n = atoi(argv[2]);
        n = strtol(argv[4], NULL, 10);
        if (mixed_n < 1 || mixed_n > MIXED_MAX || len == 0 || len > MAX_SIZE || n <= 0) {
            (void)fprintf(
              stderr, "block_bench: --callgrind-mixed KEYS(1..%d) SIZE ITERS\n", MIXED_MAX);
            return (2);
        }
        for (i = 0; i < mixed_n; i++) {
            /* Epoch i: the counter's high 32 bits select the derived key. */
            wtkms_keyed_test_set_counter(b.kd, (uint64_t)(i + 1) << 32);
            if (wtkms_block_encrypt(
                  b.kd, b.src, len, mixed_ct[i], len + WTKMS_BLOCK_OVERHEAD, &rl, &err) != 0)
                die("wtkms encrypt", &err);
        }
        (void)run(&b, wtkms_open_mixed, len, n);
        cleanup(dir);
        return (0);
    }
    if (argc == 4 && strcmp(argv[1], "--callgrind") == 0) {
        size_t len = strtoul(argv[2], NULL, 10);
        n = strtol(argv[3], NULL, 10);
        if (len == 0 || len > MAX_SIZE || n <= 0) {
            (void)fprintf(stderr, "block_bench: --callgrind SIZE(1..%d) ITERS\n", MAX_SIZE);
            return (2);
        }
        prepare(&b, len);
        for (d = 0; d < 2; d++) {
            (void)run(&b, dirs[d].raw, len, n);
            (void)run(&b, dirs[d].wtkms, len, n);
        }
        (void)run(&b, raw_seal_same, len, n);
        cleanup(dir);
        return (0);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms = atoi(argv[++i]);
        else {
            (void)fprintf(stderr, "usage: block_bench [--rounds N] [--ms M]\n");
            return (2);
        }
    }
    if (rounds < 1 || rounds > 256 || ms < 1) {
        (void)fprintf(stderr, "block_bench: --rounds 1..256, --ms >= 1\n");
        return (2);
    }

    /* Calibrate: iterations per measurement so raw encryption takes about ms milliseconds. */
    for (s = 0; s < NSIZES; s++) {
        prepare(&b, sizes[s]);
        for (n = 64;; n *= 2) {
            t_r = run(&b, raw_seal, sizes[s], n);
            if (t_r * 1000 >= ms / 4.0 || n > (1L << 28))
                break;
        }
        iters[s] = (long)(n * (ms / (t_r * 1000)));
        if (iters[s] < 16)
            iters[s] = 16;
    }

    for (r = 0; r < rounds; r++)
        for (s = 0; s < NSIZES; s++) {
            prepare(&b, sizes[s]);
            for (d = 0; d < 2; d++) {
                if ((r + s + d) % 2 == 0) {
                    t_w = run(&b, dirs[d].wtkms, sizes[s], iters[s]);
                    t_r = run(&b, dirs[d].raw, sizes[s], iters[s]);
                    t_s = d == 0 ? run(&b, dirs[d].same, sizes[s], iters[s]) : t_r;
                } else {
                    t_s = d == 0 ? run(&b, dirs[d].same, sizes[s], iters[s]) : 0;
                    t_r = run(&b, dirs[d].raw, sizes[s], iters[s]);
                    t_w = run(&b, dirs[d].wtkms, sizes[s], iters[s]);
                    if (d != 0)
                        t_s = t_r;
                }
                ratios[s][d][r] = t_r / t_w;
                same[s][d][r] = t_s / t_w;
                if (r == 0 || sizes[s] * iters[s] / t_w > bytes_per_sec[s][d])
                    bytes_per_sec[s][d] = (double)sizes[s] * (double)iters[s] / t_w;
            }
        }

    (void)printf("block throughput, wtkms relative to raw OpenSSL AES-256-GCM (pre-keyed EVP "
                 "context, 24-byte AAD, 16-byte tag)\n");
    (void)printf(
      "%d interleaved rounds; ratio = raw time / wtkms time per round (thread CPU time)\n\n",
      rounds);
    (void)printf(
      "raw: the textbook calls per block (EVP_EncryptInit_ex for the nonce, ctrl for the "
      "tag); same: raw through the calls wtkms makes (%s)\n\n",
      wtkms_gcm_fast_seal() ? "encryption: EVP_CTRL_GCM_SET_IV_FIXED and get_params"
                            : "the textbook ones: the fast-seal self-test failed");
    (void)printf("%-8s %-8s %8s %8s %17s %15s %8s %9s %s\n", "size", "op", "vs raw", "target",
      "quartiles", "range", "MB/s", "vs same", "");
    fail = 0;
    for (s = 0; s < NSIZES; s++)
        for (d = 0; d < 2; d++) {
            double *v = ratios[s][d], med;
            qsort(v, (size_t)rounds, sizeof(double), cmp_double);
            med = quantile(v, rounds, 0.5);
            target = sizes[s] >= 32768 ? 0.95 : 0.85;
            if (med < target)
                fail = 1;
            qsort(same[s][d], (size_t)rounds, sizeof(double), cmp_double);
            (void)printf("%-8zu %-8s %7.3fx %7.2fx   [%.3f, %.3f]  [%.3f, %.3f] %8.0f %8.3fx %s\n",
              sizes[s], dirs[d].name, med, target, quantile(v, rounds, 0.25),
              quantile(v, rounds, 0.75), v[0], v[rounds - 1], bytes_per_sec[s][d] / 1e6,
              quantile(same[s][d], rounds, 0.5), med >= target ? "ok" : "BELOW TARGET");
        }
    cleanup(dir);
    (void)sink;
    return (fail ? 3 : 0);
}
