/* Unit tests of the guest-physical map: Apple's rules for map/unmap/protect,
 * splits on partial change, and lookups. */
#include <criterion/criterion.h>

#include "mmu/pmap.h"

#define PAGE 0x1000ull
#define LIMIT (1ull << 39)

static struct pmap pm;
static uint8_t backing[16 * PAGE] __attribute__((aligned(4096)));

static void setup(void) { pmap_init(&pm, LIMIT, PAGE); }
static void teardown(void) { pmap_destroy(&pm); }

TestSuite(pmap, .init = setup, .fini = teardown);

Test(pmap, map_rejects_misaligned_empty_and_out_of_range)
{
    cr_expect_eq(pmap_map(&pm, backing, 0x800, PAGE, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, backing, 0, PAGE + 1, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, backing, 0, 0, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, backing, LIMIT - PAGE, 2 * PAGE, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, backing, UINT64_MAX - PAGE + 1, 2 * PAGE, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, backing, 0, PAGE, 1u << 3), PMAP_EINVAL);
    cr_expect_eq(pmap_map(&pm, NULL, 0, PAGE, PMAP_READ), PMAP_EINVAL);
    cr_expect_eq(pm.count, 0);
}

Test(pmap, overlapping_maps_are_refused)
{
    cr_assert_eq(pmap_map(&pm, backing, 4 * PAGE, 4 * PAGE, PMAP_PERM_ALL), PMAP_OK);
    cr_expect_eq(pmap_map(&pm, backing, 7 * PAGE, 2 * PAGE, PMAP_READ), PMAP_EOVERLAP);
    cr_expect_eq(pmap_map(&pm, backing, 3 * PAGE, 2 * PAGE, PMAP_READ), PMAP_EOVERLAP);
    cr_expect_eq(pmap_map(&pm, backing, 0, 16 * PAGE, PMAP_READ), PMAP_EOVERLAP);
    cr_expect_eq(pmap_map(&pm, backing, 8 * PAGE, PAGE, PMAP_READ), PMAP_OK, "adjacent is fine");
    cr_expect_eq(pmap_map(&pm, backing, 3 * PAGE, PAGE, PMAP_READ), PMAP_OK, "adjacent below too");
    cr_expect_eq(pm.count, 3);
}

Test(pmap, unmapping_the_middle_splits_the_range)
{
    cr_assert_eq(pmap_map(&pm, backing, 0, 8 * PAGE, PMAP_READ | PMAP_WRITE), PMAP_OK);
    cr_assert_eq(pmap_unmap(&pm, 2 * PAGE, 3 * PAGE), PMAP_OK);
    cr_assert_eq(pm.count, 2);
    cr_expect_eq(pm.ranges[0].gpa, 0);
    cr_expect_eq(pm.ranges[0].size, 2 * PAGE);
    cr_expect_eq(pm.ranges[1].gpa, 5 * PAGE);
    cr_expect_eq(pm.ranges[1].size, 3 * PAGE);
    cr_expect_eq(pm.ranges[1].host, backing + 5 * PAGE, "the tail keeps its host offset");
    cr_expect_null(pmap_lookup(&pm, 3 * PAGE));
    cr_expect_eq(pmap_host_ptr(&pm, 6 * PAGE + 8, 8, PMAP_READ), backing + 6 * PAGE + 8);
}

Test(pmap, unmap_of_unmapped_pages_changes_nothing)
{
    cr_assert_eq(pmap_map(&pm, backing, 0, 2 * PAGE, PMAP_READ), PMAP_OK);
    cr_assert_eq(pmap_map(&pm, backing, 4 * PAGE, 2 * PAGE, PMAP_READ), PMAP_OK);
    uint64_t gen = pm.generation;
    cr_expect_eq(pmap_unmap(&pm, PAGE, 4 * PAGE), PMAP_ENOTMAPPED, "the hole in the middle");
    cr_expect_eq(pm.count, 2);
    cr_expect_eq(pm.generation, gen);
    cr_expect_eq(pmap_unmap(&pm, 8 * PAGE, PAGE), PMAP_ENOTMAPPED);
}

Test(pmap, unmap_across_adjacent_ranges)
{
    cr_assert_eq(pmap_map(&pm, backing, 0, 2 * PAGE, PMAP_READ), PMAP_OK);
    cr_assert_eq(pmap_map(&pm, backing + 2 * PAGE, 2 * PAGE, 2 * PAGE, PMAP_WRITE | PMAP_READ), PMAP_OK);
    cr_assert_eq(pmap_unmap(&pm, PAGE, 2 * PAGE), PMAP_OK);
    cr_assert_eq(pm.count, 2);
    cr_expect_eq(pm.ranges[0].size, PAGE);
    cr_expect_eq(pm.ranges[1].gpa, 3 * PAGE);
    cr_expect_eq(pm.ranges[1].perms, PMAP_WRITE | PMAP_READ);
}

Test(pmap, protect_keeps_permissions_per_page_range)
{
    cr_assert_eq(pmap_map(&pm, backing, 0, 8 * PAGE, PMAP_PERM_ALL), PMAP_OK);
    cr_assert_eq(pmap_protect(&pm, 3 * PAGE, PAGE, PMAP_READ), PMAP_OK);
    cr_assert_eq(pm.count, 3);
    cr_expect_eq(pmap_lookup(&pm, 2 * PAGE)->perms, PMAP_PERM_ALL);
    cr_expect_eq(pmap_lookup(&pm, 3 * PAGE + 100)->perms, PMAP_READ);
    cr_expect_eq(pmap_lookup(&pm, 4 * PAGE)->perms, PMAP_PERM_ALL);
    cr_expect_null(pmap_host_ptr(&pm, 3 * PAGE, 4, PMAP_WRITE), "write refused on the read-only page");
    cr_expect_not_null(pmap_host_ptr(&pm, 3 * PAGE, 4, PMAP_READ));
    cr_expect_null(pmap_host_ptr(&pm, 3 * PAGE - 2, 4, PMAP_READ), "an access across ranges is not one pointer");
    cr_expect_eq(pmap_protect(&pm, 7 * PAGE, 2 * PAGE, PMAP_READ), PMAP_ENOTMAPPED);
    cr_expect_eq(pmap_protect(&pm, 0, PAGE, 0x10), PMAP_EINVAL);
}

Test(pmap, many_ranges_stay_sorted)
{
    for (int i = 15; i >= 0; i -= 2)
        cr_assert_eq(pmap_map(&pm, backing, (uint64_t)i * PAGE, PAGE, PMAP_READ), PMAP_OK);
    for (size_t i = 1; i < pm.count; i++)
        cr_expect_lt(pm.ranges[i - 1].gpa, pm.ranges[i].gpa);
    for (int i = 0; i < 16; i++) {
        const struct pmap_range *r = pmap_lookup(&pm, (uint64_t)i * PAGE);
        cr_expect_eq(r != NULL, i % 2 == 1, "page %d", i);
    }
}
