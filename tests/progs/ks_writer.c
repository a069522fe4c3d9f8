/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ks_writer.c -- test program: a WiredTiger process that holds a home open (as mongod does) and
 * adds tables under new keyids on command, so the keys tests can change the keystore beside it.
 *
 * usage: ks_writer HOME CONN_CONFIG
 * Reads commands on stdin, one per line, and answers each with one line on stdout (flushed):
 *   add KEYID   create table:KEYID with encryption keyid KEYID, insert one row, checkpoint
 *   put KEYID   insert one more row into table:KEYID, checkpoint
 *   drop KEYID  drop table:KEYID (its file is removed), checkpoint
 *   quit        close the connection cleanly
 * The answer is "ok" or "error: ..." (the WiredTiger message goes to stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

int main(int argc, char **argv);

/*
 * do_put --
 *     One row into table:KEYID, then a checkpoint (every block written and durable).
 */
static int
do_put(WT_SESSION *s, const char *keyid, unsigned long n)
{
    WT_CURSOR *c;
    char uri[512], key[64], value[128];
    int ret;

    (void)snprintf(uri, sizeof(uri), "table:%s", keyid);
    (void)snprintf(key, sizeof(key), "key%06lu", n);
    (void)snprintf(value, sizeof(value), "value of %s number %lu", keyid, n);
    if ((ret = s->open_cursor(s, uri, NULL, NULL, &c)) != 0)
        return (ret);
    c->set_key(c, key);
    c->set_value(c, value);
    if ((ret = c->insert(c)) == 0)
        ret = c->close(c);
    else
        (void)c->close(c);
    return (ret != 0 ? ret : s->checkpoint(s, NULL));
}

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_SESSION *s;
    char line[512], cfg[512], uri[512], *arg;
    unsigned long n;
    int ret;

    if (argc != 3) {
        (void)fprintf(stderr, "usage: ks_writer HOME CONN_CONFIG\n");
        return (2);
    }
    if ((ret = wiredtiger_open(argv[1], NULL, argv[2], &conn)) != 0 ||
        (ret = conn->open_session(conn, NULL, NULL, &s)) != 0) {
        (void)fprintf(stderr, "ks_writer: open: %s\n", wiredtiger_strerror(ret));
        return (1);
    }
    (void)printf("ready\n");
    (void)fflush(stdout);
    for (n = 0; fgets(line, sizeof(line), stdin) != NULL; n++) {
        line[strcspn(line, "\r\n")] = '\0';
        arg = strchr(line, ' ');
        if (arg != NULL)
            *arg++ = '\0';
        if (strcmp(line, "quit") == 0)
            break;
        if (arg == NULL || arg[0] == '\0' || strlen(arg) > 200)
            ret = EINVAL;
        else if (strcmp(line, "add") == 0) {
            (void)snprintf(cfg, sizeof(cfg),
              "key_format=S,value_format=S,encryption=(name=wtkms,keyid=%s)", arg);
            (void)snprintf(uri, sizeof(uri), "table:%s", arg);
            if ((ret = s->create(s, uri, cfg)) == 0)
                ret = do_put(s, arg, n);
        } else if (strcmp(line, "put") == 0)
            ret = do_put(s, arg, n);
        else if (strcmp(line, "drop") == 0) {
            (void)snprintf(uri, sizeof(uri), "table:%s", arg);
            if ((ret = s->drop(s, uri, NULL)) == 0)
                ret = s->checkpoint(s, NULL);
        } else
            ret = EINVAL;
        (void)printf(ret == 0 ? "ok\n" : "error: %s\n", wiredtiger_strerror(ret));
        (void)fflush(stdout);
    }
    if ((ret = conn->close(conn, NULL)) != 0) {
        (void)fprintf(stderr, "ks_writer: close: %s\n", wiredtiger_strerror(ret));
        return (1);
    }
    return (0);
}
