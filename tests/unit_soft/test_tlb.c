/* The TLB on its own: lookups by regime and permission, every flush kind, and the
 * salted tags that make a full flush O(1) surviving the salt's wrap-around. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "mmu/mmu.h"

static struct mmu_tlb *t;
static uint8_t page[4096] __attribute__((aligned(4096)));
static void setup(void)
{
    t = calloc(1, sizeof(*t));
    mmu_tlb_init(t);
}
static void teardown(void) { free(t); }
TestSuite(tlb, .init = setup, .fini = teardown);

static void put(unsigned regime, uint64_t va, uint64_t gpa, uint32_t perms, uint32_t asid)
{
    struct mmu_entry *e = &t->e[regime][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    *e = (struct mmu_entry){ mmu_tlb_tag(t, va), gpa & MMU_PAGE_MASK, page, perms, asid };
}

Test(tlb, a_fresh_tlb_misses_everything)
{
    cr_expect_null(mmu_tlb_lookup(t, 0, 0, MMU_READ));
    cr_expect_null(mmu_tlb_lookup(t, 1, 0x1000, MMU_READ));
}

Test(tlb, lookup_checks_page_regime_and_permissions)
{
    put(0, 0x5000, 0x9000, MMU_READ | MMU_FETCH, MMU_ASID_GLOBAL);
    cr_expect_not_null(mmu_tlb_lookup(t, 0, 0x5abc, MMU_READ));
    cr_expect_not_null(mmu_tlb_lookup(t, 0, 0x5000, MMU_FETCH));
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x5000, MMU_WRITE));
    cr_expect_null(mmu_tlb_lookup(t, 1, 0x5000, MMU_READ), "the user regime has its own entries");
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x5000 + MMU_TLB_ENTRIES * MMU_PAGE_SIZE, MMU_READ), "aliasing slot");
}

Test(tlb, flush_by_va_asid_and_gpage)
{
    put(0, 0x5000, 0x9000, MMU_READ, 7);
    put(1, 0x6000, 0x9000, MMU_READ, 8);
    put(0, 0x7000, 0xa000, MMU_READ, 8);
    mmu_tlb_flush_va(t, 0x5123);
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x5000, MMU_READ));
    cr_expect_not_null(mmu_tlb_lookup(t, 1, 0x6000, MMU_READ));
    mmu_tlb_flush_gpage(t, 0x9000);
    cr_expect_null(mmu_tlb_lookup(t, 1, 0x6000, MMU_READ));
    cr_expect_not_null(mmu_tlb_lookup(t, 0, 0x7000, MMU_READ));
    mmu_tlb_flush_asid(t, 8);
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x7000, MMU_READ));
}

Test(tlb, full_flushes_survive_the_salt_wrapping)
{
    uint64_t gen = t->flush_gen;
    for (unsigned i = 0; i < 3 * MMU_TLB_SALT_MAX + 5; i++) {
        put(0, 0x5000, 0x9000, MMU_READ, MMU_ASID_GLOBAL);
        cr_assert_not_null(mmu_tlb_lookup(t, 0, 0x5000, MMU_READ));
        mmu_tlb_flush_all(t);
        cr_assert_null(mmu_tlb_lookup(t, 0, 0x5000, MMU_READ), "flush %u left the entry", i);
        cr_assert_leq(t->salt, MMU_TLB_SALT_MAX);
    }
    cr_expect_gt(t->flush_gen, gen);
    /* An entry filled under an old salt never matches again, even after a wrap. */
    put(0, 0x8000, 0x9000, MMU_READ, MMU_ASID_GLOBAL);
    for (unsigned i = 0; i < MMU_TLB_SALT_MAX + 1; i++)
        mmu_tlb_flush_all(t);
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x8000, MMU_READ));
}

Test(tlb, a_range_flush_drops_its_pages_only_in_one_generation)
{
    put(0, 0x10000, 0x9000, MMU_READ, 7);
    put(1, 0x1f000, 0x9000, MMU_READ, 7);
    put(0, 0x20000, 0xa000, MMU_READ, 7);
    put(0, 0xf000, 0xa000, MMU_READ, 7);
    mmu_tlb_note_fetchable(t, 0x1f000);   /* code was found through one of them */
    uint64_t gen = t->flush_gen;
    mmu_tlb_flush_range(t, 0x10000, 0x10000);
    cr_expect_eq(t->flush_gen, gen + 1, "one generation for the 16 pages");
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x10000, MMU_READ));
    cr_expect_null(mmu_tlb_lookup(t, 1, 0x1f000, MMU_READ));
    cr_expect_not_null(mmu_tlb_lookup(t, 0, 0x20000, MMU_READ), "past the range");
    cr_expect_not_null(mmu_tlb_lookup(t, 0, 0xf000, MMU_READ), "before the range");
}

/* Only flushes that may touch a page code was fetched through move flush_gen (and so
 * make chain cells and block links re-check): unmapping data leaves them. A whole
 * flush forgets which pages were fetchable. */
Test(tlb, flushing_pages_never_filled_for_fetching_keeps_the_generation)
{
    put(0, 0x40000, 0x9000, MMU_READ | MMU_WRITE, 7);
    put(0, 0x50000, 0xa000, MMU_READ | MMU_FETCH, 7);
    mmu_tlb_note_fetchable(t, 0x50000);
    uint64_t gen = t->flush_gen;
    mmu_tlb_flush_va(t, 0x40000);
    cr_expect_eq(t->flush_gen, gen, "a data page");
    cr_expect_null(mmu_tlb_lookup(t, 0, 0x40000, MMU_READ), "its entry is gone all the same");
    mmu_tlb_flush_va(t, 0x50abc);
    cr_expect_eq(t->flush_gen, gen + 1, "a page code was fetched through");
    mmu_tlb_flush_range(t, 0x100000, 1024 * MMU_PAGE_SIZE);
    cr_expect_eq(t->flush_gen, gen + 2, "a long range is not scanned");
    mmu_tlb_flush_all(t);
    gen = t->flush_gen;
    mmu_tlb_flush_va(t, 0x50000);
    cr_expect_eq(t->flush_gen, gen, "the whole flush forgot the fetchable pages");
}
