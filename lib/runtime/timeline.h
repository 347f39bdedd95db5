/* timeline.h — when each named timer interval began and ended on which thread, and live heap
 * bytes over time, at a bounded cost: per-thread bounded buffers (what is dropped is counted)
 * and a sampler every PFERRIS_INTERVAL_MS. The report layer reads it (lib/report/timeline_json.c)
 * for `pferris report --trace` and `--svg`. */
#ifndef PF_TIMELINE_H
#define PF_TIMELINE_H

#include <stdint.h>
#include "base/atomic.h"

#define PF_TIMELINE_SAMPLES  4096 /* samples kept; then halved, and the period doubled */
#define PF_TIMELINE_COUNTERS 8    /* counters sampled over time (the first ones seen) */

/* Non-zero when the timeline records (set by pf_timeline_start from the environment). */
extern int pf_timeline_on PF_HIDDEN;

/* From the session's init, once the configuration is read: installs the profile's interval sink
 * and the heap's flush hook. */
void pf_timeline_start(void) PF_HIDDEN;
/* From the preload's pthread_create, before the thread exists: the sampler thread starts with
 * the program's second thread. */
void pf_timeline_threads_begin(void) PF_HIDDEN;
/* Installed by the session (checkpoints): a tick after each sample on the sampler thread, or,
 * while the process has no sampler thread, on each heap flush of any thread (so the hook may
 * run on several threads at once and must check its own clock, cheaply). One hook. */
typedef void (*pf_timeline_tick_fn)(void);
void pf_timeline_set_tick_hook(pf_timeline_tick_fn fn) PF_HIDDEN;
/* In a fork child: forget the parent's timeline. */
void pf_timeline_after_fork(void) PF_HIDDEN;

/* ---- reading (the report) ---- */

typedef struct {
    uint64_t ticks;
    int64_t live;
    int64_t threads;
    int64_t c[PF_TIMELINE_COUNTERS]; /* the counters of pf_timeline_info's counter_id */
} pf_timeline_sample_t;

typedef struct {
    int enabled;              /* intervals are recorded */
    long long interval_ms;    /* PFERRIS_INTERVAL_MS: the first sample period; 0: no samples */
    int sampling;             /* samples are taken */
    uint32_t ncounters;
    uint32_t counter_id[PF_TIMELINE_COUNTERS];
} pf_timeline_info_t;
void pf_timeline_info(pf_timeline_info_t *out) PF_HIDDEN;

/* Each recorded interval, record by record (oldest record first; a record's buffer holds the
 * intervals of every thread that owned it, each with its tid); returns how many were dropped. */
typedef void (*pf_timeline_interval_cb)(int tid, uint32_t name, uint64_t start_ticks,
                                        uint64_t end_ticks, void *arg);
uint64_t pf_timeline_intervals(pf_timeline_interval_cb cb, void *arg) PF_HIDDEN;
/* A consistent copy of the samples into out[PF_TIMELINE_SAMPLES] (under the sampler's sequence
 * lock); returns how many, with the times the array was halved in *halvings. */
uint32_t pf_timeline_samples(pf_timeline_sample_t *out, uint32_t *halvings) PF_HIDDEN;

#endif
