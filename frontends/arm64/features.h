/* features.h - the ID register values that describe exactly what the arm64 soft CPU
 * implements. The guest reads them through MRS; the Apple-silicon personality
 * reports them through hv_vcpu_config_get_feature_reg. */
#ifndef ANYHV_FRONTENDS_ARM64_FEATURES_H
#define ANYHV_FRONTENDS_ARM64_FEATURES_H

#include <stdint.h>

enum a64_id {
    A64_ID_AA64PFR0, A64_ID_AA64PFR1, A64_ID_AA64DFR0, A64_ID_AA64DFR1,
    A64_ID_AA64ISAR0, A64_ID_AA64ISAR1, A64_ID_AA64MMFR0, A64_ID_AA64MMFR1, A64_ID_AA64MMFR2,
    A64_ID_CTR, A64_ID_CLIDR, A64_ID_DCZID, A64_ID_AA64SMFR0, A64_ID_AA64ZFR0,
    A64_ID_COUNT
};

uint64_t a64_id_value(enum a64_id id);
/* CCSIDR_EL1 for the cache CSSELR_EL1 selects (0 for absent levels). */
uint64_t a64_ccsidr(uint64_t csselr);

#define A64_BREAKPOINTS 2
#define A64_WATCHPOINTS 2
#define A64_PA_BITS 48

#endif /* ANYHV_FRONTENDS_ARM64_FEATURES_H */
