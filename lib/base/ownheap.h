/* ownheap.h — the blocks that reach the interposed malloc while pferris itself runs.
 *
 * pferris's code never calls malloc, but what it calls may: the loader allocates libunwind's
 * thread-local block through malloc at a thread's first unwind, the JSON library allocates the
 * report's tree. Served by the program's allocator, such a block lands in the program's heap and
 * moves the blocks the program allocates after it. The preload serves them from here instead: a
 * reserved region, size classes of 32 bytes to 4 KiB with a 16-byte header, freed blocks on
 * per-class lists. Never a wait: a pop takes a per-class try-lock and, when it is held (another
 * thread, or this thread interrupted by a signal), bumps a fresh block; a push is a lock-free
 * CAS. So it serves signal handlers and fork children too. Larger blocks, and any block once the
 * region is full, are NULL here: the caller then uses the real allocator. free, realloc and
 * malloc_usable_size recognise a block by its address alone. */
#ifndef PF_OWNHEAP_H
#define PF_OWNHEAP_H

#include <stddef.h>
#include <stdint.h>
#include "base/atomic.h"

#define PF_OWNHEAP_REGION ((uintptr_t)64 << 20) /* reserved, not committed */
#define PF_OWNHEAP_MAX    4080                 /* largest request served (4 KiB with header) */

/* The region's first byte; before the region exists, a value no user pointer reaches, so that
 * pf_ownheap_owns needs no second test. */
extern uintptr_t pf_ownheap_lo PF_HIDDEN;

/* A block of at least size bytes (not zeroed), or NULL (too large, region full, no memory). */
void *pf_ownheap_alloc(size_t size) PF_HIDDEN;
/* Gives back a block pf_ownheap_owns. */
void pf_ownheap_free(void *p) PF_HIDDEN;
/* In a fork child: a pop another thread held at the fork is over (its lists are whole: a pop
 * changes them with one CAS). */
void pf_ownheap_after_fork(void) PF_HIDDEN;
/* The bytes a block of this heap can hold. */
size_t pf_ownheap_usable(const void *p) PF_HIDDEN;

static inline int pf_ownheap_owns(const void *p)
{
    return (uintptr_t)p - pf_load_relaxed(&pf_ownheap_lo) < PF_OWNHEAP_REGION;
}

#endif
