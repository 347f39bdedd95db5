/* heap.h — heap accounting on the malloc path. Per allocation: three owner-only adds into the
 * calling thread's figures and one histogram bucket. The process-wide live figure, needed for
 * the peak, is shared; each thread batches its change and adds it once it passes
 * PF_HEAP_BATCH bytes, so the peak is exact to within PF_HEAP_BATCH per running thread and
 * the shared line is written once per several hundred small allocations, not per event. 64 KiB,
 * not 32: blocks of 32 to 64 KiB then no longer move the shared line between cores each on its
 * own (mallocbench, one block in 64 of 4 to 64 KiB: about 0.02x of its time, docs/internals.md).
 * Counts and requested bytes are exact; live, freed and peak are in usable sizes (what
 * malloc_usable_size reports), the only size a free can know without a per-block record. */
#ifndef PF_HEAP_H
#define PF_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "runtime/sites.h"
#include "runtime/thread.h"

#define PF_HEAP_BATCH 65536

/* 1 on, 0 off, -1 not yet known (pf_heap_decide reads PFERRIS_HEAP). */
extern int pf_heap_enabled PF_HIDDEN;
int pf_heap_decide(void) PF_HIDDEN;
/* Turns heap accounting on or off (the session, from PFERRIS_HEAP). */
void pf_heap_set_enabled(int on) PF_HIDDEN;

/* Where block sizes come from. The malloc in use normally has a malloc_usable_size, and live,
 * freed and peak are in its sizes. An allocator without one (a linked bump allocator defining
 * only malloc, free, calloc, realloc) gives no size at free: allocations then count their
 * requested size and frees count no bytes (the preload says which, once, at resolution). */
enum { PF_HEAP_SIZES_USABLE = 0, PF_HEAP_SIZES_REQUESTED = 1 };
void pf_heap_set_sizes(int source) PF_HIDDEN;
int pf_heap_sizes(void) PF_HIDDEN;

/* Adds the thread's pending change to the process live figure and the peak. */
void pf_heap_flush(pf_heap_thread_t *h) PF_HIDDEN;
/* Called after each flush, on the flushing thread, by the layer above that wants a tick of the
 * heap's pace (the timeline, to sample a process that has no sampler thread yet). One hook. */
typedef void (*pf_heap_flush_fn)(void);
void pf_heap_set_flush_hook(pf_heap_flush_fn fn) PF_HIDDEN;

static inline unsigned pf_heap_size_class(size_t n)
{
    unsigned k = n ? 64u - (unsigned)__builtin_clzll((unsigned long long)n) : 0u;
    return k < PF_HIST ? k : PF_HIST - 1;
}

/* What an allocation or a free rarely has to do, out of line and as the inline path's tail
 * call, so that the interposers' common path keeps no registers across a call (heap.c): a
 * thread's first record, a flush when its pending bytes pass the batch, a sample when its
 * countdown runs out, forgetting a block the filter may know. t is NULL on the thread's first
 * event: its record is made and the event counted there. Each keeps the program's errno; the
 * first returns ptr, which the malloc interposer returns in turn. */
void *pf_heap_alloc_rare(pf_thread_t *t, void *ptr, size_t requested, size_t usable) PF_HIDDEN;
void pf_heap_free_rare(pf_thread_t *t, void *ptr, size_t usable) PF_HIDDEN;

/* The thread's own counts of one allocation; whether something rare is due. */
static inline int pf_heap_add_alloc(pf_heap_thread_t *h, size_t requested, size_t usable)
{
    uint64_t req = pf_load_relaxed(&h->bytes_req) + requested;
    pf_store_relaxed(&h->bytes_req, req);
    pf_owner_add(&h->usable_in, usable);
    pf_owner_add(&h->hist[pf_heap_size_class(requested)], 1);
    int64_t p = pf_load_relaxed(&h->pending) + (int64_t)usable;
    pf_store_relaxed(&h->pending, p);
    return p >= PF_HEAP_BATCH || (int64_t)(req - h->sample_at) > 0;
}

/* The thread's own counts of one free; whether something rare is due. */
static inline int pf_heap_add_free(pf_heap_thread_t *h, void *ptr, size_t usable)
{
    pf_owner_add(&h->frees, 1);
    pf_owner_add(&h->usable_out, usable);
    int64_t p = pf_load_relaxed(&h->pending) - (int64_t)usable;
    pf_store_relaxed(&h->pending, p);
    return p <= -PF_HEAP_BATCH ||
           (pf_load_relaxed(&pf_sites_tracking) &&
            pf_unlikely(pf_load_relaxed(&pf_sites_filter[pf_sites_slot(ptr)]) != 0));
}

/* Counts an allocation of requested bytes (usable in the block) at ptr; returns ptr. */
static inline void *pf_heap_alloc(void *ptr, size_t requested, size_t usable)
{
    pf_thread_t *t = pf_self;
    if (pf_unlikely(!t) || pf_unlikely(pf_heap_add_alloc(&t->heap, requested, usable)))
        return pf_heap_alloc_rare(t, ptr, requested, usable);
    return ptr;
}

static inline void pf_heap_free(void *ptr, size_t usable)
{
    pf_thread_t *t = pf_self;
    if (pf_unlikely(!t) || pf_unlikely(pf_heap_add_free(&t->heap, ptr, usable)))
        pf_heap_free_rare(t, ptr, usable);
}

/* Takes back a pf_heap_free whose block turned out not to be freed (a failed realloc). */
static inline void pf_heap_unfree(size_t usable)
{
    pf_thread_t *t = pf_thread();
    if (pf_unlikely(!t))
        return;
    pf_heap_thread_t *h = &t->heap;
    pf_owner_add(&h->frees, (uint64_t)-1);
    pf_owner_add(&h->usable_out, (uint64_t)0 - usable);
    pf_store_relaxed(&h->pending, pf_load_relaxed(&h->pending) + (int64_t)usable);
}

typedef struct {
    uint64_t allocs, frees, bytes_req, bytes_freed, usable_in;
    int64_t live, peak;
    uint64_t hist[PF_HIST];
} pf_heap_totals_t;

/* Sums over every thread, exited or not; the peak includes the live figure of this moment. */
void pf_heap_totals(pf_heap_totals_t *out) PF_HIDDEN;
/* In a fork child, before the thread list is reset: the child's heap holds the parent's live
 * blocks, so live starts there and every count starts at zero. */
void pf_heap_before_thread_reset(void) PF_HIDDEN;

#endif
