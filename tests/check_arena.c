/* check_arena.c — the core's own memory: zeroed, cache-line aligned, never from malloc. */
#include <stdint.h>
#include "check_util.h"
#include "base/arena.h"

START_TEST(zalloc_is_zeroed_and_aligned)
{
    for (size_t size = 1; size < 200000; size = size * 3 + 1) {
        unsigned char *p = pf_arena_zalloc(size);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % PF_CACHELINE, 0);
        for (size_t i = 0; i < size; i += 97)
            ck_assert_uint_eq(p[i], 0);
        p[size - 1] = 1;
        pf_arena_free(p, size);
    }
}
END_TEST

START_TEST(small_blocks_do_not_overlap)
{
    char *a = pf_arena_zalloc(10), *b = pf_arena_zalloc(10);
    ck_assert(b >= a + PF_CACHELINE || a >= b + PF_CACHELINE);
}
END_TEST

Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = pf_tcase(s, "memory", 30);
    tcase_add_test(tc, zalloc_is_zeroed_and_aligned);
    tcase_add_test(tc, small_blocks_do_not_overlap);
    return s;
}
