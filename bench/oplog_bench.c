/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oplog_bench.c -- throughput of the oplog segmenter (entries in, sealed segments out) and of
 * export (segments in, entries out), with and without encryption, side by side in one run.
 *
 *     build/bench/oplog_bench [--entries N] [--runs R] [--file PATH] [--dir DIR]
 *
 * The input is a BSON file of realistic oplog entries (inserts of 150-900 byte documents, $v: 2
 * updates, deletes, a few transactions' applyOps), generated once into PATH (default
 * .cache/bench/oplog-N.bson) and read into memory, so the figures measure the segmenter, not a
 * server (no test server could feed it fast enough). Each mode runs R times, interleaved; the
 * median and the spread are printed. "seal" keeps segments in memory (CPU only); "write" also
 * writes each segment atomically (temporary file, fsync, rename, fsync of the directory).
 */
#define _GNU_SOURCE
#include <bson/bson.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kms.h"
#include "oplog_catalog.h"
#include "oplog_export.h"
#include "oplog_segmenter.h"

#define MAX_RUNS 31

typedef struct {
    uint8_t *data;
    size_t len;
    size_t *off; /* entry offsets */
    size_t n;
} input;

static double
now_s(clockid_t c)
{
    struct timespec ts;

    (void)clock_gettime(c, &ts);
    return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * gen_entry --
 *     One oplog entry, shaped like mongod 6.0/7.0 writes them.
 */
static void
gen_entry(bson_t *b, uint32_t secs, uint32_t inc, uint64_t i, unsigned r)
{
    static const uint8_t ui[16] = { 0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
        0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    bson_t o, o2, diff, u, arr, op;
    bson_oid_t oid;
    char pad[1024];
    unsigned kind = r % 100, len;

    bson_oid_init(&oid, NULL);
    len = 150 + (r >> 8) % 750;
    memset(pad, 'a' + (int)(i % 26), sizeof(pad));
    if (kind < 2) {
        /* A small transaction: applyOps with two inserts. */
        bson_t lsid;
        BSON_APPEND_DOCUMENT_BEGIN(b, "lsid", &lsid);
        BSON_APPEND_BINARY(&lsid, "id", BSON_SUBTYPE_UUID, ui, 16);
        bson_append_document_end(b, &lsid);
        BSON_APPEND_INT64(b, "txnNumber", (int64_t)i);
        BSON_APPEND_UTF8(b, "op", "c");
        BSON_APPEND_UTF8(b, "ns", "admin.$cmd");
        BSON_APPEND_DOCUMENT_BEGIN(b, "o", &o);
        BSON_APPEND_ARRAY_BEGIN(&o, "applyOps", &arr);
        for (int k = 0; k < 2; k++) {
            bson_t d;
            char key[4];
            (void)snprintf(key, sizeof(key), "%d", k);
            BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &op);
            BSON_APPEND_UTF8(&op, "op", "i");
            BSON_APPEND_UTF8(&op, "ns", "shop.orders");
            BSON_APPEND_BINARY(&op, "ui", BSON_SUBTYPE_UUID, ui, 16);
            BSON_APPEND_DOCUMENT_BEGIN(&op, "o", &d);
            BSON_APPEND_INT64(&d, "_id", (int64_t)(i * 2 + (uint64_t)k));
            bson_append_utf8(&d, "note", -1, pad, (int)(len / 2));
            bson_append_document_end(&op, &d);
            bson_append_document_end(&arr, &op);
        }
        bson_append_array_end(&o, &arr);
        bson_append_document_end(b, &o);
    } else if (kind < 72) {
        BSON_APPEND_UTF8(b, "op", "i");
        BSON_APPEND_UTF8(b, "ns", "shop.orders");
        BSON_APPEND_BINARY(b, "ui", BSON_SUBTYPE_UUID, ui, 16);
        BSON_APPEND_DOCUMENT_BEGIN(b, "o", &o);
        BSON_APPEND_OID(&o, "_id", &oid);
        BSON_APPEND_INT64(&o, "customer", (int64_t)(r % 100000));
        BSON_APPEND_DOUBLE(&o, "total", (double)(r % 10000) / 100.0);
        BSON_APPEND_UTF8(&o, "state", "new");
        BSON_APPEND_DATE_TIME(&o, "at", (int64_t)secs * 1000);
        bson_append_utf8(&o, "items", -1, pad, (int)len);
        bson_append_document_end(b, &o);
        BSON_APPEND_DOCUMENT_BEGIN(b, "o2", &o2);
        BSON_APPEND_OID(&o2, "_id", &oid);
        bson_append_document_end(b, &o2);
    } else if (kind < 94) {
        BSON_APPEND_UTF8(b, "op", "u");
        BSON_APPEND_UTF8(b, "ns", "shop.orders");
        BSON_APPEND_BINARY(b, "ui", BSON_SUBTYPE_UUID, ui, 16);
        BSON_APPEND_DOCUMENT_BEGIN(b, "o", &o);
        BSON_APPEND_INT32(&o, "$v", 2);
        BSON_APPEND_DOCUMENT_BEGIN(&o, "diff", &diff);
        BSON_APPEND_DOCUMENT_BEGIN(&diff, "u", &u);
        BSON_APPEND_UTF8(&u, "state", "paid");
        BSON_APPEND_DATE_TIME(&u, "paidAt", (int64_t)secs * 1000);
        bson_append_document_end(&diff, &u);
        bson_append_document_end(&o, &diff);
        bson_append_document_end(b, &o);
        BSON_APPEND_DOCUMENT_BEGIN(b, "o2", &o2);
        BSON_APPEND_OID(&o2, "_id", &oid);
        bson_append_document_end(b, &o2);
    } else {
        BSON_APPEND_UTF8(b, "op", "d");
        BSON_APPEND_UTF8(b, "ns", "shop.orders");
        BSON_APPEND_BINARY(b, "ui", BSON_SUBTYPE_UUID, ui, 16);
        BSON_APPEND_DOCUMENT_BEGIN(b, "o", &o);
        BSON_APPEND_OID(&o, "_id", &oid);
        bson_append_document_end(b, &o);
    }
    BSON_APPEND_TIMESTAMP(b, "ts", secs, inc);
    BSON_APPEND_INT64(b, "t", 7);
    BSON_APPEND_INT64(b, "v", 2);
    BSON_APPEND_DATE_TIME(b, "wall", (int64_t)secs * 1000 + inc % 1000);
}

/*
 * generate --
 *     Write n entries to path.
 */
static int
generate(const char *path, uint64_t n)
{
    FILE *f;
    bson_t b;
    uint64_t i;
    uint32_t secs = 1700000000, inc = 0;
    unsigned r = 12345;
    char tmp[4200];

    (void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((f = fopen(tmp, "w")) == NULL)
        return (errno);
    for (i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        if (++inc > 5000) {
            secs++;
            inc = 1;
        }
        bson_init(&b);
        gen_entry(&b, secs, inc, i, r >> 4);
        if (fwrite(bson_get_data(&b), 1, b.len, f) != b.len) {
            bson_destroy(&b);
            (void)fclose(f);
            return (EIO);
        }
        bson_destroy(&b);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return (errno);
    return (0);
}

/*
 * load --
 *     Read the file and index its entries.
 */
static int
load(const char *path, input *in)
{
    struct stat sb;
    size_t off, cap;
    uint32_t dlen;
    FILE *f;

    if (stat(path, &sb) != 0 || (f = fopen(path, "r")) == NULL)
        return (errno);
    in->len = (size_t)sb.st_size;
    if ((in->data = malloc(in->len)) == NULL || fread(in->data, 1, in->len, f) != in->len) {
        (void)fclose(f);
        return (EIO);
    }
    (void)fclose(f);
    cap = 1024;
    in->off = malloc(cap * sizeof(size_t));
    for (off = 0, in->n = 0; off + 4 <= in->len; off += dlen) {
        memcpy(&dlen, in->data + off, 4);
        if (dlen < 5 || dlen > in->len - off)
            return (EILSEQ);
        if (in->n == cap)
            in->off = realloc(in->off, (cap *= 2) * sizeof(size_t));
        in->off[in->n++] = off;
    }
    return (0);
}

typedef struct {
    double wall, cpu;
} sample;

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x < y ? -1 : x > y);
}

/*
 * rm_store --
 *     Remove a store directory's files.
 */
static void
rm_store(const char *dir)
{
    char cmd[4300];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        (void)fprintf(stderr, "oplog_bench: cannot remove %s\n", dir);
}

/*
 * run_segmenter --
 *     All entries through a segmenter; write to dir when it is not NULL.
 */
static int
run_segmenter(const input *in, wtkms_kms *kms, const char *dir, sample *s)
{
    wtkms_segmenter sg;
    wtkms_oplog_store *store;
    wtkms_err err;
    double w0, c0;
    size_t i, next;
    int ret;

    store = NULL;
    wtkms_err_clear(&err);
    if (dir != NULL) {
        rm_store(dir);
        if ((ret = wtkms_oplog_store_open(dir, NULL, true, &store, &err)) != 0)
            goto err;
    }
    w0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if ((ret = wtkms_segmenter_init(&sg, store, kms, WTKMS_SEGMENT_BYTES_DEFAULT, 3600, &err)) != 0)
        goto err;
    for (i = 0; i < in->n; i++) {
        next = i + 1 < in->n ? in->off[i + 1] : in->len;
        if ((ret = wtkms_segmenter_add(&sg, in->data + in->off[i], next - in->off[i], &err)) != 0)
            break;
    }
    if (ret == 0)
        ret = wtkms_segmenter_flush(&sg, &err);
    s->wall = now_s(CLOCK_MONOTONIC) - w0;
    s->cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    wtkms_segmenter_free(&sg);
err:
    wtkms_oplog_store_close(store);
    if (ret != 0)
        (void)fprintf(stderr, "oplog_bench: %s\n", err.msg);
    return (ret);
}

/*
 * export_entry --
 *     Append an entry to the output file.
 */
static int
export_entry(void *arg, const uint8_t *doc, size_t len, wtkms_ts ts, wtkms_err *err)
{
    (void)ts;
    return (wtkms_bson_out_write(arg, doc, len, err));
}

/*
 * run_export --
 *     Every entry back out of a store (decrypt, check, walk), into a BSON file.
 */
static int
run_export(const char *dir, wtkms_kms *kms, const char *out, uint64_t want, sample *s)
{
    wtkms_oplog_store *store;
    wtkms_oplog_catalog cat;
    wtkms_oplog_keys *keys;
    wtkms_bson_out bo;
    wtkms_err err;
    wtkms_ts first, last;
    double w0, c0;
    int ret;

    wtkms_err_clear(&err);
    w0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if ((ret = wtkms_oplog_store_open(dir, NULL, false, &store, &err)) != 0)
        goto done;
    if ((ret = wtkms_oplog_catalog_load(store, &cat, &err)) != 0)
        goto done;
    wtkms_oplog_catalog_range(&cat, &first, &last);
    keys = wtkms_oplog_keys_new(kms);
    if ((ret = wtkms_bson_out_open(&bo, out, true, &err)) == 0) {
        ret = wtkms_oplog_scan(&cat, keys, first - 1, last, export_entry, &bo, &err);
        if (ret == 0)
            ret = wtkms_bson_out_commit(&bo, &err);
        else
            wtkms_bson_out_abort(&bo);
    }
    if (ret == 0 && bo.count != want) {
        (void)fprintf(stderr, "oplog_bench: exported %" PRIu64 " entries, expected %" PRIu64 "\n",
          bo.count, want);
        ret = EILSEQ;
    }
    wtkms_oplog_keys_free(keys);
    wtkms_oplog_catalog_free(&cat);
    wtkms_oplog_store_close(store);
done:
    s->wall = now_s(CLOCK_MONOTONIC) - w0;
    s->cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (ret != 0)
        (void)fprintf(stderr, "oplog_bench: %s\n", err.msg);
    return (ret);
}

/*
 * median --
 *     Median of n values (sorted in place).
 */
static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/*
 * report --
 *     One line: median rates over the runs, with the spread of the wall-clock rate.
 */
static void
report(const char *what, const sample *s, int runs, uint64_t n, uint64_t bytes)
{
    double rate[MAX_RUNS] = { 0 }, cpu[MAX_RUNS] = { 0 }, lo, hi;
    int i;

    for (i = 0; i < runs; i++) {
        rate[i] = (double)n / s[i].wall;
        cpu[i] = (double)n / s[i].cpu;
    }
    lo = hi = rate[0];
    for (i = 1; i < runs; i++) {
        lo = rate[i] < lo ? rate[i] : lo;
        hi = rate[i] > hi ? rate[i] : hi;
    }
    double m = median(rate, runs);
    (void)printf("%-18s %12.0f %9.1f %14.0f   [%.0f .. %.0f]\n", what, m,
      m * ((double)bytes / (double)n) / 1e6, median(cpu, runs), lo, hi);
}

/*
 * ratio --
 *     Median over runs of encrypted/plain throughput (each pair from the same round).
 */
static double
ratio(const sample *enc, const sample *plain, int runs, bool cpu)
{
    double r[MAX_RUNS];
    int i;

    for (i = 0; i < runs; i++)
        r[i] = cpu ? plain[i].cpu / enc[i].cpu : plain[i].wall / enc[i].wall;
    return (median(r, runs));
}

int main(int argc, char **argv);

/*
 * main --
 *     Generate or load the input, then interleave the modes.
 */
int
main(int argc, char **argv)
{
    input in;
    wtkms_config cfg;
    wtkms_kms *kms;
    wtkms_err err;
    sample seal_p[MAX_RUNS], seal_e[MAX_RUNS], wr_p[MAX_RUNS], wr_e[MAX_RUNS], ex_p[MAX_RUNS],
      ex_e[MAX_RUNS];
    uint64_t nentries = 500000;
    uint8_t key[WTKMS_KEY_LEN];
    char path[4096], dir[4096], keyfile[4200], sp[4200], se[4200], out[4200];
    const char *file = NULL, *base = NULL;
    int runs = 5, i, fd, ret;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
            nentries = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            (void)fprintf(
              stderr, "usage: oplog_bench [--entries N] [--runs R] [--file PATH] [--dir DIR]\n");
            return (2);
        }
    }
    if (runs < 1 || runs > MAX_RUNS || nentries == 0) {
        (void)fprintf(stderr, "oplog_bench: --runs 1..%d, --entries > 0\n", MAX_RUNS);
        return (2);
    }
    if (file == NULL) {
        (void)mkdir(".cache", 0755);
        (void)mkdir(".cache/bench", 0755);
        (void)snprintf(path, sizeof(path), ".cache/bench/oplog-%" PRIu64 ".bson", nentries);
        file = path;
    }
    if (access(file, R_OK) != 0) {
        (void)fprintf(
          stderr, "oplog_bench: generating %" PRIu64 " oplog entries into %s\n", nentries, file);
        if ((ret = generate(file, nentries)) != 0) {
            (void)fprintf(stderr, "oplog_bench: %s: %s\n", file, strerror(ret));
            return (1);
        }
    }
    memset(&in, 0, sizeof(in));
    if ((ret = load(file, &in)) != 0) {
        (void)fprintf(stderr, "oplog_bench: %s: %s\n", file, strerror(ret));
        return (1);
    }
    (void)snprintf(dir, sizeof(dir), "%s/oplog-bench.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        (void)fprintf(stderr, "oplog_bench: mkdtemp %s: %s\n", dir, strerror(errno));
        return (1);
    }
    (void)snprintf(keyfile, sizeof(keyfile), "%s/master.key", dir);
    (void)snprintf(sp, sizeof(sp), "%s/plain", dir);
    (void)snprintf(se, sizeof(se), "%s/enc", dir);
    (void)snprintf(out, sizeof(out), "%s/out.bson", dir);
    if (wtkms_random_key(key) != 0 || (fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || close(fd) != 0) {
        (void)fprintf(stderr, "oplog_bench: cannot write %s\n", keyfile);
        return (1);
    }
    wtkms_err_clear(&err);
    wtkms_config_init(&cfg, "oplog_bench");
    if (wtkms_config_set(&cfg, "key_file", keyfile, &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0) {
        (void)fprintf(stderr, "oplog_bench: %s\n", err.msg);
        return (1);
    }

    (void)fprintf(stderr, "oplog_bench: %zu entries, %zu bytes (%.0f bytes each), %d runs\n", in.n,
      in.len, (double)in.len / (double)in.n, runs);
    for (i = 0; i < runs; i++) {
        /* Alternate which goes first so drift on a shared machine hits both alike. */
        if (i % 2 == 0) {
            ret = run_segmenter(&in, NULL, NULL, &seal_p[i]) ||
                  run_segmenter(&in, kms, NULL, &seal_e[i]) ||
                  run_segmenter(&in, NULL, sp, &wr_p[i]) || run_segmenter(&in, kms, se, &wr_e[i]) ||
                  run_export(sp, NULL, out, in.n, &ex_p[i]) ||
                  run_export(se, kms, out, in.n, &ex_e[i]);
        } else {
            ret = run_segmenter(&in, kms, NULL, &seal_e[i]) ||
                  run_segmenter(&in, NULL, NULL, &seal_p[i]) ||
                  run_segmenter(&in, kms, se, &wr_e[i]) || run_segmenter(&in, NULL, sp, &wr_p[i]) ||
                  run_export(se, kms, out, in.n, &ex_e[i]) ||
                  run_export(sp, NULL, out, in.n, &ex_p[i]);
        }
        if (ret != 0)
            return (1);
        (void)fprintf(stderr, "oplog_bench: round %d/%d done\n", i + 1, runs);
    }
    (void)printf("oplog segmenter and export, %zu entries of %.0f bytes on average, %d interleaved "
                 "runs (median, [min .. max] of entries/s)\n",
      in.n, (double)in.len / (double)in.n, runs);
    (void)printf("%-18s %12s %9s %14s\n", "mode", "entries/s", "MB/s", "entries/cpu-s");
    report("seal plain", seal_p, runs, in.n, in.len);
    report("seal encrypted", seal_e, runs, in.n, in.len);
    report("write plain", wr_p, runs, in.n, in.len);
    report("write encrypted", wr_e, runs, in.n, in.len);
    report("export plain", ex_p, runs, in.n, in.len);
    report("export encrypted", ex_e, runs, in.n, in.len);
    (void)printf("encrypted / plain, wall clock:  seal %.3fx, write %.3fx, export %.3fx\n",
      ratio(seal_e, seal_p, runs, false), ratio(wr_e, wr_p, runs, false),
      ratio(ex_e, ex_p, runs, false));
    (void)printf("encrypted / plain, CPU time:    seal %.3fx, write %.3fx, export %.3fx\n",
      ratio(seal_e, seal_p, runs, true), ratio(wr_e, wr_p, runs, true),
      ratio(ex_e, ex_p, runs, true));
    rm_store(dir);
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);
    free(in.data);
    free(in.off);
    return (0);
}
