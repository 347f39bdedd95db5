/* report.c — building the report from the figures. */
#include "report/jstr.h"
#include "report/demangle.h"
#include "report/keys.h"
#include "report/report.h"

#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/clock.h"
#include "runtime/cpu.h"
#include "runtime/heap.h"
#include "runtime/profile.h"
#include "runtime/pyframes.h"
#include "runtime/retire.h"
#include "runtime/sites.h"
#include "runtime/symbols.h"
#include "runtime/timeline.h"
#include "runtime/waits.h"
#include "base/arena.h"

#define MAX_MERGED 65536

/* ---- the timer tree, merged across threads by path ------------------------------------ */

typedef struct {
    uint32_t parent, name, first_child, next_sibling;
    uint64_t count, total, child;
} mnode_t;

typedef struct {
    mnode_t *n;
    uint32_t count;
    uint32_t *hash; /* 2 * MAX_MERGED slots of index + 1 */
    uint64_t lost;  /* starts of paths beyond MAX_MERGED (or under such a path): dropped */
} merged_t;

static uint32_t merged_child(merged_t *m, uint32_t parent, uint32_t name)
{
    uint64_t key = (uint64_t)parent * PF_MAX_NAMES + name;
    uint32_t h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 47); /* 17 bits */
    for (uint32_t i = 0; i < 2 * MAX_MERGED; i++) {
        uint32_t *s = &m->hash[(h + i) & (2 * MAX_MERGED - 1)];
        if (*s == 0) {
            if (m->count >= MAX_MERGED)
                return UINT32_MAX;
            uint32_t k = m->count++;
            m->n[k] = (mnode_t){.parent = parent, .name = name, .first_child = UINT32_MAX,
                                .next_sibling = m->n[parent].first_child};
            m->n[parent].first_child = k;
            *s = k + 1;
            return k;
        }
        mnode_t *c = &m->n[*s - 1];
        if (c->parent == parent && c->name == name)
            return *s - 1;
    }
    return UINT32_MAX;
}

static void merge_tdom(merged_t *m, pf_tdom_t *td, uint32_t *map)
{
    uint32_t n = pf_load_acquire(&td->nnodes);
    map[0] = 0;
    /* A node's parent was created before it, so parents are mapped first. */
    for (uint32_t i = 1; i < n; i++) {
        pf_node_t *node = &td->nodes[i];
        uint32_t mp = node->parent < i ? map[node->parent] : UINT32_MAX;
        uint32_t k = mp == UINT32_MAX ? UINT32_MAX : merged_child(m, mp, node->name);
        map[i] = k;
        if (k == UINT32_MAX) {
            m->lost += pf_load_relaxed(&node->count);
            continue;
        }
        m->n[k].count += pf_load_relaxed(&node->count);
        m->n[k].total += pf_load_relaxed(&node->total);
        m->n[k].child += pf_load_relaxed(&node->child);
    }
}

static json_t *tree_json(merged_t *m, uint32_t parent)
{
    /* Children heaviest first: an insertion sort of the sibling list, in place (the recursion
     * is up to PF_STACK deep, so nothing large lives on the stack). */
    uint32_t sorted = UINT32_MAX;
    for (uint32_t c = m->n[parent].first_child; c != UINT32_MAX;) {
        uint32_t next = m->n[c].next_sibling, *at = &sorted;
        while (*at != UINT32_MAX && m->n[*at].total >= m->n[c].total)
            at = &m->n[*at].next_sibling;
        m->n[c].next_sibling = *at;
        *at = c;
        c = next;
    }
    m->n[parent].first_child = sorted;
    json_t *arr = json_array();
    for (uint32_t k = sorted; k != UINT32_MAX; k = m->n[k].next_sibling) {
        mnode_t *c = &m->n[k];
        if (c->count == 0 && c->first_child == UINT32_MAX)
            continue; /* started but never stopped, with nothing below */
        json_t *o = json_object();
        const char *name = pf_name_str(c->name);
        json_object_set_new(o, PF_KEY_NAME, pf_jstr(name));
        json_object_set_new(o, PF_KEY_COUNT, json_integer((json_int_t)c->count));
        json_object_set_new(o, PF_KEY_TOTAL, json_real(pf_clock_ticks_to_sec(c->total)));
        uint64_t self = c->total > c->child ? c->total - c->child : 0;
        json_object_set_new(o, PF_KEY_SELF, json_real(pf_clock_ticks_to_sec(self)));
        json_object_set_new(o, PF_KEY_CHILDREN, tree_json(m, k));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The merged tree; *lost: the timer starts it could not hold. */
static json_t *timing_tree(pferris_profiler_t *p, uint64_t *lost)
{
    merged_t m = {0};
    size_t nsz = MAX_MERGED * sizeof(mnode_t), hsz = 2 * MAX_MERGED * sizeof(uint32_t),
           msz = PF_MAX_NODES * sizeof(uint32_t);
    m.n = pf_arena_zalloc(nsz);
    m.hash = pf_arena_zalloc(hsz);
    uint32_t *map = pf_arena_zalloc(msz);
    json_t *tree = NULL;
    if (m.n && m.hash && map) {
        m.n[0].first_child = UINT32_MAX;
        m.count = 1;
        for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
            pf_tdom_t *td = pf_profile_tdom(p, t);
            if (td)
                merge_tdom(&m, td, map);
        }
        tree = tree_json(&m, 0);
    }
    *lost = m.lost;
    pf_arena_free(m.n, nsz);
    pf_arena_free(m.hash, hsz);
    pf_arena_free(map, msz);
    return tree ? tree : json_array();
}

/* ---- sections ------------------------------------------------------------------------- */

static void add_named(json_t *r, pferris_profiler_t *p)
{
    uint32_t n = pf_name_limit();
    pf_name_stats_t *st = pf_arena_zalloc(PF_MAX_NAMES * sizeof *st); /* a mapping: given back */
    json_t *timings = json_object(), *stats = json_object(), *mem = json_object(),
           *memstats = json_object(), *counters = json_object();
    if (st) {
        pf_profile_collect(p, st, n);
        for (uint32_t i = 0; i < n; i++) {
            const char *name = pf_name_str(i);
            if (!name || !st[i].kinds)
                continue;
            if ((st[i].kinds & PF_KIND_TIMER) && st[i].count) {
                double total = pf_clock_ticks_to_sec(st[i].total);
                pf_jstr_set(timings, name, json_real(total));
                json_t *s = json_object();
                json_object_set_new(s, PF_KEY_COUNT, json_integer((json_int_t)st[i].count));
                json_object_set_new(s, PF_KEY_TOTAL, json_real(total));
                json_object_set_new(s, PF_KEY_MIN, json_real(pf_clock_ticks_to_sec(st[i].min)));
                json_object_set_new(s, PF_KEY_MAX, json_real(pf_clock_ticks_to_sec(st[i].max)));
                json_object_set_new(s, PF_KEY_MEAN, json_real(total / (double)st[i].count));
                pf_jstr_set(stats, name, s);
            }
            if (st[i].kinds & PF_KIND_COUNTER)
                pf_jstr_set(counters, name, json_integer(st[i].counter));
            if (st[i].kinds & PF_KIND_MEMORY) {
                pf_jstr_set(mem, name, json_integer(st[i].mem_last));
                json_t *s = json_object();
                json_object_set_new(s, PF_KEY_LAST, json_integer(st[i].mem_last));
                json_object_set_new(s, PF_KEY_PEAK, json_integer(st[i].mem_peak));
                pf_jstr_set(memstats, name, s);
            }
        }
        pf_arena_free(st, PF_MAX_NAMES * sizeof *st);
    }
    json_object_set_new(r, PF_KEY_TIMINGS, timings);
    json_object_set_new(r, PF_KEY_TIMING_STATS, stats);
    uint64_t lost = 0;
    json_object_set_new(r, PF_KEY_TIMING_TREE, timing_tree(p, &lost));
    json_object_set_new(r, PF_KEY_MEMORY_USAGE, mem);
    json_object_set_new(r, PF_KEY_MEMORY_STATS, memstats);
    json_object_set_new(r, PF_KEY_COUNTERS, counters);
    json_t *dropped = json_object();
    json_object_set_new(dropped, PF_KEY_TIMER_STARTS, json_integer((json_int_t)(pf_profile_dropped(p) + lost)));
    json_object_set_new(dropped, PF_KEY_NAMES, json_integer((json_int_t)pf_name_overflows()));
    json_object_set_new(r, PF_KEY_DROPPED, dropped);
}

static json_t *thread_json(const pf_thread_row_t *r, uint64_t origin)
{
    uint64_t start = r->start > origin ? r->start - origin : 0;
    uint64_t end = r->end > origin ? r->end - origin : 0;
    json_t *o = json_object();
    json_object_set_new(o, PF_KEY_TID, json_integer((json_int_t)r->tid));
    if (r->threads > 1 || r->tid == 0) {
        char name[64];
        snprintf(name, sizeof name, "(%llu other threads)", (unsigned long long)r->threads);
        json_object_set_new(o, PF_KEY_NAME, json_string(name));
        json_object_set_new(o, PF_KEY_OTHER_THREADS, json_integer((json_int_t)r->threads));
    } else {
        json_object_set_new(o, PF_KEY_NAME, pf_jstr(r->name));
    }
    json_object_set_new(o, PF_KEY_START, json_real(pf_clock_ticks_to_sec(start)));
    json_object_set_new(o, PF_KEY_END, json_real(pf_clock_ticks_to_sec(end)));
    json_object_set_new(o, PF_KEY_RUNNING, json_boolean(r->running > 0));
    json_object_set_new(o, PF_KEY_CPU_TIME, r->cpu_sec >= 0 ? json_real(r->cpu_sec) : json_null());
    json_object_set_new(o, PF_KEY_WAIT_SECONDS, json_real(pf_clock_ticks_to_sec(r->wait_ticks)));
    json_object_set_new(o, PF_KEY_ALLOCATIONS, json_integer((json_int_t)r->allocs));
    json_object_set_new(o, PF_KEY_BYTES_ALLOCATED, json_integer((json_int_t)r->bytes_req));
    json_object_set_new(o, PF_KEY_FREES, json_integer((json_int_t)r->frees));
    json_object_set_new(o, PF_KEY_BYTES_FREED, json_integer((json_int_t)r->bytes_freed));
    json_object_set_new(o, PF_KEY_CPU_SAMPLES, json_integer((json_int_t)r->cpu_samples));
    return o;
}

/* The heaviest PF_THREAD_ROWS threads, oldest first, and one row for the others. */
static json_t *threads_json(const pf_thread_rows_t *rows)
{
    json_t *arr = json_array();
    uint64_t origin = pf_clock_origin();
    for (size_t i = 0; i < rows->n; i++)
        json_array_append_new(arr, thread_json(&rows->rows[i], origin));
    if (rows->rest.threads)
        json_array_append_new(arr, thread_json(&rows->rest, origin));
    return arr;
}

#define MAX_REPORTED_SITES 2000

/* A Python frame (pyframes.h): the function's qualified name, its file, the line; NULL when
 * frame is a native one. */
static json_t *python_frame_json(const void *frame)
{
    const char *symbol, *file;
    int line;
    if (!pf_pyframes_is_python(frame))
        return NULL;
    json_t *f = json_object();
    if (pf_pyframes_lookup(frame, &symbol, &file, &line) != 0) {
        symbol = file = "??";
        line = 0;
    }
    json_object_set_new(f, PF_KEY_SYMBOL, pf_jstr(symbol));
    json_object_set_new(f, PF_KEY_MODULE, pf_jstr(file));
    json_object_set_new(f, PF_KEY_LINE, line > 0 ? json_integer(line) : json_null());
    json_object_set_new(f, PF_KEY_LANGUAGE, json_string(PF_LANGUAGE_PYTHON));
    return f;
}

/* A stack's frames, innermost first; other: the stack was lost because its table was full. */
static json_t *frames_json(void *const *frames, uint32_t depth, int other)
{
    json_t *arr = json_array();
    pf_symbol_t sym;
    for (uint32_t i = 0; i < depth; i++) {
        json_t *f = python_frame_json(frames[i]);
        if (f) {
            json_array_append_new(arr, f);
            continue;
        }
        pf_symbols_lookup((uintptr_t)frames[i], &sym);
        f = json_object();
        json_object_set_new(f, PF_KEY_SYMBOL, pf_jstr(sym.symbol));
        char *d = pf_demangle(sym.symbol);
        if (d)
            json_object_set_new(f, PF_KEY_DEMANGLED, pf_jstr(d));
        free(d);
        json_object_set_new(f, PF_KEY_MODULE, pf_jstr(sym.module));
        json_object_set_new(f, PF_KEY_OFFSET, json_integer((json_int_t)sym.offset));
        json_array_append_new(arr, f);
    }
    if (other) {
        json_t *f = json_object();
        json_object_set_new(f, PF_KEY_SYMBOL, json_string("[other]"));
        json_object_set_new(f, PF_KEY_MODULE, json_string("pferris: site table full or stack too small to unwind"));
        json_object_set_new(f, PF_KEY_OFFSET, json_integer(0));
        json_array_append_new(arr, f);
    }
    return arr;
}

static void sites_json(json_t *heap)
{
    pf_sites_info_t info;
    pf_sites_info(&info);
    json_t *sampling = json_object();
    json_object_set_new(sampling, PF_KEY_MEAN_BYTES, json_integer(info.mean));
    json_object_set_new(sampling, PF_KEY_STACK_DEPTH, json_integer(info.depth));
    json_object_set_new(sampling, PF_KEY_ACTIVE, json_boolean(info.active));
    if (!info.active && info.inactive_why)
        json_object_set_new(sampling, PF_KEY_INACTIVE_REASON, json_string(info.inactive_why));
    json_object_set_new(sampling, PF_KEY_ESTIMATOR,
                        json_string(info.mean == 1 ? "exact: every allocation"
                                                   : "each sample weighted 1/(1-exp(-size/mean_bytes))"));
    json_object_set_new(sampling, PF_KEY_SITES_FOLDED, json_integer((json_int_t)info.sites_folded));
    json_object_set_new(sampling, PF_KEY_UNTRACKED_BLOCKS, json_integer((json_int_t)info.untracked));
    if (pf_pyframes_status())
        json_object_set_new(sampling, PF_KEY_PYTHON_FRAMES, pf_jstr(pf_pyframes_status()));
    json_t *arr = json_array();
    size_t size = PF_MAX_SITES * sizeof(pf_site_view_t);
    pf_site_view_t *v = pf_arena_zalloc(size);
    if (v) {
        size_t n = pf_sites_collect(v);
        for (size_t i = 0; i < n && i < MAX_REPORTED_SITES; i++) {
            json_t *o = json_object();
            json_object_set_new(o, PF_KEY_FRAMES, frames_json(v[i].frames, v[i].depth, v[i].id == 0));
            json_object_set_new(o, PF_KEY_ALLOCATIONS, json_integer((json_int_t)llround(v[i].allocations)));
            json_object_set_new(o, PF_KEY_BYTES, json_integer((json_int_t)llround(v[i].bytes)));
            json_object_set_new(o, PF_KEY_LIVE_BYTES,
                                json_integer(v[i].live_bytes > 0 ? (json_int_t)llround(v[i].live_bytes) : 0));
            json_object_set_new(o, PF_KEY_SAMPLED, json_integer((json_int_t)v[i].sampled));
            json_array_append_new(arr, o);
        }
        json_object_set_new(sampling, PF_KEY_SITES_OMITTED,
                            json_integer(n > MAX_REPORTED_SITES ? (json_int_t)(n - MAX_REPORTED_SITES) : 0));
        pf_arena_free(v, size);
        pf_symbols_release();
    }
    json_object_set_new(heap, PF_KEY_SITES, arr);
    json_object_set_new(heap, PF_KEY_SAMPLING, sampling);
}

/* Where the CPU time went: sampled stacks, each sample standing for 1/hz s of its thread's CPU
 * time. */
static json_t *cpu_json(void)
{
    pf_cpu_info_t info;
    pf_cpu_info(&info);
    double per = info.hz > 0 ? 1.0 / info.hz : 0;
    json_t *o = json_object();
    json_object_set_new(o, PF_KEY_HZ, json_integer(info.hz));
    json_object_set_new(o, PF_KEY_ACTIVE, json_boolean(info.active));
    json_object_set_new(o, PF_KEY_MECHANISM, info.mechanism ? json_string(info.mechanism) : json_null());
    if (info.inactive_why)
        json_object_set_new(o, PF_KEY_INACTIVE_REASON, json_string(info.inactive_why));
    json_object_set_new(o, PF_KEY_SAMPLES, json_integer((json_int_t)info.samples));
    json_object_set_new(o, PF_KEY_SECONDS, json_real((double)info.samples * per));
    json_object_set_new(o, PF_KEY_DROPPED, json_integer((json_int_t)info.dropped));
    if (pf_pyframes_status())
        json_object_set_new(o, PF_KEY_PYTHON_FRAMES, pf_jstr(pf_pyframes_status()));
    json_t *arr = json_array();
    size_t size = PF_CPU_MAX_STACKS * sizeof(pf_cpu_view_t);
    pf_cpu_view_t *v = info.samples ? pf_arena_zalloc(size) : NULL;
    if (v) {
        size_t n = pf_cpu_collect(v);
        for (size_t i = 0; i < n && i < MAX_REPORTED_SITES; i++) {
            json_t *s = json_object();
            json_object_set_new(s, PF_KEY_FRAMES, frames_json(v[i].frames, v[i].depth, v[i].id == 0));
            json_object_set_new(s, PF_KEY_SAMPLES, json_integer((json_int_t)v[i].samples));
            json_object_set_new(s, PF_KEY_SECONDS, json_real((double)v[i].samples * per));
            json_array_append_new(arr, s);
        }
        json_object_set_new(o, PF_KEY_SITES_OMITTED,
                            json_integer(n > MAX_REPORTED_SITES ? (json_int_t)(n - MAX_REPORTED_SITES) : 0));
        pf_arena_free(v, size);
        pf_symbols_release();
    }
    json_object_set_new(o, PF_KEY_SITES, arr);
    return o;
}

#define MAX_REPORTED_LOCKS 500

/* The `locks` array, heaviest wait first, and the process's `waits` summary: the share of
 * thread time (each thread's life, summed) spent blocked in the synchronisation calls. */
static void waits_json(json_t *r, uint64_t life)
{
    uint64_t wait = 0;
    /* A record's wait figure sums every thread that owned it: the total is exact. */
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t))
        wait += pf_load_relaxed(&t->wait.ticks);
    json_t *arr = json_array();
    size_t size = PF_MAX_LOCKS * sizeof(pf_lock_view_t), n = 0;
    pf_lock_view_t *v = pf_arena_zalloc(size);
    if (v) {
        n = pf_waits_collect(v);
        for (size_t i = 0; i < n && i < MAX_REPORTED_LOCKS; i++) {
            char addr[32];
            snprintf(addr, sizeof addr, "%p", v[i].addr);
            json_t *o = json_object();
            json_object_set_new(o, PF_KEY_KIND, json_string(pf_waits_kind_name(v[i].kind)));
            json_object_set_new(o, PF_KEY_ADDRESS, json_string(addr));
            json_object_set_new(o, PF_KEY_CONTENDED, json_integer((json_int_t)v[i].contended));
            json_object_set_new(o, PF_KEY_WAIT_SECONDS, json_real(pf_clock_ticks_to_sec(v[i].wait_ticks)));
            json_object_set_new(o, PF_KEY_MAX_WAIT_SECONDS, json_real(pf_clock_ticks_to_sec(v[i].max_ticks)));
            json_object_set_new(o, PF_KEY_THREADS, json_integer(v[i].threads));
            json_object_set_new(o, PF_KEY_SAMPLED, json_integer((json_int_t)v[i].samples));
            pf_site_view_t site = {.id = v[i].site};
            site.frames = pf_sites_frames(v[i].site, &site.depth);
            if (!site.depth && v[i].caller) { /* no stack unwound: the first caller alone */
                site = (pf_site_view_t){.id = UINT32_MAX, .depth = 1, .frames = (void *const *)&v[i].caller};
            }
            json_object_set_new(o, PF_KEY_FRAMES, site.depth ? frames_json(site.frames, site.depth, site.id == 0) : json_array());
            json_array_append_new(arr, o);
        }
        pf_arena_free(v, size);
        pf_symbols_release();
    }
    json_object_set_new(r, PF_KEY_LOCKS, arr);
    json_t *w = json_object();
    double wait_s = pf_clock_ticks_to_sec(wait), life_s = pf_clock_ticks_to_sec(life);
    json_object_set_new(w, PF_KEY_WAIT_SECONDS, json_real(wait_s));
    json_object_set_new(w, PF_KEY_THREAD_SECONDS, json_real(life_s));
    json_object_set_new(w, PF_KEY_SHARE, json_real(life_s > 0 ? wait_s / life_s : 0.0));
    json_object_set_new(w, PF_KEY_SAMPLE_NS, json_integer((json_int_t)PF_WAIT_SAMPLE_NS));
    json_object_set_new(w, PF_KEY_LOCKS_OMITTED,
                        json_integer(n > MAX_REPORTED_LOCKS ? (json_int_t)(n - MAX_REPORTED_LOCKS) : 0));
    json_object_set_new(r, PF_KEY_WAITS, w);
    json_t *dropped = json_object_get(r, PF_KEY_DROPPED);
    if (dropped)
        json_object_set_new(dropped, PF_KEY_LOCKS, json_integer((json_int_t)pf_waits_dropped()));
}

static json_t *heap_json(int enabled)
{
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    json_t *o = json_object();
    json_object_set_new(o, PF_KEY_ENABLED, json_boolean(enabled));
    json_object_set_new(o, PF_KEY_ALLOCATIONS, json_integer((json_int_t)h.allocs));
    json_object_set_new(o, PF_KEY_FREES, json_integer((json_int_t)h.frees));
    json_object_set_new(o, PF_KEY_BYTES_ALLOCATED, json_integer((json_int_t)h.bytes_req));
    json_object_set_new(o, PF_KEY_BYTES_ALLOCATED_USABLE, json_integer((json_int_t)h.usable_in));
    json_object_set_new(o, PF_KEY_BYTES_FREED, json_integer((json_int_t)h.bytes_freed));
    json_object_set_new(o, PF_KEY_PEAK_BYTES, json_integer(h.peak));
    json_object_set_new(o, PF_KEY_LIVE_BYTES, json_integer(h.live));
    json_object_set_new(o, PF_KEY_PEAK_ERROR_BOUND,
                        json_integer((json_int_t)PF_HEAP_BATCH * pf_thread_max_concurrent()));
    json_object_set_new(o, PF_KEY_SIZE_SOURCE,
                        json_string(pf_heap_sizes() == PF_HEAP_SIZES_REQUESTED
                                        ? PF_SIZE_SOURCE_REQUESTED : PF_SIZE_SOURCE_USABLE));
    json_t *hist = json_array();
    for (int k = 0; k < PF_HIST; k++) {
        if (!h.hist[k])
            continue;
        json_t *b = json_object();
        uint64_t lo = k ? 1ull << (k - 1) : 0, hi = k ? (k < 64 ? (1ull << k) - 1 : UINT64_MAX) : 0;
        json_object_set_new(b, PF_KEY_MIN, json_integer((json_int_t)lo));
        json_object_set_new(b, PF_KEY_MAX, json_integer((json_int_t)(hi > INT64_MAX ? INT64_MAX : hi)));
        json_object_set_new(b, PF_KEY_COUNT, json_integer((json_int_t)h.hist[k]));
        json_array_append_new(hist, b);
    }
    json_object_set_new(o, PF_KEY_SIZE_HISTOGRAM, hist);
    sites_json(o);
    return o;
}

/* Where the times came from: the TSC or CLOCK_MONOTONIC, and why (lib/base/clock.c). */
static json_t *clock_json(void)
{
    pf_clock_info_t ci;
    pf_clock_info(&ci);
    json_t *c = json_object();
    json_object_set_new(c, PF_KEY_SOURCE, json_string(ci.source));
    json_object_set_new(c, PF_KEY_TICKS_PER_NS, json_real(ci.ticks_per_ns));
    json_object_set_new(c, PF_KEY_DRIFT_PPM,
                        isfinite(ci.drift_ppm) ? json_real(ci.drift_ppm) : json_null());
    json_object_set_new(c, PF_KEY_WHY, json_string(ci.why));
    return c;
}

/* "SIGTERM" for 15: sigabbrev_np's "TERM" with its prefix; NULL for no known name. */
const char *pf_report_signal_name(int sig, char *buf, size_t size)
{
    const char *abbrev = sigabbrev_np(sig);
    if (!abbrev || size < 4 + strlen(abbrev))
        return NULL;
    memcpy(buf, "SIG", 3);
    memcpy(buf + 3, abbrev, strlen(abbrev) + 1);
    return buf;
}

static void exit_json(json_t *r, const pf_process_info_t *info)
{
    if (info->exit_how == PF_EXIT_NONE)
        return;
    json_t *e = json_object();
    char name[32];
    switch (info->exit_how) {
    case PF_EXIT_CODE:
        json_object_set_new(e, PF_KEY_HOW, json_string(PF_EXIT_HOW_EXIT));
        json_object_set_new(e, PF_KEY_CODE, json_integer(info->exit_value));
        break;
    case PF_EXIT_SIGNAL: {
        const char *n = pf_report_signal_name(info->exit_value, name, sizeof name);
        json_object_set_new(e, PF_KEY_HOW, json_string(PF_EXIT_HOW_SIGNAL));
        json_object_set_new(e, PF_KEY_SIGNAL, json_integer(info->exit_value));
        json_object_set_new(e, PF_KEY_SIGNAL_NAME, n ? json_string(n) : json_null());
        break;
    }
    case PF_EXIT_CHECKPOINT:
        json_object_set_new(e, PF_KEY_HOW, json_string(PF_EXIT_HOW_CHECKPOINT));
        break;
    default:
        json_object_set_new(e, PF_KEY_HOW, json_string(PF_EXIT_HOW_EXIT));
    }
    json_object_set_new(r, PF_KEY_EXIT, e);
}

json_t *pf_report_build(pferris_profiler_t *p, const pf_process_info_t *info)
{
    /* The clock's last check and refinement first: every figure below then converts ticks
     * with one ratio. */
    json_t *clock = info ? clock_json() : NULL;
    json_t *r = json_object();
    if (!r) {
        json_decref(clock);
        return NULL;
    }
    json_object_set_new(r, PF_KEY_SCHEMA, json_string(PFERRIS_SCHEMA));
    json_object_set_new(r, PF_KEY_PFERRIS_VERSION, json_string(PFERRIS_VERSION));
    if (info) {
        char host[256] = {0};
        gethostname(host, sizeof host - 1);
        json_object_set_new(r, PF_KEY_PID, json_integer(getpid()));
        json_object_set_new(r, PF_KEY_PPID, json_integer(getppid()));
        json_object_set_new(r, PF_KEY_HOSTNAME, pf_jstr(host));
        json_t *argv = json_array();
        for (const char *const *a = info->argv; a && *a; a++)
            json_array_append_new(argv, pf_jstr(*a));
        json_object_set_new(r, PF_KEY_COMMAND, argv);
        json_object_set_new(r, PF_KEY_START_TIME,
                            info->start_time ? json_string(info->start_time) : json_null());
    }
    json_object_set_new(r, PF_KEY_TOTAL_ELAPSED, json_real(pf_profile_elapsed(p)));
    add_named(r, p);
    if (info) {
        pf_thread_rows_t rows;
        pf_retire_rows(&rows, PF_THREAD_ROWS);
        json_object_set_new(r, PF_KEY_THREADS, threads_json(&rows));
        json_object_set_new(r, PF_KEY_HEAP, heap_json(info->heap_enabled));
        json_object_set_new(r, PF_KEY_CPU, cpu_json());
        waits_json(r, rows.life_ticks);
        json_t *w = json_object();
        json_object_set_new(w, PF_KEY_THREADS_TOTAL, json_integer((json_int_t)rows.threads_total));
        json_object_set_new(w, PF_KEY_THREADS_EXITED, json_integer((json_int_t)rows.threads_exited));
        pf_retire_rows_free(&rows);
        json_object_set_new(w, PF_KEY_REQUESTED, info->workers_requested
                                                ? json_integer(info->workers_requested)
                                                : json_null());
        json_object_set_new(w, PF_KEY_MAX_CONCURRENT_THREADS, json_integer(pf_thread_max_concurrent()));
        json_object_set_new(r, PF_KEY_WORKERS, w);
        if (info->rank >= 0) {
            json_object_set_new(r, PF_KEY_RANK, json_integer(info->rank));
            json_object_set_new(r, PF_KEY_RANK_SOURCE, json_string(info->rank_source));
        }
        pf_report_timeline(r);
        json_object_set_new(r, PF_KEY_CLOCK, clock);
        exit_json(r, info);
    }
    return r;
}

json_t *pf_report_section(pferris_profiler_t *p, const char *key)
{
    if (!p)
        return NULL;
    json_t *r = json_object();
    add_named(r, p);
    json_t *s = json_incref(json_object_get(r, key));
    json_decref(r);
    return s;
}
