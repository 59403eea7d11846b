/* lift_bits.c - bit test and scan, counts and byte swaps (SDM vol. 2: BT, BTS,
 * BTR, BTC, BSF, BSR, LZCNT, TZCNT, POPCNT, BSWAP, MOVBE). */
#include "frontends/x86_64/x86_fe.h"

static unsigned log2_of(unsigned v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* BT* on memory with a register offset reaches any bit: the offset's signed high
 * part selects the operand-sized word. */
bool lift_bt_bts_btr_btc(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    const struct x86_dinsn *in = c->in;
    unsigned op = in->op, size = in->o[0].size, w = size * 8;
    ir_val off = x86_read_op_sized(c, 1, size);
    ir_val bit = ir_binop(B, IR_AND, off, x86_const(c, size, w - 1));
    ir_val mask = ir_binop(B, IR_SHL, x86_const(c, size, 1), bit);
    ir_val addr = IR_NONE, val;
    const struct x86_operand *d = &in->o[0];
    if (d->kind == X86_OPND_MEM) {
        /* The word offset joins the effective address at the address size, before
         * the segment base. */
        ir_val ea = x86_ea(c, d);
        if (in->o[1].kind == X86_OPND_REG) {
            ir_val words = ir_binop(B, IR_ASHR, x86_resize(c, off, 8, true), ir_const(B, IR_I64, log2_of(w)));
            ea = ir_binop(B, IR_ADD, ea, ir_binop(B, IR_MUL, words, ir_const(B, IR_I64, size)));
            if (in->addr_size < 8)
                ea = ir_cast(B, IR_ZEXT, IR_I64, ir_cast(B, IR_TRUNC, x86_type(in->addr_size), ea));
        }
        addr = x86_linear(c, d->mem.seg, ea);
    }
    if (op != X86_I_BT && (in->prefixes & X86_PFX_LOCK) && addr != IR_NONE) {
        enum ir_rmw_kind k = op == X86_I_BTS ? IR_RMW_OR : op == X86_I_BTR ? IR_RMW_AND : IR_RMW_XOR;
        ir_val operand = op == X86_I_BTR ? ir_unop(B, IR_NOT, mask) : mask;
        x86_mem_guard(c, addr, size, true);
        val = ir_atomic_rmw(B, k, addr, operand, IR_MEM(size) | (c->cpl == 3 ? IR_MEM_PRIV_USER : 0));
        x86_dbg_data_access(c, addr, size, true);
    } else {
        val = addr != IR_NONE ? x86_load(c, addr, size, d->mem.seg) : x86_get_reg(c, d->reg, size);
        ir_val res = IR_NONE;
        if (op == X86_I_BTS)
            res = ir_binop(B, IR_OR, val, mask);
        else if (op == X86_I_BTR)
            res = ir_binop(B, IR_AND, val, ir_unop(B, IR_NOT, mask));
        else if (op == X86_I_BTC)
            res = ir_binop(B, IR_XOR, val, mask);
        if (res != IR_NONE) {
            if (addr != IR_NONE)
                x86_store(c, addr, res, size, d->mem.seg);
            else
                x86_set_reg(c, d->reg, size, res);
        }
    }
    ir_val cf = ir_cast(B, IR_TRUNC, IR_I1, ir_binop(B, IR_LSHR, val, bit));
    x86_set_flags(c, cf, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE);
    return true;
}

/* BSF/BSR: a zero source sets ZF and leaves the destination unchanged, all 64 bits
 * of it even with a 32-bit operand (the SDM says undefined; current Intel parts,
 * like AMD's documented rule, do not zero-extend then: docs/x86-frontend.md). */
bool lift_bsf_bsr(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size;
    ir_val src = x86_read_op_sized(c, 1, size);
    ir_val zero = x86_is_zero(c, src);
    ir_val idx = c->in->op == X86_I_BSF ? ir_unop(B, IR_CTZ, src)
                                         : ir_binop(B, IR_SUB, x86_const(c, size, size * 8 - 1), ir_unop(B, IR_CLZ, src));
    const struct x86_operand *d = &c->in->o[0];
    if (size == 4 && d->kind == X86_OPND_REG && d->reg.cls == X86_RC_GPR) {
        ir_val old = x86_get_gpr(c, d->reg.num, 8);
        ir_set(B, X86_OFF_GPR(d->reg.num), ir_select(B, zero, old, x86_resize(c, idx, 8, false)));
    } else {
        x86_write_op(c, 0, ir_select(B, zero, x86_read_op_sized(c, 0, size), idx));
    }
    ir_val f0 = ir_const(B, IR_I1, 0);
    x86_set_flags(c, f0, x86_parity(c, idx), f0, zero, f0, f0);
    return true;
}

bool lift_lzcnt_tzcnt_popcnt(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned op = c->in->op, size = c->in->o[0].size;
    ir_val src = x86_read_op_sized(c, 1, size);
    ir_val f0 = ir_const(B, IR_I1, 0);
    if (op == X86_I_POPCNT) {
        ir_val res = ir_unop(B, IR_POPCNT, src);
        x86_write_op(c, 0, res);
        x86_set_flags(c, f0, f0, f0, x86_is_zero(c, src), f0, f0);
        return true;
    }
    ir_val res = ir_unop(B, op == X86_I_LZCNT ? IR_CLZ : IR_CTZ, src);
    x86_write_op(c, 0, res);
    x86_set_flags(c, x86_is_zero(c, src), IR_NONE, IR_NONE, x86_is_zero(c, res), IR_NONE, IR_NONE);
    return true;
}

/* BSWAP of a 16-bit register is undefined; it clears the register here as on
 * current Intel parts. */
bool lift_bswap(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    if (size == 2) {
        x86_write_op(c, 0, x86_const(c, 2, 0));
        return true;
    }
    x86_write_op(c, 0, ir_unop(c->b, IR_BSWAP, x86_read_op_sized(c, 0, size)));
    return true;
}

bool lift_movbe(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    x86_write_op(c, 0, ir_unop(c->b, IR_BSWAP, x86_read_op_sized(c, 1, size)));
    return true;
}
