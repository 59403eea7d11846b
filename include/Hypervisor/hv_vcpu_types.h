/* hv_vcpu_types.h - Apple-silicon flavour: types of the vCPU API: vCPU handles and
 * configuration objects, the exit record filled by hv_vcpu_run(), and the ids of the
 * general, SIMD/FP, SME and system registers. */
#ifndef ANYHV_HYPERVISOR_HV_VCPU_TYPES_H
#define ANYHV_HYPERVISOR_HV_VCPU_TYPES_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vm_types.h>
#include <arm64/hv/hv_kern_types.h>

#if ANYHV_HV_ARM64

#include <os/object.h>

ANYHV_BEGIN_DECLS

/* Configuration for hv_vcpu_create(): an os_object, release with os_release().
 * NULL stands for the default configuration. */
typedef struct hv_vcpu_config_s *hv_vcpu_config_t;

/* A vCPU handle, as returned by hv_vcpu_create(). */
typedef uint64_t hv_vcpu_t;

/* Why hv_vcpu_run() returned. */
typedef uint32_t hv_exit_reason_t;
enum {
    HV_EXIT_REASON_CANCELED = 0,          /* hv_vcpus_exit() asked the vCPU to stop */
    HV_EXIT_REASON_EXCEPTION = 1,         /* the guest raised an exception to EL2: see exception */
    HV_EXIT_REASON_VTIMER_ACTIVATED = 2,  /* the virtual timer fired; it is now masked */
    HV_EXIT_REASON_UNKNOWN = 3,           /* unexpected; should not happen */
};

/* Exception syndrome (ESR_EL2 format). */
typedef uint64_t hv_exception_syndrome_t;

/* Faulting virtual address (FAR_EL2 format). */
typedef uint64_t hv_exception_address_t;

/* Details of an HV_EXIT_REASON_EXCEPTION exit. */
typedef struct {
    hv_exception_syndrome_t syndrome;  /* ESR: exception class, ISS */
    hv_exception_address_t virtual_address;  /* FAR, for aborts and watchpoints */
    hv_ipa_t physical_address;  /* faulting IPA, for stage-2 (guest-physical) aborts */
} hv_vcpu_exit_exception_t;

/* The exit record of a vCPU: hv_vcpu_create() returns a pointer to it, and every
 * hv_vcpu_run() rewrites it before returning. */
typedef struct {
    hv_exit_reason_t reason;
    hv_vcpu_exit_exception_t exception;
} hv_vcpu_exit_t;

/* Value of a 128-bit SIMD&FP register (Q0..Q31) as 16 bytes, lowest byte first.
 * Apple declares it as a clang ext_vector_type; vector_size gives the same size,
 * alignment and calling convention with gcc and clang, in C and C++. */
typedef uint8_t hv_simd_fp_uchar16_t __attribute__((vector_size(16)));

/* General registers for hv_vcpu_get_reg() / hv_vcpu_set_reg(). SP is not here: it is
 * HV_SYS_REG_SP_EL0 / HV_SYS_REG_SP_EL1. */
typedef uint32_t hv_reg_t;
enum {
    HV_REG_X0 = 0,
    HV_REG_X1 = 1,
    HV_REG_X2 = 2,
    HV_REG_X3 = 3,
    HV_REG_X4 = 4,
    HV_REG_X5 = 5,
    HV_REG_X6 = 6,
    HV_REG_X7 = 7,
    HV_REG_X8 = 8,
    HV_REG_X9 = 9,
    HV_REG_X10 = 10,
    HV_REG_X11 = 11,
    HV_REG_X12 = 12,
    HV_REG_X13 = 13,
    HV_REG_X14 = 14,
    HV_REG_X15 = 15,
    HV_REG_X16 = 16,
    HV_REG_X17 = 17,
    HV_REG_X18 = 18,
    HV_REG_X19 = 19,
    HV_REG_X20 = 20,
    HV_REG_X21 = 21,
    HV_REG_X22 = 22,
    HV_REG_X23 = 23,
    HV_REG_X24 = 24,
    HV_REG_X25 = 25,
    HV_REG_X26 = 26,
    HV_REG_X27 = 27,
    HV_REG_X28 = 28,
    HV_REG_X29 = 29,
    HV_REG_FP = HV_REG_X29,
    HV_REG_X30 = 30,
    HV_REG_LR = HV_REG_X30,
    HV_REG_PC = 31,
    HV_REG_FPCR = 32,
    HV_REG_FPSR = 33,
    HV_REG_CPSR = 34,  /* PSTATE, in SPSR layout */
};

/* SIMD&FP registers for hv_vcpu_get_simd_fp_reg() / hv_vcpu_set_simd_fp_reg(). */
typedef uint32_t hv_simd_fp_reg_t;
enum {
    HV_SIMD_FP_REG_Q0 = 0,
    HV_SIMD_FP_REG_Q1 = 1,
    HV_SIMD_FP_REG_Q2 = 2,
    HV_SIMD_FP_REG_Q3 = 3,
    HV_SIMD_FP_REG_Q4 = 4,
    HV_SIMD_FP_REG_Q5 = 5,
    HV_SIMD_FP_REG_Q6 = 6,
    HV_SIMD_FP_REG_Q7 = 7,
    HV_SIMD_FP_REG_Q8 = 8,
    HV_SIMD_FP_REG_Q9 = 9,
    HV_SIMD_FP_REG_Q10 = 10,
    HV_SIMD_FP_REG_Q11 = 11,
    HV_SIMD_FP_REG_Q12 = 12,
    HV_SIMD_FP_REG_Q13 = 13,
    HV_SIMD_FP_REG_Q14 = 14,
    HV_SIMD_FP_REG_Q15 = 15,
    HV_SIMD_FP_REG_Q16 = 16,
    HV_SIMD_FP_REG_Q17 = 17,
    HV_SIMD_FP_REG_Q18 = 18,
    HV_SIMD_FP_REG_Q19 = 19,
    HV_SIMD_FP_REG_Q20 = 20,
    HV_SIMD_FP_REG_Q21 = 21,
    HV_SIMD_FP_REG_Q22 = 22,
    HV_SIMD_FP_REG_Q23 = 23,
    HV_SIMD_FP_REG_Q24 = 24,
    HV_SIMD_FP_REG_Q25 = 25,
    HV_SIMD_FP_REG_Q26 = 26,
    HV_SIMD_FP_REG_Q27 = 27,
    HV_SIMD_FP_REG_Q28 = 28,
    HV_SIMD_FP_REG_Q29 = 29,
    HV_SIMD_FP_REG_Q30 = 30,
    HV_SIMD_FP_REG_Q31 = 31,
};

/* SME PSTATE bits (macOS 15.2). */
typedef struct {
    bool streaming_sve_mode_enabled;  /* PSTATE.SM */
    bool za_storage_enabled;          /* PSTATE.ZA */
} hv_vcpu_sme_state_t;

/* Streaming-mode Z vector registers (macOS 15.2). */
typedef uint32_t hv_sme_z_reg_t;
enum {
    HV_SME_Z_REG_0 = 0,
    HV_SME_Z_REG_1 = 1,
    HV_SME_Z_REG_2 = 2,
    HV_SME_Z_REG_3 = 3,
    HV_SME_Z_REG_4 = 4,
    HV_SME_Z_REG_5 = 5,
    HV_SME_Z_REG_6 = 6,
    HV_SME_Z_REG_7 = 7,
    HV_SME_Z_REG_8 = 8,
    HV_SME_Z_REG_9 = 9,
    HV_SME_Z_REG_10 = 10,
    HV_SME_Z_REG_11 = 11,
    HV_SME_Z_REG_12 = 12,
    HV_SME_Z_REG_13 = 13,
    HV_SME_Z_REG_14 = 14,
    HV_SME_Z_REG_15 = 15,
    HV_SME_Z_REG_16 = 16,
    HV_SME_Z_REG_17 = 17,
    HV_SME_Z_REG_18 = 18,
    HV_SME_Z_REG_19 = 19,
    HV_SME_Z_REG_20 = 20,
    HV_SME_Z_REG_21 = 21,
    HV_SME_Z_REG_22 = 22,
    HV_SME_Z_REG_23 = 23,
    HV_SME_Z_REG_24 = 24,
    HV_SME_Z_REG_25 = 25,
    HV_SME_Z_REG_26 = 26,
    HV_SME_Z_REG_27 = 27,
    HV_SME_Z_REG_28 = 28,
    HV_SME_Z_REG_29 = 29,
    HV_SME_Z_REG_30 = 30,
    HV_SME_Z_REG_31 = 31,
};

/* Streaming-mode P predicate registers (macOS 15.2). */
typedef uint32_t hv_sme_p_reg_t;
enum {
    HV_SME_P_REG_0 = 0,
    HV_SME_P_REG_1 = 1,
    HV_SME_P_REG_2 = 2,
    HV_SME_P_REG_3 = 3,
    HV_SME_P_REG_4 = 4,
    HV_SME_P_REG_5 = 5,
    HV_SME_P_REG_6 = 6,
    HV_SME_P_REG_7 = 7,
    HV_SME_P_REG_8 = 8,
    HV_SME_P_REG_9 = 9,
    HV_SME_P_REG_10 = 10,
    HV_SME_P_REG_11 = 11,
    HV_SME_P_REG_12 = 12,
    HV_SME_P_REG_13 = 13,
    HV_SME_P_REG_14 = 14,
    HV_SME_P_REG_15 = 15,
};

/* Value of the SME2 ZT0 register: 64 bytes (macOS 15.2). The explicit alignment keeps
 * gcc and clang in agreement. */
typedef uint8_t hv_sme_zt0_uchar64_t __attribute__((vector_size(64), aligned(64)));

/* System registers for hv_vcpu_get_sys_reg() / hv_vcpu_set_sys_reg(). The value is the
 * MRS/MSR encoding op0:op1:CRn:CRm:op2 (op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2),
 * not the ISS layout of a trapped access. */
typedef uint16_t hv_sys_reg_t;
enum {
    HV_SYS_REG_DBGBVR0_EL1 = 0x8004,
    HV_SYS_REG_DBGBCR0_EL1 = 0x8005,
    HV_SYS_REG_DBGWVR0_EL1 = 0x8006,
    HV_SYS_REG_DBGWCR0_EL1 = 0x8007,
    HV_SYS_REG_DBGBVR1_EL1 = 0x800c,
    HV_SYS_REG_DBGBCR1_EL1 = 0x800d,
    HV_SYS_REG_DBGWVR1_EL1 = 0x800e,
    HV_SYS_REG_DBGWCR1_EL1 = 0x800f,
    HV_SYS_REG_MDCCINT_EL1 = 0x8010,
    HV_SYS_REG_MDSCR_EL1 = 0x8012,
    HV_SYS_REG_DBGBVR2_EL1 = 0x8014,
    HV_SYS_REG_DBGBCR2_EL1 = 0x8015,
    HV_SYS_REG_DBGWVR2_EL1 = 0x8016,
    HV_SYS_REG_DBGWCR2_EL1 = 0x8017,
    HV_SYS_REG_DBGBVR3_EL1 = 0x801c,
    HV_SYS_REG_DBGBCR3_EL1 = 0x801d,
    HV_SYS_REG_DBGWVR3_EL1 = 0x801e,
    HV_SYS_REG_DBGWCR3_EL1 = 0x801f,
    HV_SYS_REG_DBGBVR4_EL1 = 0x8024,
    HV_SYS_REG_DBGBCR4_EL1 = 0x8025,
    HV_SYS_REG_DBGWVR4_EL1 = 0x8026,
    HV_SYS_REG_DBGWCR4_EL1 = 0x8027,
    HV_SYS_REG_DBGBVR5_EL1 = 0x802c,
    HV_SYS_REG_DBGBCR5_EL1 = 0x802d,
    HV_SYS_REG_DBGWVR5_EL1 = 0x802e,
    HV_SYS_REG_DBGWCR5_EL1 = 0x802f,
    HV_SYS_REG_DBGBVR6_EL1 = 0x8034,
    HV_SYS_REG_DBGBCR6_EL1 = 0x8035,
    HV_SYS_REG_DBGWVR6_EL1 = 0x8036,
    HV_SYS_REG_DBGWCR6_EL1 = 0x8037,
    HV_SYS_REG_DBGBVR7_EL1 = 0x803c,
    HV_SYS_REG_DBGBCR7_EL1 = 0x803d,
    HV_SYS_REG_DBGWVR7_EL1 = 0x803e,
    HV_SYS_REG_DBGWCR7_EL1 = 0x803f,
    HV_SYS_REG_DBGBVR8_EL1 = 0x8044,
    HV_SYS_REG_DBGBCR8_EL1 = 0x8045,
    HV_SYS_REG_DBGWVR8_EL1 = 0x8046,
    HV_SYS_REG_DBGWCR8_EL1 = 0x8047,
    HV_SYS_REG_DBGBVR9_EL1 = 0x804c,
    HV_SYS_REG_DBGBCR9_EL1 = 0x804d,
    HV_SYS_REG_DBGWVR9_EL1 = 0x804e,
    HV_SYS_REG_DBGWCR9_EL1 = 0x804f,
    HV_SYS_REG_DBGBVR10_EL1 = 0x8054,
    HV_SYS_REG_DBGBCR10_EL1 = 0x8055,
    HV_SYS_REG_DBGWVR10_EL1 = 0x8056,
    HV_SYS_REG_DBGWCR10_EL1 = 0x8057,
    HV_SYS_REG_DBGBVR11_EL1 = 0x805c,
    HV_SYS_REG_DBGBCR11_EL1 = 0x805d,
    HV_SYS_REG_DBGWVR11_EL1 = 0x805e,
    HV_SYS_REG_DBGWCR11_EL1 = 0x805f,
    HV_SYS_REG_DBGBVR12_EL1 = 0x8064,
    HV_SYS_REG_DBGBCR12_EL1 = 0x8065,
    HV_SYS_REG_DBGWVR12_EL1 = 0x8066,
    HV_SYS_REG_DBGWCR12_EL1 = 0x8067,
    HV_SYS_REG_DBGBVR13_EL1 = 0x806c,
    HV_SYS_REG_DBGBCR13_EL1 = 0x806d,
    HV_SYS_REG_DBGWVR13_EL1 = 0x806e,
    HV_SYS_REG_DBGWCR13_EL1 = 0x806f,
    HV_SYS_REG_DBGBVR14_EL1 = 0x8074,
    HV_SYS_REG_DBGBCR14_EL1 = 0x8075,
    HV_SYS_REG_DBGWVR14_EL1 = 0x8076,
    HV_SYS_REG_DBGWCR14_EL1 = 0x8077,
    HV_SYS_REG_DBGBVR15_EL1 = 0x807c,
    HV_SYS_REG_DBGBCR15_EL1 = 0x807d,
    HV_SYS_REG_DBGWVR15_EL1 = 0x807e,
    HV_SYS_REG_DBGWCR15_EL1 = 0x807f,
    HV_SYS_REG_MIDR_EL1 = 0xc000,
    HV_SYS_REG_MPIDR_EL1 = 0xc005,
    HV_SYS_REG_ID_AA64PFR0_EL1 = 0xc020,
    HV_SYS_REG_ID_AA64PFR1_EL1 = 0xc021,
    HV_SYS_REG_ID_AA64ZFR0_EL1 = 0xc024, /* macOS 15.2, SME */
    HV_SYS_REG_ID_AA64SMFR0_EL1 = 0xc025, /* macOS 15.2, SME */
    HV_SYS_REG_ID_AA64DFR0_EL1 = 0xc028,
    HV_SYS_REG_ID_AA64DFR1_EL1 = 0xc029,
    HV_SYS_REG_ID_AA64ISAR0_EL1 = 0xc030,
    HV_SYS_REG_ID_AA64ISAR1_EL1 = 0xc031,
    HV_SYS_REG_ID_AA64MMFR0_EL1 = 0xc038,
    HV_SYS_REG_ID_AA64MMFR1_EL1 = 0xc039,
    HV_SYS_REG_ID_AA64MMFR2_EL1 = 0xc03a,
    HV_SYS_REG_SCTLR_EL1 = 0xc080,
    HV_SYS_REG_ACTLR_EL1 = 0xc081, /* macOS 15: only the EnTSO bit (1) */
    HV_SYS_REG_CPACR_EL1 = 0xc082,
    HV_SYS_REG_SMPRI_EL1 = 0xc094, /* macOS 15.2, SME */
    HV_SYS_REG_SMCR_EL1 = 0xc096, /* macOS 15.2, SME */
    HV_SYS_REG_TTBR0_EL1 = 0xc100,
    HV_SYS_REG_TTBR1_EL1 = 0xc101,
    HV_SYS_REG_TCR_EL1 = 0xc102,
    HV_SYS_REG_APIAKEYLO_EL1 = 0xc108,
    HV_SYS_REG_APIAKEYHI_EL1 = 0xc109,
    HV_SYS_REG_APIBKEYLO_EL1 = 0xc10a,
    HV_SYS_REG_APIBKEYHI_EL1 = 0xc10b,
    HV_SYS_REG_APDAKEYLO_EL1 = 0xc110,
    HV_SYS_REG_APDAKEYHI_EL1 = 0xc111,
    HV_SYS_REG_APDBKEYLO_EL1 = 0xc112,
    HV_SYS_REG_APDBKEYHI_EL1 = 0xc113,
    HV_SYS_REG_APGAKEYLO_EL1 = 0xc118,
    HV_SYS_REG_APGAKEYHI_EL1 = 0xc119,
    HV_SYS_REG_SPSR_EL1 = 0xc200,
    HV_SYS_REG_ELR_EL1 = 0xc201,
    HV_SYS_REG_SP_EL0 = 0xc208,
    HV_SYS_REG_AFSR0_EL1 = 0xc288,
    HV_SYS_REG_AFSR1_EL1 = 0xc289,
    HV_SYS_REG_ESR_EL1 = 0xc290,
    HV_SYS_REG_FAR_EL1 = 0xc300,
    HV_SYS_REG_PAR_EL1 = 0xc3a0,
    HV_SYS_REG_MAIR_EL1 = 0xc510,
    HV_SYS_REG_AMAIR_EL1 = 0xc518,
    HV_SYS_REG_VBAR_EL1 = 0xc600,
    HV_SYS_REG_CONTEXTIDR_EL1 = 0xc681,
    HV_SYS_REG_TPIDR_EL1 = 0xc684,
    HV_SYS_REG_SCXTNUM_EL1 = 0xc687, /* macOS 15.2, SME */
    HV_SYS_REG_CNTKCTL_EL1 = 0xc708,
    HV_SYS_REG_CSSELR_EL1 = 0xd000,
    HV_SYS_REG_TPIDR_EL0 = 0xde82,
    HV_SYS_REG_TPIDRRO_EL0 = 0xde83,
    HV_SYS_REG_TPIDR2_EL0 = 0xde85, /* macOS 15.2, SME */
    HV_SYS_REG_SCXTNUM_EL0 = 0xde87, /* macOS 15.2, SME */
    HV_SYS_REG_CNTV_CTL_EL0 = 0xdf19,
    HV_SYS_REG_CNTV_CVAL_EL0 = 0xdf1a,
    HV_SYS_REG_SP_EL1 = 0xe208,
    /* physical timer (macOS 15); only with a GIC created by hv_gic_create() */
    HV_SYS_REG_CNTP_CTL_EL0 = 0xdf11,
    HV_SYS_REG_CNTP_CVAL_EL0 = 0xdf12,
    HV_SYS_REG_CNTP_TVAL_EL0 = 0xdf10,
    /* EL2 registers (macOS 15); only when the VM configuration enables EL2 */
    HV_SYS_REG_CNTHCTL_EL2 = 0xe708,
    HV_SYS_REG_CNTHP_CTL_EL2 = 0xe711,
    HV_SYS_REG_CNTHP_CVAL_EL2 = 0xe712,
    HV_SYS_REG_CNTHP_TVAL_EL2 = 0xe710,
    HV_SYS_REG_CNTVOFF_EL2 = 0xe703,
    HV_SYS_REG_CPTR_EL2 = 0xe08a,
    HV_SYS_REG_ELR_EL2 = 0xe201,
    HV_SYS_REG_ESR_EL2 = 0xe290,
    HV_SYS_REG_FAR_EL2 = 0xe300,
    HV_SYS_REG_HCR_EL2 = 0xe088,
    HV_SYS_REG_HPFAR_EL2 = 0xe304,
    HV_SYS_REG_MAIR_EL2 = 0xe510,
    HV_SYS_REG_MDCR_EL2 = 0xe089,
    HV_SYS_REG_SCTLR_EL2 = 0xe080,
    HV_SYS_REG_SPSR_EL2 = 0xe200,
    HV_SYS_REG_SP_EL2 = 0xf208,
    HV_SYS_REG_TCR_EL2 = 0xe102,
    HV_SYS_REG_TPIDR_EL2 = 0xe682,
    HV_SYS_REG_TTBR0_EL2 = 0xe100,
    HV_SYS_REG_TTBR1_EL2 = 0xe101,
    HV_SYS_REG_VBAR_EL2 = 0xe600,
    HV_SYS_REG_VMPIDR_EL2 = 0xe005,
    HV_SYS_REG_VPIDR_EL2 = 0xe000,
    HV_SYS_REG_VTCR_EL2 = 0xe10a,
    HV_SYS_REG_VTTBR_EL2 = 0xe108,
};

/* Interrupt lines of hv_vcpu_get/set_pending_interrupt(). */
typedef uint32_t hv_interrupt_type_t;
enum {
    HV_INTERRUPT_TYPE_IRQ = 0,
    HV_INTERRUPT_TYPE_FIQ = 1,
};

/* Cache kinds of hv_vcpu_config_get_ccsidr_el1_sys_reg_values(). */
typedef uint32_t hv_cache_type_t;
enum {
    HV_CACHE_TYPE_DATA = 0,         /* data or unified caches */
    HV_CACHE_TYPE_INSTRUCTION = 1,  /* instruction caches */
};

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VCPU_TYPES_H */
