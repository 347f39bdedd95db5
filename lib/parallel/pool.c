/* pool.c — the worker pool, the worker count, and pferris_parallel_map / _filter.
 *
 * One process-wide pool of threads that sleep until a job wants helpers. A job is posted by
 * the thread that calls pf_pool_run; that thread always works on its own job, and pool threads
 * join it as helpers while seats are free. Because the caller never waits for a helper that
 * has not joined, a job completes even when every pool thread is busy: nested calls (an item
 * function that calls parallel_map) cannot deadlock, and a failed pthread_create only costs
 * parallelism. Threads are started on demand and then kept, like an OpenMP runtime's.
 *
 * Items are claimed with one relaxed fetch_add on the job's counter per chunk. Each participant
 * sizes its own chunks by time: it starts at one item and doubles while a chunk takes less than
 * CHUNK_NS, halves when one takes much more, and never takes more than a 1/(2 * participants)
 * share of what remains (guided scheduling), so expensive items stay one per claim and the tail
 * balances, while a trivial function runs in chunks of tens of thousands of items.
 *
 * Locking: pool.mu guards the job list, the seat counts (joined, active) and each job's error;
 * the per-item path takes no lock and allocates nothing.
 */
#include "parallel/pool.h"
#include "runtime/thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/clock.h"
#include "pferris.h"
#include "base/warn.h"

#define CHUNK_NS 50000u /* a chunk should take about this long */

typedef struct pf_job {
    /* Read-only once posted. */
    pf_range_fn fn;
    void *arg;
    size_t n;
    int participants;
    /* Claimed by every participant: kept off the lines the caller's stack neighbours use. */
    size_t next __attribute__((aligned(PF_CACHELINE)));
    int stop;          /* relaxed: set once to end claiming early */
    /* Under pool.mu. */
    int joined;        /* helpers that took a seat; seat numbers are 1 .. joined */
    int active;        /* helpers that took a seat and have not left */
    int err;
    size_t err_at;
    struct pf_job *link __attribute__((aligned(PF_CACHELINE)));
} pf_job_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work; /* idle pool threads wait here for a job with a free seat */
    pthread_cond_t done; /* callers wait here for their helpers to leave */
    pf_job_t *jobs;      /* posted jobs still open to helpers */
    int threads, idle;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
          0, 0};

/* The job this thread helps with now, and whether it is a pool thread: read after fork. */
static __thread pf_job_t *helping;
static __thread int is_pool_thread;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---- fork ------------------------------------------------------------------------------ */

static void fork_prepare(void)
{
    pthread_mutex_lock(&pool.mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&pool.mu);
}

/* Only the forking thread lives on. Helpers of open jobs are gone, so the chunks they held
 * will never be done: those jobs end with -ECANCELED rather than with missing results. */
static void fork_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.work, NULL);
    pthread_cond_init(&pool.done, NULL);
    for (pf_job_t *j = pool.jobs; j; j = j->link) {
        int mine = helping == j;
        if (j->active > mine) {
            j->err = -ECANCELED;
            j->err_at = 0;
            pf_store_relaxed(&j->stop, 1);
        }
        j->active = mine;
        j->joined = j->participants - 1; /* no new helpers */
    }
    pool.threads = is_pool_thread;
    pool.idle = 0;
}

static void register_atfork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ---- running a job --------------------------------------------------------------------- */

static void record_error(pf_job_t *job, size_t begin, int rc)
{
    pthread_mutex_lock(&pool.mu);
    if (job->err == 0 || begin < job->err_at) {
        job->err = rc;
        job->err_at = begin;
    }
    pthread_mutex_unlock(&pool.mu);
}

static void work_on(pf_job_t *job, int me)
{
    const size_t n = job->n;
    const size_t share = 2 * (size_t)job->participants;
    size_t chunk = 1;
    while (!pf_load_relaxed(&job->stop)) {
        size_t begin = pf_fetch_add_relaxed(&job->next, chunk);
        if (begin >= n)
            break;
        size_t end = chunk > n - begin ? n : begin + chunk;
        uint64_t t0 = pf_clock_mono_ns();
        int rc = job->fn(begin, end, me, job->arg);
        uint64_t dt = pf_clock_mono_ns() - t0;
        if (rc != 0) {
            pf_store_relaxed(&job->stop, 1);
            if (rc < 0)
                record_error(job, begin, rc);
            break;
        }
        if (dt < CHUNK_NS / 2 && chunk < n)
            chunk *= 2;
        else if (dt > 4 * (uint64_t)CHUNK_NS && chunk > 1)
            chunk /= 2;
        size_t claimed = pf_load_relaxed(&job->next);
        size_t cap = claimed < n ? (n - claimed) / share : 0;
        if (chunk > cap)
            chunk = cap ? cap : 1;
    }
}

/* A job with a free seat, its seat taken; NULL when none. Under pool.mu. */
static pf_job_t *take_seat(int *seat)
{
    for (pf_job_t *j = pool.jobs; j; j = j->link) {
        if (j->joined < j->participants - 1) {
            *seat = ++j->joined;
            j->active++;
            return j;
        }
    }
    return NULL;
}

static void *pool_main(void *unused)
{
    (void)unused;
    is_pool_thread = 1;
    pthread_setname_np(pthread_self(), "pferris-pool");
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        int seat;
        pf_job_t *job = take_seat(&seat);
        if (!job) {
            pool.idle++;
            pthread_cond_wait(&pool.work, &pool.mu);
            pool.idle--;
            continue;
        }
        helping = job;
        pthread_mutex_unlock(&pool.mu);
        work_on(job, seat);
        pthread_mutex_lock(&pool.mu);
        helping = NULL;
        /* The results this helper wrote happen-before the caller sees active == 0. */
        if (--job->active == 0)
            pthread_cond_broadcast(&pool.done);
    }
    return NULL;
}

/* Starts up to `want` pool threads; how many started. Signals are blocked in pool threads so
 * that the program's asynchronous signals go to its own threads. */
static int start_threads(int want)
{
    int started = 0;
    while (started < want && pf_thread_spawn(pool_main, NULL, 0, 0, NULL) == 0)
        started++;
    return started;
}

int pf_pool_run(size_t n, int workers, pf_range_fn fn, void *arg)
{
    if (!fn || workers < 1 || n > SIZE_MAX / 2)
        return -EINVAL;
    if (n == 0)
        return 0;
    if (workers > PF_POOL_MAX)
        workers = PF_POOL_MAX;
    if ((size_t)workers > n)
        workers = (int)n;

    int saved = errno;
    pf_job_t job;
    memset(&job, 0, sizeof job);
    job.fn = fn;
    job.arg = arg;
    job.n = n;
    job.participants = workers;
    int helpers = workers - 1;

    if (helpers > 0) {
        pthread_once(&atfork_once, register_atfork);
        pthread_mutex_lock(&pool.mu);
        job.link = pool.jobs;
        pool.jobs = &job;
        int missing = helpers - pool.idle;
        if (missing > PF_POOL_MAX - pool.threads)
            missing = PF_POOL_MAX - pool.threads;
        if (missing > 0)
            pool.threads += missing; /* reserved now, returned below if a start fails */
        if (helpers >= pool.idle)
            pthread_cond_broadcast(&pool.work);
        else
            for (int i = 0; i < helpers; i++)
                pthread_cond_signal(&pool.work);
        pthread_mutex_unlock(&pool.mu);
        if (missing > 0) {
            int started = start_threads(missing);
            if (started < missing) {
                pthread_mutex_lock(&pool.mu);
                pool.threads -= missing - started;
                pthread_mutex_unlock(&pool.mu);
            }
        }
    }

    work_on(&job, 0);

    if (helpers > 0) {
        pthread_mutex_lock(&pool.mu);
        /* Close the job to new helpers, then wait for those that joined to leave. */
        for (pf_job_t **pp = &pool.jobs; *pp; pp = &(*pp)->link) {
            if (*pp == &job) {
                *pp = job.link;
                break;
            }
        }
        while (job.active > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    errno = saved;
    return job.err;
}

int pf_pool_threads(void)
{
    pthread_mutex_lock(&pool.mu);
    int n = pool.threads;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

/* ---- the worker count ------------------------------------------------------------------ */

static int explicit_workers; /* 0 until pferris_set_worker_count; relaxed */
static int env_warned;

PF_EXPORT int pferris_set_worker_count(int n)
{
    if (n <= 0 || n > PF_POOL_MAX)
        return -EINVAL;
    pf_store_relaxed(&explicit_workers, n);
    return 0;
}

/* Read on every call, so a program that sets PFERRIS_WORKERS late is still followed. */
PF_EXPORT int pferris_get_worker_count(void)
{
    int n = pf_load_relaxed(&explicit_workers);
    if (n > 0)
        return n;
    int saved = errno;
    const char *s = getenv("PFERRIS_WORKERS");
    if (s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (*s && !*end && !errno && v >= 1 && v <= PF_POOL_MAX) {
            errno = saved;
            return (int)v;
        }
        int first = 0;
        if (pf_cas_relaxed(&env_warned, &first, 1))
            pf_warn("PFERRIS_WORKERS='%s' is not a worker count (1 to %d); using the %s", s,
                    PF_POOL_MAX, "number of online CPUs");
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    errno = saved;
    if (cpus < 1)
        return 1;
    return cpus > PF_POOL_MAX ? PF_POOL_MAX : (int)cpus;
}

/* ---- parallel_map and parallel_filter -------------------------------------------------- */

typedef struct {
    pferris_map_fn fn;
    void *ctx;
    const char *in;
    char *out;
    size_t in_size, out_size;
} map_job_t;

static int map_range(size_t begin, size_t end, int worker, void *arg)
{
    const map_job_t *m = arg;
    (void)worker;
    for (size_t i = begin; i < end; i++) {
        int rc = m->fn(m->in + i * m->in_size, m->out ? m->out + i * m->out_size : NULL, m->ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int workers_for(size_t n)
{
    int w = pferris_get_worker_count();
    return (size_t)w > n ? (int)n : w;
}

PF_EXPORT int pferris_parallel_map(pferris_map_fn fn, void *ctx, const void *in, size_t n,
                                   size_t in_size, void *out, size_t out_size)
{
    size_t bytes;
    if (!fn || (n && (!in || in_size == 0)) || (out_size && n && !out))
        return -EINVAL;
    if (__builtin_mul_overflow(n, in_size, &bytes) || __builtin_mul_overflow(n, out_size, &bytes))
        return -EOVERFLOW;
    if (n == 0)
        return 0;
    map_job_t m = {fn, ctx, in, out_size ? out : NULL, in_size, out_size};
    return pf_pool_run(n, workers_for(n), map_range, &m);
}

typedef struct {
    pferris_pred_fn pred;
    void *ctx;
    const char *in;
    size_t size;
    unsigned char *keep;
} filter_job_t;

static int filter_range(size_t begin, size_t end, int worker, void *arg)
{
    const filter_job_t *f = arg;
    (void)worker;
    for (size_t i = begin; i < end; i++)
        f->keep[i] = f->pred(f->in + i * f->size, f->ctx) != 0;
    return 0;
}

/* The keep flags live in the last n bytes of out, so filtering allocates nothing. The ordered
 * compaction that follows reads flag i before it writes element k <= i into
 * [k * size, (k + 1) * size); that end is at most (i + 1) * size <= n * size - n + i + 1, the
 * first byte of flag i + 1, so no flag is overwritten before it is read. */
PF_EXPORT int pferris_parallel_filter(pferris_pred_fn pred, void *ctx, const void *in, size_t n,
                                      size_t size, void *out, size_t *kept)
{
    size_t bytes;
    if (!pred || !kept || (n && (!in || !out || size == 0)))
        return -EINVAL;
    if (__builtin_mul_overflow(n, size, &bytes))
        return -EOVERFLOW;
    *kept = 0;
    if (n == 0)
        return 0;
    const char *src = in;
    char *dst = out;
    if (dst < src + bytes && src < dst + bytes)
        return -EINVAL; /* the flags in out's tail would clobber the input */
    filter_job_t f = {pred, ctx, src, size, (unsigned char *)dst + bytes - n};
    int rc = pf_pool_run(n, workers_for(n), filter_range, &f);
    if (rc < 0)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (f.keep[i]) {
            memcpy(dst + k * size, src + i * size, size);
            k++;
        }
    }
    *kept = k;
    return 0;
}
