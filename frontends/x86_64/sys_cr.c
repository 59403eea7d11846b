/* sys_cr.c - control registers (SDM vol. 3A 2.5): MOV to CR0/CR3/CR4/CR8 with
 * their reserved-bit and mode checks, long-mode activation through CR0.PG, the
 * PAE PDPTE load checks, CR4 bits that need a CPUID feature of the model
 * (core/x86_cpuid.h), TLB flushes, and the VMX view's CR exits (masked bits
 * differing from the read shadow, CR3/CR8 load and store exiting). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86_cpuid.h"
#include "frontends/x86_64/x86_sys.h"
#include "mmu/walk_x86.h"

#define CR0_RESERVED_HIGH 0xffffffff00000000ull
#define CR4_KNOWN                                                                                             \
    (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE |       \
     X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP | X86_CR4_LA57 |         \
     X86_CR4_VMXE | X86_CR4_FSGSBASE | X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
#define CR4_PAGING_BITS (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_SMEP | X86_CR4_LA57 | X86_CR4_PCIDE)
#define CR0_PAGING_BITS (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)
#define CR8_MASK 0xfull
#define CR4_PDPTE_RELOAD (X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE | X86_CR4_SMEP)
#define CR3_PAE_MASK 0xffffffe0ull
#define CR3_NO_FLUSH (1ull << 63)   /* with CR4.PCIDE: keep this PCID's translations */
#define CR3_PCID_MASK 0xfffull
#define PAE_PDPTES 4u

/* CR4 bits a processor without the CPUID feature refuses (#GP). */
static const struct { uint64_t bit; enum x86_feature feature; } cr4_needs[] = {
    { X86_CR4_OSXSAVE, X86_FEAT_XSAVE },
    { X86_CR4_PCIDE, X86_FEAT_PCID },
    { X86_CR4_FSGSBASE, X86_FEAT_FSGSBASE },
    { X86_CR4_SMEP, X86_FEAT_SMEP },
    { X86_CR4_SMAP, X86_FEAT_SMAP },
    { X86_CR4_UMIP, X86_FEAT_UMIP },
    { X86_CR4_LA57, X86_FEAT_LA57 },
};

/* Loading PAE PDPTEs from cr3 (MOV to CR3, or CR0/CR4 writes that enter or change
 * PAE paging outside long mode): a present one with reserved bits is #GP (SDM vol. 3A
 * 4.4.1). A table outside RAM is not checked here; the walk meets it. */
static bool pdptes_ok(struct soft_cpu *cpu, uint64_t cr3)
{
    for (unsigned i = 0; i < PAE_PDPTES; i++) {
        uint64_t e;
        if (mmu_stage2_read(cpu, (cr3 & CR3_PAE_MASK) + 8u * i, &e, 8) &&
            x86_pae_pdpte_reserved(e, x86_cpuid_maxphyaddr()))
            return false;
    }
    return true;
}

static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & X86_EFER_LMA);
}

static int cr0_write(struct soft_cpu *cpu, uint64_t v)
{
    struct x86_state *st = x86_st(cpu);
    if ((v & CR0_RESERVED_HIGH) || ((v & X86_CR0_PG) && !(v & X86_CR0_PE)) ||
        ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
        return -1;
    bool pg_on = (v & X86_CR0_PG) && !(st->cr0 & X86_CR0_PG);
    bool pg_off = !(v & X86_CR0_PG) && (st->cr0 & X86_CR0_PG);
    if (pg_on && (st->msr.efer & X86_EFER_LME)) {
        if (!(st->cr4 & X86_CR4_PAE))
            return -1;
        st->msr.efer |= X86_EFER_LMA;
        st->vmx.entry |= X86_VMX_ENTRY_IA32E;   /* as VMX stores it on the next exit */
    }
    if (pg_on && !(st->msr.efer & X86_EFER_LME) && (st->cr4 & X86_CR4_PAE) && !pdptes_ok(cpu, st->cr3))
        return -1;
    if (pg_off && (st->cr4 & X86_CR4_PCIDE))
        return -1;   /* paging off with PCIDE set */
    if (pg_off && (st->msr.efer & X86_EFER_LMA)) {
        if (x86_code_size_of(st) == X86_CODE64)
            return -1;
        st->msr.efer &= ~X86_EFER_LMA;
        st->vmx.entry &= ~(uint32_t)X86_VMX_ENTRY_IA32E;
    }
    if ((st->cr0 ^ v) & CR0_PAGING_BITS)
        mmu_tlb_flush_all(&cpu->tlb);
    st->cr0 = v | X86_CR0_ET;
    return 0;
}

static int cr4_write(struct soft_cpu *cpu, uint64_t v)
{
    struct x86_state *st = x86_st(cpu);
    if ((v & ~CR4_KNOWN) || ((st->msr.efer & X86_EFER_LMA) && !(v & X86_CR4_PAE)))
        return -1;
    if ((st->msr.efer & X86_EFER_LMA) && ((v ^ st->cr4) & X86_CR4_LA57))
        return -1;
    for (unsigned i = 0; i < sizeof(cr4_needs) / sizeof(cr4_needs[0]); i++)
        if ((v & cr4_needs[i].bit) && !x86_cpuid_has(cr4_needs[i].feature))
            return -1;
    if (((v ^ st->cr4) & CR4_PDPTE_RELOAD) && pae_paging(st->cr0, v, st->msr.efer) && !pdptes_ok(cpu, st->cr3))
        return -1;
    /* CR4.PCIDE 0 -> 1 only in IA-32e mode with CR3[11:0] = 0 (SDM vol. 3A 4.10.1). */
    if ((v & ~st->cr4 & X86_CR4_PCIDE) && (!(st->msr.efer & X86_EFER_LMA) || (st->cr3 & CR3_PCID_MASK)))
        return -1;
    if ((st->cr4 ^ v) & CR4_PAGING_BITS)
        mmu_tlb_flush_all(&cpu->tlb);
    st->cr4 = v;
    return 0;
}

/* In long mode bits 63:MAXPHYADDR are reserved (bit 63 is a no-flush hint with
 * CR4.PCIDE, never stored); with PAE paging the PDPTEs are loaded and checked. */
static int cr3_write(struct soft_cpu *cpu, uint64_t v)
{
    struct x86_state *st = x86_st(cpu);
    if (st->msr.efer & X86_EFER_LMA) {
        if ((st->cr4 & X86_CR4_PCIDE))
            v &= ~CR3_NO_FLUSH;
        if (v >> x86_cpuid_maxphyaddr())
            return -1;
    } else if (pae_paging(st->cr0, st->cr4, st->msr.efer) && !pdptes_ok(cpu, v)) {
        return -1;
    }
    st->cr3 = v;
    mmu_tlb_flush_all(&cpu->tlb);
    return 0;
}

int x86_cr_write(struct soft_cpu *cpu, unsigned cr, uint64_t value)
{
    struct x86_state *st = x86_st(cpu);
    switch (cr) {
    case 0:
        return cr0_write(cpu, value);
    case 2:
        st->cr2 = value;
        return 0;
    case 3:
        return cr3_write(cpu, value);
    case 4:
        return cr4_write(cpu, value);
    case 8:
        if (value & ~CR8_MASK)
            return -1;
        st->cr8 = value;
        return 0;
    default:
        return -1;
    }
}
