/* arena.h — the core's own memory. The core never allocates through the interposed malloc:
 * small blocks are bumped with one atomic add out of 1 MiB chunks mapped with mmap, aligned to a
 * cache line; blocks of PF_ARENA_DIRECT bytes or more are mapped on their own, so untouched pages
 * cost no memory and they can be given back. No lock, so no fork can leave one held. Small blocks
 * are never freed: figures of exited threads and retired profilers must outlive them. */
#ifndef PF_ARENA_H
#define PF_ARENA_H

#include <stddef.h>
#include "base/atomic.h"

#define PF_ARENA_DIRECT 16384
/* size zeroed bytes aligned to a cache line, or NULL (errno unchanged) when mmap fails. */
void *pf_arena_zalloc(size_t size) PF_HIDDEN;
/* Gives back a block of PF_ARENA_DIRECT bytes or more (size as given to pf_arena_zalloc);
 * smaller blocks stay: temporary buffers must be at least that large. */
void pf_arena_free(void *p, size_t size) PF_HIDDEN;

#endif
