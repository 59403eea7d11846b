/* walk_x86.c - x86 stage-1 page walks (Intel SDM vol. 3A ch. 4): 32-bit, PAE,
 * 4-level and 5-level. Every table read goes through stage 2 (mmu_phys_read);
 * accessed and dirty bits are set with a compare-and-swap so concurrent vCPUs
 * and the guest's own updates are not lost. */
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
#define LEVEL_BITS 9
#define LEVEL_BITS_32 10

struct walk {
    const struct pmap *pm;
    uint32_t access;
    bool rw, us, nx;      /* accumulated over the levels */
    bool wide;            /* 8-byte entries */
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

static enum x86_walk_status page_fault(struct x86_walk_out *out, uint32_t access, bool present, bool rsvd)
{
    out->pf_error = (present ? X86_PF_P : 0) | ((access & MMU_WRITE) ? X86_PF_W : 0) |
                    ((access & MMU_USER) ? X86_PF_U : 0) | (rsvd ? X86_PF_RSVD | X86_PF_P : 0) |
                    ((access & MMU_FETCH) ? X86_PF_I : 0);
    return X86_WALK_PF;
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
        return page_fault(out, w->access, true, false);
    if ((w->access & MMU_WRITE) && !(can_write && can_read))
        return page_fault(out, w->access, true, false);
    if ((w->access & MMU_FETCH) && !can_fetch)
        return page_fault(out, w->access, true, false);
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
        return page_fault(out, w->access, false, false);
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

static enum x86_walk_status walk_wide(struct walk *w, const struct x86_walk_regs *r, uint64_t va, uint64_t table,
                                      unsigned levels, struct x86_walk_out *out)
{
    bool nxe = (r->efer & X86_EFER_NXE) != 0;
    for (unsigned lvl = levels; lvl >= 1; lvl--) {
        unsigned shift = 12 + LEVEL_BITS * (lvl - 1);
        uint64_t gpa = table + ((va >> shift) & 0x1ff) * 8;
        uint64_t e;
        enum x86_walk_status s = level(w, gpa, &e, out);
        if (s != X86_WALK_OK)
            return s;
        if ((e & PTE_NX) && !nxe)
            return page_fault(out, w->access, true, true);
        bool large = lvl > 1 && (e & PTE_PS);
        if (large && lvl > 3)
            return page_fault(out, w->access, true, true);
        if (lvl == 1 || large) {
            uint64_t mask = (1ull << shift) - 1;
            return finish(w, r, gpa, e, e & ADDR_MASK_64 & ~mask, mask, va, out);
        }
        set_bits(w, gpa, e, PTE_A);
        table = e & ADDR_MASK_64;
    }
    return page_fault(out, w->access, false, false);
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
        return page_fault(out, w->access, false, false);
    /* PDPTEs carry no rights in PAE mode. */
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
    if ((pde & PTE_PS) && (r->cr4 & X86_CR4_PSE))
        return finish(w, r, gpa, pde, pde & PSE_4M_MASK, (1ull << 22) - 1, va, out);
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
    out->perms = 0;
    out->pf_error = 0;
    out->fault_gpa = 0;
    if (!(r->cr4 & X86_CR4_PAE)) {
        w.wide = false;
        return walk_32(&w, r, va & 0xffffffffull, out);
    }
    w.wide = true;
    if (!(r->efer & X86_EFER_LMA))
        return walk_pae(&w, r, va & 0xffffffffull, out);
    unsigned levels = (r->cr4 & X86_CR4_LA57) ? 5 : 4;
    return walk_wide(&w, r, va, r->cr3 & ADDR_MASK_64, levels, out);
}
