/* Apple-silicon flavour: the SME calls (macOS 15.2). No anyhv CPU implements SME
 * (ID_AA64PFR1_EL1.SME = 0, ID_AA64SMFR0_EL1 = 0), so each call says HV_UNSUPPORTED. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#define UNSUPPORTED_CALL(name, ...) \
    hv_return_t name(__VA_ARGS__) { return HV_UNSUPPORTED; }

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
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
