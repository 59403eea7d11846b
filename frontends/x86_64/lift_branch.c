/* lift_branch.c - near control transfers (SDM vol. 2: JMP, Jcc, JCXZ/JECXZ/JRCXZ,
 * LOOP/LOOPE/LOOPNE, CALL, RET). Every one ends the block with RIP written; block
 * pcs are linear (CS base + RIP). A target beyond the CS limit is #GP(0) at the
 * branch, before anything else it does. Far forms live in lift_system.c. */
#include "frontends/x86_64/x86_fe.h"

static unsigned branch_size(const struct x86_ctx *c)
{
    bool o16 = (c->in->prefixes & X86_PFX_OPSIZE) != 0;
    if (c->code == X86_CODE64)
        return 8;
    return (c->code == X86_CODE32) != o16 ? 4 : 2;
}

static bool relative(const struct x86_dinsn *in)
{
    return in->nops == 1 && in->o[0].kind == X86_OPND_IMM;
}

static uint64_t direct_target(const struct x86_ctx *c)
{
    return c->in->o[0].imm & x86_ip_mask(c);
}

bool lift_jmp(struct x86_ctx *c)
{
    if (relative(c->in)) {
        x86_cs_limit_check_const(c, IR_NONE, direct_target(c));
        x86_jump_ip(c, c->in->o[0].imm);
    } else {
        ir_val target = x86_read_op_sized(c, 0, branch_size(c));
        x86_cs_limit_check(c, IR_NONE, target);
        x86_jump_ind(c, target);
    }
    return true;
}

bool lift_jcc(struct x86_ctx *c)
{
    if (!relative(c->in))
        return false;
    ir_val cond = x86_cond(c, c->in->op - X86_I_JO);
    x86_cs_limit_check_const(c, cond, direct_target(c));
    x86_branch_ip(c, cond, c->in->o[0].imm);
    return true;
}

/* JCXZ tests the count register at the address size; LOOP decrements it first. */
bool lift_jcxz_loop(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned op = c->in->op;
    unsigned as = op == X86_I_JCXZ ? 2 : op == X86_I_JECXZ ? 4 : op == X86_I_JRCXZ ? 8 : c->in->addr_size;
    ir_val cnt = x86_get_gpr(c, X86_RCX, as), cond;
    if (op == X86_I_JCXZ || op == X86_I_JECXZ || op == X86_I_JRCXZ) {
        cond = x86_is_zero(c, cnt);
    } else {
        cnt = ir_binop(B, IR_SUB, cnt, x86_const(c, as, 1));
        cond = ir_binop(B, IR_NE, cnt, x86_const(c, as, 0));
        if (op == X86_I_LOOPE)
            cond = ir_binop(B, IR_AND, cond, x86_get_flag(c, X86_OFF_FLAG(zf)));
        else if (op == X86_I_LOOPNE)
            cond = ir_binop(B, IR_AND, cond, ir_binop(B, IR_XOR, x86_get_flag(c, X86_OFF_FLAG(zf)),
                                                      ir_const(B, IR_I1, 1)));
    }
    x86_cs_limit_check_const(c, cond, direct_target(c));   /* before the count is written */
    if (op != X86_I_JCXZ && op != X86_I_JECXZ && op != X86_I_JRCXZ)
        x86_set_gpr(c, X86_RCX, as, cnt);
    x86_branch_ip(c, cond, c->in->o[0].imm);
    return true;
}

bool lift_call(struct x86_ctx *c)
{
    unsigned size = branch_size(c);
    ir_val target = IR_NONE;
    if (!relative(c->in))
        target = x86_read_op_sized(c, 0, size);   /* read before the push moves RSP */
    if (target == IR_NONE)
        x86_cs_limit_check_const(c, IR_NONE, direct_target(c));
    else
        x86_cs_limit_check(c, IR_NONE, target);
    x86_push(c, x86_const(c, size, c->next_ip), size);
    if (target == IR_NONE)
        x86_jump_ip(c, c->in->o[0].imm);
    else
        x86_jump_ind(c, target);
    return true;
}

bool lift_ret(struct x86_ctx *c)
{
    unsigned size = branch_size(c), ss = x86_stack_size(c);
    ir_val sp;
    ir_val ip = x86_pop_value(c, size, &sp);
    x86_cs_limit_check(c, IR_NONE, ip);   /* before RSP moves */
    if (c->in->nops == 1 && c->in->o[0].kind == X86_OPND_IMM)
        sp = ir_binop(c->b, IR_ADD, sp, x86_const(c, ss, c->in->o[0].imm & 0xffff));
    x86_set_gpr(c, X86_RSP, ss, sp);
    x86_jump_ind(c, ip);
    return true;
}
