/* sites.c — sampling allocations by bytes, unwinding them into call sites, and remembering
 * sampled blocks until they are freed. See sites.h for the scheme and the estimator. */
#include "runtime/sites.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/rng.h"
#include "base/arena.h"
#include "base/warn.h"
#include "runtime/pyframes.h"

#define SITE_SLOTS  (2 * PF_MAX_SITES)
#define PAGE        64
#define MAX_PROBE   64
#define EMPTY       0u
#define TOMBSTONE   1u
#define BUSY        2u
#define WEIGHT_BITS 40
/* Stack the unwind needs below the sampling frame: the frame buffer and libunwind's cursor and
 * frames (measured: a 6 KiB signal stack overflowed, 8 KiB did not; twice that for margin). */
#define UNWIND_STACK (16 * 1024)

uint8_t pf_sites_filter[1u << PF_FILTER_LOG] PF_HIDDEN;
int pf_sites_tracking PF_HIDDEN;

typedef struct {
    uint64_t hash;
    uint32_t depth;
    void **frames;
} site_t;

typedef struct {
    uint64_t sampled;
    uint64_t allocs_x1024; /* estimated allocations, fixed point */
    uint64_t bytes;        /* estimated bytes */
    int64_t live;          /* estimated live bytes (negative where this thread freed others') */
} site_stat_t;

typedef struct {
    site_stat_t *pages[PF_MAX_SITES / PAGE];
} tsites_t;

static struct {
    long long mean;
    int depth;
    int active;
    const char *why;
    int (*backtrace)(void **, int);
    uintptr_t self_lo, self_hi; /* our own code: leading frames there are skipped */
    uintptr_t unw_lo, unw_hi;   /* libunwind's code: its own locks are not unwound from */
    site_t sites[PF_MAX_SITES];
    uint32_t nsites;
    uint32_t slots[SITE_SLOTS];
    uint64_t folded, untracked;
    /* Sampled blocks: address -> (site << WEIGHT_BITS | weighted bytes). */
    uint64_t *keys, *values;
    uint32_t table_log;
    int started;
} sites_state = {.nsites = 1, .why = "not started"};

/* ---- set-up --------------------------------------------------------------------------- */

/* The executable segment holding range[0], into range[0..1]. */
static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t *range = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && range[0] >= lo && range[0] < hi) {
            range[0] = lo;
            range[1] = hi;
            return 1;
        }
    }
    return 0;
}

static void text_of(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t range[2] = {(uintptr_t)addr, 0};
    if (dl_iterate_phdr(find_text, range)) {
        *lo = range[0];
        *hi = range[1];
    }
}

int pf_sites_in_unwinder(const void *addr)
{
    return (uintptr_t)addr >= sites_state.unw_lo && (uintptr_t)addr < sites_state.unw_hi;
}

void pf_sites_init(long long mean, int depth)
{
    sites_state.mean = mean;
    sites_state.depth = depth < 1 ? 1 : depth > PF_MAX_DEPTH ? PF_MAX_DEPTH : depth;
    pf_store_release(&sites_state.started, 1);
    if (mean <= 0) {
        sites_state.why = "PFERRIS_SAMPLE=0";
        return;
    }
    /* libunwind is loaded privately (RTLD_LOCAL): it also defines _Unwind_RaiseException and
     * friends, which must not take the place of the program's own unwinder for exceptions. */
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h)
        *(void **)&sites_state.backtrace = dlsym(h, "unw_backtrace");
    if (!sites_state.backtrace) {
        sites_state.why = "libunwind.so.8 could not be loaded";
        pf_warn("call sites are off: libunwind.so.8 could not be loaded (apt-get install libunwind8)");
        return;
    }
    sites_state.table_log = mean == 1 ? 21 : 16; /* 2M or 64k sampled blocks live at once at most */
    size_t n = (size_t)1 << sites_state.table_log;
    sites_state.keys = pf_arena_zalloc(n * sizeof *sites_state.keys);
    sites_state.values = pf_arena_zalloc(n * sizeof *sites_state.values);
    if (!sites_state.keys || !sites_state.values) {
        sites_state.why = "out of memory";
        return;
    }
#if PF_PRELOAD
    text_of((const void *)(uintptr_t)pf_sites_init, &sites_state.self_lo, &sites_state.self_hi);
#endif
    text_of((const void *)(uintptr_t)sites_state.backtrace, &sites_state.unw_lo, &sites_state.unw_hi);
    sites_state.why = NULL;
    pf_store_relaxed(&pf_sites_tracking, 1);
    pf_store_release(&sites_state.active, 1);
}

void pf_sites_info(pf_sites_info_t *out)
{
    out->mean = sites_state.mean;
    out->depth = sites_state.depth;
    out->active = pf_load_acquire(&sites_state.active);
    out->inactive_why = out->active ? NULL : sites_state.why;
    out->sites_folded = pf_load_relaxed(&sites_state.folded);
    out->untracked = pf_load_relaxed(&sites_state.untracked);
}

/* ---- the countdown ---------------------------------------------------------------------- */

/* Bytes to the next sample: exponential with mean sites_state.mean (a Poisson process over bytes). */
static int64_t next_interval(uint64_t *rng)
{
    return pf_rng_exponential(rng, (double)sites_state.mean);
}

/* ---- sites ------------------------------------------------------------------------------ */

static uint32_t intern_site(void **frames, uint32_t depth)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < depth; i++)
        h = (h ^ (uintptr_t)frames[i]) * 1099511628211ull;
    h ^= depth;
    uint32_t mine = 0;
    for (uint32_t i = 0; i < SITE_SLOTS; i++) {
        uint32_t *slot = &sites_state.slots[(h + i) & (SITE_SLOTS - 1)];
        uint32_t v = pf_load_acquire(slot);
        if (v == 0) {
            if (!mine) {
                mine = pf_take_below(&sites_state.nsites, PF_MAX_SITES);
                if (mine >= PF_MAX_SITES) {
                    pf_fetch_add_relaxed(&sites_state.folded, 1);
                    return 0;
                }
                void **copy = pf_arena_zalloc(depth * sizeof *copy);
                if (!copy)
                    return 0;
                memcpy(copy, frames, depth * sizeof *copy);
                sites_state.sites[mine] = (site_t){.hash = h, .depth = depth, .frames = copy};
            }
            if (pf_cas_acq_rel(slot, &v, mine + 1))
                return mine;
        }
        site_t *s = &sites_state.sites[v - 1];
        if (s->hash == h && s->depth == depth &&
            memcmp(s->frames, frames, depth * sizeof *frames) == 0) {
            if (mine) /* lost a race for the same stack: our copy stays unused */
                sites_state.sites[mine].depth = 0;
            return v - 1;
        }
    }
    return 0;
}

static site_stat_t *stat_of(pf_thread_t *t, uint32_t site)
{
    tsites_t *ts = t->sites;
    if (!ts && !(ts = t->sites = pf_arena_zalloc(sizeof *ts)))
        return NULL;
    site_stat_t **page = &ts->pages[site / PAGE];
    if (!*page) {
        site_stat_t *p = pf_arena_zalloc(PAGE * sizeof *p);
        if (!p)
            return NULL;
        pf_store_release(page, p);
    }
    return &(*page)[site % PAGE];
}

/* ---- sampled blocks --------------------------------------------------------------------- */

/* Where a block's address goes in the table: blocks near each other in memory land near each
 * other, so only the parts of the table that mirror the heap in use are ever touched (with
 * every allocation sampled, a hash that scatters would make the whole table resident); the
 * higher bits are mixed in so heaps 2^k bytes apart (glibc's per-thread arenas are 64 MiB
 * aligned) do not pile onto the same slots. */
static inline uint64_t block_slot(uint64_t a)
{
    return (a >> 4) ^ ((a >> 24) * 0x9E3779B1u);
}

static void remember(void *p, uint32_t site, uint64_t weighted)
{
    uint64_t key = (uintptr_t)p, mask = ((uint64_t)1 << sites_state.table_log) - 1;
    uint64_t h = block_slot(key);
    if (weighted >= (uint64_t)1 << WEIGHT_BITS)
        weighted = ((uint64_t)1 << WEIGHT_BITS) - 1;
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint64_t *k = &sites_state.keys[(h + i) & mask];
        uint64_t v = pf_load_acquire(k);
        if ((v == EMPTY || v == TOMBSTONE) && pf_cas_acq_rel(k, &v, BUSY)) {
            pf_store_relaxed(&sites_state.values[(h + i) & mask], (uint64_t)site << WEIGHT_BITS | weighted);
            pf_store_release(k, key);
            uint8_t *f = &pf_sites_filter[pf_sites_slot(p)];
            /* Saturates and then stays: such a slot always takes the lookup. */
            uint8_t c = pf_load_relaxed(f);
            while (c != 255 && !__atomic_compare_exchange_n(f, &c, (uint8_t)(c + 1), 0,
                                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
            return;
        }
    }
    pf_fetch_add_relaxed(&sites_state.untracked, 1);
}

void pf_sites_forget(pf_thread_t *t, void *p)
{
    if (!sites_state.keys)
        return;
    uint64_t key = (uintptr_t)p, mask = ((uint64_t)1 << sites_state.table_log) - 1;
    uint64_t h = block_slot(key);
    for (uint32_t i = 0; i < MAX_PROBE; i++) {
        uint64_t *k = &sites_state.keys[(h + i) & mask];
        uint64_t v = pf_load_acquire(k);
        if (v == EMPTY)
            return;
        if (v != key)
            continue;
        uint64_t value = pf_load_relaxed(&sites_state.values[(h + i) & mask]);
        pf_store_release(k, TOMBSTONE); /* only the thread freeing p gets here */
        uint8_t *f = &pf_sites_filter[pf_sites_slot(p)];
        uint8_t c = pf_load_relaxed(f);
        while (c != 255 && c != 0 &&
               !__atomic_compare_exchange_n(f, &c, (uint8_t)(c - 1), 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
            ;
        site_stat_t *st = stat_of(t, (uint32_t)(value >> WEIGHT_BITS));
        if (st)
            pf_owner_add(&st->live, -(int64_t)(value & (((uint64_t)1 << WEIGHT_BITS) - 1)));
        return;
    }
}

/* ---- the sample ------------------------------------------------------------------------- */

/* Whether the stack we run on has room for the unwind. Known bounds: the thread's alternate
 * signal stack, and the threads started through the preload (their low end is noted at their
 * start). The alternate stack's bounds are noted by the preload's sigaltstack interposer, and
 * asked of the kernel once per thread before that (a library may have set one before pferris
 * started). On any other stack (the main thread's, a coroutine's, an alternate stack set by a
 * raw system call) the kernel is asked at each sample, as it was on every stack: that system
 * call was a quarter of a sample's cost on mallocbench's threads. */
static int stack_has_room(pf_thread_t *t)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    stack_t ss;
    if (!pf_load_acquire(&t->alt_known)) {
        uintptr_t lo = 0, hi = 0;
        if (syscall(SYS_sigaltstack, NULL, &ss) == 0 &&
            ((ss.ss_flags & SS_ONSTACK) || !(ss.ss_flags & SS_DISABLE))) {
            lo = (uintptr_t)ss.ss_sp;
            hi = lo + ss.ss_size;
        }
        pf_thread_note_altstack(t, lo, hi);
    }
    uintptr_t alt_lo = pf_load_relaxed(&t->alt_lo), alt_hi = pf_load_relaxed(&t->alt_hi);
    if (sp > alt_lo && sp <= alt_hi)
        return sp - alt_lo >= UNWIND_STACK;
    uintptr_t lo = pf_load_relaxed(&t->stack_lo), hi = pf_load_relaxed(&t->stack_hi);
    if (lo && sp > lo && sp <= hi)
        return sp - lo >= UNWIND_STACK;
    if (syscall(SYS_sigaltstack, NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
        uintptr_t base = (uintptr_t)ss.ss_sp;
        return sp > base && sp - base >= UNWIND_STACK;
    }
    return 1;
}

#if PF_PRELOAD
static inline int is_self(const void *pc)
{
    return (uintptr_t)pc >= sites_state.self_lo && (uintptr_t)pc < sites_state.self_hi;
}
#endif

/* The site of the stack that called this function, skipping this function, `callers` frames
 * more, and pferris's own frames, with the Python frames in place of the eval loop's. A function of its own, so that its frame buffer is only on the
 * stack once stack_has_room said there is room for it. */
static __attribute__((noinline)) uint32_t unwind_site(int callers)
{
    void *buf[PF_MAX_DEPTH + 16];
    int n = sites_state.backtrace(buf, sites_state.depth + 16 + callers);
    int skip = 1 + callers;
#if PF_PRELOAD
    /* pferris's frames: the leading ones (the interposer that was called), and any further in,
     * an interposer the C library went through on its way (pthread_create allocating the new
     * thread's TLS): a stack reads as it would without pferris. */
    while (skip < n && is_self(buf[skip]))
        skip++;
    int kept = skip;
    for (int i = skip; i < n; i++)
        if (!is_self(buf[i]))
            buf[kept++] = buf[i];
    n = kept;
#endif
    int depth = n - skip;
    if (depth > 0 && pf_pyframes_active()) {
        void *merged[PF_MAX_DEPTH];
        depth = (int)pf_pyframes_merge(buf + skip, (uint32_t)depth, merged, (uint32_t)sites_state.depth);
        return depth > 0 ? intern_site(merged, (uint32_t)depth) : 0;
    }
    if (depth > sites_state.depth)
        depth = sites_state.depth;
    return depth > 0 ? intern_site(buf + skip, (uint32_t)depth) : 0;
}

void pf_sites_sample(pf_thread_t *t, void *p, size_t size)
{
    pf_heap_thread_t *h = &t->heap;
    if (!pf_load_acquire(&sites_state.active)) {
        /* Before the session starts, look again at the next allocation (there are few, and
         * the first one after the start must be decided afresh); once it is known to be off,
         * practically never. */
        pf_heap_set_sample_left(h, pf_load_relaxed(&sites_state.started) ? INT64_MAX / 2 : -1);
        return;
    }
    if (!h->rng) {
        /* First sample decision of this thread: draw its first interval, unbiased. */
        h->rng = ((uint64_t)syscall(SYS_gettid) * 0x9E3779B97F4A7C15ull) ^ pf_clock_ticks() ^ 1;
        int64_t first =
            sites_state.mean == 1 ? -1 : next_interval(&h->rng) + pf_heap_sample_left(h);
        pf_heap_set_sample_left(h, first);
        if (sites_state.mean != 1 && first >= 0)
            return;
    }
    double prob;
    if (sites_state.mean == 1) {
        pf_heap_set_sample_left(h, -1); /* every allocation, weight 1 */
        prob = 1.0;
    } else {
        int64_t left = pf_heap_sample_left(h);
        while (left < 0)
            left += next_interval(&h->rng);
        pf_heap_set_sample_left(h, left);
        prob = -expm1(-(double)size / (double)sites_state.mean); /* 1 - exp(-size / mean) */
        if (prob <= 0)
            prob = 1.0 / (double)sites_state.mean; /* size 0: as likely as one byte */
    }
    if (pf_in_hook)
        return;
    pf_in_hook++;
    int saved = errno;
    /* No room: counted under site 0, unwound no further (sites.h). */
    /* Skipped: this function and its caller, pf_heap_alloc_rare (pferris's own frames are
     * skipped by address as well in the preload). */
    uint32_t site = stack_has_room(t) ? unwind_site(2) : 0;
    errno = saved;
    site_stat_t *st = stat_of(t, site);
    if (st) {
        double w = 1.0 / prob;
        uint64_t weighted = (uint64_t)llround((double)size * w);
        pf_owner_add(&st->sampled, 1);
        pf_owner_add(&st->allocs_x1024, (uint64_t)llround(1024.0 * w));
        pf_owner_add(&st->bytes, weighted);
        pf_owner_add(&st->live, (int64_t)weighted);
        if (p)
            remember(p, site, weighted);
    }
    pf_in_hook--;
}

/* ---- readers ---------------------------------------------------------------------------- */

static int by_bytes_desc(const void *a, const void *b)
{
    double x = ((const pf_site_view_t *)a)->bytes, y = ((const pf_site_view_t *)b)->bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t pf_sites_collect(pf_site_view_t *out)
{
    uint32_t n = pf_load_relaxed(&sites_state.nsites);
    if (n > PF_MAX_SITES)
        n = PF_MAX_SITES;
    memset(out, 0, n * sizeof *out);
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        tsites_t *ts = pf_load_acquire((tsites_t **)&t->sites);
        if (!ts)
            continue;
        for (uint32_t pg = 0; pg * PAGE < n; pg++) {
            site_stat_t *page = pf_load_acquire(&ts->pages[pg]);
            if (!page)
                continue;
            for (uint32_t i = 0; i < PAGE && pg * PAGE + i < n; i++) {
                pf_site_view_t *o = &out[pg * PAGE + i];
                site_stat_t *s = &page[i];
                o->sampled += pf_load_relaxed(&s->sampled);
                o->allocations += (double)pf_load_relaxed(&s->allocs_x1024) / 1024.0;
                o->bytes += (double)pf_load_relaxed(&s->bytes);
                o->live_bytes += (double)pf_load_relaxed(&s->live);
            }
        }
    }
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!out[i].sampled && out[i].live_bytes == 0)
            continue;
        out[k] = out[i];
        out[k].id = i;
        out[k].depth = i ? sites_state.sites[i].depth : 0;
        out[k].frames = i ? (void *const *)sites_state.sites[i].frames : NULL;
        k++;
    }
    qsort(out, k, sizeof *out, by_bytes_desc);
    return k;
}

void pf_sites_after_fork(void)
{
    /* The child's counts start at zero; its inherited sampled blocks stay in the table, so
     * freeing them is still recognised (their site's live figure may then go below zero in
     * the child, as its heap's does). */
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t))
        t->sites = NULL;
}

/* ---- call sites for other events (waits.c) ----------------------------------------------- */

uint32_t pf_sites_capture(int callers)
{
    if (!pf_load_acquire(&sites_state.active))
        return 0;
    uint32_t site = unwind_site(1 + callers); /* this function and the caller's own frames */
    __asm__ volatile("" ::: "memory"); /* no tail call: this frame is one of those skipped */
    return site;
}

void *const *pf_sites_frames(uint32_t id, uint32_t *depth)
{
    if (id == 0 || id >= PF_MAX_SITES || id >= pf_load_relaxed(&sites_state.nsites)) {
        *depth = 0;
        return NULL;
    }
    *depth = sites_state.sites[id].depth;
    return (void *const *)sites_state.sites[id].frames;
}
