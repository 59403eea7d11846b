/* The translation cache on its own: at its limit it drops the blocks that ran at most
 * once since the last sweep and keeps the rest (the whole cache goes only when that
 * frees too little), and invalid blocks are freed in batches, so free_gen (which
 * every dispatcher link checks) moves once per batch, not once per block. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "jit/tcache.h"

#define LIMIT 64u
#define PAGE 0x1000ull

static struct tcache tc;
static struct mmu_code_pages pages;
static struct mmu_code_page *page;

static void setup(void)
{
    cr_assert(tcache_init(&tc, LIMIT));
    cr_assert(mmu_code_pages_init(&pages));
    page = mmu_code_page_get(&pages, PAGE);
    cr_assert_not_null(page);
}
static void teardown(void)
{
    tcache_destroy(&tc);
    mmu_code_pages_destroy(&pages);
}
TestSuite(tcache, .init = setup, .fini = teardown);

static struct tc_block *add(uint64_t pc, uint64_t runs)
{
    struct tc_block *b = tc_block_new();
    cr_assert_not_null(b);
    b->pc = b->gpa = pc;
    b->npages = 1;
    b->page[0] = page;
    b->page_gen[0] = atomic_load(&page->gen);
    b->exec_count = runs;
    tcache_insert(&tc, b, 0);
    return b;
}

Test(tcache, the_limit_evicts_blocks_that_ran_once_and_keeps_the_rest)
{
    for (uint32_t i = 0; i < LIMIT; i++)
        add(PAGE + i * 4, i % 2 ? 100 : 1);   /* odd pcs: hot; even: ran once */
    uint64_t gen = tc.free_gen;
    add(PAGE + LIMIT * 4, 1);   /* over the limit: a sweep */
    cr_expect_eq(tc.flushes, 0, "the working set fits: no full flush");
    cr_expect_eq(tc.evictions, LIMIT / 2);
    cr_expect_gt(tc.free_gen, gen, "links into freed blocks must go stale");
    for (uint32_t i = 0; i < LIMIT; i++) {
        struct tc_block *b = tcache_lookup(&tc, PAGE + i * 4, PAGE + i * 4, 0, 0);
        if (i % 2)
            cr_expect_not_null(b, "hot block %u kept", i);
        else
            cr_expect_null(b, "cold block %u evicted", i);
    }
    cr_expect_not_null(tcache_lookup(&tc, PAGE + LIMIT * 4, PAGE + LIMIT * 4, 0, 0));
}

Test(tcache, a_sweep_that_frees_too_little_drops_everything)
{
    for (uint32_t i = 0; i < LIMIT; i++)
        add(PAGE + i * 4, 100);
    add(PAGE + LIMIT * 4, 1);
    cr_expect_eq(tc.flushes, 1);
    cr_expect_eq(tc.count, 1, "only the new block");
}

Test(tcache, invalid_blocks_are_freed_in_batches)
{
    add(PAGE, 5);
    add(PAGE + 4, 5);
    uint64_t gen = tc.free_gen;
    atomic_store(&page->live, 1);
    cr_assert(mmu_code_page_invalidate(&pages, PAGE));
    cr_expect_null(tcache_lookup(&tc, PAGE, PAGE, 0, 0));
    cr_expect_null(tcache_lookup(&tc, PAGE + 4, PAGE + 4, 0, 0));
    cr_expect_eq(tc.invalidations, 2);
    cr_expect_eq(tc.count, 0);
    cr_expect_eq(tc.free_gen, gen, "a dead block waits: links to it fail validity instead");
    tcache_flush(&tc);
    cr_expect_gt(tc.free_gen, gen);
}

/* A region head keeps pointers to its members (tc_block.region). A write to their
 * page makes them all invalid; the members' lookups free them with the next batch of
 * dead blocks while the head, not looked up yet, stays in the table. A sweep at the
 * limit must not reach the freed members through it (under ASan: a use after free in
 * evict), and it frees the invalid head. */
Test(tcache, a_sweep_after_a_region_head_lost_its_members)
{
    struct tc_block *head = add(PAGE, 100);
    enum { MEMBERS = 2 };
    head->region = calloc(MEMBERS, sizeof(*head->region));
    cr_assert_not_null(head->region);
    for (uint32_t k = 0; k < MEMBERS; k++)
        head->region[k] = add(PAGE + 4 + k * 4, 100);
    head->nregion = MEMBERS;
    atomic_store(&page->live, 1);
    cr_assert(mmu_code_page_invalidate(&pages, PAGE));
    for (uint32_t k = 0; k < MEMBERS; k++)
        cr_expect_null(tcache_lookup(&tc, PAGE + 4 + k * 4, PAGE + 4 + k * 4, 0, 0));
    /* Free the dead batch: invalid blocks of another page, looked up until it fills. */
    struct mmu_code_page *other = mmu_code_page_get(&pages, 2 * PAGE);
    cr_assert_not_null(other);
    uint64_t gen = tc.free_gen;
    for (uint32_t i = 0; tc.free_gen == gen && i < 4096; i++) {
        struct tc_block *b = tc_block_new();
        cr_assert_not_null(b);
        b->pc = b->gpa = 2 * PAGE + i * 4;
        b->npages = 1;
        b->page[0] = other;
        b->page_gen[0] = atomic_load(&other->gen) - 1;   /* stale from the start */
        b->exec_count = 100;
        tcache_insert(&tc, b, 0);
        cr_expect_null(tcache_lookup(&tc, b->pc, b->gpa, 0, 0));
    }
    cr_assert_gt(tc.free_gen, gen, "the members were freed with a batch of dead blocks");
    cr_assert_eq(tc.count, 1, "only the head is left");
    /* Fill to the limit with hot blocks and go over it: a sweep. */
    for (uint32_t i = 0; tc.count < LIMIT; i++)
        add(3 * PAGE + i * 4, 100);
    uint64_t evicted = tc.evictions;
    add(4 * PAGE, 1);
    cr_expect_gt(tc.evictions, evicted, "the sweep freed the invalid head");
}
