/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fmt_chunk.c -- the snapshot chunk format (src/snapshot/chunk.h) and the bounded zstd
 * decompression under it (src/compress/zcodec.h): round trips in both object formats, every
 * binding of a chunk's tag (compressed flag, stored and plain length, index, final flag), record
 * words that lie about lengths, object headers, and decompression bombs: frames that expand past
 * the trusted length must be refused without a byte written past it.
 */
#include "test_helpers.h"

#include <zstd.h>

#include "chunk.h"
#include "zcodec.h"

#define CHUNK (64 * 1024)
#define GUARD 64
#define ID "20261202T120000Z-0badf00d"

static wtkms_snap_keys t_keys;

/*
 * t_codec --
 *     A codec of the test snapshot: encrypted or clear, format 1 or 2.
 */
static wtkms_snap_codec *
t_codec(bool encrypted, int version)
{
    wtkms_snap_codec *c;
    uint8_t key[WTKMS_KEY_LEN];

    memset(key, 7, sizeof(key));
    assert_int_equal(wtkms_snap_derive(key, ID, &t_keys), 0);
    assert_int_equal(wtkms_snap_codec_new(encrypted ? &t_keys : NULL, ID, version, &c), 0);
    return (c);
}

/*
 * mixed --
 *     Half text, half random: compressible, but not to nothing.
 */
static void
mixed(uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len / 2; i++)
        p[i] = (uint8_t)("the quick brown fox "[i % 20]);
    assert_int_equal(wtkms_random(p + len / 2, len - len / 2), 0);
}

/*
 * seal_chunk --
 *     What create's worker does: compress (or not), seal; returns the sealed payload.
 */
static uint8_t *
seal_chunk(wtkms_snap_codec *c, wtkms_zc *z, const uint8_t *plain, size_t len, uint64_t i,
  bool final, wtkms_snap_rec *r, uint8_t *bufa, uint8_t *bufb)
{
    uint8_t *payload;

    memcpy(bufa, plain, len);
    r->file = 3;
    r->chunk = i;
    r->final = final;
    assert_int_equal(wtkms_snap_compress(z, bufa, len, bufb, r, &payload), 0);
    assert_int_equal(wtkms_snap_seal(c, r, payload), 0);
    return (payload);
}

/*
 * test_roundtrip_v2 --
 *     Compressed and stored chunks, encrypted and clear, come back byte for byte.
 */
static void
test_roundtrip_v2(void **state T_UNUSED)
{
    wtkms_snap_codec *c;
    wtkms_zc *z;
    wtkms_zd *d;
    wtkms_snap_rec r, back;
    uint8_t *plain, *a, *b, *sealed, *out, *spare, word[WTKMS_SNAP_REC_LEN];
    char why[256];
    int enc, kind;

    plain = malloc(CHUNK);
    a = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    b = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    spare = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    assert_int_equal(wtkms_zc_new(1, &z), 0);
    assert_int_equal(wtkms_zd_new(&d), 0);
    for (enc = 0; enc < 2; enc++)
        for (kind = 0; kind < 3; kind++) {
            c = t_codec(enc == 1, WTKMS_SNAP_DATA_VERSION);
            if (kind == 0)
                memset(plain, 0, CHUNK); /* a preallocated journal */
            else if (kind == 1)
                mixed(plain, CHUNK);
            else
                assert_int_equal(wtkms_random(plain, CHUNK), 0); /* does not shrink */
            sealed = seal_chunk(c, z, plain, CHUNK, 5, false, &r, a, b);
            assert_true(r.compressed == (kind != 2));
            if (kind == 0)
                assert_true(r.stored < 64); /* a run of zeros costs next to nothing */
            if (kind == 1)
                assert_true(r.stored < CHUNK * 3 / 4);
            if (enc == 1 && r.compressed)
                assert_true(memmem(sealed, r.stored, "quick brown", 11) == NULL);
            /* The reader's side: the word, then open, then decompress. */
            wtkms_snap_rec_encode(word, &r);
            back.file = 3;
            back.chunk = 5;
            back.final = false;
            back.plain = CHUNK;
            assert_int_equal(
              wtkms_snap_rec_decode(word, CHUNK, WTKMS_SNAP_CODEC_ZSTD, &back, why, sizeof(why)),
              0);
            assert_true(back.stored == r.stored && back.compressed == r.compressed);
            assert_int_equal(wtkms_snap_open(c, &back, sealed), 0);
            assert_int_equal(
              wtkms_snap_decompress(d, &back, sealed, spare, &out, why, sizeof(why)), 0);
            assert_memory_equal(out, plain, CHUNK);
            wtkms_snap_codec_free(c);
        }
    wtkms_zc_free(z);
    wtkms_zd_free(d);
    free(plain);
    free(a);
    free(b);
    free(spare);
}

/*
 * test_binding --
 *     Someone without the key flips the compressed flag, changes a length, the index or the final
 *     flag: the tag no longer verifies (encrypted: GCM; clear: the check value).
 */
static void
test_binding(void **state T_UNUSED)
{
    wtkms_snap_codec *c;
    wtkms_zc *z;
    wtkms_snap_rec r, bad;
    uint8_t *plain, *a, *b, *sealed, *copy;
    int enc, which;

    plain = malloc(CHUNK);
    a = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    b = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    copy = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    assert_int_equal(wtkms_zc_new(1, &z), 0);
    mixed(plain, CHUNK);
    for (enc = 0; enc < 2; enc++) {
        c = t_codec(enc == 1, WTKMS_SNAP_DATA_VERSION);
        sealed = seal_chunk(c, z, plain, CHUNK, 9, true, &r, a, b);
        assert_true(r.compressed);
        for (which = 0; which < 6; which++) {
            memcpy(copy, sealed, r.stored + WTKMS_SNAP_TAG_LEN);
            bad = r;
            switch (which) {
            case 0: /* claims to be stored as is (a stored chunk's length is its plain length) */
                bad.compressed = false;
                bad.plain = bad.stored;
                break;
            case 1: /* another plain length: decompression would be bounded by a forged one */
                bad.plain = CHUNK - 1;
                break;
            case 2: /* a shorter payload: the last bytes and the tag moved */
                bad.stored = r.stored - 1;
                break;
            case 3:
                bad.chunk = 8;
                break;
            case 4:
                bad.final = false;
                break;
            case 5:
                bad.file = 4;
                break;
            }
            assert_int_equal(wtkms_snap_open(c, &bad, copy), EBADMSG);
        }
        memcpy(copy, sealed, r.stored + WTKMS_SNAP_TAG_LEN);
        assert_int_equal(wtkms_snap_open(c, &r, copy), 0);
        /* A chunk stored as is, marked compressed: lengths unchanged, only the flag differs. */
        assert_int_equal(wtkms_random(plain, CHUNK), 0);
        sealed = seal_chunk(c, z, plain, CHUNK, 9, true, &r, a, b);
        assert_false(r.compressed);
        bad = r;
        bad.compressed = true;
        memcpy(copy, sealed, r.stored + WTKMS_SNAP_TAG_LEN);
        assert_int_equal(wtkms_snap_open(c, &bad, copy), EBADMSG);
        memcpy(copy, sealed, r.stored + WTKMS_SNAP_TAG_LEN);
        assert_int_equal(wtkms_snap_open(c, &r, copy), 0);
        mixed(plain, CHUNK);
        wtkms_snap_codec_free(c);
    }
    wtkms_zc_free(z);
    free(plain);
    free(a);
    free(b);
    free(copy);
}

/*
 * test_format1 --
 *     Format 1: chunks are stored as they are with format 1's AAD; a record claiming compression
 *     is refused by a format 1 codec, and a format 2 tag never opens as format 1 (or back).
 */
static void
test_format1(void **state T_UNUSED)
{
    wtkms_snap_codec *c1, *c2;
    wtkms_snap_rec r;
    uint8_t *plain, *buf;

    plain = malloc(CHUNK);
    buf = malloc(CHUNK + WTKMS_SNAP_TAG_LEN);
    mixed(plain, CHUNK);
    c1 = t_codec(true, WTKMS_SNAP_DATA_VERSION_1);
    c2 = t_codec(true, WTKMS_SNAP_DATA_VERSION);
    memset(&r, 0, sizeof(r));
    r.file = 1;
    r.chunk = 0;
    r.final = true;
    r.plain = r.stored = CHUNK;
    memcpy(buf, plain, CHUNK);
    assert_int_equal(wtkms_snap_seal(c1, &r, buf), 0);
    assert_int_equal(wtkms_snap_open(c2, &r, buf), EBADMSG); /* format 2's AAD differs */
    memcpy(buf, plain, CHUNK);
    assert_int_equal(wtkms_snap_seal(c1, &r, buf), 0);
    assert_int_equal(wtkms_snap_open(c1, &r, buf), 0);
    assert_memory_equal(buf, plain, CHUNK);
    r.compressed = true;
    r.stored = 100;
    assert_int_equal(wtkms_snap_seal(c1, &r, buf), EINVAL);
    assert_int_equal(wtkms_snap_open(c1, &r, buf), EBADMSG);
    wtkms_snap_codec_free(c1);
    assert_int_equal(wtkms_snap_codec_new(NULL, ID, 3, &c1), EINVAL);
    assert_null(c1);
    wtkms_snap_codec_free(c2);
    free(plain);
    free(buf);
}

/*
 * test_record_words --
 *     Record words are bounded before a payload byte is read.
 */
static void
test_record_words(void **state T_UNUSED)
{
    wtkms_snap_rec r;
    uint8_t w[WTKMS_SNAP_REC_LEN];
    char why[256];

    r.plain = 1000;
    r.compressed = false;
    r.stored = 1000;
    wtkms_snap_rec_encode(w, &r);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_NONE, &r, why, sizeof(why)), 0);
    /* Over the chunk size, with or without the flag. */
    memcpy(w, "\x7f\xff\xff\xff", 4);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_ZSTD, &r, why, sizeof(why)), EBADMSG);
    assert_non_null(strstr(why, "more than the chunk size"));
    memcpy(w, "\xff\xff\xff\xff", 4);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_ZSTD, &r, why, sizeof(why)), EBADMSG);
    /* Stored as is, but not the chunk's length. */
    r.plain = 1000;
    r.compressed = false;
    r.stored = 999;
    wtkms_snap_rec_encode(w, &r);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_ZSTD, &r, why, sizeof(why)), EBADMSG);
    /* Compressed in an object whose header names no compressor. */
    r.compressed = true;
    r.stored = 10;
    wtkms_snap_rec_encode(w, &r);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_NONE, &r, why, sizeof(why)), EBADMSG);
    assert_int_equal(
      wtkms_snap_rec_decode(w, CHUNK, WTKMS_SNAP_CODEC_ZSTD, &r, why, sizeof(why)), 0);
}

/*
 * test_headers --
 *     Object headers of both formats against the manifest's expectations.
 */
static void
test_headers(void **state T_UNUSED)
{
    uint8_t h[WTKMS_SNAP_HDR_LEN];
    char why[256];
    int codec;

    wtkms_snap_hdr_encode(h, 2, WTKMS_SNAP_MODE_GCM, WTKMS_SNAP_CODEC_ZSTD, 7, CHUNK);
    assert_int_equal(
      wtkms_snap_hdr_check(h, 2, WTKMS_SNAP_MODE_GCM, 7, CHUNK, &codec, why, sizeof(why)), 0);
    assert_int_equal(codec, WTKMS_SNAP_CODEC_ZSTD);
    assert_int_equal(
      wtkms_snap_hdr_check(h, 1, WTKMS_SNAP_MODE_GCM, 7, CHUNK, &codec, why, sizeof(why)), EBADMSG);
    assert_non_null(strstr(why, "format version 2, the manifest says 1"));
    assert_int_equal(
      wtkms_snap_hdr_check(h, 2, WTKMS_SNAP_MODE_CLEAR, 7, CHUNK, &codec, why, sizeof(why)),
      EBADMSG);
    assert_int_equal(
      wtkms_snap_hdr_check(h, 2, WTKMS_SNAP_MODE_GCM, 8, CHUNK, &codec, why, sizeof(why)), EBADMSG);
    assert_int_equal(
      wtkms_snap_hdr_check(h, 2, WTKMS_SNAP_MODE_GCM, 7, 4096, &codec, why, sizeof(why)), EBADMSG);
    h[10] = 9;
    assert_int_equal(
      wtkms_snap_hdr_check(h, 2, WTKMS_SNAP_MODE_GCM, 7, CHUNK, &codec, why, sizeof(why)), EBADMSG);
    assert_non_null(strstr(why, "unknown compressor"));
    wtkms_snap_hdr_encode(h, 1, WTKMS_SNAP_MODE_CLEAR, WTKMS_SNAP_CODEC_ZSTD, 0, CHUNK);
    assert_int_equal(h[10], 0); /* format 1 has no codec byte */
    assert_int_equal(
      wtkms_snap_hdr_check(h, 1, WTKMS_SNAP_MODE_CLEAR, 0, CHUNK, &codec, why, sizeof(why)), 0);
    assert_int_equal(codec, WTKMS_SNAP_CODEC_NONE);
    memcpy(h, "WTKMSXXX", 8);
    assert_int_equal(
      wtkms_snap_hdr_check(h, 1, WTKMS_SNAP_MODE_CLEAR, 0, CHUNK, &codec, why, sizeof(why)),
      EBADMSG);
    assert_int_equal(wtkms_snap_nchunks(0, CHUNK), 1);
    assert_int_equal(wtkms_snap_nchunks(CHUNK, CHUNK), 1);
    assert_int_equal(wtkms_snap_nchunks(CHUNK + 1, CHUNK), 2);
    assert_int_equal(wtkms_snap_object_size(CHUNK + 1, CHUNK),
      WTKMS_SNAP_HDR_LEN + CHUNK + 1 + 2 * WTKMS_SNAP_TAG_LEN);
}

/*
 * frame --
 *     A zstd frame of len bytes of zeros, with or without its content size.
 */
static uint8_t *
frame(size_t len, bool with_size, size_t *flen)
{
    ZSTD_CCtx *cc;
    uint8_t *src, *dst;
    size_t cap;

    src = calloc(1, len);
    cap = ZSTD_compressBound(len);
    dst = malloc(cap);
    cc = ZSTD_createCCtx();
    assert_non_null(src);
    assert_non_null(dst);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, with_size)));
    if (with_size)
        *flen = ZSTD_compress2(cc, dst, cap, src, len);
    else { /* a streamed frame: the header cannot say how much it holds */
        ZSTD_inBuffer in = { src, len, 0 };
        ZSTD_outBuffer out = { dst, cap, 0 };
        assert_int_equal(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end), 0);
        *flen = out.pos;
    }
    assert_false(ZSTD_isError(*flen));
    ZSTD_freeCCtx(cc);
    free(src);
    return (dst);
}

/*
 * guarded --
 *     A buffer of cap bytes plus guard bytes that must stay untouched.
 */
static uint8_t *
guarded(size_t cap)
{
    uint8_t *p = malloc(cap + GUARD);

    assert_non_null(p);
    memset(p, 0xa5, cap + GUARD);
    return (p);
}

static void
guard_intact(const uint8_t *p, size_t cap)
{
    size_t i;

    for (i = 0; i < GUARD; i++)
        assert_int_equal(p[cap + i], 0xa5);
}

/*
 * test_bombs --
 *     Frames that expand past the trusted length: 64 MiB of zeros (a few KiB of frame) into a
 *     64 KiB chunk, with the size in the header and without it, and lies in between. Each is
 *     refused and nothing is written past the cap.
 */
static void
test_bombs(void **state T_UNUSED)
{
    wtkms_zd *d;
    uint8_t *f, *f2, *out, *two;
    size_t flen, flen2;
    char why[256];
    bool with;

    assert_int_equal(wtkms_zd_new(&d), 0);
    for (with = false;; with = true) {
        f = frame(64 * 1024 * 1024, with, &flen);
        assert_true(flen < 64 * 1024);
        out = guarded(CHUNK);
        assert_int_equal(wtkms_zd_decompress(d, f, flen, out, CHUNK, why, sizeof(why)), EBADMSG);
        guard_intact(out, CHUNK);
        if (with)
            assert_non_null(strstr(why, "says it holds 67108864 bytes"));
        else
            assert_non_null(strstr(why, "does not decompress to 65536 bytes"));
        free(out);
        free(f);
        if (with)
            break;
    }
    /* One byte more than the cap, without the size in the header: refused at the cap. */
    f = frame(CHUNK + 1, false, &flen);
    out = guarded(CHUNK);
    assert_int_equal(wtkms_zd_decompress(d, f, flen, out, CHUNK, why, sizeof(why)), EBADMSG);
    guard_intact(out, CHUNK);
    free(f);
    /* Short of the trusted length. */
    f = frame(CHUNK - 1, false, &flen);
    assert_int_equal(wtkms_zd_decompress(d, f, flen, out, CHUNK, why, sizeof(why)), EBADMSG);
    assert_non_null(strstr(why, "decompresses to 65535 bytes"));
    /* Two frames, each within the cap, together over it; a frame and trailing bytes. */
    f2 = frame(CHUNK - 1, true, &flen2);
    two = malloc(flen + flen2 + 1);
    memcpy(two, f, flen);
    memcpy(two + flen, f2, flen2);
    assert_int_equal(
      wtkms_zd_decompress(d, two, flen + flen2, out, CHUNK, why, sizeof(why)), EBADMSG);
    assert_non_null(strstr(why, "after its zstd frame"));
    two[flen] = 0;
    assert_int_equal(wtkms_zd_decompress(d, two, flen + 1, out, CHUNK, why, sizeof(why)), EBADMSG);
    guard_intact(out, CHUNK);
    /* Truncated; not zstd at all. */
    assert_int_equal(wtkms_zd_decompress(d, f, flen - 1, out, CHUNK, why, sizeof(why)), EBADMSG);
    assert_int_equal(
      wtkms_zd_decompress(d, "not a frame", 11, out, CHUNK, why, sizeof(why)), EBADMSG);
    /* The right length decompresses (the context is reusable after every refusal). */
    assert_int_equal(wtkms_zd_decompress(d, f, flen, out, CHUNK - 1, why, sizeof(why)), 0);
    guard_intact(out, CHUNK);
    free(two);
    free(f);
    free(f2);
    free(out);
    wtkms_zd_free(d);
}

/*
 * test_levels --
 *     Levels outside 1 .. 19 are refused; higher levels still round-trip.
 */
static void
test_levels(void **state T_UNUSED)
{
    wtkms_zc *z;
    wtkms_zd *d;
    uint8_t *plain, *c, *out;
    size_t clen;
    char why[256];
    int level;

    assert_int_equal(wtkms_zc_new(0, &z), EINVAL);
    assert_int_equal(wtkms_zc_new(20, &z), EINVAL);
    plain = malloc(CHUNK);
    c = malloc(CHUNK);
    out = malloc(CHUNK);
    mixed(plain, CHUNK);
    assert_int_equal(wtkms_zd_new(&d), 0);
    for (level = 1; level <= 19; level += 6) {
        assert_int_equal(wtkms_zc_new(level, &z), 0);
        assert_int_equal(wtkms_zc_compress(z, plain, CHUNK, c, CHUNK - 1, &clen), 0);
        assert_int_equal(wtkms_zd_decompress(d, c, clen, out, CHUNK, why, sizeof(why)), 0);
        assert_memory_equal(out, plain, CHUNK);
        /* Too small a destination: ENOSPC, and the context still works after. */
        assert_int_equal(wtkms_zc_compress(z, plain, CHUNK, c, 16, &clen), ENOSPC);
        assert_int_equal(wtkms_zc_compress(z, plain, CHUNK, c, CHUNK - 1, &clen), 0);
        wtkms_zc_free(z);
    }
    wtkms_zd_free(d);
    free(plain);
    free(c);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_v2),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_format1),
        cmocka_unit_test(test_record_words),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_levels),
    };
    return (cmocka_run_group_tests(tests, NULL, NULL));
}
