/* check_retire.c — ended threads' records are reused once their rows are folded: the totals
 * stay exact, the records stay few, the listing is capped at the heaviest rows plus one row
 * for the rest, a taken-over record forgets its previous thread's running timers, and a
 * reader building the listing while threads end and start sees every thread exactly once. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "check_util.h"
#include "base/clock.h"
#include "base/name.h"
#include "base/arena.h"
#include "pferris.h"
#include "runtime/heap.h"
#include "runtime/profile.h"
#include "runtime/retire.h"
#include "runtime/thread.h"

/* A short thread: one allocation's figures, one counter step, one timed interval. */
static void *short_worker(void *arg)
{
    (void)arg;
    pf_heap_alloc(NULL, 100, 112);
    pf_heap_free(NULL, 112);
    pferris_count("retire.threads", 1);
    pferris_timer_start("retire.work");
    pferris_timer_stop("retire.work");
    return NULL;
}

static void run_threads(int n, int batch)
{
    pthread_t th[8];
    for (int done = 0; done < n; done += batch) {
        for (int i = 0; i < batch; i++)
            ck_assert_int_eq(pthread_create(&th[i], NULL, short_worker, NULL), 0);
        for (int i = 0; i < batch; i++)
            pthread_join(th[i], NULL);
    }
}

static size_t records(void)
{
    size_t n = 0;
    for (pf_thread_t *t = pf_thread_first(); t; t = pf_thread_next(t))
        n++;
    return n;
}

static pf_name_stats_t *named(const char *name, pf_name_stats_t *st)
{
    pf_profile_collect(pferris_default(), st, pf_name_limit());
    return &st[pf_name_intern(name)];
}

START_TEST(reused_records_keep_the_totals)
{
    pf_retire_init();
    pf_thread();
    run_threads(400, 4);
    ck_assert_uint_lt(records(), 100); /* 401 threads; a handful alive at once */
    ck_assert_uint_ge(pf_thread_reused(), 300);
    pf_heap_totals_t h;
    pf_heap_totals(&h);
    ck_assert_uint_eq(h.allocs, 400);
    ck_assert_uint_eq(h.frees, 400);
    ck_assert_uint_eq(h.bytes_req, 400 * 100);
    pf_name_stats_t *st = pf_arena_zalloc(PF_MAX_NAMES * sizeof *st);
    ck_assert_int_eq(named("retire.threads", st)->counter, 400);
    ck_assert_uint_eq(named("retire.work", st)->count, 400);
    pf_arena_free(st, PF_MAX_NAMES * sizeof *st);
    pf_thread_rows_t rows;
    ck_assert_int_eq(pf_retire_rows(&rows, PF_THREAD_ROWS), 0);
    ck_assert_uint_eq(rows.n, 401);
    ck_assert_uint_eq(rows.rest.threads, 0);
    ck_assert_uint_eq(rows.threads_total, 401);
    ck_assert_uint_eq(rows.threads_exited, 400);
    uint64_t allocs = 0, running = 0;
    for (size_t i = 0; i < rows.n; i++) {
        allocs += rows.rows[i].allocs;
        running += rows.rows[i].running;
        ck_assert(i == 0 || rows.rows[i].start >= rows.rows[i - 1].start); /* oldest first */
    }
    ck_assert_uint_eq(allocs, 400);
    ck_assert_uint_eq(running, 1);
    pf_retire_rows_free(&rows);
}
END_TEST

START_TEST(listing_is_capped_with_a_rest_row)
{
    pf_retire_init();
    pf_thread();
    run_threads(1500, 4);
    pf_thread_rows_t rows;
    ck_assert_int_eq(pf_retire_rows(&rows, PF_THREAD_ROWS), 0);
    ck_assert_uint_eq(rows.n, PF_THREAD_ROWS);
    ck_assert_uint_eq(rows.rest.threads, 1501 - PF_THREAD_ROWS);
    ck_assert_uint_eq(rows.threads_total, 1501);
    ck_assert_uint_eq(rows.threads_exited, 1500);
    uint64_t allocs = rows.rest.allocs, frees = rows.rest.frees, life = rows.rest.life_ticks;
    double least = 1e9;
    for (size_t i = 0; i < rows.n; i++) {
        allocs += rows.rows[i].allocs;
        frees += rows.rows[i].frees;
        life += rows.rows[i].life_ticks;
        ck_assert_uint_eq(rows.rows[i].threads, 1);
        if (rows.rows[i].cpu_sec < least)
            least = rows.rows[i].cpu_sec;
    }
    ck_assert_uint_eq(allocs, 1500);
    ck_assert_uint_eq(frees, 1500);
    ck_assert_uint_eq(life, rows.life_ticks);
    /* The listed ones are the heaviest: none of the rest had more CPU than the lightest listed,
     * so the rest's CPU is at most that many times it. */
    ck_assert(rows.rest.cpu_sec <= least * (double)rows.rest.threads + 1e-9);
    pf_retire_rows_free(&rows);
    /* A smaller cap: the same threads, summed differently. */
    ck_assert_int_eq(pf_retire_rows(&rows, 10), 0);
    ck_assert_uint_eq(rows.n, 10);
    ck_assert_uint_eq(rows.rest.threads, 1491);
    pf_retire_rows_free(&rows);
}
END_TEST

static pf_thread_t *left_record;

static void *leave_a_timer_running(void *arg)
{
    (void)arg;
    left_record = pf_thread();
    ck_assert_int_eq(pferris_start_timer(pferris_default(), "retire.left"), 0);
    return NULL;
}

static void *stop_what_was_left(void *arg)
{
    int *outcome = arg;
    pf_thread_t *t = pf_thread();
    errno = 0;
    double s = pferris_stop_timer(pferris_default(), "retire.left");
    *outcome = t != left_record ? -1 : isnan(s) && errno == ENOENT ? 1 : 0;
    return NULL;
}

START_TEST(a_taken_over_record_forgets_running_timers)
{
    pf_retire_init();
    pf_thread();
    int outcome = -1;
    for (int tries = 0; tries < 50 && outcome == -1; tries++) {
        pthread_t th;
        pthread_create(&th, NULL, leave_a_timer_running, NULL);
        pthread_join(th, NULL);
        pthread_create(&th, NULL, stop_what_was_left, &outcome);
        pthread_join(th, NULL);
    }
    ck_assert_int_eq(outcome, 1); /* the record was taken over, and its timer was not ours */
}
END_TEST

static int stop_reading;

static void *churn(void *arg)
{
    (void)arg;
    run_threads(300, 2);
    return NULL;
}

START_TEST(readers_see_each_thread_once_while_threads_churn)
{
    pf_retire_init();
    pf_thread();
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, churn, NULL);
    uint64_t last_exited = 0;
    int reads = 0;
    while (!pf_load_relaxed(&stop_reading)) {
        pf_thread_rows_t rows;
        ck_assert_int_eq(pf_retire_rows(&rows, 50), 0);
        uint64_t listed = rows.rest.threads;
        for (size_t i = 0; i < rows.n; i++)
            listed += rows.rows[i].threads;
        ck_assert_uint_eq(listed, rows.threads_total);
        ck_assert_uint_ge(rows.threads_exited, last_exited);
        ck_assert_uint_le(rows.threads_exited, rows.threads_total);
        last_exited = rows.threads_exited;
        pf_retire_rows_free(&rows);
        if (++reads >= 20 && pthread_tryjoin_np(th[0], NULL) == 0) {
            pthread_join(th[1], NULL);
            pthread_join(th[2], NULL);
            pf_store_relaxed(&stop_reading, 1);
        }
    }
    pf_thread_rows_t rows;
    ck_assert_int_eq(pf_retire_rows(&rows, PF_THREAD_ROWS), 0);
    /* The 900 threads the churners started, all ended, and this one (the churners have no
     * record: no event of theirs was recorded). */
    ck_assert_uint_eq(rows.threads_exited, 900);
    ck_assert_uint_eq(rows.threads_total, 901);
    uint64_t allocs = rows.rest.allocs;
    for (size_t i = 0; i < rows.n; i++)
        allocs += rows.rows[i].allocs;
    ck_assert_uint_eq(allocs, 900);
    pf_retire_rows_free(&rows);
}
END_TEST

Suite *retire_suite(void)
{
    Suite *s = suite_create("retire");
    TCase *tc = pf_tcase(s, "reuse", 60);
    tcase_add_test(tc, reused_records_keep_the_totals);
    tcase_add_test(tc, listing_is_capped_with_a_rest_row);
    tcase_add_test(tc, a_taken_over_record_forgets_running_timers);
    tcase_add_test(tc, readers_see_each_thread_once_while_threads_churn);
    return s;
}
