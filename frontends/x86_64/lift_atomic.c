/* lift_atomic.c - exchange and compare-exchange (SDM vol. 2: XCHG, XADD, CMPXCHG,
 * CMPXCHG8B, CMPXCHG16B). Memory forms are host atomics (XCHG with memory is
 * always locked); register forms are plain moves. */
#include "frontends/x86_64/x86_fe.h"

static uint64_t memflags(const struct x86_ctx *c, unsigned size)
{
    return IR_MEM(size) | (c->cpl == 3 ? IR_MEM_PRIV_USER : 0);
}

/* Write rAX (or another GPR) only when `keep` is false; a 32-bit write must still
 * zero-extend, so the choice is made on the full register. */
static void set_gpr_unless(struct x86_ctx *c, unsigned reg, unsigned size, ir_val keep, ir_val v)
{
    if (size == 4) {
        ir_val full = ir_get(c->b, IR_I64, X86_OFF_GPR(reg));
        ir_set(c->b, X86_OFF_GPR(reg), ir_select(c->b, keep, full, ir_cast(c->b, IR_ZEXT, IR_I64, v)));
        return;
    }
    x86_set_gpr(c, reg, size, ir_select(c->b, keep, x86_get_gpr(c, reg, size), v));
}

bool lift_xchg(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    unsigned size = in->o[0].size;
    unsigned m = in->o[0].kind == X86_OPND_MEM ? 0 : in->o[1].kind == X86_OPND_MEM ? 1 : 2;
    if (m == 2) {
        ir_val a = x86_read_op_sized(c, 0, size), b = x86_read_op_sized(c, 1, size);
        x86_write_op(c, 0, b);
        x86_write_op(c, 1, a);
        return true;
    }
    unsigned r = 1 - m;
    ir_val v = x86_read_op_sized(c, r, size);
    ir_val addr = x86_rmw_addr(c, &in->o[m], size);
    ir_val old = ir_atomic_rmw(c->b, IR_RMW_XCHG, addr, v, memflags(c, size));
    x86_dbg_data_access(c, addr, size, true);
    x86_write_op(c, r, old);
    return true;
}

bool lift_xadd(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    unsigned size = in->o[0].size;
    ir_val src = x86_read_op_sized(c, 1, size), dst;
    if (in->o[0].kind == X86_OPND_MEM) {
        ir_val addr = x86_rmw_addr(c, &in->o[0], size);
        dst = ir_atomic_rmw(c->b, IR_RMW_ADD, addr, src, memflags(c, size));
        x86_dbg_data_access(c, addr, size, true);
        x86_write_op(c, 1, dst);
    } else {
        dst = x86_read_op_sized(c, 0, size);
        x86_write_op(c, 1, dst);
        x86_write_op(c, 0, ir_binop(c->b, IR_ADD, dst, src));
    }
    x86_flags_add(c, dst, src, ir_binop(c->b, IR_ADD, dst, src), IR_NONE);
    return true;
}

bool lift_cmpxchg(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    unsigned size = in->o[0].size;
    ir_val acc = x86_get_gpr(c, X86_RAX, size);
    ir_val src = x86_read_op_sized(c, 1, size), dst;
    if (in->o[0].kind == X86_OPND_MEM) {
        ir_val addr = x86_rmw_addr(c, &in->o[0], size);
        dst = ir_cmpxchg(c->b, addr, acc, src, memflags(c, size), in->o[0].mem.seg);
        x86_dbg_data_access(c, addr, size, true);
    } else {
        dst = x86_read_op_sized(c, 0, size);
    }
    ir_val eq = ir_binop(c->b, IR_EQ, acc, dst);
    /* A register destination is written only on success (a failed 32-bit compare
     * leaves its upper half alone, as the hardware does); the accumulator only on
     * failure. */
    if (in->o[0].kind != X86_OPND_MEM && in->o[0].reg.cls == X86_RC_GPR)
        set_gpr_unless(c, in->o[0].reg.num, size, ir_binop(c->b, IR_XOR, eq, ir_const(c->b, IR_I1, 1)), src);
    else if (in->o[0].kind != X86_OPND_MEM)
        x86_write_op(c, 0, ir_select(c->b, eq, src, dst));
    set_gpr_unless(c, X86_RAX, size, eq, dst);
    x86_flags_sub(c, acc, dst, ir_binop(c->b, IR_SUB, acc, dst), IR_NONE);
    return true;
}

/* rDX:rAX against m64/m128; on a mismatch the memory value lands in rDX:rAX. */
bool lift_cmpxchg8b_16b(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    const struct x86_dinsn *in = c->in;
    unsigned half = in->op == X86_I_CMPXCHG16B ? 8 : 4;
    enum ir_type whole = half == 8 ? IR_I128 : IR_I64;
    if (in->o[0].kind != X86_OPND_MEM)
        return false;
    ir_val expected = ir_insert(B, ir_cast(B, IR_ZEXT, whole, x86_get_gpr(c, X86_RAX, half)),
                                x86_get_gpr(c, X86_RDX, half), half * 8);
    ir_val desired = ir_insert(B, ir_cast(B, IR_ZEXT, whole, x86_get_gpr(c, X86_RBX, half)),
                               x86_get_gpr(c, X86_RCX, half), half * 8);
    ir_val addr = x86_rmw_addr(c, &in->o[0], half * 2);
    ir_val old = ir_cmpxchg(B, addr, expected, desired, memflags(c, half * 2), in->o[0].mem.seg);
    x86_dbg_data_access(c, addr, half * 2, true);
    ir_val eq = ir_binop(B, IR_EQ, old, expected);
    set_gpr_unless(c, X86_RAX, half, eq, ir_cast(B, IR_TRUNC, x86_type(half), old));
    set_gpr_unless(c, X86_RDX, half, eq, ir_extract(B, x86_type(half), old, half * 8));
    x86_set_flags(c, IR_NONE, IR_NONE, IR_NONE, eq, IR_NONE, IR_NONE);
    return true;
}
