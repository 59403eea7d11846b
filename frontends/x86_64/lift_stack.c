/* lift_stack.c - stack instructions (SDM vol. 2: PUSH, POP, PUSHF, POPF, PUSHA,
 * POPA, ENTER, LEAVE). POP of a segment register and POPF are system work (checks,
 * IF/IOPL rules) and end the block. */
#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_sys.h"

/* Operand size of stack pushes and pops: 64-bit code pushes 8 (2 with 66h, which
 * REX.W overrides). */
static unsigned stack_op_size(const struct x86_ctx *c)
{
    bool o16 = (c->in->prefixes & X86_PFX_OPSIZE) != 0;
    if (c->code == X86_CODE64)
        return o16 && !(c->in->prefixes & X86_PFX_REX_W) ? 2 : 8;
    return (c->code == X86_CODE32) != o16 ? 4 : 2;
}

/* PUSH imm8 (6A) and imm16/32 (68) sign-extend from the encoded width, whatever
 * width Capstone reports for the immediate. */
#define OPC_PUSH_IMM8 0x6a
static uint64_t push_imm(const struct x86_ctx *c, unsigned size)
{
    uint64_t imm = c->in->o[0].imm;
    if (c->in->opcode[0] == OPC_PUSH_IMM8)
        return (uint64_t)(int64_t)(int8_t)imm;
    return size == 2 ? (uint64_t)(int64_t)(int16_t)imm : (uint64_t)(int64_t)(int32_t)imm;
}

bool lift_push(struct x86_ctx *c)
{
    const struct x86_operand *o = &c->in->o[0];
    unsigned size = stack_op_size(c);
    ir_val v;
    if (o->kind == X86_OPND_REG && o->reg.cls == X86_RC_SEG)
        v = x86_resize(c, x86_get_reg(c, o->reg, 2), size, false);
    else if (o->kind == X86_OPND_IMM)
        v = x86_const(c, size, push_imm(c, size));
    else
        v = x86_read_op_sized(c, 0, o->size ? o->size : size);
    x86_push(c, x86_resize(c, v, size, true), size);
    return true;
}

bool lift_pop(struct x86_ctx *c)
{
    const struct x86_operand *o = &c->in->o[0];
    unsigned size = stack_op_size(c);
    if (o->kind == X86_OPND_REG && o->reg.cls == X86_RC_SEG)
        return lift_pop_seg(c, o->reg.num, size);
    ir_val v = x86_pop(c, size);
    if (o->kind == X86_OPND_REG)
        x86_set_reg(c, o->reg, size, v);   /* the popped size, not Capstone's register width */
    else
        x86_store(c, x86_operand_addr(c, o), v, size, o->mem.seg);
    return true;
}

/* The pushed image has RF and VM clear. */
bool lift_pushf(struct x86_ctx *c)
{
    unsigned size = stack_op_size(c);
    if ((c->mode & X86_MK_VM86) && ((c->mode >> X86_MK_IOPL_SHIFT) & 3) < 3) {
        x86_raise(c, X86_V_GP, 0);   /* IOPL-sensitive in virtual-8086 mode */
        return true;
    }
    static const unsigned bits[6] = { 0, 2, 4, 6, 7, 11 };
    ir_val fl = ir_get(c->b, IR_I64, X86_OFF_RFLAGS);
    fl = ir_binop(c->b, IR_AND, fl, ir_const(c->b, IR_I64, ~(uint64_t)(X86_FLAG_RF | X86_FLAG_VM)));
    for (unsigned i = 0; i < 6; i++)
        fl = ir_insert(c->b, fl, x86_get_flag(c, x86_flag_offsets[i]), bits[i]);
    x86_push(c, x86_resize(c, fl, size, false), size);
    return true;
}

bool lift_popf(struct x86_ctx *c)
{
    unsigned size = stack_op_size(c);
    ir_val v = x86_resize(c, x86_pop(c, size), 8, false);
    x86_call(c, IR_I64, x86_helper[X86_H_POPF], v, ir_const(c->b, IR_I64, size), ir_const(c->b, IR_I64, 0));
    x86_end_system(c);
    return true;
}

/* PUSHA pushes the SP value from before the first push; POPA skips it. */
bool lift_pusha_popa(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    unsigned size = op == X86_I_PUSHAL || op == X86_I_POPAL ? 4 : 2;
    if (op == X86_I_PUSHAW || op == X86_I_PUSHAL) {
        ir_val sp = x86_get_gpr(c, X86_RSP, size);
        for (unsigned r = 0; r < 8; r++)
            x86_push(c, r == X86_RSP ? sp : x86_get_gpr(c, r, size), size);
        return true;
    }
    for (int r = 7; r >= 0; r--) {
        ir_val v = x86_pop(c, size);
        if (r != X86_RSP)
            x86_set_gpr(c, (unsigned)r, size, v);
    }
    return true;
}

bool lift_enter(struct x86_ctx *c)
{
    unsigned size = stack_op_size(c), ss = x86_stack_size(c);
    uint64_t alloc = c->in->o[0].imm & 0xffff;
    unsigned level = (unsigned)(c->in->o[1].imm & 31);
    x86_push(c, x86_get_gpr(c, X86_RBP, size), size);
    ir_val frame = x86_get_gpr(c, X86_RSP, ss);
    ir_val bp = x86_get_gpr(c, X86_RBP, ss);
    for (unsigned i = 1; i < level; i++) {
        bp = ir_binop(c->b, IR_SUB, bp, x86_const(c, ss, size));
        ir_val lin = x86_linear(c, X86_SS, x86_resize(c, bp, 8, false));
        x86_push(c, x86_load(c, lin, size, X86_SS), size);
    }
    if (level > 0)
        x86_push(c, x86_resize(c, frame, size, false), size);
    x86_set_gpr(c, X86_RBP, size, x86_resize(c, frame, size, false));
    ir_val sp = x86_get_gpr(c, X86_RSP, ss);
    x86_set_gpr(c, X86_RSP, ss, ir_binop(c->b, IR_SUB, sp, x86_const(c, ss, alloc)));
    return true;
}

bool lift_leave(struct x86_ctx *c)
{
    unsigned size = stack_op_size(c), ss = x86_stack_size(c);
    x86_set_gpr(c, X86_RSP, ss, x86_get_gpr(c, X86_RBP, ss));
    x86_set_gpr(c, X86_RBP, size, x86_pop(c, size));
    return true;
}
