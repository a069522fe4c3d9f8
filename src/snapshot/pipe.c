/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipe.c -- the bounded pipeline: a ring of slots under one mutex.
 *
 * Slot n of the stream lives in ring entry n % nslots. Three counters follow the stream: the
 * producer fills entry prod, workers take entry work, the consumer empties entry cons (cons <=
 * work <= prod <= cons + nslots). Each slot's state says where it is. Each side waits on its own
 * condition variable and is woken only when its next step may be possible: on a busy machine
 * every needless wakeup costs a trip through the run queue.
 */
#include "pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

enum { S_FREE, S_FILLING, S_FULL, S_WORKING, S_READY };

struct wtkms_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv_free, cv_work, cv_ready; /* the producer, workers, the consumer wait */
    wtkms_slot *slots;
    size_t nslots, nworkers;
    uint64_t prod, work, cons;
    bool done, cancelled;
};

/*
 * wtkms_pipe_new --
 *     Allocate nslots buffers of slot_size bytes.
 */
int
wtkms_pipe_new(size_t nslots, size_t slot_size, size_t nworkers, wtkms_pipe **pp)
{
    wtkms_pipe *p;
    size_t i;

    *pp = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return (ENOMEM);
    p->nslots = nslots;
    p->nworkers = nworkers;
    if ((p->slots = calloc(nslots, sizeof(*p->slots))) == NULL)
        goto err;
    for (i = 0; i < nslots; i++) {
        if ((p->slots[i].buf = malloc(slot_size)) == NULL)
            goto err;
        p->slots[i].cap = slot_size;
        p->slots[i].state = S_FREE;
    }
    (void)pthread_mutex_init(&p->mu, NULL);
    (void)pthread_cond_init(&p->cv_free, NULL);
    (void)pthread_cond_init(&p->cv_work, NULL);
    (void)pthread_cond_init(&p->cv_ready, NULL);
    *pp = p;
    return (0);
err:
    if (p->slots != NULL)
        for (i = 0; i < nslots; i++)
            free(p->slots[i].buf);
    free(p->slots);
    free(p);
    return (ENOMEM);
}

/*
 * wtkms_pipe_free --
 *     Free the pipe and its buffers (the caller joined every other thread).
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
    (void)pthread_mutex_destroy(&p->mu);
    (void)pthread_cond_destroy(&p->cv_free);
    (void)pthread_cond_destroy(&p->cv_work);
    (void)pthread_cond_destroy(&p->cv_ready);
    free(p);
}

/*
 * wtkms_pipe_get_free --
 *     Producer side: wait for the next ring entry to be empty.
 */
wtkms_slot *
wtkms_pipe_get_free(wtkms_pipe *p)
{
    wtkms_slot *s;

    (void)pthread_mutex_lock(&p->mu);
    s = &p->slots[p->prod % p->nslots];
    while (s->state != S_FREE && !p->cancelled)
        (void)pthread_cond_wait(&p->cv_free, &p->mu);
    if (p->cancelled)
        s = NULL;
    else
        s->state = S_FILLING;
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
    s->state = p->nworkers > 0 ? S_FULL : S_READY;
    p->prod++;
    (void)pthread_cond_signal(p->nworkers > 0 ? &p->cv_work : &p->cv_ready);
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
    (void)pthread_cond_broadcast(&p->cv_work);
    (void)pthread_cond_broadcast(&p->cv_ready);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_get_work --
 *     Worker side: take the oldest filled slot no worker has.
 */
wtkms_slot *
wtkms_pipe_get_work(wtkms_pipe *p)
{
    wtkms_slot *s;

    (void)pthread_mutex_lock(&p->mu);
    while (p->work == p->prod && !p->done && !p->cancelled)
        (void)pthread_cond_wait(&p->cv_work, &p->mu);
    s = NULL;
    if (!p->cancelled && p->work < p->prod) {
        s = &p->slots[p->work % p->nslots];
        s->state = S_WORKING;
        p->work++;
    }
    (void)pthread_mutex_unlock(&p->mu);
    return (s);
}

/*
 * wtkms_pipe_put_worked --
 *     Worker side: the slot is ready for the consumer.
 */
void
wtkms_pipe_put_worked(wtkms_pipe *p, wtkms_slot *s)
{
    (void)pthread_mutex_lock(&p->mu);
    s->state = S_READY;
    if (s == &p->slots[p->cons % p->nslots]) /* the one the consumer waits for */
        (void)pthread_cond_signal(&p->cv_ready);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_get_full --
 *     Consumer side: wait for the next slot in order to be ready.
 */
wtkms_slot *
wtkms_pipe_get_full(wtkms_pipe *p)
{
    wtkms_slot *s;

    (void)pthread_mutex_lock(&p->mu);
    s = &p->slots[p->cons % p->nslots];
    while (!p->cancelled && !(p->cons < p->prod && s->state == S_READY) &&
           !(p->done && p->cons == p->prod))
        (void)pthread_cond_wait(&p->cv_ready, &p->mu);
    if (p->cancelled || p->cons == p->prod)
        s = NULL;
    (void)pthread_mutex_unlock(&p->mu);
    return (s);
}

/*
 * wtkms_pipe_put_free --
 *     Consumer side: return a slot (or the producer: one it did not fill).
 */
void
wtkms_pipe_put_free(wtkms_pipe *p, wtkms_slot *s)
{
    (void)pthread_mutex_lock(&p->mu);
    if (s->state != S_FILLING)
        p->cons++;
    s->state = S_FREE;
    (void)pthread_cond_signal(&p->cv_free);
    (void)pthread_mutex_unlock(&p->mu);
}

/*
 * wtkms_pipe_cancel --
 *     Stop every side.
 */
void
wtkms_pipe_cancel(wtkms_pipe *p)
{
    (void)pthread_mutex_lock(&p->mu);
    p->cancelled = true;
    (void)pthread_cond_broadcast(&p->cv_free);
    (void)pthread_cond_broadcast(&p->cv_work);
    (void)pthread_cond_broadcast(&p->cv_ready);
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
