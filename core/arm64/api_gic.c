/* Apple-silicon flavour: the in-framework GIC (macOS 15) and SME (macOS 15.2) calls.
 * Neither is implemented by any anyhv backend yet, so each call says so with
 * HV_UNSUPPORTED (create calls return NULL) and VMMs fall back to their own models. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#define UNSUPPORTED_CALL(name, ...) \
    hv_return_t name(__VA_ARGS__) { return HV_UNSUPPORTED; }

hv_gic_config_t hv_gic_config_create(void) { return NULL; }
hv_gic_state_t hv_gic_state_create(void) { return NULL; }

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
UNSUPPORTED_CALL(hv_gic_config_set_distributor_base, hv_gic_config_t c, hv_ipa_t a)
UNSUPPORTED_CALL(hv_gic_config_set_redistributor_base, hv_gic_config_t c, hv_ipa_t a)
UNSUPPORTED_CALL(hv_gic_config_set_msi_region_base, hv_gic_config_t c, hv_ipa_t a)
UNSUPPORTED_CALL(hv_gic_config_set_msi_interrupt_range, hv_gic_config_t c, uint32_t b, uint32_t n)
UNSUPPORTED_CALL(hv_gic_get_distributor_size, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_distributor_base_alignment, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_redistributor_region_size, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_redistributor_size, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_redistributor_base_alignment, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_msi_region_size, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_msi_region_base_alignment, size_t *v)
UNSUPPORTED_CALL(hv_gic_get_spi_interrupt_range, uint32_t *b, uint32_t *n)
UNSUPPORTED_CALL(hv_gic_get_intid, hv_gic_intid_t i, uint32_t *v)
UNSUPPORTED_CALL(hv_gic_create, hv_gic_config_t c)
UNSUPPORTED_CALL(hv_gic_reset, void)
UNSUPPORTED_CALL(hv_gic_set_spi, uint32_t i, bool level)
UNSUPPORTED_CALL(hv_gic_send_msi, hv_ipa_t a, uint32_t i)
UNSUPPORTED_CALL(hv_gic_get_distributor_reg, hv_gic_distributor_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_distributor_reg, hv_gic_distributor_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_get_redistributor_base, hv_vcpu_t vcpu, hv_ipa_t *a)
UNSUPPORTED_CALL(hv_gic_get_redistributor_reg, hv_vcpu_t vcpu, hv_gic_redistributor_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_redistributor_reg, hv_vcpu_t vcpu, hv_gic_redistributor_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_get_icc_reg, hv_vcpu_t vcpu, hv_gic_icc_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_icc_reg, hv_vcpu_t vcpu, hv_gic_icc_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_get_ich_reg, hv_vcpu_t vcpu, hv_gic_ich_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_ich_reg, hv_vcpu_t vcpu, hv_gic_ich_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_get_icv_reg, hv_vcpu_t vcpu, hv_gic_icv_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_icv_reg, hv_vcpu_t vcpu, hv_gic_icv_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_get_msi_reg, hv_gic_msi_reg_t r, uint64_t *v)
UNSUPPORTED_CALL(hv_gic_set_msi_reg, hv_gic_msi_reg_t r, uint64_t v)
UNSUPPORTED_CALL(hv_gic_state_get_size, hv_gic_state_t s, size_t *n)
UNSUPPORTED_CALL(hv_gic_state_get_data, hv_gic_state_t s, void *d)
UNSUPPORTED_CALL(hv_gic_set_state, const void *d, size_t n)

UNSUPPORTED_CALL(hv_sme_config_get_max_svl_bytes, size_t *v)
UNSUPPORTED_CALL(hv_vcpu_get_sme_state, hv_vcpu_t vcpu, hv_vcpu_sme_state_t *s)
UNSUPPORTED_CALL(hv_vcpu_set_sme_state, hv_vcpu_t vcpu, const hv_vcpu_sme_state_t *s)
UNSUPPORTED_CALL(hv_vcpu_get_sme_z_reg, hv_vcpu_t vcpu, hv_sme_z_reg_t r, uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_set_sme_z_reg, hv_vcpu_t vcpu, hv_sme_z_reg_t r, const uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_get_sme_p_reg, hv_vcpu_t vcpu, hv_sme_p_reg_t r, uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_set_sme_p_reg, hv_vcpu_t vcpu, hv_sme_p_reg_t r, const uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_get_sme_za_reg, hv_vcpu_t vcpu, uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_set_sme_za_reg, hv_vcpu_t vcpu, const uint8_t *v, size_t n)
UNSUPPORTED_CALL(hv_vcpu_get_sme_zt0_reg, hv_vcpu_t vcpu, hv_sme_zt0_uchar64_t *v)
UNSUPPORTED_CALL(hv_vcpu_set_sme_zt0_reg, hv_vcpu_t vcpu, const hv_sme_zt0_uchar64_t *v)
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
