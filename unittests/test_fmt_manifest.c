/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fmt_manifest.c -- the snapshot manifest format (src/snapshot/manifest.h): format 2 with its
 * compression field round-trips and is covered by the MAC; format 1 (no compression field) is
 * still read; a compression field with an unknown algorithm, an impossible level, or missing in
 * format 2 is refused; an unknown format version is refused with what to do.
 */
#include "test_helpers.h"

#include <bson/bson.h>

#include "chunk.h"
#include "manifest.h"

#define ID "20261202T120000Z-0badf00d"

/*
 * t_manifest --
 *     A small manifest: two files, encrypted or not, at a format version and level.
 */
static wtkms_snap_manifest *
t_manifest(bool encrypted, int version, int level)
{
    wtkms_snap_manifest *m;

    m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->format_version = version;
    (void)snprintf(m->id, sizeof(m->id), "%s", ID);
    m->created_ms = 1764676800000LL;
    (void)snprintf(m->source_host, sizeof(m->source_host), "host");
    (void)snprintf(m->source_path, sizeof(m->source_path), "/data/db");
    (void)snprintf(m->source_method, sizeof(m->source_method), "backup_cursor");
    (void)snprintf(m->wt_version, sizeof(m->wt_version), "WiredTiger 11.3.1");
    m->chunk_size = 65536;
    m->compress_level = level;
    m->oplog_term = -1;
    m->nfiles = 2;
    m->files = calloc(2, sizeof(*m->files));
    m->files[0].name = strdup("WiredTiger.wt");
    m->files[0].size = 100000;
    m->files[1].name = strdup("journal/WiredTigerLog.0000000001");
    m->files[1].size = 104857600;
    m->size = m->files[0].size + m->files[1].size;
    m->stored_size = 4242;
    m->files[0].chunks = wtkms_snap_nchunks(m->files[0].size, m->chunk_size);
    m->files[1].chunks = wtkms_snap_nchunks(m->files[1].size, m->chunk_size);
    m->files[0].mode = m->files[1].mode = 0600;
    if (encrypted) {
        m->encrypted = true;
        (void)snprintf(m->key.provider, sizeof(m->key.provider), "local");
        (void)snprintf(m->key.key_id, sizeof(m->key.key_id), "local-0123456789abcdef");
        m->wrapped_len = 60;
        m->wrapped_key = calloc(1, m->wrapped_len);
    }
    return (m);
}

static void
t_keys(wtkms_snap_keys *keys)
{
    uint8_t key[WTKMS_KEY_LEN];

    memset(key, 3, sizeof(key));
    assert_int_equal(wtkms_snap_derive(key, ID, keys), 0);
}

/*
 * test_roundtrip --
 *     Format 2 (zstd at several levels, and none) and format 1, encrypted and not.
 */
static void
test_roundtrip(void **state T_UNUSED)
{
    static const int cases[][2] = { { 2, 1 }, { 2, 19 }, { 2, 0 }, { 1, 0 } };
    wtkms_snap_manifest *m, *back;
    wtkms_snap_keys keys;
    wtkms_err err;
    uint8_t *buf;
    size_t len, c;
    int enc;

    t_keys(&keys);
    for (enc = 0; enc < 2; enc++)
        for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            m = t_manifest(enc == 1, cases[c][0], cases[c][1]);
            assert_int_equal(wtkms_manifest_encode(m, enc ? &keys : NULL, &buf, &len, &err), 0);
            assert_int_equal(wtkms_manifest_decode(buf, len, ID, &back, &err), 0);
            assert_int_equal(back->format_version, cases[c][0]);
            assert_int_equal(back->compress_level, cases[c][1]);
            assert_int_equal(back->stored_size, 4242);
            assert_int_equal(back->nfiles, 2);
            assert_int_equal(back->files[1].chunks, 1600);
            if (enc)
                assert_int_equal(wtkms_manifest_authenticate(back, &keys, &err), 0);
            wtkms_manifest_free(back);
            free(buf);
            wtkms_manifest_free(m);
        }
}

/*
 * rewrite --
 *     Re-encode the manifest in buf with its body passed through edit, and the MAC left as is (an
 *     encrypted manifest: someone without the key) or recomputed as the keyless checksum.
 */
static void
rewrite(const uint8_t *buf, size_t len, void (*edit)(bson_t *in, bson_t *out), bool fix_sum,
  uint8_t **outp, size_t *outlenp)
{
    bson_t env, body, nbody, nenv;
    bson_iter_t it;
    const uint8_t *data;
    uint8_t sum[WTKMS_SHA256_LEN];
    uint32_t dlen;

    assert_true(bson_init_static(&env, buf, len));
    assert_true(bson_iter_init_find(&it, &env, "body"));
    bson_iter_document(&it, &dlen, &data);
    assert_true(bson_init_static(&body, data, dlen));
    bson_init(&nbody);
    edit(&body, &nbody);
    bson_init(&nenv);
    assert_true(bson_iter_init(&it, &env));
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "body") == 0)
            BSON_APPEND_DOCUMENT(&nenv, "body", &nbody);
        else if (strcmp(bson_iter_key(&it), "mac") == 0 && fix_sum) {
            assert_int_equal(wtkms_sha256(bson_get_data(&nbody), nbody.len, sum), 0);
            BSON_APPEND_BINARY(&nenv, "mac", BSON_SUBTYPE_BINARY, sum, sizeof(sum));
        } else
            assert_true(bson_append_iter(&nenv, NULL, 0, &it));
    }
    *outlenp = nenv.len;
    *outp = malloc(nenv.len);
    memcpy(*outp, bson_get_data(&nenv), nenv.len);
    bson_destroy(&nbody);
    bson_destroy(&nenv);
}

static const char *edit_alg, *edit_drop;
static int edit_level, edit_version;

/*
 * edit_body --
 *     Copy a body, changing compression or format_version as the test asks.
 */
static void
edit_body(bson_t *in, bson_t *out)
{
    bson_iter_t it;
    bson_t sub;

    assert_true(bson_iter_init(&it, in));
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (edit_drop != NULL && strcmp(k, edit_drop) == 0)
            continue;
        if (strcmp(k, "compression") == 0 && edit_alg != NULL) {
            BSON_APPEND_DOCUMENT_BEGIN(out, "compression", &sub);
            BSON_APPEND_UTF8(&sub, "algorithm", edit_alg);
            BSON_APPEND_INT32(&sub, "level", edit_level);
            bson_append_document_end(out, &sub);
        } else if (strcmp(k, "format_version") == 0 && edit_version != 0)
            BSON_APPEND_INT32(out, "format_version", edit_version);
        else
            assert_true(bson_append_iter(out, NULL, 0, &it));
    }
}

/*
 * try_edit --
 *     Decode an edited clear manifest (checksum recomputed, as anyone can).
 */
static int
try_edit(const char *alg, int level, const char *drop, int version, wtkms_err *err)
{
    wtkms_snap_manifest *m, *back;
    uint8_t *buf, *ebuf;
    size_t len, elen;
    int ret;

    m = t_manifest(false, 2, 1);
    assert_int_equal(wtkms_manifest_encode(m, NULL, &buf, &len, err), 0);
    edit_alg = alg;
    edit_level = level;
    edit_drop = drop;
    edit_version = version;
    rewrite(buf, len, edit_body, true, &ebuf, &elen);
    back = NULL;
    ret = wtkms_manifest_decode(ebuf, elen, ID, &back, err);
    wtkms_manifest_free(back);
    wtkms_manifest_free(m);
    free(buf);
    free(ebuf);
    return (ret);
}

/*
 * test_bad_compression --
 *     Unknown algorithms, impossible levels, a missing field in format 2, unknown versions.
 */
static void
test_bad_compression(void **state T_UNUSED)
{
    wtkms_err err;

    assert_int_equal(try_edit("zstd", 3, NULL, 0, &err), 0); /* the edit itself is harmless */
    assert_int_equal(try_edit("lz4", 1, NULL, 0, &err), EBADMSG);
    assert_msg_has(&err, "unknown algorithm");
    assert_int_equal(try_edit("zstd", 0, NULL, 0, &err), EBADMSG);
    assert_int_equal(try_edit("none", 5, NULL, 0, &err), EBADMSG);
    assert_int_equal(try_edit("zstd", 23, NULL, 0, &err), EBADMSG);
    assert_int_equal(try_edit(NULL, 0, "compression", 0, &err), EBADMSG);
    assert_msg_has(&err, "compression");
    assert_int_equal(try_edit(NULL, 0, NULL, 3, &err), ENOTSUP);
    assert_msg_has(&err, "use a newer wtkms");
}

/*
 * test_compression_under_mac --
 *     An encrypted manifest whose compression field someone without the key changed no longer
 *     authenticates.
 */
static void
test_compression_under_mac(void **state T_UNUSED)
{
    wtkms_snap_manifest *m, *back;
    wtkms_snap_keys keys;
    wtkms_err err;
    uint8_t *buf, *ebuf;
    size_t len, elen;

    t_keys(&keys);
    m = t_manifest(true, 2, 1);
    assert_int_equal(wtkms_manifest_encode(m, &keys, &buf, &len, &err), 0);
    edit_alg = "none";
    edit_level = 0;
    edit_drop = NULL;
    edit_version = 0;
    rewrite(buf, len, edit_body, false, &ebuf, &elen);
    assert_int_equal(wtkms_manifest_decode(ebuf, elen, ID, &back, &err), 0);
    assert_int_equal(back->compress_level, 0);
    assert_int_equal(wtkms_manifest_authenticate(back, &keys, &err), EBADMSG);
    wtkms_manifest_free(back);
    free(ebuf);
    free(buf);
    wtkms_manifest_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_compression),
        cmocka_unit_test(test_compression_under_mac),
    };
    return (cmocka_run_group_tests(tests, NULL, NULL));
}
