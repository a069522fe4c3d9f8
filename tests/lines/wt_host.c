/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wt_host.c -- a WiredTiger application in which wiredtiger_version is NOT a global symbol, so
 * the wtkms version guard must find the running version by scanning the process image.
 *
 * Built by tests/lines/test_guard.py in one of two ways:
 *   - static: linked with a static libwiredtiger.a and without -rdynamic, as mongod is;
 *   - dlopen (-DHOST_DLOPEN): libwiredtiger.so is loaded at run time with RTLD_LOCAL, so its
 *     symbols stay out of the global scope the guard's dlsym(RTLD_DEFAULT) searches.
 * Either way it must be compiled against the headers of the WiredTiger it runs, because it
 * calls WT_CONNECTION methods.
 *
 * Usage: wt_host [LIBWIREDTIGER.so] HOME CONFIG KEYID
 * Prints "global wiredtiger_version: yes|no", then opens HOME with CONFIG, creates table:t with
 * encryption keyid KEYID, writes and reads one row. Exit 0 when all of that worked, 3 when
 * wiredtiger_open failed, 4 on any later failure, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wiredtiger.h>

typedef int (*open_fn)(const char *, WT_EVENT_HANDLER *, const char *, WT_CONNECTION **);
typedef const char *(*strerror_fn)(int);

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
    WT_CONNECTION *conn;
    WT_CURSOR *c;
    WT_SESSION *s;
    open_fn wt_open;
    strerror_fn wt_strerror;
    char tconfig[512];
    const char *home, *config, *keyid, *value;
    int ret;

#ifdef HOST_DLOPEN
    void *lib;

    if (argc != 5) {
        (void)fprintf(stderr, "usage: wt_host LIBWIREDTIGER HOME CONFIG KEYID\n");
        return (2);
    }
    if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
        (void)fprintf(stderr, "wt_host: dlopen %s: %s\n", argv[1], dlerror());
        return (2);
    }
    wt_open = (open_fn)dlsym(lib, "wiredtiger_open");
    wt_strerror = (strerror_fn)dlsym(lib, "wiredtiger_strerror");
    if (wt_open == NULL || wt_strerror == NULL) {
        (void)fprintf(stderr, "wt_host: %s lacks wiredtiger_open\n", argv[1]);
        return (2);
    }
    argv++;
#else
    if (argc != 4) {
        (void)fprintf(stderr, "usage: wt_host HOME CONFIG KEYID\n");
        return (2);
    }
    wt_open = wiredtiger_open;
    wt_strerror = wiredtiger_strerror;
#endif
    home = argv[1];
    config = argv[2];
    keyid = argv[3];

    /* What the guard's first method sees: it must not find the symbol for this test to count. */
    (void)printf(
      "global wiredtiger_version: %s\n", dlsym(RTLD_DEFAULT, "wiredtiger_version") ? "yes" : "no");
    (void)fflush(stdout);

    if ((ret = wt_open(home, NULL, config, &conn)) != 0) {
        (void)printf("wiredtiger_open: %s\n", wt_strerror(ret));
        return (3);
    }
    (void)snprintf(tconfig, sizeof(tconfig),
      "key_format=S,value_format=S,encryption=(name=wtkms,keyid=%s)", keyid);
    if ((ret = conn->open_session(conn, NULL, NULL, &s)) != 0 ||
        (ret = s->create(s, "table:t", tconfig)) != 0 ||
        (ret = s->open_cursor(s, "table:t", NULL, NULL, &c)) != 0)
        goto err;
    c->set_key(c, "host-key");
    c->set_value(c, "host-value");
    if ((ret = c->insert(c)) != 0 || (ret = c->reset(c)) != 0)
        goto err;
    c->set_key(c, "host-key");
    if ((ret = c->search(c)) != 0 || (ret = c->get_value(c, &value)) != 0)
        goto err;
    if (strcmp(value, "host-value") != 0) {
        (void)printf("read back '%s'\n", value);
        return (4);
    }
    if ((ret = conn->close(conn, NULL)) != 0)
        goto err;
    (void)printf("ok\n");
    return (0);
err:
    (void)printf("WiredTiger call failed: %s\n", wt_strerror(ret));
    return (4);
}
