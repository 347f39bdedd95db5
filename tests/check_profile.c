/* check_profile.c — the Profiler semantics of DESIGN.md: accumulating timers, per-thread timer
 * state, NAN + ENOENT, nesting into a tree, counters exact under contention, memory last and
 * peak, clear, and the markers' entry points feeding the default profiler. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "check_util.h"
#include "pferris.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static double jreal(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(v != NULL, "key %s missing", key);
    return json_number_value(v);
}

START_TEST(timer_measures_real_time_and_accumulates)
{
    pferris_profiler_t *p = pferris_profiler_new();
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pferris_start_timer(p, "sleep"), 0);
    sleep_ms(20);
    double first = pferris_stop_timer(p, "sleep");
    ck_assert_msg(first >= 0.019 && first < 0.5, "first interval %g s", first);
    pferris_start_timer(p, "sleep");
    sleep_ms(10);
    double second = pferris_stop_timer(p, "sleep");
    json_t *t = pferris_get_timings(p);
    ck_assert_near(jreal(t, "sleep"), first + second, 1e-6);
    json_decref(t);
    json_t *r = pferris_get_report(p);
    json_t *st = json_object_get(json_object_get(r, "timing_stats"), "sleep");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 2);
    /* Under load a 10 ms sleep may outlast a 20 ms one. */
    ck_assert_near(jreal(st, "min"), fmin(first, second), 1e-6);
    ck_assert_near(jreal(st, "max"), fmax(first, second), 1e-6);
    ck_assert_near(jreal(st, "mean"), (first + second) / 2, 1e-6);
    json_decref(r);
    pferris_profiler_free(p);
}
END_TEST

START_TEST(stop_without_start_is_nan_enoent)
{
    pferris_profiler_t *p = pferris_profiler_new();
    errno = 0;
    double v = pferris_stop_timer(p, "never");
    ck_assert(isnan(v));
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert(isnan(pferris_stop(p))); /* not started */
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(pferris_start_timer(NULL, "x"), -EINVAL);
    ck_assert_int_eq(pferris_start_timer(p, NULL), -EINVAL);
    ck_assert(isnan(pferris_stop_timer(NULL, "x")));
    pferris_profiler_free(p);
}
END_TEST

START_TEST(start_stop_overall)
{
    pferris_profiler_t *p = pferris_profiler_new();
    ck_assert_int_eq(pferris_start(p), 0);
    sleep_ms(15);
    double e = pferris_stop(p);
    ck_assert_msg(e >= 0.014 && e < 0.5, "elapsed %g", e);
    json_t *r = pferris_get_report(p);
    ck_assert_near(jreal(r, "total_elapsed"), e, 1e-6);
    json_decref(r);
    pferris_profiler_free(p);
}
END_TEST

static pferris_profiler_t *shared;
static void *time_same_name(void *arg)
{
    (void)arg;
    pferris_start_timer(shared, "both");
    sleep_ms(30);
    double v = pferris_stop_timer(shared, "both");
    return (void *)(long)(v > 0.029);
}

START_TEST(timers_are_per_thread)
{
    shared = pferris_profiler_new();
    pthread_t a, b;
    void *ra, *rb;
    pthread_create(&a, NULL, time_same_name, NULL);
    pthread_create(&b, NULL, time_same_name, NULL);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    ck_assert(ra && rb);
    json_t *r = pferris_get_report(shared);
    json_t *st = json_object_get(json_object_get(r, "timing_stats"), "both");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 2);
    ck_assert(jreal(st, "total") >= 0.059);
    /* A timer started on another thread is not running on this one. */
    ck_assert(isnan(pferris_stop_timer(shared, "both")));
    json_decref(r);
    pferris_profiler_free(shared);
}
END_TEST

START_TEST(nested_timers_form_a_tree)
{
    pferris_profiler_t *p = pferris_profiler_new();
    for (int i = 0; i < 3; i++) {
        pferris_start_timer(p, "batch");
        pferris_start_timer(p, "validate");
        sleep_ms(2);
        pferris_stop_timer(p, "validate");
        pferris_start_timer(p, "compute");
        sleep_ms(6);
        pferris_stop_timer(p, "compute");
        pferris_stop_timer(p, "batch");
    }
    json_t *r = pferris_get_report(p);
    json_t *tree = json_object_get(r, "timing_tree");
    ck_assert_int_eq(json_array_size(tree), 1);
    json_t *batch = json_array_get(tree, 0);
    ck_assert_str_eq(json_string_value(json_object_get(batch, "name")), "batch");
    ck_assert_int_eq(json_integer_value(json_object_get(batch, "count")), 3);
    json_t *kids = json_object_get(batch, "children");
    ck_assert_int_eq(json_array_size(kids), 2);
    json_t *first = json_array_get(kids, 0); /* heaviest first */
    ck_assert_str_eq(json_string_value(json_object_get(first, "name")), "compute");
    double child_sum = jreal(first, "total") + jreal(json_array_get(kids, 1), "total");
    ck_assert_near(jreal(batch, "self"), jreal(batch, "total") - child_sum, 1e-6);
    ck_assert(jreal(batch, "self") >= 0);
    json_decref(r);
    pferris_profiler_free(p);
}
END_TEST

START_TEST(context_manager_and_decorator)
{
    pferris_profiler_t *p = pferris_profiler_new();
    PFERRIS_TIMER(p, "block") { sleep_ms(5); }
    int rc = PFERRIS_PROFILE_FUNCTION(p, "fn", (sleep_ms(1), 7));
    ck_assert_int_eq(rc, 7);
    PFERRIS_PROFILE_FUNCTION(p, "fn", -1);
    json_t *t = pferris_get_timings(p);
    ck_assert(jreal(t, "block") >= 0.0049);
    ck_assert(json_object_get(t, "fn") != NULL);
    json_decref(t);
    json_t *c = pferris_get_counters(p);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "fn_success")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "fn_error")), 1);
    json_decref(c);
    pferris_profiler_free(p);
}
END_TEST

#define CT 8
#define EVENTS 100000
static pferris_profiler_t *counted;
static void *count_events(void *arg)
{
    for (int i = 0; i < EVENTS; i++) {
        pferris_increment_counter(counted, "events");
        pferris_increment_counter(counted, "weighted", 3);
        pferris_count("marker.events", 1);
    }
    return arg;
}

START_TEST(counters_exact_under_contention)
{
    counted = pferris_profiler_new();
    pthread_t th[CT];
    for (int i = 0; i < CT; i++)
        pthread_create(&th[i], NULL, count_events, NULL);
    for (int i = 0; i < CT; i++)
        pthread_join(th[i], NULL);
    json_t *c = pferris_get_counters(counted);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "events")), CT * EVENTS);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "weighted")), 3LL * CT * EVENTS);
    ck_assert_ptr_null(json_object_get(c, "marker.events")); /* the markers' profiler is another */
    json_decref(c);
    c = pferris_get_counters(pferris_default());
    ck_assert_int_eq(json_integer_value(json_object_get(c, "marker.events")), CT * EVENTS);
    json_decref(c);
    pferris_profiler_free(counted);
}
END_TEST

START_TEST(memory_keeps_last_and_peak)
{
    pferris_profiler_t *p = pferris_profiler_new();
    pferris_record_memory(p, "rss", 100);
    pferris_record_memory(p, "rss", 500);
    pferris_record_memory(p, "rss", 200);
    json_t *m = pferris_get_memory_usage(p);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "rss")), 200);
    json_decref(m);
    json_t *r = pferris_get_report(p);
    json_t *ms = json_object_get(json_object_get(r, "memory_stats"), "rss");
    ck_assert_int_eq(json_integer_value(json_object_get(ms, "peak")), 500);
    ck_assert_int_eq(json_integer_value(json_object_get(ms, "last")), 200);
    json_decref(r);
    pferris_profiler_free(p);
}
END_TEST

START_TEST(clear_forgets_everything)
{
    pferris_profiler_t *p = pferris_profiler_new();
    pferris_increment_counter(p, "c", 5);
    pferris_start_timer(p, "running");
    pferris_start_timer(p, "done");
    pferris_stop_timer(p, "done");
    pferris_clear(p);
    json_t *c = pferris_get_counters(p), *t = pferris_get_timings(p);
    ck_assert_int_eq(json_object_size(c), 0);
    ck_assert_int_eq(json_object_size(t), 0);
    json_decref(c);
    json_decref(t);
    ck_assert(isnan(pferris_stop_timer(p, "running")));
    pferris_increment_counter(p, "c", 2);
    c = pferris_get_counters(p);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "c")), 2);
    json_decref(c);
    pferris_profiler_free(p);
    /* A profiler that reuses the slot starts empty. */
    pferris_profiler_t *q = pferris_profiler_new();
    c = pferris_get_counters(q);
    ck_assert_int_eq(json_object_size(c), 0);
    json_decref(c);
    pferris_profiler_free(q);
}
END_TEST

START_TEST(markers_feed_the_default_profiler)
{
    PFERRIS_TIMER_START("mk.outer");
    {
        PFERRIS_SCOPE("mk.inner");
        sleep_ms(3);
    }
    PFERRIS_TIMER_STOP("mk.outer");
    PFERRIS_COUNT("mk.count", 41);
    PFERRIS_COUNT("mk.count", 1);
    PFERRIS_MEMORY("mk.mem", 4096);
    json_t *r = pferris_get_report(pferris_default());
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "counters"), "mk.count")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "memory_usage"), "mk.mem")), 4096);
    json_t *t = json_object_get(r, "timings");
    ck_assert(jreal(t, "mk.inner") >= 0.0029);
    ck_assert(jreal(t, "mk.outer") >= jreal(t, "mk.inner"));
    ck_assert_str_eq(json_string_value(json_object_get(r, "schema")), "pferris-report/1");
    ck_assert(json_is_array(json_object_get(r, "threads")));
    ck_assert(json_is_object(json_object_get(r, "heap")));
    json_decref(r);
}
END_TEST

START_TEST(deep_nesting_is_bounded)
{
    pferris_profiler_t *p = pferris_profiler_new();
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "d%d", i);
        pferris_start_timer(p, name);
    }
    for (int i = 99; i >= 0; i--) {
        snprintf(name, sizeof name, "d%d", i);
        pferris_stop_timer(p, name);
    }
    json_t *r = pferris_get_report(p);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "dropped"), "timer_starts")), 36);
    ck_assert(json_object_get(json_object_get(r, "timings"), "d63") != NULL);
    ck_assert(json_object_get(json_object_get(r, "timings"), "d64") == NULL);
    json_decref(r);
    pferris_profiler_free(p);
}
END_TEST

START_TEST(profiler_table_full)
{
    pferris_profiler_t *ps[80];
    int n = 0;
    while (n < 80 && (ps[n] = pferris_profiler_new()) != NULL)
        n++;
    ck_assert_int_eq(n, 63);
    ck_assert_int_eq(errno, ENOMEM);
    for (int i = 0; i < n; i++)
        pferris_profiler_free(ps[i]);
    pferris_profiler_t *p = pferris_profiler_new();
    ck_assert_ptr_nonnull(p);
    pferris_profiler_free(p);
}
END_TEST

Suite *profile_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = pf_tcase(s, "timers", 30);
    tcase_add_test(tc, timer_measures_real_time_and_accumulates);
    tcase_add_test(tc, stop_without_start_is_nan_enoent);
    tcase_add_test(tc, start_stop_overall);
    tcase_add_test(tc, timers_are_per_thread);
    tcase_add_test(tc, nested_timers_form_a_tree);
    tcase_add_test(tc, context_manager_and_decorator);
    tcase_add_test(tc, deep_nesting_is_bounded);
    tc = pf_tcase(s, "counters", 60);
    tcase_add_test(tc, counters_exact_under_contention);
    tcase_add_test(tc, memory_keeps_last_and_peak);
    tcase_add_test(tc, clear_forgets_everything);
    tcase_add_test(tc, markers_feed_the_default_profiler);
    tcase_add_test(tc, profiler_table_full);
    return s;
}
