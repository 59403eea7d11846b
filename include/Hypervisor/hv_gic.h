/* hv_gic.h - Apple-silicon flavour: the in-framework GICv3 interrupt controller
 * (macOS 15): configuration, creation, SPI/MSI injection, register access and state
 * save/restore. anyhv does not emulate the GIC yet: every call returns HV_UNSUPPORTED
 * (or NULL for the create calls), so VMMs fall back to their own GIC model. */
#ifndef ANYHV_HYPERVISOR_HV_GIC_H
#define ANYHV_HYPERVISOR_HV_GIC_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vcpu_types.h>
#include <Hypervisor/hv_gic_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/* Configuration. */
ANYHV_API hv_gic_config_t hv_gic_config_create(void);
ANYHV_API hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base_address);
ANYHV_API hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config,
                                                          hv_ipa_t redistributor_base_address);
ANYHV_API hv_return_t hv_gic_config_set_msi_region_base(hv_gic_config_t config, hv_ipa_t msi_region_base_address);
ANYHV_API hv_return_t hv_gic_config_set_msi_interrupt_range(hv_gic_config_t config, uint32_t msi_intid_base,
                                                           uint32_t msi_intid_count);

/* Geometry queries (any thread, no VM needed). */
ANYHV_API hv_return_t hv_gic_get_distributor_size(size_t *distributor_size);
ANYHV_API hv_return_t hv_gic_get_distributor_base_alignment(size_t *distributor_base_alignment);
ANYHV_API hv_return_t hv_gic_get_redistributor_region_size(size_t *redistributor_region_size);
ANYHV_API hv_return_t hv_gic_get_redistributor_size(size_t *redistributor_size);
ANYHV_API hv_return_t hv_gic_get_redistributor_base_alignment(size_t *redistributor_base_alignment);
ANYHV_API hv_return_t hv_gic_get_msi_region_size(size_t *msi_region_size);
ANYHV_API hv_return_t hv_gic_get_msi_region_base_alignment(size_t *msi_region_base_alignment);
ANYHV_API hv_return_t hv_gic_get_spi_interrupt_range(uint32_t *spi_intid_base, uint32_t *spi_intid_count);
ANYHV_API hv_return_t hv_gic_get_intid(hv_gic_intid_t interrupt, uint32_t *intid);

/* The device. */
ANYHV_API hv_return_t hv_gic_create(hv_gic_config_t gic_config);
ANYHV_API hv_return_t hv_gic_reset(void);
ANYHV_API hv_return_t hv_gic_set_spi(uint32_t intid, bool level);
ANYHV_API hv_return_t hv_gic_send_msi(hv_ipa_t address, uint32_t intid);

/* Registers. */
ANYHV_API hv_return_t hv_gic_get_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t value);
ANYHV_API hv_return_t hv_gic_get_redistributor_base(hv_vcpu_t vcpu, hv_ipa_t *redistributor_base_address);
ANYHV_API hv_return_t hv_gic_get_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg,
                                                  uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg,
                                                  uint64_t value);
ANYHV_API hv_return_t hv_gic_get_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t value);
ANYHV_API hv_return_t hv_gic_get_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t value);
ANYHV_API hv_return_t hv_gic_get_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t value);
ANYHV_API hv_return_t hv_gic_get_msi_reg(hv_gic_msi_reg_t reg, uint64_t *value);
ANYHV_API hv_return_t hv_gic_set_msi_reg(hv_gic_msi_reg_t reg, uint64_t value);

/* State save and restore. */
ANYHV_API hv_gic_state_t hv_gic_state_create(void);
ANYHV_API hv_return_t hv_gic_state_get_size(hv_gic_state_t state, size_t *size);
ANYHV_API hv_return_t hv_gic_state_get_data(hv_gic_state_t state, void *state_data);
ANYHV_API hv_return_t hv_gic_set_state(const void *gic_state_data, size_t gic_state_size);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_GIC_H */
