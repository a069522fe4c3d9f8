/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_local.c -- the local master-key provider (src/kms/local.c): key files raw and base64,
 * every malformed or exposed key file refused with a message naming it (and never echoing key
 * material), wrap/unwrap, wrong keys and altered blobs rejected, the configured-key check.
 */
#include "test_helpers.h"

#include <openssl/evp.h>

/*
 * open_local --
 *     The provider for a key file; returns the code.
 */
static int
open_local(const char *key_file, wtkms_kms **kmsp, wtkms_err *err)
{
    wtkms_config cfg;
    int ret;

    wtkms_config_init(&cfg, "wtkms extension config");
    wtkms_err_clear(err);
    if (key_file != NULL)
        assert_int_equal(wtkms_config_set(&cfg, "key_file", key_file, err), 0);
    assert_int_equal(wtkms_config_set(&cfg, "provider", "local", err), 0);
    ret = wtkms_kms_open(&cfg, kmsp, err);
    wtkms_config_free(&cfg);
    return (ret);
}

/*
 * b64 --
 *     Base64 of len bytes into out (NUL-terminated).
 */
static void
b64(const uint8_t *in, size_t len, char *out)
{
    (void)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/*
 * test_raw_and_base64 --
 *     The same 32 bytes, raw or as base64 (with or without a newline), are the same key.
 */
static void
test_raw_and_base64(void **state)
{
    char *dir, text[64];
    uint8_t key[32], *blob;
    size_t blob_len;
    wtkms_kms *raw, *enc;
    wtkms_kms_desc d1, d2, dw;
    wtkms_key *back;
    wtkms_err err;
    const char *p;

    (void)state;
    dir = t_tmpdir("local");
    t_random(key, sizeof(key));
    p = t_path(dir, "raw.key");
    t_write_file(p, key, 32, 0600);
    assert_int_equal(open_local(p, &raw, &err), 0);
    b64(key, 32, text);
    assert_int_equal(strlen(text), 44);
    p = t_path(dir, "b64.key");
    t_write_file(p, text, 44, 0400);
    assert_int_equal(open_local(p, &enc, &err), 0);
    raw->describe(raw, &d1);
    enc->describe(enc, &d2);
    assert_string_equal(d1.provider, "local");
    assert_string_equal(d1.key_id, d2.key_id);
    assert_int_equal(strncmp(d1.key_id, "local-", 6), 0);
    assert_int_equal(strlen(d1.key_id), 6 + 16);
    /* A key wrapped under one form unwraps under the other. */
    assert_int_equal(raw->wrap(raw, key, &blob, &blob_len, &dw, &err), 0);
    assert_string_equal(dw.key_id, d1.key_id);
    assert_int_equal(enc->unwrap(enc, blob, blob_len, &dw, &back, &err), 0);
    assert_memory_equal(back->b, key, 32);
    wtkms_key_free(back);
    free(blob);
    wtkms_kms_close(enc);

    (void)snprintf(text + 44, sizeof(text) - 44, "\n");
    t_write_file(p, text, 45, 0600);
    assert_int_equal(open_local(p, &enc, &err), 0);
    enc->describe(enc, &d2);
    assert_string_equal(d1.key_id, d2.key_id);
    wtkms_kms_close(enc);
    wtkms_kms_close(raw);
    t_rmtree(dir);
}

/*
 * expect_bad_file --
 *     The key file content is refused with a message naming the file and the sizes allowed, and
 *     none of its content in the message.
 */
static void
expect_bad_file(const char *dir, const void *content, size_t len, const char *what)
{
    const char *p = t_path(dir, "bad.key");
    wtkms_kms *kms;
    wtkms_err err;

    t_write_file(p, content, len, 0600);
    if (open_local(p, &kms, &err) == 0) {
        wtkms_kms_close(kms);
        fail_msg("%s: key file accepted", what);
    }
    assert_int_equal(err.code, EPROTO); /* "answer malformed": docs/CLI.md */
    assert_msg_has(&err, p);
    assert_msg_has(&err, "exactly 32 raw bytes or their base64");
    if (len >= 8 && memmem(err.msg, strlen(err.msg), content, 8) != NULL)
        fail_msg("%s: the message echoes the key file's content: %s", what, err.msg);
}

/*
 * test_bad_key_files --
 *     31 and 33 bytes, empty, bad base64, base64 of the wrong length.
 */
static void
test_bad_key_files(void **state)
{
    char *dir, text[128];
    uint8_t key[64];

    (void)state;
    dir = t_tmpdir("badkey");
    t_random(key, sizeof(key));
    key[0] = 'A'; /* printable, so a leak would show */
    memset(key, 'Q', 8);
    expect_bad_file(dir, key, 31, "31 raw bytes");
    expect_bad_file(dir, key, 33, "33 raw bytes");
    expect_bad_file(dir, key, 64, "64 raw bytes");
    expect_bad_file(dir, key, 0, "an empty file");
    expect_bad_file(dir, key, 1, "1 byte");

    b64(key, 32, text);
    text[10] = '*';
    expect_bad_file(dir, text, 44, "base64 with a bad character");
    b64(key, 31, text);
    expect_bad_file(dir, text, strlen(text), "base64 of 31 bytes");
    b64(key, 33, text);
    expect_bad_file(dir, text, strlen(text), "base64 of 33 bytes");
    b64(key, 32, text);
    text[43] = 'A'; /* 44 characters without padding: 33 bytes */
    expect_bad_file(dir, text, 44, "unpadded base64");
    b64(key, 32, text);
    text[42] = '=';
    expect_bad_file(dir, text, 44, "over-padded base64");
    b64(key, 32, text);
    memmove(text + 1, text, 45);
    text[0] = ' ';
    expect_bad_file(dir, text, 45, "base64 with a leading space");
    t_rmtree(dir);
}

/*
 * test_exposed_key_file --
 *     A key file group or others can read (or write) is refused, naming the file and the fix.
 */
static void
test_exposed_key_file(void **state)
{
    static const mode_t modes[] = { 0640, 0604, 0644, 0660, 0606, 0610, 0601, 0620, 0602 };
    char *dir;
    const char *p;
    uint8_t key[32];
    wtkms_kms *kms;
    wtkms_err err;
    size_t i;

    (void)state;
    dir = t_tmpdir("mode");
    p = t_path(dir, "master.key");
    t_random(key, sizeof(key));
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        t_write_file(p, key, 32, modes[i]);
        if (open_local(p, &kms, &err) == 0) {
            wtkms_kms_close(kms);
            fail_msg("key file with mode %03o accepted", (unsigned)modes[i]);
        }
        assert_int_equal(err.code, EACCES); /* "access denied": docs/CLI.md */
        assert_msg_has(&err, p);
        assert_msg_has(&err, "chmod 600");
    }
    t_write_file(p, key, 32, 0400);
    assert_int_equal(open_local(p, &kms, &err), 0);
    wtkms_kms_close(kms);
    t_rmtree(dir);
}

/*
 * test_missing_key_file --
 *     No key_file setting, a key file that does not exist, a directory.
 */
static void
test_missing_key_file(void **state)
{
    char *dir;
    const char *p;
    wtkms_kms *kms;
    wtkms_err err;

    (void)state;
    assert_int_equal(open_local(NULL, &kms, &err), EINVAL);
    assert_msg_has(&err, "setting 'key_file' is required");

    dir = t_tmpdir("nokey");
    p = t_path(dir, "absent.key");
    assert_int_equal(open_local(p, &kms, &err), ENOKEY);
    assert_msg_has(&err, p);
    assert_msg_has(&err, "generate-local");

    p = t_path(dir, "adir");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_not_equal(open_local(p, &kms, &err), 0);
    assert_msg_has(&err, p);
    t_rmtree(dir);
}

/*
 * test_wrong_key_and_altered_blobs --
 *     A blob wrapped under another key file, altered at any byte, cut short or lengthened is
 *     rejected with EKEYREJECTED naming the file; the configured-key check names both keys.
 */
static void
test_wrong_key_and_altered_blobs(void **state)
{
    char *dir, pa[PATH_MAX], pb[PATH_MAX];
    uint8_t key[32], *blob, *bad;
    size_t blob_len, i;
    wtkms_kms *a, *b;
    wtkms_kms_desc da, db;
    wtkms_key *back;
    wtkms_err err;

    (void)state;
    dir = t_tmpdir("wrong");
    (void)snprintf(pa, sizeof(pa), "%s", t_make_key_file(dir, "a.key"));
    (void)snprintf(pb, sizeof(pb), "%s", t_make_key_file(dir, "b.key"));
    assert_int_equal(open_local(pa, &a, &err), 0);
    assert_int_equal(open_local(pb, &b, &err), 0);
    t_random(key, sizeof(key));
    assert_int_equal(a->wrap(a, key, &blob, &blob_len, &da, &err), 0);
    b->describe(b, &db);
    assert_string_not_equal(da.key_id, db.key_id);

    back = (wtkms_key *)1;
    assert_int_equal(b->unwrap(b, blob, blob_len, &da, &back, &err), EKEYREJECTED);
    assert_null(back);
    assert_msg_has(&err, pb);

    bad = malloc(blob_len + 1);
    for (i = 0; i < blob_len; i++) {
        memcpy(bad, blob, blob_len);
        bad[i] ^= 0x40;
        back = (wtkms_key *)1;
        if (a->unwrap(a, bad, blob_len, &da, &back, &err) != EKEYREJECTED)
            fail_msg("blob altered at byte %zu was not rejected: %s", i, err.msg);
        assert_null(back);
    }
    memcpy(bad, blob, blob_len);
    bad[blob_len] = 0;
    assert_int_equal(a->unwrap(a, bad, blob_len + 1, &da, &back, &err), EKEYREJECTED);
    assert_int_equal(a->unwrap(a, bad, blob_len - 1, &da, &back, &err), EKEYREJECTED);
    assert_int_equal(a->unwrap(a, bad, 0, &da, &back, &err), EKEYREJECTED);
    free(bad);

    /* The stored descriptor names a's key: b is refused before any unwrap, naming both. */
    assert_int_equal(wtkms_kms_check_match(a, &da, &err), 0);
    assert_int_equal(wtkms_kms_check_match(b, &da, &err), EKEYREJECTED);
    assert_msg_has(&err, pb);
    assert_msg_has(&err, da.key_id);
    assert_msg_has(&err, db.key_id);
    (void)snprintf(da.provider, sizeof(da.provider), "aws");
    assert_int_equal(wtkms_kms_check_match(a, &da, &err), EKEYREJECTED);
    assert_msg_has(&err, "provider=aws");

    /* Two wraps of one key differ (fresh nonce each). */
    {
        uint8_t *blob2;
        size_t len2;
        assert_int_equal(a->wrap(a, key, &blob2, &len2, &da, &err), 0);
        assert_int_equal(len2, blob_len);
        assert_memory_not_equal(blob2, blob, blob_len);
        free(blob2);
    }
    /* No key material in any blob. */
    assert_null(memmem(blob, blob_len, key, 8));
    free(blob);
    wtkms_kms_close(a);
    wtkms_kms_close(b);
    t_rmtree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_and_base64),
        cmocka_unit_test(test_bad_key_files),
        cmocka_unit_test(test_exposed_key_file),
        cmocka_unit_test(test_missing_key_file),
        cmocka_unit_test(test_wrong_key_and_altered_blobs),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
