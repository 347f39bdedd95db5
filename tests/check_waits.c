/* check_waits.c — waits per thread and per lock: a wait adds to the calling thread and to its
 * lock's entry (count, total, maximum, distinct waiters), the first contended wait names its
 * call site, kinds are kept, locks beyond the table are counted as dropped, and errno is
 * left alone. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "check_util.h"
#include "base/clock.h"
#include "runtime/sites.h"
#include "runtime/symbols.h"
#include "runtime/waits.h"

static char locks[PF_MAX_LOCKS + 64]; /* stand-ins for locks: only their addresses matter */

static const pf_lock_view_t *lock_at(pf_lock_view_t *v, size_t n, const void *addr)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].addr == addr)
            return &v[i];
    return NULL;
}

static uint64_t ticks_ago_ms(double ms)
{
    uint64_t per_ms = (uint64_t)(1e-3 / pf_clock_ticks_to_sec(1000000000ull) * 1e9);
    return pf_clock_ticks() - (uint64_t)(ms * (double)per_ms);
}

__attribute__((noipa)) static void wait_here(const void *addr, double ms)
{
    pf_waits_end(addr, PF_WAIT_MUTEX, ticks_ago_ms(ms), __builtin_return_address(0));
    __asm__ __volatile__("" ::: "memory"); /* no tail call: this frame stays on the stack */
}

START_TEST(a_wait_counts_for_thread_and_lock)
{
    pf_sites_init(1 << 20, 16);
    pf_thread_t *t = pf_thread();
    errno = 4321;
    wait_here(&locks[0], 2.0);
    wait_here(&locks[0], 5.0);
    pf_waits_end(&locks[1], PF_WAIT_COND, ticks_ago_ms(1.0), NULL);
    ck_assert_int_eq(errno, 4321);
    ck_assert_near(pf_clock_ticks_to_sec(t->wait.ticks), 0.008, 0.001);
    static pf_lock_view_t v[PF_MAX_LOCKS];
    size_t n = pf_waits_collect(v);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(v[0].addr, &locks[0]); /* heaviest first */
    ck_assert_int_eq(v[0].kind, PF_WAIT_MUTEX);
    ck_assert_uint_eq(v[0].contended, 2);
    ck_assert_near(pf_clock_ticks_to_sec(v[0].wait_ticks), 0.007, 0.001);
    ck_assert_near(pf_clock_ticks_to_sec(v[0].max_ticks), 0.005, 0.001);
    ck_assert_uint_eq(v[0].threads, 1);
    ck_assert_str_eq(pf_waits_kind_name(v[1].kind), "cond");
    /* The first contended wait on a lock is unwound: its innermost frame is the caller. */
    uint32_t depth;
    void *const *frames = pf_sites_frames(v[0].site, &depth);
    ck_assert_uint_gt(depth, 0);
    pf_symbol_t sym;
    pf_symbols_lookup((uintptr_t)frames[0], &sym);
    ck_assert_str_eq(sym.symbol, "wait_here");
}
END_TEST

static void *other_waiter(void *arg)
{
    pf_waits_end(arg, PF_WAIT_MUTEX, ticks_ago_ms(1.0), NULL);
    return NULL;
}

START_TEST(distinct_waiters_are_counted)
{
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        pthread_create(&th[i], NULL, other_waiter, &locks[2]);
        pthread_join(th[i], NULL);
    }
    static pf_lock_view_t v[PF_MAX_LOCKS];
    size_t n = pf_waits_collect(v);
    const pf_lock_view_t *l = lock_at(v, n, &locks[2]);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(l->contended, 6);
    /* Linear counting: 6 waiters on 256 bits, collisions aside. */
    ck_assert_uint_ge(l->threads, 5);
    ck_assert_uint_le(l->threads, 6);
}
END_TEST

START_TEST(a_full_table_counts_dropped_waits)
{
    for (size_t i = 0; i < PF_MAX_LOCKS + 64; i++)
        pf_waits_end(&locks[i], PF_WAIT_SEM, pf_clock_ticks(), NULL);
    static pf_lock_view_t v[PF_MAX_LOCKS];
    size_t n = pf_waits_collect(v);
    ck_assert_uint_le(n, PF_MAX_LOCKS);
    ck_assert_uint_eq(n + pf_waits_dropped(), PF_MAX_LOCKS + 64);
    pf_waits_after_fork();
    ck_assert_uint_eq(pf_waits_collect(v), 0);
    ck_assert_uint_eq(pf_waits_dropped(), 0);
}
END_TEST

Suite *waits_suite(void)
{
    Suite *s = suite_create("waits");
    TCase *tc = pf_tcase(s, "waits", 30);
    tcase_add_test(tc, a_wait_counts_for_thread_and_lock);
    tcase_add_test(tc, distinct_waiters_are_counted);
    tcase_add_test(tc, a_full_table_counts_dropped_waits);
    return s;
}
