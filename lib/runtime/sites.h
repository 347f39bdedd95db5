/* sites.h — allocation call sites, sampled by bytes.
 *
 * Each thread counts down a random number of bytes drawn from an exponential distribution of
 * mean PFERRIS_SAMPLE; the allocation that crosses zero is sampled: its stack is unwound
 * (libunwind, loaded privately on first use), deduplicated into a site, and weighted by the
 * inverse of its probability of being sampled, 1 / (1 - exp(-size / mean)), the estimator
 * jemalloc and tcmalloc use, so every site's estimated allocations and bytes are unbiased.
 * PFERRIS_SAMPLE=1 samples every allocation with weight 1: the figures are then exact.
 *
 * A sampled block is remembered by address until it is freed, so blocks still live at exit
 * are charged to their site (leaks show as sites). A free finds out whether its block was
 * sampled from a 64 KiB table of counters indexed by address hash: one read of shared memory
 * that is almost always zero, and only then a lookup in the tables of sampled blocks (a page
 * for the few live at once in most programs, a large table for the rest).
 */
#ifndef PF_SITES_H
#define PF_SITES_H

#include <stddef.h>
#include <stdint.h>
#include "base/atomic.h"
#include "runtime/thread.h"

#define PF_MAX_SITES  16384 /* site 0 is "[other]": where sites go once the table is full, and
                             * samples taken on a stack with no room to unwind (sites.c) */
#define PF_MAX_DEPTH  128
#define PF_FILTER_LOG 16

extern uint8_t pf_sites_filter[1u << PF_FILTER_LOG] PF_HIDDEN;
/* Whether sampled blocks are tracked at all: with sampling off, a free does not touch the
 * filter (64 KiB read at random: one cache miss in two frees on mallocbench). */
extern int pf_sites_tracking PF_HIDDEN;

/* From the session's init: mean bytes between samples (0 off, 1 every allocation) and the
 * stack depth. Loads libunwind; warns once and turns sampling off when it cannot. */
void pf_sites_init(long long mean, int depth) PF_HIDDEN;

/* A block's filter slot: its address in 256-byte grains, modulo the filter's size. A line of the
 * filter covers 16 KiB of heap, so a free reads a line the program's own nearby frees keep
 * warm; a hash spread them over all 64 KiB and missed the cache on one free in two (cachegrind,
 * mallocbench: 750K misses per 1M frees; 194K with 64-byte grains, 35K with these). A free
 * looks a block up for nothing when a sampled live block starts in its grain, or 16 MiB away. */
static inline uint32_t pf_sites_slot(const void *p)
{
    return (uint32_t)((uintptr_t)p >> 8) & ((1u << PF_FILTER_LOG) - 1);
}

/* The sampling decision's slow path: the thread's countdown went below zero. pf_heap_alloc_rare
 * tail-calls it with its own return address, caller: the stack is unwound from there, without
 * a frame of the heap's in between (each frame is a part of the unwind's cost). Sets errno to
 * saved_errno and returns p. */
void *pf_sites_sample(pf_thread_t *t, void *p, size_t size, const void *caller,
                      int saved_errno) PF_HIDDEN;
/* A free of a block whose filter counter is non-zero: forget it if it was sampled. */
void pf_sites_forget(pf_thread_t *t, void *p) PF_HIDDEN;

/* One site's figures summed over every thread, for the report. */
typedef struct {
    uint32_t id, depth;
    void *const *frames;   /* return addresses, innermost first */
    double allocations;    /* estimated (exact when every allocation is sampled) */
    double bytes;          /* estimated bytes allocated */
    double live_bytes;     /* estimated bytes still live */
    uint64_t sampled;      /* allocations actually sampled */
} pf_site_view_t;

/* Fills out[0 .. return) with every site that has a figure, heaviest by bytes first; out
 * must have room for PF_MAX_SITES. */
size_t pf_sites_collect(pf_site_view_t *out) PF_HIDDEN;

/* Whether addr is in libunwind's code: a lock libunwind takes may be the one an unwind from
 * here would need, so a wait on it is never unwound. */
int pf_sites_in_unwinder(const void *addr) PF_HIDDEN;
/* The calling stack, pferris's own frames and the caller's innermost `callers` frames left
 * out, as a site id, for modules that attribute other events to call sites (waits.c); 0 when
 * unwinding is off or the table is full. The caller sets pf_in_hook. The site gets no heap
 * figures, so it is not listed as a heap site. */
uint32_t pf_sites_capture(int callers) PF_HIDDEN;
/* Site id's return addresses, innermost first, and their number in *depth (0 for site 0). */
void *const *pf_sites_frames(uint32_t id, uint32_t *depth) PF_HIDDEN;

typedef struct {
    long long mean;        /* PFERRIS_SAMPLE */
    int depth;             /* PFERRIS_STACK_DEPTH */
    int active;            /* sampling runs (mean > 0 and the unwinder loaded) */
    const char *inactive_why;
    uint64_t sites_folded; /* stacks folded into "[other]" because the table was full */
    uint64_t untracked;    /* sampled blocks whose address could not be remembered */
} pf_sites_info_t;
void pf_sites_info(pf_sites_info_t *out) PF_HIDDEN;
/* In a fork child: the child's sites start empty (live blocks it inherited stay known). */
void pf_sites_after_fork(void) PF_HIDDEN;

#endif
