/* check_sites.c — call sites in exact mode (every allocation sampled): the stack's innermost
 * frame is the allocating function, counts and bytes are exact, a freed block leaves its
 * site's live figure, and frames are named from .symtab (static functions too). */
#include <stdlib.h>
#include <string.h>
#include "check_util.h"
#include "runtime/heap.h"
#include "runtime/sites.h"
#include "runtime/symbols.h"

static char blocks[64][32]; /* stand-ins for allocated blocks: only their addresses matter */

__attribute__((noinline)) static void allocate_here(int n)
{
    for (int i = 0; i < n; i++)
        pf_heap_alloc(blocks[i], 100, 104);
}

__attribute__((noinline)) static void free_here(int n)
{
    for (int i = 0; i < n; i++)
        pf_heap_free(blocks[i], 104);
}

/* More sampled blocks live at once than the hot table holds (sites.c): the rest go to the large
 * table, and a free finds each in either. */
#define MANY 1000
static char many[MANY][64];

__attribute__((noinline, noclone)) static void allocate_many(size_t size)
{
    for (int i = 0; i < MANY; i++)
        pf_heap_alloc(many[i], size, size);
}

static const pf_site_view_t *site_of(pf_site_view_t *v, size_t n, const char *fn)
{
    pf_symbol_t sym;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].depth)
            continue;
        pf_symbols_lookup((uintptr_t)v[i].frames[0], &sym);
        if (strcmp(sym.symbol, fn) == 0)
            return &v[i];
    }
    return NULL;
}

START_TEST(exact_mode_counts_every_allocation)
{
    pf_sites_init(1, 16);
    pf_sites_info_t info;
    pf_sites_info(&info);
    ck_assert_msg(info.active, "sampling inactive: %s", info.inactive_why);
    allocate_here(40);
    free_here(10);
    pf_site_view_t *v = calloc(PF_MAX_SITES, sizeof *v);
    size_t n = pf_sites_collect(v);
    const pf_site_view_t *s = site_of(v, n, "allocate_here");
    ck_assert_msg(s != NULL, "no site whose innermost frame is allocate_here (%zu sites)", n);
    ck_assert_uint_eq(s->sampled, 40);
    ck_assert_near(s->allocations, 40, 1e-9);
    ck_assert_near(s->bytes, 4000, 1e-9);
    ck_assert_near(s->live_bytes, 3000, 1e-9);
    free(v);
    pf_symbols_release();
}
END_TEST

START_TEST(sampled_blocks_beyond_the_hot_table)
{
    /* A mean of 2 bytes samples every block of 1 MiB, each with weight 1 (1 - exp(-2^19) is
     * 1.0 in a double), so the estimates are exact. */
    const size_t size = 1 << 20;
    pf_sites_init(2, 16);
    pf_sites_info_t info;
    pf_sites_info(&info);
    ck_assert_msg(info.active, "sampling inactive: %s", info.inactive_why);
    pf_site_view_t *v = calloc(PF_MAX_SITES, sizeof *v);
    /* The second round finds the same addresses again: each left both tables at its free. */
    for (int round = 1; round <= 2; round++) {
        allocate_many(size);
        for (int i = 0; i < MANY; i += 2)
            pf_heap_free(many[i], size);
        pf_heap_free(many[1] + 8, 8); /* never allocated, in a sampled block's filter slot */
        size_t n = pf_sites_collect(v);
        const pf_site_view_t *s = site_of(v, n, "allocate_many");
        ck_assert_msg(s != NULL, "no site whose innermost frame is allocate_many (%zu sites)", n);
        ck_assert_uint_eq(s->sampled, round * MANY);
        ck_assert_near(s->bytes, (double)round * MANY * size, 1e-6);
        ck_assert_near(s->live_bytes, (double)MANY / 2 * size, 1e-6);
        pf_sites_info(&info);
        ck_assert_uint_eq(info.untracked, 0);
        for (int i = 1; i < MANY; i += 2)
            pf_heap_free(many[i], size);
        n = pf_sites_collect(v);
        s = site_of(v, n, "allocate_many");
        ck_assert_near(s->live_bytes, 0, 1e-6);
    }
    free(v);
    pf_symbols_release();
}
END_TEST

START_TEST(sampling_off_records_nothing)
{
    pf_sites_init(0, 16);
    pf_sites_info_t info;
    pf_sites_info(&info);
    ck_assert(!info.active);
    ck_assert_str_eq(info.inactive_why, "PFERRIS_SAMPLE=0");
    allocate_here(10);
    pf_site_view_t *v = calloc(PF_MAX_SITES, sizeof *v);
    ck_assert_uint_eq(pf_sites_collect(v), 0);
    free(v);
}
END_TEST

START_TEST(symbols_of_static_functions_and_nonsense)
{
    pf_symbol_t sym;
    /* A return address inside a static function of this (unstripped) test binary. */
    pf_symbols_lookup((uintptr_t)allocate_here + 4, &sym);
    ck_assert_str_eq(sym.symbol, "allocate_here");
    ck_assert(strstr(sym.module, "check_all") != NULL);
    pf_symbols_lookup(0, &sym);
    ck_assert_str_eq(sym.symbol, "??");
    pf_symbols_lookup((uintptr_t)blocks, &sym); /* data, not code */
    ck_assert(strcmp(sym.symbol, "allocate_here") != 0);
    pf_symbols_release();
}
END_TEST

Suite *sites_suite(void)
{
    Suite *s = suite_create("sites");
    TCase *tc = pf_tcase(s, "exact", 30);
    tcase_add_test(tc, exact_mode_counts_every_allocation);
    tcase_add_test(tc, sampled_blocks_beyond_the_hot_table);
    tcase_add_test(tc, sampling_off_records_nothing);
    tcase_add_test(tc, symbols_of_static_functions_and_nonsense);
    return s;
}
