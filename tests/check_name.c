/* check_name.c — name interning: identity, literals by address, dynamic names by content,
 * and exact ids under concurrent interning. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "check_util.h"
#include "base/name.h"

START_TEST(same_name_same_id)
{
    uint32_t a = pf_name_id("reg.alpha");
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_eq(pf_name_id("reg.alpha"), a);
    ck_assert_str_eq(pf_name_str(a), "reg.alpha");
    ck_assert_uint_ne(pf_name_id("reg.beta"), a);
}
END_TEST

START_TEST(buffer_reused_for_another_name)
{
    /* A stack buffer is not a literal: its address must not stand for its first content. */
    char buf[32];
    strcpy(buf, "reg.first");
    uint32_t a = pf_name_id(buf);
    strcpy(buf, "reg.second");
    uint32_t b = pf_name_id(buf);
    ck_assert_uint_ne(a, b);
    ck_assert_str_eq(pf_name_str(b), "reg.second");
    ck_assert_uint_eq(pf_name_id("reg.first"), a); /* the literal finds the same name */
    /* Looked up again, the buffer is remembered as not a literal: still found by content. */
    ck_assert_uint_eq(pf_name_id(buf), b);
    strcpy(buf, "reg.first");
    ck_assert_uint_eq(pf_name_id(buf), a);
    ck_assert_uint_eq(pf_name_id(buf), a);
}
END_TEST

START_TEST(null_and_overflow)
{
    ck_assert_uint_eq(pf_name_id(NULL), 0);
    ck_assert_str_eq(pf_name_str(0), "[other]");
    char buf[32];
    uint32_t last = 1;
    for (int i = 0; i < PF_MAX_NAMES + 10; i++) {
        snprintf(buf, sizeof buf, "reg.many.%d", i);
        uint32_t id = pf_name_id(buf);
        if (id)
            last = id;
    }
    ck_assert_uint_lt(last, PF_MAX_NAMES);
    ck_assert_uint_gt(pf_name_overflows(), 0);
    snprintf(buf, sizeof buf, "reg.many.%d", PF_MAX_NAMES + 5);
    ck_assert_uint_eq(pf_name_id(buf), 0); /* full: folded into [other] */
}
END_TEST

/* The name and call-site tables take their next index with pf_take_below: once full, the
 * counter stays at the limit instead of counting on and wrapping into the table after 2^32
 * more calls (issue 10, item 6). Here at the limit, and at the top of the 32-bit range. */
START_TEST(index_counter_saturates)
{
    uint32_t c = PF_MAX_NAMES - 2;
    ck_assert_uint_eq(pf_take_below(&c, PF_MAX_NAMES), PF_MAX_NAMES - 2);
    ck_assert_uint_eq(pf_take_below(&c, PF_MAX_NAMES), PF_MAX_NAMES - 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(pf_take_below(&c, PF_MAX_NAMES), PF_MAX_NAMES);
    ck_assert_uint_eq(c, PF_MAX_NAMES);
    c = UINT32_MAX - 1;
    ck_assert_uint_eq(pf_take_below(&c, UINT32_MAX), UINT32_MAX - 1);
    ck_assert_uint_eq(pf_take_below(&c, UINT32_MAX), UINT32_MAX);
    ck_assert_uint_eq(c, UINT32_MAX); /* not 0 */
    /* A full name table still answers for the names it has and refuses new ones. */
    char buf[32];
    for (int i = 0; i < PF_MAX_NAMES + 10; i++) {
        snprintf(buf, sizeof buf, "sat.%d", i);
        pf_name_id(buf);
    }
    uint32_t limit = pf_name_limit();
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof buf, "sat.more.%d", i);
        ck_assert_uint_eq(pf_name_intern(buf), 0);
    }
    ck_assert_uint_eq(pf_name_limit(), limit);
    ck_assert_uint_eq(pf_name_intern("sat.0") != 0 || limit == PF_MAX_NAMES, 1);
}
END_TEST

#define THREADS 8
#define NAMES   200
static uint32_t seen[THREADS][NAMES];

static void *intern_all(void *arg)
{
    long t = (long)arg;
    char buf[32];
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < NAMES; i++) {
            int k = (i * 7 + (int)t * 13) % NAMES; /* each thread in its own order */
            snprintf(buf, sizeof buf, "reg.race.%d", k);
            uint32_t id = pf_name_id(buf);
            if (round == 0)
                seen[t][k] = id;
            else if (seen[t][k] != id)
                seen[t][k] = UINT32_MAX;
        }
    return NULL;
}

START_TEST(concurrent_interning_agrees)
{
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, intern_all, (void *)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int k = 0; k < NAMES; k++) {
        ck_assert_uint_ne(seen[0][k], 0);
        for (int t = 1; t < THREADS; t++)
            ck_assert_uint_eq(seen[t][k], seen[0][k]);
        char buf[32];
        snprintf(buf, sizeof buf, "reg.race.%d", k);
        ck_assert_str_eq(pf_name_str(seen[0][k]), buf);
    }
}
END_TEST

Suite *name_suite(void)
{
    Suite *s = suite_create("name");
    TCase *tc = pf_tcase(s, "core", 30);
    tcase_add_test(tc, same_name_same_id);
    tcase_add_test(tc, buffer_reused_for_another_name);
    tcase_add_test(tc, null_and_overflow);
    tcase_add_test(tc, concurrent_interning_agrees);
    tcase_add_test(tc, index_counter_saturates);
    return s;
}
