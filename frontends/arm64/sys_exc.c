/* sys_exc.c - AArch64 exception model for EL0/EL1: mode and SP banking, exception
 * entry through VBAR_EL1 (ESR/ELR/SPSR/FAR), interrupts, ERET, and the helpers that
 * raise exceptions or client exits (HVC/SMC/WFx/BRK) from translated code. */
#include "frontends/arm64/a64_fe.h"

#include "core/vm.h"

#define VBAR_ALIGN_MASK (~0x7ffull)
#define VEC_CURRENT_SP0 0x000u
#define VEC_CURRENT_SPX 0x200u
#define VEC_LOWER_A64 0x400u
#define PSTATE_DAIF (A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F)
#define PSTATE_M4 (1ull << 4)   /* AArch32 state: never entered here */
#define SPSR_KEEP (A64_NZCV_MASK | A64_PSTATE_SS | A64_PSTATE_IL | PSTATE_DAIF | A64_PSTATE_M_MASK)
#define SCTLR_NTWI (1ull << 16)
#define SCTLR_NTWE (1ull << 18)
#define FP_TRAP_ISS 0x1e00000u   /* CV = 1, COND = 0b1110 for traps from AArch64 */
#define DFSC_ALIGNMENT 0x21u
#define ISS_WNR (1u << 6)
#define WFX_ISS_WFE 1u

void a64_set_mode(struct a64_state *st, uint64_t new_pstate)
{
    a64_set_pstate(st, new_pstate);
}

static void enter_el1(struct a64_state *st, uint64_t vector_offset, uint64_t preferred_return)
{
    unsigned from_el = a64_el(st);
    uint64_t base = st->sys.vbar_el1 & VBAR_ALIGN_MASK;
    uint64_t off = from_el == 0 ? VEC_LOWER_A64
                   : (st->pstate & A64_PSTATE_M_MASK) == A64_PSTATE_EL1H ? VEC_CURRENT_SPX
                                                                         : VEC_CURRENT_SP0;
    st->sys.spsr_el1 = st->pstate & SPSR_KEEP;
    st->sys.elr_el1 = preferred_return;
    a64_set_mode(st, (st->pstate & A64_NZCV_MASK) | PSTATE_DAIF | A64_PSTATE_EL1H);
    st->pc = base + off + vector_offset;
    st->excl_addr = A64_EXCL_NONE;
}

void a64_take_exception(struct soft_cpu *cpu, uint32_t ec, uint32_t iss, uint64_t far, bool far_valid,
                        uint64_t preferred_return)
{
    struct a64_state *st = a64_st(cpu);
    st->sys.esr_el1 = ((uint64_t)ec << A64_ESR_EC_SHIFT) | A64_ESR_IL | iss;
    if (far_valid)
        st->sys.far_el1 = far;
    enter_el1(st, 0, preferred_return);
}

void a64_take_interrupt(struct soft_cpu *cpu, uint64_t vector_offset)
{
    struct a64_state *st = a64_st(cpu);
    enter_el1(st, vector_offset, st->pc);
}

/* Leave the block with an exit for the client; pc is where the guest resumes. */
static _Noreturn void client_exit(struct soft_cpu *cpu, enum exit_kind kind, uint64_t insn_pc, uint64_t resume_pc)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    e->kind = kind;
    e->pc = insn_pc;
    e->insn_len = 4;
    a64_st(cpu)->pc = resume_pc;
    soft_unwind(cpu, SOFT_STOP_EXIT);
}

static _Noreturn void fault(struct soft_cpu *cpu, uint32_t ec, uint32_t iss, uint64_t pc)
{
    a64_take_exception(cpu, ec, iss, 0, false, pc);
    soft_unwind(cpu, SOFT_STOP_FAULT);
}

static void debug_exit(struct soft_cpu *cpu, uint32_t ec, uint32_t iss, uint64_t pc)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    e->u.exc.syndrome = ((uint64_t)ec << A64_ESR_EC_SHIFT) | A64_ESR_IL | iss;
    e->u.exc.fault_addr = 0;
    client_exit(cpu, EXIT_EXCEPTION, pc, pc);
}

static ir_u128 helper_raise(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    enum a64_raise kind = (enum a64_raise)(a & 0xff);
    uint32_t imm = (uint32_t)(a >> 8) & 0xffffu;
    uint64_t pc = (uint64_t)b;
    (void)c;
    switch (kind) {
    case A64_RAISE_SVC:
        a64_take_exception(cpu, A64_EC_SVC64, imm, 0, false, pc + 4);
        soft_unwind(cpu, SOFT_STOP_FAULT);
    case A64_RAISE_HVC:
        cpu->vcpu->exit.u.imm = imm;
        client_exit(cpu, EXIT_HYPERCALL, pc, pc + 4);   /* HVC: pc already past it */
    case A64_RAISE_SMC:
        cpu->vcpu->exit.u.imm = imm;
        client_exit(cpu, EXIT_SMC, pc, pc);             /* SMC: pc on it, the VMM adds 4 */
    case A64_RAISE_BRK:
        if (cpu->vcpu->ext.a64.trap_debug_exceptions)
            debug_exit(cpu, A64_EC_BRK, imm, pc);
        fault(cpu, A64_EC_BRK, imm, pc);
    case A64_RAISE_WFI:
    case A64_RAISE_WFE: {
        bool wfe = kind == A64_RAISE_WFE;
        if (a64_el(st) == 0 && !(st->sys.sctlr_el1 & (wfe ? SCTLR_NTWE : SCTLR_NTWI)))
            fault(cpu, A64_EC_WFX, wfe ? WFX_ISS_WFE : 0, pc);
        cpu->vcpu->exit.u.imm = wfe;
        if (cpu->fe_data)   /* the VMM waits for the timer: read the clock on return */
            ((struct a64_fe_data *)cpu->fe_data)->timer_quiet_left = 0;
        client_exit(cpu, EXIT_HLT, pc, pc);             /* the VMM advances pc */
    }
    case A64_RAISE_FP_TRAP:
        fault(cpu, A64_EC_FP, FP_TRAP_ISS, pc);
    case A64_RAISE_SP_ALIGN:
        fault(cpu, A64_EC_SP_ALIGN, 0, pc);
    case A64_RAISE_ILLEGAL:
        fault(cpu, A64_EC_ILLEGAL, 0, pc);   /* SPSR keeps IL; entry clears it */
    case A64_RAISE_HLT:
    case A64_RAISE_UNDEF:
    default:
        fault(cpu, A64_EC_UNKNOWN, 0, pc);
    }
}

/* ERET from EL1: restore PSTATE from SPSR_EL1 and pc from ELR_EL1. A return to a
 * mode that does not exist here is an illegal exception return: PSTATE.IL is set
 * and the EL is kept, so the next instruction takes an Illegal State exception. */
static ir_u128 helper_eret(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    (void)a, (void)b, (void)c;
    uint64_t spsr = st->sys.spsr_el1, mode = spsr & A64_PSTATE_M_MASK;
    bool legal = !(spsr & PSTATE_M4) &&
                 (mode == A64_PSTATE_EL0T || mode == A64_PSTATE_EL1T || mode == A64_PSTATE_EL1H);
    if (legal) {
        a64_set_mode(st, spsr & SPSR_KEEP);
    } else {
        uint64_t keep_mode = st->pstate & A64_PSTATE_M_MASK;
        a64_set_mode(st, (spsr & (SPSR_KEEP & ~A64_PSTATE_M_MASK)) | keep_mode | A64_PSTATE_IL);
    }
    st->pc = st->sys.elr_el1;
    st->excl_addr = A64_EXCL_NONE;
    return 0;
}

/* Alignment check of exclusives, atomics and acquire/release accesses. */
static ir_u128 helper_align(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    uint64_t addr = (uint64_t)a, mask = (uint64_t)b & 0xff;
    if (!(addr & mask))
        return 0;
    struct a64_state *st = a64_st(cpu);
    uint32_t ec = a64_el(st) == 0 ? A64_EC_DABT_LOW : A64_EC_DABT_CUR;
    uint32_t iss = DFSC_ALIGNMENT | (((uint64_t)b & 0x100) ? ISS_WNR : 0);
    a64_take_exception(cpu, ec, iss, addr, true, (uint64_t)c);
    soft_unwind(cpu, SOFT_STOP_FAULT);
}

void a64_trap_stop(struct soft_cpu *cpu, uint64_t detail)
{
    struct a64_state *st = a64_st(cpu);
    switch ((enum a64_raise)detail) {
    case A64_RAISE_SP_ALIGN:
        a64_take_exception(cpu, A64_EC_SP_ALIGN, 0, 0, false, st->pc);
        break;
    case A64_RAISE_UNDEF:
    default:   /* no other guard traps inline */
        a64_take_exception(cpu, A64_EC_UNKNOWN, 0, 0, false, st->pc);
        break;
    }
}

#define CRC32_POLY 0xedb88320u    /* bit-reflected polynomials */
#define CRC32C_POLY 0x82f63b78u

static ir_u128 helper_crc32(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    (void)opaque;
    uint32_t crc = (uint32_t)a;
    uint64_t val = (uint64_t)b;
    unsigned bytes = (unsigned)c & 0xff;
    uint32_t poly = ((unsigned)c & 0x100) ? CRC32C_POLY : CRC32_POLY;
    for (unsigned i = 0; i < bytes * 8; i++) {
        uint32_t bit = (crc ^ (uint32_t)(val >> i)) & 1u;
        crc = (crc >> 1) ^ (bit ? poly : 0);
    }
    return crc;
}

extern ir_u128 a64_helper_mrs(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
extern ir_u128 a64_helper_msr(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
extern ir_u128 a64_helper_msr_imm(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
extern ir_u128 a64_helper_sys(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);

#define SYSTEM_HELPER (IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT)

void a64_helpers_register(void)
{
    static const struct ir_helper helpers[] = {
        [A64_H_RAISE] = { "a64_raise", helper_raise, SYSTEM_HELPER },
        [A64_H_MRS] = { "a64_mrs", a64_helper_mrs, SYSTEM_HELPER },
        [A64_H_MRS_READ] = { "a64_mrs_read", a64_helper_mrs, IR_HELPER_READS_STATE | IR_HELPER_MAY_FAULT },
        [A64_H_MSR] = { "a64_msr", a64_helper_msr, SYSTEM_HELPER },
        [A64_H_MSR_IMM] = { "a64_msr_imm", a64_helper_msr_imm, SYSTEM_HELPER },
        [A64_H_SYS] = { "a64_sys", a64_helper_sys, SYSTEM_HELPER | IR_HELPER_MEM },
        [A64_H_ERET] = { "a64_eret", helper_eret, SYSTEM_HELPER },
        /* It changes state only to take the fault: a block with exclusives can chain. */
        [A64_H_ALIGN] = { "a64_align", helper_align, IR_HELPER_READS_STATE | IR_HELPER_MAY_FAULT },
        [A64_H_CRC32] = { "a64_crc32", helper_crc32, IR_HELPER_PURE },
        [A64_H_BREAKPOINT] = { "a64_breakpoint", a64_helper_breakpoint, SYSTEM_HELPER },
        [A64_H_WATCHPOINT] = { "a64_watchpoint", a64_helper_watchpoint, SYSTEM_HELPER },
    };
    for (unsigned i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
        if (helpers[i].fn)
            a64_helper_id[i] = ir_helper_register(&helpers[i]);
    a64_fp_helpers_register();
    a64_simd_helpers_register();
}
