/* pferris.h — the one public header of pferris.
 *
 * Two halves:
 *  1. Markers (PFERRIS_TIMER_START, PFERRIS_SCOPE, PFERRIS_COUNT, PFERRIS_MEMORY,
 *     pferris_workers): header only, no link flag. Each call site resolves its entry point once
 *     with dlsym(RTLD_DEFAULT, ...) and caches it; when pferris is not loaded the marker costs one
 *     predictable branch. Under LD_PRELOAD=libpferris.so, or linked with -lpferris, they are live.
 *     Weak undefined symbols are not used: GNU ld resolves them to zero at link time in non-PIE
 *     executables.
 *  2. The Profiler object API (the seed's Profiler class in C) and the seed's functions. These
 *     need -lpferris (or the preload); reports are jansson json_t objects.
 *
 * Names passed to markers should be string literals: a literal in a read-only segment is
 * interned once and then found by its address. Any other string is looked up by content.
 */
#ifndef PFERRIS_H
#define PFERRIS_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PFERRIS_SCHEMA "pferris-report/1"

/* ------------------------------------------------------------------------------------------ */
/* Markers                                                                                    */
/* ------------------------------------------------------------------------------------------ */


typedef void (*pferris__name_fn)(const char *name);
typedef void (*pferris__value_fn)(const char *name, long long value);

/* One per call site. 0: not yet resolved; 1: pferris is absent; otherwise the entry point. */
typedef struct { uintptr_t fn; } pferris__site_t;

static inline uintptr_t pferris__resolve(pferris__site_t *site, const char *symbol)
{
    uintptr_t f = __atomic_load_n(&site->fn, __ATOMIC_RELAXED);
    if (__builtin_expect(f != 0, 1))
        return f;
    /* RTLD_DEFAULT is ((void *)0) on glibc. */
    void *sym = dlsym((void *)0, symbol);
    f = sym ? (uintptr_t)sym : (uintptr_t)1;
    __atomic_store_n(&site->fn, f, __ATOMIC_RELAXED);
    return f;
}

#define PFERRIS__CALL_NAME(symbol, name)                                                       \
    do {                                                                                       \
        static pferris__site_t pferris__s_;                                                    \
        uintptr_t pferris__f_ = pferris__resolve(&pferris__s_, symbol);                        \
        if (pferris__f_ > 1)                                                                   \
            ((pferris__name_fn)pferris__f_)(name);                                             \
    } while (0)

#define PFERRIS__CALL_VALUE(symbol, name, value)                                               \
    do {                                                                                       \
        static pferris__site_t pferris__s_;                                                    \
        uintptr_t pferris__f_ = pferris__resolve(&pferris__s_, symbol);                        \
        if (pferris__f_ > 1)                                                                   \
            ((pferris__value_fn)pferris__f_)(name, (long long)(value));                        \
    } while (0)

/* Time a named region on this thread; regions nest and form a tree. */
#define PFERRIS_TIMER_START(name) PFERRIS__CALL_NAME("pferris_timer_start", name)
#define PFERRIS_TIMER_STOP(name)  PFERRIS__CALL_NAME("pferris_timer_stop", name)
/* Add value to a 64-bit counter. */
#define PFERRIS_COUNT(name, value) PFERRIS__CALL_VALUE("pferris_count", name, value)
/* Record a memory figure in bytes: the report keeps the last value and the peak. */
#define PFERRIS_MEMORY(name, bytes) PFERRIS__CALL_VALUE("pferris_memory", name, bytes)

/* Times from here to the end of the enclosing block (GCC and Clang cleanup attribute). */
static inline void pferris__scope_end(const char **name)
{
    PFERRIS_TIMER_STOP(*name);
}
#define PFERRIS__CAT2(a, b) a##b
#define PFERRIS__CAT(a, b)  PFERRIS__CAT2(a, b)
#define PFERRIS_SCOPE(name)                                                                    \
    PFERRIS_TIMER_START(name);                                                                 \
    const char *PFERRIS__CAT(pferris__scope_, __LINE__)                                        \
        __attribute__((cleanup(pferris__scope_end), unused)) = (name)

/* The worker count a program should use: PFERRIS_WORKERS (set by pferris-tune), else
 * OMP_NUM_THREADS, else fallback. A value that is not a positive integer is skipped. */
static inline int pferris__env_count(const char *var)
{
    const char *s = getenv(var);
    if (!s || !*s)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v <= 0 || v > 1 << 20)
        return 0;
    return (int)v;
}
static inline int pferris_workers(int fallback)
{
    int n = pferris__env_count("PFERRIS_WORKERS");
    if (n == 0)
        n = pferris__env_count("OMP_NUM_THREADS");
    return n ? n : fallback;
}

/* The exported entry points the markers resolve. Callable directly when linked -lpferris. */
void pferris_timer_start(const char *name);
void pferris_timer_stop(const char *name);
void pferris_count(const char *name, long long value);
void pferris_memory(const char *name, long long bytes);

/* ------------------------------------------------------------------------------------------ */
/* Profiler object API (link with -lpferris, or run under the preload)                        */
/* ------------------------------------------------------------------------------------------ */

struct json_t; /* jansson's; include <jansson.h> to use the reports */

typedef struct pferris_profiler pferris_profiler_t;

/* A new, empty profiler; NULL with errno set when the profiler table is full (ENOMEM). */
pferris_profiler_t *pferris_profiler_new(void);
void pferris_profiler_free(pferris_profiler_t *p);
/* The process-wide profiler: the markers and the preload's report use it. Never freed. */
pferris_profiler_t *pferris_default(void);

/* Start the overall clock (0, or -EINVAL for a NULL profiler). */
int pferris_start(pferris_profiler_t *p);
/* Seconds since pferris_start; NAN when it was not started. */
double pferris_stop(pferris_profiler_t *p);

/* Timers are per thread: two threads may time the same name at once. Intervals of the same
 * name accumulate. Stopping a timer that is not running returns NAN with errno = ENOENT. */
int pferris_start_timer(pferris_profiler_t *p, const char *name);
double pferris_stop_timer(pferris_profiler_t *p, const char *name);

/* Keeps the last value and the peak. */
int pferris_record_memory(pferris_profiler_t *p, const char *name, long long bytes);
/* Counters are 64-bit and add. pferris_increment_counter(p, name) adds 1. */
int pferris_increment_counter_by(pferris_profiler_t *p, const char *name, long long value);
#define PFERRIS__INC3(p, name, value, ...) pferris_increment_counter_by(p, name, value)
#define pferris_increment_counter(...) PFERRIS__INC3(__VA_ARGS__, 1, 0)

/* New references; the caller json_decref()s them. */
struct json_t *pferris_get_timings(pferris_profiler_t *p);      /* name -> seconds */
struct json_t *pferris_get_memory_usage(pferris_profiler_t *p); /* name -> bytes (last) */
struct json_t *pferris_get_counters(pferris_profiler_t *p);     /* name -> integer */
struct json_t *pferris_get_report(pferris_profiler_t *p);       /* the whole report */
/* Forget every timing, counter and memory record (running timers too). */
void pferris_clear(pferris_profiler_t *p);

/* The seed's context manager: PFERRIS_TIMER(p, "load") { ... } times the block. Leaving the
 * block with break is fine; with return or goto the timer keeps running. */
#define PFERRIS_TIMER(p, name)                                                                 \
    for (int pferris__once_ = (pferris_start_timer((p), (name)), 1); pferris__once_;          \
         pferris__once_ = 0, (void)pferris_stop_timer((p), (name)))

/* The seed's decorator: PFERRIS_PROFILE_FUNCTION(p, "name") before a call expression times the
 * call and counts "<name>_success", or "<name>_error" when the int it returns is negative. */
int pferris__profile_end(pferris_profiler_t *p, const char *name, int rc);
#define PFERRIS_PROFILE_FUNCTION(p, name, call)                                                \
    (pferris_start_timer((p), (name)), pferris__profile_end((p), (name), (call)))

/* Worker count for parallel_map and friends: set explicitly, else PFERRIS_WORKERS, else online
 * CPUs. Setting 0 or a negative count returns -EINVAL and changes nothing. */
int pferris_set_worker_count(int n);
int pferris_get_worker_count(void);

/* ---- parallel_map, parallel_filter, auto_tune_workers, profile_parallel_operation -------- */
/* (pool.c and tune.c; this block is maintained with them.) */

/* One item of a map: read *in, write *out (NULL when out_size is 0). Return 0, or a negative
 * errno to stop the map: items not yet started are skipped and the call returns that error. */
typedef int (*pferris_map_fn)(const void *in, void *out, void *ctx);
/* One item of a filter: nonzero keeps the item. */
typedef int (*pferris_pred_fn)(const void *item, void *ctx);

/* out[i] = fn(in[i]) for i in [0, n), on pferris_get_worker_count() workers (the calling thread
 * is one of them), in input order; items are claimed in dynamically sized chunks so that uneven
 * items balance. Returns 0, -EINVAL (no fn; n > 0 with no in, in_size 0, or out_size > 0 and no
 * out), -EOVERFLOW, or the error of the lowest-indexed chunk whose fn failed. */
int pferris_parallel_map(pferris_map_fn fn, void *ctx, const void *in, size_t n, size_t in_size,
                         void *out, size_t out_size);
/* Copies the items of in for which pred is nonzero to the front of out, in input order, and
 * sets *kept. out has room for n items, must not overlap in, and is scratch beyond *kept. */
int pferris_parallel_filter(pferris_pred_fn pred, void *ctx, const void *in, size_t n,
                            size_t size, void *out, size_t *kept);

/* One worker count the tuner tried. */
typedef struct {
    int workers;
    double throughput;       /* items/s: the median of the rounds */
    double spread;           /* 1.4826 x median absolute deviation of the rounds, items/s */
    int rounds;              /* timed runs of this count */
    unsigned long long items; /* items completed over all rounds */
    double seconds;          /* wall time over all rounds */
} pferris_tune_point_t;

typedef struct {
    int optimal_workers;
    double best_throughput;         /* items/s at optimal_workers */
    int tested_workers;             /* how many counts were tried: the length of results */
    pferris_tune_point_t *results;  /* ascending worker counts; pferris_tune_result_free */
} pferris_tune_result_t;

/* Runs task over items (cycling through them) in parallel with each worker count from
 * min_workers to max_workers, for test_duration seconds per count, and picks the count with
 * the best throughput that is not just noise (the statistics pferris-tune uses). 0 for
 * min_workers means 1, for max_workers the online CPUs; out_size is the size task writes.
 * Returns 0 and fills *result, or -EINVAL (no task or result, n == 0 or no items, min > max,
 * test_duration not > 0), -ENOMEM, or the task's error. The calling thread is one worker. */
int pferris_auto_tune_workers(pferris_map_fn task, void *ctx, const void *items, size_t n,
                              size_t item_size, size_t out_size, int min_workers,
                              int max_workers, double test_duration,
                              pferris_tune_result_t *result);
void pferris_tune_result_free(pferris_tune_result_t *result);

/* An operation for pferris_profile_parallel_operation: 0 or a negative errno; it passes its
 * result back through arg. */
typedef int (*pferris_operation_fn)(void *arg);
/* Runs op(arg) timed as `name` (NULL: "parallel_operation") in profiler p, or in a profiler of
 * its own when p is NULL, and counts "<name>_success" or "<name>_error". p keeps its earlier
 * data; a p that was not running is started and stopped around op. When report is not NULL,
 * *report is the profiler's report (timings[name], total_elapsed, counters; json_decref it),
 * or NULL with errno set if it could not be built. Returns what op returned, or -EINVAL
 * (no op) without running anything. */
int pferris_profile_parallel_operation(pferris_operation_fn op, void *arg, pferris_profiler_t *p,
                                       const char *name, struct json_t **report);

#ifdef __cplusplus
}
#endif
#endif /* PFERRIS_H */
