/* check_util.h — small helpers shared by the Check suites. */
#ifndef PF_CHECK_UTIL_H
#define PF_CHECK_UTIL_H

#include <check.h>
#include <math.h>

/* A test case with a timeout, added to suite s. */
static inline TCase *pf_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

#define ck_assert_near(a, b, tol)                                                              \
    ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), "%s = %g, expected %g +- %g", #a,  \
                  (double)(a), (double)(b), (double)(tol))

#endif
