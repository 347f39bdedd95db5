/* waits.c — time blocked in the pthread synchronisation calls, per thread and per lock, and the
 * call sites of the waits, sampled by wait time. See waits.h for the scheme.
 *
 * Only the contended path gets here, so the lock's entry is shared and updated with atomic
 * adds: the thread has just come back from the kernel, and one more cache line costs nothing
 * beside that. The table is insert-only and never locked, so a fork cannot leave it held. */
#include "runtime/waits.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/name.h"
#include "base/rng.h"
#include "runtime/sites.h"

#define LOCK_SLOTS (2 * PF_MAX_LOCKS) /* a power of two; at most half full */
#define MAX_PROBE  64
#define TID_BITS   256

typedef struct {
    uintptr_t addr; /* 0: empty; set once, by CAS */
    uint32_t kind;
    uint64_t contended, wait_ticks, max_ticks, samples;
    uint64_t tids[TID_BITS / 64]; /* a bit per tid hash: distinct waiters by linear counting */
    const void *caller;           /* the first caller; set once, by the entry's creator */
    uint32_t site[PF_LOCK_SITES]; /* 0: free; set once, by CAS */
    uint64_t site_samples[PF_LOCK_SITES];
} __attribute__((aligned(PF_CACHELINE))) lock_t;

pf_waits_interval_fn pf_waits_interval_sink PF_HIDDEN;

static struct {
    lock_t locks[LOCK_SLOTS];
    uint64_t taken[LOCK_SLOTS / 64]; /* a bit per entry in use: the report reads only those */
    uint32_t used;
    uint64_t dropped;
    double mean_ticks; /* PF_WAIT_SAMPLE_NS in ticks; 0 until the first wait */
} waits_state;

const char *pf_waits_kind_name(pf_wait_kind_t kind)
{
    static const char *const names[] = {"mutex", "rwlock", "cond", "barrier", "sem"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* The timeline's name of a wait: literals, so the name table finds them by address. */
static const char *interval_name(pf_wait_kind_t kind)
{
    static const char *const names[] = {"wait: mutex", "wait: rwlock", "wait: cond",
                                        "wait: barrier", "wait: sem"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "wait";
}

/* PF_WAIT_SAMPLE_NS in ticks, measured once. */
static double mean_ticks(void)
{
    double mean;
    __atomic_load(&waits_state.mean_ticks, &mean, __ATOMIC_RELAXED);
    if (mean == 0) { /* racing threads store nearly equal figures; either is right */
        mean = PF_WAIT_SAMPLE_NS / pf_clock_ticks_to_sec(1000000000ull); /* ns x ticks/ns */
        __atomic_store(&waits_state.mean_ticks, &mean, __ATOMIC_RELAXED);
    }
    return mean;
}

/* The lock's entry, created on first use; *fresh when this call created it. NULL when the table
 * is full. */
static lock_t *lock_of(const void *addr, pf_wait_kind_t kind, int *fresh)
{
    uintptr_t key = (uintptr_t)addr;
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 32;
    *fresh = 0;
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        lock_t *l = &waits_state.locks[(h + i) & (LOCK_SLOTS - 1)];
        uintptr_t v = pf_load_acquire(&l->addr);
        if (v == key)
            return l;
        if (v != 0)
            continue;
        if (pf_fetch_add_relaxed(&waits_state.used, 1) >= PF_MAX_LOCKS) {
            pf_fetch_add_relaxed(&waits_state.used, -1);
            return NULL;
        }
        if (pf_cas_acq_rel(&l->addr, &v, key)) {
            uint32_t slot = (uint32_t)((h + i) & (LOCK_SLOTS - 1));
            pf_store_relaxed(&l->kind, (uint32_t)kind);
            __atomic_fetch_or(&waits_state.taken[slot / 64], 1ull << (slot % 64), __ATOMIC_RELEASE);
            *fresh = 1;
            return l;
        }
        pf_fetch_add_relaxed(&waits_state.used, -1);
        if (v == key) /* another thread entered the same lock first */
            return l;
    }
    return NULL;
}

/* Ticks of waiting to the next sample: exponential with mean PF_WAIT_SAMPLE_NS. */
static int64_t next_interval(uint64_t *rng)
{
    return pf_rng_exponential(rng, mean_ticks());
}

static void add_site(lock_t *l, uint32_t site, uint64_t samples)
{
    for (int i = 0; i < PF_LOCK_SITES; i++) {
        uint32_t s = pf_load_acquire(&l->site[i]);
        if (s == 0 && pf_cas_acq_rel(&l->site[i], &s, site))
            s = site;
        if (s == site) {
            pf_fetch_add_relaxed(&l->site_samples[i], samples);
            return;
        }
    }
    /* More call sites than slots: the sample still counts for the lock, not for a site. */
}

void pf_waits_end(const void *addr, pf_wait_kind_t kind, uint64_t begin, const void *caller)
{
    uint64_t end = pf_clock_ticks();
    uint64_t dt = end > begin ? end - begin : 0;
    int saved = errno;
    pf_in_hook++;
    pf_thread_t *t = pf_thread();
    if (t)
        pf_owner_add(&t->wait.ticks, dt);
    int fresh;
    lock_t *l = lock_of(addr, kind, &fresh);
    if (!l) {
        pf_fetch_add_relaxed(&waits_state.dropped, 1);
    } else {
        if (fresh)
            pf_store_relaxed(&l->caller, caller);
        pf_fetch_add_relaxed(&l->contended, 1);
        pf_fetch_add_relaxed(&l->wait_ticks, dt);
        uint64_t m = pf_load_relaxed(&l->max_ticks);
        while (dt > m && !pf_cas_relaxed(&l->max_ticks, &m, dt))
            ;
        if (t) {
            uint32_t b = (uint32_t)(((uint64_t)(unsigned)t->tid * 0x9E3779B97F4A7C15ull) >> 56);
            uint64_t *w = &l->tids[b / 64], bit = 1ull << (b % 64);
            if (!(pf_load_relaxed(w) & bit))
                __atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
        }
    }
    if (t) {
        int sample = 0;
        pf_wait_thread_t *tw = &t->wait;
        if (!tw->rng) {
            tw->rng = ((uint64_t)syscall(SYS_gettid) * 0x9E3779B97F4A7C15ull) ^ end ^ 1;
            tw->left = next_interval(&tw->rng);
        }
        tw->left -= (int64_t)(dt > INT64_MAX ? INT64_MAX : dt);
        while (tw->left < 0) {
            tw->left += next_interval(&tw->rng);
            sample++;
        }
        if (l && (sample || fresh) && !pf_sites_in_unwinder(caller)) {
            uint32_t site = pf_sites_capture(1); /* from pf_waits_end's caller */
            if (site)
                add_site(l, site, (uint64_t)sample);
            pf_fetch_add_relaxed(&l->samples, (uint64_t)sample);
        }
        pf_waits_interval_fn sink = pf_load_relaxed(&pf_waits_interval_sink);
        if (sink && (double)dt >= mean_ticks() * (PF_WAIT_TRACE_NS / PF_WAIT_SAMPLE_NS))
            sink(pf_name_id(interval_name(kind)), begin, end);
    }
    pf_in_hook--;
    errno = saved;
}

/* ---- readers ---------------------------------------------------------------------------- */

static int by_wait_desc(const void *a, const void *b)
{
    uint64_t x = ((const pf_lock_view_t *)a)->wait_ticks, y = ((const pf_lock_view_t *)b)->wait_ticks;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t pf_waits_collect(pf_lock_view_t *out)
{
    size_t n = 0;
    /* Only the entries in use: the table is 1.5 MiB, most of it never touched (reading it all
     * cost 383 page faults at every report). */
    for (uint32_t i = 0; i < LOCK_SLOTS && n < PF_MAX_LOCKS; i++) {
        if (i % 64 == 0 && pf_load_acquire(&waits_state.taken[i / 64]) == 0) {
            i += 63;
            continue;
        }
        if (!(pf_load_relaxed(&waits_state.taken[i / 64]) >> (i % 64) & 1))
            continue;
        lock_t *l = &waits_state.locks[i];
        uintptr_t a = pf_load_acquire(&l->addr);
        uint64_t contended = a ? pf_load_relaxed(&l->contended) : 0;
        if (!contended)
            continue;
        pf_lock_view_t *o = &out[n++];
        memset(o, 0, sizeof *o);
        o->addr = (const void *)a;
        o->kind = (pf_wait_kind_t)pf_load_relaxed(&l->kind);
        o->contended = contended;
        o->wait_ticks = pf_load_relaxed(&l->wait_ticks);
        o->max_ticks = pf_load_relaxed(&l->max_ticks);
        o->samples = pf_load_relaxed(&l->samples);
        o->caller = pf_load_relaxed(&l->caller);
        int bits = 0;
        for (int k = 0; k < TID_BITS / 64; k++)
            bits += __builtin_popcountll(pf_load_relaxed(&l->tids[k]));
        /* Linear counting: exact while no two waiters share a bit, close for a few dozen. */
        o->threads = bits >= TID_BITS ? TID_BITS
                                      : (uint32_t)llround(-(double)TID_BITS * log1p(-(double)bits / TID_BITS));
        if (o->threads < (uint32_t)bits)
            o->threads = (uint32_t)bits;
        for (int k = 0; k < PF_LOCK_SITES; k++) {
            uint32_t s = pf_load_acquire(&l->site[k]);
            uint64_t c = pf_load_relaxed(&l->site_samples[k]);
            if (s && (!o->site || c > o->site_samples)) {
                o->site = s;
                o->site_samples = c;
            }
        }
    }
    qsort(out, n, sizeof *out, by_wait_desc);
    return n;
}

uint64_t pf_waits_dropped(void)
{
    return pf_load_relaxed(&waits_state.dropped);
}

void pf_waits_after_fork(void)
{
    /* Single-threaded in the child: the parent's locks are forgotten (the sampling mean is
     * kept). Only entries in use are cleared, so the table's untouched pages stay untouched. */
    for (uint32_t i = 0; i < LOCK_SLOTS; i++)
        if (waits_state.taken[i / 64] >> (i % 64) & 1)
            memset(&waits_state.locks[i], 0, sizeof waits_state.locks[i]);
    memset(waits_state.taken, 0, sizeof waits_state.taken);
    waits_state.used = 0;
    waits_state.dropped = 0;
}
