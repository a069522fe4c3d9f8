/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secure.h -- memory for key material: locked (mlock) so it is never swapped, excluded from core
 * dumps, and wiped (OPENSSL_cleanse) before it is returned.
 *
 * OpenSSL keeps expanded key schedules in its own allocations, which cannot be locked from here;
 * docs/SECURITY.md says so.
 */
#ifndef WTKMS_SECURE_H
#define WTKMS_SECURE_H

#include <stddef.h>
#include <stdint.h>

#define WTKMS_KEY_LEN 32

/*
 * Allocate zeroed, locked memory. Returns NULL only when out of memory; a failed mlock (a low
 * RLIMIT_MEMLOCK) is counted, not fatal: see wtkms_secure_lock_failures.
 */
void *wtkms_secure_alloc(size_t len);
void wtkms_secure_free(void *p, size_t len);

/* How many allocations could not be locked since the process started. */
unsigned long wtkms_secure_lock_failures(void);

/* A 256-bit key in locked memory. */
typedef struct {
    uint8_t b[WTKMS_KEY_LEN];
} wtkms_key;

wtkms_key *wtkms_key_new(void);
void wtkms_key_free(wtkms_key *k);

/* Wipe a buffer in a way the compiler cannot elide. */
void wtkms_wipe(void *p, size_t len);

#endif
