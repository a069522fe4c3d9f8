/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore.c -- the key hierarchy of a keystore: create, unlock, data keys, open records and the
 * master-key wrappings of the keystore key. The file format is ks_format.c; the locked
 * read-modify-write that every change goes through is ks_update.c.
 */
#define _GNU_SOURCE
#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "crypto.h"
#include "fileio.h"

#define KS_MAX_SIZE (64u << 20)

static const char rootwrap_info[] = "wtkms root wrap v1";
static const char fp_info[] = "wtkms key fingerprint v1";

/*
 * wtkms_keystore_path --
 *     The keystore path in a home.
 */
int
wtkms_keystore_path(const char *home, char *out, size_t outlen, wtkms_err *err)
{
    return (wtkms_path_join(out, outlen, home, WTKMS_KEYSTORE_FILE, err));
}

/*
 * wtkms_keystore_exists --
 *     Whether a keystore file is present.
 */
bool
wtkms_keystore_exists(const char *home)
{
    char path[4096];
    struct stat sb;

    if (wtkms_keystore_path(home, path, sizeof(path), NULL) != 0)
        return (false);
    return (lstat(path, &sb) == 0);
}

/*
 * set_paths --
 *     The keystore's and its lock file's paths in a home.
 */
static int
set_paths(wtkms_keystore *ks, const char *home, wtkms_err *err)
{
    int ret;

    if ((ret = wtkms_keystore_path(home, ks->path, sizeof(ks->path), err)) != 0)
        return (ret);
    return (
      wtkms_path_join(ks->lock_path, sizeof(ks->lock_path), home, WTKMS_KEYSTORE_LOCK_FILE, err));
}

/*
 * root_wrap_key --
 *     The key that wraps data keys: a subkey of the KSK.
 */
static int
root_wrap_key(const wtkms_keystore *ks, uint8_t out[WTKMS_KEY_LEN])
{
    return (wtkms_hkdf(ks->ksk->b, WTKMS_KEY_LEN, ks->home_id, sizeof(ks->home_id),
      (const uint8_t *)rootwrap_info, strlen(rootwrap_info), out, WTKMS_KEY_LEN));
}

/*
 * root_aad --
 *     What a wrapped data key is bound to: its number, keyid and home.
 */
static size_t
root_aad(const wtkms_keystore *ks, const wtkms_ks_root *r, uint8_t *buf, size_t len)
{
    size_t klen = strlen(r->keyid);

    if (len < 16 + 4 + klen)
        return (0);
    memcpy(buf, ks->home_id, 16);
    wtkms_put_be32(buf + 16, r->n);
    memcpy(buf + 20, r->keyid, klen);
    return (20 + klen);
}

/*
 * root_fingerprint --
 *     A public name for a data key: HMAC(key, label), truncated.
 */
static int
root_fingerprint(const wtkms_key *k, uint8_t fp[WTKMS_FP_LEN])
{
    uint8_t full[WTKMS_SHA256_LEN];
    int ret;

    ret = wtkms_hmac_sha256(k->b, WTKMS_KEY_LEN, fp_info, sizeof(fp_info) - 1, full);
    memcpy(fp, full, WTKMS_FP_LEN);
    return (ret);
}

/*
 * wtkms_ks_wrap_clear --
 *     Free one wrapping's blob.
 */
void
wtkms_ks_wrap_clear(wtkms_ks_wrap *w)
{
    free(w->ksk_wrapped);
    memset(w, 0, sizeof(*w));
}

/*
 * wtkms_ks_desc_equal --
 *     Whether two descriptors name the same master key and key version.
 */
bool
wtkms_ks_desc_equal(const wtkms_kms_desc *a, const wtkms_kms_desc *b)
{
    return (strcmp(a->provider, b->provider) == 0 && strcmp(a->key_id, b->key_id) == 0 &&
            strcmp(a->key_version, b->key_version) == 0 && strcmp(a->endpoint, b->endpoint) == 0 &&
            strcmp(a->region, b->region) == 0);
}

/*
 * wtkms_keystore_free --
 *     Wipe and free.
 */
void
wtkms_keystore_free(wtkms_keystore *ks)
{
    uint32_t i;

    if (ks == NULL)
        return;
    for (i = 0; i < ks->nroots; i++) {
        free(ks->roots[i].wrapped);
        wtkms_key_free(ks->roots[i].key);
    }
    free(ks->roots);
    free(ks->opens);
    for (i = 0; i < ks->nwraps; i++)
        wtkms_ks_wrap_clear(&ks->wraps[i]);
    wtkms_key_free(ks->ksk);
    free(ks->loaded);
    free(ks);
}

/*
 * wtkms_keystore_create --
 *     A new keystore with a fresh KSK.
 */
int
wtkms_keystore_create(const char *home, wtkms_kms *kms, wtkms_keystore **ksp, wtkms_err *err)
{
    wtkms_keystore *ks;
    uint8_t *img;
    size_t len;
    int ret;

    *ksp = NULL;
    if ((ks = calloc(1, sizeof(*ks))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if ((ret = set_paths(ks, home, err)) != 0)
        goto err;
    if ((ks->ksk = wtkms_key_new()) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    if ((ret = wtkms_random_key(ks->ksk->b)) != 0 ||
        (ret = wtkms_random(ks->home_id, sizeof(ks->home_id))) != 0) {
        ret = wtkms_errf(err, ret, "keystore %s: no random bytes from OpenSSL", ks->path);
        goto err;
    }
    if ((ret = kms->wrap(kms, ks->ksk->b, &ks->wraps[0].ksk_wrapped, &ks->wraps[0].ksk_wrapped_len,
           &ks->wraps[0].cmk, err)) != 0) {
        wtkms_err_prefix(err, "creating keystore %s", ks->path);
        goto err;
    }
    ks->nwraps = 1;
    ks->created = ks->wraps[0].since = ks->wraps[0].wrapped = wtkms_now_ms();
    ks->gen = 1;
    ks->file_version = WTKMS_KEYSTORE_VERSION;
    /* Created exclusively (never replacing a file): no lock is needed for a first write. */
    if ((ret = wtkms_ks_serialize(ks, &img, &len, err)) != 0)
        goto err;
    ret = wtkms_write_file_atomic(ks->path, img, len, 0600, 1, err);
    if (ret != 0) {
        free(img);
        goto err;
    }
    ks->loaded = img;
    ks->loaded_len = len;
    *ksp = ks;
    return (0);
err:
    wtkms_keystore_free(ks);
    return (ret);
}

/*
 * wtkms_keystore_load --
 *     Read and parse the keystore of a home.
 */
int
wtkms_keystore_load(const char *home, wtkms_keystore **ksp, wtkms_err *err)
{
    char path[4096], *img;
    size_t len;
    int ret;

    *ksp = NULL;
    if ((ret = wtkms_keystore_path(home, path, sizeof(path), err)) != 0)
        return (ret);
    if ((ret = wtkms_read_file(path, KS_MAX_SIZE, &img, &len, err)) != 0) {
        if (ret == ENOENT)
            wtkms_errf(err, ENOENT,
              "keystore %s is missing: this home's data keys are in it; restore it from a backup "
              "(a new keystore is only ever created for an empty home)",
              path);
        return (ret);
    }
    if ((ret = wtkms_ks_parse(path, (uint8_t *)img, len, ksp, err)) != 0)
        return (ret);
    if ((ret = set_paths(*ksp, home, err)) != 0) {
        wtkms_keystore_free(*ksp);
        *ksp = NULL;
    }
    return (ret);
}

/*
 * wtkms_ks_unwrap_root --
 *     Unwrap one data key with the KSK and check its fingerprint.
 */
int
wtkms_ks_unwrap_root(const wtkms_keystore *ks, wtkms_ks_root *r, wtkms_err *err)
{
    uint8_t wkey[WTKMS_KEY_LEN], aad[16 + 4 + WTKMS_KEYID_MAX], fp[WTKMS_FP_LEN];
    size_t aadlen;
    int ret;

    if (r->key == NULL && (r->key = wtkms_key_new()) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    aadlen = root_aad(ks, r, aad, sizeof(aad));
    ret = 0;
    if (root_wrap_key(ks, wkey) != 0 ||
        wtkms_open_random(wkey, aad, aadlen, r->wrapped, r->wrapped_len, r->key->b) != 0 ||
        root_fingerprint(r->key, fp) != 0 || wtkms_ct_memcmp(fp, r->fp, WTKMS_FP_LEN) != 0) {
        wtkms_key_free(r->key);
        r->key = NULL;
        ret = wtkms_errf(err, EBADMSG,
          "keystore %s: data key %u (keyid %s) does not unwrap: the keystore was altered; "
          "restore it from a backup",
          ks->path, r->n, r->keyid);
    }
    wtkms_wipe(wkey, sizeof(wkey));
    return (ret);
}

/*
 * find_wrap --
 *     The wrapping whose master key the configuration names.
 */
static int
find_wrap(wtkms_keystore *ks, wtkms_kms *kms, uint32_t *wrapp, wtkms_err *err)
{
    wtkms_err ignore;
    wtkms_kms_desc cur;
    char names[2048], one[1200];
    size_t off;
    uint32_t i;

    /* One master key: its own mismatch message says exactly what differs. */
    if (ks->nwraps == 1) {
        *wrapp = 0;
        return (wtkms_kms_check_match(kms, &ks->wraps[0].cmk, err));
    }
    for (i = 0; i < ks->nwraps; i++)
        if (wtkms_kms_check_match(kms, &ks->wraps[i].cmk, &ignore) == 0) {
            *wrapp = i;
            return (0);
        }
    kms->describe(kms, &cur);
    for (names[0] = '\0', off = 0, i = 0; i < ks->nwraps; i++) {
        wtkms_kms_desc_name(&ks->wraps[i].cmk, one, sizeof(one));
        off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "", one);
        if (off >= sizeof(names))
            break;
    }
    wtkms_kms_desc_name(&cur, one, sizeof(one));
    return (wtkms_errf(err, EKEYREJECTED,
      "the configured master key (%s) is none of the %u this keystore is wrapped under (%s): "
      "configure one of them",
      one, ks->nwraps, names));
}

/*
 * wtkms_keystore_unlock_wrap --
 *     One KMS unwrap, then everything locally.
 */
int
wtkms_keystore_unlock_wrap(wtkms_keystore *ks, wtkms_kms *kms, uint32_t *wrapp, wtkms_err *err)
{
    wtkms_ks_wrap *w;
    uint32_t i, wrap;
    int ret;

    /* The configuration decides where keys live: compare before any credential is used. */
    if ((ret = find_wrap(ks, kms, &wrap, err)) != 0)
        return (wtkms_err_prefix(err, "keystore %s", ks->path));
    w = &ks->wraps[wrap];
    if ((ret = kms->unwrap(kms, w->ksk_wrapped, w->ksk_wrapped_len, &w->cmk, &ks->ksk, err)) != 0)
        return (wtkms_err_prefix(err, "keystore %s", ks->path));
    if ((ret = wtkms_ks_verify_mac(ks, ks->loaded, ks->loaded_len, ks->path, err)) != 0)
        return (ret);
    for (i = 0; i < ks->nroots; i++)
        if ((ret = wtkms_ks_unwrap_root(ks, &ks->roots[i], err)) != 0)
            return (ret);
    if (wrapp != NULL)
        *wrapp = wrap;
    return (0);
}

/*
 * wtkms_keystore_unlock --
 *     Unlock with whichever wrapping the configuration names.
 */
int
wtkms_keystore_unlock(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err)
{
    return (wtkms_keystore_unlock_wrap(ks, kms, NULL, err));
}

/*
 * wtkms_keystore_add_root --
 *     A new data key for keyid, wrapped under the KSK, numbered after every other.
 */
int
wtkms_keystore_add_root(
  wtkms_keystore *ks, const char *keyid, wtkms_ks_root **rootp, wtkms_err *err)
{
    wtkms_ks_root *roots, *r;
    uint8_t wkey[WTKMS_KEY_LEN], aad[16 + 4 + WTKMS_KEYID_MAX];
    size_t aadlen;
    int ret;

    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if (strlen(keyid) == 0 || strlen(keyid) >= WTKMS_KEYID_MAX)
        return (
          wtkms_errf(err, EINVAL, "keyid '%s' must be 1 to %d bytes", keyid, WTKMS_KEYID_MAX - 1));
    if ((roots = realloc(ks->roots, (ks->nroots + 1) * sizeof(*roots))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ks->roots = roots;
    r = &roots[ks->nroots];
    memset(r, 0, sizeof(*r));
    r->n = ks->nroots == 0 ? 1 : roots[ks->nroots - 1].n + 1;
    (void)snprintf(r->keyid, sizeof(r->keyid), "%s", keyid);
    r->created = wtkms_now_ms();
    r->wrapped_len = WTKMS_SEAL_OVERHEAD + WTKMS_KEY_LEN;
    if ((r->key = wtkms_key_new()) == NULL || (r->wrapped = malloc(r->wrapped_len)) == NULL) {
        ret = wtkms_errf(err, ENOMEM, "out of memory");
        goto err;
    }
    aadlen = root_aad(ks, r, aad, sizeof(aad));
    if ((ret = wtkms_random_key(r->key->b)) != 0 || (ret = root_fingerprint(r->key, r->fp)) != 0 ||
        (ret = root_wrap_key(ks, wkey)) != 0 ||
        (ret = wtkms_seal_random(wkey, aad, aadlen, r->key->b, WTKMS_KEY_LEN, r->wrapped)) != 0) {
        wtkms_wipe(wkey, sizeof(wkey));
        ret = wtkms_errf(err, ret, "keystore %s: cannot make a data key", ks->path);
        goto err;
    }
    wtkms_wipe(wkey, sizeof(wkey));
    ks->nroots++;
    *rootp = r;
    return (0);
err:
    wtkms_key_free(r->key);
    free(r->wrapped);
    memset(r, 0, sizeof(*r));
    return (ret);
}

/*
 * wtkms_keystore_add_open --
 *     A new writing-open record, numbered after every other.
 */
int
wtkms_keystore_add_open(wtkms_keystore *ks, wtkms_ks_open **openp, wtkms_err *err)
{
    wtkms_ks_open *opens, *o;

    if ((opens = realloc(ks->opens, (ks->nopens + 1) * sizeof(*opens))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    ks->opens = opens;
    o = &opens[ks->nopens];
    memset(o, 0, sizeof(*o));
    o->n = ks->nopens == 0 ? 1 : opens[ks->nopens - 1].n + 1;
    o->created = wtkms_now_ms();
    o->pid = (int64_t)getpid();
    (void)gethostname(o->host, sizeof(o->host) - 1);
    if (wtkms_random(o->salt, sizeof(o->salt)) != 0)
        return (wtkms_errf(err, EIO, "keystore %s: no random bytes from OpenSSL", ks->path));
    ks->nopens++;
    *openp = o;
    return (0);
}

/* A wrapping to put in place, and which one it replaces (UINT32_MAX: add it). */
typedef struct {
    wtkms_ks_wrap w;
    wtkms_kms_desc old;
    bool replace;
} wrap_change;

/*
 * change_wrap --
 *     Inside an update: replace or add a wrapping. The wrapping to replace is found by its master
 *     key in what is on disk now, not by a position read before the lock was taken.
 */
static int
change_wrap(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    wrap_change *c = arg;
    char name[1200];
    uint32_t i, at;

    for (at = UINT32_MAX, i = 0; i < ks->nwraps; i++)
        if (wtkms_ks_desc_equal(&ks->wraps[i].cmk, c->replace ? &c->old : &c->w.cmk))
            at = i;
    if (c->replace && at == UINT32_MAX) {
        wtkms_kms_desc_name(&c->old, name, sizeof(name));
        return (wtkms_errf(err, ESTALE,
          "keystore %s: master key %s no longer wraps it (another command changed it meanwhile): "
          "run 'wtkms keys status' and retry",
          ks->path, name));
    }
    if (!c->replace) {
        if (at != UINT32_MAX) {
            wtkms_kms_desc_name(&c->w.cmk, name, sizeof(name));
            return (
              wtkms_errf(err, EEXIST, "keystore %s is already wrapped under %s", ks->path, name));
        }
        if (ks->nwraps == WTKMS_KS_MAX_WRAPS)
            return (
              wtkms_errf(err, ENOSPC, "keystore %s already has %d master keys: remove one first",
                ks->path, WTKMS_KS_MAX_WRAPS));
        at = ks->nwraps++;
    } else {
        /* The same key and version rewrapped: the rotation age does not restart. */
        if (wtkms_ks_desc_equal(&ks->wraps[at].cmk, &c->w.cmk))
            c->w.since = ks->wraps[at].since;
        wtkms_ks_wrap_clear(&ks->wraps[at]);
    }
    ks->wraps[at] = c->w;
    memset(&c->w, 0, sizeof(c->w)); /* the keystore owns the blob now */
    return (0);
}

/*
 * wrap_ksk --
 *     Wrap the KSK under a master key: one KMS call, made before the lock is taken.
 */
static int
wrap_ksk(wtkms_keystore *ks, wtkms_kms *kms, wrap_change *c, wtkms_err *err)
{
    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if (kms->wrap(kms, ks->ksk->b, &c->w.ksk_wrapped, &c->w.ksk_wrapped_len, &c->w.cmk, err) != 0)
        return (wtkms_err_prefix(err, "wrapping the key of keystore %s", ks->path));
    c->w.since = c->w.wrapped = wtkms_now_ms();
    wtkms_ks_test_point("wrapped");
    return (0);
}

/*
 * wtkms_keystore_rewrap --
 *     Rotate one master key: wrap the same KSK under newkms; data keys are untouched.
 */
int
wtkms_keystore_rewrap(wtkms_keystore *ks, uint32_t wrap, wtkms_kms *newkms, wtkms_err *err)
{
    wrap_change c;
    int ret;

    memset(&c, 0, sizeof(c));
    if (wrap >= ks->nwraps)
        return (wtkms_errf(err, EINVAL, "keystore %s has no master key %u", ks->path, wrap));
    c.old = ks->wraps[wrap].cmk;
    c.replace = true;
    if ((ret = wrap_ksk(ks, newkms, &c, err)) != 0)
        return (ret);
    ret = wtkms_keystore_update(ks, change_wrap, &c, err);
    wtkms_ks_wrap_clear(&c.w);
    return (ret);
}

/*
 * wtkms_keystore_add_wrap --
 *     Wrap the KSK under one more master key.
 */
int
wtkms_keystore_add_wrap(wtkms_keystore *ks, wtkms_kms *kms, wtkms_err *err)
{
    wrap_change c;
    int ret;

    memset(&c, 0, sizeof(c));
    if ((ret = wrap_ksk(ks, kms, &c, err)) != 0)
        return (ret);
    ret = wtkms_keystore_update(ks, change_wrap, &c, err);
    wtkms_ks_wrap_clear(&c.w);
    return (ret);
}

/*
 * drop_wrap --
 *     Inside an update: remove the wrapping of one master key.
 */
static int
drop_wrap(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    const wtkms_kms_desc *d = arg;
    char name[1200];
    uint32_t i;

    for (i = 0; i < ks->nwraps; i++)
        if (wtkms_ks_desc_equal(&ks->wraps[i].cmk, d))
            break;
    wtkms_kms_desc_name(d, name, sizeof(name));
    if (i == ks->nwraps)
        return (wtkms_errf(err, ENOENT, "keystore %s is not wrapped under %s", ks->path, name));
    if (ks->nwraps == 1)
        return (wtkms_errf(err, EPERM,
          "keystore %s: %s is its only master key; add another before removing it", ks->path,
          name));
    wtkms_ks_wrap_clear(&ks->wraps[i]);
    memmove(&ks->wraps[i], &ks->wraps[i + 1], (ks->nwraps - i - 1) * sizeof(ks->wraps[0]));
    memset(&ks->wraps[--ks->nwraps], 0, sizeof(ks->wraps[0]));
    return (0);
}

/*
 * wtkms_keystore_remove_wrap --
 *     Remove one master key's wrapping (never the last).
 */
int
wtkms_keystore_remove_wrap(wtkms_keystore *ks, uint32_t wrap, wtkms_err *err)
{
    wtkms_kms_desc d;

    if (wrap >= ks->nwraps)
        return (wtkms_errf(err, EINVAL, "keystore %s has no master key %u", ks->path, wrap));
    d = ks->wraps[wrap].cmk;
    return (wtkms_keystore_update(ks, drop_wrap, &d, err));
}

/*
 * wtkms_keystore_rotation_age_days --
 *     Days since the least recently rotated master key changed.
 */
int64_t
wtkms_keystore_rotation_age_days(const wtkms_keystore *ks, int64_t now_ms)
{
    int64_t oldest;
    uint32_t i;

    for (oldest = now_ms, i = 0; i < ks->nwraps; i++)
        if (ks->wraps[i].since < oldest)
            oldest = ks->wraps[i].since;
    return ((now_ms - oldest) / (86400LL * 1000));
}

/*
 * wtkms_keystore_root --
 *     A data key by number.
 */
wtkms_ks_root *
wtkms_keystore_root(wtkms_keystore *ks, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < ks->nroots; i++)
        if (ks->roots[i].n == n)
            return (&ks->roots[i]);
    return (NULL);
}

/*
 * wtkms_keystore_current_root --
 *     The newest data key of a keyid.
 */
wtkms_ks_root *
wtkms_keystore_current_root(wtkms_keystore *ks, const char *keyid)
{
    uint32_t i;

    for (i = ks->nroots; i > 0; i--)
        if (strcmp(ks->roots[i - 1].keyid, keyid) == 0)
            return (&ks->roots[i - 1]);
    return (NULL);
}

/*
 * wtkms_keystore_open_rec --
 *     An open record by number (numbers increase; compaction may leave gaps).
 */
wtkms_ks_open *
wtkms_keystore_open_rec(wtkms_keystore *ks, uint32_t n)
{
    uint32_t lo, hi, mid;

    for (lo = 0, hi = ks->nopens; lo < hi;) {
        mid = lo + (hi - lo) / 2;
        if (ks->opens[mid].n == n)
            return (&ks->opens[mid]);
        if (ks->opens[mid].n < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (NULL);
}
