/* trans_ldst.c - A64 "Loads and Stores": single registers in every addressing
 * mode, pairs, literals, exclusives with the soft monitor, acquire/release, and
 * LSE atomics as host atomics. Info words carry the stage-2 syndrome: ISV only
 * for single general-register accesses without writeback (not exclusives). */
#include "frontends/arm64/a64_fe.h"

enum addr_mode { MODE_UNSCALED, MODE_POST, MODE_UNPRIV, MODE_PRE, MODE_REGOFF, MODE_POS };

static const enum ir_type size_type[5] = { IR_I8, IR_I16, IR_I32, IR_I64, IR_I128 };

static ir_val add_imm(struct a64_tc *t, ir_val base, int64_t off)
{
    return off ? ir_binop(t->b, IR_ADD, base, ir_const(t->b, IR_I64, (uint64_t)off)) : base;
}

/* Check natural alignment at run time (exclusives, atomics, acquire/release):
 * an unaligned address takes an alignment fault before the access; then the
 * watchpoints, while armed. */
static void check_align(struct a64_tc *t, ir_val addr, unsigned size, bool write)
{
    struct ir_block *b = t->b;
    if (size > 1)
        ir_call(b, IR_VOID, a64_helper_id[A64_H_ALIGN], addr,
                ir_const(b, IR_I64, (size - 1) | (write ? 0x100u : 0)), ir_const(b, IR_I64, t->pc));
    a64_watch(t, addr, size, write);   /* after the alignment fault, which takes priority */
}

/* Load `size` bytes into Xt/Vt per the integer opc (01 zero-extend, 10 sign to 64,
 * 11 sign to 32) or the vector rules. */
static void load_int(struct a64_tc *t, unsigned rt, ir_val addr, unsigned size_log2, unsigned opc,
                     uint64_t extra_flags, uint32_t info_extra, bool isv)
{
    struct ir_block *b = t->b;
    unsigned size = 1u << size_log2;
    bool sext = opc >= 2, to64 = (opc == 2) || (opc == 1 && size_log2 == 3);
    uint64_t flags = a64_mem_flags(t, size) | extra_flags | (sext ? IR_MEM_SIGNED : 0);
    uint32_t info = isv ? a64_info(rt, size_log2, sext, to64, info_extra & A64_INFO_AR) : 0;
    a64_watch(t, addr, size, false);
    ir_val v = ir_load(b, to64 ? IR_I64 : IR_I32, addr, flags, info);
    a64_set_x(t, rt, v);
}

static void store_int(struct a64_tc *t, unsigned rt, ir_val addr, unsigned size_log2, uint64_t extra_flags,
                      uint32_t info_extra, bool isv)
{
    unsigned size = 1u << size_log2;
    ir_val v = a64_x(t, rt, size_log2 == 3);
    if (size_log2 < 2)
        v = ir_cast(t->b, IR_TRUNC, size_type[size_log2], v);
    uint32_t info = isv ? a64_info(rt, size_log2, false, size_log2 == 3, info_extra & A64_INFO_AR) : 0;
    a64_watch(t, addr, size, true);
    ir_store(t->b, addr, v, a64_mem_flags(t, size) | extra_flags, info);
}

static void load_vec(struct a64_tc *t, unsigned rt, ir_val addr, unsigned size_log2)
{
    struct ir_block *b = t->b;
    a64_watch(t, addr, 1u << size_log2, false);
    ir_val v = ir_load(b, size_type[size_log2], addr, a64_mem_flags(t, 1u << size_log2) | IR_MEM_NO_ISV, 0);
    if (size_log2 < 4)
        v = ir_cast(b, IR_ZEXT, IR_I128, v);
    ir_set(b, A64_OFF_V(rt), v);
}

static void store_vec(struct a64_tc *t, unsigned rt, ir_val addr, unsigned size_log2)
{
    struct ir_block *b = t->b;
    ir_val v = ir_get(b, size_type[size_log2], A64_OFF_V(rt));
    a64_watch(t, addr, 1u << size_log2, true);
    ir_store(b, addr, v, a64_mem_flags(t, 1u << size_log2) | IR_MEM_NO_ISV, 0);
}

/* Every single-register form: size 31:30, V 26, opc 23:22. */
static bool ldst_single(struct a64_tc *t, uint32_t insn, enum addr_mode mode)
{
    struct ir_block *b = t->b;
    unsigned size = a64_bits(insn, 30, 2), opc = a64_bits(insn, 22, 2), vec = a64_bits(insn, 26, 1);
    unsigned rt = A64_RT(insn), rn = A64_RN(insn);
    unsigned size_log2 = size;
    bool load, prefetch = false;
    if (vec) {
        if (!a64_fp_check(t))
            return true;
        if (opc & 2) {
            if (size != 0)
                return false;
            size_log2 = 4;
        }
        load = opc & 1;
    } else {
        if (size == 3 && opc == 2)
            prefetch = true;
        else if (opc == 3 && size >= 2)
            return false;
        else if (opc == 2 && size == 3)
            return false;
        load = opc != 0;
    }
    ir_val base = a64_addr_base(t, rn), addr;
    bool wback = mode == MODE_POST || mode == MODE_PRE;
    if (mode == MODE_POS) {
        addr = add_imm(t, base, (int64_t)((uint64_t)a64_bits(insn, 10, 12) << size_log2));
    } else if (mode == MODE_REGOFF) {
        unsigned option = a64_bits(insn, 13, 3);
        if (!(option & 2))
            return false;
        unsigned shift = a64_bits(insn, 12, 1) ? size_log2 : 0;
        addr = ir_binop(b, IR_ADD, base, a64_extend(t, a64_x(t, A64_RM(insn), 1), option, shift, 1));
    } else {
        int64_t simm = a64_sbits(insn, 12, 9);
        addr = mode == MODE_POST ? base : add_imm(t, base, simm);
    }
    if (prefetch)
        return true;   /* PRFM: a hint, never faults */
    uint64_t extra = mode == MODE_UNPRIV ? IR_MEM_PRIV_USER : 0;
    if (vec) {
        if (load)
            load_vec(t, rt, addr, size_log2);
        else
            store_vec(t, rt, addr, size_log2);
    } else if (load) {
        load_int(t, rt, addr, size_log2, opc, extra, 0, !wback);
    } else {
        store_int(t, rt, addr, size_log2, extra, 0, !wback);
    }
    if (wback) {
        int64_t simm = a64_sbits(insn, 12, 9);
        a64_set_xsp(t, rn, mode == MODE_POST ? add_imm(t, base, simm) : addr);
    }
    return true;
}

/* One translator per encoding of the table; they differ only in the addressing mode. */
bool trans_STURB_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDURB_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDURSB_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_STURH_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDURH_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDURSH_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_STUR_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDUR_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDURSW_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_PRFUM_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_STUR_fpsimd_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_LDUR_fpsimd_ldst_unscaled(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNSCALED); }
bool trans_STRB_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDRB_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDRSB_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_STRH_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDRH_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDRSH_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_STR_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDR_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDRSW_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_STR_fpsimd_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_LDR_fpsimd_ldst_immpost(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POST); }
bool trans_STTRB_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTRB_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTRSB_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_STTRH_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTRH_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTRSH_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_STTR_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTR_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_LDTRSW_ldst_unpriv(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_UNPRIV); }
bool trans_STRB_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDRB_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDRSB_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_STRH_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDRH_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDRSH_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_STR_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDR_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDRSW_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_STR_fpsimd_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_LDR_fpsimd_ldst_immpre(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_PRE); }
bool trans_STRB_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDRB_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDRSB_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_STRH_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDRH_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDRSH_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_STR_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDR_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDRSW_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_PRFM_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_STR_fpsimd_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_LDR_fpsimd_ldst_regoff(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_REGOFF); }
bool trans_STRB_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDRB_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDRSB_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_STRH_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDRH_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDRSH_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_STR_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDR_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDRSW_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_PRFM_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_STR_fpsimd_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }
bool trans_LDR_fpsimd_ldst_pos(struct a64_tc *t, uint32_t insn) { return ldst_single(t, insn, MODE_POS); }

/* ---- literal ---- */
static bool load_literal(struct a64_tc *t, uint32_t insn, unsigned size_log2, unsigned opc, bool vec)
{
    ir_val addr = ir_const(t->b, IR_I64, t->pc + (uint64_t)(a64_sbits(insn, 5, 19) * 4));
    if (vec)
        load_vec(t, A64_RT(insn), addr, size_log2);
    else
        load_int(t, A64_RT(insn), addr, size_log2, opc, 0, 0, true);
    return true;
}

bool trans_LDR_lit_gen(struct a64_tc *t, uint32_t insn)
{
    return load_literal(t, insn, a64_bits(insn, 30, 1) ? 3 : 2, 1, false);
}

bool trans_LDRSW_lit(struct a64_tc *t, uint32_t insn) { return load_literal(t, insn, 2, 2, false); }
bool trans_PRFM_lit(struct a64_tc *t, uint32_t insn) { (void)t; (void)insn; return true; }

bool trans_LDR_lit_fpsimd(struct a64_tc *t, uint32_t insn)
{
    unsigned opc = a64_bits(insn, 30, 2);
    if (opc == 3)
        return false;
    if (!a64_fp_check(t))
        return true;
    return load_literal(t, insn, opc + 2, 0, true);
}

/* ---- pairs ---- */
enum pair_mode { PAIR_POST = 1, PAIR_OFF = 2, PAIR_PRE = 3 };

static bool ldst_pair(struct a64_tc *t, uint32_t insn, enum pair_mode mode, bool load)
{
    struct ir_block *b = t->b;
    unsigned opc = a64_bits(insn, 30, 2), vec = a64_bits(insn, 26, 1);
    unsigned rt = A64_RT(insn), rt2 = A64_RT2(insn), rn = A64_RN(insn);
    unsigned size_log2;
    bool sext = false;
    if (vec) {
        if (opc == 3)
            return false;
        if (!a64_fp_check(t))
            return true;
        size_log2 = 2 + opc;
    } else {
        size_log2 = (opc & 2) ? 3 : 2;
        sext = opc == 1;
    }
    int64_t off = a64_sbits(insn, 15, 7) * (1ll << size_log2);
    ir_val base = a64_addr_base(t, rn);
    ir_val addr = mode == PAIR_POST ? base : add_imm(t, base, off);
    ir_val addr2 = add_imm(t, addr, 1ll << size_log2);
    unsigned size = 1u << size_log2;
    uint64_t flags = a64_mem_flags(t, size) | IR_MEM_NO_ISV;
    a64_watch(t, addr, 2 * size, !load);   /* the pair is one access of twice the size */
    if (vec) {
        if (load) {
            ir_val v1 = ir_load(b, size_type[size_log2], addr, flags, 0);
            ir_val v2 = ir_load(b, size_type[size_log2], addr2, flags, 0);
            ir_set(b, A64_OFF_V(rt), size_log2 < 4 ? ir_cast(b, IR_ZEXT, IR_I128, v1) : v1);
            ir_set(b, A64_OFF_V(rt2), size_log2 < 4 ? ir_cast(b, IR_ZEXT, IR_I128, v2) : v2);
        } else {
            ir_store(b, addr, ir_get(b, size_type[size_log2], A64_OFF_V(rt)), flags, 0);
            ir_store(b, addr2, ir_get(b, size_type[size_log2], A64_OFF_V(rt2)), flags, 0);
        }
    } else if (load) {
        enum ir_type ty = (size_log2 == 3 || sext) ? IR_I64 : IR_I32;
        uint64_t lf = flags | (sext ? IR_MEM_SIGNED : 0);
        ir_val v1 = ir_load(b, ty, addr, lf, 0);
        ir_val v2 = ir_load(b, ty, addr2, lf, 0);
        a64_set_x(t, rt, v1);
        a64_set_x(t, rt2, v2);
    } else {
        ir_store(b, addr, a64_x(t, rt, size_log2 == 3), flags, 0);
        ir_store(b, addr2, a64_x(t, rt2, size_log2 == 3), flags, 0);
    }
    if (mode != PAIR_OFF)
        a64_set_xsp(t, rn, mode == PAIR_POST ? add_imm(t, base, off) : addr);
    return true;
}

bool trans_STNP_gen(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, false); }
bool trans_LDNP_gen(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, true); }
bool trans_STP_gen_post(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_POST, false); }
bool trans_STP_gen_off(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, false); }
bool trans_STP_gen_pre(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_PRE, false); }
bool trans_LDP_gen_post(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_POST, true); }
bool trans_LDP_gen_off(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, true); }
bool trans_LDP_gen_pre(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_PRE, true); }
bool trans_LDPSW_post(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_POST, true); }
bool trans_LDPSW_off(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, true); }
bool trans_LDPSW_pre(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_PRE, true); }
bool trans_STNP_fpsimd(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, false); }
bool trans_LDNP_fpsimd(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, true); }
bool trans_STP_fpsimd_post(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_POST, false); }
bool trans_STP_fpsimd_off(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, false); }
bool trans_STP_fpsimd_pre(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_PRE, false); }
bool trans_LDP_fpsimd_post(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_POST, true); }
bool trans_LDP_fpsimd_off(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_OFF, true); }
bool trans_LDP_fpsimd_pre(struct a64_tc *t, uint32_t insn) { return ldst_pair(t, insn, PAIR_PRE, true); }

/* ---- exclusives, acquire/release, compare-and-swap ---- */
static uint64_t order_flags(bool acquire, bool release)
{
    return (acquire ? IR_MEM_ACQUIRE : 0) | (release ? IR_MEM_RELEASE : 0);
}

/* Load exclusive of one register (pair == false) or two: the monitor records the
 * address, size and the loaded value for the later store's compare-and-swap. */
static bool load_exclusive(struct a64_tc *t, uint32_t insn, bool pair, bool acquire)
{
    struct ir_block *b = t->b;
    unsigned elem_log2 = pair ? 2 + a64_bits(insn, 30, 1) : a64_bits(insn, 30, 2);
    unsigned total_log2 = elem_log2 + (pair ? 1 : 0);
    unsigned rt = A64_RT(insn);
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << total_log2, false);
    uint64_t flags = a64_mem_flags(t, 1u << total_log2) | IR_MEM_EXCLUSIVE | IR_MEM_NO_ISV |
                     order_flags(acquire, false);
    ir_val v = ir_load(b, size_type[total_log2], addr, flags, 0);
    ir_set(b, A64_OFF_EXCL_ADDR, addr);
    ir_set(b, offsetof(struct a64_state, excl_size), ir_const(b, IR_I64, 1u << total_log2));
    ir_set(b, A64_OFF_EXCL_VAL, total_log2 == 4 ? v : ir_cast(b, IR_ZEXT, IR_I128, v));
    if (!pair) {
        a64_set_x(t, rt, total_log2 == 3 ? v : ir_cast(b, IR_ZEXT, IR_I64, v));
    } else if (elem_log2 == 2) {
        a64_set_x(t, rt, ir_extract(b, IR_I32, v, 0));
        a64_set_x(t, A64_RT2(insn), ir_extract(b, IR_I32, v, 32));
    } else {
        a64_set_x(t, rt, ir_extract(b, IR_I64, v, 0));
        a64_set_x(t, A64_RT2(insn), ir_extract(b, IR_I64, v, 64));
    }
    return true;
}

/* Store exclusive: succeeds when the monitor holds this address and size and memory
 * still holds the value loaded (compare-and-swap against it). On a failed monitor
 * check the swap writes the expected value back unchanged, or not at all. */
static bool store_exclusive(struct a64_tc *t, uint32_t insn, bool pair, bool release)
{
    struct ir_block *b = t->b;
    unsigned elem_log2 = pair ? 2 + a64_bits(insn, 30, 1) : a64_bits(insn, 30, 2);
    unsigned total_log2 = elem_log2 + (pair ? 1 : 0);
    enum ir_type ty = size_type[total_log2];
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << total_log2, true);
    ir_val data;
    if (!pair) {
        data = a64_x(t, A64_RT(insn), 1);
        if (total_log2 < 3)
            data = ir_cast(b, IR_TRUNC, ty, data);
    } else {
        enum ir_type et = size_type[elem_log2];
        ir_val lo = ir_cast(b, IR_ZEXT, ty, a64_x(t, A64_RT(insn), elem_log2 == 3));
        ir_val hi = ir_cast(b, IR_ZEXT, ty, a64_x(t, A64_RT2(insn), elem_log2 == 3));
        (void)et;
        data = ir_binop(b, IR_OR, lo, ir_binop(b, IR_SHL, hi, ir_const(b, ty, 8u << elem_log2)));
    }
    ir_val mon_addr = ir_get(b, IR_I64, A64_OFF_EXCL_ADDR);
    ir_val mon_size = ir_get(b, IR_I64, offsetof(struct a64_state, excl_size));
    ir_val match = ir_binop(b, IR_AND, ir_binop(b, IR_EQ, mon_addr, addr),
                            ir_binop(b, IR_EQ, mon_size, ir_const(b, IR_I64, 1u << total_log2)));
    ir_val expected = ir_get(b, IR_I128, A64_OFF_EXCL_VAL);
    if (total_log2 < 4)
        expected = ir_cast(b, IR_TRUNC, ty, expected);
    ir_val desired = ir_select(b, match, data, expected);
    uint64_t flags = a64_mem_flags(t, 1u << total_log2) | IR_MEM_EXCLUSIVE | IR_MEM_NO_ISV |
                     order_flags(false, release);
    ir_val old = ir_cmpxchg(b, addr, expected, desired, flags, 0);
    ir_val ok = ir_binop(b, IR_AND, match, ir_binop(b, IR_EQ, old, expected));
    ir_set(b, A64_OFF_EXCL_ADDR, ir_const(b, IR_I64, A64_EXCL_NONE));
    a64_set_x(t, A64_RS(insn), ir_cast(b, IR_ZEXT, IR_I64, ir_unop(b, IR_NOT, ok)));
    return true;
}

bool trans_LDXR(struct a64_tc *t, uint32_t insn) { return load_exclusive(t, insn, false, false); }
bool trans_LDAXR(struct a64_tc *t, uint32_t insn) { return load_exclusive(t, insn, false, true); }
bool trans_LDXP(struct a64_tc *t, uint32_t insn) { return load_exclusive(t, insn, true, false); }
bool trans_LDAXP(struct a64_tc *t, uint32_t insn) { return load_exclusive(t, insn, true, true); }
bool trans_STXR(struct a64_tc *t, uint32_t insn) { return store_exclusive(t, insn, false, false); }
bool trans_STLXR(struct a64_tc *t, uint32_t insn) { return store_exclusive(t, insn, false, true); }
bool trans_STXP(struct a64_tc *t, uint32_t insn) { return store_exclusive(t, insn, true, false); }
bool trans_STLXP(struct a64_tc *t, uint32_t insn) { return store_exclusive(t, insn, true, true); }

bool trans_LDAR(struct a64_tc *t, uint32_t insn)
{
    unsigned size_log2 = a64_bits(insn, 30, 2);
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << size_log2, false);
    load_int(t, A64_RT(insn), addr, size_log2, 1, IR_MEM_ACQUIRE, A64_INFO_AR, true);
    return true;
}

bool trans_STLR(struct a64_tc *t, uint32_t insn)
{
    unsigned size_log2 = a64_bits(insn, 30, 2);
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << size_log2, true);
    store_int(t, A64_RT(insn), addr, size_log2, IR_MEM_RELEASE, A64_INFO_AR, true);
    return true;
}

bool trans_CAS(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    unsigned size_log2 = a64_bits(insn, 30, 2), rs = A64_RS(insn);
    enum ir_type ty = size_type[size_log2];
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << size_log2, true);
    ir_val expected = a64_x(t, rs, 1), desired = a64_x(t, A64_RT(insn), 1);
    if (size_log2 < 3) {
        expected = ir_cast(b, IR_TRUNC, ty, expected);
        desired = ir_cast(b, IR_TRUNC, ty, desired);
    }
    uint64_t flags = a64_mem_flags(t, 1u << size_log2) | IR_MEM_NO_ISV |
                     order_flags(a64_bits(insn, 22, 1), a64_bits(insn, 15, 1));
    ir_val old = ir_cmpxchg(b, addr, expected, desired, flags, 0);
    a64_set_x(t, rs, size_log2 == 3 ? old : ir_cast(b, IR_ZEXT, IR_I64, old));
    return true;
}

bool trans_CASP(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    unsigned elem_log2 = 2 + a64_bits(insn, 30, 1), rs = A64_RS(insn), rt = A64_RT(insn);
    if ((rs & 1) || (rt & 1))
        return false;
    unsigned total_log2 = elem_log2 + 1;
    enum ir_type ty = size_type[total_log2];
    unsigned sf = elem_log2 == 3, ebits = 8u << elem_log2;
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << total_log2, true);
    ir_val e = ir_binop(b, IR_OR, ir_cast(b, IR_ZEXT, ty, a64_x(t, rs, sf)),
                        ir_binop(b, IR_SHL, ir_cast(b, IR_ZEXT, ty, a64_x(t, rs + 1, sf)), ir_const(b, ty, ebits)));
    ir_val d = ir_binop(b, IR_OR, ir_cast(b, IR_ZEXT, ty, a64_x(t, rt, sf)),
                        ir_binop(b, IR_SHL, ir_cast(b, IR_ZEXT, ty, a64_x(t, rt + 1, sf)), ir_const(b, ty, ebits)));
    uint64_t flags = a64_mem_flags(t, 1u << total_log2) | IR_MEM_NO_ISV |
                     order_flags(a64_bits(insn, 22, 1), a64_bits(insn, 15, 1));
    ir_val old = ir_cmpxchg(b, addr, e, d, flags, 0);
    a64_set_x(t, rs, ir_extract(b, size_type[elem_log2], old, 0));
    a64_set_x(t, rs + 1, ir_extract(b, size_type[elem_log2], old, ebits));
    return true;
}

/* ---- LSE atomic memory operations ---- */
static bool atomic_op(struct a64_tc *t, uint32_t insn, enum ir_rmw_kind kind)
{
    struct ir_block *b = t->b;
    unsigned size_log2 = a64_bits(insn, 30, 2);
    enum ir_type ty = size_type[size_log2];
    ir_val addr = a64_addr_base(t, A64_RN(insn));
    check_align(t, addr, 1u << size_log2, true);
    ir_val operand = a64_x(t, A64_RS(insn), 1);
    if (size_log2 < 3)
        operand = ir_cast(b, IR_TRUNC, ty, operand);
    uint64_t flags = a64_mem_flags(t, 1u << size_log2) | IR_MEM_NO_ISV |
                     order_flags(a64_bits(insn, 23, 1), a64_bits(insn, 22, 1));
    ir_val old = ir_atomic_rmw(b, kind, addr, operand, flags);
    a64_set_x(t, A64_RT(insn), size_log2 == 3 ? old : ir_cast(b, IR_ZEXT, IR_I64, old));
    return true;
}

bool trans_LDADD(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_ADD); }
bool trans_LDCLR(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_ANDN); }
bool trans_LDEOR(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_XOR); }
bool trans_LDSET(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_OR); }
bool trans_LDSMAX(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_SMAX); }
bool trans_LDSMIN(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_SMIN); }
bool trans_LDUMAX(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_UMAX); }
bool trans_LDUMIN(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_UMIN); }
bool trans_SWP(struct a64_tc *t, uint32_t insn) { return atomic_op(t, insn, IR_RMW_XCHG); }
