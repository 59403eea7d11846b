/* walk_x86.c - x86 stage-1 page walks (Intel SDM vol. 3A ch. 4): 32-bit, PAE,
 * 4-level and 5-level. Every table read goes through stage 2 (mmu_phys_read);
 * accessed and dirty bits are set with a compare-and-swap so concurrent vCPUs
 * and the guest's own updates are not lost. A present entry with a reserved bit
 * set (address bits at or above MAXPHYADDR, the reserved fields of 1-GiB, 2-MiB
 * and 4-MiB entries and of PAE PDPTEs, PS where no page can be, XD without
 * EFER.NXE) is a #PF with P and RSVD (SDM 4.7). */
#include "mmu/walk_x86.h"

#include "core/x86_state.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define ADDR_MASK_64 0x000ffffffffff000ull
#define ADDR_MASK_32 0xfffff000ull
#define PSE_4M_MASK 0xffc00000ull
#define CR3_PAE_MASK 0xffffffe0ull
#define PDPTE_1G_RSVD 0x3fffe000ull     /* bits 29:13 of a PDPTE mapping 1 GiB */
#define PDE_2M_RSVD 0x1fe000ull         /* bits 20:13 of a PDE mapping 2 MiB */
#define PAE_PDPTE_RSVD 0x1e6ull         /* bits 2:1 and 8:5 of a PAE PDPTE */
#define PDE_4M_RSVD (1ull << 21)        /* bit 21 of a 32-bit PDE mapping 4 MiB */
#define PSE36_SHIFT 13                  /* PDE bits 20:13 are address bits 39:32 */
#define PSE36_MASK 0xffull
#define PAE_HIGH_BITS 0x7ff0000000000000ull   /* bits 62:52: reserved in PAE paging, */
                                              /* ignored in 4- and 5-level paging */
#define ADDR_BITS_MAX 52u
#define LEVEL_BITS 9
#define LEVEL_BITS_32 10

struct walk {
    const struct pmap *pm;
    uint32_t access;
    bool rw, us, nx;      /* accumulated over the levels */
    bool wide;            /* 8-byte entries */
    bool fetch_flag;      /* the #PF error code reports instruction fetches (I) */
    uint64_t rsvd;        /* reserved in every present 8-byte entry of this mode */
};

/* Read one entry; false: the table is not in RAM. */
static bool read_entry(const struct walk *w, uint64_t gpa, uint64_t *e)
{
    if (w->wide)
        return mmu_phys_read(w->pm, gpa, e, 8);
    uint32_t v;
    if (!mmu_phys_read(w->pm, gpa, &v, 4))
        return false;
    *e = v;
    return true;
}

/* Set bits in an entry atomically (A, and D on the leaf of a write). A failure
 * (read-only table memory) is ignored: the walk result stands. */
static void set_bits(const struct walk *w, uint64_t gpa, uint64_t e, uint64_t bits)
{
    if ((e & bits) == bits || (w->access & MMU_NO_UPDATE))
        return;
    if (w->wide) {
        uint64_t expected = e;
        for (int tries = 0; tries < 4 && (expected & PTE_P); tries++) {
            uint64_t desired = expected | bits;
            if (desired == expected || mmu_phys_cas64(w->pm, gpa, &expected, desired))
                return;
        }
        return;
    }
    /* 4-byte entries: CAS the aligned 8 bytes holding them. */
    uint64_t base = gpa & ~7ull;
    unsigned shift = (unsigned)(gpa & 4) * 8;
    uint64_t expected;
    if (!mmu_phys_read(w->pm, base, &expected, 8))
        return;
    for (int tries = 0; tries < 4; tries++) {
        uint64_t desired = expected | (bits << shift);
        if (desired == expected || mmu_phys_cas64(w->pm, base, &expected, desired))
            return;
    }
}

static void accumulate(struct walk *w, uint64_t e)
{
    w->rw = w->rw && (e & PTE_RW);
    w->us = w->us && (e & PTE_US);
    w->nx = w->nx || (w->wide && (e & PTE_NX));
}

static enum x86_walk_status page_fault(const struct walk *w, struct x86_walk_out *out, bool present, bool rsvd)
{
    uint32_t access = w->access;
    out->pf_error = (present ? X86_PF_P : 0) | ((access & MMU_WRITE) ? X86_PF_W : 0) |
                    ((access & MMU_USER) ? X86_PF_U : 0) | (rsvd ? X86_PF_RSVD | X86_PF_P : 0) |
                    ((access & MMU_FETCH) && w->fetch_flag ? X86_PF_I : 0);
    return X86_WALK_PF;
}

static enum x86_walk_status reserved(const struct walk *w, struct x86_walk_out *out)
{
    return page_fault(w, out, true, true);
}

/* Bits at or above MAXPHYADDR up to bit 51 (the address field's top). */
static uint64_t above_maxphyaddr(unsigned maxphyaddr)
{
    if (maxphyaddr >= ADDR_BITS_MAX)
        return 0;
    return ((1ull << ADDR_BITS_MAX) - 1) & ~((1ull << maxphyaddr) - 1);
}

/* Permission check of the combined rights; fills out->perms for the TLB. */
static enum x86_walk_status check(const struct walk *w, const struct x86_walk_regs *r, uint64_t leaf,
                                  struct x86_walk_out *out)
{
    bool user = (w->access & MMU_USER) != 0;
    bool can_write = user ? (w->rw && w->us) : (w->rw || !(r->cr0 & X86_CR0_WP));
    bool can_read = !user || w->us;
    bool can_fetch = can_read && !w->nx && !(!user && w->us && (r->cr4 & X86_CR4_SMEP));
    if ((w->access & MMU_READ) && !can_read)
        return page_fault(w, out, true, false);
    if ((w->access & MMU_WRITE) && !(can_write && can_read))
        return page_fault(w, out, true, false);
    if ((w->access & MMU_FETCH) && !can_fetch)
        return page_fault(w, out, true, false);
    out->perms = (can_read ? MMU_READ : 0) | (can_fetch ? MMU_FETCH : 0);
    /* Write permission is cached only once the dirty bit is set. */
    if (can_write && can_read && ((leaf & PTE_D) || (w->access & MMU_WRITE)))
        out->perms |= MMU_WRITE;
    return X86_WALK_OK;
}

/* One level: read, check presence, accumulate rights, set A. */
static enum x86_walk_status level(struct walk *w, uint64_t gpa, uint64_t *e, struct x86_walk_out *out)
{
    if (!read_entry(w, gpa, e)) {
        out->fault_gpa = gpa;
        return X86_WALK_STAGE2;
    }
    if (!(*e & PTE_P))
        return page_fault(w, out, false, false);
    if (*e & w->rsvd)
        return reserved(w, out);
    accumulate(w, *e);
    return X86_WALK_OK;
}

static enum x86_walk_status finish(struct walk *w, const struct x86_walk_regs *r, uint64_t gpa_entry, uint64_t e,
                                   uint64_t page_base, uint64_t page_mask, uint64_t va, struct x86_walk_out *out)
{
    enum x86_walk_status s = check(w, r, e, out);
    if (s != X86_WALK_OK)
        return s;
    set_bits(w, gpa_entry, e, PTE_A | ((w->access & MMU_WRITE) ? PTE_D : 0));
    out->gpa = page_base | (va & page_mask);
    return X86_WALK_OK;
}

/* PS in an entry at level lvl (3: PDPTE, 2: PDE): reserved where no page of that
 * size exists, and the fields between PAT and the address reserved when it maps. */
static bool large_reserved(const struct x86_walk_regs *r, unsigned lvl, uint64_t e)
{
    if (lvl > 3 || (lvl == 3 && !r->page1gb))
        return true;
    return (e & (lvl == 3 ? PDPTE_1G_RSVD : PDE_2M_RSVD)) != 0;
}

static enum x86_walk_status walk_wide(struct walk *w, const struct x86_walk_regs *r, uint64_t va, uint64_t table,
                                      unsigned levels, struct x86_walk_out *out)
{
    for (unsigned lvl = levels; lvl >= 1; lvl--) {
        unsigned shift = 12 + LEVEL_BITS * (lvl - 1);
        uint64_t gpa = table + ((va >> shift) & 0x1ff) * 8;
        uint64_t e;
        enum x86_walk_status s = level(w, gpa, &e, out);
        if (s != X86_WALK_OK)
            return s;
        bool large = lvl > 1 && (e & PTE_PS);
        if (large && large_reserved(r, lvl, e))
            return reserved(w, out);
        if (lvl == 1 || large) {
            uint64_t mask = (1ull << shift) - 1;
            return finish(w, r, gpa, e, e & ADDR_MASK_64 & ~mask, mask, va, out);
        }
        set_bits(w, gpa, e, PTE_A);
        table = e & ADDR_MASK_64;
    }
    return page_fault(w, out, false, false);
}

bool x86_pae_pdpte_reserved(uint64_t pdpte, unsigned maxphyaddr)
{
    uint64_t high = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;   /* bits 63:MAXPHYADDR, XD too */
    return (pdpte & PTE_P) && (pdpte & (PAE_PDPTE_RSVD | high));
}

static enum x86_walk_status walk_pae(struct walk *w, const struct x86_walk_regs *r, uint64_t va,
                                     struct x86_walk_out *out)
{
    uint64_t gpa = (r->cr3 & CR3_PAE_MASK) + ((va >> 30) & 3) * 8;
    uint64_t pdpte;
    if (!read_entry(w, gpa, &pdpte)) {
        out->fault_gpa = gpa;
        return X86_WALK_STAGE2;
    }
    if (!(pdpte & PTE_P))
        return page_fault(w, out, false, false);
    /* PDPTEs carry no rights in PAE mode. The processor checks their reserved bits
     * when it loads them (MOV to CR3: #GP, sys_cr.c); read at walk time here, a
     * later change faults here. */
    if (x86_pae_pdpte_reserved(pdpte, r->maxphyaddr))
        return reserved(w, out);
    return walk_wide(w, r, va, pdpte & ADDR_MASK_64, 2, out);
}

static enum x86_walk_status walk_32(struct walk *w, const struct x86_walk_regs *r, uint64_t va,
                                    struct x86_walk_out *out)
{
    uint64_t gpa = (r->cr3 & ADDR_MASK_32) + ((va >> 22) & 0x3ff) * 4;
    uint64_t pde, pte;
    enum x86_walk_status s = level(w, gpa, &pde, out);
    if (s != X86_WALK_OK)
        return s;
    if ((pde & PTE_PS) && (r->cr4 & X86_CR4_PSE)) {
        /* PSE-36: PDE bits 20:13 are address bits 39:32; bit 21 and address bits
         * at or above MAXPHYADDR are reserved. */
        uint64_t base = (pde & PSE_4M_MASK) | (((pde >> PSE36_SHIFT) & PSE36_MASK) << 32);
        if ((pde & PDE_4M_RSVD) || (base >> r->maxphyaddr))
            return reserved(w, out);
        return finish(w, r, gpa, pde, base, (1ull << 22) - 1, va, out);
    }
    set_bits(w, gpa, pde, PTE_A);
    uint64_t pte_gpa = (pde & ADDR_MASK_32) + ((va >> 12) & 0x3ff) * 4;
    s = level(w, pte_gpa, &pte, out);
    if (s != X86_WALK_OK)
        return s;
    return finish(w, r, pte_gpa, pte, pte & ADDR_MASK_32, MMU_PAGE_SIZE - 1, va, out);
}

enum x86_walk_status x86_walk_s1(const struct pmap *pm, const struct x86_walk_regs *r, uint64_t va, uint32_t access,
                                 struct x86_walk_out *out)
{
    struct walk w = { .pm = pm, .access = access, .rw = true, .us = true, .nx = false };
    bool nxe = (r->efer & X86_EFER_NXE) != 0;
    out->perms = 0;
    out->pf_error = 0;
    out->fault_gpa = 0;
    w.fetch_flag = (r->cr4 & X86_CR4_SMEP) || ((r->cr4 & X86_CR4_PAE) && nxe);
    if (!(r->cr4 & X86_CR4_PAE)) {
        w.wide = false;
        return walk_32(&w, r, va & 0xffffffffull, out);
    }
    w.wide = true;
    w.rsvd = above_maxphyaddr(r->maxphyaddr) | (nxe ? 0 : PTE_NX);
    if (!(r->efer & X86_EFER_LMA)) {
        w.rsvd |= PAE_HIGH_BITS;
        return walk_pae(&w, r, va & 0xffffffffull, out);
    }
    unsigned levels = (r->cr4 & X86_CR4_LA57) ? 5 : 4;
    return walk_wide(&w, r, va, r->cr3 & ADDR_MASK_64, levels, out);
}
