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

/* Single-writer update: only the owning thread writes *p; readers load relaxed. */
#define pf_owner_add(p, v) pf_store_relaxed((p), pf_load_relaxed(p) + (v))

#define pf_likely(x)   __builtin_expect(!!(x), 1)
#define pf_unlikely(x) __builtin_expect(!!(x), 0)

#define PF_HIDDEN __attribute__((visibility("hidden")))
#define PF_EXPORT __attribute__((visibility("default")))
#define PF_CACHELINE 64

#endif
