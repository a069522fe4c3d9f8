/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secure.c -- locked, wiped memory for key material.
 *
 * Each allocation is its own anonymous mapping: page-granular, so mlock and MADV_DONTDUMP cover
 * exactly it. Key allocations are few (one per data key, per open record derivation table) and
 * long-lived, so the page cost does not matter.
 */
#include "secure.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_ulong lock_failures;

/*
 * round_pages --
 *     The mapping length for a request.
 */
static size_t
round_pages(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return ((len + page - 1) / page * page);
}

/*
 * wtkms_secure_alloc --
 *     Allocate locked, zeroed memory.
 */
void *
wtkms_secure_alloc(size_t len)
{
    void *p;
    size_t mlen;

    if (len == 0)
        len = 1;
    mlen = round_pages(len);
    p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return (NULL);
    if (mlock(p, mlen) != 0)
        atomic_fetch_add(&lock_failures, 1);
#ifdef MADV_DONTDUMP
    (void)madvise(p, mlen, MADV_DONTDUMP);
#endif
    return (p);
}

/*
 * wtkms_secure_free --
 *     Wipe, unlock and release memory from wtkms_secure_alloc.
 */
void
wtkms_secure_free(void *p, size_t len)
{
    size_t mlen;

    if (p == NULL)
        return;
    if (len == 0)
        len = 1;
    mlen = round_pages(len);
    OPENSSL_cleanse(p, mlen);
    (void)munlock(p, mlen);
    (void)munmap(p, mlen);
}

/*
 * wtkms_secure_lock_failures --
 *     Count of allocations that mlock refused.
 */
unsigned long
wtkms_secure_lock_failures(void)
{
    return (atomic_load(&lock_failures));
}

/*
 * wtkms_key_new --
 *     A zeroed key in locked memory.
 */
wtkms_key *
wtkms_key_new(void)
{
    return (wtkms_secure_alloc(sizeof(wtkms_key)));
}

/*
 * wtkms_key_free --
 *     Wipe and release a key.
 */
void
wtkms_key_free(wtkms_key *k)
{
    wtkms_secure_free(k, sizeof(wtkms_key));
}

/*
 * wtkms_wipe --
 *     Wipe memory.
 */
void
wtkms_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}
