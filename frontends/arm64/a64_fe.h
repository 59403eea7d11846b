/* a64_fe.h - internals shared by the arm64 frontend's files: the translation
 * context, instruction field extraction, state offsets, the memory-access info
 * word (syndrome fields for stage-2 aborts), helper ids and system hooks. */
#ifndef ANYHV_FRONTENDS_ARM64_A64_FE_H
#define ANYHV_FRONTENDS_ARM64_A64_FE_H

#include <stddef.h>
#include <stdint.h>

#include "core/a64_state.h"
#include "core/a64_timer.h"
#include "core/soft/soft.h"
#include "frontends/arm64/decode.h"
#include "jit/ir.h"

/* Translation of one block. */
struct a64_tc {
    struct ir_block *b;
    struct soft_cpu *cpu;
    uint64_t pc;        /* pc of the instruction being translated */
    unsigned el;        /* exception level the block runs at (in the mode key) */
    bool fp_enabled;    /* CPACR_EL1.FPEN allows FP/SIMD at this EL (in the mode key) */
    bool fp_default;    /* FPCR's RMode, FZ and DN are 0: arithmetic lifts to the IR's FP ops */
    bool sp_align;      /* SCTLR_EL1.SA/SA0 checks SP-based addresses (in the mode key) */
    bool breakpoints;   /* hardware breakpoints armed (in the mode key) */
    bool watchpoints;   /* watchpoints armed: data accesses are checked (in the mode key) */
    bool ended;         /* a terminator was emitted */
};

/* Instruction fields. */
static inline uint32_t a64_bits(uint32_t insn, unsigned lsb, unsigned width)
{
    return (insn >> lsb) & ((1u << width) - 1u);
}
static inline int64_t a64_sbits(uint32_t insn, unsigned lsb, unsigned width)
{
    uint64_t v = a64_bits(insn, lsb, width);
    return (int64_t)(v << (64 - width)) >> (64 - width);
}
#define A64_RD(i) a64_bits(i, 0, 5)
#define A64_RT(i) a64_bits(i, 0, 5)
#define A64_RN(i) a64_bits(i, 5, 5)
#define A64_RT2(i) a64_bits(i, 10, 5)
#define A64_RA(i) a64_bits(i, 10, 5)
#define A64_RM(i) a64_bits(i, 16, 5)
#define A64_RS(i) a64_bits(i, 16, 5)
#define A64_SF(i) a64_bits(i, 31, 1)

/* State offsets used by generated IR. */
#define A64_OFF_X(n) ((uint32_t)(offsetof(struct a64_state, x) + 8u * (n)))
#define A64_OFF_SP ((uint32_t)offsetof(struct a64_state, sp))
#define A64_OFF_PC ((uint32_t)offsetof(struct a64_state, pc))
#define A64_OFF_PSTATE ((uint32_t)offsetof(struct a64_state, pstate))
#define A64_OFF_FPCR ((uint32_t)offsetof(struct a64_state, fpcr))
#define A64_OFF_FPSR ((uint32_t)offsetof(struct a64_state, fpsr))
#define A64_OFF_V(n) ((uint32_t)(offsetof(struct a64_state, v) + 16u * (n)))
#define A64_OFF_EXCL_ADDR ((uint32_t)offsetof(struct a64_state, excl_addr))
#define A64_OFF_EXCL_VAL ((uint32_t)offsetof(struct a64_state, excl_val))
#define A64_NZCV_SHIFT 28
#define A64_NZCV_MASK (0xfull << A64_NZCV_SHIFT)
#define A64_EXCL_NONE UINT64_MAX   /* monitor open: no exclusive reservation */

/* LOAD/STORE info word (IR imm2): what a stage-2 data abort reports in its ISS. */
#define A64_INFO_ISV (1u << 0)        /* syndrome valid: single GPR, no writeback */
#define A64_INFO_SAS_SHIFT 1          /* log2 of the access size */
#define A64_INFO_SSE (1u << 3)
#define A64_INFO_SRT_SHIFT 4
#define A64_INFO_SF (1u << 9)
#define A64_INFO_AR (1u << 10)
#define A64_INFO_CM (1u << 11)        /* cache maintenance (DC) */
#define A64_INFO_SAS(info) (((info) >> A64_INFO_SAS_SHIFT) & 3u)
#define A64_INFO_SRT(info) (((info) >> A64_INFO_SRT_SHIFT) & 31u)

/* Exceptions raised from translated code (helper A64_H_RAISE, argument 0 low byte;
 * or an inline TRAP_IF guard whose detail is the kind, delivered by a64_trap_stop). */
enum a64_raise {
    A64_RAISE_UNDEF,       /* EC 0x00 to EL1 */
    A64_RAISE_SVC,         /* EC 0x15 to EL1 */
    A64_RAISE_HVC,         /* exit: EC 0x16 */
    A64_RAISE_SMC,         /* exit: EC 0x17 */
    A64_RAISE_BRK,         /* EC 0x3c: exit with trap_debug_exceptions, else EL1 */
    A64_RAISE_HLT,         /* halting debug off: UNDEFINED */
    A64_RAISE_WFI,         /* exit: EC 0x01 */
    A64_RAISE_WFE,
    A64_RAISE_FP_TRAP,     /* EC 0x07 (CPACR_EL1.FPEN) */
    A64_RAISE_SP_ALIGN,    /* EC 0x26 */
    A64_RAISE_ILLEGAL,     /* EC 0x0e: PSTATE.IL set */
};

/* Helpers registered once per process; ids in a64_helper_id[]. */
enum a64_helper {
    A64_H_RAISE,        /* (kind | imm16 << 8, pc, 0): never returns */
    A64_H_MRS,          /* (sysreg | rt << 16, pc, 0) -> value */
    A64_H_MRS_READ,     /* the same, for registers whose read changes nothing (a64_mrs_reads_only) */
    A64_H_MSR,          /* (sysreg | rt << 16, value, pc) */
    A64_H_MSR_IMM,      /* (op1:op2:CRm packed, pc, 0) */
    A64_H_SYS,          /* (sysreg | rt << 16, value, pc): DC/IC/TLBI/AT */
    A64_H_ERET,         /* (pc, 0, 0) */
    A64_H_ALIGN,        /* (addr, size - 1 | write << 8 | info << 16, pc): alignment fault */
    A64_H_CRC32,        /* (crc, value, size | castagnoli << 8) */
    A64_H_FP_BINOP,     /* (a, b, op | ftype << 8) with FPCR/FPSR */
    A64_H_FP_UNOP,      /* (a, 0, op | ftype << 8 | ...) */
    A64_H_FP_FMA,       /* (a, b, c) packed below */
    A64_H_FP_CMP,       /* (a, b, ftype | signal << 8) -> nzcv */
    A64_H_FP_CVT,       /* conversions */
    A64_H_SIMD,         /* (insn, group, 0): an AdvSIMD instruction on state */
    A64_H_SIMD_MEM,     /* (insn, pc, 0): LD1-4/ST1-4 structures */
    A64_H_BREAKPOINT,   /* (pc, 0, 0): hardware breakpoint check before an instruction */
    A64_H_WATCHPOINT,   /* (addr, size | write << 8, pc): watchpoint check before a data access */
    A64_H_FP_DEFAULT,   /* the IR FP ops' fallback, FPCR the default (pure) */
    A64_H_COUNT
};
extern uint32_t a64_helper_id[A64_H_COUNT];

/* ---- lift.c: building blocks for the translators ---- */
static inline enum ir_type a64_ty(unsigned sf) { return sf ? IR_I64 : IR_I32; }
ir_val a64_imm(struct a64_tc *t, unsigned sf, uint64_t v);
ir_val a64_x(struct a64_tc *t, unsigned n, unsigned sf);       /* Xn/Wn, 31 = zero */
ir_val a64_xsp(struct a64_tc *t, unsigned n, unsigned sf);     /* Xn/Wn, 31 = SP */
void a64_set_x(struct a64_tc *t, unsigned n, ir_val v);        /* zero-extends W; 31 = discard */
void a64_set_xsp(struct a64_tc *t, unsigned n, ir_val v);      /* 31 = SP */
ir_val a64_cond(struct a64_tc *t, unsigned cond);              /* i1 */
void a64_set_nzcv(struct a64_tc *t, ir_val n, ir_val z, ir_val c, ir_val v);
void a64_set_nzcv_imm(struct a64_tc *t, ir_val when, unsigned nzcv);
void a64_set_nz00(struct a64_tc *t, ir_val res);
/* x + y + carry_in (carry_in may be IR_NONE), setting NZCV when flags. */
ir_val a64_add_with_carry(struct a64_tc *t, ir_val x, ir_val y, ir_val carry_in, bool flags);
ir_val a64_sub_flags(struct a64_tc *t, ir_val x, ir_val y);   /* x - y, setting NZCV */
ir_val a64_shift(struct a64_tc *t, ir_val v, unsigned type, unsigned amount);
ir_val a64_extend(struct a64_tc *t, ir_val v, unsigned option, unsigned shift, unsigned sf);
uint64_t a64_mem_flags(struct a64_tc *t, unsigned size);
/* Base register of an address (Xn|SP), with the SP alignment check when enabled. */
ir_val a64_addr_base(struct a64_tc *t, unsigned rn);
uint32_t a64_info(unsigned rt, unsigned size_log2, bool sse, bool sf, bool ar);
/* Raise an exception at this instruction and end the block. */
void a64_raise(struct a64_tc *t, enum a64_raise kind, uint32_t imm);
/* End the block: jump to pc / stop for re-dispatch at pc. */
void a64_end_jump(struct a64_tc *t, uint64_t target);
void a64_end_stop(struct a64_tc *t, uint64_t next_pc);
/* CPACR check for FP/SIMD instructions: raises and returns false when trapped. */
bool a64_fp_check(struct a64_tc *t);
/* Decode a logical immediate (N:immr:imms); false when reserved. */
bool a64_decode_bitmask(unsigned n, unsigned imms, unsigned immr, bool immediate, unsigned width,
                        uint64_t *wmask, uint64_t *tmask);

/* ---- sys_*.c: system semantics (run on the vCPU thread, from helpers) ---- */
static inline struct a64_state *a64_st(struct soft_cpu *cpu)
{
    return cpu->state;
}

static inline unsigned a64_el(const struct a64_state *st)
{
    return (st->pstate & A64_PSTATE_M_MASK) == A64_PSTATE_EL0T ? 0 : 1;
}
/* Take a synchronous exception to EL1 (ESR/ELR/SPSR/FAR, vector). */
/* The SP must be 16-byte aligned for an access based on it when SCTLR_EL1.SA/SA0 says so. */
#define A64_SP_ALIGN_MASK 15u
/* Deliver the fault of a TRAP_IF guard (IR_STOP_EXCEPTION, detail = enum a64_raise);
 * the pc is the faulting instruction's. */
void a64_trap_stop(struct soft_cpu *cpu, uint64_t detail);
ir_val a64_mrs_inline(struct a64_tc *t, uint32_t id);
bool a64_mrs_reads_only(uint32_t id);
void a64_take_exception(struct soft_cpu *cpu, uint32_t ec, uint32_t iss, uint64_t far, bool far_valid,
                        uint64_t preferred_return);
/* Asynchronous: vector offset 0x80 IRQ, 0x100 FIQ. */
void a64_take_interrupt(struct soft_cpu *cpu, uint64_t vector_offset);
/* Switch PSTATE.M (EL/SPSel), banking SP. */
void a64_set_mode(struct a64_state *st, uint64_t new_pstate);
void a64_helpers_register(void);
void a64_fp_helpers_register(void);   /* fp_helpers.c */
extern const struct ir_helper a64_fp_default_helper;
/* AdvSIMD FADD/FSUB/FMUL/FDIV/FSQRT (vector, 4S/2D) as packed IR FP ops under the
 * default FPCR (trans_fp.c); false when the instruction is not one of them. */
bool a64_simd_fp_ir(struct a64_tc *t, uint32_t insn, bool misc);
/* Scalar FP operations on raw bits (fp_helpers.c), also used lane by lane. */
/* The operation codes in the low byte of their control words. */
enum fp_binop { FB_ADD, FB_SUB, FB_MUL, FB_DIV, FB_NMUL, FB_MAX, FB_MIN, FB_MAXNM, FB_MINNM, FB_MULX, FB_RECPS, FB_RSQRTS };
enum fp_unop { FU_SQRT, FU_CVT_S2D, FU_CVT_D2S, FU_CVT_H2S, FU_CVT_H2D, FU_CVT_S2H, FU_CVT_D2H, FU_RINT,
               FU_RECPE, FU_RSQRTE, FU_RECPX, FU_CVT_D2S_ODD /* FCVTXN: round to odd */ };
/* The Arm ARM's RecipEstimate() (256 <= a < 512) and RecipSqrtEstimate() (128 <= a < 512). */
unsigned a64_recip_estimate(unsigned a);
unsigned a64_rsqrt_estimate(unsigned a);
enum fp_cvt { FC_SCVTF, FC_UCVTF, FC_FCVTZS, FC_FCVTZU };
enum fp_cvt_rm { RM_ZERO, RM_NEAREST, RM_PLUS, RM_MINUS, RM_AWAY };   /* float to int, bits 14:12 */
/* FU_RINT's rounding (bits 14:12) is the FRINT rmode field: N P M Z A - X I. */
enum fp_rint_rm { RINT_N, RINT_P, RINT_M, RINT_Z, RINT_A, RINT_X = 6, RINT_I };
ir_u128 a64_fp_binop(void *cpu, ir_u128 a, ir_u128 b, ir_u128 ctl);
ir_u128 a64_fp_unop(void *cpu, ir_u128 a, ir_u128 b, ir_u128 ctl);
ir_u128 a64_fp_fma(void *cpu, ir_u128 a, ir_u128 b, ir_u128 ctl);
ir_u128 a64_fp_cmp(void *cpu, ir_u128 a, ir_u128 b, ir_u128 ctl);
ir_u128 a64_fp_cvt(void *cpu, ir_u128 a, ir_u128 b, ir_u128 ctl);
/* simd_helpers.c: AdvSIMD groups run by one helper each (whole instruction). */
enum a64_simd_group { A64_SIMD_SAME, A64_SIMD_MISC, A64_SIMD_SHIFT, A64_SIMD_ACROSS, A64_SIMD_PERM,
                      A64_SIMD_EXT, A64_SIMD_TBL, A64_SIMD_LDST_MULTI, A64_SIMD_LDST_SINGLE, A64_SIMD_DIFF, A64_SIMD_PAIR, A64_SIMD_SCALAR_MISC,
                      A64_SIMD_SCALAR_SAME, A64_SIMD_SCALAR_SHIFT, A64_SIMD_ELEM, A64_SIMD_SCALAR_ELEM,
                      A64_SIMD_SCALAR_DIFF };
bool a64_simd_valid(uint32_t insn, unsigned group);
/* simd_vec.c: a valid instruction of `group` lifted to IR vector ops; false when it
 * has none (the group helper runs it). */
bool a64_simd_vec(struct a64_tc *t, uint32_t insn, unsigned group);
/* ADD/SUB/CMEQ (vector) as IR op op; false for a reserved size. */
bool a64_simd_vec_lanewise(struct a64_tc *t, uint32_t insn, enum ir_op op);
/* simd_ldst.c: LD1-4/ST1-4 and LD1R-LD4R. */
bool a64_simd_ldst_valid(uint32_t insn, unsigned group);
ir_u128 a64_helper_simd_mem(void *cpu, ir_u128 a, ir_u128 b, ir_u128 cc);
/* simd_sat.c: saturating lane arithmetic (FPSR.QC set through *fpsr on saturation). */
uint64_t a64_satq(uint64_t *fpsr, __int128 v, unsigned bits, bool is_signed);
uint64_t a64_shift_reg(uint64_t *fpsr, uint64_t x, uint64_t y, unsigned bits, bool is_signed, bool round,
                       bool saturate);
uint64_t a64_sqdmulh(uint64_t *fpsr, uint64_t x, uint64_t y, unsigned bits, bool round);
uint64_t a64_sqdmull(uint64_t *fpsr, uint64_t x, uint64_t y, uint64_t acc, unsigned bits, int acc_op);
void a64_simd_helpers_register(void);
/* Generic timer */
uint64_t a64_host_counter(const struct soft_cpu *cpu);
uint64_t a64_cntvct(struct soft_cpu *cpu);
bool a64_vtimer_firing(struct soft_cpu *cpu);
/* The same condition for the check before each block: the clock is read only every
 * few blocks while the timer registers stay as they were (exact in deterministic
 * mode, and at once after any write to CTL, CVAL or the offset). */
bool a64_vtimer_due(struct soft_cpu *cpu);
/* ISR_EL1 view of the interrupt lines now: I (bit 7) and F (bit 6). */
uint64_t a64_interrupt_lines(struct soft_cpu *cpu);
/* FPCR: AHP, DN, FZ, RMode (no trapped FP exceptions); FPSR: QC and cumulative flags. */
#define A64_FPCR_WRITABLE 0x07c00000ull
#define A64_FPSR_WRITABLE 0x0800009full
/* sys_mmu.c: translation-regime changes, AT and TLBI. */
void a64_sysreg_written(struct soft_cpu *cpu, uint32_t id, uint64_t old, uint64_t value);
void a64_at(struct soft_cpu *cpu, uint64_t va, unsigned op2);
/* Per-vCPU frontend data (soft_cpu.fe_data). */
struct a64_fe_data {
    /* The virtual span of the blocks (larger than a page) TLB entries came from since
     * the last full flush, per translation range (VA[55]: TTBR0, TTBR1); empty when
     * lo > hi. A TLBI by VA outside it drops only the VA's granule: the kernel's
     * block-mapped linear map no longer turns a TLBI of a fixmap or vmalloc page into
     * a full flush. */
    uint64_t big_lo[2], big_hi[2];
    bool step_armed;    /* software step: one instruction may run, then the step exit */
    /* a64_vtimer_due: the timer registers when the clock was last read, and how many
     * more block boundaries may trust that it had not fired yet. */
    uint64_t timer_ctl, timer_cval, timer_off;
    uint32_t timer_quiet_left;
};
void *a64_fe_data_new(void);
/* sys_debug.c: debug exceptions the client traps (hv_vcpu_set_trap_debug_exceptions). */
bool a64_step_active(const struct soft_cpu *cpu);
/* No software step, breakpoint or watchpoint can be active: MDSCR_EL1.SS and MDE are
 * clear and the client does not trap debug exceptions. The checks before each block
 * and the mode key look here first. */
#define A64_MDSCR_SS (1ull << 0)
#define A64_MDSCR_MDE (1ull << 15)
static inline bool a64_debug_idle(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    return !(st->sys.mdscr_el1 & (A64_MDSCR_SS | A64_MDSCR_MDE)) && !cpu->vcpu->ext.a64.trap_debug_exceptions;
}
bool a64_breakpoints_armed(const struct soft_cpu *cpu);
/* Before a block: the software-step exit when one instruction has run; false = exit. */
bool a64_step_check(struct soft_cpu *cpu);
ir_u128 a64_helper_breakpoint(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
bool a64_watchpoints_armed(const struct soft_cpu *cpu);
ir_u128 a64_helper_watchpoint(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
/* lift.c: the watchpoint check before a data access of `size` bytes at addr (only
 * emitted while watchpoints are armed). */
void a64_watch(struct a64_tc *t, ir_val addr, unsigned size, bool write);
bool a64_tlbi(struct soft_cpu *cpu, unsigned op2, uint64_t arg, bool broadcast);
/* Stage 1 through mmu/walk_a64.c, with fault delivery. */
bool a64_mmu_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct mmu_entry *out);
void a64_stage2_fault(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, uint64_t info);
/* Exception classes. */
enum a64_ec {
    A64_EC_UNKNOWN = 0x00, A64_EC_WFX = 0x01, A64_EC_FP = 0x07, A64_EC_ILLEGAL = 0x0e,
    A64_EC_SVC64 = 0x15, A64_EC_HVC64 = 0x16, A64_EC_SMC64 = 0x17, A64_EC_SYS64 = 0x18,
    A64_EC_IABT_LOW = 0x20, A64_EC_IABT_CUR = 0x21, A64_EC_PC_ALIGN = 0x22,
    A64_EC_DABT_LOW = 0x24, A64_EC_DABT_CUR = 0x25, A64_EC_SP_ALIGN = 0x26,
    A64_EC_BRK = 0x3c,
};
#define A64_ESR_IL (1u << 25)
#define A64_ESR_EC_SHIFT 26

#endif /* ANYHV_FRONTENDS_ARM64_A64_FE_H */
