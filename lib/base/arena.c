/* arena.c — the core's own memory, never from the interposed malloc. */
#include "base/arena.h"

#include <errno.h>
#include <sys/mman.h>

/* Small blocks are bumped out of 1 MiB chunks with one atomic add; a full chunk is replaced by a
 * CAS (the loser unmaps its fresh chunk). No lock, so no fork can leave one held. Large blocks
 * are mapped on their own, so their untouched pages cost nothing and they can be given back. */
#define CHUNK  (1u << 20)
#define HEADER PF_CACHELINE

typedef struct chunk {
    size_t used, size;
} chunk_t;

static chunk_t *current;

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *pf_arena_zalloc(size_t size)
{
    if (size >= PF_ARENA_DIRECT)
        return map(size);
    int saved = errno;
    size = (size + PF_CACHELINE - 1) & ~(size_t)(PF_CACHELINE - 1);
    for (;;) {
        chunk_t *c = pf_load_acquire(&current);
        if (c) {
            size_t off = pf_fetch_add_relaxed(&c->used, size);
            if (off + size <= c->size)
                return (char *)c + HEADER + off;
        }
        chunk_t *fresh = map(CHUNK);
        if (!fresh) {
            errno = saved;
            return NULL;
        }
        fresh->size = CHUNK - HEADER;
        if (!pf_cas_acq_rel(&current, &c, fresh))
            munmap(fresh, CHUNK);
    }
}

void pf_arena_free(void *p, size_t size)
{
    if (p && size >= PF_ARENA_DIRECT)
        munmap(p, size);
}
