/* trans_dp_reg.c - A64 "Data Processing -- Register": logical and add/subtract
 * (shifted and extended register), with carry, conditional compare and select,
 * multiply/divide, shifts by register, CRC32 and bit operations. */
#include "frontends/arm64/a64_fe.h"

/* Logical (shifted register): opc selects AND/ORR/EOR/ANDS, N inverts Rm. */
static bool logical_shift(struct a64_tc *t, uint32_t insn, enum ir_op op, bool invert, bool flags)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn), amount = a64_bits(insn, 10, 6);
    if (!sf && amount > 31)
        return false;
    ir_val m = a64_shift(t, a64_x(t, A64_RM(insn), sf), a64_bits(insn, 22, 2), amount);
    if (invert)
        m = ir_unop(b, IR_NOT, m);
    ir_val res = ir_binop(b, op, a64_x(t, A64_RN(insn), sf), m);
    if (flags)
        a64_set_nz00(t, res);
    a64_set_x(t, A64_RD(insn), res);
    return true;
}

bool trans_AND_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_AND, false, false); }
bool trans_BIC_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_AND, true, false); }
bool trans_ORR_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_OR, false, false); }
bool trans_ORN_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_OR, true, false); }
bool trans_EOR_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_XOR, false, false); }
bool trans_EON_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_XOR, true, false); }
bool trans_ANDS_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_AND, false, true); }
bool trans_BICS_log_shift(struct a64_tc *t, uint32_t insn) { return logical_shift(t, insn, IR_AND, true, true); }

static ir_val addsub(struct a64_tc *t, ir_val x, ir_val y, bool sub, bool flags)
{
    if (!sub)
        return a64_add_with_carry(t, x, y, IR_NONE, flags);
    return flags ? a64_sub_flags(t, x, y) : ir_binop(t->b, IR_SUB, x, y);
}

static bool addsub_shift(struct a64_tc *t, uint32_t insn, bool sub, bool flags)
{
    unsigned sf = A64_SF(insn), type = a64_bits(insn, 22, 2), amount = a64_bits(insn, 10, 6);
    if (type == 3 || (!sf && amount > 31))
        return false;
    ir_val m = a64_shift(t, a64_x(t, A64_RM(insn), sf), type, amount);
    a64_set_x(t, A64_RD(insn), addsub(t, a64_x(t, A64_RN(insn), sf), m, sub, flags));
    return true;
}

bool trans_ADD_addsub_shift(struct a64_tc *t, uint32_t insn) { return addsub_shift(t, insn, false, false); }
bool trans_ADDS_addsub_shift(struct a64_tc *t, uint32_t insn) { return addsub_shift(t, insn, false, true); }
bool trans_SUB_addsub_shift(struct a64_tc *t, uint32_t insn) { return addsub_shift(t, insn, true, false); }
bool trans_SUBS_addsub_shift(struct a64_tc *t, uint32_t insn) { return addsub_shift(t, insn, true, true); }

static bool addsub_ext(struct a64_tc *t, uint32_t insn, bool sub, bool flags)
{
    unsigned sf = A64_SF(insn), shift = a64_bits(insn, 10, 3);
    if (shift > 4)
        return false;
    ir_val m = a64_extend(t, a64_x(t, A64_RM(insn), 1), a64_bits(insn, 13, 3), shift, sf);
    ir_val res = addsub(t, a64_xsp(t, A64_RN(insn), sf), m, sub, flags);
    if (flags)
        a64_set_x(t, A64_RD(insn), res);
    else
        a64_set_xsp(t, A64_RD(insn), res);
    return true;
}

bool trans_ADD_addsub_ext(struct a64_tc *t, uint32_t insn) { return addsub_ext(t, insn, false, false); }
bool trans_ADDS_addsub_ext(struct a64_tc *t, uint32_t insn) { return addsub_ext(t, insn, false, true); }
bool trans_SUB_addsub_ext(struct a64_tc *t, uint32_t insn) { return addsub_ext(t, insn, true, false); }
bool trans_SUBS_addsub_ext(struct a64_tc *t, uint32_t insn) { return addsub_ext(t, insn, true, true); }

static bool addsub_carry(struct a64_tc *t, uint32_t insn, bool sub, bool flags)
{
    unsigned sf = A64_SF(insn);
    ir_val m = a64_x(t, A64_RM(insn), sf);
    if (sub)
        m = ir_unop(t->b, IR_NOT, m);
    ir_val c = ir_extract(t->b, IR_I1, ir_get(t->b, IR_I64, A64_OFF_PSTATE), 29);
    a64_set_x(t, A64_RD(insn), a64_add_with_carry(t, a64_x(t, A64_RN(insn), sf), m, c, flags));
    return true;
}

bool trans_ADC(struct a64_tc *t, uint32_t insn) { return addsub_carry(t, insn, false, false); }
bool trans_ADCS(struct a64_tc *t, uint32_t insn) { return addsub_carry(t, insn, false, true); }
bool trans_SBC(struct a64_tc *t, uint32_t insn) { return addsub_carry(t, insn, true, false); }
bool trans_SBCS(struct a64_tc *t, uint32_t insn) { return addsub_carry(t, insn, true, true); }

/* CCMN/CCMP: if cond, flags of Rn +/- operand; else NZCV = #nzcv. */
static bool cond_compare(struct a64_tc *t, uint32_t insn, bool sub, bool imm)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn);
    if (a64_bits(insn, 10, 1) || a64_bits(insn, 4, 1))
        return false;
    ir_val holds = a64_cond(t, a64_bits(insn, 12, 4));
    ir_val ps_before = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ir_val y = imm ? a64_imm(t, sf, a64_bits(insn, 16, 5)) : a64_x(t, A64_RM(insn), sf);
    addsub(t, a64_x(t, A64_RN(insn), sf), y, sub, true);
    ir_val ps_cmp = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ir_val ps_imm = ir_binop(b, IR_OR, ir_binop(b, IR_AND, ps_before, ir_const(b, IR_I64, ~A64_NZCV_MASK)),
                             ir_const(b, IR_I64, (uint64_t)a64_bits(insn, 0, 4) << A64_NZCV_SHIFT));
    ir_set(b, A64_OFF_PSTATE, ir_select(b, holds, ps_cmp, ps_imm));
    return true;
}

bool trans_CCMN_reg(struct a64_tc *t, uint32_t insn) { return cond_compare(t, insn, false, false); }
bool trans_CCMP_reg(struct a64_tc *t, uint32_t insn) { return cond_compare(t, insn, true, false); }
bool trans_CCMN_imm(struct a64_tc *t, uint32_t insn) { return cond_compare(t, insn, false, true); }
bool trans_CCMP_imm(struct a64_tc *t, uint32_t insn) { return cond_compare(t, insn, true, true); }

/* CSEL family: else-value is Rm, Rm+1, NOT Rm or -Rm. */
static bool cond_select(struct a64_tc *t, uint32_t insn, unsigned kind)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn);
    ir_val holds = a64_cond(t, a64_bits(insn, 12, 4));
    ir_val m = a64_x(t, A64_RM(insn), sf);
    if (kind == 1)
        m = ir_binop(b, IR_ADD, m, a64_imm(t, sf, 1));
    else if (kind == 2)
        m = ir_unop(b, IR_NOT, m);
    else if (kind == 3)
        m = ir_unop(b, IR_NEG, m);
    a64_set_x(t, A64_RD(insn), ir_select(b, holds, a64_x(t, A64_RN(insn), sf), m));
    return true;
}

bool trans_CSEL(struct a64_tc *t, uint32_t insn) { return cond_select(t, insn, 0); }
bool trans_CSINC(struct a64_tc *t, uint32_t insn) { return cond_select(t, insn, 1); }
bool trans_CSINV(struct a64_tc *t, uint32_t insn) { return cond_select(t, insn, 2); }
bool trans_CSNEG(struct a64_tc *t, uint32_t insn) { return cond_select(t, insn, 3); }

static bool mul_add(struct a64_tc *t, uint32_t insn, bool sub)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn);
    ir_val p = ir_binop(b, IR_MUL, a64_x(t, A64_RN(insn), sf), a64_x(t, A64_RM(insn), sf));
    ir_val a = a64_x(t, A64_RA(insn), sf);
    a64_set_x(t, A64_RD(insn), ir_binop(b, sub ? IR_SUB : IR_ADD, a, p));
    return true;
}

bool trans_MADD(struct a64_tc *t, uint32_t insn) { return mul_add(t, insn, false); }
bool trans_MSUB(struct a64_tc *t, uint32_t insn) { return mul_add(t, insn, true); }

/* SMADDL & co: 32x32 -> 64 products. */
static bool mul_long(struct a64_tc *t, uint32_t insn, bool is_signed, bool sub)
{
    struct ir_block *b = t->b;
    enum ir_op ext = is_signed ? IR_SEXT : IR_ZEXT;
    ir_val n = ir_cast(b, ext, IR_I64, a64_x(t, A64_RN(insn), 0));
    ir_val m = ir_cast(b, ext, IR_I64, a64_x(t, A64_RM(insn), 0));
    ir_val p = ir_binop(b, IR_MUL, n, m);
    a64_set_x(t, A64_RD(insn), ir_binop(b, sub ? IR_SUB : IR_ADD, a64_x(t, A64_RA(insn), 1), p));
    return true;
}

bool trans_SMADDL(struct a64_tc *t, uint32_t insn) { return mul_long(t, insn, true, false); }
bool trans_SMSUBL(struct a64_tc *t, uint32_t insn) { return mul_long(t, insn, true, true); }
bool trans_UMADDL(struct a64_tc *t, uint32_t insn) { return mul_long(t, insn, false, false); }
bool trans_UMSUBL(struct a64_tc *t, uint32_t insn) { return mul_long(t, insn, false, true); }

static bool mul_high(struct a64_tc *t, uint32_t insn, enum ir_op op)
{
    a64_set_x(t, A64_RD(insn), ir_binop(t->b, op, a64_x(t, A64_RN(insn), 1), a64_x(t, A64_RM(insn), 1)));
    return true;
}

bool trans_SMULH(struct a64_tc *t, uint32_t insn) { return mul_high(t, insn, IR_SMULH); }
bool trans_UMULH(struct a64_tc *t, uint32_t insn) { return mul_high(t, insn, IR_UMULH); }

/* Division by zero gives 0 and INT_MIN / -1 gives INT_MIN: the IR ops' own rules. */
static bool divide(struct a64_tc *t, uint32_t insn, enum ir_op op)
{
    unsigned sf = A64_SF(insn);
    a64_set_x(t, A64_RD(insn), ir_binop(t->b, op, a64_x(t, A64_RN(insn), sf), a64_x(t, A64_RM(insn), sf)));
    return true;
}

bool trans_UDIV(struct a64_tc *t, uint32_t insn) { return divide(t, insn, IR_UDIV); }
bool trans_SDIV(struct a64_tc *t, uint32_t insn) { return divide(t, insn, IR_SDIV); }

/* Shifts by register: the count is taken modulo the width. */
static bool shift_reg(struct a64_tc *t, uint32_t insn, enum ir_op op)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn);
    ir_val count = ir_binop(b, IR_AND, a64_x(t, A64_RM(insn), sf), a64_imm(t, sf, sf ? 63 : 31));
    a64_set_x(t, A64_RD(insn), ir_binop(b, op, a64_x(t, A64_RN(insn), sf), count));
    return true;
}

bool trans_LSLV(struct a64_tc *t, uint32_t insn) { return shift_reg(t, insn, IR_SHL); }
bool trans_LSRV(struct a64_tc *t, uint32_t insn) { return shift_reg(t, insn, IR_LSHR); }
bool trans_ASRV(struct a64_tc *t, uint32_t insn) { return shift_reg(t, insn, IR_ASHR); }
bool trans_RORV(struct a64_tc *t, uint32_t insn) { return shift_reg(t, insn, IR_ROTR); }

static bool crc32(struct a64_tc *t, uint32_t insn, bool castagnoli)
{
    struct ir_block *b = t->b;
    unsigned sz = a64_bits(insn, 10, 2);
    if ((sz == 3) != (A64_SF(insn) == 1))
        return false;
    ir_val acc = ir_cast(b, IR_ZEXT, IR_I64, a64_x(t, A64_RN(insn), 0));
    ir_val val = a64_x(t, A64_RM(insn), 1);
    ir_val r = ir_call(b, IR_I64, a64_helper_id[A64_H_CRC32], acc, val,
                       ir_const(b, IR_I64, (1u << sz) | (castagnoli ? 0x100u : 0)));
    a64_set_x(t, A64_RD(insn), ir_cast(b, IR_TRUNC, IR_I32, r));
    return true;
}

bool trans_CRC32(struct a64_tc *t, uint32_t insn) { return crc32(t, insn, false); }
bool trans_CRC32C(struct a64_tc *t, uint32_t insn) { return crc32(t, insn, true); }

static bool unary(struct a64_tc *t, uint32_t insn, enum ir_op op)
{
    unsigned sf = A64_SF(insn);
    a64_set_x(t, A64_RD(insn), ir_unop(t->b, op, a64_x(t, A64_RN(insn), sf)));
    return true;
}

bool trans_RBIT(struct a64_tc *t, uint32_t insn) { return unary(t, insn, IR_BITREV); }
bool trans_CLZ(struct a64_tc *t, uint32_t insn) { return unary(t, insn, IR_CLZ); }
bool trans_REV_32(struct a64_tc *t, uint32_t insn) { return unary(t, insn, IR_BSWAP); }
bool trans_REV_64(struct a64_tc *t, uint32_t insn) { return unary(t, insn, IR_BSWAP); }

/* CLS: leading sign bits excluding the sign bit = CLZ(x XOR (x >> 1)) - 1. */
bool trans_CLS(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn);
    ir_val x = a64_x(t, A64_RN(insn), sf);
    ir_val y = ir_binop(b, IR_XOR, x, ir_binop(b, IR_ASHR, x, a64_imm(t, sf, 1)));
    ir_val z = ir_unop(b, IR_CLZ, y);
    a64_set_x(t, A64_RD(insn), ir_binop(b, IR_SUB, z, a64_imm(t, sf, 1)));
    return true;
}

/* REV16: byte swap within each halfword; REV32: within each word. */
static ir_val swap_within(struct a64_tc *t, ir_val x, unsigned sf, unsigned chunk_bits)
{
    struct ir_block *b = t->b;
    if (chunk_bits == 16) {
        uint64_t lo = sf ? 0x00ff00ff00ff00ffull : 0x00ff00ffull;
        ir_val a = ir_binop(b, IR_AND, ir_binop(b, IR_LSHR, x, a64_imm(t, sf, 8)), a64_imm(t, sf, lo));
        ir_val c = ir_binop(b, IR_SHL, ir_binop(b, IR_AND, x, a64_imm(t, sf, lo)), a64_imm(t, sf, 8));
        return ir_binop(b, IR_OR, a, c);
    }
    /* 64-bit REV32: reverse all bytes, then swap the two words back. */
    return ir_binop(b, IR_ROTR, ir_unop(b, IR_BSWAP, x), a64_imm(t, sf, 32));
}

bool trans_REV16(struct a64_tc *t, uint32_t insn)
{
    unsigned sf = A64_SF(insn);
    a64_set_x(t, A64_RD(insn), swap_within(t, a64_x(t, A64_RN(insn), sf), sf, 16));
    return true;
}

bool trans_REV32(struct a64_tc *t, uint32_t insn)
{
    a64_set_x(t, A64_RD(insn), swap_within(t, a64_x(t, A64_RN(insn), 1), 1, 32));
    return true;
}
