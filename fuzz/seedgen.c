/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seedgen.c -- write the seeds of the file-format fuzz targets with the project's own writers,
 * so they are validly authenticated and the fuzzer starts past every MAC and tag:
 *
 *     fuzz/fixture/wtkms.keystore   the keystore the block target decrypts under (local provider,
 *                                   the fixed key of fuzz_common.c)
 *     fuzz/corpus/block/            blocks sealed by wtkms_block_encrypt under that keystore
 *     fuzz/corpus/keystore/         keystores written by wtkms_keystore_save
 *     fuzz/corpus/manifest/         manifests by wtkms_manifest_encode (MAC and checksum)
 *     fuzz/corpus/chunk/            snapshot objects sealed by wtkms_snap_seal
 *     fuzz/corpus/oplog_segment/    segments by wtkms_seg_seal (encrypted, clear, gap)
 *     fuzz/corpus/oplog_head/       head files by wtkms_oplog_store_write_head
 *
 * Built and run by fuzz/build.sh --seeds; the output is committed. Random parts (keys, nonces,
 * salts) differ on every run, so run it only when a format changes.
 */
#define _GNU_SOURCE
#include <bson/bson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "chunk.h"
#include "crypto.h"
#include "fuzz_common.h"
#include "keystore.h"
#include "manifest.h"
#include "oplog_segment.h"
#include "oplog_store.h"
#include "zcodec.h"

static const char *top;

static void die(const char *what, const wtkms_err *err) __attribute__((noreturn));

/*
 * die --
 *     Report and exit.
 */
static void
die(const char *what, const wtkms_err *err)
{
    fprintf(stderr, "seedgen: %s: %s\n", what, err != NULL ? err->msg : strerror(errno));
    exit(1);
}

/*
 * put --
 *     Write fuzz/DIR/name.
 */
static void
put(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    FILE *fp;

    (void)snprintf(path, sizeof(path), "%s/fuzz/%s", top, dir);
    (void)mkdir(path, 0755);
    (void)snprintf(path, sizeof(path), "%s/fuzz/%s/%s", top, dir, name);
    if ((fp = fopen(path, "wb")) == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
        die(path, NULL);
}

/*
 * slurp --
 *     Read a whole file.
 */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
    FILE *fp;
    uint8_t *buf;
    long n;

    if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, fp) != (size_t)n)
        die(path, NULL);
    (void)fclose(fp);
    *lenp = (size_t)n;
    return (buf);
}

/*
 * local_kms --
 *     The local provider with the fixed fuzz key.
 */
static wtkms_kms *
local_kms(void)
{
    wtkms_config cfg;
    wtkms_kms *kms;
    wtkms_err err;

    wtkms_config_init(&cfg, "seedgen");
    if (wtkms_config_set(&cfg, "provider", "local", &err) != 0 ||
        wtkms_config_set(&cfg, "key_file", fuzz_local_key_file(), &err) != 0 ||
        wtkms_kms_open(&cfg, &kms, &err) != 0)
        die("local provider", &err);
    wtkms_config_free(&cfg);
    return (kms);
}

/*
 * keystore_and_blocks --
 *     A home: keystore, two keyids, blocks of several sizes.
 */
static void
keystore_and_blocks(wtkms_kms *kms)
{
    static const size_t sizes[] = { 0, 1, 31, 512, 4096 };
    wtkms_keystore *ks;
    wtkms_engine *engine;
    wtkms_keyed *kd[2];
    wtkms_err err;
    uint8_t src[4096], dst[4096 + WTKMS_BLOCK_OVERHEAD], *img;
    char home[512], path[600], name[64];
    size_t i, len, img_len;

    (void)snprintf(home, sizeof(home), "%s/home", fuzz_tmpdir());
    (void)mkdir(home, 0700);
    if (wtkms_keystore_create(home, kms, &ks, &err) != 0)
        die("keystore create", &err);
    (void)snprintf(path, sizeof(path), "%s/%s", home, WTKMS_KEYSTORE_FILE);
    img = slurp(path, &img_len);
    put("corpus/keystore", "new", img, img_len);
    free(img);
    if (wtkms_engine_new(ks, &engine, &err) != 0 ||
        wtkms_keyed_new(engine, "fuzz", &kd[0], &err) != 0 ||
        wtkms_keyed_new(engine, "table:fuzz-other", &kd[1], &err) != 0)
        die("engine", &err);
    for (i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (wtkms_block_encrypt(kd[i % 2], src, sizes[i], dst, sizeof(dst), &len, &err) != 0)
            die("block encrypt", &err);
        (void)snprintf(name, sizeof(name), "%s-%zu", i % 2 ? "other" : "fuzz", sizes[i]);
        put("corpus/block", name, dst, len);
    }
    wtkms_keyed_free(kd[0]);
    wtkms_keyed_free(kd[1]);
    wtkms_engine_free(engine);
    /* The keystore now holds both data keys and the open: the fixture and a seed. */
    img = slurp(path, &img_len);
    put("fixture", WTKMS_KEYSTORE_FILE, img, img_len);
    put("corpus/keystore", "two-roots-one-open", img, img_len);
    free(img);
}

/*
 * snapshot --
 *     Manifests (encrypted and clear) and objects of a two-file snapshot.
 */
static void
snapshot(wtkms_kms *kms)
{
    static const int64_t sizes[] = { 9000, 1500, 0 };
    wtkms_snap_manifest m;
    wtkms_snap_file files[3];
    wtkms_snap_keys keys;
    wtkms_snap_codec *codec;
    wtkms_snap_rec rec;
    wtkms_zc *zc;
    wtkms_err err;
    uint8_t snapkey[WTKMS_KEY_LEN], obj[8192], *buf, plain[8192], zout[8192], *payload;
    size_t len, off, k;
    uint64_t i, n;
    uint32_t f;
    int enc;

    fuzz_snapshot_key(snapkey);
    if (wtkms_snap_derive(snapkey, FUZZ_SNAP_ID, &keys) != 0)
        die("snapshot derive", NULL);
    for (enc = 0; enc < 2; enc++) {
        memset(&m, 0, sizeof(m));
        m.format_version = WTKMS_SNAP_FORMAT_VERSION;
        (void)snprintf(m.id, sizeof(m.id), "%s", FUZZ_SNAP_ID);
        m.created_ms = 1764000000000;
        (void)snprintf(m.source_host, sizeof(m.source_host), "fuzz-host");
        (void)snprintf(m.source_path, sizeof(m.source_path), "/data/db");
        (void)snprintf(m.source_method, sizeof(m.source_method), "backup_cursor");
        (void)snprintf(m.wt_version, sizeof(m.wt_version), "WiredTiger 11.3.1");
        m.chunk_size = FUZZ_SNAP_MANIFEST_CHUNK;
        m.encrypted = enc;
        if (enc) {
            kms->describe(kms, &m.key);
            if (kms->wrap(kms, snapkey, &m.wrapped_key, &m.wrapped_len, &m.key, &err) != 0)
                die("snapshot key wrap", &err);
            m.has_keystore = true;
            kms->describe(kms, &m.keystore_cmk);
            /* The keystore inside under two master keys: this one and an AWS KMS key. */
            m.keystore_cmks[0] = m.keystore_cmk;
            (void)snprintf(m.keystore_cmks[1].provider, sizeof(m.keystore_cmks[1].provider), "aws");
            (void)snprintf(m.keystore_cmks[1].key_id, sizeof(m.keystore_cmks[1].key_id),
              "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
            (void)snprintf(
              m.keystore_cmks[1].region, sizeof(m.keystore_cmks[1].region), "us-east-1");
            m.n_keystore_cmks = 2;
        }
        m.has_oplog_ts = true;
        m.oplog_t = 1764000000;
        m.oplog_i = 3;
        files[0].name = "collection-0--123.wt";
        files[1].name = "journal/WiredTigerLog.0000000001";
        files[2].name = "WiredTiger.lock";
        m.files = files;
        m.nfiles = 3;
        for (f = 0; f < 3; f++) {
            files[f].size = sizes[f];
            files[f].chunks = wtkms_snap_nchunks(sizes[f], FUZZ_SNAP_MANIFEST_CHUNK);
            files[f].mode = 0600;
            memset(files[f].sha256, 0x11 * (int)(f + 1), WTKMS_SHA256_LEN);
            m.size += sizes[f];
            m.stored_size += wtkms_snap_object_size(sizes[f], FUZZ_SNAP_MANIFEST_CHUNK);
        }
        if (wtkms_manifest_encode(&m, enc ? &keys : NULL, &buf, &len, &err) != 0)
            die("manifest encode", &err);
        put("corpus/manifest", enc ? "encrypted" : "clear", buf, len);
        free(buf);
        free(m.wrapped_key);

        /*
         * Objects: u32le file size, u8 file number, then the object as restore reads it, in
         * format 2 (compressed chunks, one stored as is); the format 1 seeds made before stay.
         */
        if (wtkms_snap_codec_new(
              enc ? &keys : NULL, FUZZ_SNAP_ID, WTKMS_SNAP_DATA_VERSION, &codec) != 0 ||
            wtkms_zc_new(1, &zc) != 0)
            die("codec", NULL);
        for (f = 1; f < 3; f++) {
            obj[0] = (uint8_t)sizes[f];
            obj[1] = (uint8_t)(sizes[f] >> 8);
            obj[2] = obj[3] = 0;
            obj[4] = (uint8_t)f;
            wtkms_snap_hdr_encode(obj + 5, WTKMS_SNAP_DATA_VERSION,
              enc ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR, WTKMS_SNAP_CODEC_ZSTD, f,
              FUZZ_SNAP_CHUNK);
            off = 5 + WTKMS_SNAP_HDR_LEN;
            n = wtkms_snap_nchunks(sizes[f], FUZZ_SNAP_CHUNK);
            for (i = 0; i < n; i++) {
                len =
                  i + 1 < n ? FUZZ_SNAP_CHUNK : (size_t)(sizes[f] - (int64_t)i * FUZZ_SNAP_CHUNK);
                if (i == 1) /* does not compress: stored as is */
                    for (k = 0; k < len; k++)
                        plain[k] = (uint8_t)(k * 2654435761u >> 13);
                else
                    memset(plain, 'a' + (int)i, len);
                rec.file = f;
                rec.chunk = i;
                rec.final = i + 1 == n;
                if (wtkms_snap_compress(zc, plain, len, zout, &rec, &payload) != 0 ||
                    wtkms_snap_seal(codec, &rec, payload) != 0)
                    die("snap seal", NULL);
                wtkms_snap_rec_encode(obj + off, &rec);
                memcpy(obj + off + WTKMS_SNAP_REC_LEN, payload, rec.stored + WTKMS_SNAP_TAG_LEN);
                off += WTKMS_SNAP_REC_LEN + rec.stored + WTKMS_SNAP_TAG_LEN;
            }
            put("corpus/chunk",
              f == 1 ? (enc ? "v2-gcm-3chunks" : "v2-clear-3chunks")
                     : (enc ? "v2-gcm-empty" : "v2-clear-empty"),
              obj, off);
        }
        wtkms_snap_codec_free(codec);
        wtkms_zc_free(zc);
    }
}

/*
 * entry --
 *     One oplog entry, appended to body.
 */
static void
entry(wtkms_buf *body, uint32_t secs, uint32_t inc)
{
    bson_t doc, o;

    bson_init(&doc);
    BSON_APPEND_TIMESTAMP(&doc, "ts", secs, inc);
    BSON_APPEND_INT64(&doc, "t", 1);
    BSON_APPEND_UTF8(&doc, "op", "i");
    BSON_APPEND_UTF8(&doc, "ns", "test.c");
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "o", &o);
    BSON_APPEND_INT32(&o, "_id", (int32_t)inc);
    bson_append_document_end(&doc, &o);
    if (wtkms_buf_append(body, bson_get_data(&doc), doc.len) != 0)
        die("append", NULL);
    bson_destroy(&doc);
}

/*
 * oplog --
 *     Segments, encrypted and clear, and a gap; the head file.
 */
static void
oplog(wtkms_kms *kms)
{
    wtkms_seg_header h;
    wtkms_oplog_store *store;
    wtkms_oplog_head head;
    wtkms_key *run_key;
    wtkms_gcm *gcm;
    wtkms_buf body, out;
    wtkms_err err;
    uint8_t *blob, *img;
    char dir[512], path[600];
    size_t blob_len, img_len;
    int kind;

    memset(&body, 0, sizeof(body));
    memset(&out, 0, sizeof(out));
    if ((gcm = wtkms_gcm_new()) == NULL || (run_key = wtkms_key_new()) == NULL)
        die("alloc", NULL);
    memset(run_key->b, 0x42, WTKMS_KEY_LEN);
    for (kind = 0; kind < 3; kind++) {
        memset(&h, 0, sizeof(h));
        h.format = WTKMS_SEG_FORMAT;
        h.seq = (uint64_t)kind + 1;
        memset(h.run, 0x5C, sizeof(h.run));
        h.created_ms = 1764000000000;
        body.len = 0;
        if (kind == 2) {
            h.kind = WTKMS_SEG_GAP;
            h.gap_from = WTKMS_TS(1764000100, 2);
            h.gap_to = WTKMS_TS(1764000200, 1);
            h.last_term = -1;
        } else {
            h.kind = WTKMS_SEG_ENTRIES;
            entry(&body, 1764000000, 1);
            entry(&body, 1764000000, 2);
            entry(&body, 1764000100, 1);
            h.count = 3;
            h.first_ts = WTKMS_TS(1764000000, 1);
            h.last_ts = WTKMS_TS(1764000100, 1);
            h.last_term = 1;
        }
        if (kind != 1) {
            if (kms->wrap(kms, run_key->b, &blob, &blob_len, &h.cmk, &err) != 0)
                die("run key wrap", &err);
            memcpy(h.wrapped, blob, blob_len);
            h.wrapped_len = blob_len;
            free(blob);
        }
        if (wtkms_seg_seal(
              &h, gcm, kind != 1 ? run_key : NULL, NULL, body.p, body.len, &out, &err) != 0)
            die("segment seal", &err);
        put("corpus/oplog_segment",
          kind == 0   ? "encrypted"
          : kind == 1 ? "clear"
                      : "gap-encrypted",
          out.p, out.len);
    }

    (void)snprintf(dir, sizeof(dir), "%s/oplog", fuzz_tmpdir());
    if (wtkms_oplog_store_open(dir, NULL, true, &store, &err) != 0)
        die("oplog store", &err);
    head.seq = 3;
    if (wtkms_sha256(out.p, out.len, head.digest) != 0 ||
        wtkms_oplog_store_write_head(store, &head, &err) != 0)
        die("oplog head", &err);
    (void)snprintf(path, sizeof(path), "%s/oplog.head", dir);
    img = slurp(path, &img_len);
    put("corpus/oplog_head", "head-3", img, img_len);
    free(img);
    wtkms_oplog_store_close(store);
    wtkms_key_free(run_key);
    wtkms_gcm_free(gcm);
    wtkms_buf_free(&body);
    wtkms_buf_free(&out);
}

/*
 * main --
 *     seedgen TOP
 */
int
main(int argc, char **argv)
{
    wtkms_kms *kms;

    if (argc != 2) {
        fprintf(stderr, "usage: seedgen TOP\n");
        return (2);
    }
    top = argv[1];
    kms = local_kms();
    keystore_and_blocks(kms);
    snapshot(kms);
    oplog(kms);
    wtkms_kms_close(kms);
    return (0);
}
