/* trans_simd.c - the AdvSIMD instructions compilers emit around integer code:
 * DUP/INS/UMOV between general and vector registers, MOVI/MVNI/ORR/BIC (immediate)
 * and FMOV (vector, immediate), the bitwise three-same group, and lane-wise
 * ADD/SUB/CMEQ as IR vector ops (simd_vec.c lifts more of the groups that way). */
#include "frontends/arm64/a64_fe.h"

#define Q_BIT(i) a64_bits(i, 30, 1)
#define LOW64 0xffffffffffffffffull

static ir_val vreg(struct a64_tc *t, unsigned n)
{
    return ir_get(t->b, IR_I128, A64_OFF_V(n));
}

static ir_val join(struct a64_tc *t, ir_val lo, ir_val hi)
{
    struct ir_block *b = t->b;
    ir_val v = ir_cast(b, IR_ZEXT, IR_I128, lo);
    return hi ? ir_insert(b, v, hi, 64) : v;
}

/* Writes of 64-bit (Q = 0) results clear the upper half. */
static void set_vreg(struct a64_tc *t, unsigned d, ir_val v128, unsigned q)
{
    if (!q)
        v128 = ir_cast(t->b, IR_ZEXT, IR_I128, ir_cast(t->b, IR_TRUNC, IR_I64, v128));
    ir_set(t->b, A64_OFF_V(d), v128);
}

/* Lowest set bit of imm5 gives the element size; -1 when reserved. */
static int elem_size(uint32_t insn)
{
    unsigned imm5 = a64_bits(insn, 16, 5);
    return (imm5 & 0xf) ? __builtin_ctz(imm5) : -1;
}

/* 1 in every lane of `esize` bits across 64 bits. */
static uint64_t lane_ones(unsigned esize)
{
    return esize == 64 ? 1 : LOW64 / ((1ull << esize) - 1);
}

bool trans_DUP_asimdins_DR_r(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    unsigned q = Q_BIT(insn);
    if (size < 0 || (size == 3 && !q))
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    unsigned esize = 8u << size;
    ir_val v = a64_x(t, A64_RN(insn), 1);
    if (esize < 64)
        v = ir_binop(b, IR_AND, v, ir_const(b, IR_I64, (1ull << esize) - 1));
    ir_val rep = ir_binop(b, IR_MUL, v, ir_const(b, IR_I64, lane_ones(esize)));
    set_vreg(t, A64_RD(insn), join(t, rep, q ? rep : IR_NONE), q);
    return true;
}

static const enum ir_type lane_type[4] = { IR_I8, IR_I16, IR_I32, IR_I64 };

bool trans_INS_asimdins_IR_r(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    if (size < 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    unsigned index = a64_bits(insn, 16, 5) >> (size + 1), esize = 8u << size;
    ir_val v = a64_x(t, A64_RN(insn), 1);
    if (size < 3)
        v = ir_cast(b, IR_TRUNC, lane_type[size], v);
    unsigned d = A64_RD(insn);
    ir_set(b, A64_OFF_V(d), ir_insert(b, vreg(t, d), v, index * esize));
    return true;
}

bool trans_UMOV_asimdins_X_x(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    unsigned q = Q_BIT(insn);
    if (size < 0 || (q != (size == 3)))
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned index = a64_bits(insn, 16, 5) >> (size + 1), esize = 8u << size;
    ir_val lane = ir_extract(t->b, lane_type[size], vreg(t, A64_RN(insn)), index * esize);
    a64_set_x(t, A64_RD(insn), size == 3 ? lane : ir_cast(t->b, IR_ZEXT, IR_I64, lane));
    return true;
}

/* AdvSIMDExpandImm(); false when reserved. */
static bool expand_imm(unsigned op, unsigned cmode, unsigned imm8, unsigned q, uint64_t *out)
{
    uint64_t i = imm8;
    switch (cmode >> 1) {
    case 0: *out = i * 0x0000000100000001ull; return true;
    case 1: *out = (i << 8) * 0x0000000100000001ull; return true;
    case 2: *out = (i << 16) * 0x0000000100000001ull; return true;
    case 3: *out = (i << 24) * 0x0000000100000001ull; return true;
    case 4: *out = i * 0x0001000100010001ull; return true;
    case 5: *out = (i << 8) * 0x0001000100010001ull; return true;
    case 6: *out = ((cmode & 1) ? ((i << 16) | 0xffff) : ((i << 8) | 0xff)) * 0x0000000100000001ull; return true;
    default: break;
    }
    if (!(cmode & 1)) {
        if (!op) {
            *out = i * 0x0101010101010101ull;
        } else {
            uint64_t v = 0;
            for (int k = 0; k < 8; k++)
                if (i & (1u << k))
                    v |= 0xffull << (8 * k);
            *out = v;
        }
        return true;
    }
    uint64_t b6 = (i >> 6) & 1, sign = i >> 7, rest = i & 0x3f;
    if (!op) {   /* FMOV (vector, immediate), single precision */
        uint64_t s = (sign << 31) | ((b6 ^ 1) << 30) | ((b6 ? 0x1full : 0) << 25) | (rest << 19);
        *out = s * 0x0000000100000001ull;
        return true;
    }
    if (!q)
        return false;   /* FMOV (vector, immediate) double needs Q = 1 */
    *out = (sign << 63) | ((b6 ^ 1) << 62) | ((b6 ? 0xffull : 0) << 54) | (rest << 48);
    return true;
}

bool trans_MOVI_asimdimm(struct a64_tc *t, uint32_t insn)
{
    unsigned q = Q_BIT(insn), op = a64_bits(insn, 29, 1), cmode = a64_bits(insn, 12, 4);
    unsigned imm8 = (a64_bits(insn, 16, 3) << 5) | a64_bits(insn, 5, 5);
    uint64_t imm;
    if (!expand_imm(op, cmode, imm8, q, &imm))
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    /* cmode 0xx1 and 10x1 are ORR (op 0) / BIC (op 1); the rest MOVI/MVNI/FMOV. */
    bool logical = (cmode & 1) && cmode < 12;
    bool invert = op && cmode < 14 && !logical;   /* MVNI */
    ir_val c = ir_const(b, IR_I64, invert ? ~imm : imm);
    ir_val c128 = join(t, c, c);
    unsigned d = A64_RD(insn);
    if (logical) {
        ir_val old = vreg(t, d);
        c128 = op ? ir_binop(b, IR_AND, old, ir_unop(b, IR_NOT, c128)) : ir_binop(b, IR_OR, old, c128);
    }
    set_vreg(t, d, c128, q);
    return true;
}

static bool bitwise(struct a64_tc *t, uint32_t insn, enum ir_op op, bool invert_m)
{
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    ir_val m = vreg(t, A64_RM(insn));
    if (invert_m)
        m = ir_unop(b, IR_NOT, m);
    set_vreg(t, A64_RD(insn), ir_binop(b, op, vreg(t, A64_RN(insn)), m), Q_BIT(insn));
    return true;
}

bool trans_AND_asimdsame(struct a64_tc *t, uint32_t insn) { return bitwise(t, insn, IR_AND, false); }
bool trans_BIC_asimdsame(struct a64_tc *t, uint32_t insn) { return bitwise(t, insn, IR_AND, true); }
bool trans_ORR_asimdsame(struct a64_tc *t, uint32_t insn) { return bitwise(t, insn, IR_OR, false); }
bool trans_ORN_asimdsame(struct a64_tc *t, uint32_t insn) { return bitwise(t, insn, IR_OR, true); }
bool trans_EOR_asimdsame(struct a64_tc *t, uint32_t insn) { return bitwise(t, insn, IR_XOR, false); }

bool trans_ADD_asimdsame(struct a64_tc *t, uint32_t insn) { return a64_simd_vec_lanewise(t, insn, IR_VADD); }
bool trans_SUB_asimdsame(struct a64_tc *t, uint32_t insn) { return a64_simd_vec_lanewise(t, insn, IR_VSUB); }
bool trans_CMEQ_asimdsame(struct a64_tc *t, uint32_t insn) { return a64_simd_vec_lanewise(t, insn, IR_VCMPEQ); }

/* The groups below run in simd_helpers.c, one helper call per instruction. */
static bool simd_group(struct a64_tc *t, uint32_t insn, enum a64_simd_group group)
{
    if (!a64_simd_valid(insn, group))
        return false;
    if (a64_simd_vec(t, insn, group))
        return true;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    bool mem = group == A64_SIMD_LDST_MULTI || group == A64_SIMD_LDST_SINGLE;
    enum a64_helper h = mem ? A64_H_SIMD_MEM : A64_H_SIMD;
    if (mem)
        a64_addr_base(t, A64_RN(insn));   /* only for the SP alignment check */
    ir_call(b, IR_VOID, a64_helper_id[h], ir_const(b, IR_I64, insn), ir_const(b, IR_I64, group),
            ir_const(b, IR_I64, t->pc));
    return true;
}

bool trans_asimdsame(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SAME); }
bool trans_asimdmisc(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_MISC); }
bool trans_asimdshf(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SHIFT); }
bool trans_asimdall(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_ACROSS); }
bool trans_asimdperm(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_PERM); }
bool trans_asimdext(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_EXT); }
bool trans_asimdtbl(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_TBL); }
bool trans_LD_multiple(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_LDST_MULTI); }
bool trans_LD_multiple_post(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_LDST_MULTI); }

bool trans_SMOV_asimdins(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    unsigned q = Q_BIT(insn);
    if (size < 0 || size == 3 || (!q && size == 2))
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned index = a64_bits(insn, 16, 5) >> (size + 1), esize = 8u << size;
    ir_val v = ir_extract(t->b, lane_type[size], vreg(t, A64_RN(insn)), index * esize);
    ir_val x = ir_cast(t->b, IR_SEXT, q ? IR_I64 : IR_I32, v);
    a64_set_x(t, A64_RD(insn), x);
    return true;
}

bool trans_INS_asimdins_IV_v(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    if (size < 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    unsigned esize = 8u << size;
    unsigned dst = a64_bits(insn, 16, 5) >> (size + 1), src = a64_bits(insn, 11, 4) >> size;
    ir_val v = ir_extract(b, lane_type[size], vreg(t, A64_RN(insn)), src * esize);
    unsigned d = A64_RD(insn);
    ir_set(b, A64_OFF_V(d), ir_insert(b, vreg(t, d), v, dst * esize));
    return true;
}

bool trans_DUP_asimdins_DV_v(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    unsigned q = Q_BIT(insn);
    if (size < 0 || (size == 3 && !q))
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    unsigned index = a64_bits(insn, 16, 5) >> (size + 1), esize = 8u << size;
    ir_val v = ir_extract(b, lane_type[size], vreg(t, A64_RN(insn)), index * esize);
    if (size < 3)
        v = ir_cast(b, IR_ZEXT, IR_I64, v);
    ir_val rep = ir_binop(b, IR_MUL, v, ir_const(b, IR_I64, lane_ones(esize)));
    set_vreg(t, A64_RD(insn), join(t, rep, q ? rep : IR_NONE), q);
    return true;
}
bool trans_LD_single(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_LDST_SINGLE); }
bool trans_LD_single_post(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_LDST_SINGLE); }
bool trans_asimddiff(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_DIFF); }
bool trans_asisdpair(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_PAIR); }

/* DUP (element) to a scalar: "mov s3, v1.s[1]". */
bool trans_DUP_asisdone(struct a64_tc *t, uint32_t insn)
{
    int size = elem_size(insn);
    if (size < 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned index = a64_bits(insn, 16, 5) >> (size + 1), esize = 8u << size;
    ir_val v = ir_extract(t->b, lane_type[size], vreg(t, A64_RN(insn)), index * esize);
    ir_set(t->b, A64_OFF_V(A64_RD(insn)), ir_cast(t->b, IR_ZEXT, IR_I128, v));
    return true;
}
bool trans_asisdmisc(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SCALAR_MISC); }
bool trans_asisdsame(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SCALAR_SAME); }
bool trans_asisdshf(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SCALAR_SHIFT); }
bool trans_asimdelem(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_ELEM); }
bool trans_asisdelem(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SCALAR_ELEM); }
bool trans_asisddiff(struct a64_tc *t, uint32_t insn) { return simd_group(t, insn, A64_SIMD_SCALAR_DIFF); }
