/* x86_msrs.h - the MSRs anyhv keeps in struct x86_state: their architectural indexes
 * (Intel SDM vol. 4) and where each one lives, in one table that every route uses: the
 * API's hv_vcpu_read/write_msr, the KVM state sync and the soft CPU's RDMSR/WRMSR. */
#ifndef ANYHV_CORE_X86_MSRS_H
#define ANYHV_CORE_X86_MSRS_H

#include <stdint.h>

#include "core/backend.h"
#include "core/x86_state.h"

enum x86_msr_index {
    X86_MSR_TSC = 0x10,
    X86_MSR_APIC_BASE = 0x1b,
    X86_MSR_SYSENTER_CS = 0x174,
    X86_MSR_SYSENTER_ESP = 0x175,
    X86_MSR_SYSENTER_EIP = 0x176,
    X86_MSR_MISC_ENABLE = 0x1a0,
    X86_MSR_DEBUGCTL = 0x1d9,
    X86_MSR_PAT = 0x277,
    X86_MSR_EFER = 0xc0000080,
    X86_MSR_STAR = 0xc0000081,
    X86_MSR_LSTAR = 0xc0000082,
    X86_MSR_CSTAR = 0xc0000083,
    X86_MSR_FMASK = 0xc0000084,
    X86_MSR_FS_BASE = 0xc0000100,
    X86_MSR_GS_BASE = 0xc0000101,
    X86_MSR_KERNEL_GS_BASE = 0xc0000102,
    X86_MSR_TSC_AUX = 0xc0000103,
};

/* One MSR kept in state: a 64-bit field, and the state group it travels with (SG_MSRS,
 * or SG_SREGS for EFER and the FS/GS bases, which are segment state). */
struct x86_msr_slot {
    uint32_t index;
    uint16_t offset;
    uint8_t group;
};

extern const struct x86_msr_slot x86_msr_slots[];
extern const unsigned x86_msr_slot_count;

/* The slot of an MSR, or NULL when the MSR is not kept in state. */
const struct x86_msr_slot *x86_msr_slot(uint32_t index);

static inline uint64_t *x86_msr_ptr(struct x86_state *st, const struct x86_msr_slot *s)
{
    return (uint64_t *)((uint8_t *)st + s->offset);
}

#endif /* ANYHV_CORE_X86_MSRS_H */
