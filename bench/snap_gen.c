/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_gen.c -- make a WiredTiger home of a given size for bench/snapshot_bench.sh: one table
 * loaded through a bulk cursor with 8 KiB values, encrypted when CONFIG loads the wtkms extension,
 * then a checkpoint. Fast enough to make 4 GiB in about a minute.
 *
 * Values are incompressible (random), or with "mixed" of mixed compressibility, row by row: a
 * third random, a third text of words and numbers (zstd -1 makes it about a third), a third
 * documents of one template with a few changing fields (a tenth or less).
 *
 * usage: snap_gen HOME CONFIG TABLECFG MIB [mixed]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

#define VALUE_LEN 8192

int main(int argc, char **argv);

static const char *const words[] = { "order", "customer", "shipped", "pending", "invoice", "berlin",
    "paris", "status", "amount", "total", "priority", "express", "standard", "returned", "item",
    "quantity", "warehouse", "north", "south", "payment", "card", "transfer", "refund", "note" };

/*
 * next --
 *     xorshift64.
 */
static uint64_t
next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (*x);
}

/*
 * fill --
 *     One value of the row's kind (mixed) or random.
 */
static void
fill(uint8_t *v, unsigned long long row, bool mixed, uint64_t *x)
{
    size_t n;
    int len;

    if (!mixed || row % 3 == 0) {
        for (n = 0; n + sizeof(uint64_t) <= VALUE_LEN; n += sizeof(uint64_t)) {
            uint64_t r = next(x);
            memcpy(v + n, &r, sizeof(r));
        }
        return;
    }
    if (row % 3 == 1) { /* text */
        for (n = 0; n < VALUE_LEN;) {
            uint64_t r = next(x);
            len = snprintf((char *)v + n, VALUE_LEN - n, "%s %llu ",
              words[r % (sizeof(words) / sizeof(words[0]))], (unsigned long long)(r >> 40));
            if (len < 0 || (size_t)len >= VALUE_LEN - n)
                break;
            n += (size_t)len;
        }
        memset(v + n, ' ', VALUE_LEN - n);
        return;
    }
    for (n = 0; n < VALUE_LEN;) { /* documents of one template */
        len = snprintf((char *)v + n, VALUE_LEN - n,
          "{\"_id\": %llu, \"status\": \"shipped\", \"qty\": %u, \"warehouse\": \"north\"} ",
          row * 100 + n, (unsigned)(next(x) % 10));
        if (len < 0 || (size_t)len >= VALUE_LEN - n)
            break;
        n += (size_t)len;
    }
    memset(v + n, ' ', VALUE_LEN - n);
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    WT_ITEM v;
    unsigned long long rows, i;
    uint64_t *w, x;
    char key[32], cfg[512];
    int ret;

    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "mixed") == 0)) {
        (void)fprintf(stderr, "usage: snap_gen HOME CONFIG TABLECFG MIB [mixed]\n");
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
        fill((uint8_t *)w, i, argc == 6, &x);
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
