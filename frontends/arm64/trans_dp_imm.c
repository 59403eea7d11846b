/* trans_dp_imm.c - A64 "Data Processing -- Immediate": PC-relative addressing,
 * add/subtract, logical, move wide, bitfield and extract. */
#include "frontends/arm64/a64_fe.h"

bool trans_ADR(struct a64_tc *t, uint32_t insn)
{
    int64_t imm = a64_sbits(insn, 5, 19) * 4 + a64_bits(insn, 29, 2);
    a64_set_x(t, A64_RD(insn), ir_const(t->b, IR_I64, t->pc + (uint64_t)imm));
    return true;
}

bool trans_ADRP(struct a64_tc *t, uint32_t insn)
{
    int64_t imm = a64_sbits(insn, 5, 19) * 4 + a64_bits(insn, 29, 2);
    uint64_t base = t->pc & ~0xfffull;
    a64_set_x(t, A64_RD(insn), ir_const(t->b, IR_I64, base + ((uint64_t)imm << 12)));
    return true;
}

static bool addsub_imm(struct a64_tc *t, uint32_t insn, bool sub, bool flags)
{
    unsigned sf = A64_SF(insn);
    uint64_t imm = a64_bits(insn, 10, 12) << (a64_bits(insn, 22, 1) ? 12 : 0);
    ir_val x = a64_xsp(t, A64_RN(insn), sf), res;
    if (sub)
        res = flags ? a64_sub_flags(t, x, a64_imm(t, sf, imm)) : ir_binop(t->b, IR_SUB, x, a64_imm(t, sf, imm));
    else
        res = a64_add_with_carry(t, x, a64_imm(t, sf, imm), IR_NONE, flags);
    if (flags)
        a64_set_x(t, A64_RD(insn), res);
    else
        a64_set_xsp(t, A64_RD(insn), res);
    return true;
}

bool trans_ADD_addsub_imm(struct a64_tc *t, uint32_t insn) { return addsub_imm(t, insn, false, false); }
bool trans_ADDS_addsub_imm(struct a64_tc *t, uint32_t insn) { return addsub_imm(t, insn, false, true); }
bool trans_SUB_addsub_imm(struct a64_tc *t, uint32_t insn) { return addsub_imm(t, insn, true, false); }
bool trans_SUBS_addsub_imm(struct a64_tc *t, uint32_t insn) { return addsub_imm(t, insn, true, true); }

static bool logical_imm(struct a64_tc *t, uint32_t insn, enum ir_op op, bool flags)
{
    unsigned sf = A64_SF(insn), n = a64_bits(insn, 22, 1);
    uint64_t wmask, tmask;
    if (!sf && n)
        return false;
    if (!a64_decode_bitmask(n, a64_bits(insn, 10, 6), a64_bits(insn, 16, 6), true, sf ? 64 : 32, &wmask,
                            &tmask))
        return false;
    ir_val res = ir_binop(t->b, op, a64_x(t, A64_RN(insn), sf), a64_imm(t, sf, wmask));
    if (flags) {
        a64_set_nz00(t, res);
        a64_set_x(t, A64_RD(insn), res);
    } else {
        a64_set_xsp(t, A64_RD(insn), res);
    }
    return true;
}

bool trans_AND_log_imm(struct a64_tc *t, uint32_t insn) { return logical_imm(t, insn, IR_AND, false); }
bool trans_ORR_log_imm(struct a64_tc *t, uint32_t insn) { return logical_imm(t, insn, IR_OR, false); }
bool trans_EOR_log_imm(struct a64_tc *t, uint32_t insn) { return logical_imm(t, insn, IR_XOR, false); }
bool trans_ANDS_log_imm(struct a64_tc *t, uint32_t insn) { return logical_imm(t, insn, IR_AND, true); }

/* MOVN/MOVZ/MOVK: opc 00, 10, 11. */
static bool move_wide(struct a64_tc *t, uint32_t insn, unsigned opc)
{
    unsigned sf = A64_SF(insn), hw = a64_bits(insn, 21, 2);
    if (!sf && hw > 1)
        return false;
    unsigned pos = hw * 16;
    uint64_t imm = (uint64_t)a64_bits(insn, 5, 16) << pos;
    ir_val res;
    if (opc == 3) {
        ir_val old = a64_x(t, A64_RD(insn), sf);
        res = ir_insert(t->b, old, ir_const(t->b, IR_I16, a64_bits(insn, 5, 16)), pos);
    } else {
        res = a64_imm(t, sf, opc == 0 ? ~imm : imm);
    }
    a64_set_x(t, A64_RD(insn), res);
    return true;
}

bool trans_MOVN(struct a64_tc *t, uint32_t insn) { return move_wide(t, insn, 0); }
bool trans_MOVZ(struct a64_tc *t, uint32_t insn) { return move_wide(t, insn, 2); }
bool trans_MOVK(struct a64_tc *t, uint32_t insn) { return move_wide(t, insn, 3); }

/* SBFM/BFM/UBFM as the Arm ARM's pseudocode: rotate, then merge with masks. */
static bool bitfield(struct a64_tc *t, uint32_t insn, unsigned opc)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn), n = a64_bits(insn, 22, 1);
    unsigned immr = a64_bits(insn, 16, 6), imms = a64_bits(insn, 10, 6);
    unsigned width = sf ? 64 : 32;
    uint64_t wmask, tmask;
    if (n != sf || (!sf && (immr > 31 || imms > 31)))
        return false;
    if (!a64_decode_bitmask(n, imms, immr, false, width, &wmask, &tmask))
        return false;
    ir_val src = a64_x(t, A64_RN(insn), sf);
    ir_val bot = ir_binop(b, IR_ROTR, src, a64_imm(t, sf, immr));
    ir_val dst = opc == 1 ? a64_x(t, A64_RD(insn), sf) : a64_imm(t, sf, 0);
    /* bot = (dst AND NOT(wmask)) OR (ROR(src, R) AND wmask) */
    ir_val botv = ir_binop(b, IR_OR, ir_binop(b, IR_AND, dst, a64_imm(t, sf, ~wmask)),
                           ir_binop(b, IR_AND, bot, a64_imm(t, sf, wmask)));
    ir_val top = dst;
    if (opc == 0) {
        /* top = Replicate(src<S>): shift the sign bit of field S across */
        ir_val sh = ir_binop(b, IR_SHL, src, a64_imm(t, sf, width - 1 - imms));
        top = ir_binop(b, IR_ASHR, sh, a64_imm(t, sf, width - 1));
    }
    ir_val res = ir_binop(b, IR_OR, ir_binop(b, IR_AND, top, a64_imm(t, sf, ~tmask)),
                          ir_binop(b, IR_AND, botv, a64_imm(t, sf, tmask)));
    a64_set_x(t, A64_RD(insn), res);
    return true;
}

bool trans_SBFM(struct a64_tc *t, uint32_t insn) { return bitfield(t, insn, 0); }
bool trans_BFM(struct a64_tc *t, uint32_t insn) { return bitfield(t, insn, 1); }
bool trans_UBFM(struct a64_tc *t, uint32_t insn) { return bitfield(t, insn, 2); }

bool trans_EXTR(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn), lsb = a64_bits(insn, 10, 6);
    if (a64_bits(insn, 22, 1) != sf || (!sf && lsb > 31))
        return false;
    enum ir_type ty = a64_ty(sf), wide = sf ? IR_I128 : IR_I64;
    ir_val hi = ir_cast(b, IR_ZEXT, wide, a64_x(t, A64_RN(insn), sf));
    ir_val lo = ir_cast(b, IR_ZEXT, wide, a64_x(t, A64_RM(insn), sf));
    ir_val cat = ir_binop(b, IR_OR, ir_binop(b, IR_SHL, hi, ir_const(b, wide, sf ? 64 : 32)), lo);
    a64_set_x(t, A64_RD(insn), ir_extract(b, ty, cat, lsb));
    return true;
}
