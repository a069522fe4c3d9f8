/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_nonce_threads.c -- no (key, nonce) pair ever repeats: many threads encrypting at once
 * under several keyids, across a restart, and in two copies of one home written at the same
 * time. Each block's header is mapped through its own home's keystore to the fingerprint of the
 * key that sealed it (data-key fingerprint, open salt, epoch), because key numbers are local to a
 * home and two copies reuse them.
 *
 * WTKMS_NONCE_BLOCKS sets the blocks per thread (default 10000).
 */
#include "test_helpers.h"

#include <pthread.h>

#define NTHREADS 8

static const char *const keyids[] = { "system", "k1", "k2" };

/* What a thread saw of one block it sealed. */
typedef struct {
    uint32_t root, open;
    uint64_t counter;
} rec;

typedef struct {
    wtkms_keyed *kd;
    rec *recs;
    size_t n;
    int bad; /* a block that did not decrypt back */
} worker;

/* One fingerprinted (key, nonce) pair. */
typedef struct {
    uint8_t fp[WTKMS_FP_LEN];
    uint8_t salt[WTKMS_SALT_LEN];
    uint32_t epoch;
    uint64_t nonce;
    int home; /* for the failure message */
    uint32_t root, open;
} pair;

static size_t
blocks_per_thread(void)
{
    const char *s = getenv("WTKMS_NONCE_BLOCKS");

    return (s != NULL && atol(s) > 0 ? (size_t)atol(s) : 10000);
}

/*
 * run_worker --
 *     Seal n blocks as fast as possible, recording each header; check every 97th decrypts.
 */
static void *
run_worker(void *arg)
{
    worker *w = arg;
    wtkms_block_hdr h;
    wtkms_err err;
    uint8_t pt[64], blk[64 + WTKMS_BLOCK_OVERHEAD], out[sizeof(blk)];
    size_t i, blen, olen;

    memset(pt, 0x33, sizeof(pt));
    for (i = 0; i < w->n; i++) {
        memcpy(pt, &i, sizeof(i));
        if (wtkms_block_encrypt(w->kd, pt, sizeof(pt), blk, sizeof(blk), &blen, &err) != 0 ||
            wtkms_block_parse_header(blk, blen, &h) != 0) {
            w->bad++;
            continue;
        }
        w->recs[i].root = h.root;
        w->recs[i].open = h.open;
        w->recs[i].counter = h.counter;
        if (i % 97 == 0 &&
            (wtkms_block_decrypt(w->kd, blk, blen, out, sizeof(out), &olen, &err) != 0 ||
              olen != sizeof(pt) || memcmp(out, pt, sizeof(pt)) != 0))
            w->bad++;
    }
    return (NULL);
}

/*
 * pairs_add --
 *     Map the records of one engine's workers through its keystore to fingerprinted pairs.
 */
static void
pairs_add(pair *pairs, size_t *np, wtkms_engine *e, worker *w, int nworkers, int home)
{
    wtkms_keystore *ks = wtkms_engine_keystore(e);
    wtkms_ks_root *r;
    wtkms_ks_open *o;
    pair *p;
    size_t i;
    int t;

    for (t = 0; t < nworkers; t++)
        for (i = 0; i < w[t].n; i++) {
            r = wtkms_keystore_root(ks, w[t].recs[i].root);
            o = wtkms_keystore_open_rec(ks, w[t].recs[i].open);
            if (r == NULL || o == NULL)
                fail_msg("home %d: block names key %u / open %u, not in its keystore", home,
                  w[t].recs[i].root, w[t].recs[i].open);
            p = &pairs[(*np)++];
            memcpy(p->fp, r->fp, WTKMS_FP_LEN);
            memcpy(p->salt, o->salt, WTKMS_SALT_LEN);
            p->epoch = (uint32_t)(w[t].recs[i].counter >> 32);
            p->nonce = w[t].recs[i].counter;
            p->home = home;
            p->root = r->n;
            p->open = o->n;
        }
}

static int
pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c;

    if ((c = memcmp(x->fp, y->fp, WTKMS_FP_LEN)) != 0)
        return (c);
    if ((c = memcmp(x->salt, y->salt, WTKMS_SALT_LEN)) != 0)
        return (c);
    if (x->epoch != y->epoch)
        return (x->epoch < y->epoch ? -1 : 1);
    if (x->nonce != y->nonce)
        return (x->nonce < y->nonce ? -1 : 1);
    return (0);
}

/*
 * assert_unique --
 *     No two pairs are equal.
 */
static void
assert_unique(pair *pairs, size_t n)
{
    size_t i;

    qsort(pairs, n, sizeof(*pairs), pair_cmp);
    for (i = 1; i < n; i++)
        if (pair_cmp(&pairs[i - 1], &pairs[i]) == 0)
            fail_msg("(key, nonce) repeats: nonce %llu under data key %u / open %u of home %d and "
                     "data key %u / open %u of home %d (same fingerprint, salt and epoch)",
              (unsigned long long)pairs[i].nonce, pairs[i - 1].root, pairs[i - 1].open,
              pairs[i - 1].home, pairs[i].root, pairs[i].open, pairs[i].home);
}

/*
 * workers_start --
 *     NTHREADS workers on an engine, keyids in turn; two threads share each wtkms_keyed and
 *     some keyids have two wtkms_keyed (as if WiredTiger customized a keyid twice).
 */
static void
workers_start(wtkms_engine *e, worker *w, pthread_t *tids, wtkms_keyed **kds, size_t n)
{
    int t;

    for (t = 0; t < NTHREADS; t++) {
        if (t % 2 == 0)
            kds[t / 2] = t_keyed(e, keyids[(t / 2) % 3]);
        w[t].kd = kds[t / 2];
        w[t].n = n;
        w[t].bad = 0;
        if ((w[t].recs = calloc(n, sizeof(rec))) == NULL)
            fail_msg("out of memory");
        assert_int_equal(pthread_create(&tids[t], NULL, run_worker, &w[t]), 0);
    }
}

static void
workers_join(worker *w, pthread_t *tids, wtkms_keyed **kds)
{
    int t;

    for (t = 0; t < NTHREADS; t++) {
        assert_int_equal(pthread_join(tids[t], NULL), 0);
        if (w[t].bad != 0)
            fail_msg("thread %d: %d blocks failed to seal or open", t, w[t].bad);
    }
    for (t = 0; t < NTHREADS / 2; t++)
        wtkms_keyed_free(kds[t]);
}

static void
workers_free(worker *w)
{
    int t;

    for (t = 0; t < NTHREADS; t++)
        free(w[t].recs);
}

/*
 * copy_file --
 *     Copy the keystore of one home to another, as copying a closed data directory does.
 */
static void
copy_file(const char *from, const char *to)
{
    uint8_t *buf;
    size_t len;

    buf = t_read_file(from, &len);
    assert_non_null(buf);
    t_write_file(to, buf, len, 0600);
    free(buf);
}

/*
 * test_threads_restarts_copies --
 *     Open 1: threads. Open 2 (restart): threads. Then the closed home is copied, and both copies
 *     are written at once by threads. Every pair of all four opens is distinct.
 */
static void
test_threads_restarts_copies(void **state)
{
    char *a, *b, kf[PATH_MAX];
    wtkms_engine *e, *e2;
    worker w[NTHREADS], w2[NTHREADS];
    pthread_t tids[NTHREADS], tids2[NTHREADS];
    wtkms_keyed *kds[NTHREADS / 2], *kds2[NTHREADS / 2];
    pair *pairs;
    size_t n = blocks_per_thread(), np = 0;
    int round;

    (void)state;
    a = t_tmpdir("noncea");
    b = t_tmpdir("nonceb");
    (void)snprintf(kf, sizeof(kf), "%s", t_make_key_file(a, "master.key"));
    if ((pairs = calloc((size_t)NTHREADS * n * 4, sizeof(pair))) == NULL)
        fail_msg("out of memory");

    for (round = 0; round < 2; round++) {
        e = t_engine_open(a, kf);
        workers_start(e, w, tids, kds, n);
        workers_join(w, tids, kds);
        pairs_add(pairs, &np, e, w, NTHREADS, 0);
        workers_free(w);
        wtkms_engine_free(e);
    }

    /* Copy the closed home (its keystore is all that matters here) and write both at once. */
    copy_file(t_path(a, WTKMS_KEYSTORE_FILE), t_path(b, WTKMS_KEYSTORE_FILE));
    e = t_engine_open(a, kf);
    e2 = t_engine_open(b, kf);
    workers_start(e, w, tids, kds, n);
    workers_start(e2, w2, tids2, kds2, n);
    workers_join(w, tids, kds);
    workers_join(w2, tids2, kds2);
    pairs_add(pairs, &np, e, w, NTHREADS, 0);
    pairs_add(pairs, &np, e2, w2, NTHREADS, 1);
    assert_int_equal(np, (size_t)NTHREADS * n * 4);
    assert_unique(pairs, np);
    /* Both copies numbered their new open 3: numbers collide, fingerprints must not. */
    assert_int_equal(wtkms_engine_keystore(e)->nopens, 3);
    assert_int_equal(wtkms_engine_keystore(e2)->nopens, 3);
    assert_memory_not_equal(wtkms_engine_keystore(e)->opens[2].salt,
      wtkms_engine_keystore(e2)->opens[2].salt, WTKMS_SALT_LEN);
    assert_int_equal(w[0].recs[0].open, w2[0].recs[0].open);
    workers_free(w);
    workers_free(w2);
    wtkms_engine_free(e);
    wtkms_engine_free(e2);

    print_message(
      "%zu blocks from %d threads in 4 opens of 2 homes: no (key, nonce) repeats\n", np, NTHREADS);
    free(pairs);
    t_rmtree(a);
    t_rmtree(b);
}

/*
 * test_check_detects_repeat --
 *     The uniqueness check itself fails on a constructed repeat (one pair duplicated).
 */
static void
test_check_detects_repeat(void **state)
{
    pair p[3];
    size_t i, dup = 0;

    (void)state;
    memset(p, 0, sizeof(p));
    for (i = 0; i < 3; i++)
        p[i].nonce = i;
    p[2].nonce = 0;
    qsort(p, 3, sizeof(*p), pair_cmp);
    for (i = 1; i < 3; i++)
        dup += pair_cmp(&p[i - 1], &p[i]) == 0;
    assert_int_equal(dup, 1);
    /* A different salt or epoch is a different key: not a repeat. */
    p[0].salt[5] = 1;
    p[1].epoch = 1;
    qsort(p, 3, sizeof(*p), pair_cmp);
    for (dup = 0, i = 1; i < 3; i++)
        dup += pair_cmp(&p[i - 1], &p[i]) == 0;
    assert_int_equal(dup, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_detects_repeat),
        cmocka_unit_test(test_threads_restarts_copies),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
