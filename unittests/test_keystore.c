/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keystore.c -- the keystore (src/keystore/keystore.h) with the local provider: every kind
 * of damage stops the open with a message naming the file, and the file is never touched; writes
 * are atomic and durable; a new keystore never replaces an old one; master-key rotation keeps
 * every data key.
 */
#include "test_helpers.h"

#include <sys/stat.h>

typedef struct {
    char *dir;
    char key_file[PATH_MAX];
    char ks_path[PATH_MAX];
    uint8_t *img; /* the good keystore image */
    size_t len;
} fixture;

/*
 * fixture_make --
 *     A home whose keystore has two data keys and two open records (as after two writing opens).
 */
static void
fixture_make(fixture *f, const char *tag)
{
    wtkms_engine *e;
    wtkms_keyed *k1, *k2;
    uint8_t pt[16];
    size_t blen;
    int i;

    memset(f, 0, sizeof(*f));
    f->dir = t_tmpdir(tag);
    (void)snprintf(f->key_file, sizeof(f->key_file), "%s", t_make_key_file(f->dir, "master.key"));
    (void)snprintf(f->ks_path, sizeof(f->ks_path), "%s", t_path(f->dir, WTKMS_KEYSTORE_FILE));
    t_random(pt, sizeof(pt));
    for (i = 0; i < 2; i++) {
        e = t_engine_open(f->dir, f->key_file);
        k1 = t_keyed(e, "k1");
        k2 = t_keyed(e, "k2");
        free(t_seal(k1, pt, sizeof(pt), &blen));
        free(t_seal(k2, pt, sizeof(pt), &blen));
        wtkms_keyed_free(k1);
        wtkms_keyed_free(k2);
        wtkms_engine_free(e);
    }
    f->img = t_read_file(f->ks_path, &f->len);
    assert_non_null(f->img);
}

static void
fixture_free(fixture *f)
{
    free(f->img);
    t_rmtree(f->dir);
}

/*
 * expect_refused --
 *     The keystore now on disk (content img/len) is refused by load or unlock with a message
 *     naming the file, and neither the file nor the directory changes.
 */
static void
expect_refused(fixture *f, const char *key_file, const char *what, size_t arg, const char *cause)
{
    wtkms_keystore *ks;
    wtkms_err err;
    struct stat before, after;
    uint8_t *img;
    size_t len, before_len;
    int entries, ret;

    if (stat(f->ks_path, &before) != 0)
        memset(&before, 0, sizeof(before));
    img = t_read_file(f->ks_path, &before_len);
    entries = t_count_entries(f->dir);

    ret = t_keystore_open(f->dir, key_file, &ks, &err);
    if (ret == 0) {
        wtkms_keystore_free(ks);
        fail_msg("%s (%zu): the keystore was accepted", what, arg);
    }
    assert_int_equal(err.code, ret);
    if (strstr(err.msg, f->ks_path) == NULL)
        fail_msg("%s (%zu): the message does not name %s: %s", what, arg, f->ks_path, err.msg);
    if (cause != NULL && strstr(err.msg, cause) == NULL)
        fail_msg("%s (%zu): the message lacks \"%s\": %s", what, arg, cause, err.msg);

    /* Never repaired, replaced or touched; no temporary file left behind. */
    if (stat(f->ks_path, &after) != 0)
        memset(&after, 0, sizeof(after));
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    {
        uint8_t *now = t_read_file(f->ks_path, &len);
        assert_int_equal(len, before_len);
        if (len > 0)
            assert_memory_equal(now, img, len);
        free(now);
    }
    assert_int_equal(t_count_entries(f->dir), entries);
    free(img);
}

/* Write a damaged image as the keystore. */
static void
put(fixture *f, const uint8_t *img, size_t len)
{
    t_write_file(f->ks_path, img, len, 0600);
}

/*
 * test_good_keystore --
 *     The fixture's keystore loads and unlocks, with both data keys and both opens.
 */
static void
test_good_keystore(void **state)
{
    fixture f;
    wtkms_keystore *ks;
    wtkms_err err;

    (void)state;
    fixture_make(&f, "good");
    assert_int_equal(t_keystore_open(f.dir, f.key_file, &ks, &err), 0);
    assert_int_equal(ks->nroots, 2);
    assert_int_equal(ks->nopens, 2);
    assert_string_equal(ks->roots[0].keyid, "k1");
    assert_string_equal(ks->roots[1].keyid, "k2");
    assert_non_null(ks->roots[0].key);
    assert_string_equal(ks->wraps[0].cmk.provider, "local");
    assert_memory_not_equal(ks->opens[0].salt, ks->opens[1].salt, WTKMS_SALT_LEN);
    /* The documented envelope: magic, version 2, body length, BSON, 32-byte MAC. */
    assert_memory_equal(f.img, "WTKMSKS\n", 8);
    assert_int_equal(f.img[8], 2);
    assert_int_equal((size_t)f.img[12] | (size_t)f.img[13] << 8 | (size_t)f.img[14] << 16 |
                       (size_t)f.img[15] << 24,
      f.len - 16 - 32);
    wtkms_keystore_free(ks);
    fixture_free(&f);
}

/*
 * test_missing --
 *     No keystore: load names the file and says to restore it; nothing is created.
 */
static void
test_missing(void **state)
{
    fixture f;
    wtkms_keystore *ks;
    wtkms_err err;

    (void)state;
    fixture_make(&f, "missing");
    assert_int_equal(unlink(f.ks_path), 0);
    assert_int_equal(wtkms_keystore_load(f.dir, &ks, &err), ENOENT);
    assert_null(ks);
    assert_msg_has(&err, f.ks_path);
    assert_msg_has(&err, "missing");
    assert_msg_has(&err, "backup");
    assert_false(wtkms_keystore_exists(f.dir));
    fixture_free(&f);
}

/*
 * test_truncated_every_length --
 *     Cut at every length from 0 to one byte short: magic, header, body and MAC.
 */
static void
test_truncated_every_length(void **state)
{
    fixture f;
    size_t len;

    (void)state;
    fixture_make(&f, "trunc");
    for (len = 0; len < f.len; len++) {
        put(&f, f.img, len);
        expect_refused(&f, f.key_file, "truncated", len, NULL);
    }
    fixture_free(&f);
}

/*
 * test_flip_every_byte --
 *     One byte flipped anywhere (header, body, MAC) is refused: by the structure checks, the
 *     provider, the configured-key check or the MAC.
 */
static void
test_flip_every_byte(void **state)
{
    static const uint8_t masks[] = { 0x01, 0xff };
    fixture f;
    uint8_t *bad;
    size_t pos, m;

    (void)state;
    fixture_make(&f, "flip");
    bad = malloc(f.len);
    for (pos = 0; pos < f.len; pos++)
        for (m = 0; m < sizeof(masks); m++) {
            memcpy(bad, f.img, f.len);
            bad[pos] ^= masks[m];
            put(&f, bad, f.len);
            expect_refused(&f, f.key_file,
              pos < 16 ? "header byte flipped"
                       : (pos < f.len - 32 ? "body byte flipped" : "MAC byte flipped"),
              pos, NULL);
        }
    /* A flip in the MAC itself is reported as an integrity failure. */
    memcpy(bad, f.img, f.len);
    bad[f.len - 1] ^= 0x10;
    put(&f, bad, f.len);
    expect_refused(&f, f.key_file, "MAC byte flipped", f.len - 1, "integrity check");
    free(bad);
    fixture_free(&f);
}

/*
 * test_bad_envelopes --
 *     Wrong magic, a future version, appended bytes, a body that is not BSON.
 */
static void
test_bad_envelopes(void **state)
{
    fixture f;
    uint8_t *bad;
    size_t n;

    (void)state;
    fixture_make(&f, "env");
    bad = malloc(f.len + 4096);

    memcpy(bad, f.img, f.len);
    memcpy(bad, "WTKMSKX\n", 8);
    put(&f, bad, f.len);
    expect_refused(&f, f.key_file, "wrong magic", 0, "not a wtkms keystore");

    memcpy(bad, f.img, f.len);
    bad[8] = 3;
    put(&f, bad, f.len);
    expect_refused(&f, f.key_file, "future version", 3, "format version 3");

    for (n = 1; n <= 4096; n *= 4) {
        memcpy(bad, f.img, f.len);
        t_random(bad + f.len, n);
        put(&f, bad, f.len + n);
        expect_refused(&f, f.key_file, "appended bytes", n, "appended");
    }

    /* The body replaced by random bytes of the same length: not BSON (or not ours). */
    memcpy(bad, f.img, f.len);
    t_random(bad + 16, f.len - 16 - 32);
    put(&f, bad, f.len);
    expect_refused(&f, f.key_file, "random body", 0, "damaged");

    /* A valid, empty BSON document as the body, length fixed up. */
    memcpy(bad, f.img, 16);
    memcpy(bad + 16, "\x05\x00\x00\x00\x00", 5);
    bad[12] = 5;
    bad[13] = bad[14] = bad[15] = 0;
    t_random(bad + 21, 32);
    put(&f, bad, 16 + 5 + 32);
    expect_refused(&f, f.key_file, "empty BSON body", 0, "damaged");

    /* A directory where the keystore should be. */
    assert_int_equal(unlink(f.ks_path), 0);
    assert_int_equal(mkdir(f.ks_path, 0700), 0);
    {
        wtkms_keystore *ks;
        wtkms_err err;
        assert_int_not_equal(t_keystore_open(f.dir, f.key_file, &ks, &err), 0);
        assert_msg_has(&err, f.ks_path);
    }
    assert_int_equal(rmdir(f.ks_path), 0);
    free(bad);
    fixture_free(&f);
}

/*
 * test_wrong_cmk --
 *     Another master key file: refused before anything is unwrapped, naming file and both keys.
 */
static void
test_wrong_cmk(void **state)
{
    fixture f;
    wtkms_keystore *ks;
    wtkms_err err;
    char other[PATH_MAX];

    (void)state;
    fixture_make(&f, "cmk");
    (void)snprintf(other, sizeof(other), "%s", t_make_key_file(f.dir, "other.key"));
    expect_refused(&f, other, "wrong master key", 0, "original key file");
    assert_int_not_equal(t_keystore_open(f.dir, other, &ks, &err), 0);
    assert_int_equal(err.code, EKEYREJECTED);
    assert_msg_has(&err, other);
    fixture_free(&f);
}

/*
 * test_create_never_overwrites --
 *     Creating a keystore where one exists fails and leaves the old one as it was.
 */
static void
test_create_never_overwrites(void **state)
{
    fixture f;
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    uint8_t *now;
    size_t len;

    (void)state;
    fixture_make(&f, "noover");
    kms = t_local_kms(f.key_file);
    assert_int_equal(wtkms_keystore_create(f.dir, kms, &ks, &err), EEXIST);
    assert_null(ks);
    assert_msg_has(&err, f.ks_path);
    now = t_read_file(f.ks_path, &len);
    assert_int_equal(len, f.len);
    assert_memory_equal(now, f.img, len);
    assert_int_equal(t_count_entries(f.dir), 3); /* key file, keystore, its lock file */
    free(now);
    wtkms_kms_close(kms);
    fixture_free(&f);
}

/*
 * test_durable_writes --
 *     Create and save each write a temporary file, fsync it, move it into place, fsync the
 *     directory; what is saved is what is loaded.
 */
static void
test_durable_writes(void **state)
{
    char *dir;
    const char *kf;
    wtkms_keystore *ks, *back;
    wtkms_ks_open *o;
    wtkms_ks_root *r;
    wtkms_kms *kms;
    wtkms_err err;

    (void)state;
    dir = t_tmpdir("durable");
    kf = t_make_key_file(dir, "master.key");
    kms = t_local_kms(kf);
    t_io_reset();
    assert_int_equal(wtkms_keystore_create(dir, kms, &ks, &err), 0);
    t_assert_durable_write(dir);

    assert_int_equal(wtkms_keystore_add_open(ks, &o, &err), 0);
    assert_int_equal(wtkms_keystore_add_root(ks, "k1", &r, &err), 0);
    t_io_reset();
    assert_int_equal(wtkms_keystore_save(ks, &err), 0);
    t_assert_durable_write(dir);
    /* Key file, keystore and its lock file: no temporary left. */
    assert_int_equal(t_count_entries(dir), 3);

    assert_int_equal(wtkms_keystore_load(dir, &back, &err), 0);
    assert_int_equal(wtkms_keystore_unlock(back, kms, &err), 0);
    assert_int_equal(back->nopens, 1);
    assert_int_equal(back->nroots, 1);
    assert_memory_equal(back->opens[0].salt, ks->opens[0].salt, WTKMS_SALT_LEN);
    assert_memory_equal(back->roots[0].key->b, ks->roots[0].key->b, WTKMS_KEY_LEN);
    assert_memory_equal(back->home_id, ks->home_id, sizeof(ks->home_id));
    wtkms_keystore_free(back);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    t_rmtree(dir);
}

/*
 * test_rewrap --
 *     Rotating to another master key keeps every data key; the old key file is then refused.
 */
static void
test_rewrap(void **state)
{
    fixture f;
    wtkms_keystore *ks, *back;
    wtkms_kms *newkms;
    wtkms_err err;
    char newkf[PATH_MAX];
    uint8_t keys[2][WTKMS_KEY_LEN];

    (void)state;
    fixture_make(&f, "rewrap");
    (void)snprintf(newkf, sizeof(newkf), "%s", t_make_key_file(f.dir, "new.key"));
    assert_int_equal(t_keystore_open(f.dir, f.key_file, &ks, &err), 0);
    memcpy(keys[0], ks->roots[0].key->b, WTKMS_KEY_LEN);
    memcpy(keys[1], ks->roots[1].key->b, WTKMS_KEY_LEN);
    newkms = t_local_kms(newkf);
    t_io_reset();
    assert_int_equal(wtkms_keystore_rewrap(ks, 0, newkms, &err), 0);
    t_assert_durable_write(f.dir);
    wtkms_keystore_free(ks);
    wtkms_kms_close(newkms);

    assert_int_equal(t_keystore_open(f.dir, newkf, &back, &err), 0);
    assert_memory_equal(back->roots[0].key->b, keys[0], WTKMS_KEY_LEN);
    assert_memory_equal(back->roots[1].key->b, keys[1], WTKMS_KEY_LEN);
    wtkms_keystore_free(back);
    free(f.img);
    f.img = t_read_file(f.ks_path, &f.len);
    expect_refused(&f, f.key_file, "old master key after rotation", 0, "original key file");
    fixture_free(&f);
}

/*
 * test_swapped_records --
 *     Records moved between two keystores under the same master key never unlock: the MAC is
 *     keyed per keystore.
 */
static void
test_swapped_records(void **state)
{
    fixture a, b;
    uint8_t *mix;
    size_t n;

    (void)state;
    fixture_make(&a, "swapa");
    fixture_make(&b, "swapb");
    /* Put b's MAC on a's body, then b's body under a's header: both refused by a's key file. */
    mix = malloc(a.len > b.len ? a.len : b.len);
    memcpy(mix, a.img, a.len);
    memcpy(mix + a.len - 32, b.img + b.len - 32, 32);
    put(&a, mix, a.len);
    expect_refused(&a, a.key_file, "another keystore's MAC", 0, NULL);
    /* b under a's key file: b's master key differs. */
    put(&a, b.img, b.len);
    expect_refused(&a, a.key_file, "another home's keystore", 0, NULL);
    n = a.len;
    (void)n;
    free(mix);
    fixture_free(&a);
    fixture_free(&b);
}

/*
 * test_unlock_checks_what_was_loaded --
 *     The MAC unlock verifies must cover the bytes load parsed: a keystore altered when load
 *     read it, and put back before unlock, must not unlock with the altered records in memory.
 */
static void
test_unlock_checks_what_was_loaded(void **state)
{
    fixture f;
    wtkms_keystore *ks;
    wtkms_kms *kms;
    wtkms_err err;
    uint8_t *bad, *salt;
    int ret;

    (void)state;
    fixture_make(&f, "toctou");
    /* Alter the first open record's salt: still well-formed, so load accepts it. */
    assert_int_equal(t_keystore_open(f.dir, f.key_file, &ks, &err), 0);
    bad = malloc(f.len);
    memcpy(bad, f.img, f.len);
    salt = memmem(bad, f.len, ks->opens[0].salt, WTKMS_SALT_LEN);
    assert_non_null(salt);
    wtkms_keystore_free(ks);
    salt[0] ^= 0x01;
    put(&f, bad, f.len);
    assert_int_equal(wtkms_keystore_load(f.dir, &ks, &err), 0);
    put(&f, f.img, f.len);
    kms = t_local_kms(f.key_file);
    ret = wtkms_keystore_unlock(ks, kms, &err);
    if (ret == 0)
        fail_msg("unlock accepted a keystore whose parsed records no MAC covered (open 1's salt "
                 "in memory differs from the file)");
    assert_msg_has(&err, f.ks_path);
    wtkms_keystore_free(ks);
    wtkms_kms_close(kms);
    free(bad);
    fixture_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_keystore),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_bad_envelopes),
        cmocka_unit_test(test_wrong_cmk),
        cmocka_unit_test(test_create_never_overwrites),
        cmocka_unit_test(test_durable_writes),
        cmocka_unit_test(test_rewrap),
        cmocka_unit_test(test_swapped_records),
        cmocka_unit_test(test_unlock_checks_what_was_loaded),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
