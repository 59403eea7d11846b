/* tlb.c - flushing the per-vCPU TLB (all, by virtual page, by ASID, by guest-physical
 * page). Policy: fixed size, direct-mapped, whole flush on CR3/TTBR changes that the
 * frontend reports and on every stage-2 change; no resizing. */
#include <string.h>

#include "mmu/mmu.h"

static void entry_clear(struct mmu_entry *e)
{
    e->vpage = ~0ull;
    e->gpage = 0;
    e->host = NULL;
    e->perms = 0;
    e->asid = 0;
}

void mmu_tlb_flush_all(struct mmu_tlb *t)
{
    /* vpage = ~0 never matches a page-aligned address; the rest is zero. */
    memset(t->e, 0, sizeof(t->e));
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            t->e[r][i].vpage = ~0ull;
}

void mmu_tlb_flush_va(struct mmu_tlb *t, uint64_t va)
{
    unsigned i = (unsigned)((va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1));
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        if (t->e[r][i].vpage == (va & MMU_PAGE_MASK))
            entry_clear(&t->e[r][i]);
}

void mmu_tlb_flush_asid(struct mmu_tlb *t, uint32_t asid)
{
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            if (t->e[r][i].asid == asid)
                entry_clear(&t->e[r][i]);
}

void mmu_tlb_flush_gpage(struct mmu_tlb *t, uint64_t gpage)
{
    gpage &= MMU_PAGE_MASK;
    for (unsigned r = 0; r < MMU_TLB_REGIMES; r++)
        for (unsigned i = 0; i < MMU_TLB_ENTRIES; i++)
            if (t->e[r][i].vpage != ~0ull && t->e[r][i].gpage == gpage)
                entry_clear(&t->e[r][i]);
}
