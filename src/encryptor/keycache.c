/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keycache.c -- derive the write keys of a keyid and cache them.
 *
 * Write key for (root r, open o, epoch e) = HKDF-SHA256(ikm = root key r, salt = open o's salt,
 * info = label | be32(e) | keyid). The cache only grows with identities the caller asks for
 * through wtkms_keycache_get: block.c asks only for identities it wrote under or whose block
 * authenticated, so a forged header cannot add to it.
 */
#include "keycache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

#define KEYS_PER_CHUNK 128

static const char write_label[] = "wtkms write key v1";

/* Derived keys live in locked chunks; the hash table maps identities to them. */
struct wtkms_key_chunk {
    wtkms_key_chunk *next;
    unsigned used;
    uint8_t (*keys)[WTKMS_KEY_LEN]; /* KEYS_PER_CHUNK keys, locked memory */
};

struct wtkms_key_entry {
    wtkms_key_ident ident;
    const uint8_t *key; /* NULL: empty entry */
};

/*
 * ident_hash --
 *     Table position of an identity.
 */
static inline size_t
ident_hash(wtkms_key_ident id, size_t cap)
{
    uint64_t h = (uint64_t)id.root * 0x9E3779B97F4A7C15ULL ^
                 (uint64_t)id.open * 0xC2B2AE3D27D4EB4FULL ^
                 (uint64_t)id.epoch * 0x165667B19E3779F9ULL;
    return ((size_t)(h ^ (h >> 29)) & (cap - 1));
}

/*
 * table_insert --
 *     Put an entry in a table with room (no growth).
 */
static void
table_insert(wtkms_key_entry *table, size_t cap, wtkms_key_ident id, const uint8_t *key)
{
    size_t i;

    for (i = ident_hash(id, cap); table[i].key != NULL; i = (i + 1) & (cap - 1))
        ;
    table[i].ident = id;
    table[i].key = key;
}

/*
 * wtkms_keycache_lookup --
 *     The cached key of an identity, or NULL.
 */
const uint8_t *
wtkms_keycache_lookup(const wtkms_keycache *c, wtkms_key_ident id)
{
    size_t i;

    if (c->cap > 0)
        for (i = ident_hash(id, c->cap); c->table[i].key != NULL; i = (i + 1) & (c->cap - 1))
            if (wtkms_key_ident_eq(c->table[i].ident, id))
                return (c->table[i].key);
    return (NULL);
}

/*
 * wtkms_keycache_derive --
 *     Check that the keystore holds an identity's data key and open record, and derive its key
 *     into out.
 */
int
wtkms_keycache_derive(
  wtkms_keystore *ks, const char *keyid, wtkms_key_ident id, uint8_t *out, wtkms_err *err)
{
    wtkms_ks_root *root;
    wtkms_ks_open *open;
    uint8_t info[sizeof(write_label) - 1 + 4 + WTKMS_KEYID_MAX];
    size_t infolen, klen;
    int ret;

    if ((root = wtkms_keystore_root(ks, id.root)) == NULL || root->key == NULL)
        return (wtkms_errf(err, ENOKEY,
          "keyid %s: block names data key %u, which keystore %s does not hold: the block is "
          "from another home, or the keystore is older than the data",
          keyid, id.root, ks->path));
    if (strcmp(root->keyid, keyid) != 0)
        return (wtkms_errf(err, EKEYREJECTED,
          "keyid %s: block is under data key %u of keyid %s: it does not belong to this table",
          keyid, id.root, root->keyid));
    if ((open = wtkms_keystore_open_rec(ks, id.open)) == NULL)
        return (wtkms_errf(err, ENOKEY,
          "keyid %s: block names open record %u, which keystore %s does not hold (it has %u): "
          "the block is from another home, or the keystore is older than the data",
          keyid, id.open, ks->path, ks->nopens));
    if ((klen = strlen(keyid)) >= WTKMS_KEYID_MAX)
        return (wtkms_errf(err, EINVAL, "keyid %.40s... is too long", keyid));
    memcpy(info, write_label, sizeof(write_label) - 1);
    wtkms_put_be32(info + sizeof(write_label) - 1, id.epoch);
    memcpy(info + sizeof(write_label) - 1 + 4, keyid, klen);
    infolen = sizeof(write_label) - 1 + 4 + klen;
    if ((ret = wtkms_hkdf(root->key->b, WTKMS_KEY_LEN, open->salt, WTKMS_SALT_LEN, info, infolen,
           out, WTKMS_KEY_LEN)) != 0)
        return (wtkms_errf(err, ret, "keyid %s: key derivation failed", keyid));
    return (0);
}

/*
 * wtkms_keycache_get --
 *     Find or derive (and cache) the key of an identity.
 */
int
wtkms_keycache_get(wtkms_keycache *c, wtkms_keystore *ks, const char *keyid, wtkms_key_ident id,
  const uint8_t **keyp, wtkms_err *err)
{
    wtkms_key_entry *nt;
    wtkms_key_chunk *ch;
    uint8_t *key;
    size_t i, ncap;
    int ret;

    if ((*keyp = wtkms_keycache_lookup(c, id)) != NULL)
        return (0);

    /* Grow the table at half full. */
    if (c->used + 1 > c->cap / 2) {
        ncap = c->cap == 0 ? 64 : c->cap * 2;
        if ((nt = calloc(ncap, sizeof(*nt))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        for (i = 0; i < c->cap; i++)
            if (c->table[i].key != NULL)
                table_insert(nt, ncap, c->table[i].ident, c->table[i].key);
        free(c->table);
        c->table = nt;
        c->cap = ncap;
    }
    if ((ch = c->chunks) == NULL || ch->used == KEYS_PER_CHUNK) {
        if ((ch = calloc(1, sizeof(*ch))) == NULL)
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        if ((ch->keys = wtkms_secure_alloc(KEYS_PER_CHUNK * WTKMS_KEY_LEN)) == NULL) {
            free(ch);
            return (wtkms_errf(err, ENOMEM, "out of memory"));
        }
        ch->next = c->chunks;
        c->chunks = ch;
    }
    key = ch->keys[ch->used];
    if ((ret = wtkms_keycache_derive(ks, keyid, id, key, err)) != 0) {
        wtkms_wipe(key, WTKMS_KEY_LEN);
        return (ret);
    }
    ch->used++;
    table_insert(c->table, c->cap, id, key);
    c->used++;
    *keyp = key;
    return (0);
}

/*
 * wtkms_keycache_free --
 *     Wipe and free every key; the cache is empty again.
 */
void
wtkms_keycache_free(wtkms_keycache *c)
{
    wtkms_key_chunk *ch, *next;

    for (ch = c->chunks; ch != NULL; ch = next) {
        next = ch->next;
        wtkms_secure_free(ch->keys, KEYS_PER_CHUNK * WTKMS_KEY_LEN);
        free(ch);
    }
    free(c->table);
    memset(c, 0, sizeof(*c));
}
