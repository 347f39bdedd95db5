/* pool.h — the worker pool behind pferris_parallel_map, pferris_parallel_filter and
 * pferris_auto_tune_workers. Internal: the public face is in pferris.h. */
#ifndef PF_POOL_H
#define PF_POOL_H

#include <stddef.h>
#include "base/atomic.h"

/* Most participants one job may have, and so the largest worker count accepted. */
#define PF_POOL_MAX 1024

/* Processes items [begin, end) as participant `worker` (0 is the calling thread, 1 .. the pool
 * threads that joined, in join order). Returns 0 to go on, a negative errno to stop the job
 * with that error, or a positive value to stop the job without error (a deadline reached). */
typedef int (*pf_range_fn)(size_t begin, size_t end, int worker, void *arg);

/* Runs fn over [0, n) on up to `workers` participants: the caller and workers - 1 pool threads.
 * Chunks are claimed dynamically and sized per participant so that each takes tens of
 * microseconds, so uneven items balance and trivial items cost little. The caller always takes
 * part, so the job completes even when no pool thread is free (a nested call, or pthread_create
 * failed). Returns 0, or the error of the lowest-indexed chunk that failed. n must be at most
 * SIZE_MAX / 2. Allocates nothing once the pool's threads exist. */
int pf_pool_run(size_t n, int workers, pf_range_fn fn, void *arg) PF_HIDDEN;

/* Threads the pool has started and not yet lost (for tests and figures). */
int pf_pool_threads(void) PF_HIDDEN;

#endif
