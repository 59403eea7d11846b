/* The feature registers the vCPU configuration reports: HV_FEATURE_REG_* ids mapped
 * onto the soft CPU's own ID values (frontends/arm64/features.c), so that what a
 * client reads is exactly what the guest sees and what the CPU implements. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include "core/arm64/a64.h"
#include "frontends/arm64/features.h"

static const enum a64_id feature_ids[] = {
    [HV_FEATURE_REG_ID_AA64DFR0_EL1] = A64_ID_AA64DFR0,
    [HV_FEATURE_REG_ID_AA64DFR1_EL1] = A64_ID_AA64DFR1,
    [HV_FEATURE_REG_ID_AA64ISAR0_EL1] = A64_ID_AA64ISAR0,
    [HV_FEATURE_REG_ID_AA64ISAR1_EL1] = A64_ID_AA64ISAR1,
    [HV_FEATURE_REG_ID_AA64MMFR0_EL1] = A64_ID_AA64MMFR0,
    [HV_FEATURE_REG_ID_AA64MMFR1_EL1] = A64_ID_AA64MMFR1,
    [HV_FEATURE_REG_ID_AA64MMFR2_EL1] = A64_ID_AA64MMFR2,
    [HV_FEATURE_REG_ID_AA64PFR0_EL1] = A64_ID_AA64PFR0,
    [HV_FEATURE_REG_ID_AA64PFR1_EL1] = A64_ID_AA64PFR1,
    [HV_FEATURE_REG_CTR_EL0] = A64_ID_CTR,
    [HV_FEATURE_REG_CLIDR_EL1] = A64_ID_CLIDR,
    [HV_FEATURE_REG_DCZID_EL0] = A64_ID_DCZID,
    [HV_FEATURE_REG_ID_AA64SMFR0_EL1] = A64_ID_AA64SMFR0,
    [HV_FEATURE_REG_ID_AA64ZFR0_EL1] = A64_ID_AA64ZFR0,
};

bool a64_feature_reg(uint32_t feature_reg, uint64_t *value)
{
    if (feature_reg >= sizeof(feature_ids) / sizeof(feature_ids[0]))
        return false;
    *value = a64_id_value(feature_ids[feature_reg]);
    return true;
}

void a64_ccsidr_values(uint32_t cache_type, uint64_t values[8])
{
    /* CSSELR: Level in bits 3:1, InD in bit 0; only level 1 exists. */
    for (unsigned level = 0; level < 8; level++)
        values[level] = a64_ccsidr(((uint64_t)level << 1) | (cache_type == HV_CACHE_TYPE_INSTRUCTION));
}
