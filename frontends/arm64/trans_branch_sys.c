/* trans_branch_sys.c - A64 "Branches, Exception Generating and System
 * instructions": direct, conditional and indirect branches, SVC/HVC/SMC/BRK/HLT,
 * hints (WFI/WFE), barriers, MSR/MRS, SYS (DC/IC/TLBI/AT) and ERET. System work
 * happens in helpers (sys_*.c) that see the whole vCPU. */
#include "frontends/arm64/a64_fe.h"

bool trans_B_uncond(struct a64_tc *t, uint32_t insn)
{
    a64_end_jump(t, t->pc + (uint64_t)(a64_sbits(insn, 0, 26) * 4));
    return true;
}

bool trans_BL(struct a64_tc *t, uint32_t insn)
{
    a64_set_x(t, 30, ir_const(t->b, IR_I64, t->pc + 4));
    a64_end_jump(t, t->pc + (uint64_t)(a64_sbits(insn, 0, 26) * 4));
    return true;
}

static bool branch_if(struct a64_tc *t, ir_val cond, int64_t offset)
{
    ir_branch(t->b, cond, t->pc + (uint64_t)offset, t->pc + 4);
    t->ended = true;
    return true;
}

static bool compare_branch(struct a64_tc *t, uint32_t insn, bool nonzero)
{
    unsigned sf = A64_SF(insn);
    ir_val v = a64_x(t, A64_RT(insn), sf);
    ir_val c = ir_binop(t->b, nonzero ? IR_NE : IR_EQ, v, a64_imm(t, sf, 0));
    return branch_if(t, c, a64_sbits(insn, 5, 19) * 4);
}

bool trans_CBZ(struct a64_tc *t, uint32_t insn) { return compare_branch(t, insn, false); }
bool trans_CBNZ(struct a64_tc *t, uint32_t insn) { return compare_branch(t, insn, true); }

static bool test_branch(struct a64_tc *t, uint32_t insn, bool nonzero)
{
    unsigned bit = (a64_bits(insn, 31, 1) << 5) | a64_bits(insn, 19, 5);
    ir_val v = ir_extract(t->b, IR_I1, a64_x(t, A64_RT(insn), 1), bit);
    if (!nonzero)
        v = ir_unop(t->b, IR_NOT, v);
    return branch_if(t, v, a64_sbits(insn, 5, 14) * 4);
}

bool trans_TBZ(struct a64_tc *t, uint32_t insn) { return test_branch(t, insn, false); }
bool trans_TBNZ(struct a64_tc *t, uint32_t insn) { return test_branch(t, insn, true); }

bool trans_B_cond(struct a64_tc *t, uint32_t insn)
{
    return branch_if(t, a64_cond(t, a64_bits(insn, 0, 4)), a64_sbits(insn, 5, 19) * 4);
}

static bool branch_reg(struct a64_tc *t, uint32_t insn, bool link)
{
    ir_val target = a64_x(t, A64_RN(insn), 1);   /* read before the link write: BLR X30 */
    if (link)
        a64_set_x(t, 30, ir_const(t->b, IR_I64, t->pc + 4));
    ir_jump_ind(t->b, target);
    t->ended = true;
    return true;
}

bool trans_BR(struct a64_tc *t, uint32_t insn) { return branch_reg(t, insn, false); }
bool trans_BLR(struct a64_tc *t, uint32_t insn) { return branch_reg(t, insn, true); }
bool trans_RET(struct a64_tc *t, uint32_t insn) { return branch_reg(t, insn, false); }

/* ---- exception generation ---- */
bool trans_SVC(struct a64_tc *t, uint32_t insn)
{
    a64_raise(t, A64_RAISE_SVC, a64_bits(insn, 5, 16));
    return true;
}

bool trans_HVC(struct a64_tc *t, uint32_t insn)
{
    if (t->el == 0)
        return false;
    a64_raise(t, A64_RAISE_HVC, a64_bits(insn, 5, 16));
    return true;
}

bool trans_SMC(struct a64_tc *t, uint32_t insn)
{
    if (t->el == 0)
        return false;
    a64_raise(t, A64_RAISE_SMC, a64_bits(insn, 5, 16));
    return true;
}

bool trans_BRK(struct a64_tc *t, uint32_t insn)
{
    a64_raise(t, A64_RAISE_BRK, a64_bits(insn, 5, 16));
    return true;
}

/* Halting debug is never enabled here, so HLT is UNDEFINED. */
bool trans_HLT(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    a64_raise(t, A64_RAISE_HLT, 0);
    return true;
}

/* ---- hints and barriers ---- */
bool trans_NOP(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }
bool trans_YIELD(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }
bool trans_SEV(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }
bool trans_SEVL(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }
/* Unallocated hints execute as NOP. */
bool trans_HINT(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }

bool trans_WFI(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    a64_raise(t, A64_RAISE_WFI, 0);
    return true;
}

bool trans_WFE(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    a64_raise(t, A64_RAISE_WFE, 0);
    return true;
}

bool trans_CLREX(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    ir_set(t->b, A64_OFF_EXCL_ADDR, ir_const(t->b, IR_I64, A64_EXCL_NONE));
    return true;
}

bool trans_DSB(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    ir_fence(t->b);
    return true;
}

bool trans_DMB(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    ir_fence(t->b);
    return true;
}

/* ISB ends the block so later instructions see context changes and new code. */
bool trans_ISB(struct a64_tc *t, uint32_t insn)
{
    (void)insn;
    a64_end_stop(t, t->pc + 4);
    return true;
}

/* ---- system register access ---- */
static uint32_t sysreg_id(uint32_t insn)
{
    return a64_bits(insn, 5, 16) & 0xffffu;   /* op0:op1:CRn:CRm:op2 = bits 20:5 */
}

bool trans_MSR_imm(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    uint32_t packed = (a64_bits(insn, 16, 3) << 8) | (a64_bits(insn, 5, 3) << 4) | a64_bits(insn, 8, 4);
    ir_call(b, IR_VOID, a64_helper_id[A64_H_MSR_IMM], ir_const(b, IR_I64, packed), ir_const(b, IR_I64, t->pc),
            ir_const(b, IR_I64, 0));
    a64_end_stop(t, t->pc + 4);
    return true;
}

bool trans_MSR_reg(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    uint32_t id = sysreg_id(insn) | (A64_RT(insn) << 16);
    ir_call(b, IR_VOID, a64_helper_id[A64_H_MSR], ir_const(b, IR_I64, id), a64_x(t, A64_RT(insn), 1),
            ir_const(b, IR_I64, t->pc));
    a64_end_stop(t, t->pc + 4);
    return true;
}

bool trans_MRS(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    uint32_t id = sysreg_id(insn) | (A64_RT(insn) << 16);
    ir_val v = a64_mrs_inline(t, sysreg_id(insn));
    if (v == IR_NONE) {
        enum a64_helper h = a64_mrs_reads_only(sysreg_id(insn)) ? A64_H_MRS_READ : A64_H_MRS;
        v = ir_call(b, IR_I64, a64_helper_id[h], ir_const(b, IR_I64, id), ir_const(b, IR_I64, t->pc),
                    ir_const(b, IR_I64, 0));
    }
    a64_set_x(t, A64_RT(insn), v);
    return true;
}

bool trans_SYS(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    uint32_t id = sysreg_id(insn) | (A64_RT(insn) << 16);
    ir_call(b, IR_VOID, a64_helper_id[A64_H_SYS], ir_const(b, IR_I64, id), a64_x(t, A64_RT(insn), 1),
            ir_const(b, IR_I64, t->pc));
    a64_end_stop(t, t->pc + 4);
    return true;
}

/* No SYSL operation exists in the implemented architecture. */
bool trans_SYSL(struct a64_tc *t, uint32_t insn)
{
    (void)t;
    (void)insn;
    return false;
}

bool trans_ERET(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    (void)insn;
    if (t->el == 0)
        return false;
    ir_call(b, IR_VOID, a64_helper_id[A64_H_ERET], ir_const(b, IR_I64, t->pc), ir_const(b, IR_I64, 0),
            ir_const(b, IR_I64, 0));
    ir_stop(b, IR_STOP_SYSTEM, 0);
    t->ended = true;
    return true;
}
