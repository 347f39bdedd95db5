/* check_clock.c — ticks agree with CLOCK_MONOTONIC, and thread CPU time is read. */
#include <time.h>
#include "check_util.h"
#include "base/clock.h"

START_TEST(ticks_convert_to_real_seconds)
{
    pf_clock_init();
    uint64_t t0 = pf_clock_ticks(), n0 = pf_clock_mono_ns();
    struct timespec ts = {0, 60 * 1000000L};
    nanosleep(&ts, NULL);
    uint64_t t1 = pf_clock_ticks(), n1 = pf_clock_mono_ns();
    double s = pf_clock_ticks_to_sec(t1 - t0), ref = (double)(n1 - n0) * 1e-9;
    ck_assert_msg(fabs(s - ref) < ref * 0.01, "ticks say %g s, the clock %g s", s, ref);
    ck_assert(pf_clock_now_sec() > 0.05);
}
END_TEST

START_TEST(cpu_time_counts)
{
    double a = pf_clock_thread_cpu_sec(0);
    volatile double x = 0;
    for (int i = 0; i < 20000000; i++)
        x += i * 0.5;
    double b = pf_clock_thread_cpu_sec(0);
    ck_assert(a >= 0);
    ck_assert(b > a);
}
END_TEST

Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = pf_tcase(s, "clock", 30);
    tcase_add_test(tc, ticks_convert_to_real_seconds);
    tcase_add_test(tc, cpu_time_counts);
    return s;
}
