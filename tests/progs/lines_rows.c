/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lines_rows.c -- test program for tests/lines: write or verify numbered rows in encrypted
 * tables, through whichever WiredTiger line this binary was built for (build/tests/ is 3.2,
 * build/wt-X.Y/tests/ is X.Y).
 *
 * usage: lines_rows HOME CONFIG write|verify TABLE[:KEYID] FIRST COUNT [TAG]
 *
 * write: create the table if missing (encryption=(name=wtkms,keyid=KEYID)) and insert rows
 *     FIRST..FIRST+COUNT-1, one transaction each (the journal is on when CONFIG turns it on).
 * verify: read the table from start to end; every row in FIRST..FIRST+COUNT-1 must be there with
 *     its exact value, and no other row. Prints "verified N rows".
 * Row i: key "key-%08d", value "TAG-value-%08d-" padded with the row's own digits to 100 bytes;
 * TAG (default "canary") lets a test scan the files for it.
 * Exit 0 on success, 1 on any failure (the reason on stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

#define VALUE_LEN 100

int main(int argc, char **argv);

/*
 * make_value --
 *     The value of row i.
 */
static void
make_value(const char *tag, unsigned long i, char *out, size_t outlen)
{
    size_t n;

    n = (size_t)snprintf(out, outlen, "%s-value-%08lu-", tag, i);
    while (n < VALUE_LEN && n + 1 < outlen) {
        out[n] = (char)('0' + (i + n) % 10);
        n++;
    }
    out[n] = '\0';
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    unsigned long first, count, i, seen;
    char uri[256], tconfig[512], key[32], value[VALUE_LEN + 64], *colon;
    const char *tag, *got_key, *got_value, *keyid;
    int ret, tret;

    if (argc != 7 && argc != 8) {
        (void)fprintf(
          stderr, "usage: lines_rows HOME CONFIG write|verify TABLE[:KEYID] FIRST COUNT [TAG]\n");
        return (2);
    }
    first = strtoul(argv[5], NULL, 10);
    count = strtoul(argv[6], NULL, 10);
    tag = argc == 8 ? argv[7] : "canary";
    (void)snprintf(uri, sizeof(uri), "table:%s", argv[4]);
    keyid = "default";
    if ((colon = strchr(uri + 6, ':')) != NULL) {
        *colon = '\0';
        keyid = colon + 1;
    }
    conn = NULL;
    if ((ret = wiredtiger_open(argv[1], NULL, argv[2], &conn)) != 0) {
        (void)fprintf(
          stderr, "lines_rows: wiredtiger_open %s: %s\n", argv[1], wiredtiger_strerror(ret));
        return (1);
    }
    if ((ret = conn->open_session(conn, NULL, NULL, &s)) != 0)
        goto err;
    if (strcmp(argv[3], "write") == 0) {
        (void)snprintf(tconfig, sizeof(tconfig),
          "key_format=S,value_format=S,encryption=(name=wtkms,keyid=%s)", keyid);
        if ((ret = s->create(s, uri, tconfig)) != 0 ||
            (ret = s->open_cursor(s, uri, NULL, NULL, &c)) != 0)
            goto err;
        for (i = first; i < first + count; i++) {
            (void)snprintf(key, sizeof(key), "key-%08lu", i);
            make_value(tag, i, value, sizeof(value));
            if ((ret = s->begin_transaction(s, NULL)) != 0)
                goto err;
            c->set_key(c, key);
            c->set_value(c, value);
            if ((ret = c->insert(c)) != 0) {
                (void)s->rollback_transaction(s, NULL);
                goto err;
            }
            if ((ret = s->commit_transaction(s, NULL)) != 0)
                goto err;
        }
        (void)printf("wrote %lu rows\n", count);
    } else if (strcmp(argv[3], "verify") == 0) {
        if ((ret = s->open_cursor(s, uri, NULL, NULL, &c)) != 0)
            goto err;
        seen = 0;
        while ((ret = c->next(c)) == 0) {
            if ((ret = c->get_key(c, &got_key)) != 0 || (ret = c->get_value(c, &got_value)) != 0)
                goto err;
            i = first + seen;
            (void)snprintf(key, sizeof(key), "key-%08lu", i);
            make_value(tag, i, value, sizeof(value));
            if (seen >= count || strcmp(got_key, key) != 0 || strcmp(got_value, value) != 0) {
                (void)fprintf(stderr,
                  "lines_rows: %s row %lu: got key '%s' value '%.40s...', expected key '%s'\n", uri,
                  seen, got_key, got_value, seen >= count ? "(none)" : key);
                ret = 1;
                goto close;
            }
            seen++;
        }
        if (ret != WT_NOTFOUND)
            goto err;
        ret = 0;
        if (seen != count) {
            (void)fprintf(stderr, "lines_rows: %s has %lu rows, expected %lu\n", uri, seen, count);
            ret = 1;
            goto close;
        }
        (void)printf("verified %lu rows\n", seen);
    } else {
        (void)fprintf(stderr, "lines_rows: unknown action %s\n", argv[3]);
        ret = 2;
        goto close;
    }
    goto close;
err:
    (void)fprintf(stderr, "lines_rows: %s: %s\n", uri, wiredtiger_strerror(ret));
close:
    if ((tret = conn->close(conn, NULL)) != 0) {
        (void)fprintf(stderr, "lines_rows: close: %s\n", wiredtiger_strerror(tret));
        if (ret == 0)
            ret = tret;
    }
    return (ret == 0 ? 0 : 1);
}
