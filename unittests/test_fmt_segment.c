/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fmt_segment.c -- the oplog segment format (src/oplog/oplog_segment.h), format 3: bodies
 * compressed (zstd) when that saves bytes, encrypted or clear, round-trip; the compression and
 * the entries' length are in the authenticated header, so changing them without the key fails;
 * a clear segment (whose digest anyone can recompute) carrying a decompression bomb is refused
 * without a byte written past the header's length; impossible lengths are refused at parse.
 */
#include "test_helpers.h"

#include <bson/bson.h>
#include <zstd.h>

#include "oplog_segment.h"
#include "zcodec.h"

#define GUARD 64

/*
 * entries --
 *     n oplog-like entries back to back, compressible.
 */
static void
entries(wtkms_buf *b, int n, bool random_values)
{
    uint8_t rnd[64];
    int i;

    for (i = 0; i < n; i++) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_TIMESTAMP(&d, "ts", 1700000000, (uint32_t)i + 1);
        BSON_APPEND_UTF8(&d, "op", "i");
        BSON_APPEND_UTF8(&d, "ns", "app.orders");
        if (random_values) {
            assert_int_equal(wtkms_random(rnd, sizeof(rnd)), 0);
            BSON_APPEND_BINARY(&d, "v", BSON_SUBTYPE_BINARY, rnd, sizeof(rnd));
        } else
            BSON_APPEND_UTF8(&d, "v", "a value that repeats in every entry of this segment");
        assert_int_equal(wtkms_buf_append(b, bson_get_data(&d), d.len), 0);
        bson_destroy(&d);
    }
}

static wtkms_key t_run_key;

/*
 * seal --
 *     A segment of the entries in plain (encrypted or clear, compressed when zc is set).
 */
static void
seal(wtkms_seg_header *h, const wtkms_buf *plain, bool encrypted, wtkms_zc *zc, wtkms_buf *out)
{
    wtkms_gcm *gcm = wtkms_gcm_new();
    wtkms_err err;

    memset(h, 0, sizeof(*h));
    memset(t_run_key.b, 9, sizeof(t_run_key.b));
    h->kind = WTKMS_SEG_ENTRIES;
    h->seq = 7;
    h->count = 1;
    h->first_ts = h->last_ts = WTKMS_TS(1700000000, 1);
    h->last_term = 1;
    if (encrypted)
        (void)snprintf(h->cmk.provider, sizeof(h->cmk.provider), "local");
    assert_int_equal(
      wtkms_seg_seal(h, gcm, encrypted ? &t_run_key : NULL, zc, plain->p, plain->len, out, &err),
      0);
    wtkms_gcm_free(gcm);
}

/*
 * open_file --
 *     Parse and open a segment file; the entries go to a guarded buffer of plain_len bytes.
 */
static int
open_file(const uint8_t *file, size_t len, wtkms_seg_header *h, uint8_t **plainp, wtkms_err *err)
{
    wtkms_gcm *gcm;
    uint8_t *plain;
    int ret;

    *plainp = NULL;
    if ((ret = wtkms_seg_parse_header(file, len, "seg", h, err)) != 0)
        return (ret);
    plain = malloc((size_t)h->plain_len + GUARD);
    memset(plain, 0xa5, (size_t)h->plain_len + GUARD);
    gcm = wtkms_gcm_new();
    ret = wtkms_seg_open(h, file, len, gcm, h->encrypted ? &t_run_key : NULL, "seg", plain, err);
    wtkms_gcm_free(gcm);
    for (size_t i = 0; i < GUARD; i++)
        assert_int_equal(plain[h->plain_len + i], 0xa5);
    *plainp = plain;
    return (ret);
}

/*
 * field --
 *     Where a header field's value starts in a segment file (after its key's NUL).
 */
static size_t
field(const wtkms_buf *f, const char *key)
{
    uint8_t *p = memmem(f->p, f->len, key, strlen(key) + 1);

    assert_non_null(p);
    return ((size_t)(p - f->p) + strlen(key) + 1);
}

/*
 * test_roundtrip --
 *     Compressible and incompressible bodies, encrypted and clear, with and without zstd.
 */
static void
test_roundtrip(void **state T_UNUSED)
{
    wtkms_seg_header h, back;
    wtkms_buf plain, out;
    wtkms_zc *zc;
    wtkms_err err;
    uint8_t *got;
    int enc, rnd, z;

    assert_int_equal(wtkms_zc_new(1, &zc), 0);
    for (enc = 0; enc < 2; enc++)
        for (rnd = 0; rnd < 2; rnd++)
            for (z = 0; z < 2; z++) {
                memset(&plain, 0, sizeof(plain));
                memset(&out, 0, sizeof(out));
                if (rnd == 1) { /* incompressible: stored as it is */
                    assert_int_equal(wtkms_buf_reserve(&plain, 20000), 0);
                    assert_int_equal(wtkms_random(plain.p, 20000), 0);
                    plain.len = 20000;
                } else
                    entries(&plain, 200, false);
                seal(&h, &plain, enc == 1, z ? zc : NULL, &out);
                assert_int_equal(h.format, WTKMS_SEG_FORMAT);
                assert_true(h.compressed == (z == 1 && rnd == 0));
                if (h.compressed)
                    assert_true(h.body_len < plain.len / 4);
                assert_int_equal(h.plain_len, plain.len);
                assert_int_equal(open_file(out.p, out.len, &back, &got, &err), 0);
                assert_true(back.compressed == h.compressed);
                assert_int_equal(back.plain_len, plain.len);
                assert_memory_equal(got, plain.p, plain.len);
                free(got);
                wtkms_buf_free(&plain);
                wtkms_buf_free(&out);
            }
    wtkms_zc_free(zc);
}

/*
 * test_header_binds_compression --
 *     Encrypted: the header is the AAD. Someone without the key changes the compression
 *     ("zstd" to "none" needs plain_len = body_len too) or the entries' length: the tag fails.
 */
static void
test_header_binds_compression(void **state T_UNUSED)
{
    wtkms_seg_header h, back;
    wtkms_buf plain, out;
    wtkms_zc *zc;
    wtkms_err err;
    uint8_t *got;
    size_t at;
    int64_t v;

    memset(&plain, 0, sizeof(plain));
    memset(&out, 0, sizeof(out));
    assert_int_equal(wtkms_zc_new(1, &zc), 0);
    entries(&plain, 200, false);
    seal(&h, &plain, true, zc, &out);
    assert_true(h.compressed);
    /* A longer entries length: decompression would be bounded by a forged number. */
    at = field(&out, "plain_len");
    memcpy(&v, out.p + at, 8);
    v += 1;
    memcpy(out.p + at, &v, 8);
    assert_int_equal(open_file(out.p, out.len, &back, &got, &err), EBADMSG);
    assert_msg_has(&err, "fail authentication");
    free(got);
    /* "none" with plain_len set to body_len: parses, and the tag fails. */
    v = (int64_t)h.body_len;
    memcpy(out.p + at, &v, 8);
    memcpy(out.p + field(&out, "compression") + 4, "none", 4);
    assert_int_equal(open_file(out.p, out.len, &back, &got, &err), EBADMSG);
    assert_false(back.compressed);
    assert_msg_has(&err, "fail authentication");
    free(got);
    /* Impossible: "none" with plain_len != body_len; "zstd" and no saving. */
    v = (int64_t)h.plain_len;
    memcpy(out.p + at, &v, 8);
    assert_int_equal(wtkms_seg_parse_header(out.p, out.len, "seg", &back, &err), EILSEQ);
    memcpy(out.p + field(&out, "compression") + 4, "zstd", 4);
    v = (int64_t)h.body_len;
    memcpy(out.p + at, &v, 8);
    assert_int_equal(wtkms_seg_parse_header(out.p, out.len, "seg", &back, &err), EILSEQ);
    memcpy(out.p + field(&out, "compression") + 4, "lz4\0", 4);
    assert_int_equal(wtkms_seg_parse_header(out.p, out.len, "seg", &back, &err), EILSEQ);
    /* Over the body limit. */
    memcpy(out.p + field(&out, "compression") + 4, "zstd", 4);
    v = (int64_t)WTKMS_SEG_MAX_BODY + 1;
    memcpy(out.p + at, &v, 8);
    assert_int_equal(wtkms_seg_parse_header(out.p, out.len, "seg", &back, &err), EILSEQ);
    wtkms_buf_free(&plain);
    wtkms_buf_free(&out);
    wtkms_zc_free(zc);
}

/*
 * test_clear_bomb --
 *     A clear segment anyone can rewrite: its body replaced by a frame of 64 MiB of zeros, with
 *     body_len and body_sha256 fixed up. The digest verifies; decompression must stop at
 *     plain_len and refuse it, with nothing written past plain_len.
 */
static void
test_clear_bomb(void **state T_UNUSED)
{
    wtkms_seg_header h, back;
    wtkms_buf plain, out, forged;
    wtkms_zc *zc;
    wtkms_err err;
    ZSTD_CCtx *cc;
    uint8_t *zeros, *bomb, *got, digest[WTKMS_SHA256_LEN];
    size_t blen, cap, at;
    int64_t v;
    int with_size;

    assert_int_equal(wtkms_zc_new(1, &zc), 0);
    for (with_size = 0; with_size < 2; with_size++) {
        memset(&plain, 0, sizeof(plain));
        memset(&out, 0, sizeof(out));
        memset(&forged, 0, sizeof(forged));
        entries(&plain, 50, false);
        seal(&h, &plain, false, zc, &out);
        assert_true(h.compressed);
        zeros = calloc(1, 64 * 1024 * 1024);
        cap = ZSTD_compressBound(64 * 1024 * 1024);
        bomb = malloc(cap);
        cc = ZSTD_createCCtx();
        (void)ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, with_size);
        if (with_size)
            blen = ZSTD_compress2(cc, bomb, cap, zeros, 64 * 1024 * 1024);
        else {
            ZSTD_inBuffer in = { zeros, 64 * 1024 * 1024, 0 };
            ZSTD_outBuffer o = { bomb, cap, 0 };
            assert_int_equal(ZSTD_compressStream2(cc, &o, &in, ZSTD_e_end), 0);
            blen = o.pos;
        }
        ZSTD_freeCCtx(cc);
        free(zeros);
        assert_false(ZSTD_isError(blen));
        assert_true(blen < h.plain_len); /* so the header is consistent */
        /* Header with the bomb's length and digest, then the bomb. */
        assert_int_equal(wtkms_buf_append(&forged, out.p, h.header_len), 0);
        v = (int64_t)blen;
        at = field(&forged, "body_len");
        memcpy(forged.p + at, &v, 8);
        assert_int_equal(wtkms_sha256(bomb, blen, digest), 0);
        memcpy(forged.p + field(&forged, "body_sha256") + 5, digest, sizeof(digest));
        assert_int_equal(wtkms_buf_append(&forged, bomb, blen), 0);
        assert_int_equal(open_file(forged.p, forged.len, &back, &got, &err), EBADMSG);
        assert_msg_has(&err, "is damaged");
        free(got);
        free(bomb);
        wtkms_buf_free(&plain);
        wtkms_buf_free(&out);
        wtkms_buf_free(&forged);
    }
    wtkms_zc_free(zc);
}

/*
 * test_gap --
 *     A gap segment has an empty body and is never compressed.
 */
static void
test_gap(void **state T_UNUSED)
{
    wtkms_seg_header h, back;
    wtkms_buf out;
    wtkms_zc *zc;
    wtkms_gcm *gcm = wtkms_gcm_new();
    wtkms_err err;
    uint8_t *got;

    memset(&out, 0, sizeof(out));
    memset(&h, 0, sizeof(h));
    assert_int_equal(wtkms_zc_new(1, &zc), 0);
    h.kind = WTKMS_SEG_GAP;
    h.seq = 3;
    h.gap_from = WTKMS_TS(10, 1);
    h.gap_to = WTKMS_TS(20, 1);
    assert_int_equal(wtkms_seg_seal(&h, gcm, &t_run_key, zc, NULL, 0, &out, &err), 0);
    assert_false(h.compressed);
    assert_int_equal(open_file(out.p, out.len, &back, &got, &err), 0);
    assert_int_equal(back.plain_len, 0);
    free(got);
    wtkms_buf_free(&out);
    wtkms_gcm_free(gcm);
    wtkms_zc_free(zc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_header_binds_compression),
        cmocka_unit_test(test_clear_bomb),
        cmocka_unit_test(test_gap),
    };
    return (cmocka_run_group_tests(tests, NULL, NULL));
}
