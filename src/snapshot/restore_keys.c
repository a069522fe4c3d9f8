/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore_keys.c -- every key a restore depends on, checked before anything is written: the
 * snapshot key (restore.c unwraps it) and the master key of the keystore inside the snapshot,
 * which the restored home needs at its first open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "chunk_read.h"
#include "fileio.h"
#include "keystore.h"
#include "snapshot.h"
#include "snaputil.h"

#define KEYSTORE_MAX (64 * 1024 * 1024)

/*
 * wtkms_snap_key_state_error --
 *     Say which key state stopped us and what to do; nothing has been written.
 */
int
wtkms_snap_key_state_error(
  const wtkms_snap_manifest *m, const wtkms_kms_desc *d, const char *which, wtkms_err *err)
{
    char name[1200], cause[sizeof(err->msg)], *p;
    int code = err->code;

    wtkms_kms_desc_name(d, name, sizeof(name));
    (void)snprintf(cause, sizeof(cause), "%s", err->msg);
    /* The provider's advice for a new key file is wrong here: this key must be the old one. */
    if ((p = strstr(cause, " (create one with")) != NULL)
        *p = '\0';
    switch (code) {
    case EKEYREVOKED:
        return (wtkms_errf(err, code,
          "snapshot %s: %s %s is disabled: re-enable key %s and retry; nothing was written (%s)",
          m->id, which, name, d->key_id, cause));
    case EKEYEXPIRED:
        return (wtkms_errf(err, code,
          "snapshot %s: %s %s is pending deletion: cancel the deletion of key %s, re-enable it "
          "and retry; nothing was written (%s)",
          m->id, which, name, d->key_id, cause));
    case ENOKEY:
        if (strcmp(d->provider, "local") == 0)
            return (wtkms_errf(err, code,
              "snapshot %s: local %s %s is missing: put the key file back from your key backup "
              "and retry; without it this snapshot cannot be recovered; nothing was written (%s)",
              m->id, which, d->key_id, cause));
        return (wtkms_errf(err, code,
          "snapshot %s: %s %s was deleted: this snapshot cannot be recovered; nothing was "
          "written (%s)",
          m->id, which, name, cause));
    case EACCES:
        return (wtkms_errf(err, code,
          "snapshot %s: access to %s %s was denied: grant this identity permission to decrypt "
          "with it and retry; nothing was written (%s)",
          m->id, which, name, cause));
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
        return (wtkms_errf(err, code,
          "snapshot %s: the key service holding %s %s is unreachable: check the endpoint, "
          "network and proxy settings and retry; nothing was written (%s)",
          m->id, which, name, cause));
    default:
        return (wtkms_err_prefix(
          err, "snapshot %s: %s %s cannot be used (nothing was written)", m->id, which, name));
    }
}

/*
 * wtkms_snapshot_key_error --
 *     The snapshot key's master key.
 */
int
wtkms_snapshot_key_error(const wtkms_snap_manifest *m, wtkms_err *err)
{
    return (wtkms_snap_key_state_error(m, &m->key, "master key", err));
}

/*
 * read_object --
 *     One whole file of a snapshot, every chunk opened and the file's SHA-256 checked.
 */
static int
read_object(wtkms_store *store, const wtkms_snap_manifest *m, const wtkms_snap_keys *keys,
  uint32_t fi, uint8_t *out, wtkms_err *err)
{
    wtkms_store_reader *r;
    wtkms_snap_codec *codec;
    wtkms_zd *zd;
    const wtkms_snap_file *f = &m->files[fi];
    uint8_t hdr[WTKMS_SNAP_HDR_LEN], *chunk, *spare, digest[WTKMS_SHA256_LEN];
    char obj[32], why[256];
    uint64_t i;
    size_t len, got;
    int hdr_codec, ret;

    r = NULL;
    codec = NULL;
    zd = NULL;
    spare = NULL;
    if ((chunk = malloc((size_t)m->chunk_size + WTKMS_SNAP_TAG_LEN)) == NULL ||
        (spare = malloc((size_t)m->chunk_size + WTKMS_SNAP_TAG_LEN)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    if ((ret = wtkms_snap_codec_new(keys, m->id, m->format_version, &codec)) != 0 ||
        (ret = wtkms_zd_new(&zd)) != 0) {
        ret = wtkms_errf(err, ret, "cannot set up the snapshot cipher");
        goto err;
    }
    (void)snprintf(obj, sizeof(obj), "files/%08u", fi);
    if ((ret = store->get_open(store, m->id, obj, &r, err)) != 0 ||
        (ret = wtkms_store_read_full(store, r, hdr, sizeof(hdr), &got, err)) != 0)
        goto err;
    if (got != sizeof(hdr) || wtkms_snap_hdr_check(hdr, m->format_version,
                                m->encrypted ? WTKMS_SNAP_MODE_GCM : WTKMS_SNAP_MODE_CLEAR, fi,
                                m->chunk_size, &hdr_codec, why, sizeof(why)) != 0) {
        ret = wtkms_errf(err, EBADMSG, "snapshot %s is damaged: file %s (object %s): %s", m->id,
          f->name, obj, got != sizeof(hdr) ? "the object is truncated" : why);
        goto err;
    }
    for (i = 0; i < f->chunks; i++) {
        len = i + 1 < f->chunks ? m->chunk_size : (size_t)(f->size - (int64_t)i * m->chunk_size);
        if ((ret = wtkms_snap_read_chunk(store, r, m, codec, zd, hdr_codec, (uint32_t)fi, i, &chunk,
               &spare, why, sizeof(why), err)) != 0) {
            if (ret == EBADMSG)
                ret = wtkms_errf(err, EBADMSG,
                  "snapshot %s is damaged: file %s (object %s), chunk %llu: %s; restore another "
                  "snapshot",
                  m->id, f->name, obj, (unsigned long long)i, why);
            goto err;
        }
        memcpy(out + (size_t)i * m->chunk_size, chunk, len);
    }
    if ((ret = wtkms_sha256(out, (size_t)f->size, digest)) != 0) {
        ret = wtkms_errf(err, ret, "SHA-256 failed");
        goto err;
    }
    if (wtkms_ct_memcmp(digest, f->sha256, WTKMS_SHA256_LEN) != 0)
        ret = wtkms_errf(err, EBADMSG,
          "snapshot %s is damaged: file %s: its SHA-256 does not match the manifest", m->id,
          f->name);
err:
    if (r != NULL)
        store->get_close(r);
    wtkms_snap_codec_free(codec);
    wtkms_zd_free(zd);
    free(chunk);
    free(spare);
    return (ret);
}

/*
 * wtkms_snap_check_keystore --
 *     Decrypt the keystore of the snapshot into a private directory and unlock it with kms: the
 *     same KMS call, MAC check and data-key unwraps the restored home's first open will make.
 */
int
wtkms_snap_check_keystore(wtkms_store *store, const wtkms_snap_manifest *m,
  const wtkms_snap_keys *keys, wtkms_kms *kms, wtkms_err *err)
{
    wtkms_keystore *ks;
    wtkms_err e2;
    char name[1200], dir[4096], path[4200];
    const char *tmp;
    uint8_t *buf;
    uint32_t fi, w;
    int ret;

    for (fi = 0; fi < m->nfiles; fi++)
        if (strcmp(m->files[fi].name, WTKMS_KEYSTORE_FILE) == 0)
            break;
    if (!m->has_keystore) {
        if (fi < m->nfiles)
            return (wtkms_errf(err, EBADMSG,
              "snapshot %s holds a %s but its manifest records no keystore master key: the "
              "manifest is inconsistent; restore another snapshot",
              m->id, WTKMS_KEYSTORE_FILE));
        return (0);
    }
    wtkms_kms_desc_name(&m->keystore_cmk, name, sizeof(name));
    if (fi == m->nfiles)
        return (wtkms_errf(err, EBADMSG,
          "snapshot %s records keystore master key %s but holds no %s: restore another snapshot",
          m->id, name, WTKMS_KEYSTORE_FILE));
    if (kms == NULL)
        return (wtkms_errf(err, EINVAL,
          "snapshot %s holds a home encrypted by wtkms under master key %s (its keystore): "
          "restored without that key it could not be opened; give that key's provider settings "
          "(--config FILE, or --key-file PATH / --provider ... flags); nothing was written",
          m->id, name));
    if (m->files[fi].size > KEYSTORE_MAX)
        return (wtkms_errf(err, EBADMSG, "snapshot %s: its %s is %lld bytes, larger than any",
          m->id, WTKMS_KEYSTORE_FILE, (long long)m->files[fi].size));
    if ((buf = malloc((size_t)m->files[fi].size + 1)) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ks = NULL;
    dir[0] = '\0';
    if ((ret = read_object(store, m, keys, fi, buf, err)) != 0)
        goto err;
    if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (snprintf(dir, sizeof(dir), "%s/wtkms-restore-XXXXXX", tmp) >= (int)sizeof(dir)) {
        dir[0] = '\0';
        ret = wtkms_errf(err, ENAMETOOLONG, "TMPDIR is too long");
        goto err;
    }
    if (mkdtemp(dir) == NULL) {
        ret = wtkms_errf(
          err, errno, "cannot create a private directory in %s: %s", tmp, strerror(errno));
        dir[0] = '\0';
        goto err;
    }
    (void)snprintf(path, sizeof(path), "%s/%s", dir, WTKMS_KEYSTORE_FILE);
    if ((ret = wtkms_write_file_atomic(path, buf, (size_t)m->files[fi].size, 0600, 0, err)) != 0 ||
        (ret = wtkms_keystore_load(dir, &ks, err)) != 0) {
        (void)wtkms_err_prefix(err, "snapshot %s: its %s", m->id, WTKMS_KEYSTORE_FILE);
        goto err;
    }
    /*
     * The keystore may be wrapped by several master keys (the manifest names the first): name
     * the one the configuration designates. Unlock compares before any credential is used.
     */
    for (w = 0; w < ks->nwraps; w++) {
        wtkms_err_clear(&e2);
        if (wtkms_kms_check_match(kms, &ks->wraps[w].cmk, &e2) == 0)
            break;
    }
    if ((ret = wtkms_keystore_unlock(ks, kms, err)) != 0) {
        if (w < ks->nwraps)
            ret = wtkms_snap_key_state_error(m, &ks->wraps[w].cmk, "keystore master key", err);
        else
            (void)wtkms_err_prefix(err,
              "snapshot %s: the keystore inside it is under master key %s (nothing was written)",
              m->id, name);
        goto err;
    }
err:
    wtkms_keystore_free(ks);
    if (dir[0] != '\0')
        (void)wtkms_rmtree(dir, NULL);
    wtkms_wipe(buf, (size_t)m->files[fi].size);
    free(buf);
    return (ret);
}
