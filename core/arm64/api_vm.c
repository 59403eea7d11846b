/* Apple-silicon flavour, VM level: create/destroy with a configuration, the
 * guest-physical map, and page-aligned allocations for guest memory. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <sys/mman.h>

#include "core/arm64/a64.h"

hv_return_t hv_vm_get_max_vcpu_count(uint32_t *max_vcpu_count)
{
    if (!max_vcpu_count)
        return HV_BAD_ARGUMENT;
    *max_vcpu_count = ANYHV_MAX_VCPUS;
    return HV_SUCCESS;
}

hv_return_t hv_vm_create(hv_vm_config_t config)
{
    struct vm_params p = { .arch = GUEST_ARM64, .ipa_bits = A64_IPA_BITS_DEFAULT, .granule = A64_GRANULE_DEFAULT };
    if (config) {
        const struct a64_vm_config *c = (const struct a64_vm_config *)config;
        if (c->obj.kind != A64_OBJ_VM_CONFIG)
            return HV_BAD_ARGUMENT;
        p.ipa_bits = c->ipa_bits;
        p.granule = c->granule;
    }
    return vm_create(&p);
}

hv_return_t hv_vm_destroy(void)
{
    return vm_destroy();
}

hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)
{
    return vm_map(0, addr, ipa, size, flags);
}

hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size)
{
    return vm_unmap(0, ipa, size);
}

hv_return_t hv_vm_protect(hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)
{
    return vm_protect(0, ipa, size, flags);
}
