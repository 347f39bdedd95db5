/* check_arena.c — the core's own memory: zeroed, cache-line aligned, never from malloc; and
 * the own heap that serves what reaches malloc while pferris runs. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "check_util.h"
#include "base/arena.h"
#include "base/ownheap.h"

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

START_TEST(ownheap_owns_only_its_blocks)
{
    static char outside[64];
    int on_stack;
    ck_assert(!pf_ownheap_owns(NULL));
    ck_assert(!pf_ownheap_owns(outside));
    ck_assert(!pf_ownheap_owns(&on_stack));
    for (size_t size = 0; size <= PF_OWNHEAP_MAX; size = size * 2 + 1) {
        char *p = pf_ownheap_alloc(size);
        ck_assert_ptr_nonnull(p);
        ck_assert(pf_ownheap_owns(p) && pf_ownheap_owns(p + size));
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        ck_assert_uint_ge(pf_ownheap_usable(p), size);
        memset(p, 0xa5, pf_ownheap_usable(p)); /* the whole usable size is the caller's */
        pf_ownheap_free(p);
    }
    ck_assert_ptr_null(pf_ownheap_alloc(PF_OWNHEAP_MAX + 1)); /* the real allocator's */
    ck_assert(!pf_ownheap_owns(outside));
}
END_TEST

START_TEST(ownheap_reuses_freed_blocks)
{
    void *a = pf_ownheap_alloc(100);
    pf_ownheap_free(a);
    ck_assert_ptr_eq(pf_ownheap_alloc(90), a); /* same class, first on its list */
    void *b = pf_ownheap_alloc(100);
    ck_assert_ptr_ne(a, b);
    pf_ownheap_free(a);
    pf_ownheap_free(b);
}
END_TEST

/* Threads allocate, fill and free blocks of four classes at once: no block is handed out twice
 * (each holds its owner's pattern until freed). Sized so that the region cannot fill even if
 * every allocation bumped (4 x 500 x 64 blocks of at most 256 bytes: 32 MiB). */
static void *ownheap_churn(void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    unsigned char *held[64];
    for (int round = 0; round < 500; round++) {
        for (int i = 0; i < 64; i++) {
            size_t size = 16 + (size_t)((i * 67 + round) % 224);
            held[i] = pf_ownheap_alloc(size);
            if (!held[i])
                return (void *)1; /* the region filled up: freed blocks were not reused */
            memset(held[i], (int)me, size);
        }
        for (int i = 0; i < 64; i++) {
            size_t size = 16 + (size_t)((i * 67 + round) % 224);
            for (size_t k = 0; k < size; k += 7)
                if (held[i][k] != (unsigned char)me)
                    return (void *)2; /* another thread was handed the same block */
            pf_ownheap_free(held[i]);
        }
    }
    return NULL;
}

START_TEST(ownheap_threads_never_share_a_block)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, ownheap_churn, (void *)(i + 1));
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = pf_tcase(s, "memory", 30);
    tcase_add_test(tc, zalloc_is_zeroed_and_aligned);
    tcase_add_test(tc, small_blocks_do_not_overlap);
    tcase_add_test(tc, ownheap_owns_only_its_blocks);
    tcase_add_test(tc, ownheap_reuses_freed_blocks);
    tcase_add_test(tc, ownheap_threads_never_share_a_block);
    return s;
}
