/* check_pool.c — the worker pool: pferris_parallel_map / _filter give the sequential answer in
 * input order for any item and worker count, the worker count follows set / PFERRIS_WORKERS /
 * CPUs and changes take effect, a slow item does not hold the others back, errors stop a map,
 * nested maps and fork work. Every wait here has a deadline far beyond need, so no assertion
 * depends on timing; a broken pool shows up as a wrong result or a timeout. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check_util.h"
#include "pferris.h"
#include "parallel/pool.h"

static int square(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long x = *(const long *)in;
    *(long *)out = x * x + 1;
    return 0;
}

static long *iota(size_t n)
{
    long *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (long)i - 7;
    return a;
}

/* parallel_map against a sequential loop, for n items on w workers. */
static void map_matches(size_t n, int w)
{
    ck_assert_int_eq(pferris_set_worker_count(w), 0);
    long *in = iota(n), *out = malloc((n ? n : 1) * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = -1;
    ck_assert_int_eq(pferris_parallel_map(square, NULL, in, n, sizeof *in, out, sizeof *out), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(out[i] == in[i] * in[i] + 1, "n=%zu w=%d: out[%zu] = %ld", n, w, i, out[i]);
    free(in);
    free(out);
}

START_TEST(map_equals_sequential)
{
    static const size_t ns[] = {0, 1, 2, 3, 1000, 100003};
    static const int ws[] = {1, 2, 3, 8};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof ws / sizeof ws[0]; j++)
            map_matches(ns[i], ws[j]);
}
END_TEST

START_TEST(map_more_workers_than_items)
{
    map_matches(1, 64);
    map_matches(5, 64);
    map_matches(63, 64);
}
END_TEST

START_TEST(map_zero_items_needs_no_arrays)
{
    ck_assert_int_eq(pferris_parallel_map(square, NULL, NULL, 0, sizeof(long), NULL, 0), 0);
}
END_TEST

/* A struct item and a different output type: the element sizes are respected. */
typedef struct {
    char tag[13];
    int weight;
} item_t;

static int weigh(const void *in, void *out, void *ctx)
{
    const item_t *it = in;
    *(double *)out = it->weight * *(const double *)ctx;
    return 0;
}

START_TEST(map_struct_items)
{
    enum { N = 5000 };
    item_t *in = calloc(N, sizeof *in);
    double *out = calloc(N, sizeof *out), k = 0.5;
    for (int i = 0; i < N; i++)
        in[i].weight = i * 3;
    pferris_set_worker_count(3);
    ck_assert_int_eq(pferris_parallel_map(weigh, &k, in, N, sizeof *in, out, sizeof *out), 0);
    for (int i = 0; i < N; i++)
        ck_assert(out[i] == i * 1.5);
    free(in);
    free(out);
}
END_TEST

/* out_size 0: a parallel for-each whose function keeps its own result. */
static int add_to(const void *in, void *out, void *ctx)
{
    ck_assert_ptr_null(out);
    __atomic_fetch_add((long *)ctx, *(const long *)in, __ATOMIC_RELAXED);
    return 0;
}

START_TEST(map_without_output)
{
    long *in = iota(10000), sum = 0, want = 0;
    for (int i = 0; i < 10000; i++)
        want += in[i];
    pferris_set_worker_count(4);
    ck_assert_int_eq(pferris_parallel_map(add_to, &sum, in, 10000, sizeof *in, NULL, 0), 0);
    ck_assert_int_eq(sum, want);
    free(in);
}
END_TEST

START_TEST(map_bad_arguments)
{
    long in[4] = {0}, out[4];
    ck_assert_int_eq(pferris_parallel_map(NULL, NULL, in, 4, 8, out, 8), -EINVAL);
    ck_assert_int_eq(pferris_parallel_map(square, NULL, NULL, 4, 8, out, 8), -EINVAL);
    ck_assert_int_eq(pferris_parallel_map(square, NULL, in, 4, 0, out, 8), -EINVAL);
    ck_assert_int_eq(pferris_parallel_map(square, NULL, in, 4, 8, NULL, 8), -EINVAL);
    ck_assert_int_eq(pferris_parallel_map(square, NULL, in, SIZE_MAX / 4, 8, out, 8), -EOVERFLOW);
}
END_TEST

/* Items from 300 on fail: the map returns the failure and items well past it are skipped. */
static int fail_late(const void *in, void *out, void *ctx)
{
    long x = *(const long *)in;
    *(long *)out = 1;
    if (x >= 300)
        return x == 300 ? -EIO : -EDOM;
    return 0;
}

START_TEST(map_error_stops)
{
    enum { N = 200000 };
    long *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
    for (long i = 0; i < N; i++)
        in[i] = i;
    pferris_set_worker_count(1);
    ck_assert_int_eq(pferris_parallel_map(fail_late, NULL, in, N, 8, out, 8), -EIO);
    ck_assert_int_eq(out[N - 1], 0); /* one worker goes in order and stops at 300 */
    pferris_set_worker_count(4);
    int rc = pferris_parallel_map(fail_late, NULL, in, N, sizeof *in, out, sizeof *out);
    ck_assert_msg(rc == -EIO || rc == -EDOM, "rc = %d", rc);
    free(in);
    free(out);
}
END_TEST

/* ---- the worker count ---------------------------------------------------------------- */

START_TEST(worker_count_set_and_errors)
{
    unsetenv("PFERRIS_WORKERS");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(pferris_get_worker_count(), cpus);
    ck_assert_int_eq(pferris_set_worker_count(0), -EINVAL);
    ck_assert_int_eq(pferris_set_worker_count(-3), -EINVAL);
    ck_assert_int_eq(pferris_get_worker_count(), cpus);
    ck_assert_int_eq(pferris_set_worker_count(3), 0);
    ck_assert_int_eq(pferris_get_worker_count(), 3);
    ck_assert_int_eq(pferris_set_worker_count(0), -EINVAL);
    ck_assert_int_eq(pferris_get_worker_count(), 3);
    ck_assert_int_eq(pferris_set_worker_count(7), 0);
    ck_assert_int_eq(pferris_get_worker_count(), 7);
    ck_assert_int_eq(pferris_set_worker_count(PF_POOL_MAX + 1), -EINVAL);
}
END_TEST

START_TEST(worker_count_from_environment)
{
    setenv("PFERRIS_WORKERS", "5", 1);
    ck_assert_int_eq(pferris_get_worker_count(), 5);
    setenv("PFERRIS_WORKERS", "12", 1);
    ck_assert_int_eq(pferris_get_worker_count(), 12);
    setenv("PFERRIS_WORKERS", "lots", 1);
    ck_assert_int_eq(pferris_get_worker_count(), sysconf(_SC_NPROCESSORS_ONLN));
    setenv("PFERRIS_WORKERS", "0", 1);
    ck_assert_int_eq(pferris_get_worker_count(), sysconf(_SC_NPROCESSORS_ONLN));
    setenv("PFERRIS_WORKERS", "2", 1);
    ck_assert_int_eq(pferris_set_worker_count(6), 0); /* explicit beats the environment */
    ck_assert_int_eq(pferris_get_worker_count(), 6);
}
END_TEST

/* Each item waits until `want` items have started at once: it can only finish if the map
 * really runs that many items in parallel. The deadline only ends a broken run. */
typedef struct {
    int started, want;
    int tids[64];
} rendezvous_t;

static int meet(const void *in, void *out, void *ctx)
{
    rendezvous_t *r = ctx;
    int i = (int)*(const long *)in;
    r->tids[i] = (int)syscall(SYS_gettid);
    __atomic_fetch_add(&r->started, 1, __ATOMIC_ACQ_REL);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (__atomic_load_n(&r->started, __ATOMIC_ACQUIRE) < r->want) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 20)
            return -ETIMEDOUT;
        usleep(100);
    }
    *(long *)out = i;
    return 0;
}

static int distinct(const int *tids, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= tids[j] == tids[i];
        d += !seen;
    }
    return d;
}

START_TEST(worker_count_change_takes_effect)
{
    long in[8] = {0, 1, 2, 3, 4, 5, 6, 7}, out[8];
    rendezvous_t r = {.want = 3};
    ck_assert_int_eq(pferris_set_worker_count(3), 0);
    ck_assert_int_eq(pferris_parallel_map(meet, &r, in, 3, sizeof *in, out, sizeof *out), 0);
    ck_assert_int_eq(distinct(r.tids, 3), 3);

    memset(&r, 0, sizeof r);
    r.want = 1;
    ck_assert_int_eq(pferris_set_worker_count(1), 0);
    ck_assert_int_eq(pferris_parallel_map(meet, &r, in, 8, sizeof *in, out, sizeof *out), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(r.tids[i], (int)syscall(SYS_gettid));

    memset(&r, 0, sizeof r);
    r.want = 5;
    ck_assert_int_eq(pferris_set_worker_count(5), 0);
    ck_assert_int_eq(pferris_parallel_map(meet, &r, in, 5, sizeof *in, out, sizeof *out), 0);
    ck_assert_int_eq(distinct(r.tids, 5), 5);
}
END_TEST

/* Item 0 cannot finish until every other item has: with static chunks its worker would also
 * own later items and wait forever. Dynamic chunks hand those to the other worker. */
typedef struct {
    long n;
    long finished;
} uneven_t;

static int uneven(const void *in, void *out, void *ctx)
{
    uneven_t *u = ctx;
    long x = *(const long *)in;
    if (x == 0) {
        for (int spins = 0; __atomic_load_n(&u->finished, __ATOMIC_ACQUIRE) < u->n - 1; spins++) {
            if (spins > 200000)
                return -ETIMEDOUT;
            usleep(100);
        }
    }
    *(long *)out = x * 2;
    __atomic_fetch_add(&u->finished, 1, __ATOMIC_ACQ_REL);
    return 0;
}

START_TEST(uneven_items_balance)
{
    enum { N = 20000 };
    long *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    for (long i = 0; i < N; i++)
        in[i] = i;
    uneven_t u = {.n = N};
    pferris_set_worker_count(2);
    ck_assert_int_eq(pferris_parallel_map(uneven, &u, in, N, sizeof *in, out, sizeof *out), 0);
    for (long i = 0; i < N; i++)
        ck_assert_int_eq(out[i], 2 * i);
    free(in);
    free(out);
}
END_TEST

/* A map inside a map item: the outer workers are busy, so the inner map must still finish. */
static int inner_sum(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long base = *(const long *)in, vals[50], sq[50];
    for (int i = 0; i < 50; i++)
        vals[i] = base + i;
    int rc = pferris_parallel_map(square, NULL, vals, 50, sizeof *vals, sq, sizeof *sq);
    long s = 0;
    for (int i = 0; i < 50; i++)
        s += sq[i];
    *(long *)out = s;
    return rc;
}

START_TEST(nested_map)
{
    enum { N = 64 };
    long in[N], out[N];
    for (long i = 0; i < N; i++)
        in[i] = i * 100;
    pferris_set_worker_count(4);
    ck_assert_int_eq(pferris_parallel_map(inner_sum, NULL, in, N, sizeof *in, out, sizeof *out), 0);
    for (long i = 0; i < N; i++) {
        long s = 0;
        for (long k = 0; k < 50; k++)
            s += (i * 100 + k) * (i * 100 + k) + 1;
        ck_assert_int_eq(out[i], s);
    }
}
END_TEST

/* Several threads map at once and share the pool. */
static void *map_thread(void *arg)
{
    (void)arg;
    long *in = iota(30000), *out = malloc(30000 * sizeof *out);
    int rc = pferris_parallel_map(square, NULL, in, 30000, sizeof *in, out, sizeof *out);
    for (int i = 0; rc == 0 && i < 30000; i++)
        if (out[i] != in[i] * in[i] + 1)
            rc = -EBADMSG;
    free(in);
    free(out);
    return (void *)(intptr_t)rc;
}

START_TEST(concurrent_callers)
{
    pthread_t th[4];
    pferris_set_worker_count(3);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, map_thread, NULL);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ck_assert_int_eq((int)(intptr_t)rc, 0);
    }
}
END_TEST

START_TEST(map_after_fork)
{
    pferris_set_worker_count(3);
    map_matches(5000, 3); /* the pool now has threads; the child has none of them */
    pid_t pid = fork();
    if (pid == 0) {
#ifdef __SANITIZE_THREAD__
        /* TSan cannot start threads in the child of a multi-threaded fork: one worker here. */
        pferris_set_worker_count(1);
#endif
        long *in = iota(5000), *out = malloc(5000 * sizeof *out);
        int rc = pferris_parallel_map(square, NULL, in, 5000, sizeof *in, out, sizeof *out);
        for (int i = 0; rc == 0 && i < 5000; i++)
            rc = out[i] == in[i] * in[i] + 1 ? 0 : 1;
        _exit(rc == 0 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    map_matches(5000, 3);
}
END_TEST

/* ---- parallel_filter ----------------------------------------------------------------- */

static int is_even(const void *item, void *ctx)
{
    (void)ctx;
    return *(const long *)item % 2 == 0;
}

static void filter_matches(size_t n, int w)
{
    pferris_set_worker_count(w);
    long *in = iota(n), *out = malloc((n ? n : 1) * sizeof *out);
    size_t kept = 99;
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, in, n, sizeof *in, out, &kept), 0);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] % 2 == 0) {
            ck_assert_msg(k < kept && out[k] == in[i], "n=%zu w=%d: out[%zu]", n, w, k);
            k++;
        }
    ck_assert_uint_eq(kept, k);
    free(in);
    free(out);
}

START_TEST(filter_equals_sequential)
{
    static const size_t ns[] = {0, 1, 2, 7, 1000, 100001};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int w = 1; w <= 4; w++)
            filter_matches(ns[i], w);
    filter_matches(3, 32);
}
END_TEST

/* Byte-sized and odd-sized items keep every byte: the flags share out with the results. */
typedef struct {
    unsigned char b[3];
} tri_t;

static int keep_tri(const void *item, void *ctx)
{
    (void)ctx;
    return ((const tri_t *)item)->b[0] % 3 != 1;
}

static int keep_byte(const void *item, void *ctx)
{
    return *(const unsigned char *)item < *(const unsigned char *)ctx;
}

START_TEST(filter_small_items)
{
    enum { N = 10007 };
    tri_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    for (int i = 0; i < N; i++)
        in[i] = (tri_t){{(unsigned char)i, (unsigned char)(i >> 8), 0xab}};
    size_t kept, k = 0;
    pferris_set_worker_count(3);
    ck_assert_int_eq(pferris_parallel_filter(keep_tri, NULL, in, N, sizeof *in, out, &kept), 0);
    for (int i = 0; i < N; i++)
        if (keep_tri(&in[i], NULL)) {
            ck_assert(memcmp(&out[k], &in[i], sizeof *in) == 0);
            k++;
        }
    ck_assert_uint_eq(kept, k);

    unsigned char bytes[N], got[N], limit = 100;
    for (int i = 0; i < N; i++)
        bytes[i] = (unsigned char)(i * 37);
    ck_assert_int_eq(pferris_parallel_filter(keep_byte, &limit, bytes, N, 1, got, &kept), 0);
    k = 0;
    for (int i = 0; i < N; i++)
        if (bytes[i] < limit)
            ck_assert_int_eq(got[k++], bytes[i]);
    ck_assert_uint_eq(kept, k);
    free(in);
    free(out);
}
END_TEST

START_TEST(filter_bad_arguments)
{
    long in[8] = {0}, out[8];
    size_t kept;
    ck_assert_int_eq(pferris_parallel_filter(NULL, NULL, in, 8, 8, out, &kept), -EINVAL);
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, in, 8, 8, out, NULL), -EINVAL);
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, in, 8, 8, NULL, &kept), -EINVAL);
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, in, 8, 8, in, &kept), -EINVAL);
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, in, 8, 8, in + 4, &kept), -EINVAL);
    ck_assert_int_eq(pferris_parallel_filter(is_even, NULL, NULL, 0, 8, NULL, &kept), 0);
    ck_assert_uint_eq(kept, 0);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = pf_tcase(s, "map", 60);
    tcase_add_test(tc, map_equals_sequential);
    tcase_add_test(tc, map_more_workers_than_items);
    tcase_add_test(tc, map_zero_items_needs_no_arrays);
    tcase_add_test(tc, map_struct_items);
    tcase_add_test(tc, map_without_output);
    tcase_add_test(tc, map_bad_arguments);
    tcase_add_test(tc, map_error_stops);
    tc = pf_tcase(s, "workers", 60);
    tcase_add_test(tc, worker_count_set_and_errors);
    tcase_add_test(tc, worker_count_from_environment);
    tcase_add_test(tc, worker_count_change_takes_effect);
    tcase_add_test(tc, uneven_items_balance);
    tcase_add_test(tc, nested_map);
    tcase_add_test(tc, concurrent_callers);
    tcase_add_test(tc, map_after_fork);
    tc = pf_tcase(s, "filter", 60);
    tcase_add_test(tc, filter_equals_sequential);
    tcase_add_test(tc, filter_small_items);
    tcase_add_test(tc, filter_bad_arguments);
    return s;
}
