/* hv_vmx.h - Intel flavour: VMX access for a vCPU: reading and writing its VMCS
 * (and shadow VMCS), the host's VMX capabilities, MSR information, and the guest
 * APIC page. Includes
 * everything a VMCS client needs (hv_x86_reg_t, hv_vcpuid_t, the VMCS_* constants). */
#ifndef ANYHV_HYPERVISOR_HV_VMX_H
#define ANYHV_HYPERVISOR_HV_VMX_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_arch_x86.h>
#include <Hypervisor/hv_arch_vmx.h>

#if ANYHV_HV_X86

ANYHV_BEGIN_DECLS

/* Guest access to a shadow VMCS field, for hv_vmx_vcpu_set_shadow_access(). */
typedef uint64_t hv_shadow_flags_t;
enum {
    HV_SHADOW_VMCS_NONE = 0,
    HV_SHADOW_VMCS_READ = 1 << 0,
    HV_SHADOW_VMCS_WRITE = 1 << 1,
};

/* VMX capability ids for hv_vmx_read_capability(). The control capabilities return
 * the allowed-0 settings in bits 31:0 and the allowed-1 settings in bits 63:32, so a
 * control value is built as (wanted | low) & high. */
typedef enum {
#ifndef HV_VMX_CAP_PINBASED
    HV_VMX_CAP_PINBASED = 0,
#endif
#ifndef HV_VMX_CAP_PROCBASED
    HV_VMX_CAP_PROCBASED = 1,
#endif
#ifndef HV_VMX_CAP_PROCBASED2
    HV_VMX_CAP_PROCBASED2 = 2,
#endif
#ifndef HV_VMX_CAP_ENTRY
    HV_VMX_CAP_ENTRY = 3,
#endif
#ifndef HV_VMX_CAP_EXIT
    HV_VMX_CAP_EXIT = 4,
#endif
#ifndef HV_VMX_CAP_BASIC
    HV_VMX_CAP_BASIC = 5,
#endif
#ifndef HV_VMX_CAP_TRUE_PINBASED
    HV_VMX_CAP_TRUE_PINBASED = 6,
#endif
#ifndef HV_VMX_CAP_TRUE_PROCBASED
    HV_VMX_CAP_TRUE_PROCBASED = 7,
#endif
#ifndef HV_VMX_CAP_TRUE_ENTRY
    HV_VMX_CAP_TRUE_ENTRY = 8,
#endif
#ifndef HV_VMX_CAP_TRUE_EXIT
    HV_VMX_CAP_TRUE_EXIT = 9,
#endif
#ifndef HV_VMX_CAP_MISC
    HV_VMX_CAP_MISC = 10,
#endif
#ifndef HV_VMX_CAP_CR0_FIXED0
    HV_VMX_CAP_CR0_FIXED0 = 11,
#endif
#ifndef HV_VMX_CAP_CR0_FIXED1
    HV_VMX_CAP_CR0_FIXED1 = 12,
#endif
#ifndef HV_VMX_CAP_CR4_FIXED0
    HV_VMX_CAP_CR4_FIXED0 = 13,
#endif
#ifndef HV_VMX_CAP_CR4_FIXED1
    HV_VMX_CAP_CR4_FIXED1 = 14,
#endif
#ifndef HV_VMX_CAP_VMCS_ENUM
    HV_VMX_CAP_VMCS_ENUM = 15,
#endif
#ifndef HV_VMX_CAP_EPT_VPID_CAP
    HV_VMX_CAP_EPT_VPID_CAP = 16,
#endif
#ifndef HV_VMX_CAP_PREEMPTION_TIMER
    HV_VMX_CAP_PREEMPTION_TIMER = 32,  /* preemption-timer frequency */
#endif
    ANYHV_ENUM_END_VMX_CAP
} hv_vmx_capability_t;

/*!
 * @function hv_vmx_vcpu_read_vmcs
 * @abstract Reads a VMCS field of a vCPU.
 * @param field A VMCS_* field encoding. @param value Receives the value.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unsupported field.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value);

/*!
 * @function hv_vmx_vcpu_write_vmcs
 * @abstract Writes a VMCS field of a vCPU.
 * @param field A VMCS_* field encoding. @param value The new value.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for a read-only or unsupported field or a
 *         control value the capabilities do not allow.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value);

/*!
 * @function hv_vmx_read_capability
 * @abstract Reads a VMX capability of the (possibly virtual) host processor.
 * @param field An HV_VMX_CAP_* id. @param value Receives the capability.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t *value);

/*!
 * @function hv_vmx_vcpu_get_cap_write_vmcs
 * @abstract Says which bits of a VMCS field a write may set: a bit that is 1 in
 *           allowed_0 must be 1, a bit that is 0 in allowed_1 must be 0.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unknown field or NULL pointer.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_get_cap_write_vmcs(hv_vcpuid_t vcpu, uint32_t field,
                                                     uint64_t *allowed_0, uint64_t *allowed_1);

/* Ids for hv_vmx_get_msr_info(): the value the guest reads from an information MSR,
 * or the mask of bits it may set in a control MSR. */
typedef uint64_t hv_vmx_msr_info_t;
enum {
    HV_VMX_INFO_MSR_IA32_ARCH_CAPABILITIES = 0,
    HV_VMX_INFO_MSR_IA32_PERF_CAPABILITIES = 1,
    HV_VMX_VALID_MSR_IA32_PERFEVNTSEL = 2,
    HV_VMX_VALID_MSR_IA32_FIXED_CTR_CTRL = 3,
    HV_VMX_VALID_MSR_IA32_PERF_GLOBAL_CTRL = 4,
    HV_VMX_VALID_MSR_IA32_PERF_GLOBAL_STATUS = 5,
    HV_VMX_VALID_MSR_IA32_DEBUGCTL = 6,
    HV_VMX_VALID_MSR_IA32_SPEC_CTRL = 7,
    HV_VMX_NEED_MSR_IA32_SPEC_CTRL = 8,
};

/*!
 * @function hv_vmx_get_msr_info
 * @abstract Reads one HV_VMX_*_MSR_* fact about the guest's MSRs.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unknown id or NULL pointer.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vmx_get_msr_info(hv_vmx_msr_info_t field, uint64_t *value);

/*!
 * @function hv_vmx_vcpu_set_apic_address
 * @abstract Sets the guest-physical address of the vCPU's local APIC page.
 * @param gpa Page-aligned guest-physical address.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_set_apic_address(hv_vcpuid_t vcpu, hv_gpaddr_t gpa);

/*!
 * @function hv_vmx_vcpu_set_apic_address_space
 * @abstract hv_vmx_vcpu_set_apic_address() for the address space asid.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_set_apic_address_space(hv_vcpuid_t vcpu, hv_vm_space_t asid,
                                                         hv_gpaddr_t gpa);

/*!
 * @function hv_vmx_vcpu_read_shadow_vmcs
 * @abstract Reads a field of the vCPU's shadow VMCS (for nested VMX guests).
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_read_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value);

/*!
 * @function hv_vmx_vcpu_write_shadow_vmcs
 * @abstract Writes a field of the vCPU's shadow VMCS.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_write_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value);

/*!
 * @function hv_vmx_vcpu_set_shadow_access
 * @abstract Sets whether the guest's VMREAD / VMWRITE of a shadow VMCS field run
 *           without an exit.
 * @param flags HV_SHADOW_VMCS_NONE, HV_SHADOW_VMCS_READ and/or HV_SHADOW_VMCS_WRITE.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vmx_vcpu_set_shadow_access(hv_vcpuid_t vcpu, uint32_t field,
                                                    hv_shadow_flags_t flags);

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_VMX_H */
