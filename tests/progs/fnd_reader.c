/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fnd_reader.c -- read back and verify rows for the foundation tests.
 *
 * usage: fnd_reader -h HOME -C CONN_CONFIG -t URI [-p PREFIX] [-T TAG] [-l VALUE_LEN]
 *          [-s START -n COUNT] [-K KEYS_FILE]
 *
 * Scans the whole table: every row whose key has PREFIX must hold exactly its value (fnd_rows.h);
 * a wrong value prints "MISMATCH <key>". With -s/-n, rows START..START+COUNT-1 must all be there
 * and no other row with PREFIX. With -K, every key listed in the file (one per line) must be
 * found by search ("MISSING <key>" otherwise). Prints "read N rows (M with prefix)".
 * Exit 0 when everything checks out, 1 on missing or wrong rows, 2 on a WiredTiger error (on
 * stderr; a damaged page is one), 3 on usage errors.
 */
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
            (void)fprintf(stderr, "fnd_reader: %s: %s\n", #call, wiredtiger_strerror(__r)); \
            (void)fflush(stdout);                                                           \
            exit(2);                                                                        \
        }                                                                                   \
    } while (0)

/*
 * report --
 *     One line naming a key; bytes outside printable ASCII are escaped (a damaged key must not
 *     break the test's output parsing).
 */
static void
report(const char *what, const char *k)
{
    const unsigned char *p;
    int n;

    (void)printf("%s ", what);
    for (p = (const unsigned char *)k, n = 0; *p != '\0' && n < 300; p++, n++)
        if (*p >= 0x20 && *p < 0x7f)
            (void)putchar(*p);
        else
            (void)printf("\\x%02x", *p);
    (void)putchar('\n');
}

static void
usage(void)
{
    (void)fprintf(stderr,
      "usage: fnd_reader -h HOME -C CONN_CONFIG -t URI [-p PREFIX] [-T TAG] [-l VALUE_LEN] "
      "[-s START -n COUNT] [-K KEYS_FILE]\n");
    exit(3);
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_SESSION *s;
    WT_CURSOR *c;
    FILE *fp;
    const char *home, *config, *uri, *prefix, *tag, *keys, *k, *v;
    unsigned long start, count, vlen, i, rows, matched, missing, bad, nkeys;
    unsigned char *seen;
    char value[FND_VALUE_MAX + 512], line[512], *end;
    size_t plen, n;
    bool range;
    int ch, ret;

    home = config = uri = keys = NULL;
    prefix = FND_PREFIX;
    tag = FND_TAG;
    start = count = 0;
    vlen = 100;
    range = false;
    while ((ch = getopt(argc, argv, "h:C:t:p:T:l:s:n:K:")) != -1)
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
        case 'p':
            prefix = optarg;
            break;
        case 'T':
            tag = optarg;
            break;
        case 'l':
            vlen = strtoul(optarg, NULL, 10);
            break;
        case 's':
            start = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            count = strtoul(optarg, NULL, 10);
            range = true;
            break;
        case 'K':
            keys = optarg;
            break;
        default:
            usage();
        }
    if (home == NULL || config == NULL || uri == NULL || vlen > FND_VALUE_MAX)
        usage();
    if ((seen = calloc(count + 1, 1)) == NULL)
        return (2);
    plen = strlen(prefix);

    CHECK(wiredtiger_open(home, NULL, config, &conn));
    CHECK(conn->open_session(conn, NULL, NULL, &s));
    CHECK(s->open_cursor(s, uri, NULL, NULL, &c));
    rows = matched = bad = missing = 0;
    while ((ret = c->next(c)) == 0) {
        CHECK(c->get_key(c, &k));
        CHECK(c->get_value(c, &v));
        rows++;
        if (strncmp(k, prefix, plen) != 0)
            continue;
        matched++;
        i = strtoul(k + plen, &end, 10);
        fnd_value(tag, k, i, vlen, value, sizeof(value));
        if (*end != '\0' || strcmp(v, value) != 0) {
            /* Never print the value: a test must not see altered data even by accident. */
            report("MISMATCH", k);
            bad++;
            continue;
        }
        if (range) {
            if (i < start || i >= start + count) {
                report("UNEXPECTED", k);
                bad++;
            } else
                seen[i - start] = 1;
        }
    }
    if (ret != WT_NOTFOUND)
        CHECK(ret);
    if (range)
        for (i = 0; i < count; i++)
            if (!seen[i]) {
                char key[256];
                fnd_key(prefix, start + i, key, sizeof(key));
                (void)printf("MISSING %s\n", key);
                missing++;
            }
    nkeys = 0;
    if (keys != NULL) {
        if ((fp = fopen(keys, "r")) == NULL) {
            perror(keys);
            return (3);
        }
        while (fgets(line, sizeof(line), fp) != NULL) {
            n = strlen(line);
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (n == 0)
                continue;
            nkeys++;
            c->set_key(c, line);
            if ((ret = c->search(c)) == WT_NOTFOUND) {
                (void)printf("MISSING %s\n", line);
                missing++;
                continue;
            }
            CHECK(ret);
        }
        (void)fclose(fp);
    }
    CHECK(c->close(c));
    CHECK(conn->close(conn, NULL));
    (void)printf(
      "read %lu rows (%lu with prefix), %lu listed keys searched\n", rows, matched, nkeys);
    free(seen);
    return (bad > 0 || missing > 0 ? 1 : 0);
}
