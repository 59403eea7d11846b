/* The ID registers and cache geometry the vCPU configuration reports. They must
 * describe exactly what the soft CPU implements: ARMv8.0-A with FP/AdvSIMD,
 * CRC32 and LSE atomics, AArch64-only EL0/EL1, 4/16/64 KiB granules, 48-bit PA. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include "core/arm64/a64.h"

/* ID_AA64PFR0_EL1: EL0 and EL1 AArch64 only, no EL2/EL3, FP and AdvSIMD present. */
#define PFR0_EL0_AARCH64 (1ull << 0)
#define PFR0_EL1_AARCH64 (1ull << 4)
/* ID_AA64ISAR0_EL1 */
#define ISAR0_CRC32 (1ull << 16)
#define ISAR0_ATOMIC_LSE (2ull << 20)
/* ID_AA64MMFR0_EL1 */
#define MMFR0_PARANGE_48 (5ull << 0)
#define MMFR0_ASID_16 (2ull << 4)
#define MMFR0_TGRAN16_YES (1ull << 20)   /* TGran64 = 0 and TGran4 = 0 mean supported */
/* ID_AA64DFR0_EL1 */
#define DFR0_DEBUGVER_V8 (6ull << 0)
#define DFR0_BRPS(n) ((uint64_t)((n)-1) << 12)
#define DFR0_WRPS(n) ((uint64_t)((n)-1) << 20)
/* CTR_EL0: 64-byte lines, PIPT I-cache, RES1 bit 31. */
#define CTR_RES1 (1ull << 31)
#define CTR_IMINLINE_64B (4ull << 0)
#define CTR_L1IP_PIPT (3ull << 14)
#define CTR_DMINLINE_64B (4ull << 16)
#define CTR_ERG_64B (4ull << 20)
#define CTR_CWG_64B (4ull << 24)
/* CLIDR_EL1: L1 separate I and D; LoUIS = LoC = LoUU = 1. */
#define CLIDR_CTYPE1_SEPARATE 3ull
#define CLIDR_LOUIS_1 (1ull << 21)
#define CLIDR_LOC_1 (1ull << 24)
#define CLIDR_LOUU_1 (1ull << 27)
/* DCZID_EL0: DC ZVA block of 2^4 words = 64 bytes. */
#define DCZID_BS_64B 4ull

#define A64_BREAKPOINTS 2
#define A64_WATCHPOINTS 2

static const uint64_t feature_values[] = {
    [HV_FEATURE_REG_ID_AA64DFR0_EL1] = DFR0_DEBUGVER_V8 | DFR0_BRPS(A64_BREAKPOINTS) | DFR0_WRPS(A64_WATCHPOINTS),
    [HV_FEATURE_REG_ID_AA64DFR1_EL1] = 0,
    [HV_FEATURE_REG_ID_AA64ISAR0_EL1] = ISAR0_CRC32 | ISAR0_ATOMIC_LSE,
    [HV_FEATURE_REG_ID_AA64ISAR1_EL1] = 0,
    [HV_FEATURE_REG_ID_AA64MMFR0_EL1] = MMFR0_PARANGE_48 | MMFR0_ASID_16 | MMFR0_TGRAN16_YES,
    [HV_FEATURE_REG_ID_AA64MMFR1_EL1] = 0,
    [HV_FEATURE_REG_ID_AA64MMFR2_EL1] = 0,
    [HV_FEATURE_REG_ID_AA64PFR0_EL1] = PFR0_EL0_AARCH64 | PFR0_EL1_AARCH64,
    [HV_FEATURE_REG_ID_AA64PFR1_EL1] = 0,
    [HV_FEATURE_REG_CTR_EL0] = CTR_RES1 | CTR_IMINLINE_64B | CTR_L1IP_PIPT | CTR_DMINLINE_64B | CTR_ERG_64B | CTR_CWG_64B,
    [HV_FEATURE_REG_CLIDR_EL1] = CLIDR_CTYPE1_SEPARATE | CLIDR_LOUIS_1 | CLIDR_LOC_1 | CLIDR_LOUU_1,
    [HV_FEATURE_REG_DCZID_EL0] = DCZID_BS_64B,
};

bool a64_feature_reg(uint32_t feature_reg, uint64_t *value)
{
    if (feature_reg >= sizeof(feature_values) / sizeof(feature_values[0]))
        return false;
    *value = feature_values[feature_reg];
    return true;
}

/* CCSIDR_EL1 (without FEAT_CCIDX): LineSize = log2(bytes) - 4, Associativity - 1, NumSets - 1. */
#define CCSIDR(line_log2, ways, sets) \
    ((uint64_t)((line_log2)-4) | ((uint64_t)((ways)-1) << 3) | ((uint64_t)((sets)-1) << 13))
#define L1_LINE_LOG2 6
#define L1_WAYS 4
#define L1_SETS 128     /* 32 KiB */

void a64_ccsidr_values(uint32_t cache_type, uint64_t values[8])
{
    (void)cache_type;   /* I and D caches have the same geometry */
    for (int i = 0; i < 8; i++)
        values[i] = 0;
    values[0] = CCSIDR(L1_LINE_LOG2, L1_WAYS, L1_SETS);
}
