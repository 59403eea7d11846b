/* lift.c - what every x86 lifter shares: register and memory operands with the
 * architecture's partial-register rules, effective and linear addresses, the
 * per-flag fields (one byte each, so the dead-flag pass can drop unread ones),
 * condition codes, and block exits that keep RIP precise. */
#include <stddef.h>

#include "frontends/x86_64/x86_fe.h"

const uint32_t x86_flag_offsets[6] = {
    X86_OFF_FLAG(cf), X86_OFF_FLAG(pf), X86_OFF_FLAG(af), X86_OFF_FLAG(zf), X86_OFF_FLAG(sf), X86_OFF_FLAG(of),
};

enum ir_type x86_type(unsigned size)
{
    switch (size) {
    case 1: return IR_I8;
    case 2: return IR_I16;
    case 4: return IR_I32;
    case 16: return IR_I128;
    default: return IR_I64;
    }
}

ir_val x86_const(struct x86_ctx *c, unsigned size, uint64_t v)
{
    return ir_const(c->b, x86_type(size), v);
}

/* Change width: truncate, or zero/sign-extend. */
ir_val x86_resize(struct x86_ctx *c, ir_val v, unsigned size, bool sign)
{
    enum ir_type from = ir_type_of(c->b, v), to = x86_type(size);
    if (from == to)
        return v;
    if (from > to)
        return ir_cast(c->b, IR_TRUNC, to, v);
    return ir_cast(c->b, sign ? IR_SEXT : IR_ZEXT, to, v);
}

/* ---- registers ---------------------------------------------------------------- */

ir_val x86_get_gpr(struct x86_ctx *c, unsigned n, unsigned size)
{
    ir_val full = ir_get(c->b, IR_I64, X86_OFF_GPR(n));
    return size == 8 ? full : ir_cast(c->b, IR_TRUNC, x86_type(size), full);
}

/* 32-bit writes zero the upper half; 8- and 16-bit writes keep the rest. */
void x86_set_gpr(struct x86_ctx *c, unsigned n, unsigned size, ir_val v)
{
    v = x86_resize(c, v, size, false);
    if (size == 4)
        v = ir_cast(c->b, IR_ZEXT, IR_I64, v);
    else if (size < 4)
        v = ir_insert(c->b, ir_get(c->b, IR_I64, X86_OFF_GPR(n)), v, 0);
    ir_set(c->b, X86_OFF_GPR(n), v);
}

ir_val x86_get_reg(struct x86_ctx *c, struct x86_regref r, unsigned size)
{
    switch (r.cls) {
    case X86_RC_GPR:
        return x86_get_gpr(c, r.num, size);
    case X86_RC_GPR8H:
        return ir_extract(c->b, IR_I8, ir_get(c->b, IR_I64, X86_OFF_GPR(r.num)), 8);
    case X86_RC_SEG:
        return x86_resize(c, ir_get(c->b, IR_I16, X86_OFF_SEG_SEL(r.num)), size, false);
    case X86_RC_XMM:
        return x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(r.num)), size, false);
    case X86_RC_RIP:
        return x86_const(c, size, c->next_ip);
    default:
        return x86_const(c, size, 0);
    }
}

void x86_set_reg(struct x86_ctx *c, struct x86_regref r, unsigned size, ir_val v)
{
    switch (r.cls) {
    case X86_RC_GPR:
        x86_set_gpr(c, r.num, size, v);
        break;
    case X86_RC_GPR8H: {
        ir_val full = ir_get(c->b, IR_I64, X86_OFF_GPR(r.num));
        ir_set(c->b, X86_OFF_GPR(r.num), ir_insert(c->b, full, x86_resize(c, v, 1, false), 8));
        break;
    }
    case X86_RC_XMM:
        ir_set(c->b, X86_OFF_XMM(r.num), x86_resize(c, v, 16, false));
        break;
    default:
        break;   /* segment/control registers are written by system helpers only */
    }
}

/* ---- memory -------------------------------------------------------------------- */

/* Offset within the segment, computed at the address size. */
ir_val x86_ea(struct x86_ctx *c, const struct x86_operand *o)
{
    unsigned as = c->in->addr_size ? c->in->addr_size : 8;
    ir_val sum = ir_const(c->b, IR_I64, (uint64_t)o->mem.disp);
    if (o->mem.base.cls == X86_RC_RIP)
        sum = ir_const(c->b, IR_I64, c->next_ip + (uint64_t)o->mem.disp);
    else if (o->mem.base.cls == X86_RC_GPR)
        sum = ir_binop(c->b, IR_ADD, sum, ir_get(c->b, IR_I64, X86_OFF_GPR(o->mem.base.num)));
    if (o->mem.index.cls == X86_RC_GPR) {
        ir_val idx = ir_get(c->b, IR_I64, X86_OFF_GPR(o->mem.index.num));
        unsigned sc = o->mem.scale ? o->mem.scale : 1;
        if (sc > 1)
            idx = ir_binop(c->b, IR_MUL, idx, ir_const(c->b, IR_I64, sc));
        sum = ir_binop(c->b, IR_ADD, sum, idx);
    }
    if (as < 8)
        sum = ir_cast(c->b, IR_ZEXT, IR_I64, ir_cast(c->b, IR_TRUNC, x86_type(as), sum));
    return sum;
}

/* Linear address: segment base + offset (only FS/GS bases count in 64-bit code);
 * outside long mode linear addresses wrap at 4 GiB. */
ir_val x86_linear(struct x86_ctx *c, unsigned seg, ir_val off)
{
    if (c->code == X86_CODE64) {
        if (seg != X86_FS && seg != X86_GS)
            return off;
        return ir_binop(c->b, IR_ADD, off, ir_get(c->b, IR_I64, X86_OFF_SEG_BASE(seg)));
    }
    ir_val lin = ir_binop(c->b, IR_ADD, off, ir_get(c->b, IR_I64, X86_OFF_SEG_BASE(seg)));
    lin = ir_cast(c->b, IR_ZEXT, IR_I64, ir_cast(c->b, IR_TRUNC, IR_I32, lin));
    x86_seg_note(c, seg, off, lin);
    return lin;
}

ir_val x86_operand_addr(struct x86_ctx *c, const struct x86_operand *o)
{
    return x86_linear(c, o->mem.seg, x86_ea(c, o));
}

static uint64_t mem_flags(const struct x86_ctx *c, unsigned size)
{
    return IR_MEM(size) | (c->cpl == 3 ? IR_MEM_PRIV_USER : 0);
}

/* The checks an access needs before it happens: segment limit and type outside
 * 64-bit mode, alignment while #AC is armed. Each emits nothing unless armed. */
void x86_mem_guard(struct x86_ctx *c, ir_val linear, unsigned size, bool write)
{
    x86_seg_guard(c, linear, size, write);
    x86_align_guard(c, linear, size);
}

ir_val x86_load(struct x86_ctx *c, ir_val linear, unsigned size, unsigned seg)
{
    x86_mem_guard(c, linear, size, false);
    ir_val v = ir_load(c->b, x86_type(size), linear, mem_flags(c, size), seg);
    x86_dbg_data_access(c, linear, size, false);
    return v;
}

void x86_store(struct x86_ctx *c, ir_val linear, ir_val v, unsigned size, unsigned seg)
{
    x86_mem_guard(c, linear, size, true);
    ir_store(c->b, linear, x86_resize(c, v, size, false), mem_flags(c, size), seg);
    x86_dbg_data_access(c, linear, size, true);
}

ir_val x86_rmw_addr(struct x86_ctx *c, const struct x86_operand *o, unsigned size)
{
    ir_val addr = x86_operand_addr(c, o);
    x86_mem_guard(c, addr, size, true);
    return addr;
}

ir_val x86_read_op_sized(struct x86_ctx *c, unsigned i, unsigned size)
{
    const struct x86_operand *o = &c->in->o[i];
    switch (o->kind) {
    case X86_OPND_REG:
        return x86_resize(c, x86_get_reg(c, o->reg, o->size ? o->size : size), size, false);
    case X86_OPND_IMM:
        return x86_const(c, size, o->imm);
    case X86_OPND_MEM:
        return x86_load(c, x86_operand_addr(c, o), size, o->mem.seg);
    default:
        return x86_const(c, size, 0);
    }
}

ir_val x86_read_op(struct x86_ctx *c, unsigned i)
{
    unsigned size = c->in->o[i].size ? c->in->o[i].size : c->in->op_size;
    return x86_read_op_sized(c, i, size);
}

void x86_write_op(struct x86_ctx *c, unsigned i, ir_val v)
{
    const struct x86_operand *o = &c->in->o[i];
    unsigned size = o->size ? o->size : c->in->op_size;
    if (o->kind == X86_OPND_REG)
        x86_set_reg(c, o->reg, size, v);
    else if (o->kind == X86_OPND_MEM)
        x86_store(c, x86_operand_addr(c, o), v, size, o->mem.seg);
}

/* ---- stack ----------------------------------------------------------------------- */

unsigned x86_stack_size(const struct x86_ctx *c)
{
    if (c->code == X86_CODE64)
        return 8;
    return (c->mode & X86_MK_SS32) ? 4 : 2;
}

static ir_val stack_linear(struct x86_ctx *c, ir_val sp)
{
    return x86_linear(c, X86_SS, sp);
}

void x86_push(struct x86_ctx *c, ir_val v, unsigned size)
{
    unsigned ss = x86_stack_size(c);
    ir_val sp = x86_get_gpr(c, X86_RSP, ss);
    sp = ir_binop(c->b, IR_SUB, sp, x86_const(c, ss, size));
    ir_val off = x86_resize(c, sp, 8, false);
    x86_store(c, stack_linear(c, off), v, size, X86_SS);
    x86_set_gpr(c, X86_RSP, ss, sp);
}

ir_val x86_pop_value(struct x86_ctx *c, unsigned size, ir_val *next_sp)
{
    unsigned ss = x86_stack_size(c);
    ir_val sp = x86_get_gpr(c, X86_RSP, ss);
    ir_val v = x86_load(c, stack_linear(c, x86_resize(c, sp, 8, false)), size, X86_SS);
    *next_sp = ir_binop(c->b, IR_ADD, sp, x86_const(c, ss, size));
    return v;
}

ir_val x86_pop(struct x86_ctx *c, unsigned size)
{
    ir_val sp;
    ir_val v = x86_pop_value(c, size, &sp);
    x86_set_gpr(c, X86_RSP, x86_stack_size(c), sp);
    return v;
}

/* ---- flags ------------------------------------------------------------------------ */

static void set_flag(struct x86_ctx *c, uint32_t off, ir_val v)
{
    if (v != IR_NONE)
        ir_set(c->b, off, ir_cast(c->b, IR_ZEXT, IR_I8, v));
}

void x86_set_flags(struct x86_ctx *c, ir_val cf, ir_val pf, ir_val af, ir_val zf, ir_val sf, ir_val of)
{
    set_flag(c, X86_OFF_FLAG(cf), cf);
    set_flag(c, X86_OFF_FLAG(pf), pf);
    set_flag(c, X86_OFF_FLAG(af), af);
    set_flag(c, X86_OFF_FLAG(zf), zf);
    set_flag(c, X86_OFF_FLAG(sf), sf);
    set_flag(c, X86_OFF_FLAG(of), of);
}

ir_val x86_get_flag(struct x86_ctx *c, uint32_t off)
{
    return ir_cast(c->b, IR_TRUNC, IR_I1, ir_get(c->b, IR_I8, off));
}

ir_val x86_msb(struct x86_ctx *c, ir_val v)
{
    return ir_binop(c->b, IR_SLT, v, ir_const(c->b, ir_type_of(c->b, v), 0));
}

ir_val x86_is_zero(struct x86_ctx *c, ir_val v)
{
    return ir_binop(c->b, IR_EQ, v, ir_const(c->b, ir_type_of(c->b, v), 0));
}

/* PF: set when the low byte has an even number of ones. */
ir_val x86_parity(struct x86_ctx *c, ir_val res)
{
    ir_val lo = ir_type_of(c->b, res) == IR_I8 ? res : ir_cast(c->b, IR_TRUNC, IR_I8, res);
    ir_val odd = ir_cast(c->b, IR_TRUNC, IR_I1, ir_unop(c->b, IR_POPCNT, lo));
    return ir_binop(c->b, IR_EQ, odd, ir_const(c->b, IR_I1, 0));
}

static ir_val bit4(struct x86_ctx *c, ir_val v)
{
    return ir_extract(c->b, IR_I1, v, 4);
}

void x86_flags_logic(struct x86_ctx *c, ir_val res)
{
    ir_val zero = ir_const(c->b, IR_I1, 0);
    x86_set_flags(c, zero, x86_parity(c, res), zero, x86_is_zero(c, res), x86_msb(c, res), zero);
}

void x86_flags_add(struct x86_ctx *c, ir_val a, ir_val b, ir_val res, ir_val carry_in)
{
    struct ir_block *B = c->b;
    ir_val cf = ir_binop(B, IR_ULT, res, a);
    if (carry_in != IR_NONE)
        cf = ir_binop(B, IR_OR, cf, ir_binop(B, IR_AND, carry_in, ir_binop(B, IR_EQ, res, a)));
    ir_val of = x86_msb(c, ir_binop(B, IR_AND, ir_binop(B, IR_XOR, a, res), ir_binop(B, IR_XOR, b, res)));
    ir_val af = bit4(c, ir_binop(B, IR_XOR, ir_binop(B, IR_XOR, a, b), res));
    x86_set_flags(c, cf, x86_parity(c, res), af, x86_is_zero(c, res), x86_msb(c, res), of);
}

void x86_flags_sub(struct x86_ctx *c, ir_val a, ir_val b, ir_val res, ir_val borrow_in)
{
    struct ir_block *B = c->b;
    ir_val cf = ir_binop(B, IR_ULT, a, b);
    if (borrow_in != IR_NONE)
        cf = ir_binop(B, IR_OR, cf, ir_binop(B, IR_AND, borrow_in, ir_binop(B, IR_EQ, a, b)));
    ir_val of = x86_msb(c, ir_binop(B, IR_AND, ir_binop(B, IR_XOR, a, b), ir_binop(B, IR_XOR, a, res)));
    ir_val af = bit4(c, ir_binop(B, IR_XOR, ir_binop(B, IR_XOR, a, b), res));
    x86_set_flags(c, cf, x86_parity(c, res), af, x86_is_zero(c, res), x86_msb(c, res), of);
}

/* Condition codes in the encoding order of Jcc/SETcc/CMOVcc (low bit inverts). */
ir_val x86_cond(struct x86_ctx *c, unsigned cc)
{
    struct ir_block *B = c->b;
    ir_val v;
    switch (cc >> 1) {
    case 0: v = x86_get_flag(c, X86_OFF_FLAG(of)); break;
    case 1: v = x86_get_flag(c, X86_OFF_FLAG(cf)); break;
    case 2: v = x86_get_flag(c, X86_OFF_FLAG(zf)); break;
    case 3: v = ir_binop(B, IR_OR, x86_get_flag(c, X86_OFF_FLAG(cf)), x86_get_flag(c, X86_OFF_FLAG(zf))); break;
    case 4: v = x86_get_flag(c, X86_OFF_FLAG(sf)); break;
    case 5: v = x86_get_flag(c, X86_OFF_FLAG(pf)); break;
    case 6: v = ir_binop(B, IR_NE, x86_get_flag(c, X86_OFF_FLAG(sf)), x86_get_flag(c, X86_OFF_FLAG(of))); break;
    default:
        v = ir_binop(B, IR_OR, x86_get_flag(c, X86_OFF_FLAG(zf)),
                     ir_binop(B, IR_NE, x86_get_flag(c, X86_OFF_FLAG(sf)), x86_get_flag(c, X86_OFF_FLAG(of))));
        break;
    }
    if (cc & 1)
        v = ir_binop(B, IR_XOR, v, ir_const(B, IR_I1, 1));
    return v;
}

/* ---- control flow ------------------------------------------------------------------ */

uint64_t x86_ip_mask(const struct x86_ctx *c)
{
    return c->code == X86_CODE64 ? ~0ull : c->code == X86_CODE32 ? 0xffffffffull : 0xffffull;
}

void x86_sync_rip(struct x86_ctx *c)
{
    ir_set(c->b, X86_OFF_RIP, ir_const(c->b, IR_I64, c->ip));
}

void x86_jump_ip(struct x86_ctx *c, uint64_t ip)
{
    x86_dbg_step_mark(c);
    ip &= x86_ip_mask(c);
    ir_set(c->b, X86_OFF_RIP, ir_const(c->b, IR_I64, ip));
    ir_jump(c->b, c->cs_base + ip);
    c->end = true;
}

void x86_jump_ind(struct x86_ctx *c, ir_val ip)
{
    unsigned sz = c->code == X86_CODE64 ? 8 : c->code == X86_CODE32 ? 4 : 2;
    x86_dbg_step_mark(c);
    ip = x86_resize(c, x86_resize(c, ip, sz, false), 8, false);
    ir_set(c->b, X86_OFF_RIP, ip);
    ir_val lin = c->cs_base ? ir_binop(c->b, IR_ADD, ip, ir_const(c->b, IR_I64, c->cs_base)) : ip;
    ir_jump_ind(c->b, lin);
    c->end = true;
}

void x86_branch_ip(struct x86_ctx *c, ir_val cond, uint64_t taken_ip)
{
    x86_dbg_step_mark(c);
    taken_ip &= x86_ip_mask(c);
    uint64_t fall_ip = c->next_ip & x86_ip_mask(c);
    ir_val rip = ir_select(c->b, cond, ir_const(c->b, IR_I64, taken_ip), ir_const(c->b, IR_I64, fall_ip));
    ir_set(c->b, X86_OFF_RIP, rip);
    ir_branch(c->b, cond, c->cs_base + taken_ip, c->cs_base + fall_ip);
    c->end = true;
}

void x86_end_system(struct x86_ctx *c)
{
    x86_dbg_step_mark(c);
    ir_set(c->b, X86_OFF_RIP, ir_const(c->b, IR_I64, c->next_ip & x86_ip_mask(c)));
    ir_stop(c->b, IR_STOP_SYSTEM, 0);
    c->end = true;
}

ir_val x86_call(struct x86_ctx *c, enum ir_type ret, uint32_t helper, ir_val a0, ir_val a1, ir_val a2)
{
    x86_sync_rip(c);
    return ir_call(c->b, ret, helper, a0, a1, a2);
}

/* The helper delivers the exception and unwinds; the STOP only keeps the block
 * well formed. */
void x86_raise(struct x86_ctx *c, unsigned vector, int64_t err)
{
    x86_call(c, IR_I64, x86_helper[X86_H_RAISE], ir_const(c->b, IR_I64, vector),
             ir_const(c->b, IR_I64, (uint64_t)err), ir_const(c->b, IR_I64, 0));
    ir_stop(c->b, IR_STOP_SYSTEM, 0);
    c->end = true;
}
