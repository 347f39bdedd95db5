/* check_main.c — the one Check runner: every tests/check_<module>.c defines
 * Suite *<module>_suite(void); the Makefile lists them in suites.h. Fork mode (each test in its
 * own process) with the per-test timeouts the suites set. Prints Check's summary line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PF_SUITE(name) Suite *name##_suite(void);
#include "suites.h"
#undef PF_SUITE

int main(int argc, char **argv)
{
    SRunner *sr = srunner_create(NULL);
#define PF_SUITE(name)                                                                         \
    if (argc < 2 || strcmp(argv[1], #name) == 0)                                               \
        srunner_add_suite(sr, name##_suite());
#include "suites.h"
#undef PF_SUITE
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
