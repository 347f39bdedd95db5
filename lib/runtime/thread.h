/* thread.h — per-thread state. Every event lands in the calling thread's own pf_thread_t,
 * reached through one initial-exec TLS load; no event writes a cache line another thread
 * writes. States are linked into a global insert-only list (a CAS push) and never freed.
 *
 * A record's figures are cumulative over every thread that has owned it: when a retire hook is
 * set (retire.c), the record of an ended thread, its row once folded into the exited threads'
 * table, is taken over by a later thread, which goes on adding to the same figures; so sums
 * over the list stay exact and memory follows the threads alive at once, not the threads ever
 * started. A record's own thread's figures are the record's minus its base (what the record
 * held when that thread took it over). docs/internals.md tells the whole scheme. */
#ifndef PF_THREAD_H
#define PF_THREAD_H

#include <pthread.h>
#include <stdint.h>
#include "base/atomic.h"

#define PF_MAX_PROFILERS 64
#define PF_HIST          64 /* size classes: bucket k holds sizes in [2^(k-1), 2^k) */

/* Heap figures of one thread; only the owner writes them (pf_owner_add), the report reads. */
typedef struct {
    uint64_t frees;                /* the allocations are the histogram's sum (pf_heap_allocs) */
    uint64_t bytes_req;            /* bytes the program asked for */
    uint64_t usable_in, usable_out; /* usable sizes allocated and freed: live = in - out */
    int64_t pending;               /* usable bytes not yet added to the process live figure */
    uint64_t sample_at;            /* bytes_req past which the next allocation is sampled */
    uint64_t rng;                  /* the thread's sampling random state; 0 before the first */
    uint64_t hist[PF_HIST];
} pf_heap_thread_t;

/* Allocations of the thread: the sum of its histogram, which every allocation adds to (one
 * add fewer on the malloc path than a count of its own). */
static inline uint64_t pf_heap_allocs(const pf_heap_thread_t *h)
{
    uint64_t n = 0;
    for (int k = 0; k < PF_HIST; k++)
        n += pf_load_relaxed(&h->hist[k]);
    return n;
}

/* Bytes until the thread's next sampled allocation; negative when one is due. The countdown is
 * kept as a mark on bytes_req (sample_at), which every allocation adds to anyway. */
static inline int64_t pf_heap_sample_left(const pf_heap_thread_t *h)
{
    return (int64_t)(h->sample_at - pf_load_relaxed(&h->bytes_req));
}

static inline void pf_heap_set_sample_left(pf_heap_thread_t *h, int64_t left)
{
    h->sample_at = pf_load_relaxed(&h->bytes_req) + (uint64_t)left;
}

/* Time blocked in the pthread synchronisation calls (waits.c); only the owner writes. */
typedef struct {
    uint64_t ticks;                /* blocked, in clock ticks */
    int64_t left;                  /* ticks of waiting until the next sampled call site */
    uint64_t rng;                  /* the thread's wait sampling random state; 0 before the first */
} pf_wait_thread_t;

/* The record's figures when its current thread took it over (zero for a fresh record). */
typedef struct {
    uint64_t allocs, frees, bytes_req, usable_out;
    uint64_t wait_ticks;
} pf_thread_base_t;

struct pf_tdom;

/* The first line holds what a sampled allocation reads of the record besides its heap
 * figures (sites.c): a sample comes after the program's own allocations have evicted both. */
typedef struct pf_thread {
    struct pf_thread *next;
    int tid;                       /* rewritten on takeover: read it relaxed */
    int alt_known;                 /* alt_lo/alt_hi are set (pf_thread_note_altstack) */
    uintptr_t stack_lo, stack_hi;  /* the thread's stack; 0: unknown (sites.c) */
    uintptr_t alt_lo, alt_hi;      /* the thread's alternate signal stack; lo == hi: none */
    void *sites;                   /* the thread's per-site figures (sites.c), owner-written */
    int exited;                    /* 1 from the thread's end to the record's takeover */
    uint64_t start_ticks, end_ticks;
    double cpu_sec;                /* at exit; running threads are read at report time */
    char name[16];
    pf_heap_thread_t heap __attribute__((aligned(PF_CACHELINE)));
    struct pf_tdom *dom[PF_MAX_PROFILERS];
    void *timeline;                /* the thread's timeline buffer (timeline.c), owner-written */
    void *cpu;                     /* the thread's CPU sampling timer and count (cpu.c) */
    pf_wait_thread_t wait;
    pf_thread_base_t base;         /* written by the taking thread before the record is live */
    struct pf_thread *free_next;   /* the retired records' stack (thread.c) */
} pf_thread_t;

extern __thread pf_thread_t *pf_self PF_HIDDEN;
/* Set while pferris itself runs on this thread (the report, the live sampler, hook internals):
 * the interposers then pass straight through without counting. */
extern __thread int pf_in_hook PF_HIDDEN;

pf_thread_t *pf_thread_attach(void) PF_HIDDEN;

/* The thread's alternate signal stack, [lo, hi) (lo == hi: none), from the program's
 * sigaltstack (the preload's interposer) or from one question to the kernel (sites.c). */
static inline void pf_thread_note_altstack(pf_thread_t *t, uintptr_t lo, uintptr_t hi)
{
    pf_store_relaxed(&t->alt_lo, lo);
    pf_store_relaxed(&t->alt_hi, hi);
    pf_store_release(&t->alt_known, 1);
}

/* The calling thread's state, created on first use; NULL only if memory ran out. */
static inline pf_thread_t *pf_thread(void)
{
    pf_thread_t *t = pf_self;
    if (pf_unlikely(!t))
        t = pf_thread_attach();
    return t;
}

/* First state of the list (newest first); walk with ->next (acquire loads). */
pf_thread_t *pf_thread_first(void) PF_HIDDEN;
pf_thread_t *pf_thread_next(pf_thread_t *t) PF_HIDDEN;
/* The threads listed now, oldest first, in a new array of *n entries (NULL when there are
 * none or memory ran out); give it back with pf_thread_array_free(array, n). */
pf_thread_t **pf_thread_array(size_t *n) PF_HIDDEN;
void pf_thread_array_free(pf_thread_t **array, size_t n) PF_HIDDEN;
/* Threads alive now, and the most that were alive at once. */
int pf_thread_live(void) PF_HIDDEN;
int pf_thread_max_concurrent(void) PF_HIDDEN;
/* Ends the calling thread's record (CPU time, name, end time); later events still count. */
void pf_thread_end(pf_thread_t *t) PF_HIDDEN;
/* Called on the ending thread by pf_thread_end, before the end is published, so that a layer
 * above (the heap) can settle the thread's figures. One hook; set before threads end. */
typedef void (*pf_thread_end_fn)(pf_thread_t *t);
void pf_thread_set_end_hook(pf_thread_end_fn fn) PF_HIDDEN;
/* Set by the module that keeps the rows of ended threads (retire.c), before threads end: called
 * by pf_thread_end on the ending thread, after the end hook, with the end tick, in place of
 * publishing end_ticks and exited (it publishes them with its fold of the thread's row). With
 * it set, the record of an ended thread is handed to a later thread once the ended one is gone
 * for good (the kernel says ESRCH for its tid): records are reused. */
typedef void (*pf_thread_retire_fn)(pf_thread_t *t, uint64_t end_ticks);
void pf_thread_set_retire_hook(pf_thread_retire_fn fn) PF_HIDDEN;
/* Called on the thread that takes over a record, before the record is listed as alive, so that
 * a layer above can forget its previous owner's running state (profile.c: timer stacks). */
typedef void (*pf_thread_reuse_fn)(pf_thread_t *t);
void pf_thread_set_reuse_hook(pf_thread_reuse_fn fn) PF_HIDDEN;
/* Records taken over so far (a figure for the tests and the docs). */
uint64_t pf_thread_reused(void) PF_HIDDEN;
/* Notes the low end of the calling thread's stack from what pthread_create was given: addr, the
 * stack the program supplied (NULL: glibc's own), and its size. */
void pf_thread_note_stack(pf_thread_t *t, void *addr, size_t size) PF_HIDDEN;
/* On the process's main thread only (else nothing): notes its stack, as the C library reads it
 * (pthread_getattr_np, from /proc/self/maps and RLIMIT_STACK), less 1 MiB at the low end. Once,
 * at the session's start, with pf_in_hook raised: the reading allocates. */
void pf_thread_note_main_stack(pf_thread_t *t) PF_HIDDEN;
/* The CPU sampler's hooks (cpu.c): start is called on a thread once its state exists (in
 * pf_thread_attach, so also for threads not created through pthread_create; on a taken-over
 * record before it is listed as alive), end as its record ends, before the end hook. Set once, before the threads they concern start. */
typedef void (*pf_thread_start_fn)(pf_thread_t *t);
void pf_thread_set_sampler_hooks(pf_thread_start_fn start, pf_thread_end_fn end) PF_HIDDEN;
/* In a fork child: the list becomes the calling thread alone, with fresh figures. */
void pf_thread_after_fork(void) PF_HIDDEN;
/* pthread_create as the program's threads would call it, for pferris's own threads: the
 * preload sets the real one, so they are not recorded as program threads. */
typedef int (*pf_pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
void pf_thread_real_create_set(pf_pthread_create_fn fn) PF_HIDDEN;
int pf_thread_real_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg) PF_HIDDEN;
/* Starts a thread with every signal blocked (it inherits the mask in force at its creation),
 * so no asynchronous signal of the program is ever handled on it. internal: one of pferris's
 * own threads (started with the real pthread_create, never recorded as a program thread, run
 * with pf_in_hook set, named with name cut to the kernel's 15 bytes, at most 4 at once); such
 * a thread must sleep only through pf_thread_internal_sleep and return when it says so: it is
 * stopped and joined when no program thread is left, so it never keeps the process alive.
 * Else a detached thread doing the program's work (the pool's). stack 0: default. 0 or the
 * pthread_create error. */
int pf_thread_spawn(void *(*fn)(void *), void *arg, size_t stack, int internal,
                    const char *name) PF_HIDDEN;
/* Sleeps ms milliseconds on one of pferris's own threads; 1 (at once) when the thread is to
 * end, else 0. */
int pf_thread_internal_sleep(long long ms) PF_HIDDEN;
/* The kernel's name of a thread of this process (running ones), into buf[16]. */
void pf_thread_name_of(int tid, char *buf) PF_HIDDEN;

#endif
