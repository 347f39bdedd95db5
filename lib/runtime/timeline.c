/* timeline.c — when each named timer interval began and ended on which thread, and the live
 * heap, thread count and counters over time; read by `pferris report --trace` and `--svg`.
 *
 * Intervals: each thread that stops a timer gets one bounded buffer (TL_CAP intervals, from
 * pf_arena_zalloc: mapped, so untouched pages cost nothing), reached through pf_self->timeline. Only
 * the owner writes it: an interval is written, then the count is published with release, so a
 * reader that loads the count with acquire sees whole intervals. The buffer keeps the first
 * TL_CAP intervals (a ring would hand a concurrent reader half-overwritten entries); later ones
 * are counted as dropped. At most TL_MAX_BUFFERS threads get a buffer, which bounds the memory
 * and the report's size whatever the program does. A buffer belongs to the thread record, which
 * a later thread may take over (thread.h), so each interval carries its thread's tid.
 *
 * Samples: pferris's own sampler thread takes one every PFERRIS_INTERVAL_MS into a fixed array.
 * When the array is full, every other sample is dropped and the period doubles, so a run of any
 * length is covered at a bounded cost. That rewrite races with a report built meanwhile, so the
 * array is under a sequence lock: the report retries its copy when a rewrite overlapped it.
 *
 * The report layer (lib/report/timeline_json.c) reads what is recorded here through
 * pf_timeline_intervals, pf_timeline_samples and pf_timeline_info. */
#include "runtime/timeline.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/clock.h"
#include "runtime/heap.h"
#include "runtime/profile.h"
#include "base/name.h"
#include "runtime/thread.h"
#include "runtime/waits.h"
#include "base/arena.h"
#include "base/env.h"
#include "base/warn.h"

#define TL_CAP          8192 /* intervals per thread (192 KiB, touched as used) */
#define TL_MAX_BUFFERS  128  /* threads with a buffer: at most 1 Mi intervals in a report */
#define DEFAULT_INTERVAL_MS 10

typedef struct {
    uint64_t start, end;
    uint32_t name;
    int32_t tid;      /* a buffer outlives its thread: its record is taken over by later ones */
} tl_ival_t;

typedef struct {
    uint32_t n;       /* intervals written; published with release */
    uint32_t cap;     /* TL_CAP, or 0 for a thread past TL_MAX_BUFFERS: it only counts */
    uint64_t dropped; /* owner-written */
    tl_ival_t iv[];
} tl_buf_t;

int pf_timeline_on PF_HIDDEN;

/* Where a thread's pointer goes when not even a counting header could be had: its intervals are
 * counted here (shared, but only after memory ran out). */
static tl_buf_t *const no_buffer = (tl_buf_t *)(uintptr_t)1;
static uint64_t unbuffered_drops;
static uint32_t buffers;

static struct {
    int pid;                     /* the process whose sampler runs; 0 when none */
    long long base_ms;           /* PFERRIS_INTERVAL_MS; 0: no sampler */
    long long period_ms;         /* base_ms doubled per halving; sampler-written */
    uint32_t seq;                /* odd while the sampler rewrites the array */
    uint32_t n;                  /* samples written; published with release */
    uint32_t halvings;
    uint32_t ncounters;          /* columns of c[] in use; published with release */
    uint32_t counter_id[PF_TIMELINE_COUNTERS];
    pf_timeline_sample_t *s;
    pf_name_stats_t *scratch;
    int want;                    /* samples are configured (base_ms > 0) and memory is there */
    double ticks_per_ms;
} tl_state;

/* ---- intervals (the owning thread) ------------------------------------------------------ */

static tl_buf_t *buffer_new(pf_thread_t *t)
{
    int saved = errno;
    tl_buf_t *b = NULL;
    if (pf_take_below(&buffers, TL_MAX_BUFFERS) < TL_MAX_BUFFERS &&
        (b = pf_arena_zalloc(sizeof *b + TL_CAP * sizeof(tl_ival_t))))
        b->cap = TL_CAP;
    else if (!(b = pf_arena_zalloc(sizeof *b))) /* cap 0: the thread's drops stay its own */
        b = no_buffer;
    pf_store_release(&t->timeline, (void *)b);
    errno = saved;
    return b;
}

static void interval(uint32_t name, uint64_t start_ticks, uint64_t end_ticks)
{
    pf_thread_t *t = pf_self;
    if (pf_unlikely(!t))
        return;
    tl_buf_t *b = t->timeline;
    if (pf_unlikely(!b))
        b = buffer_new(t);
    if (pf_unlikely(b == no_buffer)) {
        pf_fetch_add_relaxed(&unbuffered_drops, 1);
        return;
    }
    uint32_t n = b->n;
    if (pf_unlikely(n >= b->cap)) {
        pf_owner_add(&b->dropped, 1);
        return;
    }
    b->iv[n] = (tl_ival_t){.start = start_ticks, .end = end_ticks, .name = name, .tid = t->tid};
    pf_store_release(&b->n, n + 1);
}

/* ---- samples (the sampler thread) ------------------------------------------------------- */

static void sample_store(pf_timeline_sample_t *d, const pf_timeline_sample_t *v)
{
    pf_store_relaxed(&d->ticks, v->ticks);
    pf_store_relaxed(&d->live, v->live);
    pf_store_relaxed(&d->threads, v->threads);
    for (int k = 0; k < PF_TIMELINE_COUNTERS; k++)
        pf_store_relaxed(&d->c[k], v->c[k]);
}

static void sample_load(pf_timeline_sample_t *d, const pf_timeline_sample_t *v)
{
    d->ticks = pf_load_relaxed(&v->ticks);
    d->live = pf_load_relaxed(&v->live);
    d->threads = pf_load_relaxed(&v->threads);
    for (int k = 0; k < PF_TIMELINE_COUNTERS; k++)
        d->c[k] = pf_load_relaxed(&v->c[k]);
}

/* The figures of this moment. Counter columns are given to counters in the order they are
 * first seen, so a column never changes meaning. */
static void sample_now(pf_timeline_sample_t *v)
{
    memset(v, 0, sizeof *v);
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    v->live = h.live;
    v->threads = pf_thread_live();
    if (tl_state.scratch) {
        uint32_t n = pf_name_limit(), nc = pf_load_relaxed(&tl_state.ncounters);
        pf_profile_collect(pferris_default(), tl_state.scratch, n);
        for (uint32_t i = 0; i < n; i++) {
            if (!(tl_state.scratch[i].kinds & PF_KIND_COUNTER))
                continue;
            uint32_t k = 0;
            while (k < nc && tl_state.counter_id[k] != i)
                k++;
            if (k == nc) {
                if (nc == PF_TIMELINE_COUNTERS)
                    continue;
                tl_state.counter_id[nc] = i;
                pf_store_release(&tl_state.ncounters, ++nc);
            }
            v->c[k] = tl_state.scratch[i].counter;
        }
    }
    v->ticks = pf_clock_ticks();
}

static void sample_take(void)
{
    pf_timeline_sample_t v;
    sample_now(&v);
    uint32_t n = tl_state.n;
    if (n == PF_TIMELINE_SAMPLES) {
        /* Keep every other sample: the same span at half the resolution. */
        /* An acquire-release RMW, not a store and a fence (which TSan cannot follow): the
         * rewrites below cannot move before the odd sequence number. */
        uint32_t seq = __atomic_fetch_add(&tl_state.seq, 1, __ATOMIC_ACQ_REL);
        for (uint32_t i = 0; i < PF_TIMELINE_SAMPLES / 2; i++) {
            pf_timeline_sample_t keep;
            sample_load(&keep, &tl_state.s[2 * i]);
            sample_store(&tl_state.s[i], &keep);
        }
        n = PF_TIMELINE_SAMPLES / 2;
        pf_store_relaxed(&tl_state.n, n);
        pf_store_relaxed(&tl_state.halvings, tl_state.halvings + 1);
        pf_store_relaxed(&tl_state.period_ms, tl_state.period_ms * 2);
        pf_store_release(&tl_state.seq, seq + 2);
    }
    sample_store(&tl_state.s[n], &v);
    pf_store_release(&tl_state.n, n + 1);
}

/* The session's periodic work (checkpoints): called after each sample on the sampler thread,
 * or, while there is no sampler, on every heap flush; it checks its own clock. */
static pf_timeline_tick_fn tick_hook;

void pf_timeline_set_tick_hook(pf_timeline_tick_fn fn)
{
    pf_store_release(&tick_hook, fn);
}

static void tick(void)
{
    pf_timeline_tick_fn fn = pf_load_acquire(&tick_hook);
    if (fn)
        fn();
}

static void *sampler(void *arg)
{
    (void)arg;
    do {
        sample_take();
        tick();
    } while (!pf_thread_internal_sleep(pf_load_relaxed(&tl_state.period_ms)));
    return NULL;
}

/* The sampler thread starts with the program's second thread, not before: a single-threaded
 * process must stay single-threaded (unshare(CLONE_NEWUSER), for one, refuses a process with
 * two threads). Until then the process's own heap flushes take the samples. */
static void sampler_start(void)
{
    int none = 0;
    if (!tl_state.want || !pf_cas_acq_rel(&tl_state.pid, &none, (int)getpid()))
        return;
    int rc = pf_thread_spawn(sampler, NULL, 128 * 1024, 1, "pferris-sampler");
    if (rc != 0) {
        pf_store_relaxed(&tl_state.want, 0); /* and the heap flushes do not take over a half state */
        pf_warn("cannot start the heap timeline thread (%s); the report has no samples",
                strerror(rc));
    }
}

void pf_timeline_threads_begin(void)
{
    if (pf_unlikely(pf_load_relaxed(&tl_state.want)) && pf_load_relaxed(&tl_state.pid) == 0)
        sampler_start();
}

static void heap_tick(void)
{
    /* Only while the process has a single thread (no sampler yet): the caller is then the only
     * writer of the samples. */
    if (pf_load_relaxed(&tl_state.pid) != 0)
        return;
    tick();
    if (!pf_load_relaxed(&tl_state.want))
        return;
    uint32_t n = pf_load_relaxed(&tl_state.n);
    uint64_t now = pf_clock_ticks();
    double need = (double)pf_load_relaxed(&tl_state.period_ms) * tl_state.ticks_per_ms;
    if (n && (double)(now - pf_load_relaxed(&tl_state.s[n - 1].ticks)) < need)
        return;
    sample_take();
}

/* ---- configuration ---------------------------------------------------------------------- */

void pf_timeline_start(void)
{
    int saved = errno;
    int on = pf_env_bool("PFERRIS_TIMELINE", 1);
    tl_state.base_ms = pf_env_ll("PFERRIS_INTERVAL_MS", on ? DEFAULT_INTERVAL_MS : 0, 0, 3600000,
                          "a number of milliseconds");
    pf_store_relaxed(&pf_timeline_on, on);
    if (on) {
        pf_store_relaxed(&pf_profile_interval_sink, interval);
        pf_store_relaxed(&pf_waits_interval_sink, interval);
    }
    pf_heap_set_flush_hook(heap_tick);
    if (tl_state.base_ms > 0) {
        tl_state.s = pf_arena_zalloc(PF_TIMELINE_SAMPLES * sizeof *tl_state.s);
        tl_state.scratch = pf_arena_zalloc(PF_MAX_NAMES * sizeof *tl_state.scratch);
        tl_state.period_ms = tl_state.base_ms;
        tl_state.ticks_per_ms = 1e-3 / pf_clock_ticks_to_sec(1);
        if (tl_state.s && tl_state.scratch)
            pf_store_release(&tl_state.want, 1);
        else
            pf_warn("no memory for the heap timeline; PFERRIS_INTERVAL_MS is ignored");
    }
    errno = saved;
}

void pf_timeline_after_fork(void)
{
    /* The child is single-threaded here: only the calling thread's buffer is still listed, and
     * its intervals belong to the parent. The sampler did not survive the fork. */
    pf_thread_t *t = pf_self;
    tl_buf_t *b = t ? t->timeline : NULL;
    if (b && b != no_buffer) {
        b->n = 0;
        b->dropped = 0;
    }
    buffers = b && b != no_buffer && b->cap ? 1 : 0;
    unbuffered_drops = 0;
    tl_state.n = 0;
    tl_state.seq = 0;
    tl_state.halvings = 0;
    tl_state.ncounters = 0;
    tl_state.period_ms = tl_state.base_ms;
    tl_state.pid = 0; /* the sampler did not survive the fork: it starts again with a second thread */
}

/* 0 samples if the sampler kept rewriting the array through every retry, which a
 * stopped-at-exit sampler never does. */
uint32_t pf_timeline_samples(pf_timeline_sample_t *out, uint32_t *halvings)
{
    if (!tl_state.s || !pf_load_relaxed(&tl_state.want))
        return 0;
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = pf_load_acquire(&tl_state.seq);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        uint32_t n = pf_load_acquire(&tl_state.n);
        if (n > PF_TIMELINE_SAMPLES)
            n = PF_TIMELINE_SAMPLES;
        for (uint32_t i = 0; i < n; i++)
            sample_load(&out[i], &tl_state.s[i]);
        *halvings = pf_load_relaxed(&tl_state.halvings);
        /* Reads the sequence again with an RMW that adds nothing: acquire-release, so the copy
         * above cannot move after it (the fence form of this TSan cannot follow). */
        if (__atomic_fetch_add(&tl_state.seq, 0, __ATOMIC_ACQ_REL) == s1)
            return n;
    }
    return 0;
}

uint64_t pf_timeline_intervals(pf_timeline_interval_cb cb, void *arg)
{
    uint64_t dropped = 0;
    size_t nthreads;
    pf_thread_t **all = pf_thread_array(&nthreads); /* oldest first, as the report's threads */
    for (size_t i = 0; i < nthreads; i++) {
        pf_thread_t *t = all[i];
        tl_buf_t *b = pf_load_acquire(&t->timeline);
        if (!b || b == no_buffer)
            continue;
        uint32_t n = pf_load_acquire(&b->n);
        dropped += pf_load_relaxed(&b->dropped);
        for (uint32_t k = 0; k < n; k++)
            cb(b->iv[k].tid, b->iv[k].name, b->iv[k].start, b->iv[k].end, arg);
    }
    pf_thread_array_free(all, nthreads);
    return dropped + pf_load_relaxed(&unbuffered_drops);
}

void pf_timeline_info(pf_timeline_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->enabled = pf_load_relaxed(&pf_timeline_on);
    out->interval_ms = tl_state.base_ms;
    out->sampling = tl_state.s && pf_load_relaxed(&tl_state.want);
    out->ncounters = pf_load_acquire(&tl_state.ncounters);
    for (uint32_t k = 0; k < out->ncounters; k++)
        out->counter_id[k] = tl_state.counter_id[k];
}
