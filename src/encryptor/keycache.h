/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keycache.h -- the derived write keys of one keyid: derivation from the keystore, and a cache
 * of the keys derived so far, in locked memory (block.c's engine lock guards every call).
 */
#ifndef WTKMS_KEYCACHE_H
#define WTKMS_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keystore.h"

/* Which derived key: data key ("root"), open record, and nonce epoch (counter >> 32). */
typedef struct {
    uint32_t root, open, epoch;
} wtkms_key_ident;

static inline bool
wtkms_key_ident_eq(wtkms_key_ident a, wtkms_key_ident b)
{
    return (a.root == b.root && a.open == b.open && a.epoch == b.epoch);
}

typedef struct wtkms_key_chunk wtkms_key_chunk;
typedef struct wtkms_key_entry wtkms_key_entry;

/* Zero-initialized is empty. */
typedef struct {
    wtkms_key_entry *table; /* open addressing, cap a power of 2, at most half full */
    size_t cap, used;
    wtkms_key_chunk *chunks; /* the keys, in locked memory */
} wtkms_keycache;

/* The cached key of an identity, or NULL. */
const uint8_t *wtkms_keycache_lookup(const wtkms_keycache *c, wtkms_key_ident id);

/*
 * Check that keystore ks holds an identity's data key (of this keyid) and open record, and derive
 * its key into out (locked memory); nothing cached. Errors name the keyid and what is missing.
 */
int wtkms_keycache_derive(
  wtkms_keystore *ks, const char *keyid, wtkms_key_ident id, uint8_t *out, wtkms_err *err);

/* Find or derive, and cache, the key of an identity. */
int wtkms_keycache_get(wtkms_keycache *c, wtkms_keystore *ks, const char *keyid, wtkms_key_ident id,
  const uint8_t **keyp, wtkms_err *err);

/* Wipe and free every key. */
void wtkms_keycache_free(wtkms_keycache *c);

#endif
