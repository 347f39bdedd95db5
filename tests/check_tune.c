/* check_tune.c — pferris_auto_tune_workers and pferris_profile_parallel_operation: argument
 * errors, the shape of the result, the choice on tasks whose best count is known by
 * construction (sleeping: more workers help; one global lock: they cannot), and the report of a
 * profiled operation. Throughputs are compared with each other only through the tuner's own
 * choice; no assertion is a timing bound. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check_util.h"
#include "pferris.h"

static int work(const void *in, void *out, void *ctx)
{
    (void)ctx;
    long x = *(const long *)in, s = 0;
    for (long i = 0; i < x * 10; i++)
        s += i * i;
    *(long *)out = s;
    return 0;
}

static int noop(const void *in, void *out, void *ctx)
{
    (void)in;
    (void)ctx;
    ck_assert_ptr_null(out);
    return 0;
}

static const long items[] = {5, 10, 20, 40, 80};
#define NITEMS (sizeof items / sizeof items[0])

/* pferris_auto_tune_workers over `items`, long in, long out (out_size 0 for tasks that write
 * nothing). */
static int tune(pferris_map_fn task, size_t out_size, int min, int max, double secs,
                pferris_tune_result_t *r)
{
    return pferris_auto_tune_workers(task, NULL, items, NITEMS, sizeof(long), out_size, min, max,
                                     secs, r);
}

START_TEST(tune_bad_arguments)
{
    pferris_tune_result_t r;
    ck_assert_int_eq(tune(NULL, 8, 1, 2, 0.05, &r), -EINVAL);
    ck_assert_int_eq(tune(work, 8, 1, 2, 0.05, NULL), -EINVAL);
    /* empty input */
    ck_assert_int_eq(pferris_auto_tune_workers(work, NULL, items, 0, 8, 8, 1, 2, 0.05, &r),
                     -EINVAL);
    ck_assert_int_eq(pferris_auto_tune_workers(work, NULL, NULL, NITEMS, 8, 8, 1, 2, 0.05, &r),
                     -EINVAL);
    /* min > max */
    ck_assert_int_eq(tune(work, 8, 4, 2, 0.05, &r), -EINVAL);
    ck_assert_int_eq(tune(work, 8, -1, 2, 0.05, &r), -EINVAL);
    /* zero, negative and not-a-number durations */
    ck_assert_int_eq(tune(work, 8, 1, 2, 0.0, &r), -EINVAL);
    ck_assert_int_eq(tune(work, 8, 1, 2, -1.0, &r), -EINVAL);
    ck_assert_int_eq(tune(work, 8, 1, 2, NAN, &r), -EINVAL);
    ck_assert_int_eq(r.tested_workers, 0);
    ck_assert_ptr_null(r.results);
}
END_TEST

START_TEST(tune_result_shape)
{
    pferris_tune_result_t r;
    ck_assert_int_eq(tune(work, sizeof(long), 2, 5, 0.1, &r), 0);
    ck_assert_int_eq(r.tested_workers, 4);
    ck_assert_ptr_nonnull(r.results);
    ck_assert(r.optimal_workers >= 2 && r.optimal_workers <= 5);
    int found = 0;
    for (int i = 0; i < r.tested_workers; i++) {
        const pferris_tune_point_t *pt = &r.results[i];
        ck_assert_int_eq(pt->workers, 2 + i);
        ck_assert(pt->throughput > 0);
        ck_assert(pt->items > 0 && pt->seconds > 0 && pt->rounds > 0);
        ck_assert(pt->spread >= 0);
        if (pt->workers == r.optimal_workers) {
            ck_assert(pt->throughput == r.best_throughput);
            found = 1;
        }
    }
    ck_assert(found);
    pferris_tune_result_free(&r);
    ck_assert_ptr_null(r.results);
    pferris_tune_result_free(&r); /* twice is harmless */
}
END_TEST

START_TEST(tune_defaults)
{
    pferris_tune_result_t r;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(tune(work, sizeof(long), 0, 0, 0.05, &r), 0);
    ck_assert_int_eq(r.tested_workers, cpus);
    ck_assert_int_eq(r.results[0].workers, 1);
    pferris_tune_result_free(&r);
    /* A task that writes nothing needs no output slot. */
    ck_assert_int_eq(tune(noop, 0, 1, 1, 0.02, &r), 0);
    ck_assert_int_eq(r.optimal_workers, 1);
    ck_assert_int_eq(r.tested_workers, 1);
    pferris_tune_result_free(&r);
    /* Only min given, above the CPU count: that count alone is tested. */
    ck_assert_int_eq(tune(noop, 0, (int)cpus + 1, 0, 0.02, &r), 0);
    ck_assert_int_eq(r.tested_workers, 1);
    ck_assert_int_eq(r.optimal_workers, cpus + 1);
    pferris_tune_result_free(&r);
}
END_TEST

/* I/O bound: each item sleeps, so n workers complete about n times the items. */
static int sleeper(const void *in, void *out, void *ctx)
{
    (void)in;
    (void)out;
    (void)ctx;
    usleep(2000);
    return 0;
}

START_TEST(tune_sleeping_task_picks_more_than_one)
{
    pferris_tune_result_t r;
    ck_assert_int_eq(tune(sleeper, 0, 1, 4, 0.5, &r), 0);
    ck_assert_int_eq(r.tested_workers, 4);
    ck_assert_msg(r.optimal_workers > 1, "optimal %d (1: %.0f/s, 4: %.0f/s)", r.optimal_workers,
                  r.results[0].throughput, r.results[3].throughput);
    pferris_tune_result_free(&r);
}
END_TEST

/* Serial: the whole item is CPU work under one global spinlock, so extra workers only burn the
 * CPU the holder needs (with more workers than cores the holder is preempted by spinners): the
 * throughput cannot rise with the count, and falls once the cores are oversubscribed. A mutex
 * around a sleep would not do: claiming the next item overlaps the sleep, so 4 workers can
 * edge 1 by a few percent. */
static pthread_spinlock_t global;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    pthread_spin_init(&global, PTHREAD_PROCESS_PRIVATE);
}

static int locked(const void *in, void *out, void *ctx)
{
    (void)in;
    (void)out;
    (void)ctx;
    pthread_once(&global_once, global_init);
    pthread_spin_lock(&global);
    volatile unsigned long x = 0;
    for (int i = 0; i < 100000; i++)
        x += (unsigned long)i * 7;
    pthread_spin_unlock(&global);
    return 0;
}

START_TEST(tune_locked_task_does_not_pick_max)
{
    pferris_tune_result_t r;
    ck_assert_int_eq(tune(locked, 0, 1, 4, 0.5, &r), 0);
    ck_assert_msg(r.optimal_workers < 4, "optimal %d (1: %.0f/s, 4: %.0f/s)", r.optimal_workers,
                  r.results[0].throughput, r.results[3].throughput);
    pferris_tune_result_free(&r);
}
END_TEST

static int failing(const void *in, void *out, void *ctx)
{
    (void)out;
    (void)ctx;
    return *(const long *)in == 40 ? -EIO : 0;
}

START_TEST(tune_task_error)
{
    pferris_tune_result_t r;
    ck_assert_int_eq(tune(failing, 0, 1, 2, 0.05, &r), -EIO);
    ck_assert_ptr_null(r.results);
}
END_TEST

/* ---- profile_parallel_operation ------------------------------------------------------ */

typedef struct {
    long in[1000], out[1000];
    int fail;
} op_arg_t;

static int squares_op(void *arg)
{
    op_arg_t *a = arg;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL); /* a lower bound for the timing below */
    int rc = pferris_parallel_map(work, NULL, a->in, 1000, sizeof(long), a->out, sizeof(long));
    return a->fail ? -EIO : rc;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(v != NULL, "no key %s", key);
    return json_number_value(v);
}

static op_arg_t *new_arg(void)
{
    op_arg_t *a = calloc(1, sizeof *a);
    for (int i = 0; i < 1000; i++)
        a->in[i] = i % 50;
    return a;
}

START_TEST(profile_op_own_profiler)
{
    op_arg_t *a = new_arg();
    json_t *report;
    ck_assert_int_eq(
        pferris_profile_parallel_operation(squares_op, a, NULL, "parallel_squares", &report), 0);
    ck_assert_ptr_nonnull(report);
    long s = 0;
    for (long i = 0; i < 49 * 10; i++)
        s += i * i;
    ck_assert_int_eq(a->out[49], s);
    double t = num(json_object_get(report, "timings"), "parallel_squares");
    double total = num(report, "total_elapsed");
    ck_assert(t >= 0.005);
    ck_assert(total >= t);
    ck_assert_int_eq(num(json_object_get(report, "counters"), "parallel_squares_success"), 1);
    json_t *counters = json_object_get(report, "counters");
    ck_assert_ptr_null(json_object_get(counters, "parallel_squares_error"));
    json_decref(report);
    free(a);
}
END_TEST

START_TEST(profile_op_error_and_default_name)
{
    op_arg_t *a = new_arg();
    a->fail = 1;
    json_t *report;
    ck_assert_int_eq(pferris_profile_parallel_operation(squares_op, a, NULL, NULL, &report), -EIO);
    ck_assert_int_eq(num(json_object_get(report, "counters"), "parallel_operation_error"), 1);
    ck_assert(num(json_object_get(report, "timings"), "parallel_operation") >= 0.005);
    json_decref(report);
    ck_assert_int_eq(pferris_profile_parallel_operation(NULL, a, NULL, NULL, &report), -EINVAL);
    ck_assert_ptr_null(report);
    free(a);
}
END_TEST

START_TEST(profile_op_keeps_earlier_data)
{
    op_arg_t *a = new_arg();
    pferris_profiler_t *p = pferris_profiler_new();
    ck_assert_ptr_nonnull(p);
    pferris_increment_counter(p, "earlier", 5);
    pferris_start_timer(p, "prep");
    pferris_stop_timer(p, "prep");
    ck_assert_int_eq(pferris_profile_parallel_operation(squares_op, a, p, "op", NULL), 0);
    json_t *report;
    ck_assert_int_eq(pferris_profile_parallel_operation(squares_op, a, p, "op", &report), 0);
    json_t *counters = json_object_get(report, "counters");
    ck_assert_int_eq(num(counters, "earlier"), 5);
    ck_assert_int_eq(num(counters, "op_success"), 2);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(report, "timings"), "prep"));
    ck_assert(num(json_object_get(report, "timings"), "op") >= 0.010);
    ck_assert_ptr_nonnull(json_object_get(report, "total_elapsed"));
    json_decref(report);

    /* A profiler the caller runs is left running. */
    ck_assert_int_eq(pferris_start(p), 0);
    ck_assert_int_eq(pferris_profile_parallel_operation(squares_op, a, p, "op", NULL), 0);
    ck_assert(!isnan(pferris_stop(p)));
    pferris_profiler_free(p);
    free(a);
}
END_TEST

Suite *tune_suite(void)
{
    Suite *s = suite_create("tune");
    TCase *tc = pf_tcase(s, "auto_tune", 120);
    tcase_add_test(tc, tune_bad_arguments);
    tcase_add_test(tc, tune_result_shape);
    tcase_add_test(tc, tune_defaults);
    tcase_add_test(tc, tune_sleeping_task_picks_more_than_one);
    tcase_add_test(tc, tune_locked_task_does_not_pick_max);
    tcase_add_test(tc, tune_task_error);
    tc = pf_tcase(s, "profile_parallel_operation", 60);
    tcase_add_test(tc, profile_op_own_profiler);
    tcase_add_test(tc, profile_op_error_and_default_name);
    tcase_add_test(tc, profile_op_keeps_earlier_data);
    return s;
}
