/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hostile_answers.c -- what a lying service or a planted file can hand the small parsers
 * around the providers: AWS timestamps (a one-digit zone offset once read past the string's
 * end), token lifetimes (an expires_on at the end of int64 once overflowed), JSON numbers that
 * do not fit an int64, tokens with CR/LF bound for a header, empty query fields, http:// to a
 * host that is not this machine, and the private-file checks on key and credentials files.
 * Run under ASan/UBSan (unittests/run.sh asan) these catch the out-of-bounds read and the
 * overflows themselves; plain, they check the verdicts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws_creds.h"
#include "fileio.h"
#include "http.h"
#include "oauth.h"

/*
 * parse --
 *     wtkms_aws_parse_time on an exact-size heap copy, so ASan sees any read past its end.
 */
static int64_t
parse(const char *s)
{
    char *copy;
    int64_t t;

    assert_non_null(copy = strdup(s));
    t = wtkms_aws_parse_time(copy);
    free(copy);
    return (t);
}

/*
 * test_aws_time --
 *     Offsets are exactly hh:mm; nothing past the string is read; good times still parse.
 */
static void
test_aws_time(void **state)
{
    static const char *const bad[] = { "2-5-1T1:3:5+0:0", "2024-05-01T12:00:00+0:0",
        "2024-05-01T12:00:00+1", "2024-05-01T12:00:00+", "2024-05-01T12:00:00-01:0",
        "2024-05-01T12:00:00+01:00x", "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+01:60",
        "2024-05-01T12:00:00+0a:00", "2024-13-01T12:00:00Z", "2024-05-01T24:00:00Z",
        "0000-05-01T12:00:00Z", "-999-05-01T12:00:00Z", "2024-05-01T-1:00:00Z", "", "Z" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i]) != -1)
            fail_msg("\"%s\" parsed as a time", bad[i]);
    assert_int_equal(parse("2024-05-01T12:34:56Z"), (int64_t)1714566896 * 1000);
    assert_int_equal(parse("2024-05-01T12:34:56.123Z"), (int64_t)1714566896 * 1000);
    assert_int_equal(parse("2024-05-01T14:34:56+02:00"), (int64_t)1714566896 * 1000);
    assert_int_equal(parse("2024-05-01T10:04:56-02:30"), (int64_t)1714566896 * 1000);
    assert_int_equal(parse("2024-05-01T12:34:56"), (int64_t)1714566896 * 1000);
}

/*
 * token --
 *     wtkms_token_from_json on a JSON text; its return code (the token is cleared after).
 */
static int
token(const char *json, int64_t *life_ms, wtkms_err *err)
{
    wtkms_token t;
    bson_t doc;
    int ret;

    memset(&t, 0, sizeof(t));
    assert_int_equal(wtkms_json_parse(json, strlen(json), &doc), 0);
    ret = wtkms_token_from_json(&doc, &t, "test token request", err);
    wtkms_bson_wipe(&doc);
    if (life_ms != NULL)
        *life_ms = ret == 0 ? t.expires_ms - wtkms_mono_ms() : 0;
    wtkms_token_clear(&t);
    return (ret);
}

/*
 * test_token_lifetimes --
 *     expires_on is range-checked before any arithmetic; numbers that do not fit are refused,
 *     never converted; a sane expires_on still works.
 */
static void
test_token_lifetimes(void **state)
{
    static const char *const refused[] = {
        "{\"access_token\": \"t\", \"expires_on\": \"-9223372036854775808\"}",
        "{\"access_token\": \"t\", \"expires_on\": -9223372036854775807}",
        "{\"access_token\": \"t\", \"expires_on\": \"9223372036854775807\"}",
        "{\"access_token\": \"t\", \"expires_on\": -1}",
    };
    wtkms_err err;
    char json[200];
    int64_t life;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (token(refused[i], NULL, &err) != EPROTO)
            fail_msg("accepted: %s", refused[i]);
        if (strstr(err.msg, "expires_on") == NULL)
            fail_msg("message does not name expires_on: %s", err.msg);
    }
    /* Doubles outside int64 are not converted (undefined behaviour): treated as absent. */
    assert_int_equal(token("{\"access_token\": \"t\", \"expires_in\": 1e300}", &life, &err), 0);
    assert_true(life > 0 && life <= 60 * 1000);
    assert_int_equal(token("{\"access_token\": \"t\", \"expires_in\": -1e300}", &life, &err), 0);
    assert_true(life > 0 && life <= 60 * 1000);
    assert_int_equal(token("{\"access_token\": \"t\", \"expires_in\": 1e18}", &life, &err), 0);
    assert_true(life <= 24LL * 3600 * 1000);
    (void)snprintf(json, sizeof(json), "{\"access_token\": \"t\", \"expires_on\": \"%lld\"}",
      (long long)time(NULL) + 3600);
    assert_int_equal(token(json, &life, &err), 0);
    assert_true(life > 3000 * 1000 && life <= 3300 * 1000);
}

/*
 * test_token_control_characters --
 *     A token bound for an Authorization header carries no CR, LF or other control character.
 */
static void
test_token_control_characters(void **state)
{
    wtkms_err err;

    (void)state;
    assert_int_equal(
      token("{\"access_token\": \"abc\\r\\nX-Evil: 1\", \"expires_in\": 3600}", NULL, &err),
      EPROTO);
    assert_non_null(strstr(err.msg, "control characters"));
    assert_int_equal(
      token("{\"access_token\": \"a\\u0000b\", \"expires_in\": 3600}", NULL, &err), EPROTO);
    assert_int_equal(
      token("{\"access_token\": \"a\\tb\", \"expires_in\": 3600}", NULL, &err), EPROTO);
    assert_int_equal(
      token("{\"access_token\": \"a.b-c_d~e+f/g=\", \"expires_in\": 3600}", NULL, &err), 0);
    assert_false(wtkms_header_value_ok("a\rb"));
    assert_false(wtkms_header_value_ok("a\nb"));
    assert_false(wtkms_header_value_ok("a\x7f"));
    assert_true(wtkms_header_value_ok("Bearer abc\tdef"));
}

/*
 * test_query_fields --
 *     No empty query field, whatever the URL already ends with.
 */
static void
test_query_fields(void **state)
{
    static const char *const starts[] = { "http://h/token?", "http://h/token?a=1",
        "http://h/token?a=1&" };
    static const char *const want[] = { "http://h/token?api-version=1&resource=r",
        "http://h/token?a=1&api-version=1&resource=r",
        "http://h/token?a=1&api-version=1&resource=r" };
    wtkms_dbuf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        memset(&b, 0, sizeof(b));
        wtkms_dbuf_str(&b, starts[i]);
        wtkms_http_form_add(&b, "api-version", "1");
        wtkms_http_form_add(&b, "resource", "r");
        assert_int_equal(b.error, 0);
        assert_string_equal(b.s, want[i]);
        assert_null(strstr(b.s, "&&"));
        assert_null(strstr(b.s, "?&"));
        wtkms_dbuf_free(&b);
    }
}

/*
 * test_url_safe --
 *     http:// only to loopback hosts: an address literal in 127/8, [::1] or localhost, never a
 *     name that only starts like one.
 */
static void
test_url_safe(void **state)
{
    static const char *const ok[] = { "https://kms.example.com/", "https://10.0.0.1:443",
        "http://127.0.0.1:4566", "http://127.1.2.3/", "http://localhost:8080/", "http://LOCALHOST/",
        "http://[::1]:9000/" };
    static const char *const refused[] = { "http://10.0.0.1/", "http://kms.example.com/",
        "http://127.0.0.1.example.com/", "http://127.evil.com/", "http://localhost.evil.com/",
        "http://[::2]/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/", "ftp://127.0.0.1/",
        "not a url", "http:///" };
    wtkms_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!wtkms_http_url_safe(ok[i]))
            fail_msg("refused %s", ok[i]);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (wtkms_http_url_safe(refused[i]))
            fail_msg("allowed %s", refused[i]);
    assert_int_equal(
      wtkms_http_check_endpoint("c.conf", "endpoint", "http://10.1.2.3/", &err), EINVAL);
    assert_non_null(strstr(err.msg, "c.conf: endpoint=http://10.1.2.3/"));
    assert_non_null(strstr(err.msg, "https://"));
}

/*
 * write_file --
 *     A file with the given mode (exactly: no umask).
 */
static void
write_file(const char *path, const char *data, mode_t mode)
{
    int fd;

    (void)unlink(path);
    assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
    assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/*
 * test_private_files --
 *     A key or credentials file: mode 600 or stricter, owned by us or root, a regular file; the
 *     checks hold on the file actually read (through a symlink too).
 */
static void
test_private_files(void **state)
{
    wtkms_err err;
    char dir[] = "/tmp/wtkms-ut-private-XXXXXX", f[256], l[256], *buf;
    size_t len;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(f, sizeof(f), "%s/key", dir);
    (void)snprintf(l, sizeof(l), "%s/link", dir);
    write_file(f, "secret", 0600);
    assert_int_equal(wtkms_read_private_file(f, "test key file", 100, &buf, &len, &err), 0);
    assert_int_equal(len, 6);
    free(buf);
    assert_int_equal(chmod(f, 0640), 0);
    assert_int_equal(wtkms_read_private_file(f, "test key file", 100, &buf, &len, &err), EACCES);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(f, 0400), 0);
    assert_int_equal(wtkms_check_private_file(f, "test key file", &err), 0);
    /* Through a symlink: the target is what is checked. */
    assert_int_equal(symlink(f, l), 0);
    assert_int_equal(wtkms_check_private_file(l, "test key file", &err), 0);
    assert_int_equal(chmod(f, 0644), 0);
    assert_int_equal(wtkms_check_private_file(l, "test key file", &err), EACCES);
    assert_int_equal(chmod(f, 0600), 0);
    /* Another owner (only root can make one here). */
    if (geteuid() == 0) {
        assert_int_equal(chown(f, 4242, 4242), 0);
        assert_int_equal(wtkms_check_private_file(f, "test key file", &err), EACCES);
        assert_non_null(strstr(err.msg, "owned by uid 4242"));
        assert_int_equal(chown(f, 0, 0), 0);
    }
    /* A directory, a FIFO: not regular files, and opening the FIFO does not hang. */
    assert_int_equal(wtkms_check_private_file(dir, "test key file", &err), EINVAL);
    (void)unlink(l);
    assert_int_equal(mkfifo(l, 0600), 0);
    assert_int_equal(wtkms_check_private_file(l, "test key file", &err), EINVAL);
    assert_int_equal(wtkms_check_private_file("/nonexistent/key", "test key file", &err), ENOENT);
    (void)unlink(l);
    (void)unlink(f);
    (void)rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_time),
        cmocka_unit_test(test_token_lifetimes),
        cmocka_unit_test(test_token_control_characters),
        cmocka_unit_test(test_query_fields),
        cmocka_unit_test(test_url_safe),
        cmocka_unit_test(test_private_files),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
