/* check_heap.c — heap accounting as the interposers drive it: exact counts and bytes, usable
 * sizes for live and peak, the size histogram, the batched peak's error bound, and exact sums
 * across threads that free each other's blocks. */
#include <pthread.h>
#include "check_util.h"
#include "runtime/heap.h"

static pf_heap_totals_t totals(void)
{
    pf_heap_totals_t t;
    pf_heap_totals(&t);
    return t;
}

START_TEST(counts_and_bytes_exact)
{
    pf_heap_totals_t a = totals();
    for (int i = 0; i < 1000; i++)
        pf_heap_alloc(NULL, 100, 104);
    for (int i = 0; i < 400; i++)
        pf_heap_free(NULL, 104);
    pf_heap_totals_t b = totals();
    ck_assert_uint_eq(b.allocs - a.allocs, 1000);
    ck_assert_uint_eq(b.frees - a.frees, 400);
    ck_assert_uint_eq(b.bytes_req - a.bytes_req, 100000);
    ck_assert_uint_eq(b.bytes_freed - a.bytes_freed, 400 * 104);
    ck_assert_int_eq(b.live - a.live, 600 * 104);
    ck_assert_uint_eq(b.hist[pf_heap_size_class(100)] - a.hist[pf_heap_size_class(100)], 1000);
}
END_TEST

START_TEST(size_classes_are_powers_of_two)
{
    ck_assert_uint_eq(pf_heap_size_class(0), 0);
    ck_assert_uint_eq(pf_heap_size_class(1), 1);
    ck_assert_uint_eq(pf_heap_size_class(2), 2);
    ck_assert_uint_eq(pf_heap_size_class(3), 2);
    ck_assert_uint_eq(pf_heap_size_class(4), 3);
    ck_assert_uint_eq(pf_heap_size_class(4096), 13);
    ck_assert_uint_eq(pf_heap_size_class(SIZE_MAX), PF_HIST - 1);
}
END_TEST

START_TEST(peak_within_batch)
{
    /* Rise to a known peak in small steps, fall back, rise less: the peak is seen. */
    pf_heap_totals_t a = totals();
    for (int i = 0; i < 10000; i++)
        pf_heap_alloc(NULL, 40, 40);
    for (int i = 0; i < 10000; i++)
        pf_heap_free(NULL, 40);
    for (int i = 0; i < 100; i++)
        pf_heap_alloc(NULL, 40, 40);
    pf_heap_totals_t b = totals();
    int64_t true_peak = a.live + 400000;
    ck_assert_msg(b.peak >= true_peak - PF_HEAP_BATCH && b.peak <= true_peak + PF_HEAP_BATCH,
                  "peak %lld, true %lld", (long long)b.peak, (long long)true_peak);
    ck_assert_int_eq(b.live - a.live, 4000);
}
END_TEST

#define T 8
#define N 100000
static void *slots[T][64];
static void *churn(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < N; i++) {
        pf_heap_alloc(NULL, 24, 24);
        pf_heap_free(NULL, 24);
    }
    /* Leave 64 blocks of 4000 bytes for the next thread to free (more than PF_HEAP_BATCH: the
     * thread's change reaches the process figure and its peak). */
    for (int i = 0; i < 64; i++) {
        pf_heap_alloc(NULL, 4000, 4000);
        slots[id][i] = (void *)1;
    }
    return NULL;
}
static void *free_others(void *arg)
{
    (void)arg;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 64; i++)
            pf_heap_free(NULL, 4000);
    return NULL;
}

START_TEST(threads_sum_exactly)
{
    pf_heap_totals_t a = totals();
    pthread_t th[T];
    for (long t = 0; t < T; t++)
        pthread_create(&th[t], NULL, churn, (void *)t);
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    pthread_t f;
    pthread_create(&f, NULL, free_others, NULL);
    pthread_join(f, NULL);
    pf_heap_totals_t b = totals();
    ck_assert_uint_eq(b.allocs - a.allocs, (uint64_t)T * (N + 64));
    ck_assert_uint_eq(b.frees - a.frees, (uint64_t)T * (N + 64));
    ck_assert_uint_eq(b.bytes_req - a.bytes_req, (uint64_t)T * (N * 24 + 64 * 4000));
    ck_assert_int_eq(b.live, a.live);
    ck_assert_int_ge(b.peak, a.live + 64 * 4000);
}
END_TEST

Suite *heap_suite(void)
{
    Suite *s = suite_create("heap");
    TCase *tc = pf_tcase(s, "accounting", 30);
    tcase_add_test(tc, counts_and_bytes_exact);
    tcase_add_test(tc, size_classes_are_powers_of_two);
    tcase_add_test(tc, peak_within_batch);
    tcase_add_test(tc, threads_sum_exactly);
    return s;
}
