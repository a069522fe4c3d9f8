/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_rows.c -- test program for tests/snapshot: write rows into a WiredTiger home, check every
 * row of a restored home, or hold a home open (a live process for the "in use" refusal).
 *
 * usage: snap_rows write HOME CONFIG TABLECFG COUNT VALUE_BYTES
 *        snap_rows check HOME CONFIG COUNT VALUE_BYTES
 *        snap_rows hold HOME CONFIG
 *
 * write: create table:t with TABLECFG (e.g. "encryption=(name=wtkms,keyid=tbl)", or "" for
 *     none), insert rows 0..COUNT-1 in one transaction per 1000 rows, checkpoint, close.
 * check: every row 0..COUNT-1 is there with its exact value and no other row; prints
 *     "checked N rows".
 * hold: open the home, print "ready", wait for stdin to close, close the home.
 * Row i: key "key-%08d"; value VALUE_BYTES pseudo-random letters seeded by i (incompressible
 * enough that chunking sees real data). Exit 0 on success, 1 on any failure (reason on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

int main(int argc, char **argv);

/*
 * make_value --
 *     Row i's value: xorshift letters.
 */
static void
make_value(unsigned long i, char *out, size_t len)
{
    unsigned long long x = 0x9E3779B97F4A7C15ULL ^ (i + 1) * 0xBF58476D1CE4E5B9ULL;
    size_t n;

    for (n = 0; n < len; n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[n] = (char)('a' + x % 26);
    }
    out[len] = '\0';
}

/*
 * fail --
 *     Report a WiredTiger error.
 */
static int
fail(const char *what, int ret)
{
    (void)fprintf(stderr, "snap_rows: %s: %s\n", what, wiredtiger_strerror(ret));
    return (1);
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    unsigned long count, i, seen, vlen;
    char key[32], *want, buf[64];
    const char *k, *v;
    int ret;

    if (argc < 4) {
        (void)fprintf(stderr, "usage: snap_rows write|check|hold HOME CONFIG ...\n");
        return (2);
    }
    if ((ret = wiredtiger_open(argv[2], NULL, argv[3], &conn)) != 0)
        return (fail("wiredtiger_open", ret));
    if ((ret = conn->open_session(conn, NULL, NULL, &s)) != 0)
        return (fail("open_session", ret));
    if (strcmp(argv[1], "hold") == 0) {
        (void)printf("ready\n");
        (void)fflush(stdout);
        while (fgets(buf, sizeof(buf), stdin) != NULL)
            ;
        return (conn->close(conn, NULL) == 0 ? 0 : 1);
    }
    if (strcmp(argv[1], "write") == 0 && argc == 7) {
        count = strtoul(argv[5], NULL, 10);
        vlen = strtoul(argv[6], NULL, 10);
        if ((want = malloc(vlen + 1)) == NULL)
            return (1);
        (void)snprintf(buf, sizeof(buf), "key_format=S,value_format=S%s", argv[4][0] ? "," : "");
        {
            char cfg[512];
            (void)snprintf(cfg, sizeof(cfg), "%s%s", buf, argv[4]);
            if ((ret = s->create(s, "table:t", cfg)) != 0)
                return (fail("create table:t", ret));
        }
        if ((ret = s->open_cursor(s, "table:t", NULL, NULL, &c)) != 0)
            return (fail("open_cursor", ret));
        for (i = 0; i < count; i++) {
            if (i % 1000 == 0 && (ret = s->begin_transaction(s, NULL)) != 0)
                return (fail("begin_transaction", ret));
            (void)snprintf(key, sizeof(key), "key-%08lu", i);
            make_value(i, want, vlen);
            c->set_key(c, key);
            c->set_value(c, want);
            if ((ret = c->insert(c)) != 0)
                return (fail("insert", ret));
            if ((i % 1000 == 999 || i + 1 == count) && (ret = s->commit_transaction(s, NULL)) != 0)
                return (fail("commit_transaction", ret));
        }
        if ((ret = c->close(c)) != 0 || (ret = s->checkpoint(s, NULL)) != 0)
            return (fail("checkpoint", ret));
        free(want);
        return (conn->close(conn, NULL) == 0 ? 0 : 1);
    }
    if (strcmp(argv[1], "check") == 0 && argc == 6) {
        count = strtoul(argv[4], NULL, 10);
        vlen = strtoul(argv[5], NULL, 10);
        if ((want = malloc(vlen + 1)) == NULL)
            return (1);
        if ((ret = s->open_cursor(s, "table:t", NULL, NULL, &c)) != 0)
            return (fail("open_cursor table:t", ret));
        for (seen = 0; (ret = c->next(c)) == 0; seen++) {
            if ((ret = c->get_key(c, &k)) != 0 || (ret = c->get_value(c, &v)) != 0)
                return (fail("get", ret));
            (void)snprintf(key, sizeof(key), "key-%08lu", seen);
            make_value(seen, want, vlen);
            if (seen >= count || strcmp(k, key) != 0 || strcmp(v, want) != 0) {
                (void)fprintf(stderr, "snap_rows: row %lu: unexpected key %s or value\n", seen, k);
                return (1);
            }
        }
        if (ret != WT_NOTFOUND)
            return (fail("next", ret));
        if (seen != count) {
            (void)fprintf(stderr, "snap_rows: %lu rows, expected %lu\n", seen, count);
            return (1);
        }
        (void)printf("checked %lu rows\n", seen);
        free(want);
        return (conn->close(conn, NULL) == 0 ? 0 : 1);
    }
    (void)fprintf(stderr, "snap_rows: bad arguments\n");
    return (2);
}
