/* tune.c — pferris_auto_tune_workers and pferris_profile_parallel_operation, the seed's two
 * higher-level functions.
 *
 * The tuner really runs the task: for each worker count it drives the pool with exactly that
 * many participants over the sample items (cycling through them) until a deadline, and counts
 * the items completed. A run lasts test_duration / ROUNDS; the budget is ROUNDS runs per count.
 * SWEEPS runs of every count come first, in a serpentine order over the counts (min..max, then
 * max..min, ...) so that a slow drift of the machine (frequency, other load) falls on every count
 * alike; the rest of the budget goes, round by round, to the counts that decide the knee, as the
 * shared schedule (stats.h, also used by pferris-tune) plans them, up to MAX_RUNS runs of one.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/clock.h"
#include "pferris.h"
#include "parallel/pool.h"
#include "runtime/profile.h"
#include "parallel/stats.h"

#define ROUNDS   5 /* runs per count in the budget */
#define SWEEPS   3 /* runs of every count before the schedule decides */
#define MAX_RUNS 8 /* runs of one count, at most */

typedef struct {
    pferris_map_fn task;
    void *ctx;
    const char *items;
    size_t n, item_size;
    char *scratch;           /* one out slot per participant, a cache line apart */
    size_t stride;
    uint64_t deadline_ns;
    size_t done;             /* items completed; one relaxed add per chunk */
} tune_job_t;

/* Chunk [begin, end) of the endless item sequence: item i is items[i % n]. Returns 1 (stop,
 * no error) once the deadline has passed; a chunk begun before it is finished and counted. */
static int tune_range(size_t begin, size_t end, int worker, void *arg)
{
    tune_job_t *t = arg;
    if (pf_clock_mono_ns() >= t->deadline_ns)
        return 1;
    void *out = t->scratch ? t->scratch + (size_t)worker * t->stride : NULL;
    size_t idx = begin % t->n;
    for (size_t i = begin; i < end; i++) {
        int rc = t->task(t->items + idx * t->item_size, out, t->ctx);
        if (rc < 0)
            return rc;
        if (++idx == t->n)
            idx = 0;
    }
    pf_fetch_add_relaxed(&t->done, end - begin);
    return pf_clock_mono_ns() >= t->deadline_ns;
}

/* One timed run with `workers` participants for `seconds`; adds to *pt. */
static int tune_round(tune_job_t *t, int workers, double seconds, pferris_tune_point_t *pt,
                      double *sample)
{
    pf_store_relaxed(&t->done, 0);
    uint64_t t0 = pf_clock_mono_ns();
    t->deadline_ns = t0 + (uint64_t)(seconds * 1e9);
    int rc = pf_pool_run(SIZE_MAX / 4, workers, tune_range, t);
    double elapsed = (double)(pf_clock_mono_ns() - t0) / 1e9;
    if (rc < 0)
        return rc;
    size_t done = pf_load_relaxed(&t->done);
    pt->items += done;
    pt->seconds += elapsed;
    pt->rounds++;
    *sample = elapsed > 0 ? (double)done / elapsed : 0;
    return 0;
}

PF_EXPORT int pferris_auto_tune_workers(pferris_map_fn task, void *ctx, const void *items,
                                        size_t n, size_t item_size, size_t out_size,
                                        int min_workers, int max_workers, double test_duration,
                                        pferris_tune_result_t *result)
{
    size_t bytes;
    if (result)
        memset(result, 0, sizeof *result);
    if (!task || !result || n == 0 || !items || item_size == 0)
        return -EINVAL;
    if (__builtin_mul_overflow(n, item_size, &bytes))
        return -EOVERFLOW;
    if (!(test_duration > 0) || !isfinite(test_duration))
        return -EINVAL;
    if (min_workers == 0)
        min_workers = 1;
    if (max_workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        max_workers = cpus < 1 ? 1 : cpus > PF_POOL_MAX ? PF_POOL_MAX : (int)cpus;
        if (max_workers < min_workers) /* only min was given: test it alone */
            max_workers = min_workers;
    }
    if (min_workers < 0 || max_workers < min_workers || max_workers > PF_POOL_MAX)
        return -EINVAL;

    int saved = errno;
    int counts = max_workers - min_workers + 1;
    tune_job_t t = {.task = task, .ctx = ctx, .items = items, .n = n, .item_size = item_size};
    if (out_size) {
        t.stride = (out_size + PF_CACHELINE - 1) / PF_CACHELINE * PF_CACHELINE;
        if (__builtin_mul_overflow(t.stride, (size_t)max_workers, &bytes))
            return -EOVERFLOW;
        t.scratch = aligned_alloc(PF_CACHELINE, bytes);
    }
    pferris_tune_point_t *pts = calloc((size_t)counts, sizeof *pts);
    double *samples = calloc((size_t)counts * MAX_RUNS, sizeof *samples);
    pf_stats_count_t *sc = calloc((size_t)counts, sizeof *sc);
    pf_stats_summary_t *sum = calloc((size_t)counts, sizeof *sum);
    unsigned char *want = calloc((size_t)counts, 1);
    int rc = -ENOMEM;
    if (!pts || !samples || !sc || !sum || !want || (out_size && !t.scratch))
        goto out;

    for (int i = 0; i < counts; i++) {
        pts[i].workers = min_workers + i;
        sc[i] = (pf_stats_count_t){.workers = pts[i].workers, .samples = &samples[i * MAX_RUNS]};
    }
    pf_stats_params_t par;
    pf_stats_defaults(&par);
    par.max_runs = MAX_RUNS;
    rc = 0;
    double seconds = test_duration / ROUNDS;
    int budget = counts * ROUNDS;
    pf_stats_choice_t choice;
    for (int r = 0; budget > 0 && rc == 0; r++) {
        int k = counts;
        if (r < SWEEPS)
            memset(want, 1, (size_t)counts);
        else
            k = pf_stats_plan(sc, counts, &par, sum, &choice, want);
        if (k <= 0)
            break;
        for (int j = 0; j < counts && budget > 0 && rc == 0; j++) {
            int i = r % 2 ? counts - 1 - j : j;
            if (!want[i])
                continue;
            double *sample = &samples[i * MAX_RUNS + sc[i].n];
            rc = tune_round(&t, pts[i].workers, seconds, &pts[i], sample);
            sc[i].n = pts[i].rounds;
            budget--;
        }
    }
    if (rc < 0)
        goto out;

    /* The same choice as pferris-tune: the knee (stats.h states the rule). */
    rc = pf_stats_choose(sc, counts, &par, sum, &choice);
    if (rc == 0 && choice.chosen < 0)
        rc = -EIO; /* not reached: every round completes at least one item */
    if (rc < 0)
        goto out;
    for (int i = 0; i < counts; i++) {
        pts[i].throughput = sum[i].median;
        pts[i].spread = sum[i].spread;
    }
    result->optimal_workers = pts[choice.chosen].workers;
    result->best_throughput = pts[choice.chosen].throughput;
    result->tested_workers = counts;
    result->results = pts;
    pts = NULL;
out:
    free(t.scratch);
    free(pts);
    free(samples);
    free(sc);
    free(sum);
    free(want);
    errno = saved;
    return rc;
}

PF_EXPORT void pferris_tune_result_free(pferris_tune_result_t *result)
{
    if (!result)
        return;
    free(result->results);
    memset(result, 0, sizeof *result);
}

PF_EXPORT int pferris_profile_parallel_operation(pferris_operation_fn op, void *arg,
                                                 pferris_profiler_t *p, const char *name,
                                                 struct json_t **report)
{
    if (report)
        *report = NULL;
    if (!op)
        return -EINVAL;
    if (!name)
        name = "parallel_operation";
    pferris_profiler_t *own = NULL;
    if (!p) {
        p = own = pferris_profiler_new();
        if (!p)
            return -ENOMEM;
    }
    /* A profiler the caller already runs keeps running: its total_elapsed spans more than op. */
    int started = !pf_load_acquire(&p->running) && pferris_start(p) == 0;
    int rc = PFERRIS_PROFILE_FUNCTION(p, name, op(arg));
    int saved = errno;
    if (started)
        (void)pferris_stop(p);
    errno = saved;
    if (report) {
        *report = pferris_get_report(p);
        if (!*report)
            errno = ENOMEM;
    }
    if (own)
        pferris_profiler_free(own);
    return rc;
}
