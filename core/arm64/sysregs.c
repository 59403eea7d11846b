/* hv_sys_reg_t ids -> fields of struct a64_state, and the reset state. An id is
 * the system register's encoding, op0:op1:CRn:CRm:op2 packed as 2:3:4:4:3 bits. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <string.h>

#include "core/arm64/a64.h"

#define SYS(member) { offsetof(struct a64_state, sys.member), false }
#define SYS_RO(member) { offsetof(struct a64_state, sys.member), true }
#define DBG(n)                                                                                    \
    { HV_SYS_REG_DBGBVR##n##_EL1, SYS(dbgbvr[n]) }, { HV_SYS_REG_DBGBCR##n##_EL1, SYS(dbgbcr[n]) }, \
    { HV_SYS_REG_DBGWVR##n##_EL1, SYS(dbgwvr[n]) }, { HV_SYS_REG_DBGWCR##n##_EL1, SYS(dbgwcr[n]) }

static const struct {
    uint16_t id;
    struct a64_field field;
} sysreg_fields[] = {
    DBG(0), DBG(1), DBG(2), DBG(3), DBG(4), DBG(5), DBG(6), DBG(7),
    DBG(8), DBG(9), DBG(10), DBG(11), DBG(12), DBG(13), DBG(14), DBG(15),
    { HV_SYS_REG_MDCCINT_EL1, SYS(mdccint_el1) },
    { HV_SYS_REG_MDSCR_EL1, SYS(mdscr_el1) },
    { HV_SYS_REG_MIDR_EL1, SYS(midr_el1) },
    { HV_SYS_REG_MPIDR_EL1, SYS(mpidr_el1) },
    { HV_SYS_REG_SCTLR_EL1, SYS(sctlr_el1) },
    { HV_SYS_REG_ACTLR_EL1, SYS(actlr_el1) },
    { HV_SYS_REG_CPACR_EL1, SYS(cpacr_el1) },
    { HV_SYS_REG_TTBR0_EL1, SYS(ttbr0_el1) },
    { HV_SYS_REG_TTBR1_EL1, SYS(ttbr1_el1) },
    { HV_SYS_REG_TCR_EL1, SYS(tcr_el1) },
    { HV_SYS_REG_APIAKEYLO_EL1, SYS(apiakey[0]) },
    { HV_SYS_REG_APIAKEYHI_EL1, SYS(apiakey[1]) },
    { HV_SYS_REG_APIBKEYLO_EL1, SYS(apibkey[0]) },
    { HV_SYS_REG_APIBKEYHI_EL1, SYS(apibkey[1]) },
    { HV_SYS_REG_APDAKEYLO_EL1, SYS(apdakey[0]) },
    { HV_SYS_REG_APDAKEYHI_EL1, SYS(apdakey[1]) },
    { HV_SYS_REG_APDBKEYLO_EL1, SYS(apdbkey[0]) },
    { HV_SYS_REG_APDBKEYHI_EL1, SYS(apdbkey[1]) },
    { HV_SYS_REG_APGAKEYLO_EL1, SYS(apgakey[0]) },
    { HV_SYS_REG_APGAKEYHI_EL1, SYS(apgakey[1]) },
    { HV_SYS_REG_SPSR_EL1, SYS(spsr_el1) },
    { HV_SYS_REG_ELR_EL1, SYS(elr_el1) },
    { HV_SYS_REG_SP_EL0, SYS(sp_el0) },
    { HV_SYS_REG_AFSR0_EL1, SYS(afsr0_el1) },
    { HV_SYS_REG_AFSR1_EL1, SYS(afsr1_el1) },
    { HV_SYS_REG_ESR_EL1, SYS(esr_el1) },
    { HV_SYS_REG_FAR_EL1, SYS(far_el1) },
    { HV_SYS_REG_PAR_EL1, SYS(par_el1) },
    { HV_SYS_REG_MAIR_EL1, SYS(mair_el1) },
    { HV_SYS_REG_AMAIR_EL1, SYS(amair_el1) },
    { HV_SYS_REG_VBAR_EL1, SYS(vbar_el1) },
    { HV_SYS_REG_CONTEXTIDR_EL1, SYS(contextidr_el1) },
    { HV_SYS_REG_TPIDR_EL1, SYS(tpidr_el1) },
    { HV_SYS_REG_CNTKCTL_EL1, SYS(cntkctl_el1) },
    { HV_SYS_REG_CSSELR_EL1, SYS(csselr_el1) },
    { HV_SYS_REG_TPIDR_EL0, SYS(tpidr_el0) },
    { HV_SYS_REG_TPIDRRO_EL0, SYS(tpidrro_el0) },
    { HV_SYS_REG_CNTV_CTL_EL0, SYS(cntv_ctl_el0) },
    { HV_SYS_REG_CNTV_CVAL_EL0, SYS(cntv_cval_el0) },
    { HV_SYS_REG_SP_EL1, SYS(sp_el1) },
    { HV_SYS_REG_CNTP_CTL_EL0, SYS(cntp_ctl_el0) },
    { HV_SYS_REG_CNTP_CVAL_EL0, SYS(cntp_cval_el0) },
    { HV_SYS_REG_ID_AA64PFR0_EL1, SYS_RO(id_aa64pfr0_el1) },
    { HV_SYS_REG_ID_AA64PFR1_EL1, SYS_RO(id_aa64pfr1_el1) },
    { HV_SYS_REG_ID_AA64DFR0_EL1, SYS_RO(id_aa64dfr0_el1) },
    { HV_SYS_REG_ID_AA64DFR1_EL1, SYS_RO(id_aa64dfr1_el1) },
    { HV_SYS_REG_ID_AA64ISAR0_EL1, SYS_RO(id_aa64isar0_el1) },
    { HV_SYS_REG_ID_AA64ISAR1_EL1, SYS_RO(id_aa64isar1_el1) },
    { HV_SYS_REG_ID_AA64MMFR0_EL1, SYS_RO(id_aa64mmfr0_el1) },
    { HV_SYS_REG_ID_AA64MMFR1_EL1, SYS_RO(id_aa64mmfr1_el1) },
    { HV_SYS_REG_ID_AA64MMFR2_EL1, SYS_RO(id_aa64mmfr2_el1) },
};

const struct a64_field *a64_sysreg_field(uint16_t reg)
{
    for (size_t i = 0; i < sizeof(sysreg_fields) / sizeof(sysreg_fields[0]); i++)
        if (sysreg_fields[i].id == reg)
            return &sysreg_fields[i].field;
    return NULL;
}

/* Architectural reset values of the registers a guest may rely on. */
#define SCTLR_EL1_RES1 0x30d00800ull     /* RES1 bits of SCTLR_EL1 (LSMAOE, nTLSMD, EIS, TSCXT, EOS) */
#define MPIDR_EL1_RES1 (1ull << 31)
#define MIDR_ANYHV 0x410fd4f0ull           /* implementer 'A', arch 0xf, part 0xd4f: generic v8 core */

void a64_state_reset(struct a64_state *st, uint32_t vcpu_id)
{
    memset(st, 0, sizeof(*st));
    st->pstate = A64_PSTATE_RESET;
    st->excl_addr = UINT64_MAX;   /* exclusive monitor open */
    st->sys.sctlr_el1 = SCTLR_EL1_RES1;
    st->sys.mpidr_el1 = MPIDR_EL1_RES1 | vcpu_id;   /* Aff0 = vCPU id */
    st->sys.midr_el1 = MIDR_ANYHV;
    a64_feature_reg(HV_FEATURE_REG_ID_AA64PFR0_EL1, &st->sys.id_aa64pfr0_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64PFR1_EL1, &st->sys.id_aa64pfr1_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64DFR0_EL1, &st->sys.id_aa64dfr0_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64DFR1_EL1, &st->sys.id_aa64dfr1_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64ISAR0_EL1, &st->sys.id_aa64isar0_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64ISAR1_EL1, &st->sys.id_aa64isar1_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64MMFR0_EL1, &st->sys.id_aa64mmfr0_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64MMFR1_EL1, &st->sys.id_aa64mmfr1_el1);
    a64_feature_reg(HV_FEATURE_REG_ID_AA64MMFR2_EL1, &st->sys.id_aa64mmfr2_el1);
}
