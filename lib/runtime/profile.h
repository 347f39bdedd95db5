/* profile.h — timers, counters and memory records, per thread and per profiler.
 *
 * A profiler is a slot (0 is the process-wide default the markers use). Each thread keeps, per
 * slot it has used, a pf_tdom: a page table of per-name figures, a stack of running timers and
 * the thread's timer tree. Only the owner writes a tdom; the report sums tdoms across threads.
 * A slot's stamp changes when its profiler is cleared, freed or reused: a tdom whose stamp
 * differs is stale, reset by its owner on next use and skipped by readers.
 */
#ifndef PF_PROFILE_H
#define PF_PROFILE_H

#include <stdint.h>
#include "pferris.h"
#include "base/name.h"
#include "runtime/thread.h"

#define PF_STACK     64   /* running timers per thread and profiler */
#define PF_MAX_NODES 4096 /* timer-tree nodes per thread and profiler */
#define PF_PAGE      64   /* names per page */

enum { PF_KIND_TIMER = 1, PF_KIND_COUNTER = 2, PF_KIND_MEMORY = 4 };

typedef struct {
    uint64_t count, total, min, max; /* timer intervals, ticks */
    int64_t counter;
    int64_t mem_last, mem_peak;
    uint64_t mem_stamp;              /* tick of the last record: the latest thread wins */
    uint32_t kinds;
} pf_slot_t;

typedef struct {
    uint32_t parent, name;
    uint64_t count, total, child;    /* ticks; self time = total - child */
    uint32_t last_name, last_node;   /* one-entry cache of the last child looked up */
} pf_node_t;

typedef struct pf_tdom {
    uint64_t stamp;
    uint32_t slot;                   /* the profiler's: 0 is the markers' (the timeline's) */
    pf_slot_t *pages[PF_MAX_NAMES / PF_PAGE];
    struct {
        uint32_t name, node;
        uint64_t start;
    } stack[PF_STACK];
    uint32_t depth;
    uint64_t dropped;                /* timer starts beyond PF_STACK, or past PF_MAX_NODES */
    pf_node_t *nodes;                /* nodes[0] is the root */
    uint32_t nnodes;                 /* published with release after a node is written */
    uint32_t *node_hash;
} pf_tdom_t;

struct pferris_profiler {
    int slot;
    int in_use;
    uint64_t stamp;
    uint64_t start_ticks, stop_ticks;
    int running;
};

/* Sums over every thread for profiler p, into out[0 .. n) indexed by name id (n is
 * pf_name_limit() at most). mem_last is the latest record of any thread. */
typedef struct {
    uint64_t count, total, min, max;
    int64_t counter, mem_last, mem_peak;
    uint64_t mem_stamp;
    uint32_t kinds;
} pf_name_stats_t;
void pf_profile_collect(pferris_profiler_t *p, pf_name_stats_t *out, uint32_t n) PF_HIDDEN;

/* Each current tdom of p in turn (for the tree); NULL ends. */
pf_tdom_t *pf_profile_tdom(pferris_profiler_t *p, pf_thread_t *t) PF_HIDDEN;
uint64_t pf_profile_dropped(pferris_profiler_t *p) PF_HIDDEN;

/* Seconds the profiler has run: stop - start, or now - start while running. */
double pf_profile_elapsed(pferris_profiler_t *p) PF_HIDDEN;

/* Sums of the default profiler's counters, name by name (live counters for the tuner). */
typedef void (*pf_profile_counter_cb)(const char *name, long long value, void *arg);
void pf_profile_counters_foreach(pf_profile_counter_cb cb, void *arg) PF_HIDDEN;

/* Where the default profiler's closed timer intervals go, on the stopping thread (the timeline
 * installs its recorder here); NULL: nowhere. */
typedef void (*pf_profile_interval_fn)(uint32_t name, uint64_t start_ticks, uint64_t end_ticks);
extern pf_profile_interval_fn pf_profile_interval_sink PF_HIDDEN;

/* A taken-over record (thread.c's reuse hook): the timers its previous thread left running are
 * forgotten; its figures stay and go on adding up. */
void pf_profile_thread_reuse(pf_thread_t *t) PF_HIDDEN;

/* In a fork child: the default profiler starts empty. */
void pf_profile_after_fork(void) PF_HIDDEN;

#endif
