/* atomic.h — named-order atomic wrappers. Every call site states its memory order, so the
 * reader sees the ordering decision where it is made. Owner-only counters use the
 * pf_owner_add form: a relaxed load and store (a plain add on x86, no lock prefix), which is
 * race-free for a concurrent reader that only needs a value that was true at some moment. */
#ifndef PF_ATOMIC_H
#define PF_ATOMIC_H

#include <stdint.h>

#define pf_load_relaxed(p)      __atomic_load_n((p), __ATOMIC_RELAXED)
#define pf_load_acquire(p)      __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define pf_store_relaxed(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define pf_store_release(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define pf_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define pf_add_fetch_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define pf_exchange_acq_rel(p, v)  __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define pf_cas_acq_rel(p, expected, desired)                                                   \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define pf_cas_relaxed(p, expected, desired)                                                   \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

/* Takes the next index of a table of limit entries: *p's value, then *p + 1, while *p < limit;
 * limit, and *p unchanged, once the table is full. A fetch_add would go on counting past the
 * limit and, after 2^32 calls, wrap into the table's indices again. Relaxed. */
static inline uint32_t pf_take_below(uint32_t *p, uint32_t limit)
{
    uint32_t v = pf_load_relaxed(p);
    do
        if (v >= limit)
            return limit;
    while (!pf_cas_relaxed(p, &v, v + 1));
    return v;
}

/* Single-writer update: only the owning thread writes *p; readers load relaxed. */
#define pf_owner_add(p, v) pf_store_relaxed((p), pf_load_relaxed(p) + (v))

#define pf_likely(x)   __builtin_expect(!!(x), 1)
#define pf_unlikely(x) __builtin_expect(!!(x), 0)

#define PF_HIDDEN __attribute__((visibility("hidden")))
#define PF_EXPORT __attribute__((visibility("default")))
#define PF_CACHELINE 64

#endif
