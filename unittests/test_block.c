/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_block.c -- the block engine (src/encryptor/block.h) with real keystores made by the local
 * provider: round trips, exact sizes, every kind of damaged or foreign block, durability of the
 * records a block names, and the 2^32 epoch rollover of the nonce counter.
 */
#include "test_helpers.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#define MiB (1024 * 1024)

/* One home with a key file; most tests need one. */
typedef struct {
    char *dir;
    const char *key_file;
    wtkms_engine *e;
} t_home;

static void
home_open(t_home *h, const char *tag)
{
    char kf[PATH_MAX];

    h->dir = t_tmpdir(tag);
    (void)snprintf(kf, sizeof(kf), "%s", t_make_key_file(h->dir, "master.key"));
    h->key_file = strdup(kf);
    h->e = t_engine_open(h->dir, h->key_file);
}

static void
home_reopen(t_home *h)
{
    wtkms_engine_free(h->e);
    h->e = t_engine_open(h->dir, h->key_file);
}

static void
home_close(t_home *h)
{
    wtkms_engine_free(h->e);
    free((void *)h->key_file);
    t_rmtree(h->dir);
}

/*
 * check_header --
 *     The header of a fresh block is the documented one.
 */
static void
check_header(const uint8_t *blk, size_t blen)
{
    wtkms_block_hdr h;

    assert_int_equal(wtkms_block_parse_header(blk, blen, &h), 0);
    assert_int_equal(blk[0], 1); /* format version */
    assert_int_equal(blk[1], 1); /* AES-256-GCM */
    assert_int_equal(blk[2], 0);
    assert_int_equal(blk[3], 0);
    assert_true(h.root >= 1);
    assert_true(h.open >= 1);
    assert_int_equal(blk[12] | blk[13] | blk[14] | blk[15], 0);
}

/*
 * test_roundtrip_sizes --
 *     Sizes 0, 1, 15, 16, 4 KiB, 32 KiB, 16 MiB: exact result_len both ways, plaintext back.
 */
static void
test_roundtrip_sizes(void **state)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 4096, 32768, 16 * MiB };
    t_home h;
    wtkms_keyed *kd;
    wtkms_err err;
    uint8_t *pt, *blk, *out;
    size_t i, n, blen, olen;

    (void)state;
    home_open(&h, "rt");
    kd = t_keyed(h.e, "k1");
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = sizes[i];
        pt = malloc(n + 1);
        out = malloc(n + 1);
        t_random(pt, n);
        blk = t_seal(kd, pt, n, &blen);
        assert_int_equal(blen, n + 40);
        check_header(blk, blen);
        if (n >= 16)
            assert_true(memcmp(blk + WTKMS_BLOCK_HDR_LEN, pt, 16) != 0);
        /* WiredTiger hands decrypt dst_len == src_len (the ciphertext length). */
        free(out);
        out = malloc(blen);
        assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, blen, &olen, &err), 0);
        assert_int_equal(olen, n);
        if (n > 0)
            assert_memory_equal(out, pt, n);
        /* And the tightest buffer that fits also works. */
        assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, n, &olen, &err), 0);
        assert_int_equal(olen, n);
        free(pt);
        free(blk);
        free(out);
    }
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_dst_len_checks --
 *     A destination one byte short is refused, in both directions, without writing past it.
 */
static void
test_dst_len_checks(void **state)
{
    static const size_t sizes[] = { 0, 1, 100, 4096 };
    t_home h;
    wtkms_keyed *kd;
    wtkms_err err;
    uint8_t pt[4096], *blk, *dst;
    size_t i, n, blen, rlen;

    (void)state;
    home_open(&h, "dst");
    kd = t_keyed(h.e, "k1");
    t_random(pt, sizeof(pt));
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = sizes[i];
        /* The guard byte after dst_len must survive. */
        dst = malloc(n + 40 + 1);
        memset(dst, 0x5a, n + 40 + 1);
        rlen = 12345;
        assert_int_not_equal(wtkms_block_encrypt(kd, pt, n, dst, n + 39, &rlen, &err), 0);
        assert_int_equal(rlen, 0);
        assert_msg_has(&err, "keyid k1");
        assert_msg_has(&err, "too small");
        assert_int_equal(dst[n + 39], 0x5a);
        assert_int_equal(dst[n + 40], 0x5a);
        /* dst_len < src_len must not wrap around in the size arithmetic. */
        if (n > 0)
            assert_int_not_equal(wtkms_block_encrypt(kd, pt, n, dst, n - 1, &rlen, &err), 0);
        free(dst);

        blk = t_seal(kd, pt, n, &blen);
        if (n > 0) {
            dst = malloc(n + 1);
            memset(dst, 0x5a, n + 1);
            rlen = 12345;
            assert_int_not_equal(wtkms_block_decrypt(kd, blk, blen, dst, n - 1, &rlen, &err), 0);
            assert_int_equal(rlen, 0);
            assert_msg_has(&err, "too small");
            assert_int_equal(dst[n - 1], 0x5a);
            assert_int_equal(t_plaintext_matches(dst, pt, n - 1) <= 8 + (n - 1) / 32, true);
            free(dst);
        }
        free(blk);
    }
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * check_rejected --
 *     Decrypting a damaged block fails with a message naming keyid and cause, and leaves no
 *     plaintext in dst.
 */
static void
check_rejected(wtkms_keyed *kd, const uint8_t *blk, size_t blen, const uint8_t *pt, size_t n,
  const char *what, size_t pos)
{
    wtkms_err err;
    uint8_t *out;
    size_t olen, matches;
    int ret;

    out = malloc(blen + 1);
    memset(out, 0xa5, blen + 1);
    wtkms_err_clear(&err);
    olen = 777;
    ret = wtkms_block_decrypt(kd, blk, blen, out, blen, &olen, &err);
    if (ret == 0)
        fail_msg("%s at byte %zu of a %zu-byte block: decrypt succeeded", what, pos, blen);
    if (ret != EBADMSG && ret != ENOKEY && ret != EKEYREJECTED)
        fail_msg(
          "%s at byte %zu: error %d is not a damaged-block error: %s", what, pos, ret, err.msg);
    assert_int_equal(err.code, ret);
    assert_int_equal(olen, 0);
    assert_msg_has(&err, "keyid ");
    if (ret == EBADMSG && strstr(err.msg, "fails authentication") != NULL) {
        /* The authentication message names the key and nonce it tried. */
        assert_msg_has(&err, "data key ");
        assert_msg_has(&err, "nonce ");
    } else if (strstr(err.msg, "damaged") == NULL && strstr(err.msg, "truncated") == NULL &&
               strstr(err.msg, "does not hold") == NULL &&
               strstr(err.msg, "does not belong") == NULL)
        fail_msg("%s at byte %zu: message names no cause: %s", what, pos, err.msg);
    matches = t_plaintext_matches(out, pt, n);
    if (matches > 8 + n / 32)
        fail_msg("%s at byte %zu: %zu of %zu plaintext bytes left in dst after a failed decrypt",
          what, pos, matches, n);
    free(out);
}

/*
 * flip_and_check --
 *     Flip one byte of a copy of the block with each mask and check it is rejected.
 */
static void
flip_and_check(
  wtkms_keyed *kd, const uint8_t *blk, size_t blen, const uint8_t *pt, size_t n, size_t pos)
{
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    uint8_t *bad;
    size_t m;

    bad = malloc(blen);
    for (m = 0; m < sizeof(masks); m++) {
        memcpy(bad, blk, blen);
        bad[pos] ^= masks[m];
        check_rejected(kd, bad, blen, pt, n,
          pos < WTKMS_BLOCK_HDR_LEN
            ? "header flip"
            : (pos < blen - WTKMS_BLOCK_TAG_LEN ? "ciphertext flip" : "tag flip"),
          pos);
    }
    free(bad);
}

/*
 * test_flip_every_byte --
 *     Every byte of header, ciphertext and tag of a small block, with three masks.
 */
static void
test_flip_every_byte(void **state)
{
    t_home h;
    wtkms_keyed *kd, *kd2;
    uint8_t pt[200], *blk;
    size_t blen, pos;

    (void)state;
    home_open(&h, "flip");
    kd = t_keyed(h.e, "k1");
    /* A second keyid, so a flipped data-key number can land on a real key of another keyid. */
    kd2 = t_keyed(h.e, "k2");
    free(t_seal(kd2, pt, 10, &blen));
    t_random(pt, sizeof(pt));
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    for (pos = 0; pos < blen; pos++)
        flip_and_check(kd, blk, blen, pt, sizeof(pt), pos);
    /* Blocks of length 0 have a header and a tag only. */
    free(blk);
    blk = t_seal(kd, pt, 0, &blen);
    for (pos = 0; pos < blen; pos++)
        flip_and_check(kd, blk, blen, pt, 0, pos);
    free(blk);
    wtkms_keyed_free(kd2);
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_flip_sampled_big --
 *     32 KiB and 16 MiB blocks: the whole header and tag, the ends of the ciphertext, random
 *     positions inside it.
 */
static void
test_flip_sampled_big(void **state)
{
    static const size_t sizes[] = { 32768, 16 * MiB };
    t_home h;
    wtkms_keyed *kd;
    uint8_t *pt, *blk;
    uint32_t r;
    size_t i, k, n, blen, pos, samples, np, positions[64];
    bool quick;

    (void)state;
    home_open(&h, "flipbig");
    kd = t_keyed(h.e, "k1");
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = sizes[i];
        pt = malloc(n);
        t_random(pt, n);
        blk = t_seal(kd, pt, n, &blen);
        /* Big blocks cost a full decrypt per flip: fewer positions for 16 MiB (valgrind). */
        quick = n > MiB && getenv("WTKMS_UT_QUICK") != NULL;
        samples = n > MiB ? (quick ? 1 : 4) : 64;
        np = 0;
        if (n <= MiB) { /* every header and tag byte, both ends of the ciphertext */
            for (pos = 0; pos < WTKMS_BLOCK_HDR_LEN + 4; pos++)
                positions[np++] = pos;
            for (pos = blen - WTKMS_BLOCK_TAG_LEN - 4; pos < blen; pos++)
                positions[np++] = pos;
        } else { /* one byte of each header field, both ends of ciphertext and tag */
            static const size_t hdr_pos[] = { 0, 1, 3, 7, 11, 15, 23 };
            for (k = quick ? 6 : 0; k < sizeof(hdr_pos) / sizeof(hdr_pos[0]); k++)
                positions[np++] = hdr_pos[k];
            positions[np++] = WTKMS_BLOCK_HDR_LEN;
            if (!quick) {
                positions[np++] = blen - WTKMS_BLOCK_TAG_LEN - 1;
                positions[np++] = blen - WTKMS_BLOCK_TAG_LEN;
            }
            positions[np++] = blen - 1;
        }
        for (k = 0; k < np; k++) {
            pos = positions[k];
            blk[pos] ^= 0x04;
            check_rejected(kd, blk, blen, pt, n, "big-block flip", pos);
            blk[pos] ^= 0x04;
        }
        for (k = 0; k < samples; k++) {
            t_random(&r, sizeof(r));
            pos = WTKMS_BLOCK_HDR_LEN + r % n;
            blk[pos] ^= 0x20;
            check_rejected(kd, blk, blen, pt, n, "big-block ciphertext flip", pos);
            blk[pos] ^= 0x20;
        }
        free(pt);
        free(blk);
    }
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_truncated_extended --
 *     A block cut short at every length, or with bytes appended, never decrypts.
 */
static void
test_truncated_extended(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    uint8_t pt[64], *blk, *big;
    size_t blen, len;

    (void)state;
    home_open(&h, "trunc");
    kd = t_keyed(h.e, "k1");
    t_random(pt, sizeof(pt));
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    for (len = 0; len < blen; len++)
        check_rejected(kd, blk, len, pt, len > 40 ? len - 40 : 0, "truncation", len);
    big = malloc(blen + 16);
    memcpy(big, blk, blen);
    t_random(big + blen, 16);
    for (len = blen + 1; len <= blen + 16; len++)
        check_rejected(kd, big, len, pt, sizeof(pt), "appended bytes", len);
    free(big);
    free(blk);
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_wrong_key --
 *     A block of another home (same data-key and open numbers, other keys) fails authentication;
 *     a block naming a data key or open record this home lacks fails naming it; a block of another
 *     keyid of the same home is refused.
 */
static void
test_wrong_key(void **state)
{
    t_home a, b, c;
    wtkms_keyed *ka, *kb, *kc, *kb2;
    wtkms_err err;
    wtkms_block_hdr ha, hb;
    uint8_t pt[300], *ba, *bb, out[400];
    size_t blen, blen2, olen;

    (void)state;
    home_open(&a, "wka");
    home_open(&b, "wkb");
    home_open(&c, "wkc");
    ka = t_keyed(a.e, "k1");
    kb = t_keyed(b.e, "k1");
    kc = t_keyed(c.e, "k1");
    t_random(pt, sizeof(pt));
    ba = t_seal(ka, pt, sizeof(pt), &blen);
    bb = t_seal(kb, pt, sizeof(pt), &blen2);
    assert_int_equal(wtkms_block_parse_header(ba, blen, &ha), 0);
    assert_int_equal(wtkms_block_parse_header(bb, blen2, &hb), 0);
    /* Key numbers are local to a home: both homes named theirs 1/1. */
    assert_int_equal(ha.root, hb.root);
    assert_int_equal(ha.open, hb.open);
    check_rejected(kb, ba, blen, pt, sizeof(pt), "other home's block", 0);
    assert_int_equal(wtkms_block_decrypt(kb, ba, blen, out, sizeof(out), &olen, &err), EBADMSG);
    assert_msg_has(&err, "keyid k1");
    assert_msg_has(&err, "data key 1");
    assert_msg_has(&err, "fails authentication");
    assert_msg_has(&err, "another home");

    /* Home c has never written: it holds no data key at all. */
    assert_int_equal(wtkms_block_decrypt(kc, ba, blen, out, sizeof(out), &olen, &err), ENOKEY);
    assert_msg_has(&err, "data key 1");
    assert_msg_has(&err, "does not hold");
    assert_msg_has(&err, c.dir);

    /* Same home, another keyid: data key 1 belongs to k1. */
    kb2 = t_keyed(b.e, "k2");
    assert_int_equal(
      wtkms_block_decrypt(kb2, bb, blen2, out, sizeof(out), &olen, &err), EKEYREJECTED);
    assert_msg_has(&err, "keyid k2");
    assert_msg_has(&err, "keyid k1");
    /* And the right one works. */
    assert_int_equal(wtkms_block_decrypt(kb, bb, blen2, out, sizeof(out), &olen, &err), 0);
    assert_memory_equal(out, pt, sizeof(pt));

    free(ba);
    free(bb);
    wtkms_keyed_free(ka);
    wtkms_keyed_free(kb);
    wtkms_keyed_free(kb2);
    wtkms_keyed_free(kc);
    home_close(&a);
    home_close(&b);
    home_close(&c);
}

/*
 * test_restart --
 *     Every writing open gets a new open record; blocks of every earlier open still decrypt.
 */
static void
test_restart(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    wtkms_err err;
    wtkms_block_hdr hdr;
    uint8_t pt[3][100], *blk[3], out[200];
    size_t blen[3], olen;
    int i, j;

    (void)state;
    home_open(&h, "restart");
    for (i = 0; i < 3; i++) {
        if (i > 0)
            home_reopen(&h);
        kd = t_keyed(h.e, "k1");
        t_random(pt[i], sizeof(pt[i]));
        blk[i] = t_seal(kd, pt[i], sizeof(pt[i]), &blen[i]);
        assert_int_equal(wtkms_block_parse_header(blk[i], blen[i], &hdr), 0);
        assert_int_equal(hdr.open, (uint32_t)i + 1);
        assert_int_equal(hdr.root, 1);
        for (j = 0; j <= i; j++) {
            assert_int_equal(
              wtkms_block_decrypt(kd, blk[j], blen[j], out, sizeof(out), &olen, &err), 0);
            assert_memory_equal(out, pt[j], sizeof(pt[j]));
        }
        wtkms_keyed_free(kd);
    }
    assert_int_equal(wtkms_engine_keystore(h.e)->nopens, 3);
    for (i = 0; i < 3; i++)
        free(blk[i]);
    home_close(&h);
}

/*
 * test_first_encrypt_durable --
 *     The first block of an open names an open record and a data key that are already fsync'd
 *     into the keystore when encrypt returns; later blocks cost no further write.
 */
static void
test_first_encrypt_durable(void **state)
{
    t_home h;
    wtkms_keyed *kd, *kd2;
    wtkms_keystore *disk;
    wtkms_block_hdr hdr;
    wtkms_err err;
    uint8_t pt[64], *blk;
    size_t blen;
    int i;

    (void)state;
    home_open(&h, "durable");
    kd = t_keyed(h.e, "k1");
    /* Building the keyid's state does no I/O (customize runs under a WiredTiger spinlock). */
    t_io_reset();
    kd2 = t_keyed(h.e, "k2");
    assert_int_equal(t_io_n, 0);

    t_random(pt, sizeof(pt));
    t_io_reset();
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    t_assert_durable_write(h.dir);
    assert_int_equal(wtkms_block_parse_header(blk, blen, &hdr), 0);
    /* What is on disk now holds both records the block names, with the same material. */
    assert_int_equal(wtkms_keystore_load(h.dir, &disk, &err), 0);
    assert_non_null(wtkms_keystore_root(disk, hdr.root));
    assert_non_null(wtkms_keystore_open_rec(disk, hdr.open));
    assert_string_equal(wtkms_keystore_root(disk, hdr.root)->keyid, "k1");
    assert_memory_equal(wtkms_keystore_open_rec(disk, hdr.open)->salt,
      wtkms_keystore_open_rec(wtkms_engine_keystore(h.e), hdr.open)->salt, WTKMS_SALT_LEN);
    assert_memory_equal(wtkms_keystore_root(disk, hdr.root)->fp,
      wtkms_keystore_root(wtkms_engine_keystore(h.e), hdr.root)->fp, WTKMS_FP_LEN);
    wtkms_keystore_free(disk);
    free(blk);

    /* The hot path does no I/O. */
    t_io_reset();
    for (i = 0; i < 100; i++)
        free(t_seal(kd, pt, sizeof(pt), &blen));
    assert_int_equal(t_io_n, 0);

    /* A new keyid in the same open: its data key is saved before its first block. */
    t_io_reset();
    blk = t_seal(kd2, pt, sizeof(pt), &blen);
    t_assert_durable_write(h.dir);
    assert_int_equal(wtkms_block_parse_header(blk, blen, &hdr), 0);
    assert_int_equal(wtkms_keystore_load(h.dir, &disk, &err), 0);
    assert_string_equal(wtkms_keystore_root(disk, hdr.root)->keyid, "k2");
    assert_int_equal(disk->nopens, 1);
    wtkms_keystore_free(disk);
    free(blk);

    wtkms_keyed_free(kd);
    wtkms_keyed_free(kd2);
    home_close(&h);
}

/*
 * test_decrypt_only_writes_nothing --
 *     An open that only reads (as a read-only WiredTiger open does) leaves the keystore byte for
 *     byte as it was.
 */
static void
test_decrypt_only_writes_nothing(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    wtkms_err err;
    uint8_t pt[64], *blk, out[128], *before, *after;
    size_t blen, olen, lb, la;

    (void)state;
    home_open(&h, "ro");
    kd = t_keyed(h.e, "k1");
    t_random(pt, sizeof(pt));
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    wtkms_keyed_free(kd);
    before = t_read_file(t_path(h.dir, WTKMS_KEYSTORE_FILE), &lb);

    t_io_reset();
    home_reopen(&h);
    kd = t_keyed(h.e, "k1");
    assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, sizeof(out), &olen, &err), 0);
    assert_memory_equal(out, pt, sizeof(pt));
    wtkms_keyed_free(kd);
    home_reopen(&h);
    assert_int_equal(t_fsyncs_of(h.dir), 0);
    after = t_read_file(t_path(h.dir, WTKMS_KEYSTORE_FILE), &la);
    assert_int_equal(la, lb);
    assert_memory_equal(after, before, lb);
    free(before);
    free(after);
    free(blk);
    home_close(&h);
}

/*
 * ref_open --
 *     Open a block with OpenSSL directly, deriving its key as docs/FORMATS.md says:
 *     HKDF-SHA256(ikm = data key, salt = open salt, info = "wtkms write key v1" | be32(epoch) |
 *     keyid). Returns 1 if the tag verifies.
 */
static int
ref_open(const uint8_t root_key[32], const uint8_t salt[32], uint32_t epoch, const char *keyid,
  const uint8_t *blk, size_t blen, uint8_t *out)
{
    static const char label[] = "wtkms write key v1";
    EVP_PKEY_CTX *pctx;
    EVP_CIPHER_CTX *c;
    uint8_t info[256], key[32];
    size_t infolen, keylen = sizeof(key), n = blen - 40;
    int len, ok;

    memcpy(info, label, sizeof(label) - 1);
    info[sizeof(label) - 1] = (uint8_t)(epoch >> 24);
    info[sizeof(label)] = (uint8_t)(epoch >> 16);
    info[sizeof(label) + 1] = (uint8_t)(epoch >> 8);
    info[sizeof(label) + 2] = (uint8_t)epoch;
    memcpy(info + sizeof(label) + 3, keyid, strlen(keyid));
    infolen = sizeof(label) + 3 + strlen(keyid);
    pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    assert_non_null(pctx);
    assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, 32), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(pctx, root_key, 32), 1);
    assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)infolen), 1);
    assert_int_equal(EVP_PKEY_derive(pctx, key, &keylen), 1);
    EVP_PKEY_CTX_free(pctx);

    c = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, blk + 12), 1);
    assert_int_equal(EVP_DecryptUpdate(c, NULL, &len, blk, 24), 1);
    assert_int_equal(EVP_DecryptUpdate(c, out, &len, blk + 24, (int)n), 1);
    assert_int_equal(
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(blk + blen - 16)), 1);
    ok = EVP_DecryptFinal_ex(c, out + n, &len) == 1;
    EVP_CIPHER_CTX_free(c);
    return (ok);
}

/*
 * test_counter_epoch_rollover --
 *     Crossing 2^32 blocks moves to the next epoch's write key: blocks on either side open only
 *     under their own epoch's key (checked against an independent derivation), and the engine
 *     reads both.
 */
static void
test_counter_epoch_rollover(void **state)
{
    static const uint64_t start = (1ULL << 32) - 2;
    t_home h;
    wtkms_keyed *kd;
    wtkms_keystore *ks;
    wtkms_block_hdr hdr;
    wtkms_err err;
    uint8_t pt[4][80], *blk[4], out[200];
    size_t blen[4], olen;
    uint32_t epoch;
    int i;

    (void)state;
    home_open(&h, "epoch");
    kd = t_keyed(h.e, "k1");
    /* An ordinary block first: the test hook does not replace the first-write path. */
    t_random(pt[0], sizeof(pt[0]));
    blk[0] = t_seal(kd, pt[0], sizeof(pt[0]), &blen[0]);
    wtkms_keyed_test_set_counter(kd, start);
    for (i = 1; i < 4; i++) {
        t_random(pt[i], sizeof(pt[i]));
        blk[i] = t_seal(kd, pt[i], sizeof(pt[i]), &blen[i]);
    }
    ks = wtkms_engine_keystore(h.e);
    for (i = 0; i < 4; i++) {
        assert_int_equal(wtkms_block_parse_header(blk[i], blen[i], &hdr), 0);
        assert_int_equal(hdr.counter, i == 0 ? 0 : start + (uint64_t)(i - 1));
        epoch = (uint32_t)(hdr.counter >> 32);
        assert_int_equal(epoch, i < 3 ? 0 : 1);
        /* The engine reads every block. */
        assert_int_equal(
          wtkms_block_decrypt(kd, blk[i], blen[i], out, sizeof(out), &olen, &err), 0);
        assert_memory_equal(out, pt[i], sizeof(pt[i]));
        /* Its own epoch's key opens it; the other epoch's key does not. */
        assert_true(ref_open(wtkms_keystore_root(ks, hdr.root)->key->b,
          wtkms_keystore_open_rec(ks, hdr.open)->salt, epoch, "k1", blk[i], blen[i], out));
        assert_memory_equal(out, pt[i], sizeof(pt[i]));
        assert_false(ref_open(wtkms_keystore_root(ks, hdr.root)->key->b,
          wtkms_keystore_open_rec(ks, hdr.open)->salt, epoch ^ 1, "k1", blk[i], blen[i], out));
        /* The keyid is bound too. */
        assert_false(ref_open(wtkms_keystore_root(ks, hdr.root)->key->b,
          wtkms_keystore_open_rec(ks, hdr.open)->salt, epoch, "k2", blk[i], blen[i], out));
    }
    for (i = 0; i < 4; i++)
        free(blk[i]);
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_counter_exhausted --
 *     At the end of the counter space encrypt fails, and keeps failing: it must never wrap back
 *     to a nonce it has used.
 */
static void
test_counter_exhausted(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    wtkms_block_hdr hdr;
    wtkms_err err;
    uint64_t seen[16];
    uint8_t pt[16], dst[64];
    size_t blen;
    int i, j, nseen;
    bool failed;

    (void)state;
    home_open(&h, "exhaust");
    kd = t_keyed(h.e, "k1");
    t_random(pt, sizeof(pt));
    /* The first block of the open has counter 0. */
    blen = 0;
    assert_int_equal(wtkms_block_encrypt(kd, pt, sizeof(pt), dst, sizeof(dst), &blen, &err), 0);
    assert_int_equal(wtkms_block_parse_header(dst, blen, &hdr), 0);
    seen[0] = hdr.counter;
    nseen = 1;
    wtkms_keyed_test_set_counter(kd, UINT64_MAX - 3);
    failed = false;
    for (i = 0; i < 10; i++) {
        blen = 99;
        if (wtkms_block_encrypt(kd, pt, sizeof(pt), dst, sizeof(dst), &blen, &err) == 0) {
            assert_int_equal(wtkms_block_parse_header(dst, blen, &hdr), 0);
            if (failed)
                fail_msg("encrypt %d succeeded after the counter ran out, with nonce %llu", i,
                  (unsigned long long)hdr.counter);
            for (j = 0; j < nseen; j++)
                if (seen[j] == hdr.counter)
                    fail_msg("nonce %llu used twice", (unsigned long long)hdr.counter);
            seen[nseen++] = hdr.counter;
            continue;
        }
        failed = true;
        assert_int_equal(err.code, EOVERFLOW);
        assert_int_equal(blen, 0);
        assert_msg_has(&err, "keyid k1");
        assert_msg_has(&err, "exhausted");
    }
    assert_true(failed);
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * test_forged_epochs_not_cached --
 *     Blocks whose header names an epoch nobody wrote under fail authentication and leave the
 *     derived-key cache as it was: a file rewritten with forged headers cannot grow locked memory.
 *     A genuine block of a new epoch is still read, and only then cached.
 */
static void
test_forged_epochs_not_cached(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    wtkms_err err;
    uint8_t pt[64], *blk, *forged, out[200];
    size_t blen, olen, before;
    uint32_t e;

    (void)state;
    home_open(&h, "forged");
    kd = t_keyed(h.e, "k1");
    t_random(pt, sizeof(pt));
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, sizeof(out), &olen, &err), 0);
    before = wtkms_keyed_test_cached_keys(kd);
    assert_int_equal(before, 1);
    forged = malloc(blen);
    assert_non_null(forged);
    for (e = 1; e <= 5000; e++) {
        memcpy(forged, blk, blen);
        /* The counter's high half is the epoch (bytes 16..19 of the header). */
        forged[16] = (uint8_t)(e >> 24);
        forged[17] = (uint8_t)(e >> 16);
        forged[18] = (uint8_t)(e >> 8);
        forged[19] = (uint8_t)e;
        assert_int_equal(
          wtkms_block_decrypt(kd, forged, blen, out, sizeof(out), &olen, &err), EBADMSG);
    }
    assert_int_equal(wtkms_keyed_test_cached_keys(kd), before);
    /* The genuine block still opens (its slot was rekeyed by the forgeries). */
    assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, sizeof(out), &olen, &err), 0);
    assert_memory_equal(out, pt, sizeof(pt));
    /* A genuine block of epoch 1 is cached once it authenticates. */
    free(blk);
    wtkms_keyed_test_set_counter(kd, 1ULL << 32);
    blk = t_seal(kd, pt, sizeof(pt), &blen);
    assert_int_equal(wtkms_block_decrypt(kd, blk, blen, out, sizeof(out), &olen, &err), 0);
    assert_int_equal(wtkms_keyed_test_cached_keys(kd), before + 1);
    free(blk);
    free(forged);
    wtkms_keyed_free(kd);
    home_close(&h);
}

/*
 * open_all --
 *     Open blocks in an order that switches key at every block (a slot keeps a few keys), each
 *     followed now and then by a damaged copy that must be refused.
 */
static void
open_all(wtkms_keyed *kd, uint8_t **blk, size_t *blen, uint8_t (*pt)[100], int n, int rounds)
{
    wtkms_err err;
    uint8_t out[200], bad[200];
    size_t olen;
    int r, i;

    for (r = 0; r < rounds; r++) {
        i = (r * 3 + r / n) % n;
        assert_int_equal(
          wtkms_block_decrypt(kd, blk[i], blen[i], out, sizeof(out), &olen, &err), 0);
        assert_int_equal(olen, 100);
        assert_memory_equal(out, pt[i], 100);
        if (r % 4 == 1) {
            memcpy(bad, blk[i], blen[i]);
            bad[WTKMS_BLOCK_HDR_LEN + (size_t)r % 100] ^= 0x10;
            assert_int_equal(
              wtkms_block_decrypt(kd, bad, blen[i], out, sizeof(out), &olen, &err), EBADMSG);
        }
    }
}

/*
 * test_alternating_keys --
 *     Blocks under more keys than a slot keeps (several epochs, two opens), opened in turns,
 *     each under the right key, damaged copies refused, only genuine keys cached.
 */
static void
test_alternating_keys(void **state)
{
    t_home h;
    wtkms_keyed *kd;
    uint8_t pt[8][100], *blk[8];
    size_t blen[8];
    int i;

    (void)state;
    home_open(&h, "alternate");
    kd = t_keyed(h.e, "k1");
    for (i = 0; i < 7; i++) {
        t_random(pt[i], sizeof(pt[i]));
        wtkms_keyed_test_set_counter(kd, (uint64_t)i << 32 | 5);
        blk[i] = t_seal(kd, pt[i], sizeof(pt[i]), &blen[i]);
    }
    open_all(kd, blk, blen, pt, 2, 20);
    open_all(kd, blk, blen, pt, 4, 40);
    open_all(kd, blk, blen, pt, 7, 70);
    assert_int_equal(wtkms_keyed_test_cached_keys(kd), 7);
    wtkms_keyed_free(kd);

    /* Another open: its own write key, and the first open's blocks still read in turns. */
    home_reopen(&h);
    kd = t_keyed(h.e, "k1");
    t_random(pt[7], sizeof(pt[7]));
    blk[7] = t_seal(kd, pt[7], sizeof(pt[7]), &blen[7]);
    open_all(kd, blk, blen, pt, 8, 80);
    assert_int_equal(wtkms_keyed_test_cached_keys(kd), 8);
    for (i = 0; i < 8; i++)
        free(blk[i]);
    wtkms_keyed_free(kd);
    home_close(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_dst_len_checks),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_flip_sampled_big),
        cmocka_unit_test(test_truncated_extended),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_first_encrypt_durable),
        cmocka_unit_test(test_decrypt_only_writes_nothing),
        cmocka_unit_test(test_counter_epoch_rollover),
        cmocka_unit_test(test_counter_exhausted),
        cmocka_unit_test(test_forged_epochs_not_cached),
        cmocka_unit_test(test_alternating_keys),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
