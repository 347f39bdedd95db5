/* timeline.h — when each named timer interval began and ended on which thread, and live heap
 * bytes over time, at a bounded cost: per-thread bounded buffers (what is dropped is counted)
 * and a sampler every PFERRIS_INTERVAL_MS. Read by `pferris report --trace` and `--svg`. */
#ifndef PF_TIMELINE_H
#define PF_TIMELINE_H

#include <jansson.h>
#include <stdint.h>
#include "base/atomic.h"

/* Non-zero when the timeline records (set by pf_timeline_start from the environment). */
extern int pf_timeline_on PF_HIDDEN;

/* From the session's init, once the configuration is read. */
void pf_timeline_start(void) PF_HIDDEN;
/* From timer_stop, on the calling thread, only when pf_timeline_on: one closed interval. */
void pf_timeline_interval(uint32_t name, uint64_t start_ticks, uint64_t end_ticks) PF_HIDDEN;
/* From the report builder: adds the timeline's sections to the process report r. */
void pf_timeline_report(json_t *r) PF_HIDDEN;
/* From the preload's pthread_create, before the thread exists: the sampler thread starts with
 * the program's second thread. */
void pf_timeline_threads_begin(void) PF_HIDDEN;
/* From the heap's batched flush: takes a sample when one is due and no sampler runs yet. */
void pf_timeline_heap_tick(void) PF_HIDDEN;
/* In a fork child: forget the parent's timeline. */
void pf_timeline_after_fork(void) PF_HIDDEN;

#endif
