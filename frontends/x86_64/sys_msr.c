/* sys_msr.c - RDMSR/WRMSR on the soft CPU. As under VMX with the Intel API, an
 * access exits to the client unless the client made that MSR native
 * (hv_vcpu_enable_native_msr / hv_vcpu_set_msr_access); native MSRs live in
 * struct x86_state and are emulated here with their side effects (EFER.LMA is
 * read-only, FS/GS bases are the segment bases). */
#include <stddef.h>

#include "core/x86_msrs.h"
#include "core/x86_cpuid.h"
#include "frontends/x86_64/x86_sys.h"

#define EFER_WRITABLE (X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE)

static uint64_t *field_of(struct x86_state *st, uint32_t msr)
{
    const struct x86_msr_slot *slot = x86_msr_slot(msr);
    return slot ? x86_msr_ptr(st, slot) : NULL;
}

/* The client's policy for this MSR (read-only lookup of the personality's table). */
static bool native(const struct soft_cpu *cpu, uint32_t msr, bool write)
{
    const struct vcpu_x86_ext *x = &cpu->vcpu->ext.x86;
    for (uint32_t i = 0; i < x->msr_policy_count; i++)
        if (x->msr_policy[i].msr == msr)
            return x->msr_policy[i].native & (write ? X86_MSR_NATIVE_WRITE : X86_MSR_NATIVE_READ);
    return false;
}

int x86_msr_read(struct soft_cpu *cpu, uint32_t msr, uint64_t *value)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t *f = field_of(st, msr);
    if (!native(cpu, msr, false) || !f)
        return 1;
    *value = msr == X86_MSR_TSC ? st->msr.tsc + x86_tsc_base(cpu) : *f;
    return 0;
}

int x86_msr_write(struct soft_cpu *cpu, uint32_t msr, uint64_t value)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t *f = field_of(st, msr);
    if (!native(cpu, msr, true) || !f)
        return 1;
    switch (msr) {
    case X86_MSR_EFER:
        if (value & ~(EFER_WRITABLE | X86_EFER_LMA))
            return -1;
        if ((st->cr0 & X86_CR0_PG) && ((value ^ st->msr.efer) & X86_EFER_LME))
            return -1;
        st->msr.efer = (value & EFER_WRITABLE) | (st->msr.efer & X86_EFER_LMA);
        mmu_tlb_flush_all(&cpu->tlb);
        return 0;
    case X86_MSR_FS_BASE: case X86_MSR_GS_BASE: case X86_MSR_KERNEL_GS_BASE: case X86_MSR_LSTAR: case X86_MSR_CSTAR:
    case X86_MSR_SYSENTER_ESP: case X86_MSR_SYSENTER_EIP:
        if (!x86_canonical_load(value))
            return -1;
        break;
    case X86_MSR_TSC:
        value -= x86_tsc_base(cpu);
        break;
    default:
        break;
    }
    *f = value;
    return 0;
}
