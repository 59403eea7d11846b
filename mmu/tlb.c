/* tlb.c - flushing the per-vCPU TLB (all, by virtual page, by ASID, by guest-physical
 * page). Policy: fixed size, direct-mapped, no resizing; a whole flush (CR3/TTBR
 * changes the frontend reports, every stage-2 change) only changes the tag salt. */
#include <string.h>

#include "mmu/mmu.h"

/* Ranges longer than this bump flush_gen without looking at the filter. */
#define MMU_TLB_FETCHABLE_SCAN_PAGES 64u

static void entry_clear(struct mmu_entry *e)
{
    e->vpage = ~0ull;
    e->gpage = 0;
    e->host = NULL;
    e->perms = 0;
    e->asid = 0;
    mmu_entry_seal(e);
}

void mmu_tlb_init(struct mmu_tlb *t)
{
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            entry_clear(&t->e[r][i]);
    t->salt = 0;
    memset(t->fetchable, 0, sizeof(t->fetchable));
    t->flush_gen++;
}

void mmu_tlb_flush_all(struct mmu_tlb *t)
{
    if (t->salt < MMU_TLB_SALT_MAX) {
        t->salt++;   /* every existing tag stops matching */
        memset(t->fetchable, 0, sizeof(t->fetchable));
        t->flush_gen++;
    } else {
        mmu_tlb_init(t);
    }
}

/* Whether entry e is live under the current salt. */
static bool live(const struct mmu_tlb *t, const struct mmu_entry *e)
{
    return e->vpage != ~0ull && (e->vpage & ~MMU_PAGE_MASK) == t->salt;
}

void mmu_tlb_flush_va(struct mmu_tlb *t, uint64_t va)
{
    mmu_tlb_flush_range(t, va & MMU_PAGE_MASK, MMU_PAGE_SIZE);
}

void mmu_tlb_flush_range(struct mmu_tlb *t, uint64_t va, uint64_t len)
{
    /* One generation for the whole range: links re-check their page (soft/run.c). A
     * range no code was fetched through since the last whole flush keeps it: a kernel
     * unmapping data pages no longer makes every compiled block's links stale. Long
     * ranges move it without consulting the filter. */
    bool bump = len > MMU_TLB_FETCHABLE_SCAN_PAGES * MMU_PAGE_SIZE;
    uint64_t end = va + len;
    for (uint64_t a = va & MMU_PAGE_MASK; a < end && a >= (va & MMU_PAGE_MASK); a += MMU_PAGE_SIZE) {
        bump = bump || mmu_tlb_maybe_fetchable(t, a);
        unsigned i = (unsigned)((a >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1));
        for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
            if (t->e[r][i].vpage == mmu_tlb_tag(t, a))
                entry_clear(&t->e[r][i]);
    }
    if (bump)
        t->flush_gen++;
}

void mmu_tlb_flush_asid(struct mmu_tlb *t, uint32_t asid)
{
    t->flush_gen++;
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            if (live(t, &t->e[r][i]) && t->e[r][i].asid == asid)
                entry_clear(&t->e[r][i]);
}

void mmu_tlb_flush_gpage(struct mmu_tlb *t, uint64_t gpage)
{
    gpage &= MMU_PAGE_MASK;
    t->flush_gen++;
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            if (live(t, &t->e[r][i]) && t->e[r][i].gpage == gpage)
                entry_clear(&t->e[r][i]);
}
