/* ownheap.c — the blocks that reach the interposed malloc while pferris runs (see ownheap.h). */
#include "base/ownheap.h"

#include <sys/mman.h>

/* A block is a 16-byte header, then the caller's bytes: the header holds the class and, while
 * the block is free, the list's link (the next block's offset + 1; 0 ends the list). Classes
 * are powers of two from 32 to 4096 bytes with the header, bumped from the region 32-aligned. */
#define HEADER  16
#define CLASSES 8
#define POP_TRIES 200

uintptr_t pf_ownheap_lo = UINTPTR_MAX - PF_OWNHEAP_REGION + 1;

static char *region;
static int region_failed;
static size_t bumped;
static uint64_t heads[CLASSES];
static int popping[CLASSES];

static char *reserve(void)
{
    char *r = pf_load_acquire(&region);
    if (pf_likely(r != NULL) || pf_load_relaxed(&region_failed))
        return r;
    void *m = mmap(NULL, PF_OWNHEAP_REGION, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        pf_store_relaxed(&region_failed, 1);
        return NULL;
    }
    if (!pf_cas_acq_rel(&region, &r, (char *)m)) {
        munmap(m, PF_OWNHEAP_REGION); /* another thread's came first */
        return r;
    }
    pf_store_release(&pf_ownheap_lo, (uintptr_t)m);
    return m;
}

/* A free block of class k, or NULL when there is none or another pop keeps holding the class
 * (this thread's own, interrupted by a signal, included): the caller then bumps. A pop takes a
 * few dozen instructions, so waiting out another thread's is cheaper than a fresh block, which
 * the region never gets back; the wait is bounded, so a signal handler never hangs on it. Pops
 * are one at a time per class, so the head read here cannot leave the list before the CAS
 * (no ABA). */
static uint64_t *pop(char *r, unsigned k)
{
    for (int tries = 0; pf_exchange_acq_rel(&popping[k], 1); tries++) {
        if (tries == POP_TRIES || pf_load_relaxed(&heads[k]) == 0)
            return NULL;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    uint64_t head = pf_load_acquire(&heads[k]);
    uint64_t *h = NULL;
    while (head) {
        h = (uint64_t *)(r + head - 1);
        if (__atomic_compare_exchange_n(&heads[k], &head, h[1], 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_ACQUIRE))
            break;
        h = NULL;
    }
    pf_store_release(&popping[k], 0);
    return h;
}

void *pf_ownheap_alloc(size_t size)
{
    if (size > PF_OWNHEAP_MAX)
        return NULL;
    unsigned k = 0;
    while (((size_t)32 << k) < size + HEADER)
        k++;
    char *r = reserve();
    if (!r)
        return NULL;
    uint64_t *h = pop(r, k);
    if (!h) {
        size_t total = (size_t)32 << k, off = pf_fetch_add_relaxed(&bumped, total);
        if (off + total > PF_OWNHEAP_REGION)
            return NULL; /* full: the real allocator serves it */
        h = (uint64_t *)(r + off);
    }
    h[0] = k;
    return (char *)h + HEADER;
}

void pf_ownheap_free(void *p)
{
    uint64_t *h = (uint64_t *)((char *)p - HEADER);
    unsigned k = (unsigned)h[0];
    if (k >= CLASSES)
        return; /* not a header this heap wrote: kept, not trusted */
    uint64_t me = (uint64_t)((char *)h - pf_load_relaxed(&region)) + 1;
    uint64_t head = pf_load_relaxed(&heads[k]);
    do
        h[1] = head;
    while (!__atomic_compare_exchange_n(&heads[k], &head, me, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

void pf_ownheap_after_fork(void)
{
    for (unsigned k = 0; k < CLASSES; k++)
        pf_store_relaxed(&popping[k], 0);
}

size_t pf_ownheap_usable(const void *p)
{
    const uint64_t *h = (const uint64_t *)((const char *)p - HEADER);
    return h[0] < CLASSES ? ((size_t)32 << h[0]) - HEADER : 0;
}
