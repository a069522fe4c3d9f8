/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c -- wtkms settings (src/common/config.h): the syntax, every error naming its
 * setting, secrets refused without being echoed, config files, and no crash on any input.
 */
#include "test_helpers.h"

/*
 * parse --
 *     Parse text into a fresh configuration; returns the code.
 */
static int
parse(wtkms_config *cfg, const char *text, wtkms_err *err)
{
    wtkms_config_init(cfg, "wtkms extension config");
    wtkms_err_clear(err);
    return (wtkms_config_parse(cfg, text, strlen(text), err));
}

/*
 * test_syntax --
 *     Commas, newlines, comments, quotes with escapes, WiredTiger's parentheses, bare keys,
 *     nested values, later pairs winning.
 */
static void
test_syntax(void **state)
{
    wtkms_config cfg;
    wtkms_err err;

    (void)state;
    assert_int_equal(parse(&cfg, "(provider=local,key_file=\"/a b/c,d\\\"e\")", &err), 0);
    assert_string_equal(wtkms_config_get(&cfg, "provider"), "local");
    assert_string_equal(wtkms_config_get(&cfg, "key_file"), "/a b/c,d\"e");
    assert_int_equal(wtkms_config_check_unused(&cfg, &err), 0);
    wtkms_config_free(&cfg);

    assert_int_equal(parse(&cfg,
                       "# a config file\nprovider = local\n\nkey_file=/k  \n  # more\nflag\n"
                       "nested=(a=1,b=[2,3]),last=x,last=y",
                       &err),
      0);
    assert_string_equal(wtkms_config_get(&cfg, "provider"), "local");
    assert_string_equal(wtkms_config_get(&cfg, "key_file"), "/k");
    assert_string_equal(wtkms_config_get(&cfg, "flag"), "true");
    assert_string_equal(wtkms_config_get(&cfg, "nested"), "(a=1,b=[2,3])");
    assert_string_equal(wtkms_config_get(&cfg, "last"), "y");
    assert_null(wtkms_config_get(&cfg, "absent"));
    wtkms_config_free(&cfg);

    assert_int_equal(parse(&cfg, "", &err), 0);
    assert_int_equal(cfg.n, 0);
    wtkms_config_free(&cfg);

    /* Bare keys shorter than "true" (the value buffer once held only the text's length). */
    assert_int_equal(parse(&cfg, "x", &err), 0);
    assert_string_equal(wtkms_config_get(&cfg, "x"), "true");
    wtkms_config_free(&cfg);
    assert_int_equal(parse(&cfg, "ab", &err), 0);
    assert_string_equal(wtkms_config_get(&cfg, "ab"), "true");
    wtkms_config_free(&cfg);
}

/*
 * test_unknown_setting --
 *     A setting no consumer asks for is an error naming it (a typo must not pass silently).
 */
static void
test_unknown_setting(void **state)
{
    wtkms_config cfg;
    wtkms_err err;
    char *dir;
    const char *kf;
    char text[PATH_MAX + 64];
    wtkms_kms *kms;

    (void)state;
    dir = t_tmpdir("unknown");
    kf = t_make_key_file(dir, "master.key");
    (void)snprintf(text, sizeof(text), "provider=local,key_file=%s,keyfile=/typo", kf);
    assert_int_equal(parse(&cfg, text, &err), 0);
    assert_int_equal(wtkms_kms_open(&cfg, &kms, &err), 0);
    assert_int_equal(wtkms_config_check_unused(&cfg, &err), EINVAL);
    assert_msg_has(&err, "unknown setting 'keyfile'");
    assert_msg_has(&err, "wtkms extension config");
    wtkms_kms_close(kms);
    wtkms_config_free(&cfg);

    /* An unknown provider is named, with the ones that exist. */
    assert_int_equal(parse(&cfg, "provider=vault", &err), 0);
    assert_int_equal(wtkms_kms_open(&cfg, &kms, &err), EINVAL);
    assert_msg_has(&err, "provider=vault");
    assert_msg_has(&err, "local");
    wtkms_config_free(&cfg);
    t_rmtree(dir);
}

/*
 * test_secret_settings --
 *     Every secret-named setting is refused, saying where secrets belong, and the secret's value
 *     never appears in the message (messages reach logs).
 */
static void
test_secret_settings(void **state)
{
    static const char *const secrets[] = { "secret", "secret_key", "secret_access_key",
        "aws_secret_access_key", "session_token", "aws_session_token", "client_secret", "password",
        "passphrase", "private_key", "token", "access_token", "key_material", "master_key", NULL };
    static const char value[] = "Sup3rS3cretV4lue";
    wtkms_config cfg;
    wtkms_err err;
    char text[256];
    int i;

    (void)state;
    for (i = 0; secrets[i] != NULL; i++) {
        assert_true(wtkms_config_is_secret_key(secrets[i]));
        /* Inline, quoted, in the middle of other settings, and through set(). */
        (void)snprintf(text, sizeof(text), "provider=local,%s=%s,key_file=/k", secrets[i], value);
        assert_int_equal(parse(&cfg, text, &err), EINVAL);
        assert_msg_has(&err, secrets[i]);
        assert_msg_has(&err, "secret");
        assert_msg_has(&err, "WiredTiger.basecfg");
        assert_msg_has(&err, "environment");
        if (strstr(err.msg, value) != NULL)
            fail_msg("the refusal of '%s' echoes the secret: %s", secrets[i], err.msg);
        wtkms_config_free(&cfg);

        (void)snprintf(text, sizeof(text), "%s=\"%s\"", secrets[i], value);
        assert_int_equal(parse(&cfg, text, &err), EINVAL);
        assert_null(strstr(err.msg, value));
        wtkms_config_free(&cfg);

        wtkms_config_init(&cfg, "test");
        assert_int_equal(wtkms_config_set(&cfg, secrets[i], value, &err), EINVAL);
        assert_null(strstr(err.msg, value));
        assert_int_equal(cfg.n, 0);
        wtkms_config_free(&cfg);
    }
    /* Names that merely contain a secret word are fine: they hold paths. */
    assert_false(wtkms_config_is_secret_key("key_file"));
    assert_false(wtkms_config_is_secret_key("client_secret_file"));
    assert_false(wtkms_config_is_secret_key("credentials_file"));
}

/*
 * test_syntax_errors --
 *     Unterminated quotes and bad names are errors naming the setting or the offset.
 */
static void
test_syntax_errors(void **state)
{
    static const struct {
        const char *text, *expect;
    } bad[] = {
        { "key_file=\"/abc", "setting 'key_file' has an unterminated quote" },
        { "provider=local,key_file=\"", "unterminated quote" },
        { "key_file=\"a\\\"", "unterminated quote" },
        { "prov!der=local", "bad setting name" },
        { "=local", "empty name" },
        { "provider=local,=x", "empty name" },
        { "key$file=/a", "bad setting name" },
    };
    wtkms_config cfg;
    wtkms_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&cfg, bad[i].text, &err) == 0)
            fail_msg("'%s' was accepted", bad[i].text);
        assert_int_equal(err.code, EINVAL);
        if (strstr(err.msg, bad[i].expect) == NULL)
            fail_msg("'%s': message lacks \"%s\": %s", bad[i].text, bad[i].expect, err.msg);
        assert_msg_has(&err, "wtkms extension config");
        wtkms_config_free(&cfg);
    }
}

/*
 * test_typed_values --
 *     Integers and booleans: defaults, bounds, and errors naming setting and value.
 */
static void
test_typed_values(void **state)
{
    wtkms_config cfg;
    wtkms_err err;
    const char *v;
    unsigned long n;
    bool b;

    (void)state;
    assert_int_equal(
      parse(&cfg, "retries=3,big=99,neg=-1,junk=3x,on=on,off=0,maybe=perhaps", &err), 0);
    assert_int_equal(wtkms_config_uint(&cfg, "retries", 5, 0, 10, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(wtkms_config_uint(&cfg, "absent", 5, 0, 10, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(wtkms_config_uint(&cfg, "big", 5, 0, 10, &n, &err), EINVAL);
    assert_msg_has(&err, "'big=99'");
    assert_msg_has(&err, "0 to 10");
    assert_int_equal(wtkms_config_uint(&cfg, "neg", 5, 0, 10, &n, &err), EINVAL);
    assert_msg_has(&err, "'neg=-1'");
    assert_int_equal(wtkms_config_uint(&cfg, "junk", 5, 0, 10, &n, &err), EINVAL);
    assert_msg_has(&err, "'junk=3x'");
    assert_int_equal(wtkms_config_bool(&cfg, "on", false, &b, &err), 0);
    assert_true(b);
    assert_int_equal(wtkms_config_bool(&cfg, "off", true, &b, &err), 0);
    assert_false(b);
    assert_int_equal(wtkms_config_bool(&cfg, "maybe", true, &b, &err), EINVAL);
    assert_msg_has(&err, "'maybe=perhaps'");
    assert_int_equal(wtkms_config_require(&cfg, "key_file", &v, &err), EINVAL);
    assert_msg_has(&err, "setting 'key_file' is required");
    wtkms_config_free(&cfg);
}

/*
 * test_too_many --
 *     More settings than fit is an error, not an overflow.
 */
static void
test_too_many(void **state)
{
    wtkms_config cfg;
    wtkms_err err;
    char text[4096];
    size_t off = 0;
    int i;

    (void)state;
    for (i = 0; i <= WTKMS_CONFIG_MAX; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "s%d=%d,", i, i);
    assert_int_equal(parse(&cfg, text, &err), EINVAL);
    assert_msg_has(&err, "more than");
    wtkms_config_free(&cfg);
}

/*
 * test_config_file --
 *     config_file content has the same syntax; errors name the file; a file others can write is
 *     refused (it decides where keys come from).
 */
static void
test_config_file(void **state)
{
    wtkms_config cfg;
    wtkms_err err;
    char *dir;
    const char *path;
    static const char good[] = "# wtkms\nprovider=local\nkey_file=/etc/wtkms/master.key\n";
    static const char secret[] = "provider=aws\nsecret_access_key=AKIAxSECRETx\n";

    (void)state;
    dir = t_tmpdir("cfgfile");
    path = t_path(dir, "wtkms.conf");
    t_write_file(path, good, strlen(good), 0600);
    wtkms_config_init(&cfg, "wtkms extension config");
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), 0);
    assert_string_equal(wtkms_config_get(&cfg, "key_file"), "/etc/wtkms/master.key");
    /* The origin is restored after the file. */
    assert_string_equal(cfg.origin, "wtkms extension config");
    wtkms_config_free(&cfg);

    t_write_file(path, good, strlen(good), 0620);
    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), EPERM);
    assert_msg_has(&err, path);
    assert_msg_has(&err, "chmod go-w");
    wtkms_config_free(&cfg);
    t_write_file(path, good, strlen(good), 0602);
    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), EPERM);
    wtkms_config_free(&cfg);

    t_write_file(path, secret, strlen(secret), 0600);
    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), EINVAL);
    assert_msg_has(&err, path);
    assert_msg_has(&err, "secret_access_key");
    assert_null(strstr(err.msg, "AKIAxSECRETx"));
    wtkms_config_free(&cfg);

    t_write_file(path, "key_file=\"/x\n", 13, 0600);
    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), EINVAL);
    assert_msg_has(&err, path);
    assert_msg_has(&err, "unterminated quote");
    wtkms_config_free(&cfg);

    /* A setting nobody knows is reported with the file it came from. */
    t_write_file(path, "provider=local\ntypo_setting=1\n", 29, 0600);
    wtkms_config_init(&cfg, "wtkms extension config");
    assert_int_equal(wtkms_config_set(&cfg, "inline_typo", "1", &err), 0);
    assert_int_equal(wtkms_config_parse_file(&cfg, path, &err), 0);
    (void)wtkms_config_get(&cfg, "provider");
    assert_int_equal(wtkms_config_check_unused(&cfg, &err), EINVAL);
    assert_msg_has(&err, "wtkms extension config: unknown setting 'inline_typo'");
    (void)wtkms_config_get(&cfg, "inline_typo");
    assert_int_equal(wtkms_config_check_unused(&cfg, &err), EINVAL);
    assert_msg_has(&err, "unknown setting 'typo_setting'");
    assert_msg_has(&err, path);
    wtkms_config_free(&cfg);

    wtkms_config_init(&cfg, "x");
    assert_int_not_equal(wtkms_config_parse_file(&cfg, t_path(dir, "absent.conf"), &err), 0);
    assert_msg_has(&err, "absent.conf");
    wtkms_config_free(&cfg);
    t_rmtree(dir);
}

/*
 * test_config_include --
 *     config_file=PATH as the extension and the key ring read it: the file's settings win over
 *     the string's, the file may name itself but no other file, and no setting means no read.
 */
static void
test_config_include(void **state)
{
    wtkms_config cfg;
    wtkms_err err;
    char *dir, text[600];
    const char *path, *other;

    (void)state;
    dir = t_tmpdir("cfginclude");
    path = t_path(dir, "wtkms.conf");
    other = t_path(dir, "other.conf");
    (void)snprintf(
      text, sizeof(text), "provider=local\nkey_file=/from/file\nconfig_file=%s\n", path);
    t_write_file(path, text, strlen(text), 0600);
    t_write_file(other, "key_file=/other\n", 16, 0600);

    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_include(&cfg, &err), 0); /* nothing named: nothing read */
    assert_null(wtkms_config_get(&cfg, "provider"));
    wtkms_config_free(&cfg);

    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_set(&cfg, "key_file", "/from/string", &err), 0);
    assert_int_equal(wtkms_config_set(&cfg, "config_file", path, &err), 0);
    assert_int_equal(wtkms_config_include(&cfg, &err), 0);
    assert_string_equal(wtkms_config_get(&cfg, "key_file"), "/from/file");
    assert_string_equal(wtkms_config_get(&cfg, "provider"), "local");
    wtkms_config_free(&cfg);

    (void)snprintf(text, sizeof(text), "provider=local\nconfig_file=%s\n", other);
    t_write_file(path, text, strlen(text), 0600);
    wtkms_config_init(&cfg, "x");
    assert_int_equal(wtkms_config_set(&cfg, "config_file", path, &err), 0);
    assert_int_equal(wtkms_config_include(&cfg, &err), EINVAL);
    assert_msg_has(&err, path);
    assert_msg_has(&err, "may not name another file");
    assert_null(strstr(err.msg, "/other\n"));
    wtkms_config_free(&cfg);
    t_rmtree(dir);
}

/*
 * test_random_input --
 *     Random bytes and random mixes of the syntax's characters: parse returns 0 or an error
 *     with a message, never crashes (ASan and valgrind watch the same run).
 */
static void
test_random_input(void **state)
{
    static const char alphabet[] = "ab_=,\"\\()[]# \n\t.-1";
    wtkms_config cfg;
    wtkms_err err;
    uint8_t buf[96];
    size_t len, i;
    int round, ret;

    (void)state;
    for (round = 0; round < 20000; round++) {
        t_random(buf, sizeof(buf));
        len = buf[0] % sizeof(buf);
        if (round % 2 == 0)
            for (i = 0; i < len; i++)
                buf[i] = (uint8_t)alphabet[buf[i] % (sizeof(alphabet) - 1)];
        wtkms_config_init(&cfg, "fuzz");
        wtkms_err_clear(&err);
        ret = wtkms_config_parse(&cfg, (const char *)buf, len, &err);
        if (ret != 0)
            assert_true(err.msg[0] != '\0');
        for (i = 0; i < (size_t)cfg.n; i++)
            assert_non_null(cfg.items[i].value);
        wtkms_config_free(&cfg);
    }
}

/*
 * skip_s3 --
 *     A filter for test_format: the store's own settings.
 */
static bool
skip_s3(const char *key)
{
    return (strncmp(key, "s3_", 3) == 0);
}

/*
 * test_format --
 *     The used settings formatted, parsed back to the same settings; unused and skipped ones
 *     left out; a value that cannot be quoted refused by name.
 */
static void
test_format(void **state)
{
    wtkms_config cfg, back;
    wtkms_err err;
    char *text;

    (void)state;
    assert_int_equal(parse(&cfg,
                       "provider=local,key_file=\"/a b/c,d=(e)\",unused=1,s3_bucket=b,"
                       "nested=(a=1,b=[2,3]),empty=\"\"",
                       &err),
      0);
    assert_non_null(wtkms_config_get(&cfg, "provider"));
    assert_non_null(wtkms_config_get(&cfg, "key_file"));
    assert_non_null(wtkms_config_get(&cfg, "s3_bucket"));
    assert_non_null(wtkms_config_get(&cfg, "nested"));
    assert_non_null(wtkms_config_get(&cfg, "empty"));
    assert_int_equal(wtkms_config_format(&cfg, skip_s3, &text, &err), 0);
    assert_string_equal(
      text, "provider=\"local\",key_file=\"/a b/c,d=(e)\",nested=\"(a=1,b=[2,3])\",empty=\"\"");
    assert_int_equal(parse(&back, text, &err), 0);
    assert_int_equal(back.n, 4);
    assert_string_equal(wtkms_config_get(&back, "provider"), "local");
    assert_string_equal(wtkms_config_get(&back, "key_file"), "/a b/c,d=(e)");
    assert_string_equal(wtkms_config_get(&back, "nested"), "(a=1,b=[2,3])");
    assert_string_equal(wtkms_config_get(&back, "empty"), "");
    wtkms_config_free(&back);
    free(text);

    /* Nothing used: an empty text. */
    wtkms_config_free(&cfg);
    assert_int_equal(parse(&cfg, "a=1", &err), 0);
    assert_int_equal(wtkms_config_format(&cfg, NULL, &text, &err), 0);
    assert_string_equal(text, "");
    free(text);
    wtkms_config_free(&cfg);

    assert_int_equal(parse(&cfg, "key_file=\"/a\\\"b\"", &err), 0);
    assert_non_null(wtkms_config_get(&cfg, "key_file"));
    assert_int_equal(wtkms_config_format(&cfg, NULL, &text, &err), EINVAL);
    assert_null(text);
    assert_non_null(strstr(err.msg, "key_file"));
    wtkms_config_free(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_unknown_setting),
        cmocka_unit_test(test_secret_settings),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_config_include),
        cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_format),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
