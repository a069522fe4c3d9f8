/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_gen.c -- make a WiredTiger home of a given size for bench/snapshot_bench.sh: one table
 * loaded through a bulk cursor with incompressible 8 KiB values, encrypted when CONFIG loads the
 * wtkms extension, then a checkpoint. Fast enough to make 4 GiB in about a minute.
 *
 * usage: snap_gen HOME CONFIG TABLECFG MIB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

#define VALUE_LEN 8192

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    WT_ITEM v;
    unsigned long long x, rows, i;
    uint64_t *w;
    char key[32], cfg[512];
    size_t n;
    int ret;

    if (argc != 5) {
        (void)fprintf(stderr, "usage: snap_gen HOME CONFIG TABLECFG MIB\n");
        return (2);
    }
    rows = strtoull(argv[4], NULL, 10) * 1024 * 1024 / VALUE_LEN;
    if ((w = malloc(VALUE_LEN)) == NULL)
        return (1);
    if ((ret = wiredtiger_open(argv[1], NULL, argv[2], &conn)) != 0 ||
        (ret = conn->open_session(conn, NULL, NULL, &s)) != 0) {
        (void)fprintf(stderr, "snap_gen: open: %s\n", wiredtiger_strerror(ret));
        return (1);
    }
    (void)snprintf(
      cfg, sizeof(cfg), "key_format=S,value_format=u%s%s", argv[3][0] ? "," : "", argv[3]);
    if ((ret = s->create(s, "table:bench", cfg)) != 0 ||
        (ret = s->open_cursor(s, "table:bench", NULL, "bulk", &c)) != 0) {
        (void)fprintf(stderr, "snap_gen: table: %s\n", wiredtiger_strerror(ret));
        return (1);
    }
    x = 0x9E3779B97F4A7C15ULL;
    for (i = 0; i < rows; i++) {
        for (n = 0; n < VALUE_LEN / sizeof(uint64_t); n++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w[n] = x;
        }
        (void)snprintf(key, sizeof(key), "%012llu", i);
        v.data = w;
        v.size = VALUE_LEN;
        c->set_key(c, key);
        c->set_value(c, &v);
        if ((ret = c->insert(c)) != 0) {
            (void)fprintf(stderr, "snap_gen: insert: %s\n", wiredtiger_strerror(ret));
            return (1);
        }
    }
    if ((ret = c->close(c)) != 0 || (ret = s->checkpoint(s, NULL)) != 0 ||
        (ret = conn->close(conn, NULL)) != 0) {
        (void)fprintf(stderr, "snap_gen: close: %s\n", wiredtiger_strerror(ret));
        return (1);
    }
    free(w);
    return (0);
}
