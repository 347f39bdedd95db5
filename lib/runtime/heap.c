/* heap.c — the shared part of heap accounting: the batched live figure and its peak. */
#include "runtime/heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pf_heap_enabled PF_HIDDEN = -1;

static pf_heap_flush_fn flush_hook;
static int size_source; /* PF_HEAP_SIZES_* */

void pf_heap_set_sizes(int source)
{
    pf_store_relaxed(&size_source, source);
}

int pf_heap_sizes(void)
{
    return pf_load_relaxed(&size_source);
}

static void thread_end(pf_thread_t *t)
{
    pf_heap_flush(&t->heap);
}

void pf_heap_set_enabled(int on)
{
    pf_thread_set_end_hook(thread_end);
    pf_store_relaxed(&pf_heap_enabled, on);
}

int pf_heap_decide(void)
{
    /* Allocations made before the session starts (other libraries' constructors) already
     * follow PFERRIS_HEAP; the session's init reads it again and warns about a bad value. */
    const char *v = getenv("PFERRIS_HEAP");
    int on = !(v && (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
                     strcmp(v, "off") == 0));
    pf_heap_set_enabled(on);
    return on;
}

void pf_heap_set_flush_hook(pf_heap_flush_fn fn)
{
    pf_store_release(&flush_hook, fn);
}

/* The flush hook without a flush: from the sampled allocations (every PFERRIS_SAMPLE bytes
 * allocated on average), so a program whose live heap stays level still ticks. */
static void heap_tick(void)
{
    pf_heap_flush_fn hook = pf_load_relaxed(&flush_hook);
    if (hook)
        hook();
}

/* live: flushed process-wide live bytes; base: live bytes inherited at fork. */
static struct {
    int64_t live __attribute__((aligned(PF_CACHELINE)));
    int64_t peak;
    int64_t base;
} heap_live;

static void pf_heap_flush_impl(pf_heap_thread_t *h)
{
    int64_t d = pf_load_relaxed(&h->pending);
    if (d == 0)
        return;
    pf_store_relaxed(&h->pending, 0);
    int64_t live = pf_add_fetch_relaxed(&heap_live.live, d);
    if (d > 0) {
        int64_t peak = pf_load_relaxed(&heap_live.peak);
        while (live > peak && !pf_cas_relaxed(&heap_live.peak, &peak, live))
            ;
    }
    pf_heap_flush_fn hook = pf_load_relaxed(&flush_hook);
    if (hook)
        hook();
}

void pf_heap_flush(pf_heap_thread_t *h)
{
    int saved = errno;
    pf_heap_flush_impl(h);
    errno = saved;
}

void *pf_heap_alloc_rare(pf_thread_t *t, void *ptr, size_t requested, size_t usable)
{
    int saved = errno;
    if (!t) { /* the thread's first event: its record, then the count, here */
        if (!(t = pf_thread_attach())) {
            errno = saved;
            return ptr;
        }
        pf_heap_add_alloc(&t->heap, requested, usable);
    }
    pf_heap_thread_t *h = &t->heap;
    if (pf_load_relaxed(&h->pending) >= PF_HEAP_BATCH)
        pf_heap_flush_impl(h);
    if (pf_heap_sample_left(h) < 0) {
        heap_tick(); /* a pace also for a heap that neither grows nor shrinks */
        /* A tail call, which restores errno: the unwind starts at the caller. */
        return pf_sites_sample(t, ptr, requested, __builtin_return_address(0), saved);
    }
    errno = saved;
    return ptr;
}

void pf_heap_free_rare(pf_thread_t *t, void *ptr, size_t usable)
{
    int saved = errno;
    if (!t) {
        if (!(t = pf_thread_attach())) {
            errno = saved;
            return;
        }
        pf_heap_add_free(&t->heap, ptr, usable);
    }
    pf_heap_thread_t *h = &t->heap;
    if (pf_load_relaxed(&h->pending) <= -PF_HEAP_BATCH)
        pf_heap_flush_impl(h);
    if (pf_load_relaxed(&pf_sites_tracking) &&
        pf_load_relaxed(&pf_sites_filter[pf_sites_slot(ptr)]) != 0)
        pf_sites_forget(t, ptr);
    errno = saved;
}

void pf_heap_totals(pf_heap_totals_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t in = 0, freed = 0;
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        pf_heap_thread_t *h = &t->heap;
        out->allocs += pf_heap_allocs(h);
        out->frees += pf_load_relaxed(&h->frees);
        out->bytes_req += pf_load_relaxed(&h->bytes_req);
        in += (int64_t)pf_load_relaxed(&h->usable_in);
        freed += (int64_t)pf_load_relaxed(&h->usable_out);
        for (int k = 0; k < PF_HIST; k++)
            out->hist[k] += pf_load_relaxed(&h->hist[k]);
    }
    out->usable_in = (uint64_t)in;
    out->bytes_freed = (uint64_t)freed;
    out->live = pf_load_relaxed(&heap_live.base) + in - freed;
    int64_t peak = pf_load_relaxed(&heap_live.peak);
    out->peak = peak > out->live ? peak : out->live;
}

void pf_heap_before_thread_reset(void)
{
    pf_heap_totals_t t;
    pf_heap_totals(&t);
    heap_live.base = t.live;
    heap_live.live = t.live;
    heap_live.peak = t.live;
}
