/* check_session.c — output patterns, safe report creation, bad environment values. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_util.h"
#include "session/session.h"
#include "base/env.h"

START_TEST(expand_patterns)
{
    char out[256], want[256], host[128] = {0};
    ck_assert_int_eq(pf_session_expand("r.%p.json", out, sizeof out), 0);
    snprintf(want, sizeof want, "r.%d.json", (int)getpid());
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(pf_session_expand("%e-100%%", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s-100%%", program_invocation_short_name);
    ck_assert_str_eq(out, want);
    gethostname(host, sizeof host - 1);
    ck_assert_int_eq(pf_session_expand("%h/%x", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/%%x", host);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(pf_session_expand("%p%p%p%p", out, 8), -ENAMETOOLONG);
}
END_TEST

static char dir[64];
static void in_temp_dir(void)
{
    strcpy(dir, "/tmp/pferris-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chdir(dir), 0);
}

START_TEST(write_never_clobbers_or_follows)
{
    in_temp_dir();
    char used[512];
    ck_assert_int_eq(pf_session_write("r.json", used, sizeof used), 0);
    ck_assert_str_eq(used, "r.json");
    ck_assert_int_eq(pf_session_write("r.json", used, sizeof used), 0);
    ck_assert_str_eq(used, "r.1.json");
    /* A symlink at the final component is not followed: the target stays untouched. */
    FILE *f = fopen("target", "w");
    fputs("precious", f);
    fclose(f);
    ck_assert_int_eq(symlink("target", "link.json"), 0);
    ck_assert_int_eq(pf_session_write("link.json", used, sizeof used), 0);
    ck_assert_str_eq(used, "link.1.json");
    char buf[16] = {0};
    f = fopen("target", "r");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "precious");
    ck_assert_int_eq(pf_session_write("no/such/dir/r.json", used, sizeof used), -ENOENT);
}
END_TEST

START_TEST(bad_env_values_warn_and_default)
{
    setenv("PFERRIS_TEST_N", "abc", 1);
    ck_assert_int_eq(pf_env_ll("PFERRIS_TEST_N", 7, 0, 100, "a number"), 7);
    setenv("PFERRIS_TEST_N", "101", 1);
    ck_assert_int_eq(pf_env_ll("PFERRIS_TEST_N", 7, 0, 100, "a number"), 7);
    setenv("PFERRIS_TEST_N", "42", 1);
    ck_assert_int_eq(pf_env_ll("PFERRIS_TEST_N", 7, 0, 100, "a number"), 42);
    setenv("PFERRIS_TEST_B", "maybe", 1);
    ck_assert_int_eq(pf_env_bool("PFERRIS_TEST_B", 1), 1);
    setenv("PFERRIS_TEST_B", "0", 1);
    ck_assert_int_eq(pf_env_bool("PFERRIS_TEST_B", 1), 0);
}
END_TEST

Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = pf_tcase(s, "output", 30);
    tcase_add_test(tc, expand_patterns);
    tcase_add_test(tc, write_never_clobbers_or_follows);
    tcase_add_test(tc, bad_env_values_warn_and_default);
    return s;
}
