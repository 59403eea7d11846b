/* hv_vm_config.h - Apple-silicon flavour: the VM configuration object passed to
 * hv_vm_create(): intermediate-physical-address size and granule, and nested
 * virtualization (guest EL2). */
#ifndef ANYHV_HYPERVISOR_HV_VM_CONFIG_H
#define ANYHV_HYPERVISOR_HV_VM_CONFIG_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vm_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/* Translation granule of the VM's stage-2 (IPA) mappings (macOS 26). */
typedef uint32_t hv_ipa_granule_t;
enum {
    HV_IPA_GRANULE_4KB = 0,
    HV_IPA_GRANULE_16KB = 1,
};

/*!
 * @function hv_vm_config_create
 * @abstract Creates a VM configuration with default settings.
 * @result A new object holding one reference (release it with os_release()), or NULL
 *         when out of memory.
 * @discussion Any thread. A configuration is not itself thread-safe: do not change one
 *         object from two threads at once.
 */
ANYHV_API hv_vm_config_t hv_vm_config_create(void);

/*!
 * @function hv_vm_config_get_max_ipa_size
 * @abstract Returns the largest IPA size, in bits, a VM may have.
 * @param ipa_bit_length Receives the bit count (36 means a 64 GiB guest-physical space).
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *ipa_bit_length);

/*!
 * @function hv_vm_config_get_default_ipa_size
 * @abstract Returns the IPA size, in bits, of a configuration that does not set one.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *ipa_bit_length);

/*!
 * @function hv_vm_config_set_ipa_size
 * @abstract Sets the IPA size, in bits, of the VM to be created.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT above the maximum.
 */
ANYHV_API hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t config, uint32_t ipa_bit_length);

/*!
 * @function hv_vm_config_get_ipa_size
 * @abstract Returns the IPA size, in bits, stored in a configuration.
 */
ANYHV_API hv_return_t hv_vm_config_get_ipa_size(hv_vm_config_t config, uint32_t *ipa_bit_length);

/*!
 * @function hv_vm_config_get_el2_supported
 * @abstract Tells whether guests may run at EL2 (nested virtualization) here.
 * @param el2_supported Receives the answer.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_config_get_el2_supported(bool *el2_supported);

/*!
 * @function hv_vm_config_get_el2_enabled
 * @abstract Tells whether a configuration enables guest EL2.
 */
ANYHV_API hv_return_t hv_vm_config_get_el2_enabled(hv_vm_config_t config, bool *el2_enabled);

/*!
 * @function hv_vm_config_set_el2_enabled
 * @abstract Enables or disables guest EL2 for the VM to be created.
 * @result HV_SUCCESS, or HV_UNSUPPORTED when enabling where EL2 is not supported.
 * @discussion With EL2 disabled, guest accesses to PMU registers exit as trapped
 *         system-register accesses; with it enabled they follow ID_AA64DFR0_EL1.PMUVer.
 */
ANYHV_API hv_return_t hv_vm_config_set_el2_enabled(hv_vm_config_t config, bool el2_enabled);

/*!
 * @function hv_vm_config_get_default_ipa_granule
 * @abstract Returns the IPA granule of a configuration that does not set one.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_config_get_default_ipa_granule(hv_ipa_granule_t *granule);

/*!
 * @function hv_vm_config_get_ipa_granule
 * @abstract Returns the IPA granule stored in a configuration.
 */
ANYHV_API hv_return_t hv_vm_config_get_ipa_granule(hv_vm_config_t config, hv_ipa_granule_t *granule);

/*!
 * @function hv_vm_config_set_ipa_granule
 * @abstract Sets the IPA granule of the VM to be created. HV_IPA_GRANULE_4KB lets
 *           hv_vm_map() work on 4 KiB-aligned ranges.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unknown granule.
 */
ANYHV_API hv_return_t hv_vm_config_set_ipa_granule(hv_vm_config_t config, hv_ipa_granule_t granule);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VM_CONFIG_H */
