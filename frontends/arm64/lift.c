/* lift.c - building blocks shared by the A64 translators: register access with the
 * ZR/SP rule, condition codes and NZCV, add-with-carry, shifts and extends, memory
 * flags and syndrome info, exceptions, block ends. */
#include "frontends/arm64/a64_fe.h"

uint32_t a64_helper_id[A64_H_COUNT];

ir_val a64_imm(struct a64_tc *t, unsigned sf, uint64_t v)
{
    return ir_const(t->b, a64_ty(sf), sf ? v : (uint32_t)v);
}

static ir_val read64(struct a64_tc *t, uint32_t off, unsigned sf)
{
    ir_val v = ir_get(t->b, IR_I64, off);
    return sf ? v : ir_cast(t->b, IR_TRUNC, IR_I32, v);
}

ir_val a64_x(struct a64_tc *t, unsigned n, unsigned sf)
{
    if (n == 31)
        return a64_imm(t, sf, 0);
    return read64(t, A64_OFF_X(n), sf);
}

ir_val a64_xsp(struct a64_tc *t, unsigned n, unsigned sf)
{
    return read64(t, n == 31 ? A64_OFF_SP : A64_OFF_X(n), sf);
}

static ir_val widen(struct a64_tc *t, ir_val v)
{
    return ir_type_of(t->b, v) == IR_I64 ? v : ir_cast(t->b, IR_ZEXT, IR_I64, v);
}

void a64_set_x(struct a64_tc *t, unsigned n, ir_val v)
{
    if (n != 31)
        ir_set(t->b, A64_OFF_X(n), widen(t, v));
}

void a64_set_xsp(struct a64_tc *t, unsigned n, ir_val v)
{
    ir_set(t->b, n == 31 ? A64_OFF_SP : A64_OFF_X(n), widen(t, v));
}

static ir_val flag(struct a64_tc *t, ir_val ps, unsigned bit)
{
    return ir_extract(t->b, IR_I1, ps, bit);
}

/* ConditionHolds() of the Arm ARM. */
ir_val a64_cond(struct a64_tc *t, unsigned cond)
{
    struct ir_block *b = t->b;
    if ((cond >> 1) == 7)
        return ir_const(b, IR_I1, 1);
    ir_val ps = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ir_val n = flag(t, ps, 31), z = flag(t, ps, 30), c = flag(t, ps, 29), v = flag(t, ps, 28);
    ir_val r;
    switch (cond >> 1) {
    case 0: r = z; break;
    case 1: r = c; break;
    case 2: r = n; break;
    case 3: r = v; break;
    case 4: r = ir_binop(b, IR_AND, c, ir_unop(b, IR_NOT, z)); break;
    case 5: r = ir_binop(b, IR_EQ, n, v); break;
    default: r = ir_binop(b, IR_AND, ir_binop(b, IR_EQ, n, v), ir_unop(b, IR_NOT, z)); break;
    }
    return (cond & 1) ? ir_unop(b, IR_NOT, r) : r;
}

void a64_set_nzcv(struct a64_tc *t, ir_val n, ir_val z, ir_val c, ir_val v)
{
    struct ir_block *b = t->b;
    ir_val ps = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ps = ir_insert(b, ps, v, 28);
    ps = ir_insert(b, ps, c, 29);
    ps = ir_insert(b, ps, z, 30);
    ps = ir_insert(b, ps, n, 31);
    ir_set(b, A64_OFF_PSTATE, ps);
}

/* NZCV = nzcv when `when` (i1) holds, else unchanged. */
void a64_set_nzcv_imm(struct a64_tc *t, ir_val when, unsigned nzcv)
{
    struct ir_block *b = t->b;
    ir_val ps = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ir_val with = ir_binop(b, IR_OR, ir_binop(b, IR_AND, ps, ir_const(b, IR_I64, ~A64_NZCV_MASK)),
                           ir_const(b, IR_I64, (uint64_t)nzcv << A64_NZCV_SHIFT));
    ir_set(b, A64_OFF_PSTATE, when ? ir_select(b, when, with, ps) : with);
}

void a64_set_nz00(struct a64_tc *t, ir_val res)
{
    struct ir_block *b = t->b;
    ir_val zero = ir_const(b, ir_type_of(b, res), 0);
    ir_val f = ir_const(b, IR_I1, 0);
    a64_set_nzcv(t, ir_binop(b, IR_SLT, res, zero), ir_binop(b, IR_EQ, res, zero), f, f);
}

/* x - y with NZCV as AddWithCarry(x, NOT(y), 1) defines them, without the double
 * width: C = x >= y unsigned, V = operands' signs differ and the result's differs
 * from x's. The common case (CMP, SUBS), so kept cheap. */
ir_val a64_sub_flags(struct a64_tc *t, ir_val x, ir_val y)
{
    struct ir_block *b = t->b;
    ir_val res = ir_binop(b, IR_SUB, x, y);
    ir_val zero = ir_const(b, ir_type_of(b, x), 0);
    ir_val ov = ir_binop(b, IR_AND, ir_binop(b, IR_XOR, x, y), ir_binop(b, IR_XOR, x, res));
    a64_set_nzcv(t, ir_binop(b, IR_SLT, res, zero), ir_binop(b, IR_EQ, res, zero), ir_binop(b, IR_ULE, y, x),
                 ir_binop(b, IR_SLT, ov, zero));
    return res;
}

/* AddWithCarry(): with a carry in, the carry out is computed in double width. */
ir_val a64_add_with_carry(struct a64_tc *t, ir_val x, ir_val y, ir_val carry_in, bool flags)
{
    struct ir_block *b = t->b;
    enum ir_type ty = ir_type_of(b, x);
    ir_val res = ir_binop(b, IR_ADD, x, y);
    if (flags && !carry_in) {
        ir_val zero = ir_const(b, ty, 0);
        ir_val ov = ir_binop(b, IR_AND, ir_binop(b, IR_XOR, x, res), ir_binop(b, IR_XOR, y, res));
        a64_set_nzcv(t, ir_binop(b, IR_SLT, res, zero), ir_binop(b, IR_EQ, res, zero), ir_binop(b, IR_ULT, res, x),
                     ir_binop(b, IR_SLT, ov, zero));
        return res;
    }
    if (carry_in)
        res = ir_binop(b, IR_ADD, res, ir_cast(b, IR_ZEXT, ty, carry_in));
    if (!flags)
        return res;
    enum ir_type wide = ty == IR_I64 ? IR_I128 : IR_I64;
    ir_val ws = ir_binop(b, IR_ADD, ir_cast(b, IR_ZEXT, wide, x), ir_cast(b, IR_ZEXT, wide, y));
    if (carry_in)
        ws = ir_binop(b, IR_ADD, ws, ir_cast(b, IR_ZEXT, wide, carry_in));
    ir_val c = ir_extract(b, IR_I1, ws, (unsigned)ty);
    ir_val zero = ir_const(b, ty, 0);
    /* Signed overflow: both operands' signs equal and differ from the result's. */
    ir_val ov = ir_binop(b, IR_AND, ir_binop(b, IR_XOR, x, res), ir_binop(b, IR_XOR, y, res));
    a64_set_nzcv(t, ir_binop(b, IR_SLT, res, zero), ir_binop(b, IR_EQ, res, zero), c,
                 ir_binop(b, IR_SLT, ov, zero));
    return res;
}

/* ShiftReg(): LSL, LSR, ASR, ROR by an immediate below the width. */
ir_val a64_shift(struct a64_tc *t, ir_val v, unsigned type, unsigned amount)
{
    static const enum ir_op ops[4] = { IR_SHL, IR_LSHR, IR_ASHR, IR_ROTR };
    if (amount == 0)
        return v;
    return ir_binop(t->b, ops[type & 3], v, ir_const(t->b, ir_type_of(t->b, v), amount));
}

/* ExtendReg(): UXTB..SXTX of a register value, then LSL by shift. */
ir_val a64_extend(struct a64_tc *t, ir_val v, unsigned option, unsigned shift, unsigned sf)
{
    struct ir_block *b = t->b;
    static const enum ir_type from[4] = { IR_I8, IR_I16, IR_I32, IR_I64 };
    enum ir_type to = a64_ty(sf), src = from[option & 3];
    if ((unsigned)src > (unsigned)to)
        src = to;
    if (ir_type_of(b, v) != src)
        v = ir_cast(b, (unsigned)ir_type_of(b, v) > (unsigned)src ? IR_TRUNC : IR_ZEXT, src, v);
    if (src != to)
        v = ir_cast(b, (option & 4) ? IR_SEXT : IR_ZEXT, to, v);
    return shift ? ir_binop(b, IR_SHL, v, ir_const(b, to, shift)) : v;
}

ir_val a64_addr_base(struct a64_tc *t, unsigned rn)
{
    ir_val base = a64_xsp(t, rn, 1);
    /* Inline guard, not a helper call: a call that may raise would make every block
     * touching the stack unchainable (SCTLR_EL1.SA is on in every OS kernel). */
    if (rn == 31 && t->sp_align) {
        ir_val low = ir_binop(t->b, IR_AND, base, ir_const(t->b, IR_I64, A64_SP_ALIGN_MASK));
        ir_trap_if(t->b, ir_binop(t->b, IR_NE, low, ir_const(t->b, IR_I64, 0)), A64_RAISE_SP_ALIGN);
    }
    return base;
}

uint64_t a64_mem_flags(struct a64_tc *t, unsigned size)
{
    return IR_MEM(size) | (t->el == 0 ? IR_MEM_PRIV_USER : 0);
}

uint32_t a64_info(unsigned rt, unsigned size_log2, bool sse, bool sf, bool ar)
{
    return A64_INFO_ISV | (size_log2 << A64_INFO_SAS_SHIFT) | (sse ? A64_INFO_SSE : 0) |
           (rt << A64_INFO_SRT_SHIFT) | (sf ? A64_INFO_SF : 0) | (ar ? A64_INFO_AR : 0);
}

void a64_raise(struct a64_tc *t, enum a64_raise kind, uint32_t imm)
{
    struct ir_block *b = t->b;
    ir_call(b, IR_VOID, a64_helper_id[A64_H_RAISE], ir_const(b, IR_I64, kind | ((uint64_t)imm << 8)),
            ir_const(b, IR_I64, t->pc), ir_const(b, IR_I64, 0));
    /* Not reached: the helper always leaves the block. */
    ir_stop(b, IR_STOP_SYSTEM, 0);
    t->ended = true;
}

void a64_end_jump(struct a64_tc *t, uint64_t target)
{
    ir_jump(t->b, target);
    t->ended = true;
}

void a64_end_stop(struct a64_tc *t, uint64_t next_pc)
{
    ir_set(t->b, A64_OFF_PC, ir_const(t->b, IR_I64, next_pc));
    ir_stop(t->b, IR_STOP_SYSTEM, 0);
    t->ended = true;
}

bool a64_fp_check(struct a64_tc *t)
{
    if (t->fp_enabled)
        return true;
    a64_raise(t, A64_RAISE_FP_TRAP, 0);
    return false;
}

static uint64_t ones(unsigned n)
{
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

static uint64_t ror(uint64_t v, unsigned r, unsigned width)
{
    r %= width;
    if (r == 0)
        return v;
    return ((v >> r) | (v << (width - r))) & ones(width);
}

static uint64_t replicate(uint64_t v, unsigned esize, unsigned width)
{
    uint64_t out = 0;
    for (unsigned i = 0; i < width; i += esize)
        out |= v << i;
    return out;
}

/* DecodeBitMasks() of the Arm ARM. */
bool a64_decode_bitmask(unsigned n, unsigned imms, unsigned immr, bool immediate, unsigned width,
                        uint64_t *wmask, uint64_t *tmask)
{
    unsigned combined = (n << 6) | (~imms & 0x3f);
    if (combined == 0)
        return false;
    int len = 31 - __builtin_clz(combined);
    if (len < 1)
        return false;
    unsigned levels = (unsigned)ones((unsigned)len);
    if (immediate && (imms & levels) == levels)
        return false;
    unsigned s = imms & levels, r = immr & levels;
    unsigned diff = (s - r) & levels;
    unsigned esize = 1u << len;
    if (esize > width)
        return false;
    uint64_t welem = ones(s + 1), telem = ones(diff + 1);
    *wmask = replicate(ror(welem, r, esize), esize, width);
    *tmask = replicate(telem, esize, width);
    return true;
}

void a64_watch(struct a64_tc *t, ir_val addr, unsigned size, bool write)
{
    if (!t->watchpoints)
        return;
    struct ir_block *b = t->b;
    ir_call(b, IR_VOID, a64_helper_id[A64_H_WATCHPOINT], addr, ir_const(b, IR_I64, size | (write ? 0x100u : 0)),
            ir_const(b, IR_I64, t->pc));
}
