/* The MSRs kept in struct x86_state (see x86_msrs.h): one table for every route. */
#include <stddef.h>

#include "core/x86_msrs.h"

#define SLOT(msr, member, grp) { msr, (uint16_t)offsetof(struct x86_state, member), grp }

const struct x86_msr_slot x86_msr_slots[] = {
    SLOT(X86_MSR_TSC, msr.tsc, SG_MSRS),
    SLOT(X86_MSR_APIC_BASE, msr.apic_base, SG_MSRS),
    SLOT(X86_MSR_SYSENTER_CS, msr.sysenter_cs, SG_MSRS),
    SLOT(X86_MSR_SYSENTER_ESP, msr.sysenter_esp, SG_MSRS),
    SLOT(X86_MSR_SYSENTER_EIP, msr.sysenter_eip, SG_MSRS),
    SLOT(X86_MSR_MISC_ENABLE, msr.misc_enable, SG_MSRS),
    SLOT(X86_MSR_DEBUGCTL, msr.debugctl, SG_MSRS),
    SLOT(X86_MSR_PAT, msr.pat, SG_MSRS),
    SLOT(X86_MSR_EFER, msr.efer, SG_SREGS),
    SLOT(X86_MSR_STAR, msr.star, SG_MSRS),
    SLOT(X86_MSR_LSTAR, msr.lstar, SG_MSRS),
    SLOT(X86_MSR_CSTAR, msr.cstar, SG_MSRS),
    SLOT(X86_MSR_FMASK, msr.sfmask, SG_MSRS),
    SLOT(X86_MSR_FS_BASE, seg[X86_FS].base, SG_SREGS),
    SLOT(X86_MSR_GS_BASE, seg[X86_GS].base, SG_SREGS),
    SLOT(X86_MSR_KERNEL_GS_BASE, msr.kernel_gs_base, SG_MSRS),
    SLOT(X86_MSR_TSC_AUX, msr.tsc_aux, SG_MSRS),
};
const unsigned x86_msr_slot_count = sizeof(x86_msr_slots) / sizeof(x86_msr_slots[0]);

const struct x86_msr_slot *x86_msr_slot(uint32_t index)
{
    for (unsigned i = 0; i < x86_msr_slot_count; i++)
        if (x86_msr_slots[i].index == index)
            return &x86_msr_slots[i];
    return NULL;
}
