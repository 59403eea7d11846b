/* lift_alu.c - binary arithmetic and logic (SDM vol. 2: ADD, ADC, SUB, SBB, CMP,
 * AND, OR, XOR, TEST, INC, DEC, NEG, NOT). LOCK with a memory destination becomes
 * a host compare-and-swap loop-free atomic where one exists, else a CMPXCHG retry
 * expressed as an atomic RMW. */
#include "frontends/x86_64/x86_fe.h"

static bool locked_mem(const struct x86_ctx *c)
{
    return (c->in->prefixes & X86_PFX_LOCK) && c->in->o[0].kind == X86_OPND_MEM;
}

/* LOCK'd read-modify-write: the atomic returns the old value; the result is
 * recomputed from it for the flags. */
static ir_val atomic_rmw(struct x86_ctx *c, enum ir_rmw_kind k, ir_val operand, ir_val *old)
{
    const struct x86_operand *o = &c->in->o[0];
    ir_val addr = x86_rmw_addr(c, o, o->size);
    *old = ir_atomic_rmw(c->b, k, addr, operand, IR_MEM(o->size) | (c->cpl == 3 ? IR_MEM_PRIV_USER : 0));
    x86_dbg_data_access(c, addr, o->size, true);
    return addr;
}

bool lift_add_sub_adc_sbb(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    unsigned size = c->in->o[0].size;
    ir_val a, b = x86_read_op_sized(c, 1, size), res, cin = IR_NONE;
    if (op == X86_I_ADC || op == X86_I_SBB)
        cin = x86_get_flag(c, X86_OFF_FLAG(cf));
    bool add = op == X86_I_ADD || op == X86_I_ADC;
    if (locked_mem(c) && op != X86_I_CMP) {
        ir_val rhs = b;
        if (cin != IR_NONE)
            rhs = ir_binop(c->b, IR_ADD, b, ir_cast(c->b, IR_ZEXT, x86_type(size), cin));
        if (!add)
            rhs = ir_unop(c->b, IR_NEG, rhs);
        atomic_rmw(c, IR_RMW_ADD, rhs, &a);
    } else {
        a = x86_read_op_sized(c, 0, size);
    }
    res = ir_binop(c->b, add ? IR_ADD : IR_SUB, a, b);
    if (cin != IR_NONE)
        res = ir_binop(c->b, add ? IR_ADD : IR_SUB, res, ir_cast(c->b, IR_ZEXT, x86_type(size), cin));
    if (add)
        x86_flags_add(c, a, b, res, cin);
    else
        x86_flags_sub(c, a, b, res, cin);
    if (op != X86_I_CMP && !locked_mem(c))
        x86_write_op(c, 0, res);
    return true;
}

bool lift_and_or_xor_test(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    unsigned size = c->in->o[0].size;
    enum ir_op iop = op == X86_I_OR ? IR_OR : op == X86_I_XOR ? IR_XOR : IR_AND;
    ir_val b = x86_read_op_sized(c, 1, size), a, res;
    if (locked_mem(c) && op != X86_I_TEST) {
        atomic_rmw(c, op == X86_I_OR ? IR_RMW_OR : op == X86_I_XOR ? IR_RMW_XOR : IR_RMW_AND, b, &a);
        res = ir_binop(c->b, iop, a, b);
    } else {
        a = x86_read_op_sized(c, 0, size);
        res = ir_binop(c->b, iop, a, b);
        if (op != X86_I_TEST)
            x86_write_op(c, 0, res);
    }
    x86_flags_logic(c, res);
    return true;
}

/* INC/DEC leave CF alone. */
bool lift_inc_dec(struct x86_ctx *c)
{
    bool inc = c->in->op == X86_I_INC;
    unsigned size = c->in->o[0].size;
    ir_val one = x86_const(c, size, 1), a, res;
    if (locked_mem(c))
        atomic_rmw(c, IR_RMW_ADD, inc ? one : x86_const(c, size, ~0ull), &a);
    else
        a = x86_read_op_sized(c, 0, size);
    res = ir_binop(c->b, inc ? IR_ADD : IR_SUB, a, one);
    if (!locked_mem(c))
        x86_write_op(c, 0, res);
    ir_val saved_cf = x86_get_flag(c, X86_OFF_FLAG(cf));
    if (inc)
        x86_flags_add(c, a, one, res, IR_NONE);
    else
        x86_flags_sub(c, a, one, res, IR_NONE);
    x86_set_flags(c, saved_cf, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE);
    return true;
}

bool lift_neg(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    ir_val zero = x86_const(c, size, 0), a, res;
    if (locked_mem(c)) {
        /* No atomic negate: a compare-and-swap of the value read is exact when no
         * other writer intervenes; a retry loop would need a backward edge. */
        ir_val addr = x86_rmw_addr(c, &c->in->o[0], size);
        a = x86_load(c, addr, size, c->in->o[0].mem.seg);
        res = ir_unop(c->b, IR_NEG, a);
        ir_cmpxchg(c->b, addr, a, res, IR_MEM(size), c->in->o[0].mem.seg);
        x86_dbg_data_access(c, addr, size, true);
    } else {
        a = x86_read_op_sized(c, 0, size);
        res = ir_unop(c->b, IR_NEG, a);
        x86_write_op(c, 0, res);
    }
    x86_flags_sub(c, zero, a, res, IR_NONE);
    x86_set_flags(c, ir_binop(c->b, IR_NE, a, zero), IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE);
    return true;
}

bool lift_not(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    if (locked_mem(c)) {
        ir_val old;
        atomic_rmw(c, IR_RMW_XOR, x86_const(c, size, ~0ull), &old);
        return true;
    }
    x86_write_op(c, 0, ir_unop(c->b, IR_NOT, x86_read_op_sized(c, 0, size)));
    return true;
}
