/* SPDX-License-Identifier: Apache-2.0 */
/*
 * block.c -- seal and open wtkms blocks.
 *
 * Hot path: take a context slot (one atomic exchange), bump the open's counter (one atomic add),
 * set the nonce on a context whose key schedule is already set, encrypt, release the slot. No
 * allocation, no lock, no system call. Slow paths, taken once per open, per keyid, per 2^32
 * blocks, or when a slot meets a block of another key, take the engine mutex.
 */
#include "block.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define SLOTS 64
#define KEYS_PER_CHUNK 128
#define COUNTER_LIMIT (1ULL << 63) /* blocks per open; see wtkms_block_encrypt */

static const char write_label[] = "wtkms write key v1";

/* Which derived key a context holds. */
typedef struct {
    uint32_t root, open, epoch;
} key_ident;

/* A context and the derived key it holds. */
typedef struct {
    bool keyed;
    key_ident ident;
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

/* Derived keys live in locked chunks; the hash table maps identities to them. */
typedef struct key_chunk {
    struct key_chunk *next;
    unsigned used;
    uint8_t (*keys)[WTKMS_KEY_LEN]; /* KEYS_PER_CHUNK keys, locked memory */
} key_chunk;

typedef struct {
    key_ident ident;
    const uint8_t *key; /* NULL: empty entry */
} key_entry;

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

    key_entry *table; /* under engine lock */
    size_t table_cap, table_used;
    key_chunk *chunks;
    uint8_t *scratch; /* locked; a key derived for a block not yet authenticated (engine lock) */

    slot enc[SLOTS];
    slot dec[SLOTS];
};

/* A per-thread starting slot, so threads rarely meet on one. No destructor: safe to dlclose. */
static _Thread_local unsigned slot_hint = UINT32_MAX;
static atomic_uint next_hint;

/*
 * be32 / be64 --
 *     Big-endian stores and loads.
 */
static inline void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t
get_be16(const uint8_t *p)
{
    return ((uint16_t)(p[0] << 8 | p[1]));
}

static inline uint32_t
get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t
get_be64(const uint8_t *p)
{
    return ((uint64_t)get_be32(p) << 32 | get_be32(p + 4));
}

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
    hdr->flags = get_be16(src + WTKMS_BLOCK_FLAGS_LOCATION);
    hdr->root = get_be32(src + WTKMS_BLOCK_ROOT_LOCATION);
    hdr->open = get_be32(src + WTKMS_BLOCK_OPEN_LOCATION);
    hdr->counter = get_be64(src + WTKMS_BLOCK_COUNTER_LOCATION);
    if (hdr->version != WTKMS_BLOCK_VERSION || hdr->cipher != WTKMS_CIPHER_AES256GCM ||
        hdr->flags != 0 || get_be32(src + WTKMS_BLOCK_NONCE_HIGH_LOCATION) != 0 || hdr->root == 0 ||
        hdr->open == 0)
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
    n = kd->table_used;
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
    key_chunk *c, *next;
    int i;

    if (kd == NULL)
        return;
    for (i = 0; i < SLOTS * SLOT_KEYS; i++) {
        wtkms_gcm_free(kd->enc[i / SLOT_KEYS].k[i % SLOT_KEYS].g);
        wtkms_gcm_free(kd->dec[i / SLOT_KEYS].k[i % SLOT_KEYS].g);
    }
    for (c = kd->chunks; c != NULL; c = next) {
        next = c->next;
        wtkms_secure_free(c->keys, KEYS_PER_CHUNK * WTKMS_KEY_LEN);
        free(c);
    }
    if (kd->scratch != NULL)
        wtkms_secure_free(kd->scratch, WTKMS_KEY_LEN);
    free(kd->table);
    free(kd);
}

/*
 * ident_hash --
 *     Table position of an identity.
 */
static inline size_t
ident_hash(key_ident id, size_t cap)
{
    uint64_t h = (uint64_t)id.root * 0x9E3779B97F4A7C15ULL ^
                 (uint64_t)id.open * 0xC2B2AE3D27D4EB4FULL ^
                 (uint64_t)id.epoch * 0x165667B19E3779F9ULL;
    return ((size_t)(h ^ (h >> 29)) & (cap - 1));
}

static inline bool
ident_eq(key_ident a, key_ident b)
{
    return (a.root == b.root && a.open == b.open && a.epoch == b.epoch);
}

/*
 * table_insert --
 *     Put an entry in a table with room (no growth).
 */
static void
table_insert(key_entry *table, size_t cap, key_ident id, const uint8_t *key)
{
    size_t i;

    for (i = ident_hash(id, cap); table[i].key != NULL; i = (i + 1) & (cap - 1))
        ;
    table[i].ident = id;
    table[i].key = key;
}

/*
 * lookup_locked --
 *     The cached key of an identity, or NULL. Caller holds the engine lock.
 */
static const uint8_t *
lookup_locked(wtkms_keyed *kd, key_ident id)
{
    size_t i;

    if (kd->table_cap > 0)
        for (i = ident_hash(id, kd->table_cap); kd->table[i].key != NULL;
             i = (i + 1) & (kd->table_cap - 1))
            if (ident_eq(kd->table[i].ident, id))
                return (kd->table[i].key);
    return (NULL);
}

/*
 * derive_into_locked --
 *     Check that the keystore holds an identity's data key and open record, and derive its key
 *     into out (locked memory). Caller holds the engine lock.
 */
static int
derive_into_locked(wtkms_keyed *kd, key_ident id, uint8_t *out, wtkms_err *err)
{
    wtkms_keystore *ks = kd->engine->ks;
    wtkms_ks_root *root;
    wtkms_ks_open *open;
    uint8_t info[sizeof(write_label) - 1 + 4 + WTKMS_KEYID_MAX];
    size_t infolen, klen;
    int ret;

    if ((root = wtkms_keystore_root(ks, id.root)) == NULL || root->key == NULL)
        return (wtkms_errf(err, ENOKEY,
          "keyid %s: block names data key %u, which keystore %s does not hold: the block is "
          "from another home, or the keystore is older than the data",
          kd->keyid, id.root, ks->path));
    if (strcmp(root->keyid, kd->keyid) != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "keyid %s: block is under data key %u of keyid %s: it does not belong to this table",
          kd->keyid, id.root, root->keyid));
    if ((open = wtkms_keystore_open_rec(ks, id.open)) == NULL)
        return (wtkms_errf(err, ENOKEY,
          "keyid %s: block names open record %u, which keystore %s does not hold (it has %u): "
          "the block is from another home, or the keystore is older than the data",
          kd->keyid, id.open, ks->path, ks->nopens));
    klen = strlen(kd->keyid);
    memcpy(info, write_label, sizeof(write_label) - 1);
    put_be32(info + sizeof(write_label) - 1, id.epoch);
    memcpy(info + sizeof(write_label) - 1 + 4, kd->keyid, klen);
    infolen = sizeof(write_label) - 1 + 4 + klen;
    if ((ret = wtkms_hkdf(root->key->b, WTKMS_KEY_LEN, open->salt, WTKMS_SALT_LEN, info, infolen,
           out, WTKMS_KEY_LEN)) != 0)
        return (wtkms_errf(err, ret, "keyid %s: key derivation failed", kd->keyid));
    return (0);
}

/*
 * derive_locked --
 *     Find or derive (and cache) the key of an identity. Caller holds the engine lock. The cache
 *     only grows with identities this process wrote under or a block under them authenticated
 *     (see wtkms_block_decrypt): a forged header cannot add to it.
 */
static int
derive_locked(wtkms_keyed *kd, key_ident id, const uint8_t **keyp, wtkms_err *err)
{
    key_entry *nt;
    key_chunk *c;
    uint8_t *key;
    size_t i, ncap;
    int ret;

    if ((*keyp = lookup_locked(kd, id)) != NULL)
        return (0);

    /* Grow the table at half full. */
    if (kd->table_used + 1 > kd->table_cap / 2) {
        ncap = kd->table_cap == 0 ? 64 : kd->table_cap * 2;
        if ((nt = calloc(ncap, sizeof(*nt))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        for (i = 0; i < kd->table_cap; i++)
            if (kd->table[i].key != NULL)
                table_insert(nt, ncap, kd->table[i].ident, kd->table[i].key);
        free(kd->table);
        kd->table = nt;
        kd->table_cap = ncap;
    }
    if ((c = kd->chunks) == NULL || c->used == KEYS_PER_CHUNK) {
        if ((c = calloc(1, sizeof(*c))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        if ((c->keys = wtkms_secure_alloc(KEYS_PER_CHUNK * WTKMS_KEY_LEN)) == NULL) {
            free(c);
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        }
        c->next = kd->chunks;
        kd->chunks = c;
    }
    key = c->keys[c->used];
    if ((ret = derive_into_locked(kd, id, key, err)) != 0) {
        wtkms_wipe(key, WTKMS_KEY_LEN);
        return (ret);
    }
    c->used++;
    table_insert(kd->table, kd->table_cap, id, key);
    kd->table_used++;
    *keyp = key;
    return (0);
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
slot_find(slot *s, key_ident id)
{
    int i;

    for (i = 0; i < SLOT_KEYS; i++)
        if (s->k[i].keyed && ident_eq(s->k[i].ident, id))
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
slot_key(wtkms_keyed *kd, slot *s, key_ident id, slot_ctx **cp, wtkms_err *err)
{
    slot_ctx *c;
    const uint8_t *key;
    int ret;

    if ((*cp = slot_find(s, id)) != NULL)
        return (0);
    if ((c = slot_victim(kd, s, err)) == NULL)
        return (ENOMEM);
    (void)pthread_mutex_lock(&kd->engine->lock);
    ret = derive_locked(kd, id, &key, err);
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
  wtkms_keyed *kd, slot *s, key_ident id, slot_ctx **cp, bool *cachedp, wtkms_err *err)
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
    if ((key = lookup_locked(kd, id)) == NULL) {
        *cachedp = false;
        if (kd->scratch == NULL && (kd->scratch = wtkms_secure_alloc(WTKMS_KEY_LEN)) == NULL)
            ret = wtkms_errf(err, ENOMEM, "out of memory");
        else if ((ret = derive_into_locked(kd, id, kd->scratch, err)) == 0)
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
    key_ident id;
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
    put_be32(dst + WTKMS_BLOCK_ROOT_LOCATION, id.root);
    put_be32(dst + WTKMS_BLOCK_OPEN_LOCATION, id.open);
    put_be32(dst + WTKMS_BLOCK_NONCE_HIGH_LOCATION, 0);
    put_be64(dst + WTKMS_BLOCK_COUNTER_LOCATION, c);

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
    key_ident id;
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
          (unsigned)get_be16(src + WTKMS_BLOCK_FLAGS_LOCATION),
          get_be32(src + WTKMS_BLOCK_ROOT_LOCATION), get_be32(src + WTKMS_BLOCK_OPEN_LOCATION)));
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
                ret = derive_locked(kd, id, &key, err);
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
