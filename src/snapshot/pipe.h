/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipe.h -- a bounded pipeline over a fixed ring of chunk buffers: one producer thread, an
 * optional middle stage of worker threads, one consumer. Slots travel the ring in order: the
 * consumer gets them in the order the producer filled them, whichever worker finished first.
 * Memory is nslots * slot size, whatever the amount of data; every core can work.
 */
#ifndef WTKMS_SNAP_PIPE_H
#define WTKMS_SNAP_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t cap; /* chunk size + tag */
    size_t len; /* payload bytes (without the tag) */
    uint32_t file;
    uint64_t chunk;
    bool final;
    bool compressed; /* snapshot format 2: the payload is a zstd frame of the chunk */
    size_t plain;    /* the chunk's bytes before compression */
    int state;       /* the pipe's own */
} wtkms_slot;

typedef struct wtkms_pipe wtkms_pipe;

/* nworkers 0: the producer's slots go straight to the consumer. */
int wtkms_pipe_new(size_t nslots, size_t slot_size, size_t nworkers, wtkms_pipe **pp);
void wtkms_pipe_free(wtkms_pipe *p);

/* Producer: an empty slot (blocks), or NULL once the pipe is cancelled. */
wtkms_slot *wtkms_pipe_get_free(wtkms_pipe *p);
/* Producer: hand a filled slot on. */
void wtkms_pipe_put_full(wtkms_pipe *p, wtkms_slot *s);
/* Producer: no more slots will come. */
void wtkms_pipe_done(wtkms_pipe *p);

/* Worker: the next filled slot not yet taken (blocks), or NULL when done or cancelled. */
wtkms_slot *wtkms_pipe_get_work(wtkms_pipe *p);
/* Worker: the slot is ready for the consumer. */
void wtkms_pipe_put_worked(wtkms_pipe *p, wtkms_slot *s);

/* Consumer: the next slot in order (blocks), or NULL when done or cancelled. */
wtkms_slot *wtkms_pipe_get_full(wtkms_pipe *p);
/* Consumer: give a slot back. The producer may also give back a slot it got and did not fill. */
void wtkms_pipe_put_free(wtkms_pipe *p, wtkms_slot *s);

/* Either side: stop; every blocked call returns NULL. */
void wtkms_pipe_cancel(wtkms_pipe *p);
bool wtkms_pipe_cancelled(wtkms_pipe *p);

#endif
