/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipe.c -- the bounded pipeline: two queues of slot pointers under one mutex.
 *
 * Slots are big (a chunk each), so a mutex and two condition variables cost nothing measurable
 * next to reading, hashing and encrypting a chunk.
 */
#include "pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct wtkms_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv_free, cv_full;
    wtkms_slot *slots;
    size_t nslots;
    wtkms_slot **freeq, **fullq; /* rings of nslots entries */
    size_t free_head, free_n, full_head, full_n;
    bool done, cancelled;
};

/*
 * wtkms_pipe_new --
 *     Allocate nslots buffers of slot_size bytes.
 */
int
wtkms_pipe_new(size_t nslots, size_t slot_size, wtkms_pipe **pp)
{
    wtkms_pipe *p;
    size_t i;

    *pp = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return (ENOMEM);
    p->nslots = nslots;
    if ((p->slots = calloc(nslots, sizeof(*p->slots))) == NULL ||
        (p->freeq = calloc(nslots, sizeof(*p->freeq))) == NULL ||
        (p->fullq = calloc(nslots, sizeof(*p->fullq))) == NULL)
        goto err;
    for (i = 0; i < nslots; i++) {
        if ((p->slots[i].buf = malloc(slot_size)) == NULL)
            goto err;
        p->slots[i].cap = slot_size;
        p->freeq[i] = &p->slots[i];
    }
    p->free_n = nslots;
    (void)pthread_mutex_init(&p->mu, NULL);
    (void)pthread_cond_init(&p->cv_free, NULL);
    (void)pthread_cond_init(&p->cv_full, NULL);
    *pp = p;
    return (0);
err:
    if (p->slots != NULL)
        for (i = 0; i < nslots; i++)
            free(p->slots[i].buf);
    free(p->slots);
    free(p->freeq);
    free(p->fullq);
    free(p);
    return (ENOMEM);
}

/*
 * wtkms_pipe_free --
 *     Free the pipe and its buffers (the caller joined the producer).
 */
void
wtkms_pipe_free(wtkms_pipe *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->nslots; i++)
        free(p->slots[i].buf);
    free(p->slots);
    free(p->freeq);
    free(p->fullq);
    (void)pthread_mutex_destroy(&p->mu);
    (void)pthread_cond_destroy(&p->cv_free);
    (void)pthread_cond_destroy(&p->cv_full);
    free(p);
}

/*
 * wtkms_pipe_get_free --
 *     Producer side: wait for an empty slot.
 */
wtkms_slot *
wtkms_pipe_get_free(wtkms_pipe *p)
{
    wtkms_slot *s;

    (void)pthread_mutex_lock(&p->mu);
    while (p->free_n == 0 && !p->cancelled)
        (void)pthread_cond_wait(&p->cv_free, &p->mu);
    s = NULL;
    if (!p->cancelled) {
        s = p->freeq[p->free_head];
        p->free_head = (p->free_head + 1) % p->nslots;
        p->free_n--;
    }
    (void)pthread_mutex_unlock(&p->mu);
    return (s);
}

/*
 * wtkms_pipe_put_full --
 *     Producer side: queue a filled slot.
 */
void
wtkms_pipe_put_full(wtkms_pipe *p, wtkms_slot *s)
{
    (void)pthread_mutex_lock(&p->mu);
    p->fullq[(p->full_head + p->full_n) % p->nslots] = s;
    p->full_n++;
    (void)pthread_cond_signal(&p->cv_full);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_done --
 *     Producer side: finished.
 */
void
wtkms_pipe_done(wtkms_pipe *p)
{
    (void)pthread_mutex_lock(&p->mu);
    p->done = true;
    (void)pthread_cond_broadcast(&p->cv_full);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_get_full --
 *     Consumer side: wait for the next filled slot.
 */
wtkms_slot *
wtkms_pipe_get_full(wtkms_pipe *p)
{
    wtkms_slot *s;

    (void)pthread_mutex_lock(&p->mu);
    while (p->full_n == 0 && !p->done && !p->cancelled)
        (void)pthread_cond_wait(&p->cv_full, &p->mu);
    s = NULL;
    if (!p->cancelled && p->full_n > 0) {
        s = p->fullq[p->full_head];
        p->full_head = (p->full_head + 1) % p->nslots;
        p->full_n--;
    }
    (void)pthread_mutex_unlock(&p->mu);
    return (s);
}

/*
 * wtkms_pipe_put_free --
 *     Consumer side: return a slot.
 */
void
wtkms_pipe_put_free(wtkms_pipe *p, wtkms_slot *s)
{
    (void)pthread_mutex_lock(&p->mu);
    p->freeq[(p->free_head + p->free_n) % p->nslots] = s;
    p->free_n++;
    (void)pthread_cond_signal(&p->cv_free);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_cancel --
 *     Stop both sides.
 */
void
wtkms_pipe_cancel(wtkms_pipe *p)
{
    (void)pthread_mutex_lock(&p->mu);
    p->cancelled = true;
    (void)pthread_cond_broadcast(&p->cv_free);
    (void)pthread_cond_broadcast(&p->cv_full);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_cancelled --
 *     Whether the pipe was cancelled.
 */
bool
wtkms_pipe_cancelled(wtkms_pipe *p)
{
    bool c;

    (void)pthread_mutex_lock(&p->mu);
    c = p->cancelled;
    (void)pthread_mutex_unlock(&p->mu);
    return (c);
}
