/* features.c - ID register values of the arm64 soft CPU: ARMv8.0-A with FP and
 * AdvSIMD, CRC32 and LSE atomics, RNDR, AArch64-only EL0/EL1, 4/16/64 KiB granules,
 * 48-bit PA, 16-bit ASIDs, no hardware Access-flag update. */
#include "frontends/arm64/features.h"

/* ID_AA64PFR0_EL1: EL0 and EL1 AArch64 only, no EL2/EL3, FP and AdvSIMD present (0). */
#define PFR0_EL0_AARCH64 (1ull << 0)
#define PFR0_EL1_AARCH64 (1ull << 4)
/* ID_AA64ISAR0_EL1 */
#define ISAR0_CRC32 (1ull << 16)
#define ISAR0_ATOMIC_LSE (2ull << 20)
#define ISAR0_RNDR (1ull << 60)   /* RNDR and RNDRRS (the vCPU's generator) */
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

static const uint64_t id_values[A64_ID_COUNT] = {
    [A64_ID_AA64PFR0] = PFR0_EL0_AARCH64 | PFR0_EL1_AARCH64,
    [A64_ID_AA64PFR1] = 0,
    [A64_ID_AA64DFR0] = DFR0_DEBUGVER_V8 | DFR0_BRPS(A64_BREAKPOINTS) | DFR0_WRPS(A64_WATCHPOINTS),
    [A64_ID_AA64DFR1] = 0,
    [A64_ID_AA64ISAR0] = ISAR0_CRC32 | ISAR0_ATOMIC_LSE | ISAR0_RNDR,
    [A64_ID_AA64ISAR1] = 0,
    [A64_ID_AA64MMFR0] = MMFR0_PARANGE_48 | MMFR0_ASID_16 | MMFR0_TGRAN16_YES,
    [A64_ID_AA64MMFR1] = 0,
    [A64_ID_AA64MMFR2] = 0,
    [A64_ID_CTR] = CTR_RES1 | CTR_IMINLINE_64B | CTR_L1IP_PIPT | CTR_DMINLINE_64B | CTR_ERG_64B | CTR_CWG_64B,
    [A64_ID_CLIDR] = CLIDR_CTYPE1_SEPARATE | CLIDR_LOUIS_1 | CLIDR_LOC_1 | CLIDR_LOUU_1,
    [A64_ID_DCZID] = DCZID_BS_64B,
    [A64_ID_AA64SMFR0] = 0,   /* no SME */
    [A64_ID_AA64ZFR0] = 0,    /* no SVE */
};

uint64_t a64_id_value(enum a64_id id)
{
    return (unsigned)id < A64_ID_COUNT ? id_values[id] : 0;
}

/* CCSIDR_EL1 (without FEAT_CCIDX): LineSize = log2(bytes) - 4, Associativity - 1, NumSets - 1. */
#define CCSIDR(line_log2, ways, sets) \
    ((uint64_t)((line_log2)-4) | ((uint64_t)((ways)-1) << 3) | ((uint64_t)((sets)-1) << 13))
#define L1_LINE_LOG2 6
#define L1_WAYS 4
#define L1_SETS 128     /* 32 KiB */
#define CSSELR_LEVEL_MASK 0xeull

uint64_t a64_ccsidr(uint64_t csselr)
{
    /* Level 1 (I and D alike) is the only cache level. */
    return (csselr & CSSELR_LEVEL_MASK) == 0 ? CCSIDR(L1_LINE_LOG2, L1_WAYS, L1_SETS) : 0;
}
