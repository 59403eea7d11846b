/* The per-VM code-page registry (mmu/codepages.c) on its own: a page is code only
 * once marked live, invalidating bumps its generation exactly once per live period,
 * and entries stay put (translations hold pointers to them) while the table grows. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mmu/codepages.h"

#define PAGE 0x1000ull
#define MANY_PAGES 2000u   /* well past the initial bucket count: the table grows */

static struct mmu_code_pages *t;
static void setup(void)
{
    t = malloc(sizeof(*t));
    cr_assert(mmu_code_pages_init(t));
}
static void teardown(void)
{
    mmu_code_pages_destroy(t);
    free(t);
}
TestSuite(codepages, .init = setup, .fini = teardown);

Test(codepages, a_page_is_code_only_while_live)
{
    cr_expect_not(mmu_code_page_is_live(t, 5 * PAGE));
    struct mmu_code_page *p = mmu_code_page_get(t, 5 * PAGE);
    cr_assert_not_null(p);
    cr_expect_eq(p->gpage, 5 * PAGE);
    cr_expect_not(mmu_code_page_is_live(t, 5 * PAGE), "entered but not live yet");
    atomic_store(&p->live, 1);
    cr_expect(mmu_code_page_is_live(t, 5 * PAGE));
    cr_expect_not(mmu_code_page_is_live(t, 6 * PAGE));
}

Test(codepages, invalidation_bumps_the_generation_once_per_live_period)
{
    struct mmu_code_page *p = mmu_code_page_get(t, 7 * PAGE);
    cr_expect_not(mmu_code_page_invalidate(t, 7 * PAGE), "not live: nothing to invalidate");
    cr_expect_eq(atomic_load(&p->gen), 0);
    atomic_store(&p->live, 1);
    cr_expect(mmu_code_page_invalidate(t, 7 * PAGE));
    cr_expect_eq(atomic_load(&p->gen), 1);
    cr_expect_not(mmu_code_page_is_live(t, 7 * PAGE));
    cr_expect_not(mmu_code_page_invalidate(t, 7 * PAGE), "already invalidated");
    cr_expect_eq(atomic_load(&p->gen), 1);
    cr_expect_not(mmu_code_page_invalidate(t, 8 * PAGE), "never entered");
}

Test(codepages, entries_keep_their_address_as_the_table_grows)
{
    static struct mmu_code_page *first[MANY_PAGES];
    for (unsigned i = 0; i < MANY_PAGES; i++) {
        first[i] = mmu_code_page_get(t, (uint64_t)i * PAGE);
        cr_assert_not_null(first[i]);
        if (i % 3 == 0)
            atomic_store(&first[i]->live, 1);
    }
    for (unsigned i = 0; i < MANY_PAGES; i++) {
        cr_assert_eq(mmu_code_page_get(t, (uint64_t)i * PAGE), first[i], "page %u", i);
        cr_assert_eq(mmu_code_page_is_live(t, (uint64_t)i * PAGE), i % 3 == 0, "page %u", i);
    }
    cr_expect_eq(t->count, MANY_PAGES);
}
