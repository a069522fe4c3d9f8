/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipe.h -- a bounded two-stage pipeline: one producer thread, one consumer, a fixed ring of
 * chunk buffers. Memory is nslots * slot size, whatever the amount of data; both cores work.
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
} wtkms_slot;

typedef struct wtkms_pipe wtkms_pipe;

int wtkms_pipe_new(size_t nslots, size_t slot_size, wtkms_pipe **pp);
void wtkms_pipe_free(wtkms_pipe *p);

/* Producer: an empty slot (blocks), or NULL once the pipe is cancelled. */
wtkms_slot *wtkms_pipe_get_free(wtkms_pipe *p);
/* Producer: hand a filled slot on. */
void wtkms_pipe_put_full(wtkms_pipe *p, wtkms_slot *s);
/* Producer: no more slots will come. */
void wtkms_pipe_done(wtkms_pipe *p);

/* Consumer: the next filled slot in order (blocks), or NULL when done or cancelled. */
wtkms_slot *wtkms_pipe_get_full(wtkms_pipe *p);
/* Consumer: give a slot back. */
void wtkms_pipe_put_free(wtkms_pipe *p, wtkms_slot *s);

/* Either side: stop; every blocked call returns NULL. */
void wtkms_pipe_cancel(wtkms_pipe *p);
bool wtkms_pipe_cancelled(wtkms_pipe *p);

#endif
