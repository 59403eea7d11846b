/* Intel flavour, VM level: hv_capability, hv_vm_create/destroy, address spaces
 * and the guest-physical map. Exported from libanyhv-x86_64 under Apple's names. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/x86.h"

const enum guest_arch anyhv_personality_arch = GUEST_X86_64;

_Static_assert((int)HV_MEMORY_READ == (int)PMAP_READ && (int)HV_MEMORY_WRITE == (int)PMAP_WRITE &&
                   (int)HV_MEMORY_EXEC == (int)PMAP_EXEC,
               "hv memory flags and pmap permissions share values");

hv_return_t hv_capability(hv_capability_t capability, uint64_t *value)
{
    if (!value)
        return HV_BAD_ARGUMENT;
    switch (capability) {
    case HV_CAP_VCPUMAX: *value = ANYHV_MAX_VCPUS; return HV_SUCCESS;
    case HV_CAP_ADDRSPACEMAX: *value = ANYHV_MAX_SPACES; return HV_SUCCESS;
    default: return HV_BAD_ARGUMENT;
    }
}

/* Host side-channel mitigation choices: accepted, and meaningless here (the soft CPU
 * does not speculate; on KVM the host kernel decides). */
#define VM_MITIGATION_OPTIONS                                                                         \
    (HV_VM_SPECIFY_MITIGATIONS | HV_VM_MITIGATION_A_ENABLE | HV_VM_MITIGATION_B_ENABLE |             \
     HV_VM_MITIGATION_C_ENABLE | HV_VM_MITIGATION_D_ENABLE | HV_VM_MITIGATION_E_ENABLE)

hv_return_t hv_vm_create(hv_vm_options_t flags)
{
    if (flags & ~(hv_vm_options_t)(VM_MITIGATION_OPTIONS | HV_VM_ACCEL_APIC))
        return HV_BAD_ARGUMENT;
    struct vm_params p = { .arch = GUEST_X86_64, .ipa_bits = ANYHV_X86_ADDR_BITS, .granule = ANYHV_PAGE_SIZE,
                           .options = flags, .setup = (flags & HV_VM_ACCEL_APIC) ? x86_intr_create : NULL };
    return vm_create(&p);
}

hv_return_t hv_vm_destroy(void)
{
    return vm_destroy();
}

hv_return_t hv_vm_space_create(hv_vm_space_t *asid)
{
    return vm_space_create(asid);
}

hv_return_t hv_vm_space_destroy(hv_vm_space_t asid)
{
    return vm_space_destroy(asid);
}

/* Apple's flags anyhv does not offer: user-mode execute (mode-based EPT execute
 * control) and maximum protections. Valid names, so HV_UNSUPPORTED, not a bad argument. */
#define MEMORY_FLAGS_UNSUPPORTED                                                                   \
    (HV_MEMORY_UEXEC | HV_MEMORY_MAXPROT | HV_MEMORY_MAXPROT_READ | HV_MEMORY_MAXPROT_WRITE |       \
     HV_MEMORY_MAXPROT_EXEC | HV_MEMORY_MAXPROT_UEXEC)

static hv_return_t memory_flags_supported(hv_memory_flags_t flags)
{
    return (flags & MEMORY_FLAGS_UNSUPPORTED) && vm_current() ? HV_UNSUPPORTED : HV_SUCCESS;
}

hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags)
{
    if (memory_flags_supported(flags) != HV_SUCCESS)
        return HV_UNSUPPORTED;
    return vm_map(HV_VM_SPACE_DEFAULT, (void *)(uintptr_t)uva, gpa, size, flags);
}

hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size)
{
    return vm_unmap(HV_VM_SPACE_DEFAULT, gpa, size);
}

hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags)
{
    if (memory_flags_supported(flags) != HV_SUCCESS)
        return HV_UNSUPPORTED;
    return vm_protect(HV_VM_SPACE_DEFAULT, gpa, size, flags);
}

hv_return_t hv_vm_map_space(hv_vm_space_t asid, hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size,
                            hv_memory_flags_t flags)
{
    if (memory_flags_supported(flags) != HV_SUCCESS)
        return HV_UNSUPPORTED;
    return vm_map(asid, (void *)(uintptr_t)uva, gpa, size, flags);
}

hv_return_t hv_vm_unmap_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size)
{
    return vm_unmap(asid, gpa, size);
}

hv_return_t hv_vm_protect_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags)
{
    if (memory_flags_supported(flags) != HV_SUCCESS)
        return HV_UNSUPPORTED;
    return vm_protect(asid, gpa, size, flags);
}

hv_return_t hv_vm_sync_tsc(uint64_t tsc)
{
    struct vm *vm = vm_hold();
    hv_return_t ret = vm ? x86_tsc_sync_all(vm, tsc) : HV_BAD_ARGUMENT;
    vm_release();
    return ret;
}
