/* profile.c — the Profiler API and the markers' entry points over per-thread tables.
 * Hot paths (timer start/stop, count, memory) touch only the calling thread's tdom: a TLS load,
 * a name lookup by address, a page index and owner-only stores. */
#include "runtime/profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "base/clock.h"
#include "base/arena.h"

#define NODE_HASH (2 * PF_MAX_NODES)

static struct pferris_profiler profilers[PF_MAX_PROFILERS] = {
    [0] = {.slot = 0, .in_use = 1, .stamp = 1, .running = 1},
};
static uint64_t next_stamp = 2;

pf_profile_interval_fn pf_profile_interval_sink PF_HIDDEN;

/* ---- per-thread tables --------------------------------------------------------------- */

static pf_tdom_t *tdom_reset(pf_thread_t *t, pferris_profiler_t *p, uint64_t stamp)
{
    int saved = errno;
    pf_tdom_t *td = t->dom[p->slot];
    if (!td) {
        td = pf_arena_zalloc(sizeof *td);
        if (!td)
            goto out;
        td->slot = (uint32_t)p->slot;
        td->nodes = pf_arena_zalloc(PF_MAX_NODES * sizeof(pf_node_t));
        td->node_hash = pf_arena_zalloc(NODE_HASH * sizeof(uint32_t));
        if (!td->nodes || !td->node_hash) {
            td = NULL;
            goto out;
        }
        pf_store_release(&t->dom[p->slot], td); /* its tables are written: readers may look */
    } else {
        /* Stale figures of a cleared or retired profiler: forget them. Readers skip this tdom
         * until the new stamp is stored below. */
        pf_store_relaxed(&td->stamp, 0);
        for (size_t i = 0; i < PF_MAX_NAMES / PF_PAGE; i++)
            if (td->pages[i])
                memset(td->pages[i], 0, PF_PAGE * sizeof(pf_slot_t));
        uint32_t n = td->nnodes;
        memset(td->nodes, 0, n * sizeof(pf_node_t));
        memset(td->node_hash, 0, NODE_HASH * sizeof(uint32_t));
        td->depth = 0;
        td->dropped = 0;
    }
    td->nodes[0].last_name = UINT32_MAX;
    pf_store_release(&td->nnodes, 1);
    pf_store_release(&td->stamp, stamp);
out:
    errno = saved;
    return td;
}

static inline pf_tdom_t *tdom(pferris_profiler_t *p)
{
    pf_thread_t *t = pf_thread();
    if (pf_unlikely(!t))
        return NULL;
    pf_tdom_t *td = t->dom[p->slot];
    uint64_t stamp = pf_load_acquire(&p->stamp);
    if (pf_unlikely(!td || pf_load_relaxed(&td->stamp) != stamp))
        td = tdom_reset(t, p, stamp);
    return td;
}

static pf_slot_t *slot_page(pf_tdom_t *td, uint32_t id)
{
    int saved = errno;
    pf_slot_t *page = pf_arena_zalloc(PF_PAGE * sizeof(pf_slot_t));
    errno = saved;
    if (page)
        pf_store_release(&td->pages[id / PF_PAGE], page);
    return page;
}

static inline pf_slot_t *slot(pf_tdom_t *td, uint32_t id)
{
    pf_slot_t *page = td->pages[id / PF_PAGE];
    if (pf_unlikely(!page) && !(page = slot_page(td, id)))
        return NULL;
    return &page[id % PF_PAGE];
}

static uint32_t node_child(pf_tdom_t *td, uint32_t parent, uint32_t name)
{
    pf_node_t *pn = &td->nodes[parent];
    if (pf_likely(pn->last_name == name))
        return pn->last_node;
    uint32_t key = parent * PF_MAX_NAMES + name;
    uint32_t h = (key * 2654435761u) >> 19; /* 13 bits: NODE_HASH slots */
    uint32_t node = 0;
    for (uint32_t i = 0; i < NODE_HASH; i++) {
        uint32_t *s = &td->node_hash[(h + i) & (NODE_HASH - 1)];
        if (*s == 0) {
            uint32_t n = td->nnodes;
            if (n >= PF_MAX_NODES)
                return UINT32_MAX;
            pf_node_t *nn = &td->nodes[n];
            nn->parent = parent;
            nn->name = name;
            nn->last_name = UINT32_MAX;
            pf_store_release(&td->nnodes, n + 1);
            *s = n + 1;
            node = n;
            break;
        }
        pf_node_t *cand = &td->nodes[*s - 1];
        if (cand->parent == parent && cand->name == name) {
            node = *s - 1;
            break;
        }
    }
    pn->last_name = name;
    pn->last_node = node;
    return node;
}

static inline void timer_start(pf_tdom_t *td, uint32_t name)
{
    uint32_t d = td->depth;
    if (pf_unlikely(d >= PF_STACK)) {
        pf_owner_add(&td->dropped, 1);
        return;
    }
    uint32_t parent = d ? td->stack[d - 1].node : 0;
    uint32_t node = parent == UINT32_MAX ? UINT32_MAX : node_child(td, parent, name);
    if (pf_unlikely(node == UINT32_MAX))
        pf_owner_add(&td->dropped, 1); /* still timed flat, just not in the tree */
    td->stack[d].name = name;
    td->stack[d].node = node;
    td->depth = d + 1;
    td->stack[d].start = pf_clock_ticks();
}

/* Ticks of the interval, or -1 when no timer of that name runs on this thread. */
static inline int64_t timer_stop(pf_tdom_t *td, uint32_t name)
{
    uint64_t now = pf_clock_ticks();
    int d = (int)td->depth - 1;
    while (d >= 0 && td->stack[d].name != name)
        d--;
    if (pf_unlikely(d < 0))
        return -1;
    uint32_t node = td->stack[d].node;
    uint64_t dt = pf_clock_elapsed(td->stack[d].start, now);
    pf_profile_interval_fn sink = pf_load_relaxed(&pf_profile_interval_sink);
    if (pf_unlikely(sink != NULL) && td->slot == 0) /* the markers' */
        sink(name, td->stack[d].start, now);
    uint32_t top = td->depth - 1;
    if ((uint32_t)d != top) /* stopped out of order: close the gap */
        memmove(&td->stack[d], &td->stack[d + 1], (top - (uint32_t)d) * sizeof td->stack[0]);
    td->depth = top;
    if (pf_likely(node != UINT32_MAX)) {
        pf_node_t *n = &td->nodes[node];
        pf_owner_add(&n->count, 1);
        pf_owner_add(&n->total, dt);
        pf_owner_add(&td->nodes[n->parent].child, dt);
    }
    pf_slot_t *s = slot(td, name);
    if (pf_likely(s)) {
        uint64_t c = s->count;
        pf_store_relaxed(&s->count, c + 1);
        pf_owner_add(&s->total, dt);
        if (c == 0 || dt < s->min)
            pf_store_relaxed(&s->min, dt);
        if (dt > s->max)
            pf_store_relaxed(&s->max, dt);
        if (!(s->kinds & PF_KIND_TIMER))
            pf_store_relaxed(&s->kinds, s->kinds | PF_KIND_TIMER);
    }
    return (int64_t)dt;
}

static inline void counter_add(pf_tdom_t *td, uint32_t name, int64_t v)
{
    pf_slot_t *s = slot(td, name);
    if (pf_unlikely(!s))
        return;
    pf_owner_add(&s->counter, v);
    if (pf_unlikely(!(s->kinds & PF_KIND_COUNTER)))
        pf_store_relaxed(&s->kinds, s->kinds | PF_KIND_COUNTER);
}

static inline void memory_record(pf_tdom_t *td, uint32_t name, int64_t v)
{
    pf_slot_t *s = slot(td, name);
    if (pf_unlikely(!s))
        return;
    int first = !(s->kinds & PF_KIND_MEMORY);
    pf_store_relaxed(&s->mem_last, v);
    pf_store_relaxed(&s->mem_stamp, pf_clock_ticks());
    if (first || v > s->mem_peak)
        pf_store_relaxed(&s->mem_peak, v);
    if (first)
        pf_store_relaxed(&s->kinds, s->kinds | PF_KIND_MEMORY);
}

/* ---- markers: the exported entry points the header resolves ---------------------------- */

PF_EXPORT void pferris_timer_start(const char *name)
{
    pf_tdom_t *td = tdom(&profilers[0]);
    if (pf_likely(td))
        timer_start(td, pf_name_id(name));
}

PF_EXPORT void pferris_timer_stop(const char *name)
{
    pf_tdom_t *td = tdom(&profilers[0]);
    if (pf_likely(td))
        timer_stop(td, pf_name_id(name));
}

PF_EXPORT void pferris_count(const char *name, long long value)
{
    pf_tdom_t *td = tdom(&profilers[0]);
    if (pf_likely(td))
        counter_add(td, pf_name_id(name), value);
}

PF_EXPORT void pferris_memory(const char *name, long long bytes)
{
    pf_tdom_t *td = tdom(&profilers[0]);
    if (pf_likely(td))
        memory_record(td, pf_name_id(name), bytes);
}

/* ---- the Profiler object API ---------------------------------------------------------- */

PF_EXPORT pferris_profiler_t *pferris_default(void)
{
    return &profilers[0];
}

PF_EXPORT pferris_profiler_t *pferris_profiler_new(void)
{
    for (int i = 1; i < PF_MAX_PROFILERS; i++) {
        int free_slot = 0;
        if (pf_cas_acq_rel(&profilers[i].in_use, &free_slot, 1)) {
            pferris_profiler_t *p = &profilers[i];
            p->slot = i;
            p->start_ticks = pf_clock_ticks();
            p->stop_ticks = 0;
            p->running = 0;
            pf_store_release(&p->stamp, pf_fetch_add_relaxed(&next_stamp, 1));
            return p;
        }
    }
    errno = ENOMEM;
    return NULL;
}

PF_EXPORT void pferris_profiler_free(pferris_profiler_t *p)
{
    if (!p || p == &profilers[0])
        return;
    pf_store_release(&p->stamp, pf_fetch_add_relaxed(&next_stamp, 1));
    pf_store_release(&p->in_use, 0);
}

PF_EXPORT void pferris_clear(pferris_profiler_t *p)
{
    if (!p)
        return;
    pf_store_release(&p->stamp, pf_fetch_add_relaxed(&next_stamp, 1));
}

PF_EXPORT int pferris_start(pferris_profiler_t *p)
{
    if (!p)
        return -EINVAL;
    p->start_ticks = pf_clock_ticks();
    p->stop_ticks = 0;
    pf_store_release(&p->running, 1);
    return 0;
}

PF_EXPORT double pferris_stop(pferris_profiler_t *p)
{
    if (!p || !pf_load_acquire(&p->running)) {
        errno = p ? ENOENT : EINVAL;
        return NAN;
    }
    p->stop_ticks = pf_clock_ticks();
    pf_store_release(&p->running, 0);
    return pf_clock_ticks_to_sec(p->stop_ticks - p->start_ticks);
}

double pf_profile_elapsed(pferris_profiler_t *p)
{
    uint64_t end = pf_load_acquire(&p->running) || !p->stop_ticks ? pf_clock_ticks() : p->stop_ticks;
    uint64_t start = p == &profilers[0] ? pf_clock_origin() : p->start_ticks;
    return pf_clock_ticks_to_sec(end - start);
}

/* Names handed to the object API may be any string: looked up by content unless literal. */
PF_EXPORT int pferris_start_timer(pferris_profiler_t *p, const char *name)
{
    if (!p || !name)
        return -EINVAL;
    pf_tdom_t *td = tdom(p);
    if (!td)
        return -ENOMEM;
    timer_start(td, pf_name_id(name));
    return 0;
}

PF_EXPORT double pferris_stop_timer(pferris_profiler_t *p, const char *name)
{
    pf_tdom_t *td = p && name ? tdom(p) : NULL;
    int64_t dt = td ? timer_stop(td, pf_name_id(name)) : -1;
    if (dt < 0) {
        errno = td ? ENOENT : EINVAL;
        return NAN;
    }
    return pf_clock_ticks_to_sec((uint64_t)dt);
}

PF_EXPORT int pferris_record_memory(pferris_profiler_t *p, const char *name, long long bytes)
{
    if (!p || !name)
        return -EINVAL;
    pf_tdom_t *td = tdom(p);
    if (!td)
        return -ENOMEM;
    memory_record(td, pf_name_id(name), bytes);
    return 0;
}

PF_EXPORT int pferris_increment_counter_by(pferris_profiler_t *p, const char *name,
                                           long long value)
{
    if (!p || !name)
        return -EINVAL;
    pf_tdom_t *td = tdom(p);
    if (!td)
        return -ENOMEM;
    counter_add(td, pf_name_id(name), value);
    return 0;
}

PF_EXPORT int pferris__profile_end(pferris_profiler_t *p, const char *name, int rc)
{
    int saved = errno;
    (void)pferris_stop_timer(p, name);
    char counter[256];
    snprintf(counter, sizeof counter, "%s_%s", name ? name : "", rc < 0 ? "error" : "success");
    (void)pferris_increment_counter_by(p, counter, 1);
    errno = saved;
    return rc;
}

/* ---- readers -------------------------------------------------------------------------- */

pf_tdom_t *pf_profile_tdom(pferris_profiler_t *p, pf_thread_t *t)
{
    pf_tdom_t *td = pf_load_acquire(&t->dom[p->slot]);
    if (!td || pf_load_acquire(&td->stamp) != pf_load_acquire(&p->stamp))
        return NULL;
    return td;
}

void pf_profile_collect(pferris_profiler_t *p, pf_name_stats_t *out, uint32_t n)
{
    memset(out, 0, n * sizeof *out);
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        pf_tdom_t *td = pf_profile_tdom(p, t);
        if (!td)
            continue;
        for (uint32_t pg = 0; pg * PF_PAGE < n; pg++) {
            pf_slot_t *page = pf_load_acquire(&td->pages[pg]);
            if (!page)
                continue;
            for (uint32_t i = 0; i < PF_PAGE && pg * PF_PAGE + i < n; i++) {
                pf_slot_t *s = &page[i];
                uint32_t kinds = pf_load_relaxed(&s->kinds);
                if (!kinds)
                    continue;
                pf_name_stats_t *o = &out[pg * PF_PAGE + i];
                if (kinds & PF_KIND_TIMER) {
                    uint64_t c = pf_load_relaxed(&s->count), mn = pf_load_relaxed(&s->min),
                             mx = pf_load_relaxed(&s->max);
                    if (c && (o->count == 0 || mn < o->min))
                        o->min = mn;
                    if (mx > o->max)
                        o->max = mx;
                    o->count += c;
                    o->total += pf_load_relaxed(&s->total);
                }
                if (kinds & PF_KIND_COUNTER)
                    o->counter += pf_load_relaxed(&s->counter);
                if (kinds & PF_KIND_MEMORY) {
                    uint64_t st = pf_load_relaxed(&s->mem_stamp);
                    int64_t pk = pf_load_relaxed(&s->mem_peak);
                    if (!(o->kinds & PF_KIND_MEMORY) || st >= o->mem_stamp) {
                        o->mem_stamp = st;
                        o->mem_last = pf_load_relaxed(&s->mem_last);
                    }
                    if (!(o->kinds & PF_KIND_MEMORY) || pk > o->mem_peak)
                        o->mem_peak = pk;
                }
                o->kinds |= kinds;
            }
        }
    }
}

uint64_t pf_profile_dropped(pferris_profiler_t *p)
{
    uint64_t d = 0;
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t)) {
        pf_tdom_t *td = pf_profile_tdom(p, t);
        if (td)
            d += pf_load_relaxed(&td->dropped);
    }
    return d;
}

void pf_profile_counters_foreach(pf_profile_counter_cb cb, void *arg)
{
    uint32_t n = pf_name_limit();
    pf_name_stats_t *st = pf_arena_zalloc(PF_MAX_NAMES * sizeof *st); /* a mapping: given back */
    if (!st)
        return;
    pf_profile_collect(&profilers[0], st, n);
    for (uint32_t i = 0; i < n; i++)
        if ((st[i].kinds & PF_KIND_COUNTER) && pf_name_str(i))
            cb(pf_name_str(i), st[i].counter, arg);
    pf_arena_free(st, PF_MAX_NAMES * sizeof *st);
}

void pf_profile_thread_reuse(pf_thread_t *t)
{
    for (int i = 0; i < PF_MAX_PROFILERS; i++)
        if (t->dom[i])
            t->dom[i]->depth = 0;
}

void pf_profile_after_fork(void)
{
    profilers[0].stamp = next_stamp++;
    profilers[0].start_ticks = pf_clock_ticks();
}
