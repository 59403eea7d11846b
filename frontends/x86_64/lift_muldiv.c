/* lift_muldiv.c - MUL, IMUL (one, two and three operands) and DIV/IDIV (SDM vol. 2).
 * Products are exact in IR (double width); division is a helper because it raises
 * #DE on a zero divisor or an overflowing quotient. */
#include "frontends/x86_64/x86_fe.h"


/* Flags after a multiply: CF = OF = "the product did not fit"; SF/ZF/PF follow the
 * low half (the SDM leaves them undefined). */
static void mul_flags(struct x86_ctx *c, ir_val low, ir_val overflow)
{
    x86_set_flags(c, overflow, x86_parity(c, low), ir_const(c->b, IR_I1, 0), x86_is_zero(c, low),
                  x86_msb(c, low), overflow);
}

/* One operand: rDX:rAX (AX for bytes) = rAX * src. */
static bool mul_one_operand(struct x86_ctx *c, bool sign)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size, w = size * 8;
    ir_val src = x86_read_op_sized(c, 0, size);
    ir_val acc = x86_get_gpr(c, X86_RAX, size);
    ir_val low = ir_binop(B, IR_MUL, acc, src);
    ir_val high = ir_binop(B, sign ? IR_SMULH : IR_UMULH, acc, src);
    ir_val overflow = sign ? ir_binop(B, IR_NE, high, ir_binop(B, IR_ASHR, low, x86_const(c, size, w - 1)))
                           : ir_binop(B, IR_NE, high, x86_const(c, size, 0));
    if (size == 1) {
        ir_val ax = ir_insert(B, ir_cast(B, IR_ZEXT, IR_I16, low), high, 8);
        x86_set_gpr(c, X86_RAX, 2, ax);
    } else {
        x86_set_gpr(c, X86_RAX, size, low);
        x86_set_gpr(c, X86_RDX, size, high);
    }
    mul_flags(c, low, overflow);
    return true;
}

bool lift_mul_imul(struct x86_ctx *c)
{
    bool sign = c->in->op == X86_I_IMUL;
    if (c->in->nops == 1)
        return mul_one_operand(c, sign);
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size;
    ir_val a = c->in->nops == 3 ? x86_read_op_sized(c, 1, size) : x86_read_op_sized(c, 0, size);
    ir_val b = c->in->nops == 3 ? x86_read_op_sized(c, 2, size) : x86_read_op_sized(c, 1, size);
    ir_val low = ir_binop(B, IR_MUL, a, b);
    ir_val high = ir_binop(B, IR_SMULH, a, b);
    ir_val overflow = ir_binop(B, IR_NE, high, ir_binop(B, IR_ASHR, low, x86_const(c, size, size * 8 - 1)));
    x86_write_op(c, 0, low);
    mul_flags(c, low, overflow);
    return true;
}

/* The helper divides rDX:rAX by the operand in state, or raises #DE. */
bool lift_div_idiv(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    ir_val divisor = x86_resize(c, x86_read_op_sized(c, 0, size), 8, false);
    uint64_t how = size | (c->in->op == X86_I_IDIV ? 0x100u : 0);
    x86_call(c, IR_I64, x86_helper[X86_H_DIV], ir_const(c->b, IR_I64, how), divisor, ir_const(c->b, IR_I64, 0));
    return true;
}
