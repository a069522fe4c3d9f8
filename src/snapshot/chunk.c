/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chunk.c -- sealing and opening snapshot chunks; object headers; key derivation.
 */
#include "chunk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "zcodec.h"

static const char label_data[] = "wtkms snapshot v1 data";
static const char label_manifest[] = "wtkms snapshot v1 manifest";
static const char aad_magic_1[] = "WTKMSSNC";
static const char aad_magic_2[] = "WTKMSSN2";

struct wtkms_snap_codec {
    wtkms_gcm *gcm; /* NULL in clear mode */
    int version;    /* object format: 1 or 2 */
    char id[WTKMS_SNAP_ID_LEN];
};

/*
 * The object header (WTKMS_SNAP_HDR_LEN bytes; docs/FORMATS.md, "Object (one per file)"): magic,
 * format version, mode, compressor, one reserved byte, file number, chunk size, four reserved.
 */
#define HDR_MAGIC_LOCATION 0
#define HDR_VERSION_LOCATION 8
#define HDR_MODE_LOCATION 9
#define HDR_CODEC_LOCATION 10
#define HDR_FILE_LOCATION 12
#define HDR_CHUNK_SIZE_LOCATION 16

/*
 * A chunk's additional data: magic, snapshot id, file number, chunk number, final flag; format 2
 * adds the compressed flag, the stored and the plain length. The nonce is file and chunk number.
 */
#define AAD_MAGIC_LOCATION 0
#define AAD_ID_LOCATION 8
#define AAD_FILE_LOCATION (AAD_ID_LOCATION + WTKMS_SNAP_ID_LEN)
#define AAD_CHUNK_LOCATION (AAD_FILE_LOCATION + 4)
#define AAD_FINAL_LOCATION (AAD_CHUNK_LOCATION + 8)
#define AAD_COMPRESSED_LOCATION (AAD_FINAL_LOCATION + 1)
#define AAD_STORED_LOCATION (AAD_COMPRESSED_LOCATION + 1)
#define AAD_PLAIN_LOCATION (AAD_STORED_LOCATION + 4)
#define NONCE_FILE_LOCATION 0
#define NONCE_CHUNK_LOCATION 4
_Static_assert(AAD_COMPRESSED_LOCATION == WTKMS_SNAP_AAD_LEN_1, "format 1 AAD layout");
_Static_assert(AAD_PLAIN_LOCATION + 4 == WTKMS_SNAP_AAD_LEN_2, "format 2 AAD layout");
_Static_assert(NONCE_CHUNK_LOCATION + 8 == WTKMS_GCM_NONCE_LEN, "chunk nonce layout");

/*
 * wtkms_snap_derive --
 *     The snapshot's data and manifest keys.
 */
int
wtkms_snap_derive(const uint8_t key[WTKMS_KEY_LEN], const char *id, wtkms_snap_keys *keys)
{
    int ret;

    if ((ret = wtkms_hkdf(key, WTKMS_KEY_LEN, (const uint8_t *)id, strlen(id),
           (const uint8_t *)label_data, sizeof(label_data) - 1, keys->data, WTKMS_KEY_LEN)) != 0)
        return (ret);
    return (wtkms_hkdf(key, WTKMS_KEY_LEN, (const uint8_t *)id, strlen(id),
      (const uint8_t *)label_manifest, sizeof(label_manifest) - 1, keys->manifest, WTKMS_KEY_LEN));
}

/*
 * wtkms_snap_codec_new --
 *     A codec for one thread; keys NULL means clear mode.
 */
int
wtkms_snap_codec_new(
  const wtkms_snap_keys *keys, const char *id, int version, wtkms_snap_codec **cp)
{
    wtkms_snap_codec *c;
    int ret;

    *cp = NULL;
    if (strlen(id) >= WTKMS_SNAP_ID_LEN ||
        (version != WTKMS_SNAP_DATA_VERSION_1 && version != WTKMS_SNAP_DATA_VERSION))
        return (EINVAL);
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return (ENOMEM);
    c->version = version;
    memcpy(c->id, id, strlen(id));
    if (keys != NULL) {
        if ((c->gcm = wtkms_gcm_new()) == NULL) {
            free(c);
            return (ENOMEM);
        }
        if ((ret = wtkms_gcm_setkey(c->gcm, keys->data)) != 0) {
            wtkms_snap_codec_free(c);
            return (ret);
        }
    }
    *cp = c;
    return (0);
}

/*
 * wtkms_snap_codec_free --
 *     Free a codec (OpenSSL cleanses the key schedule).
 */
void
wtkms_snap_codec_free(wtkms_snap_codec *c)
{
    if (c == NULL)
        return;
    wtkms_gcm_free(c->gcm);
    free(c);
}

/*
 * make_aad --
 *     Nonce and additional data of a chunk record; the AAD's length.
 */
static size_t
make_aad(const wtkms_snap_codec *c, const wtkms_snap_rec *r, uint8_t nonce[WTKMS_GCM_NONCE_LEN],
  uint8_t aad[WTKMS_SNAP_AAD_LEN_2])
{
    wtkms_put_be32(nonce + NONCE_FILE_LOCATION, r->file);
    wtkms_put_be64(nonce + NONCE_CHUNK_LOCATION, r->chunk);
    memcpy(aad + AAD_MAGIC_LOCATION,
      c->version == WTKMS_SNAP_DATA_VERSION_1 ? aad_magic_1 : aad_magic_2, 8);
    memcpy(aad + AAD_ID_LOCATION, c->id, WTKMS_SNAP_ID_LEN);
    wtkms_put_be32(aad + AAD_FILE_LOCATION, r->file);
    wtkms_put_be64(aad + AAD_CHUNK_LOCATION, r->chunk);
    aad[AAD_FINAL_LOCATION] = r->final ? 1 : 0;
    if (c->version == WTKMS_SNAP_DATA_VERSION_1)
        return (WTKMS_SNAP_AAD_LEN_1);
    aad[AAD_COMPRESSED_LOCATION] = r->compressed ? 1 : 0;
    wtkms_put_be32(aad + AAD_STORED_LOCATION, (uint32_t)r->stored);
    wtkms_put_be32(aad + AAD_PLAIN_LOCATION, (uint32_t)r->plain);
    return (WTKMS_SNAP_AAD_LEN_2);
}

/*
 * clear_check --
 *     The clear-mode check value: SHA-256(AAD || data), first 16 bytes.
 */
static int
clear_check(const uint8_t *aad, size_t aad_len, const uint8_t *buf, size_t len,
  uint8_t out[WTKMS_SNAP_TAG_LEN])
{
    wtkms_sha256_ctx *s;
    uint8_t d[WTKMS_SHA256_LEN];
    int ret;

    if ((s = wtkms_sha256_begin()) == NULL)
        return (ENOMEM);
    if ((ret = wtkms_sha256_update(s, aad, aad_len)) != 0 ||
        (ret = wtkms_sha256_update(s, buf, len)) != 0) {
        (void)wtkms_sha256_end(s, d);
        return (ret);
    }
    if ((ret = wtkms_sha256_end(s, d)) != 0)
        return (ret);
    memcpy(out, d, WTKMS_SNAP_TAG_LEN);
    return (0);
}

/*
 * rec_valid --
 *     A record the codec's format can hold: format 1 has no compression.
 */
static bool
rec_valid(const wtkms_snap_codec *c, const wtkms_snap_rec *r)
{
    if (c->version == WTKMS_SNAP_DATA_VERSION_1)
        return (!r->compressed && r->stored == r->plain);
    return (r->stored < WTKMS_SNAP_REC_COMPRESSED && r->plain < WTKMS_SNAP_REC_COMPRESSED &&
            (r->compressed || r->stored == r->plain));
}

/*
 * wtkms_snap_seal --
 *     Seal a chunk's payload in place and append its tag.
 */
int
wtkms_snap_seal(wtkms_snap_codec *c, const wtkms_snap_rec *r, uint8_t *buf)
{
    uint8_t nonce[WTKMS_GCM_NONCE_LEN], aad[WTKMS_SNAP_AAD_LEN_2];
    size_t aad_len;

    if (!rec_valid(c, r))
        return (EINVAL);
    aad_len = make_aad(c, r, nonce, aad);
    if (c->gcm == NULL)
        return (clear_check(aad, aad_len, buf, r->stored, buf + r->stored));
    return (wtkms_gcm_seal(c->gcm, nonce, aad, aad_len, buf, r->stored, buf, buf + r->stored));
}

/*
 * wtkms_snap_open --
 *     Authenticate (and decrypt) a chunk's payload in place.
 */
int
wtkms_snap_open(wtkms_snap_codec *c, const wtkms_snap_rec *r, uint8_t *buf)
{
    uint8_t nonce[WTKMS_GCM_NONCE_LEN], aad[WTKMS_SNAP_AAD_LEN_2], check[WTKMS_SNAP_TAG_LEN];
    uint8_t tag[WTKMS_SNAP_TAG_LEN];
    size_t aad_len;
    int ret;

    if (!rec_valid(c, r))
        return (EBADMSG);
    aad_len = make_aad(c, r, nonce, aad);
    if (c->gcm == NULL) {
        if ((ret = clear_check(aad, aad_len, buf, r->stored, check)) != 0)
            return (ret);
        return (wtkms_ct_memcmp(check, buf + r->stored, WTKMS_SNAP_TAG_LEN) == 0 ? 0 : EBADMSG);
    }
    /* The tag is read before decryption overwrites nothing past len; copy it for clarity. */
    memcpy(tag, buf + r->stored, WTKMS_SNAP_TAG_LEN);
    return (wtkms_gcm_open(c->gcm, nonce, aad, aad_len, buf, r->stored, buf, tag));
}

/*
 * wtkms_snap_rec_encode --
 *     A format 2 record word.
 */
void
wtkms_snap_rec_encode(uint8_t word[WTKMS_SNAP_REC_LEN], const wtkms_snap_rec *r)
{
    wtkms_put_be32(word, (uint32_t)r->stored | (r->compressed ? WTKMS_SNAP_REC_COMPRESSED : 0));
}

/*
 * wtkms_snap_rec_decode --
 *     Read and bound a format 2 record word.
 */
int
wtkms_snap_rec_decode(const uint8_t word[WTKMS_SNAP_REC_LEN], uint32_t chunk_size, int codec,
  wtkms_snap_rec *r, char *why, size_t whylen)
{
    uint32_t w = wtkms_get_be32(word);

    r->compressed = (w & WTKMS_SNAP_REC_COMPRESSED) != 0;
    r->stored = w & ~WTKMS_SNAP_REC_COMPRESSED;
    if (r->stored > chunk_size)
        (void)snprintf(why, whylen, "its record says %zu bytes, more than the chunk size %u",
          r->stored, chunk_size);
    else if (r->compressed && codec != WTKMS_SNAP_CODEC_ZSTD)
        (void)snprintf(
          why, whylen, "it is marked compressed but the object's header names no compressor");
    else if (!r->compressed && r->stored != r->plain)
        (void)snprintf(why, whylen, "it is stored as is in %zu bytes, but the chunk has %zu",
          r->stored, r->plain);
    else
        return (0);
    return (EBADMSG);
}

/*
 * wtkms_snap_compress --
 *     Compress a chunk when that saves bytes.
 */
int
wtkms_snap_compress(struct wtkms_zc *z, const uint8_t *plain, size_t len, uint8_t *out,
  wtkms_snap_rec *r, uint8_t **payloadp)
{
    size_t clen;
    int ret;

    r->plain = len;
    r->compressed = false;
    r->stored = len;
    *payloadp = (uint8_t *)plain;
    if (z == NULL || len == 0)
        return (0);
    if ((ret = wtkms_zc_compress(z, plain, len, out, len - 1, &clen)) == ENOSPC)
        return (0); /* it does not shrink: stored as it is */
    if (ret != 0)
        return (ret);
    r->compressed = true;
    r->stored = clen;
    *payloadp = out;
    return (0);
}

/*
 * wtkms_snap_decompress --
 *     The plaintext of an opened chunk, bounded by its authenticated length.
 */
int
wtkms_snap_decompress(struct wtkms_zd *z, const wtkms_snap_rec *r, uint8_t *buf, uint8_t *out,
  uint8_t **plainp, char *why, size_t whylen)
{
    int ret;

    *plainp = NULL;
    if (!r->compressed) {
        *plainp = buf;
        return (0);
    }
    if (z == NULL) {
        (void)snprintf(why, whylen, "it is compressed and no decompressor was set up");
        return (EBADMSG);
    }
    if ((ret = wtkms_zd_decompress(z, buf, r->stored, out, r->plain, why, whylen)) != 0)
        return (ret);
    *plainp = out;
    return (0);
}

/*
 * wtkms_snap_hdr_encode --
 *     An object header.
 */
void
wtkms_snap_hdr_encode(uint8_t hdr[WTKMS_SNAP_HDR_LEN], int version, int mode, int codec,
  uint32_t file, uint32_t chunk_size)
{
    memset(hdr, 0, WTKMS_SNAP_HDR_LEN);
    memcpy(hdr + HDR_MAGIC_LOCATION, WTKMS_SNAP_MAGIC, 8);
    hdr[HDR_VERSION_LOCATION] = (uint8_t)version;
    hdr[HDR_MODE_LOCATION] = (uint8_t)mode;
    if (version >= WTKMS_SNAP_DATA_VERSION)
        hdr[HDR_CODEC_LOCATION] = (uint8_t)codec;
    wtkms_put_be32(hdr + HDR_FILE_LOCATION, file);
    wtkms_put_be32(hdr + HDR_CHUNK_SIZE_LOCATION, chunk_size);
}

/*
 * wtkms_snap_hdr_check --
 *     Compare an object header with the manifest's expectations.
 */
int
wtkms_snap_hdr_check(const uint8_t hdr[WTKMS_SNAP_HDR_LEN], int version, int mode, uint32_t file,
  uint32_t chunk_size, int *codecp, char *why, size_t whylen)
{
    *codecp = WTKMS_SNAP_CODEC_NONE;
    if (memcmp(hdr + HDR_MAGIC_LOCATION, WTKMS_SNAP_MAGIC, 8) != 0)
        (void)snprintf(why, whylen, "the object header is not a wtkms snapshot header");
    else if (hdr[HDR_VERSION_LOCATION] != version)
        (void)snprintf(why, whylen, "the object is format version %u, the manifest says %d",
          hdr[HDR_VERSION_LOCATION], version);
    else if (version >= WTKMS_SNAP_DATA_VERSION &&
             hdr[HDR_CODEC_LOCATION] != WTKMS_SNAP_CODEC_NONE &&
             hdr[HDR_CODEC_LOCATION] != WTKMS_SNAP_CODEC_ZSTD)
        (void)snprintf(
          why, whylen, "the object names an unknown compressor (%u)", hdr[HDR_CODEC_LOCATION]);
    else if (hdr[HDR_MODE_LOCATION] != mode)
        (void)snprintf(why, whylen, "the object is %s but the manifest says %s",
          hdr[HDR_MODE_LOCATION] == WTKMS_SNAP_MODE_GCM ? "encrypted" : "not encrypted",
          mode == WTKMS_SNAP_MODE_GCM ? "encrypted" : "not encrypted");
    else if (wtkms_get_be32(hdr + HDR_FILE_LOCATION) != file)
        (void)snprintf(why, whylen,
          "the object holds file number %u, not %u: objects were swapped or renamed",
          wtkms_get_be32(hdr + HDR_FILE_LOCATION), file);
    else if (wtkms_get_be32(hdr + HDR_CHUNK_SIZE_LOCATION) != chunk_size)
        (void)snprintf(why, whylen, "the object's chunk size is %u, the manifest says %u",
          wtkms_get_be32(hdr + HDR_CHUNK_SIZE_LOCATION), chunk_size);
    else {
        *codecp =
          version >= WTKMS_SNAP_DATA_VERSION ? hdr[HDR_CODEC_LOCATION] : WTKMS_SNAP_CODEC_NONE;
        return (0);
    }
    return (EBADMSG);
}

/*
 * wtkms_snap_nchunks --
 *     Chunks of a file: at least one (an empty file is one empty final chunk).
 */
uint64_t
wtkms_snap_nchunks(int64_t size, uint32_t chunk_size)
{
    if (size <= 0)
        return (1);
    return (((uint64_t)size + chunk_size - 1) / chunk_size);
}

/*
 * wtkms_snap_object_size --
 *     Bytes of a file's object in the store.
 */
int64_t
wtkms_snap_object_size(int64_t size, uint32_t chunk_size)
{
    return (WTKMS_SNAP_HDR_LEN + size +
            (int64_t)wtkms_snap_nchunks(size, chunk_size) * WTKMS_SNAP_TAG_LEN);
}
