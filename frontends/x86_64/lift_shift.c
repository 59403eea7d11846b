/* lift_shift.c - shifts and rotates with exact flags (SDM vol. 2: SAL/SAR/SHL/SHR,
 * ROL/ROR, RCL/RCR, SHLD/SHRD). A masked count of 0 leaves every flag alone; the
 * flags the SDM leaves undefined for counts above 1 get the count-1 formula. */
#include "frontends/x86_64/x86_fe.h"

/* Count operand masked as the hardware does (5 bits, 6 for 64-bit operands). */
static ir_val shift_count(struct x86_ctx *c, unsigned ci, unsigned size)
{
    ir_val n = ci < c->in->nops ? x86_read_op_sized(c, ci, 1) : ir_const(c->b, IR_I8, 1);
    n = ir_binop(c->b, IR_AND, n, ir_const(c->b, IR_I8, size == 8 ? 0x3f : 0x1f));
    return x86_resize(c, n, size, false);
}

/* Keep each flag when the count is zero. */
static void flags_if_count(struct x86_ctx *c, ir_val n, ir_val cf, ir_val pf, ir_val af, ir_val zf, ir_val sf,
                           ir_val of)
{
    ir_val zero = x86_is_zero(c, n);
    ir_val v[6] = { cf, pf, af, zf, sf, of };
    for (unsigned i = 0; i < 6; i++)
        if (v[i] != IR_NONE)
            v[i] = ir_select(c->b, zero, x86_get_flag(c, x86_flag_offsets[i]), v[i]);
    x86_set_flags(c, v[0], v[1], v[2], v[3], v[4], v[5]);
}

static ir_val bit_at(struct x86_ctx *c, ir_val v, ir_val pos)
{
    return ir_cast(c->b, IR_TRUNC, IR_I1, ir_binop(c->b, IR_LSHR, v, pos));
}

bool lift_shift_rotate(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned op = c->in->op, size = c->in->o[0].size, w = size * 8;
    ir_val a = x86_read_op_sized(c, 0, size);
    ir_val n = shift_count(c, 1, size);
    ir_val one = x86_const(c, size, 1), wv = x86_const(c, size, w);
    ir_val res, cf, of, zero1 = ir_const(B, IR_I1, 0);
    switch (op) {
    case X86_I_SHL:
    case X86_I_SAL:
        res = ir_binop(B, IR_SHL, a, n);
        cf = bit_at(c, a, ir_binop(B, IR_SUB, wv, n));
        of = ir_binop(B, IR_XOR, x86_msb(c, res), cf);
        break;
    case X86_I_SHR:
        res = ir_binop(B, IR_LSHR, a, n);
        cf = bit_at(c, a, ir_binop(B, IR_SUB, n, one));
        of = x86_msb(c, a);
        break;
    case X86_I_SAR:
        res = ir_binop(B, IR_ASHR, a, n);
        cf = ir_cast(B, IR_TRUNC, IR_I1, ir_binop(B, IR_ASHR, a, ir_binop(B, IR_SUB, n, one)));
        of = zero1;
        break;
    case X86_I_ROL:
        res = ir_binop(B, IR_ROTL, a, n);
        cf = ir_cast(B, IR_TRUNC, IR_I1, res);
        of = ir_binop(B, IR_XOR, x86_msb(c, res), cf);
        break;
    default: /* ROR */
        res = ir_binop(B, IR_ROTR, a, n);
        cf = x86_msb(c, res);
        of = ir_binop(B, IR_XOR, cf, ir_extract(B, IR_I1, res, w - 2));
        break;
    }
    x86_write_op(c, 0, res);
    if (op == X86_I_ROL || op == X86_I_ROR)
        flags_if_count(c, n, cf, IR_NONE, IR_NONE, IR_NONE, IR_NONE, of);
    else
        flags_if_count(c, n, cf, x86_parity(c, res), zero1, x86_is_zero(c, res), x86_msb(c, res), of);
    return true;
}

/* Rotate through carry: a (w+1)-bit rotation computed in 128 bits. */
bool lift_rcl_rcr(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size, w = size * 8;
    bool left = c->in->op == X86_I_RCL;
    ir_val a = x86_read_op_sized(c, 0, size);
    ir_val n = shift_count(c, 1, size);
    if (w < 32)
        n = ir_binop(B, IR_UREM, n, x86_const(c, size, w + 1));
    ir_val cf_in = x86_get_flag(c, X86_OFF_FLAG(cf));
    ir_val x = ir_insert(B, ir_cast(B, IR_ZEXT, IR_I128, a), cf_in, w);
    ir_val n128 = ir_cast(B, IR_ZEXT, IR_I128, n);
    ir_val back = ir_binop(B, IR_SUB, ir_const(B, IR_I128, w + 1), n128);
    ir_val r = left ? ir_binop(B, IR_OR, ir_binop(B, IR_SHL, x, n128), ir_binop(B, IR_LSHR, x, back))
                    : ir_binop(B, IR_OR, ir_binop(B, IR_LSHR, x, n128), ir_binop(B, IR_SHL, x, back));
    ir_val res = ir_cast(B, IR_TRUNC, x86_type(size), r);
    ir_val cf = ir_extract(B, IR_I1, r, w);
    ir_val of = left ? ir_binop(B, IR_XOR, x86_msb(c, res), cf)
                     : ir_binop(B, IR_XOR, x86_msb(c, res), ir_extract(B, IR_I1, res, w - 2));
    x86_write_op(c, 0, res);
    flags_if_count(c, n, cf, IR_NONE, IR_NONE, IR_NONE, IR_NONE, of);
    return true;
}

/* Double-precision shifts through a 2w-bit concatenation. */
bool lift_shld_shrd(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size, w = size * 8;
    bool left = c->in->op == X86_I_SHLD;
    ir_val d = x86_read_op_sized(c, 0, size), s = x86_read_op_sized(c, 1, size);
    ir_val n = shift_count(c, 2, size);
    ir_val d128 = ir_cast(B, IR_ZEXT, IR_I128, d), s128 = ir_cast(B, IR_ZEXT, IR_I128, s);
    ir_val wv = ir_const(B, IR_I128, w), n128 = ir_cast(B, IR_ZEXT, IR_I128, n);
    ir_val res, cf;
    if (left) {
        ir_val x = ir_binop(B, IR_OR, ir_binop(B, IR_SHL, d128, wv), s128);
        res = ir_cast(B, IR_TRUNC, x86_type(size), ir_binop(B, IR_LSHR, ir_binop(B, IR_SHL, x, n128), wv));
        cf = bit_at(c, d, ir_binop(B, IR_SUB, x86_const(c, size, w), n));
    } else {
        ir_val x = ir_binop(B, IR_OR, ir_binop(B, IR_SHL, s128, wv), d128);
        res = ir_cast(B, IR_TRUNC, x86_type(size), ir_binop(B, IR_LSHR, x, n128));
        cf = bit_at(c, d, ir_binop(B, IR_SUB, n, x86_const(c, size, 1)));
    }
    ir_val of = ir_binop(B, IR_XOR, x86_msb(c, res), x86_msb(c, d));
    x86_write_op(c, 0, res);
    flags_if_count(c, n, cf, x86_parity(c, res), ir_const(B, IR_I1, 0), x86_is_zero(c, res), x86_msb(c, res), of);
    return true;
}
