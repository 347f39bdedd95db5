/* check_thread.c — per-thread records: one per thread, kept after the thread ends with its
 * name, CPU time and end; the most threads alive at once; the oldest-first listing. */
#include <pthread.h>
#include <string.h>
#include "check_util.h"
#include "base/clock.h"
#include "runtime/thread.h"

static void *named_worker(void *arg)
{
    pthread_setname_np(pthread_self(), (const char *)arg);
    pf_thread(); /* attach */
    volatile double x = 0;
    for (int i = 0; i < 3000000; i++)
        x += i;
    return NULL;
}

START_TEST(records_outlive_their_threads)
{
    pf_thread_t *me = pf_thread();
    ck_assert_ptr_nonnull(me);
    ck_assert_ptr_eq(pf_thread(), me); /* the same record every time */
    pthread_t th;
    pthread_create(&th, NULL, named_worker, "check-worker");
    pthread_join(th, NULL);
    size_t n;
    pf_thread_t **all = pf_thread_array(&n);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(all[0], me); /* oldest first */
    pf_thread_t *w = all[1];
    pf_thread_array_free(all, n);
    ck_assert(pf_load_acquire(&w->exited));
    ck_assert_str_eq(w->name, "check-worker");
    ck_assert(w->cpu_sec > 0);
    ck_assert(w->end_ticks >= w->start_ticks);
    ck_assert_int_ne(w->tid, me->tid);
    ck_assert_int_eq(pf_thread_live(), 1);
}
END_TEST

static pthread_barrier_t together;
static void *wait_together(void *arg)
{
    pf_thread();
    pthread_barrier_wait(&together);
    return arg;
}

START_TEST(max_concurrent_threads)
{
    pf_thread();
    pthread_barrier_init(&together, NULL, 4);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, wait_together, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(pf_thread_max_concurrent(), 5);
    ck_assert_int_eq(pf_thread_live(), 1);
}
END_TEST

START_TEST(name_of_a_running_thread)
{
    pthread_setname_np(pthread_self(), "check-self");
    char name[16];
    pf_thread_name_of(pf_thread()->tid, name);
    ck_assert_str_eq(name, "check-self");
    pf_thread_name_of(0x7ffffff0, name); /* no such task: empty, no crash */
    ck_assert_str_eq(name, "");
}
END_TEST

static void *note_main_stack_elsewhere(void *arg)
{
    (void)arg;
    pf_thread_t *t = pf_thread();
    pf_thread_note_main_stack(t); /* not the main thread: nothing */
    return (void *)pf_load_relaxed(&t->stack_lo);
}

START_TEST(main_stack_bounds)
{
    /* The check's forked child runs the test on its main thread. */
    pf_thread_t *t = pf_thread();
    pf_thread_note_main_stack(t);
    volatile char here;
    uintptr_t at = (uintptr_t)&here, lo = t->stack_lo, hi = t->stack_hi;
    ck_assert_msg(lo && lo < at && at < hi, "stack [%#lx, %#lx) does not hold %#lx", lo, hi, at);
    /* The low end is 1 MiB in from where the stack may grow to, so at least 1 MiB is left out
     * of an 8 MiB limit, and the stack the test runs on is well inside. */
    ck_assert_uint_ge(at - lo, 64 * 1024);
    pthread_t other;
    void *other_lo = (void *)1;
    ck_assert_int_eq(pthread_create(&other, NULL, note_main_stack_elsewhere, NULL), 0);
    pthread_join(other, &other_lo);
    ck_assert_ptr_null(other_lo);
}
END_TEST

Suite *thread_suite(void)
{
    Suite *s = suite_create("thread");
    TCase *tc = pf_tcase(s, "records", 30);
    tcase_add_test(tc, records_outlive_their_threads);
    tcase_add_test(tc, max_concurrent_threads);
    tcase_add_test(tc, name_of_a_running_thread);
    tcase_add_test(tc, main_stack_bounds);
    return s;
}
