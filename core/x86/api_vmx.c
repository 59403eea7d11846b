/* Intel flavour, VMX level: the VMCS view and VMX capabilities (tables in
 * core/x86/vmcs.c), the per-field write masks, MSR information, the APIC address,
 * and the shadow-VMCS calls (not offered). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/vmcs.h"

static hv_return_t unsupported_for_owned(hv_vcpuid_t vcpu)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    return ret != HV_SUCCESS ? ret : HV_UNSUPPORTED;
}

hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    return ret != HV_SUCCESS ? ret : x86_vmcs_read(v, field, value);
}

static hv_return_t control_masks(uint32_t field, uint64_t *allowed_0, uint64_t *allowed_1, bool *found);

hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    /* A VM-execution, entry or exit control outside what hv_vmx_vcpu_get_cap_write_vmcs
     * allows is refused here, as Apple documents it may be: such a VMCS could not be
     * entered (for instance a real-mode guest without unrestricted guest). */
    bool is_control = false;
    uint64_t a0, a1;
    ret = control_masks(field, &a0, &a1, &is_control);
    if (is_control && (ret != HV_SUCCESS || (value & a0) != a0 || (value & ~a1)))
        return HV_BAD_ARGUMENT;
    return x86_vmcs_write(v, field, value);
}

hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t *value)
{
    return x86_vmx_capability((uint32_t)field, value);
}

hv_return_t hv_vmx_vcpu_set_apic_address(hv_vcpuid_t vcpu, hv_gpaddr_t gpa)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (gpa & (ANYHV_PAGE_SIZE - 1))
        return HV_BAD_ARGUMENT;
    v->ext.x86.apic_gpa = gpa;
    return HV_SUCCESS;
}

/* Fields whose write masks come from a VMX capability (allowed-0 low, allowed-1 high). */
static const struct {
    uint32_t field;
    uint32_t cap;
} cap_fields[] = {
    { VMCS_CTRL_PIN_BASED, HV_VMX_CAP_TRUE_PINBASED },     { VMCS_CTRL_CPU_BASED, HV_VMX_CAP_TRUE_PROCBASED },
    { VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2 },       { VMCS_CTRL_VMENTRY_CONTROLS, HV_VMX_CAP_TRUE_ENTRY },
    { VMCS_CTRL_VMEXIT_CONTROLS, HV_VMX_CAP_TRUE_EXIT },
};

/* CR0.PE and CR0.PG may be clear under unrestricted guest, which anyhv always has. */
#define CR0_UNRESTRICTED_FREE (X86_CR0_PE | X86_CR0_PG)

/* allowed_0/allowed_1 of a control register field from the FIXED0/FIXED1 pair. */
static hv_return_t cr_masks(uint32_t fixed0, uint32_t fixed1, uint64_t free, uint64_t *a0, uint64_t *a1)
{
    hv_return_t ret = x86_vmx_capability(fixed0, a0);
    if (ret == HV_SUCCESS)
        ret = x86_vmx_capability(fixed1, a1);
    *a0 &= ~free;
    return ret;
}

/* The masks of a control field; *found false for other fields. */
static hv_return_t control_masks(uint32_t field, uint64_t *allowed_0, uint64_t *allowed_1, bool *found)
{
    *found = false;
    for (size_t i = 0; i < sizeof(cap_fields) / sizeof(cap_fields[0]); i++) {
        if (cap_fields[i].field == field) {
            uint64_t cap = 0;
            hv_return_t ret = x86_vmx_capability(cap_fields[i].cap, &cap);
            *allowed_0 = (uint32_t)cap;
            *allowed_1 = cap >> 32;
            *found = true;
            return ret;
        }
    }
    return HV_SUCCESS;
}

hv_return_t hv_vmx_vcpu_get_cap_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *allowed_0,
                                           uint64_t *allowed_1)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!allowed_0 || !allowed_1 || !x86_vmcs_field_known(field))
        return HV_BAD_ARGUMENT;
    bool is_control;
    ret = control_masks(field, allowed_0, allowed_1, &is_control);
    if (is_control)
        return ret;
    if (field == VMCS_GUEST_CR0)
        return cr_masks(HV_VMX_CAP_CR0_FIXED0, HV_VMX_CAP_CR0_FIXED1, CR0_UNRESTRICTED_FREE, allowed_0, allowed_1);
    if (field == VMCS_GUEST_CR4)
        return cr_masks(HV_VMX_CAP_CR4_FIXED0, HV_VMX_CAP_CR4_FIXED1, 0, allowed_0, allowed_1);
    /* Scalar fields: any value of the field's width. */
    *allowed_0 = 0;
    *allowed_1 = ~0ull;
    return HV_SUCCESS;
}

/* The MSR facts anyhv's guests see: no ARCH_CAPABILITIES/PERF_CAPABILITIES bits, no
 * performance counters, DEBUGCTL and SPEC_CTRL with nothing settable, and no need for
 * the client to manage SPEC_CTRL. */
hv_return_t hv_vmx_get_msr_info(hv_vmx_msr_info_t field, uint64_t *value)
{
    if (!value || field > HV_VMX_NEED_MSR_IA32_SPEC_CTRL)
        return HV_BAD_ARGUMENT;
    *value = 0;
    return HV_SUCCESS;
}

hv_return_t hv_vmx_vcpu_set_apic_address_space(hv_vcpuid_t vcpu, hv_vm_space_t asid, hv_gpaddr_t gpa)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (asid >= ANYHV_MAX_SPACES || !v->vm->spaces[asid])
        return HV_BAD_ARGUMENT;
    /* One APIC page address per vCPU: the space only has to exist. */
    return hv_vmx_vcpu_set_apic_address(vcpu, gpa);
}

/* Shadow VMCS (nested VMX) is not offered. */
hv_return_t hv_vmx_vcpu_read_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value)
{
    (void)field;
    (void)value;
    return unsupported_for_owned(vcpu);
}

hv_return_t hv_vmx_vcpu_write_shadow_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value)
{
    (void)field;
    (void)value;
    return unsupported_for_owned(vcpu);
}

hv_return_t hv_vmx_vcpu_set_shadow_access(hv_vcpuid_t vcpu, uint32_t field, uint64_t flags)
{
    (void)field;
    (void)flags;
    return unsupported_for_owned(vcpu);
}
