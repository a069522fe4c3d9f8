/* SPDX-License-Identifier: Apache-2.0 */
/*
 * block.c -- seal and open wtkms blocks.
 *
 * Hot path: take a context slot (one atomic exchange), bump the open's counter (one atomic add),
 * set the nonce on a context whose key schedule is already set, encrypt, release the slot. No
 * allocation, no lock, no system call. Slow paths, taken once per open, per keyid, per 2^32
 * blocks, or when a slot meets a block under a key none of its contexts holds, take the engine
 * mutex. The derived-key cache is keycache.c.
 */
#include "block.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "keycache.h"

#define SLOTS 64
#define COUNTER_LIMIT (1ULL << 63) /* blocks per open; see wtkms_block_encrypt */

/* A context and the derived key it holds. */
typedef struct {
    bool keyed;
    wtkms_key_ident ident;
    wtkms_gcm *g;
} slot_ctx;

/*
 * A slot keeps contexts under up to SLOT_KEYS keys, so that blocks under a few keys (pages written
 * in several opens, read in turn) find theirs without the engine lock and without a new key
 * schedule. Everything but busy belongs to whoever holds the slot.
 */
#define SLOT_KEYS 4
typedef struct {
    atomic_int busy;
    unsigned victim; /* the context to re-key next when none holds the key */
    slot_ctx k[SLOT_KEYS];
} slot;

struct wtkms_engine {
    pthread_mutex_t lock; /* keystore changes, derived-key tables */
    wtkms_keystore *ks;
    bool open_ready; /* under lock */
    uint32_t open_n;
    uint8_t open_salt[WTKMS_SALT_LEN];

    /*
     * One nonce counter for the whole open, shared by every keyid: uniqueness then holds even if
     * WiredTiger ever customized one keyid twice (two wtkms_keyed under the same write keys).
     */
    atomic_uint_fast64_t counter;
};

struct wtkms_keyed {
    wtkms_engine *engine;
    char keyid[WTKMS_KEYID_MAX];

    atomic_int write_ready; /* the open record and data key are on disk */
    uint32_t root_n, open_n;

    wtkms_keycache cache; /* under engine lock */
    uint8_t *scratch; /* locked; a key derived for a block not yet authenticated (engine lock) */

    slot enc[SLOTS];
    slot dec[SLOTS];
};

/* A per-thread starting slot, so threads rarely meet on one. No destructor: safe to dlclose. */
static _Thread_local unsigned slot_hint = UINT32_MAX;
static atomic_uint next_hint;

/*
 * wtkms_block_parse_header --
 *     Decode a header without keys.
 */
int
wtkms_block_parse_header(const uint8_t *src, size_t src_len, wtkms_block_hdr *hdr)
{
    if (src_len < WTKMS_BLOCK_OVERHEAD)
        return (EBADMSG);
    hdr->version = src[WTKMS_BLOCK_VERSION_LOCATION];
    hdr->cipher = src[WTKMS_BLOCK_CIPHER_LOCATION];
    hdr->flags =
      (uint16_t)(src[WTKMS_BLOCK_FLAGS_LOCATION] << 8 | src[WTKMS_BLOCK_FLAGS_LOCATION + 1]);
    hdr->root = wtkms_get_be32(src + WTKMS_BLOCK_ROOT_LOCATION);
    hdr->open = wtkms_get_be32(src + WTKMS_BLOCK_OPEN_LOCATION);
    hdr->counter = wtkms_get_be64(src + WTKMS_BLOCK_COUNTER_LOCATION);
    if (hdr->version != WTKMS_BLOCK_VERSION || hdr->cipher != WTKMS_CIPHER_AES256GCM ||
        hdr->flags != 0 || wtkms_get_be32(src + WTKMS_BLOCK_NONCE_HIGH_LOCATION) != 0 ||
        hdr->root == 0 || hdr->open == 0)
        return (EBADMSG);
    return (0);
}

/*
 * wtkms_engine_new --
 *     Wrap an unlocked keystore.
 */
int
wtkms_engine_new(wtkms_keystore *ks, wtkms_engine **enginep, wtkms_err *err)
{
    wtkms_engine *e;

    *enginep = NULL;
    if (ks->ksk == NULL)
        return (wtkms_errf(err, EINVAL, "keystore %s is locked", ks->path));
    if ((e = calloc(1, sizeof(*e))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    if (pthread_mutex_init(&e->lock, NULL) != 0) {
        free(e);
        return (wtkms_errf(err, ENOMEM, "cannot create a mutex"));
    }
    e->ks = ks;
    atomic_init(&e->counter, 0);
    *enginep = e;
    return (0);
}

/*
 * wtkms_engine_free --
 *     Free the engine and its keystore (every key wiped).
 */
void
wtkms_engine_free(wtkms_engine *e)
{
    if (e == NULL)
        return;
    wtkms_keystore_free(e->ks);
    wtkms_wipe(e->open_salt, sizeof(e->open_salt));
    (void)pthread_mutex_destroy(&e->lock);
    free(e);
}

/*
 * wtkms_engine_keystore --
 *     The engine's keystore.
 */
wtkms_keystore *
wtkms_engine_keystore(wtkms_engine *e)
{
    return (e->ks);
}

/*
 * wtkms_keyed_new --
 *     Per-keyid state; no I/O.
 */
int
wtkms_keyed_new(wtkms_engine *e, const char *keyid, wtkms_keyed **kdp, wtkms_err *err)
{
    wtkms_keyed *kd;

    *kdp = NULL;
    if (keyid == NULL || keyid[0] == '\0')
        return (wtkms_errf(err, EINVAL,
          "encryption=(name=wtkms) needs a keyid: add keyid=NAME (for example keyid=system)"));
    if (strlen(keyid) >= WTKMS_KEYID_MAX)
        return (wtkms_errf(
          err, EINVAL, "keyid '%.40s...' is longer than %d bytes", keyid, WTKMS_KEYID_MAX - 1));
    if ((kd = calloc(1, sizeof(*kd))) == NULL)
        return (wtkms_errf(err, ENOMEM, "out of memory"));
    kd->engine = e;
    (void)snprintf(kd->keyid, sizeof(kd->keyid), "%s", keyid);
    atomic_init(&kd->write_ready, 0);
    *kdp = kd;
    return (0);
}

/*
 * wtkms_keyed_keyid --
 *     The keyid.
 */
const char *
wtkms_keyed_keyid(const wtkms_keyed *kd)
{
    return (kd->keyid);
}

/*
 * wtkms_keyed_test_set_counter --
 *     Unit-test hook: the next nonce counter of the open kd writes under.
 */
void
wtkms_keyed_test_set_counter(wtkms_keyed *kd, uint64_t next)
{
    atomic_store(&kd->engine->counter, next);
}

/*
 * wtkms_keyed_test_cached_keys --
 *     Unit-test hook: the number of cached derived keys.
 */
size_t
wtkms_keyed_test_cached_keys(wtkms_keyed *kd)
{
    size_t n;

    (void)pthread_mutex_lock(&kd->engine->lock);
    n = kd->cache.used;
    (void)pthread_mutex_unlock(&kd->engine->lock);
    return (n);
}

/*
 * wtkms_keyed_free --
 *     Free contexts (OpenSSL cleanses their schedules) and wipe derived keys.
 */
void
wtkms_keyed_free(wtkms_keyed *kd)
{
    int i;

    if (kd == NULL)
        return;
    for (i = 0; i < SLOTS * SLOT_KEYS; i++) {
        wtkms_gcm_free(kd->enc[i / SLOT_KEYS].k[i % SLOT_KEYS].g);
        wtkms_gcm_free(kd->dec[i / SLOT_KEYS].k[i % SLOT_KEYS].g);
    }
    wtkms_keycache_free(&kd->cache);
    if (kd->scratch != NULL)
        wtkms_secure_free(kd->scratch, WTKMS_KEY_LEN);
    free(kd);
}

/* What the first write of a keyid in this open needs recorded in the keystore. */
typedef struct {
    const char *keyid;
    bool need_open;
    uint32_t open_n, root_n;
    uint8_t open_salt[WTKMS_SALT_LEN];
} write_records;

/*
 * add_write_records --
 *     Inside a keystore update (lock held, file merged): add this open's record and the keyid's
 *     data key if the keystore does not hold them yet. Numbers come from the merged file, so
 *     another process's records are never overwritten or renumbered.
 */
static int
add_write_records(wtkms_keystore *ks, void *arg, wtkms_err *err)
{
    write_records *w = arg;
    wtkms_ks_root *root;
    wtkms_ks_open *open;
    int ret;
    bool added;

    added = false;
    if (w->need_open) {
        if ((ret = wtkms_keystore_add_open(ks, &open, err)) != 0)
            return (ret);
        w->open_n = open->n;
        memcpy(w->open_salt, open->salt, WTKMS_SALT_LEN);
        added = true;
    }
    if ((root = wtkms_keystore_current_root(ks, w->keyid)) == NULL) {
        if ((ret = wtkms_keystore_add_root(ks, w->keyid, &root, err)) != 0) {
            if (added) /* leave memory as it was: the update re-reads the file too */
                ks->nopens--;
            return (ret);
        }
        added = true;
    }
    w->root_n = root->n;
    return (added ? 0 : WTKMS_KS_NOCHANGE);
}

/*
 * prepare_write --
 *     Before the first block of this keyid in this open: make sure the open record and the
 *     keyid's data key are durable in the keystore (one locked read-modify-write, one fsync).
 */
static int
prepare_write(wtkms_keyed *kd, wtkms_err *err)
{
    wtkms_engine *e = kd->engine;
    wtkms_ks_root *root;
    write_records w;
    int ret;

    ret = 0;
    (void)pthread_mutex_lock(&e->lock);
    if (atomic_load_explicit(&kd->write_ready, memory_order_acquire))
        goto done;
    memset(&w, 0, sizeof(w));
    w.keyid = kd->keyid;
    w.need_open = !e->open_ready;
    if (!w.need_open && (root = wtkms_keystore_current_root(e->ks, kd->keyid)) != NULL)
        /* Both on disk already: no other process adds data keys for this home's keyids. */
        w.root_n = root->n;
    else if ((ret = wtkms_keystore_update(e->ks, add_write_records, &w, err)) != 0) {
        wtkms_err_prefix(err, "keyid %s: cannot record this open in the keystore", kd->keyid);
        goto done;
    }
    if (w.need_open) {
        e->open_n = w.open_n;
        memcpy(e->open_salt, w.open_salt, WTKMS_SALT_LEN);
        e->open_ready = true;
    }
    wtkms_wipe(w.open_salt, sizeof(w.open_salt));
    kd->root_n = w.root_n;
    kd->open_n = e->open_n;
    atomic_store_explicit(&kd->write_ready, 1, memory_order_release);
done:
    (void)pthread_mutex_unlock(&e->lock);
    return (ret);
}

/*
 * slot_get --
 *     Take a free slot: one atomic exchange when uncontended.
 */
static slot *
slot_get(slot *slots)
{
    unsigned i, n, start;

    if (slot_hint == UINT32_MAX)
        slot_hint = atomic_fetch_add(&next_hint, 1) % SLOTS;
    start = slot_hint;
    for (n = 0;; n++) {
        i = (start + n) % SLOTS;
        if (atomic_load_explicit(&slots[i].busy, memory_order_relaxed) == 0 &&
            atomic_exchange_explicit(&slots[i].busy, 1, memory_order_acquire) == 0)
            return (&slots[i]);
        if (n % SLOTS == SLOTS - 1)
            sched_yield();
    }
}

static inline void
slot_put(slot *s)
{
    atomic_store_explicit(&s->busy, 0, memory_order_release);
}

/*
 * slot_find --
 *     The slot's context holding an identity's key, or NULL.
 */
static inline slot_ctx *
slot_find(slot *s, wtkms_key_ident id)
{
    int i;

    for (i = 0; i < SLOT_KEYS; i++)
        if (s->k[i].keyed && wtkms_key_ident_eq(s->k[i].ident, id))
            return (&s->k[i]);
    return (NULL);
}

/*
 * slot_victim --
 *     The slot's context to load another key into (allocated on first use), marked unkeyed.
 */
static slot_ctx *
slot_victim(wtkms_keyed *kd, slot *s, wtkms_err *err)
{
    slot_ctx *c;

    c = &s->k[s->victim];
    if (c->g == NULL && (c->g = wtkms_gcm_new()) == NULL) {
        wtkms_errf(err, ENOMEM, "keyid %s: cannot allocate a cipher context", kd->keyid);
        return (NULL);
    }
    s->victim = (s->victim + 1) % SLOT_KEYS;
    c->keyed = false;
    return (c);
}

/*
 * slot_key --
 *     A context of the slot holding the key of an identity.
 */
static int
slot_key(wtkms_keyed *kd, slot *s, wtkms_key_ident id, slot_ctx **cp, wtkms_err *err)
{
    slot_ctx *c;
    const uint8_t *key;
    int ret;

    if ((*cp = slot_find(s, id)) != NULL)
        return (0);
    if ((c = slot_victim(kd, s, err)) == NULL)
        return (ENOMEM);
    (void)pthread_mutex_lock(&kd->engine->lock);
    ret = wtkms_keycache_get(&kd->cache, kd->engine->ks, kd->keyid, id, &key, err);
    (void)pthread_mutex_unlock(&kd->engine->lock);
    if (ret != 0)
        return (ret);
    if ((ret = wtkms_gcm_setkey(c->g, key)) != 0)
        return (wtkms_errf(err, ret, "keyid %s: cannot set a cipher key", kd->keyid));
    c->ident = id;
    c->keyed = true;
    *cp = c;
    return (0);
}

/*
 * slot_key_unverified --
 *     For decrypt: a context of the slot holding the key a block header names, without caching a
 *     key the cache does not already hold (*cachedp false then, and the context stays marked
 *     unkeyed: the caller caches the key and marks the context only once the block
 *     authenticates, so forged headers cannot grow the cache). The uncached key is derived into
 *     the keyed's locked scratch buffer, loaded into the context and wiped, under the lock.
 */
static int
slot_key_unverified(
  wtkms_keyed *kd, slot *s, wtkms_key_ident id, slot_ctx **cp, bool *cachedp, wtkms_err *err)
{
    slot_ctx *c;
    const uint8_t *key;
    int ret;

    *cachedp = true;
    if ((*cp = slot_find(s, id)) != NULL)
        return (0);
    if ((c = slot_victim(kd, s, err)) == NULL)
        return (ENOMEM);
    (void)pthread_mutex_lock(&kd->engine->lock);
    if ((key = wtkms_keycache_lookup(&kd->cache, id)) == NULL) {
        *cachedp = false;
        if (kd->scratch == NULL && (kd->scratch = wtkms_secure_alloc(WTKMS_KEY_LEN)) == NULL)
            ret = wtkms_errf(err, ENOMEM, "out of memory");
        else if ((ret = wtkms_keycache_derive(kd->engine->ks, kd->keyid, id, kd->scratch, err)) ==
                 0)
            key = kd->scratch;
    } else
        ret = 0;
    if (ret == 0 && (ret = wtkms_gcm_setkey(c->g, key)) != 0)
        wtkms_errf(err, ret, "keyid %s: cannot set a cipher key", kd->keyid);
    if (kd->scratch != NULL)
        wtkms_wipe(kd->scratch, WTKMS_KEY_LEN);
    (void)pthread_mutex_unlock(&kd->engine->lock);
    if (ret != 0)
        return (ret);
    c->ident = id;
    c->keyed = *cachedp;
    *cp = c;
    return (0);
}

/*
 * wtkms_block_encrypt --
 *     Seal one block.
 */
int
wtkms_block_encrypt(wtkms_keyed *kd, const uint8_t *src, size_t src_len, uint8_t *dst,
  size_t dst_len, size_t *result_lenp, wtkms_err *err)
{
    wtkms_key_ident id;
    slot *s;
    slot_ctx *sc;
    uint64_t c;
    int ret;

    *result_lenp = 0;
    if (dst_len < src_len || dst_len - src_len < WTKMS_BLOCK_OVERHEAD)
        return (wtkms_errf(err, ENOMEM,
          "keyid %s: output buffer of %zu bytes is too small for %zu bytes plus %d", kd->keyid,
          dst_len, src_len, WTKMS_BLOCK_OVERHEAD));
    if (!atomic_load_explicit(&kd->write_ready, memory_order_acquire) &&
        (ret = prepare_write(kd, err)) != 0)
        return (ret);
    c = atomic_fetch_add_explicit(&kd->engine->counter, 1, memory_order_relaxed);
    /*
     * The add has happened even when the call fails, so a check for UINT64_MAX alone let the next
     * call wrap to 0 and reuse nonce 0. From 2^63 on every call fails and pulls the counter back
     * to 2^63, so no number of failed calls can ever wrap it.
     */
    if (c >= COUNTER_LIMIT) {
        atomic_store_explicit(&kd->engine->counter, COUNTER_LIMIT, memory_order_relaxed);
        return (wtkms_errf(err, EOVERFLOW,
          "keyid %s: nonce counter of this open exhausted: reopen the connection for a new write "
          "key",
          kd->keyid));
    }
    id.root = kd->root_n;
    id.open = kd->open_n;
    id.epoch = (uint32_t)(c >> 32);

    dst[WTKMS_BLOCK_VERSION_LOCATION] = WTKMS_BLOCK_VERSION;
    dst[WTKMS_BLOCK_CIPHER_LOCATION] = WTKMS_CIPHER_AES256GCM;
    dst[WTKMS_BLOCK_FLAGS_LOCATION] = dst[WTKMS_BLOCK_FLAGS_LOCATION + 1] = 0;
    wtkms_put_be32(dst + WTKMS_BLOCK_ROOT_LOCATION, id.root);
    wtkms_put_be32(dst + WTKMS_BLOCK_OPEN_LOCATION, id.open);
    wtkms_put_be32(dst + WTKMS_BLOCK_NONCE_HIGH_LOCATION, 0);
    wtkms_put_be64(dst + WTKMS_BLOCK_COUNTER_LOCATION, c);

    s = slot_get(kd->enc);
    if ((ret = slot_key(kd, s, id, &sc, err)) == 0 &&
        (ret = wtkms_gcm_seal(sc->g, dst + WTKMS_BLOCK_NONCE_LOCATION, dst, WTKMS_BLOCK_HDR_LEN,
           src, src_len, dst + WTKMS_BLOCK_CIPHERTEXT_LOCATION,
           dst + WTKMS_BLOCK_TAG_LOCATION(src_len))) != 0)
        wtkms_errf(err, ret, "keyid %s: AES-256-GCM encryption failed", kd->keyid);
    slot_put(s);
    if (ret == 0)
        *result_lenp = src_len + WTKMS_BLOCK_OVERHEAD;
    return (ret);
}

/*
 * wtkms_block_decrypt --
 *     Open one block.
 */
int
wtkms_block_decrypt(wtkms_keyed *kd, const uint8_t *src, size_t src_len, uint8_t *dst,
  size_t dst_len, size_t *result_lenp, wtkms_err *err)
{
    wtkms_block_hdr h;
    wtkms_key_ident id;
    slot *s;
    slot_ctx *sc;
    const uint8_t *key;
    size_t len;
    bool cached;
    int ret;

    *result_lenp = 0;
    if (src_len < WTKMS_BLOCK_OVERHEAD)
        return (wtkms_errf(err, EBADMSG,
          "keyid %s: encrypted block of %zu bytes is shorter than the %d-byte wtkms header and "
          "tag: truncated",
          kd->keyid, src_len, WTKMS_BLOCK_OVERHEAD));
    if (src[WTKMS_BLOCK_VERSION_LOCATION] != WTKMS_BLOCK_VERSION)
        return (wtkms_errf(err, EBADMSG,
          "keyid %s: block has format version %u, this wtkms reads version %d: damaged, or "
          "written by another encryptor",
          kd->keyid, src[WTKMS_BLOCK_VERSION_LOCATION], WTKMS_BLOCK_VERSION));
    if (wtkms_block_parse_header(src, src_len, &h) != 0)
        return (wtkms_errf(err, EBADMSG,
          "keyid %s: block header is invalid (cipher %u, flags %u, key %u, open %u): damaged",
          kd->keyid, src[WTKMS_BLOCK_CIPHER_LOCATION],
          (unsigned)(uint16_t)(src[WTKMS_BLOCK_FLAGS_LOCATION] << 8 |
                               src[WTKMS_BLOCK_FLAGS_LOCATION + 1]),
          wtkms_get_be32(src + WTKMS_BLOCK_ROOT_LOCATION),
          wtkms_get_be32(src + WTKMS_BLOCK_OPEN_LOCATION)));
    len = src_len - WTKMS_BLOCK_OVERHEAD;
    if (dst_len < len)
        return (
          wtkms_errf(err, ENOMEM, "keyid %s: output buffer of %zu bytes is too small for %zu bytes",
            kd->keyid, dst_len, len));
    id.root = h.root;
    id.open = h.open;
    id.epoch = (uint32_t)(h.counter >> 32);
    s = slot_get(kd->dec);
    cached = true;
    if ((ret = slot_key_unverified(kd, s, id, &sc, &cached, err)) == 0) {
        ret = wtkms_gcm_open(sc->g, src + WTKMS_BLOCK_NONCE_LOCATION, src, WTKMS_BLOCK_HDR_LEN,
          src + WTKMS_BLOCK_CIPHERTEXT_LOCATION, len, dst, src + WTKMS_BLOCK_TAG_LOCATION(len));
        if (ret == EBADMSG)
            wtkms_errf(err, EBADMSG,
              "keyid %s: block under data key %u, open %u, nonce %llu fails authentication: it "
              "was altered, truncated, or encrypted under another home's keys",
              kd->keyid, h.root, h.open, (unsigned long long)h.counter);
        else if (ret != 0)
            wtkms_errf(err, ret, "keyid %s: AES-256-GCM decryption failed", kd->keyid);
        if (!cached) {
            /* Authenticated: now the identity is real, and its key may be kept. */
            if (ret == 0) {
                (void)pthread_mutex_lock(&kd->engine->lock);
                ret = wtkms_keycache_get(&kd->cache, kd->engine->ks, kd->keyid, id, &key, err);
                (void)pthread_mutex_unlock(&kd->engine->lock);
            }
            sc->keyed = ret == 0;
        }
    }
    slot_put(s);
    if (ret == 0)
        *result_lenp = len;
    return (ret);
}
