/* sys_msr.c - RDMSR/WRMSR on the soft CPU. As under VMX with the Intel API, an
 * access exits to the client unless the client made that MSR native
 * (hv_vcpu_enable_native_msr / hv_vcpu_set_msr_access); native MSRs live in
 * struct x86_state and are emulated here with their side effects (EFER.LMA is
 * read-only, FS/GS bases are the segment bases). */
#include <stddef.h>

#include "frontends/x86_64/x86_sys.h"

enum {
    MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
    MSR_SYSENTER_EIP = 0x176, MSR_MISC_ENABLE = 0x1a0, MSR_DEBUGCTL = 0x1d9, MSR_PAT = 0x277,
    MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
    MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101,
    MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103,
};
#define EFER_WRITABLE (X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE)

static const struct {
    uint32_t index;
    uint32_t offset;
} msr_fields[] = {
    { MSR_TSC, offsetof(struct x86_state, msr.tsc) },
    { MSR_APIC_BASE, offsetof(struct x86_state, msr.apic_base) },
    { MSR_SYSENTER_CS, offsetof(struct x86_state, msr.sysenter_cs) },
    { MSR_SYSENTER_ESP, offsetof(struct x86_state, msr.sysenter_esp) },
    { MSR_SYSENTER_EIP, offsetof(struct x86_state, msr.sysenter_eip) },
    { MSR_MISC_ENABLE, offsetof(struct x86_state, msr.misc_enable) },
    { MSR_DEBUGCTL, offsetof(struct x86_state, msr.debugctl) },
    { MSR_PAT, offsetof(struct x86_state, msr.pat) },
    { MSR_EFER, offsetof(struct x86_state, msr.efer) },
    { MSR_STAR, offsetof(struct x86_state, msr.star) },
    { MSR_LSTAR, offsetof(struct x86_state, msr.lstar) },
    { MSR_CSTAR, offsetof(struct x86_state, msr.cstar) },
    { MSR_FMASK, offsetof(struct x86_state, msr.sfmask) },
    { MSR_FS_BASE, offsetof(struct x86_state, seg[X86_FS].base) },
    { MSR_GS_BASE, offsetof(struct x86_state, seg[X86_GS].base) },
    { MSR_KERNEL_GS_BASE, offsetof(struct x86_state, msr.kernel_gs_base) },
    { MSR_TSC_AUX, offsetof(struct x86_state, msr.tsc_aux) },
};

static uint64_t *field_of(struct x86_state *st, uint32_t msr)
{
    for (size_t i = 0; i < sizeof(msr_fields) / sizeof(msr_fields[0]); i++)
        if (msr_fields[i].index == msr)
            return (uint64_t *)((uint8_t *)st + msr_fields[i].offset);
    return NULL;
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
    *value = msr == MSR_TSC ? st->msr.tsc + cpu->icount : *f;
    return 0;
}

static bool canonical(uint64_t v)
{
    return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

int x86_msr_write(struct soft_cpu *cpu, uint32_t msr, uint64_t value)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t *f = field_of(st, msr);
    if (!native(cpu, msr, true) || !f)
        return 1;
    switch (msr) {
    case MSR_EFER:
        if (value & ~(EFER_WRITABLE | X86_EFER_LMA))
            return -1;
        if ((st->cr0 & X86_CR0_PG) && ((value ^ st->msr.efer) & X86_EFER_LME))
            return -1;
        st->msr.efer = (value & EFER_WRITABLE) | (st->msr.efer & X86_EFER_LMA);
        mmu_tlb_flush_all(&cpu->tlb);
        return 0;
    case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE: case MSR_LSTAR: case MSR_CSTAR:
        if (!canonical(value))
            return -1;
        break;
    case MSR_TSC:
        value -= cpu->icount;
        break;
    default:
        break;
    }
    *f = value;
    return 0;
}
