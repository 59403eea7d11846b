/* tlb.c - flushing the per-vCPU TLB (all, by virtual page, by ASID, by guest-physical
 * page). Policy: fixed size, direct-mapped, no resizing; a whole flush (CR3/TTBR
 * changes the frontend reports, every stage-2 change) only changes the tag salt. */
#include <string.h>

#include "mmu/mmu.h"

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
    t->flush_gen++;
}

void mmu_tlb_flush_all(struct mmu_tlb *t)
{
    if (t->salt < MMU_TLB_SALT_MAX) {
        t->salt++;   /* every existing tag stops matching */
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
    unsigned i = (unsigned)((va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1));
    t->flush_gen++;
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        if (t->e[r][i].vpage == mmu_tlb_tag(t, va))
            entry_clear(&t->e[r][i]);
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
