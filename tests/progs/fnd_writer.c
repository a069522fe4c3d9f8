/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fnd_writer.c -- write rows through the WiredTiger C API for the foundation tests.
 *
 * usage: fnd_writer -h HOME -C CONN_CONFIG -t URI [-c CREATE_CONFIG] [-s START] [-n COUNT]
 *          [-p PREFIX] [-T TAG] [-l VALUE_LEN] [-b BATCH] [-S] [-B] [-k]
 *
 *   -c CONFIG  create URI with this configuration first (encryption=(name=wtkms,keyid=...))
 *   -b BATCH   rows per transaction (default 1000)
 *   -S         one transaction per row, committed with sync=on; each key is printed on stdout
 *              (flushed) only after its commit returned: the test may kill -9 at any moment and
 *              then expect every printed key to be there
 *   -B         load through a bulk cursor (a new, empty table; every page written once)
 *   -k         checkpoint after the last row
 * Rows are those of fnd_rows.h. Exit 0 on success, 1 on a WiredTiger error (on stderr), 2 on
 * usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

#include "fnd_rows.h"

int main(int argc, char **argv);

#define CHECK(call)                                                                         \
    do {                                                                                    \
        int __r = (call);                                                                   \
        if (__r != 0) {                                                                     \
            (void)fprintf(stderr, "fnd_writer: %s: %s\n", #call, wiredtiger_strerror(__r)); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static void
usage(void)
{
    (void)fprintf(stderr,
      "usage: fnd_writer -h HOME -C CONN_CONFIG -t URI [-c CREATE_CONFIG] [-s START] [-n COUNT] "
      "[-p PREFIX] [-T TAG] [-l VALUE_LEN] [-b BATCH] [-S] [-B] [-k]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_SESSION *s;
    WT_CURSOR *c;
    const char *home, *config, *uri, *create, *prefix, *tag;
    unsigned long start, count, batch, vlen, i, first, last, retries;
    char key[256], value[FND_VALUE_MAX + 512];
    bool sync, bulk, ckpt;
    int ch, ret;

    home = config = uri = create = NULL;
    prefix = FND_PREFIX;
    tag = FND_TAG;
    start = 0;
    count = 1000;
    batch = 1000;
    vlen = 100;
    sync = bulk = ckpt = false;
    while ((ch = getopt(argc, argv, "h:C:t:c:s:n:p:T:l:b:SBk")) != -1)
        switch (ch) {
        case 'h':
            home = optarg;
            break;
        case 'C':
            config = optarg;
            break;
        case 't':
            uri = optarg;
            break;
        case 'c':
            create = optarg;
            break;
        case 's':
            start = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            count = strtoul(optarg, NULL, 10);
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'T':
            tag = optarg;
            break;
        case 'l':
            vlen = strtoul(optarg, NULL, 10);
            break;
        case 'b':
            batch = strtoul(optarg, NULL, 10);
            break;
        case 'S':
            sync = true;
            break;
        case 'B':
            bulk = true;
            break;
        case 'k':
            ckpt = true;
            break;
        default:
            usage();
        }
    if (home == NULL || config == NULL || uri == NULL || vlen > FND_VALUE_MAX || batch == 0 ||
        strlen(prefix) > 200)
        usage();
    if (sync)
        batch = 1;

    CHECK(wiredtiger_open(home, NULL, config, &conn));
    CHECK(conn->open_session(conn, NULL, NULL, &s));
    if (create != NULL)
        CHECK(s->create(s, uri, create));
    CHECK(s->open_cursor(s, uri, NULL, bulk ? "bulk" : NULL, &c));
    retries = 0;
    for (first = start; first < start + count; first = last) {
        last = first + batch < start + count ? first + batch : start + count;
    again:
        if (!bulk)
            CHECK(s->begin_transaction(s, NULL));
        for (i = first; i < last; i++) {
            fnd_key(prefix, i, key, sizeof(key));
            fnd_value(tag, key, i, vlen, value, sizeof(value));
            c->set_key(c, key);
            c->set_value(c, value);
            if ((ret = c->insert(c)) == WT_ROLLBACK && !bulk && retries < 1000) {
                /* WiredTiger asks an application to retry a transaction it had to roll back. */
                CHECK(s->rollback_transaction(s, NULL));
                retries++;
                goto again;
            }
            CHECK(ret);
        }
        if (bulk)
            continue;
        if ((ret = s->commit_transaction(s, sync ? "sync=on" : NULL)) == WT_ROLLBACK &&
            retries < 1000) {
            retries++;
            goto again;
        }
        CHECK(ret);
        if (sync) {
            /* Acknowledged: durable on the journal. Only now tell the test. */
            (void)printf("%s\n", key);
            (void)fflush(stdout);
        }
    }
    CHECK(c->close(c));
    if (ckpt)
        CHECK(s->checkpoint(s, NULL));
    CHECK(conn->close(conn, NULL));
    if (!sync)
        (void)printf("wrote %lu rows\n", count);
    if (retries > 0)
        (void)fprintf(stderr, "fnd_writer: %lu transactions retried after WT_ROLLBACK\n", retries);
    return (0);
}
