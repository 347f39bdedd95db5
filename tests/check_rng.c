/* check_rng.c — the samplers' arithmetic: the inline log and 1 - exp(-x) agree with libm's to
 * 1e-12 over their whole domains, and the exponential draws have the mean and the tail of an
 * exponential distribution (the weights in sites.c are unbiased only if they do). */
#include <math.h>
#include <stdint.h>
#include "check_util.h"
#include "base/rng.h"

static double rel_err(double got, double want)
{
    return want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
}

START_TEST(neg_log_matches_libm)
{
    /* The ends of the domain, the mantissa's split at sqrt(2), and powers of two. */
    const double edges[] = {1.0, 0.5, 0.25, 0x1.0p-53, 0x1.fffffffffffffp-1, 0x1.6a09e667f3bcdp-1,
                            0x1.6a09e667f3bccp-1, 0x1.6a09e667f3bcep-1, 0.7071, 0.9999999, 1e-300};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        ck_assert_msg(rel_err(pf_neg_log(edges[i]), -log(edges[i])) < 1e-12 ||
                          fabs(pf_neg_log(edges[i]) + log(edges[i])) < 1e-15,
                      "x = %a: %.17g, libm %.17g", edges[i], pf_neg_log(edges[i]), -log(edges[i]));
    ck_assert(pf_neg_log(1.0) == 0.0);
    uint64_t s = 12345;
    double worst = 0;
    for (int i = 0; i < 1000000; i++) {
        double u = pf_rng_uniform(&s), x = 1 - u;
        /* Near 1 the log is near 0: its absolute error is what the draw sees. */
        double e = x > 0.999 ? fabs(pf_neg_log(x) + log(x)) / 1e-3
                             : rel_err(pf_neg_log(x), -log(x));
        if (e > worst)
            worst = e;
        double y = ldexp(x, -(i % 1000)); /* down to 2^-1000 */
        e = rel_err(pf_neg_log(y), -log(y));
        if (e > worst)
            worst = e;
    }
    ck_assert_msg(worst < 1e-12, "worst relative error %g", worst);
}
END_TEST

START_TEST(one_minus_exp_matches_libm)
{
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        double x = i * 1e-5; /* 0 to 2, across the series' end at 1/8 */
        double e = rel_err(pf_one_minus_exp_neg(x), -expm1(-x));
        if (e > worst)
            worst = e;
        x = ldexp(1.0, -(i % 1100)); /* tiny sizes against a large mean */
        e = rel_err(pf_one_minus_exp_neg(x), -expm1(-x));
        if (e > worst)
            worst = e;
    }
    ck_assert_msg(worst < 1e-12, "worst relative error %g", worst);
    ck_assert(pf_one_minus_exp_neg(0) == 0);
    ck_assert(pf_one_minus_exp_neg(1e6) == 1);
}
END_TEST

START_TEST(exponential_draws_have_mean_and_tail)
{
    /* n draws of mean 524288: the sample mean's standard error is mean / sqrt(n), 0.1 %, and
     * P(X > k mean) is exp(-k). Limits at about 5 standard errors. */
    const int n = 1000000;
    const double mean = 524288;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    double sum = 0;
    int over1 = 0, over4 = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = pf_rng_exponential(&s, mean);
        ck_assert(v >= 1);
        sum += (double)v;
        over1 += v > mean;
        over4 += v > 4 * mean;
    }
    ck_assert_msg(fabs(sum / n / mean - 1) < 0.005, "mean %g", sum / n);
    ck_assert_msg(fabs((double)over1 / n - exp(-1)) < 0.0025, "P(X > mean) %g", (double)over1 / n);
    ck_assert_msg(fabs((double)over4 / n - exp(-4)) < 0.0007, "P(X > 4 mean) %g",
                  (double)over4 / n);
}
END_TEST

Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = pf_tcase(s, "rng", 30);
    tcase_add_test(tc, neg_log_matches_libm);
    tcase_add_test(tc, one_minus_exp_matches_libm);
    tcase_add_test(tc, exponential_draws_have_mean_and_tail);
    return s;
}
