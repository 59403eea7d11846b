/* Apple-silicon flavour: VM and vCPU configuration objects (os_objects released
 * with os_release), IPA size and granule, EL2, feature registers. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <stdlib.h>

#include "core/arm64/a64.h"

const enum guest_arch anyhv_personality_arch = GUEST_ARM64;

static bool object_is(const void *p, enum a64_object_kind kind)
{
    return p && ((const struct a64_object *)p)->kind == (uint32_t)kind;
}

void *os_retain(void *object)
{
    if (object)
        atomic_fetch_add(&((struct a64_object *)object)->refs, 1);
    return object;
}

void os_release(void *object)
{
    struct a64_object *o = object;
    if (o && atomic_fetch_sub(&o->refs, 1) == 1) {
        o->kind = 0;   /* a stale handle no longer passes object_is() */
        free(o);
    }
}

hv_vm_config_t hv_vm_config_create(void)
{
    struct a64_vm_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->obj.kind = A64_OBJ_VM_CONFIG;
    atomic_init(&c->obj.refs, 1);
    c->ipa_bits = A64_IPA_BITS_DEFAULT;
    c->granule = A64_GRANULE_DEFAULT;
    return (hv_vm_config_t)c;
}

hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *ipa_bit_length)
{
    if (!ipa_bit_length)
        return HV_BAD_ARGUMENT;
    *ipa_bit_length = A64_IPA_BITS_MAX;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *ipa_bit_length)
{
    if (!ipa_bit_length)
        return HV_BAD_ARGUMENT;
    *ipa_bit_length = A64_IPA_BITS_DEFAULT;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t config, uint32_t ipa_bit_length)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG) || ipa_bit_length < A64_IPA_BITS_MIN ||
        ipa_bit_length > A64_IPA_BITS_MAX)
        return HV_BAD_ARGUMENT;
    ((struct a64_vm_config *)config)->ipa_bits = ipa_bit_length;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_ipa_size(hv_vm_config_t config, uint32_t *ipa_bit_length)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG) || !ipa_bit_length)
        return HV_BAD_ARGUMENT;
    *ipa_bit_length = ((struct a64_vm_config *)config)->ipa_bits;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_el2_supported(bool *el2_supported)
{
    if (!el2_supported)
        return HV_BAD_ARGUMENT;
    *el2_supported = false;   /* the soft CPU implements EL0 and EL1 only */
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_el2_enabled(hv_vm_config_t config, bool *el2_enabled)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG) || !el2_enabled)
        return HV_BAD_ARGUMENT;
    *el2_enabled = ((struct a64_vm_config *)config)->el2;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_set_el2_enabled(hv_vm_config_t config, bool el2_enabled)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG))
        return HV_BAD_ARGUMENT;
    if (el2_enabled)
        return HV_UNSUPPORTED;
    ((struct a64_vm_config *)config)->el2 = false;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_default_ipa_granule(hv_ipa_granule_t *granule)
{
    if (!granule)
        return HV_BAD_ARGUMENT;
    *granule = A64_GRANULE_DEFAULT == A64_GRANULE_4K ? HV_IPA_GRANULE_4KB : HV_IPA_GRANULE_16KB;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_get_ipa_granule(hv_vm_config_t config, hv_ipa_granule_t *granule)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG) || !granule)
        return HV_BAD_ARGUMENT;
    *granule = ((struct a64_vm_config *)config)->granule == A64_GRANULE_4K ? HV_IPA_GRANULE_4KB
                                                                          : HV_IPA_GRANULE_16KB;
    return HV_SUCCESS;
}

hv_return_t hv_vm_config_set_ipa_granule(hv_vm_config_t config, hv_ipa_granule_t granule)
{
    if (!object_is(config, A64_OBJ_VM_CONFIG))
        return HV_BAD_ARGUMENT;
    if (granule == HV_IPA_GRANULE_4KB)
        ((struct a64_vm_config *)config)->granule = A64_GRANULE_4K;
    else if (granule == HV_IPA_GRANULE_16KB)
        ((struct a64_vm_config *)config)->granule = A64_GRANULE_16K;
    else
        return HV_BAD_ARGUMENT;
    return HV_SUCCESS;
}

hv_vcpu_config_t hv_vcpu_config_create(void)
{
    struct a64_vcpu_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->obj.kind = A64_OBJ_VCPU_CONFIG;
    atomic_init(&c->obj.refs, 1);
    return (hv_vcpu_config_t)c;
}

hv_return_t hv_vcpu_config_get_feature_reg(hv_vcpu_config_t config, hv_feature_reg_t feature_reg, uint64_t *value)
{
    if (!object_is(config, A64_OBJ_VCPU_CONFIG) || !value || !a64_feature_reg(feature_reg, value))
        return HV_BAD_ARGUMENT;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_config_get_ccsidr_el1_sys_reg_values(hv_vcpu_config_t config, hv_cache_type_t cache_type,
                                                          uint64_t values[8])
{
    if (!object_is(config, A64_OBJ_VCPU_CONFIG) || !values ||
        (cache_type != HV_CACHE_TYPE_DATA && cache_type != HV_CACHE_TYPE_INSTRUCTION))
        return HV_BAD_ARGUMENT;
    a64_ccsidr_values(cache_type, values);
    return HV_SUCCESS;
}
