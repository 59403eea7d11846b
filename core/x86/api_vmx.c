/* Intel flavour, VMX level: the VMCS view and VMX capabilities (tables in
 * core/x86/vmcs.c), the APIC address, and the shadow-VMCS calls (not offered). */
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

hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    return ret != HV_SUCCESS ? ret : x86_vmcs_write(v, field, value);
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
