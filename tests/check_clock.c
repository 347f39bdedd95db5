/* check_clock.c — ticks agree with CLOCK_MONOTONIC, the TSC is chosen under the clocksources
 * of virtual machines, the fallback keeps ticks in one unit, and thread CPU time is read. */
#include <string.h>
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

START_TEST(tsc_under_any_clocksource)
{
    /* This machine's kernel may run `tsc`: ask the decision about the others directly. */
    const char *why = NULL;
    ck_assert_int_eq(pf_clock_decide(1, "kvm-clock", &why), PF_CLOCK_TSC);
    ck_assert_ptr_nonnull(strstr(why, "kvm-clock"));
    ck_assert_int_eq(pf_clock_decide(1, "hyperv_clocksource_tsc_page", &why), PF_CLOCK_TSC);
    ck_assert_ptr_nonnull(strstr(why, "Hyper-V"));
    ck_assert_int_eq(pf_clock_decide(1, "tsc", &why), PF_CLOCK_TSC);
    ck_assert_int_eq(pf_clock_decide(1, NULL, &why), PF_CLOCK_TSC);
    ck_assert_int_eq(pf_clock_decide(0, "tsc", &why), PF_CLOCK_NS);
    ck_assert_ptr_nonnull(strstr(why, "no invariant TSC"));
}
END_TEST

START_TEST(fallback_keeps_one_unit)
{
    /* A TSC seen going backwards: ticks come from CLOCK_MONOTONIC from then on, in the same
     * unit, durations across the switch stay right, and the clock says why. */
    pf_clock_init();
    pf_clock_info_t ci;
    pf_clock_info(&ci);
    int was_tsc = pf_clock_tsc == PF_CLOCK_TSC;
    ck_assert_str_eq(ci.source, was_tsc ? "tsc" : "monotonic");
    uint64_t t0 = pf_clock_ticks(), n0 = pf_clock_mono_ns();
    ck_assert_int_eq(pf_clock_elapsed(t0 + 5, t0), 0); /* end before start: backwards */
    struct timespec ts = {0, 60 * 1000000L};
    nanosleep(&ts, NULL);
    uint64_t t1 = pf_clock_ticks(), n1 = pf_clock_mono_ns();
    double s = pf_clock_ticks_to_sec(pf_clock_elapsed(t0, t1)), ref = (double)(n1 - n0) * 1e-9;
    ck_assert_msg(fabs(s - ref) < ref * 0.01, "ticks say %g s, the clock %g s", s, ref);
    pf_clock_info(&ci);
    ck_assert_str_eq(ci.source, "monotonic");
    if (was_tsc) {
        ck_assert_int_eq(pf_clock_tsc, PF_CLOCK_FALLBACK);
        ck_assert_ptr_nonnull(strstr(ci.why, "backwards"));
        ck_assert(ci.ticks_per_ns > 0.1);
    }
}
END_TEST

Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = pf_tcase(s, "clock", 30);
    tcase_add_test(tc, ticks_convert_to_real_seconds);
    tcase_add_test(tc, cpu_time_counts);
    tcase_add_test(tc, tsc_under_any_clocksource);
    tcase_add_test(tc, fallback_keeps_one_unit);
    return s;
}
