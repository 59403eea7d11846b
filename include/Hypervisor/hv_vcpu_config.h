/* hv_vcpu_config.h - Apple-silicon flavour: the vCPU configuration object passed to
 * hv_vcpu_create(), and the feature (ID) registers and cache geometry it describes. */
#ifndef ANYHV_HYPERVISOR_HV_VCPU_CONFIG_H
#define ANYHV_HYPERVISOR_HV_VCPU_CONFIG_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vcpu_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/* Feature registers of hv_vcpu_config_get_feature_reg(). */
typedef uint32_t hv_feature_reg_t;
enum {
    HV_FEATURE_REG_ID_AA64DFR0_EL1 = 0,
    HV_FEATURE_REG_ID_AA64DFR1_EL1 = 1,
    HV_FEATURE_REG_ID_AA64ISAR0_EL1 = 2,
    HV_FEATURE_REG_ID_AA64ISAR1_EL1 = 3,
    HV_FEATURE_REG_ID_AA64MMFR0_EL1 = 4,
    HV_FEATURE_REG_ID_AA64MMFR1_EL1 = 5,
    HV_FEATURE_REG_ID_AA64MMFR2_EL1 = 6,
    HV_FEATURE_REG_ID_AA64PFR0_EL1 = 7,
    HV_FEATURE_REG_ID_AA64PFR1_EL1 = 8,
    HV_FEATURE_REG_CTR_EL0 = 9,
    HV_FEATURE_REG_CLIDR_EL1 = 10,
    HV_FEATURE_REG_DCZID_EL0 = 11,
    HV_FEATURE_REG_ID_AA64SMFR0_EL1 = 12,   /* 0 here: no SME */
    HV_FEATURE_REG_ID_AA64ZFR0_EL1 = 13,    /* 0 here: no SVE */
};

/*!
 * @function hv_vcpu_config_create
 * @abstract Creates a vCPU configuration with default settings.
 * @result A new object holding one reference (release it with os_release()), or NULL.
 * @discussion Any thread.
 */
ANYHV_API hv_vcpu_config_t hv_vcpu_config_create(void);

/*!
 * @function hv_vcpu_config_get_feature_reg
 * @abstract Returns the value a vCPU created with this configuration reads from a
 *           feature register: exactly what the CPU of the selected backend implements.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unknown register or NULL pointer.
 */
ANYHV_API hv_return_t hv_vcpu_config_get_feature_reg(hv_vcpu_config_t config, hv_feature_reg_t feature_reg,
                                                     uint64_t *value);

/*!
 * @function hv_vcpu_config_get_ccsidr_el1_sys_reg_values
 * @abstract Returns CCSIDR_EL1 for each cache level (index = level - 1) of one kind.
 * @param values Receives eight values; levels that do not exist read 0.
 */
ANYHV_API hv_return_t hv_vcpu_config_get_ccsidr_el1_sys_reg_values(hv_vcpu_config_t config,
                                                                   hv_cache_type_t cache_type,
                                                                   uint64_t values[8]);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VCPU_CONFIG_H */
