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
#define UNWIND_STACK  (16 * 1024)
/* Frames an unwind's buffer holds: the deepest stack kept, and pferris's and skipped frames. */
#define UNWIND_FRAMES (PF_MAX_DEPTH + 16)

/* Each on lines of its own: every free reads pf_sites_tracking, and a sample's or a free's atomic
 * add to a filter counter sharing its line would take that line from every other core. */
_Alignas(PF_CACHELINE) uint8_t pf_sites_filter[1u << PF_FILTER_LOG] PF_HIDDEN;
_Alignas(PF_CACHELINE) int pf_sites_tracking PF_HIDDEN;

/* A site: its stack, in one arena block with its key, so that a sample finding its site reads
 * the slot and this block (one cache line for a stack of up to six frames), nothing more. */
typedef struct {
    uint64_t hash;
    uint32_t depth; /* 0: a copy that lost the race to be the stack's site, never counted */
    uint32_t id;
    void *frames[];
} site_t;

typedef struct {
    uint64_t sampled;
    uint64_t allocs_x1024; /* estimated allocations, fixed point */
    uint64_t bytes;        /* estimated bytes */
    int64_t live;          /* estimated live bytes (negative where this thread freed others') */
} site_stat_t;

/* A thread's figures by site, in pages of PAGE sites made on first use; the first page is
 * inline, so that a program's first sites are one cache line away from the record. */
typedef struct {
    site_stat_t first[PAGE];
    site_stat_t *pages[PF_MAX_SITES / PAGE]; /* pages[0] is first */
} tsites_t;

/* A sampled block: its address, and its site << WEIGHT_BITS | its weighted bytes. */
typedef struct {
    uint64_t key, value;
} block_t;

/* An open-addressing table of sampled blocks, probed up to `probe` slots from a block's slot. */
typedef struct {
    block_t *slots;
    uint64_t mask;
    uint32_t probe;
} btable_t;

/* The hot table: one page, where a sampled block is remembered first. A sample comes after
 * hundreds of kilobytes of the program's own allocations, which leave the large table's line
 * and page cold: on mallocbench that lookup cost a TLB and a cache miss, 700 to 850 TSC ticks
 * of a sample's 2,500 to 3,100; in this page it costs 220. Most programs have few sampled blocks live
 * at once (one per PFERRIS_SAMPLE bytes of live heap); the rest go to the large table. */
#define HOT_LOG   8
#define HOT_SLOTS (1u << HOT_LOG)
#define HOT_PROBE 8
static _Alignas(4096) block_t hot_slots[HOT_SLOTS];
static btable_t hot_table = {hot_slots, HOT_SLOTS - 1, HOT_PROBE};

static struct {
    long long mean;
    int depth;
    int active;
    const char *why;
    int (*backtrace)(void **, int);
    uintptr_t self_lo, self_hi; /* our own code: leading frames there are skipped */
    uintptr_t unw_lo, unw_hi;   /* libunwind's code: its own locks are not unwound from */
    site_t *sites[PF_MAX_SITES]; /* by id; NULL until made (or when memory ran out) */
    uint32_t nsites;
    site_t *slots[SITE_SLOTS];   /* by the stack's hash */
    uint64_t folded, untracked;
    /* Sampled blocks whose address did not find room in the hot table (below). */
    btable_t big;
    uint64_t big_used; /* blocks in it now: a free looks there only when it holds any */
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
    /* 2M or 64k sampled blocks live at once at most. With every allocation sampled the hot
     * table would only be a full page probed first: it is not used. */
    size_t n = (size_t)1 << (mean == 1 ? 21 : 16);
    if (!(sites_state.big.slots = pf_arena_zalloc(n * sizeof(block_t)))) {
        sites_state.why = "out of memory";
        return;
    }
    sites_state.big.mask = n - 1;
    sites_state.big.probe = MAX_PROBE;
    if (mean == 1)
        hot_table.probe = 0;
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
    site_t *mine = NULL;
    for (uint32_t i = 0; i < SITE_SLOTS; i++) {
        site_t **slot = &sites_state.slots[(h + i) & (SITE_SLOTS - 1)];
        site_t *s = pf_load_acquire(slot);
        if (!s) {
            if (!mine) {
                uint32_t id = pf_take_below(&sites_state.nsites, PF_MAX_SITES);
                if (id >= PF_MAX_SITES) {
                    pf_fetch_add_relaxed(&sites_state.folded, 1);
                    return 0;
                }
                if (!(mine = pf_arena_zalloc(sizeof *mine + depth * sizeof *frames)))
                    return 0;
                mine->hash = h;
                mine->depth = depth;
                mine->id = id;
                memcpy(mine->frames, frames, depth * sizeof *frames);
                pf_store_release(&sites_state.sites[id], mine);
            }
            if (pf_cas_acq_rel(slot, &s, mine))
                return mine->id;
        }
        if (s->hash == h && s->depth == depth &&
            memcmp(s->frames, frames, depth * sizeof *frames) == 0) {
            if (mine) /* lost a race for the same stack: our copy stays unused */
                pf_store_relaxed(&mine->depth, 0);
            return s->id;
        }
    }
    return 0;
}

static site_stat_t *stat_of(pf_thread_t *t, uint32_t site)
{
    tsites_t *ts = t->sites;
    if (pf_unlikely(!ts)) {
        if (!(ts = pf_arena_zalloc(sizeof *ts)))
            return NULL;
        ts->pages[0] = ts->first;
        pf_store_release((tsites_t **)&t->sites, ts);
    }
    if (site < PAGE)
        return &ts->first[site];
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

/* Where a block's address goes in the large table: blocks near each other in memory land near
 * each other, so only the parts of the table that mirror the heap in use are ever touched (with
 * every allocation sampled, a hash that scatters would make the whole table resident); the
 * higher bits are mixed in so heaps 2^k bytes apart (glibc's per-thread arenas are 64 MiB
 * aligned) do not pile onto the same slots. */
static inline uint64_t block_slot(uint64_t a)
{
    return (a >> 4) ^ ((a >> 24) * 0x9E3779B1u);
}

/* In the hot table, scattered: it is one page whichever slot is touched. */
static inline uint64_t hot_slot(uint64_t a)
{
    return ((a >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - HOT_LOG);
}

static int table_put(btable_t *t, uint64_t h, uint64_t key, uint64_t value)
{
    for (uint32_t i = 0; i < t->probe; i++) {
        block_t *b = &t->slots[(h + i) & t->mask];
        uint64_t v = pf_load_acquire(&b->key);
        if ((v == EMPTY || v == TOMBSTONE) && pf_cas_acq_rel(&b->key, &v, BUSY)) {
            pf_store_relaxed(&b->value, value);
            pf_store_release(&b->key, key);
            return 1;
        }
    }
    return 0;
}

/* Removes key and gives its value; 0 when the table does not hold it. */
static int table_take(btable_t *t, uint64_t h, uint64_t key, uint64_t *value)
{
    for (uint32_t i = 0; i < t->probe; i++) {
        block_t *b = &t->slots[(h + i) & t->mask];
        uint64_t v = pf_load_acquire(&b->key);
        if (v == EMPTY)
            return 0;
        if (v != key)
            continue;
        *value = pf_load_relaxed(&b->value);
        pf_store_release(&b->key, TOMBSTONE); /* only the thread freeing the block gets here */
        return 1;
    }
    return 0;
}

static void remember(void *p, uint32_t site, uint64_t weighted)
{
    uint64_t key = (uintptr_t)p;
    if (weighted >= (uint64_t)1 << WEIGHT_BITS)
        weighted = ((uint64_t)1 << WEIGHT_BITS) - 1;
    uint64_t value = (uint64_t)site << WEIGHT_BITS | weighted;
    if (!table_put(&hot_table, hot_slot(key), key, value)) {
        /* Counted before the block is in: a free of it, which the program can only make after
         * this allocation returned, then sees the count and looks there. */
        pf_fetch_add_relaxed(&sites_state.big_used, 1);
        if (!table_put(&sites_state.big, block_slot(key), key, value)) {
            pf_fetch_add_relaxed(&sites_state.big_used, (uint64_t)-1);
            pf_fetch_add_relaxed(&sites_state.untracked, 1);
            return;
        }
    }
    uint8_t *f = &pf_sites_filter[pf_sites_slot(p)];
    /* Saturates and then stays: such a slot always takes the lookup. */
    uint8_t c = pf_load_relaxed(f);
    while (c != 255 && !__atomic_compare_exchange_n(f, &c, (uint8_t)(c + 1), 0, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED))
        ;
}

void pf_sites_forget(pf_thread_t *t, void *p)
{
    if (!sites_state.big.slots)
        return;
    uint64_t key = (uintptr_t)p, value;
    if (!table_take(&hot_table, hot_slot(key), key, &value)) {
        if (!pf_load_relaxed(&sites_state.big_used) ||
            !table_take(&sites_state.big, block_slot(key), key, &value))
            return;
        pf_fetch_add_relaxed(&sites_state.big_used, (uint64_t)-1);
    }
    uint8_t *f = &pf_sites_filter[pf_sites_slot(p)];
    uint8_t c = pf_load_relaxed(f);
    while (c != 255 && c != 0 &&
           !__atomic_compare_exchange_n(f, &c, (uint8_t)(c - 1), 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
    site_stat_t *st = stat_of(t, (uint32_t)(value >> WEIGHT_BITS));
    if (st)
        pf_owner_add(&st->live, -(int64_t)(value & (((uint64_t)1 << WEIGHT_BITS) - 1)));
}

/* ---- the sample ------------------------------------------------------------------------- */

/* Whether the stack we run on has room for the unwind. Known bounds: the thread's alternate
 * signal stack, the threads started through the preload (their low end is noted at their
 * start) and the main thread (noted at the session's start). The alternate stack's bounds are
 * noted by the preload's sigaltstack interposer, and asked of the kernel once per thread before
 * that (a library may have set one before pferris started). On any other stack (a coroutine's,
 * an alternate stack set by a raw system call, a thread started behind the preload's back) the
 * kernel is asked at each sample, as it was on every stack: that system call was a quarter of a
 * sample's cost on mallocbench's threads. */
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

/* The site of native frames with the Python frames in place of the eval loop's. Out of line:
 * its buffer is on the stack only once the sample knows there is room for it. */
static __attribute__((noinline)) uint32_t intern_python(void *const *native, int n)
{
    void *merged[PF_MAX_DEPTH];
    int depth = (int)pf_pyframes_merge(native, (uint32_t)n, merged, (uint32_t)sites_state.depth);
    return depth > 0 ? intern_site(merged, (uint32_t)depth) : 0;
}

/* The site of the calling stack, unwound into buf (room for UNWIND_FRAMES): from the
 * first frame that is `from` when it is among the first eight, else `skip` frames in (1: the
 * caller of the function this is inlined into); pferris's own frames left out; the Python
 * frames in place of the eval loop's. Inlined, so that the unwind starts in the frame that
 * holds buf. */
static inline __attribute__((always_inline)) uint32_t unwind_into(void **buf, int skip,
                                                                  const void *from)
{
    /* pferris's own frames and the skipped ones come on top of the depth asked for; never more
     * than buf holds (PFERRIS_STACK_DEPTH=128 on a deeper stack overran it). */
    int want = sites_state.depth + 16 + skip;
    int n = sites_state.backtrace(buf, want < UNWIND_FRAMES ? want : UNWIND_FRAMES);
    for (int i = 0; from && i < n && i < 8; i++)
        if (buf[i] == from) {
            skip = i;
            break;
        }
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
    if (depth > 0 && pf_pyframes_active())
        return intern_python(buf + skip, depth);
    if (depth > sites_state.depth)
        depth = sites_state.depth;
    return depth > 0 ? intern_site(buf + skip, (uint32_t)depth) : 0;
}

/* Draws the thread's next interval; whether this allocation is sampled, and its chance. */
static inline __attribute__((always_inline)) int sample_due(pf_heap_thread_t *h, size_t size,
                                                            double *prob)
{
    if (!pf_load_acquire(&sites_state.active)) {
        /* Before the session starts, look again at the next allocation (there are few, and
         * the first one after the start must be decided afresh); once it is known to be off,
         * practically never. */
        pf_heap_set_sample_left(h, pf_load_relaxed(&sites_state.started) ? INT64_MAX / 2 : -1);
        return 0;
    }
    if (!h->rng) {
        /* First sample decision of this thread: draw its first interval, unbiased. */
        h->rng = ((uint64_t)syscall(SYS_gettid) * 0x9E3779B97F4A7C15ull) ^ pf_clock_ticks() ^ 1;
        int64_t first =
            sites_state.mean == 1 ? -1 : next_interval(&h->rng) + pf_heap_sample_left(h);
        pf_heap_set_sample_left(h, first);
        if (sites_state.mean != 1 && first >= 0)
            return 0;
    }
    if (sites_state.mean == 1) {
        pf_heap_set_sample_left(h, -1); /* every allocation, weight 1 */
        *prob = 1.0;
        return 1;
    }
    int64_t left = pf_heap_sample_left(h);
    while (left < 0)
        left += next_interval(&h->rng);
    pf_heap_set_sample_left(h, left);
    *prob = pf_one_minus_exp_neg((double)size / (double)sites_state.mean);
    if (*prob <= 0)
        *prob = 1.0 / (double)sites_state.mean; /* size 0: as likely as one byte */
    return 1;
}

/* PREFETCHW: the line comes to this core owned, as the atomic that writes it will want it (the
 * compiler's __builtin_prefetch asks for a shared copy on x86-64 without -mprfchw). CPUs that
 * lack the instruction decode it as a no-op. */
static inline void prefetch_for_write(const void *addr)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)addr));
#else
    __builtin_prefetch(addr, 1);
#endif
}

void *pf_sites_sample(pf_thread_t *t, void *p, size_t size, const void *caller, int saved_errno)
{
    double prob;
    if (sample_due(&t->heap, size, &prob) && !pf_in_hook) {
        pf_in_hook++;
        /* The lines remember() writes, loaded while the stack is unwound: 320 -> 170 TSC ticks
         * on mallocbench. */
        if (p) {
            prefetch_for_write(&hot_slots[hot_slot((uintptr_t)p) & (HOT_SLOTS - 1)]);
            prefetch_for_write(&pf_sites_filter[pf_sites_slot(p)]);
        }
        /* No room: counted under site 0, unwound no further (sites.h). The unwind's buffer is
         * only taken once there is room for it. */
        uint32_t site = 0;
        if (stack_has_room(t)) {
            void **buf = __builtin_alloca(UNWIND_FRAMES * sizeof *buf);
            site = unwind_into(buf, 1, caller);
        }
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
    errno = saved_errno;
    return p;
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
        out[k].frames = pf_sites_frames(i, &out[k].depth);
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
    void *buf[UNWIND_FRAMES];
    return unwind_into(buf, 1 + callers, NULL); /* this function and the caller's own frames */
}

void *const *pf_sites_frames(uint32_t id, uint32_t *depth)
{
    if (id == 0 || id >= PF_MAX_SITES || id >= pf_load_relaxed(&sites_state.nsites)) {
        *depth = 0;
        return NULL;
    }
    site_t *s = pf_load_acquire(&sites_state.sites[id]);
    *depth = s ? pf_load_relaxed(&s->depth) : 0;
    return s ? (void *const *)s->frames : NULL;
}
