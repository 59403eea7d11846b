/* x86_segments.h - loading an x86 segment register through the VMCS view, for the
 * Intel-flavour test clients (tests/soft_x86, tests/kvm): the four guest-state fields
 * of each register, in the SDM's order (ES, CS, SS, DS, FS, GS, LDTR, TR). */
#ifndef ANYHV_TESTS_SUPPORT_X86_SEGMENTS_H
#define ANYHV_TESTS_SUPPORT_X86_SEGMENTS_H

#include <Hypervisor/Hypervisor.h>
#include <stdint.h>

enum test_seg { TSEG_ES, TSEG_CS, TSEG_SS, TSEG_DS, TSEG_FS, TSEG_GS, TSEG_LDTR, TSEG_TR, TSEG_COUNT };

/* Selector, base, limit and access rights of `seg`; the first failing write's result. */
static inline hv_return_t test_write_segment(hv_vcpuid_t vcpu, unsigned seg, uint16_t sel, uint64_t base,
                                             uint32_t limit, uint32_t ar)
{
    static const uint32_t fields[TSEG_COUNT][4] = {
        { VMCS_GUEST_ES, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { VMCS_GUEST_CS, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
        { VMCS_GUEST_SS, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { VMCS_GUEST_DS, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { VMCS_GUEST_FS, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { VMCS_GUEST_GS, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
        { VMCS_GUEST_LDTR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
        { VMCS_GUEST_TR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
    };
    if (seg >= TSEG_COUNT)
        return HV_BAD_ARGUMENT;
    const uint64_t value[4] = { sel, base, limit, ar };
    for (unsigned k = 0; k < 4; k++) {
        hv_return_t r = hv_vmx_vcpu_write_vmcs(vcpu, fields[seg][k], value[k]);
        if (r != HV_SUCCESS)
            return r;
    }
    return HV_SUCCESS;
}

#endif /* ANYHV_TESTS_SUPPORT_X86_SEGMENTS_H */
