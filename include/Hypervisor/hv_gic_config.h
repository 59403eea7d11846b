/* hv_gic_config.h - Apple-silicon flavour: the configuration object hv_gic_create()
 * takes: where the distributor, the redistributor region and the MSI frame sit in
 * guest-physical space, and which SPIs the MSI frame may raise (macOS 15). */
#ifndef ANYHV_HYPERVISOR_HV_GIC_CONFIG_H
#define ANYHV_HYPERVISOR_HV_GIC_CONFIG_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_gic_types.h>
#include <Hypervisor/hv_vm_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_gic_config_create
 * @abstract Creates an empty GIC configuration (no frame placed, no MSI range).
 * @result A new os_object holding one reference (release with os_release()), or NULL
 *         when memory runs out.
 * @discussion Any thread.
 */
ANYHV_API hv_gic_config_t hv_gic_config_create(void);

/*!
 * @function hv_gic_config_set_distributor_base
 * @abstract Places the distributor frame (hv_gic_get_distributor_size() bytes).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad object or an address not aligned to
 *         hv_gic_get_distributor_base_alignment().
 */
ANYHV_API hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base_address);

/*!
 * @function hv_gic_config_set_redistributor_base
 * @abstract Places the redistributor region: one redistributor (two 64 KiB frames)
 *           per vCPU the VM may have, back to back, vCPU 0 first.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad object or a misaligned address.
 */
ANYHV_API hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config,
                                                          hv_ipa_t redistributor_base_address);

/*!
 * @function hv_gic_config_set_msi_region_base
 * @abstract Places the MSI frame (GICv2m-style SETSPI registers). MSIs work only when
 *           an interrupt range is also set.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad object or a misaligned address.
 */
ANYHV_API hv_return_t hv_gic_config_set_msi_region_base(hv_gic_config_t config, hv_ipa_t msi_region_base_address);

/*!
 * @function hv_gic_config_set_msi_interrupt_range
 * @abstract The SPIs reserved for MSIs: [msi_intid_base, msi_intid_base + msi_intid_count).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT when the range leaves hv_gic_get_spi_interrupt_range().
 */
ANYHV_API hv_return_t hv_gic_config_set_msi_interrupt_range(hv_gic_config_t config, uint32_t msi_intid_base,
                                                           uint32_t msi_intid_count);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_GIC_CONFIG_H */
