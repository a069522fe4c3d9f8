/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_bench.c -- a WiredTiger workload with wtkms, without encryption, with a copy-only
 * encryptor of the same expansion and (when built) WiredTiger's sodium example encryptor, run
 * side by side in one process.
 *
 * One run of a variant, in a fresh home: open with the journal on (log=(enabled=true), commits
 * not synced: the default, as mongod's journal), insert ROWS rows one transaction each (one
 * journal record, so one encrypt call, per row), checkpoint, close; reopen with a small cache
 * and scan every row SCANS times (every page not in the cache read back and decrypted), close.
 * Every variant uses connection encryption only (the table inherits it), with config_base=false
 * as mongod opens. With a cache smaller than the table and several scans the second half is
 * decrypt-heavy; its wall and CPU times are also reported alone ("scan").
 *
 * Rounds interleave the variants (the order rotates each round) so that drift on a shared
 * machine hits all of them; each ratio is taken within a round, and the median over rounds is
 * printed with its quartiles and range, for wall time and for CPU time (this process's user +
 * system time, every WiredTiger thread included: less sensitive to other tenants).
 *
 * usage: wt_bench --wtkms LIB --copy LIB [--sodium LIB] [--rows N] [--value BYTES]
 *            [--rounds R] [--cache-mb M] [--scans S] [--dir DIR] [--only none|copy|wtkms|sodium]
 * --only runs one variant once after a warm-up run and prints its time (bench/run.sh runs it under
 * callgrind; the measured run is dumped in two parts: 1 insert and checkpoint, 2 reopen and
 * scans).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <wiredtiger.h>

/*
 * Under callgrind, --only zeroes the counters after a warm-up run and dumps them after the
 * measured run, so a count leaves out what a process pays once (WiredTiger's library
 * initialization spins on a clock calibration loop: billions of instructions under valgrind) and
 * includes every thread. Outside valgrind the requests do nothing.
 */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_ZERO_STATS
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s)
#endif

#define MAXV 4
#define MAXROUNDS 200

typedef struct {
    const char *name;
    const char *lib;
    char config[2048]; /* wiredtiger_open additions: extension and encryption */
    double wall[MAXROUNDS], cpu[MAXROUNDS], tcpu[MAXROUNDS], wall_ins[MAXROUNDS],
      wall_scan[MAXROUNDS], cpu_scan[MAXROUNDS], tcpu_scan[MAXROUNDS];
} variant;

static char key_file[600], dir[512];
static unsigned long rows = 100000, value_len = 200, cache_mb = 2, scans = 1;
static int cg_split; /* the measured --only run: dump the insert half apart from the scans */

int main(int argc, char **argv);

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * thread_cpu_now --
 *     This thread's CPU time: it does the encrypting and decrypting (journal records at commit,
 *     pages at checkpoint, page reads in the scan), and unlike the process's CPU time it leaves
 *     out WiredTiger's background threads, whose spinning and yielding vary run to run.
 */
static double
thread_cpu_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static double
cpu_now(void)
{
    struct rusage ru;

    (void)getrusage(RUSAGE_SELF, &ru);
    return ((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
}

#define CHECK(call)                                                                      \
    do {                                                                                 \
        int _r = (call);                                                                 \
        if (_r != 0) {                                                                   \
            (void)fprintf(stderr, "wt_bench: %s: %s\n", #call, wiredtiger_strerror(_r)); \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/*
 * empty_dir --
 *     Remove the files of a home (flat) and the home itself.
 */
static void
empty_dir(const char *path)
{
    DIR *d;
    struct dirent *e;
    char p[1024];

    if ((d = opendir(path)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (void)snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        (void)unlink(p);
    }
    (void)closedir(d);
    (void)rmdir(path);
}

/*
 * run_variant --
 *     One insert + checkpoint + reopen + scan run; times into the variant's slot r.
 */
static void
run_variant(variant *v, int r)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    char home[600], cfg[4096], key[32], *value;
    const char *k, *val;
    unsigned long i, n;
    double t0, c0, tc0, t1, c1, tc1;
    unsigned long sc;

    (void)snprintf(home, sizeof(home), "%s/home-%s", dir, v->name);
    empty_dir(home);
    if (mkdir(home, 0700) != 0) {
        (void)fprintf(stderr, "wt_bench: mkdir %s: %s\n", home, strerror(errno));
        exit(1);
    }
    if ((value = malloc(value_len + 1)) == NULL)
        exit(1);
    for (i = 0; i < value_len; i++)
        value[i] = (char)('a' + (i * 7 + 3) % 26);
    value[value_len] = '\0';

    t0 = now();
    c0 = cpu_now();
    tc0 = thread_cpu_now();
    (void)snprintf(cfg, sizeof(cfg),
      "create,config_base=false,log=(enabled=true),cache_size=256MB,statistics=(none)%s",
      v->config);
    CHECK(wiredtiger_open(home, NULL, cfg, &conn));
    CHECK(conn->open_session(conn, NULL, NULL, &s));
    CHECK(s->create(s, "table:bench", "key_format=S,value_format=S"));
    CHECK(s->open_cursor(s, "table:bench", NULL, NULL, &c));
    for (i = 0; i < rows; i++) {
        (void)snprintf(key, sizeof(key), "key%010lu", i);
        /* Vary the value a little so pages differ. */
        memcpy(value, key, 13 < value_len ? 13 : value_len);
        CHECK(s->begin_transaction(s, NULL));
        c->set_key(c, key);
        c->set_value(c, value);
        CHECK(c->insert(c));
        CHECK(s->commit_transaction(s, NULL));
    }
    CHECK(c->close(c));
    CHECK(s->checkpoint(s, NULL));
    CHECK(conn->close(conn, NULL));
    t1 = now();
    c1 = cpu_now();
    tc1 = thread_cpu_now();
    if (cg_split)
        CALLGRIND_DUMP_STATS_AT("insert and checkpoint");

    (void)snprintf(cfg, sizeof(cfg),
      "config_base=false,log=(enabled=true),cache_size=%luMB,statistics=(none)%s", cache_mb,
      v->config);
    CHECK(wiredtiger_open(home, NULL, cfg, &conn));
    CHECK(conn->open_session(conn, NULL, NULL, &s));
    CHECK(s->open_cursor(s, "table:bench", NULL, NULL, &c));
    for (sc = 0; sc < scans; sc++) {
        n = 0;
        while (c->next(c) == 0) {
            CHECK(c->get_key(c, &k));
            CHECK(c->get_value(c, &val));
            n++;
        }
        CHECK(c->reset(c));
        if (n != rows) {
            (void)fprintf(stderr, "wt_bench: %s: scanned %lu rows of %lu\n", v->name, n, rows);
            exit(1);
        }
    }
    CHECK(conn->close(conn, NULL));
    v->wall[r] = now() - t0;
    v->cpu[r] = cpu_now() - c0;
    v->tcpu[r] = thread_cpu_now() - tc0;
    v->wall_ins[r] = t1 - t0;
    v->wall_scan[r] = v->wall[r] - v->wall_ins[r];
    v->cpu_scan[r] = cpu_now() - c1;
    v->tcpu_scan[r] = thread_cpu_now() - tc1;
    free(value);
    empty_dir(home);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y ? -1 : x > y);
}

static double
quantile(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;

    return (i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[n - 1]);
}

static double
median_of(const double *x, int n)
{
    double s[MAXROUNDS];

    memcpy(s, x, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return (quantile(s, n, 0.5));
}

/*
 * ratio --
 *     Print the per-round ratio a/b: median, quartiles, range; against a target if given.
 */
static int
ratio(const char *label, const double *a, const double *b, int n, double lo, double hi)
{
    double q[MAXROUNDS], med;
    int i, ok;

    for (i = 0; i < n; i++)
        q[i] = a[i] / b[i];
    qsort(q, (size_t)n, sizeof(double), cmp_double);
    med = quantile(q, n, 0.5);
    ok = !(hi > 0 && med > hi) && !(lo > 0 && med < lo);
    (void)printf("  %-16s %6.3fx   [%.3f, %.3f]   [%.3f, %.3f]", label, med, quantile(q, n, 0.25),
      quantile(q, n, 0.75), q[0], q[n - 1]);
    if (hi > 0 && lo > 0)
        (void)printf("   expected %.2f-%.2fx %s", lo, hi, ok ? "" : "(outside)");
    else if (hi > 0)
        (void)printf("   target <= %.2fx %s", hi, ok ? "ok" : "MISSED");
    (void)printf("\n");
    return (ok);
}

static void
usage(void)
{
    (void)fprintf(stderr,
      "usage: wt_bench --wtkms LIB --copy LIB [--sodium LIB] [--rows N] [--value BYTES] "
      "[--rounds R] [--cache-mb M] [--scans S] [--dir DIR] [--only none|copy|wtkms|sodium]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    variant vs[MAXV], *order[MAXV], *none, *copy, *wt, *sodium;
    uint8_t key[32];
    char hex[65];
    const char *wtkms_lib, *copy_lib, *sodium_lib, *only, *base;
    int rounds, nv, r, i, j, fd, missed;

    wtkms_lib = copy_lib = sodium_lib = only = NULL;
    base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    rounds = 15;
    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--wtkms") == 0)
            wtkms_lib = argv[++i];
        else if (strcmp(argv[i], "--copy") == 0)
            copy_lib = argv[++i];
        else if (strcmp(argv[i], "--sodium") == 0)
            sodium_lib = argv[++i];
        else if (strcmp(argv[i], "--rows") == 0)
            rows = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--value") == 0)
            value_len = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cache-mb") == 0)
            cache_mb = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--scans") == 0)
            scans = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            base = argv[++i];
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[++i];
        else
            usage();
    }
    if (wtkms_lib == NULL || copy_lib == NULL || rows == 0 || value_len < 16 || rounds < 1 ||
        rounds > MAXROUNDS || cache_mb < 1 || scans < 1)
        usage();

    (void)snprintf(dir, sizeof(dir), "%s/wtkms-wtbench-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        (void)fprintf(stderr, "wt_bench: mkdtemp %s: %s\n", dir, strerror(errno));
        return (1);
    }
    (void)snprintf(key_file, sizeof(key_file), "%s/master.key", dir);
    if (RAND_bytes(key, sizeof(key)) != 1 ||
        (fd = open(key_file, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
        write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || close(fd) != 0) {
        (void)fprintf(stderr, "wt_bench: cannot write %s\n", key_file);
        return (1);
    }

    memset(vs, 0, sizeof(vs));
    nv = 0;
    none = &vs[nv++];
    none->name = "none";
    copy = &vs[nv++];
    copy->name = "copy";
    (void)snprintf(copy->config, sizeof(copy->config),
      ",extensions=[%s],encryption=(name=copy,keyid=system)", copy_lib);
    wt = &vs[nv++];
    wt->name = "wtkms";
    (void)snprintf(wt->config, sizeof(wt->config),
      ",extensions=[%s=(config=(provider=local,key_file=\"%s\"))],encryption=(name=wtkms,"
      "keyid=system)",
      wtkms_lib, key_file);
    sodium = NULL;
    if (sodium_lib != NULL) {
        /* The example takes its key inline (secretkey=): fine for a benchmark, not for data. */
        if (RAND_bytes(key, sizeof(key)) != 1)
            return (1);
        for (i = 0; i < 32; i++)
            (void)snprintf(hex + 2 * i, 3, "%02x", key[i]);
        sodium = &vs[nv++];
        sodium->name = "sodium";
        (void)snprintf(sodium->config, sizeof(sodium->config),
          ",extensions=[%s],encryption=(name=sodium,secretkey=%s)", sodium_lib, hex);
    }

    if (only != NULL) {
        for (i = 0; i < nv; i++)
            if (strcmp(vs[i].name, only) == 0) {
                run_variant(&vs[i], 1); /* warm-up */
                CALLGRIND_ZERO_STATS;
                cg_split = 1;
                run_variant(&vs[i], 0);
                CALLGRIND_DUMP_STATS_AT("reopen and scans");
                (void)printf("%s: %.3f s wall (insert %.3f, scan %.3f), %.3f s cpu (scan %.3f)\n",
                  vs[i].name, vs[i].wall[0], vs[i].wall_ins[0], vs[i].wall_scan[0], vs[i].cpu[0],
                  vs[i].cpu_scan[0]);
                empty_dir(dir);
                (void)unlink(key_file);
                (void)rmdir(dir);
                return (0);
            }
        usage();
    }

    (void)printf("WiredTiger %s; %lu rows of %lu-byte values, one transaction each, journal on; "
                 "checkpoint; reopen with cache_size=%luMB; %lu full scan(s)\n",
      wiredtiger_version(NULL, NULL, NULL), rows, value_len, cache_mb, scans);
    (void)printf(
      "%d rounds (after one warm-up), variants interleaved, order rotated per round\n", rounds);
    (void)fflush(stdout);
    for (i = 0; i < nv; i++)
        run_variant(&vs[i], 0); /* warm-up: page cache, lazy binding, extension loading */
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < nv; i++)
            order[i] = &vs[(i + r) % nv];
        for (j = 0; j < nv; j++)
            run_variant(order[j], r);
    }

    (void)printf("\nmedian seconds per run (wall: insert + scan; process cpu: total, scan; "
                 "main-thread cpu)\n");
    for (i = 0; i < nv; i++)
        (void)printf("  %-8s %7.3f = %6.3f + %6.3f   cpu %7.3f (scan %6.3f)   thread %7.3f\n",
          vs[i].name, median_of(vs[i].wall, rounds), median_of(vs[i].wall_ins, rounds),
          median_of(vs[i].wall_scan, rounds), median_of(vs[i].cpu, rounds),
          median_of(vs[i].cpu_scan, rounds), median_of(vs[i].tcpu, rounds));

    missed = 0;
    (void)printf("\nratios (per round; median   [quartiles]   [range])\n wall time\n");
    missed += !ratio("wtkms / copy", wt->wall, copy->wall, rounds, 0, 1.08);
    (void)ratio("wtkms / none", wt->wall, none->wall, rounds, 0, 0);
    (void)ratio("copy / none", copy->wall, none->wall, rounds, 0, 0);
    if (sodium != NULL) {
        (void)ratio("sodium / none", sodium->wall, none->wall, rounds, 0, 0);
        (void)ratio("sodium / wtkms", sodium->wall, wt->wall, rounds, 0, 0);
    }
    (void)ratio("insert wtkms/copy", wt->wall_ins, copy->wall_ins, rounds, 0, 0);
    (void)ratio("scan wtkms/copy", wt->wall_scan, copy->wall_scan, rounds, 0, 0);
    (void)printf(" process cpu time\n");
    (void)ratio("wtkms / copy", wt->cpu, copy->cpu, rounds, 0, 1.08);
    (void)ratio("wtkms / none", wt->cpu, none->cpu, rounds, 0, 0);
    (void)ratio("copy / none", copy->cpu, none->cpu, rounds, 0, 0);
    if (sodium != NULL) {
        (void)ratio("sodium / none", sodium->cpu, none->cpu, rounds, 0, 0);
        (void)ratio("sodium / wtkms", sodium->cpu, wt->cpu, rounds, 0, 0);
    }
    (void)printf(" scan (reopen, cold cache, every scan: decrypt-heavy) process cpu time\n");
    missed += !ratio("wtkms / copy", wt->cpu_scan, copy->cpu_scan, rounds, 0, 1.08);
    (void)ratio("wtkms / none", wt->cpu_scan, none->cpu_scan, rounds, 0, 0);
    (void)ratio("copy / none", copy->cpu_scan, none->cpu_scan, rounds, 0, 0);
    if (sodium != NULL)
        (void)ratio("sodium / wtkms", sodium->cpu_scan, wt->cpu_scan, rounds, 0, 0);
    (void)printf(" scan main-thread cpu time\n");
    (void)ratio("wtkms / copy", wt->tcpu_scan, copy->tcpu_scan, rounds, 0, 1.08);
    (void)printf(" main-thread cpu time (where every encrypt and decrypt of this workload runs)\n");
    (void)ratio("wtkms / copy", wt->tcpu, copy->tcpu, rounds, 0, 1.08);
    (void)ratio("wtkms / none", wt->tcpu, none->tcpu, rounds, 0, 0);
    (void)ratio("copy / none", copy->tcpu, none->tcpu, rounds, 0, 0);
    if (sodium != NULL) {
        (void)ratio("sodium / none", sodium->tcpu, none->tcpu, rounds, 0, 0);
        (void)ratio("sodium / wtkms", sodium->tcpu, wt->tcpu, rounds, 0, 0);
    }
    (void)unlink(key_file);
    (void)rmdir(dir);
    return (missed ? 3 : 0);
}
