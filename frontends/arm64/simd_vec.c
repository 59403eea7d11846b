/* simd_vec.c - the AdvSIMD integer instructions that map onto IR vector ops
 * (jit/ir_ops.def, "Integer vectors"), lifted to them instead of the group helper
 * (simd_helpers.c), so the compiled tier runs them as LLVM vector code: the
 * three-same compares, min/max, absolute differences, multiplies and pairwise ops,
 * shifts by immediate (with accumulate and widening), compares with zero, ABS/NEG/NOT,
 * REV16/32/64, XTN, ZIP/UZP/TRN, EXT and single-register TBL/TBX. Q = 0 forms
 * compute all 16 bytes and clear the upper half as the architecture does. The helper stays the reference
 * for the rest (saturating ops, which also set FPSR.QC, among them). */
#include "frontends/arm64/a64_fe.h"

#define F(insn, lsb, w) a64_bits(insn, lsb, w)
#define BYTES 16u
#define ZERO_BYTE 0xffu        /* a VSHUF index that gives 0 */
#define M_BYTE(k) (16u + (k))  /* VSHUF index of the second source's byte k */

static ir_val vreg(struct a64_tc *t, unsigned n)
{
    return ir_get(t->b, IR_I128, A64_OFF_V(n));
}

static void set_vreg(struct a64_tc *t, unsigned d, ir_val v, unsigned q)
{
    if (!q)
        v = ir_cast(t->b, IR_ZEXT, IR_I128, ir_cast(t->b, IR_TRUNC, IR_I64, v));
    ir_set(t->b, A64_OFF_V(d), v);
}

static ir_val vop(struct a64_tc *t, enum ir_op op, ir_val x, ir_val y, unsigned lane)
{
    return ir_emit(t->b, op, IR_VOID, x, y, 0, lane, 0);
}

static ir_val vnot(struct a64_tc *t, ir_val x)
{
    return ir_unop(t->b, IR_NOT, x);
}

static ir_val zero128(struct a64_tc *t)
{
    return ir_const128(t->b, 0);
}

/* ---- permutes ------------------------------------------------------------------ */

static ir_val vshuf(struct a64_tc *t, ir_val n, ir_val m, const uint8_t idx[BYTES])
{
    uint64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < 8; i++) {
        lo |= (uint64_t)idx[i] << (8 * i);
        hi |= (uint64_t)idx[8 + i] << (8 * i);
    }
    return ir_emit(t->b, IR_VSHUF, IR_VOID, n, m, 0, lo, hi);
}

/* ZIP/UZP/TRN (kind 1 UZP, 2 TRN, 3 ZIP; part 0 or 1) of n and m with lanes of eb
 * bytes in a vector of `bytes` bytes; bytes beyond it are 0. */
static void perm_index(uint8_t idx[BYTES], unsigned kind, unsigned part, unsigned eb, unsigned bytes)
{
    unsigned lanes = bytes / eb;
    for (unsigned i = 0; i < BYTES; i++)
        idx[i] = ZERO_BYTE;
    for (unsigned i = 0; i < lanes; i++) {
        unsigned from;   /* lane of n (< lanes) or of m (lanes + k) */
        if (kind == 1) {
            from = 2 * i + part;
        } else if (kind == 2) {
            from = (i & 1) ? lanes + (i & ~1u) + part : i + part;
        } else {
            unsigned k = i / 2 + part * lanes / 2;
            from = (i & 1) ? lanes + k : k;
        }
        unsigned base = from < lanes ? from * eb : M_BYTE((from - lanes) * eb);
        for (unsigned j = 0; j < eb; j++)
            idx[i * eb + j] = (uint8_t)(base + j);
    }
}

static bool perm(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), eb = 1u << F(insn, 22, 2), op = F(insn, 12, 3);
    uint8_t idx[BYTES];
    perm_index(idx, op & 3, op >> 2, eb, q ? 16 : 8);
    if (a64_fp_check(t))
        set_vreg(t, A64_RD(insn), vshuf(t, vreg(t, A64_RN(insn)), vreg(t, A64_RM(insn)), idx), q);
    return true;
}

/* EXT: bytes pos.. of n:m (each `bytes` long). */
static bool ext(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), bytes = q ? 16 : 8, pos = F(insn, 11, 4);
    uint8_t idx[BYTES];
    for (unsigned i = 0; i < BYTES; i++) {
        unsigned k = pos + i;
        idx[i] = (uint8_t)(i >= bytes ? ZERO_BYTE : k < bytes ? k : M_BYTE(k - bytes));
    }
    if (a64_fp_check(t))
        set_vreg(t, A64_RD(insn), vshuf(t, vreg(t, A64_RN(insn)), vreg(t, A64_RM(insn)), idx), q);
    return true;
}

/* TBL/TBX with one table register; TBX keeps d's bytes whose index is out of range. */
static bool tbl(struct a64_tc *t, uint32_t insn)
{
    if (F(insn, 13, 2) != 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned q = F(insn, 30, 1), d = A64_RD(insn);
    ir_val idx = vreg(t, A64_RM(insn));
    ir_val r = vop(t, IR_VTBL, vreg(t, A64_RN(insn)), idx, 8);
    if (F(insn, 12, 1)) {
        ir_val out = vop(t, IR_VCMPGTU, idx, ir_const128(t->b, ~(ir_u128)0 / 0xff * 15), 8);
        r = ir_binop(t->b, IR_OR, r, ir_binop(t->b, IR_AND, vreg(t, d), out));
    }
    set_vreg(t, d, r, q);
    return true;
}

/* ---- three same ------------------------------------------------------------------ */

/* The pairwise form of op: op(even lanes of n:m, odd lanes of n:m). */
static ir_val pairwise(struct a64_tc *t, enum ir_op op, ir_val n, ir_val m, unsigned eb, unsigned q)
{
    uint8_t even[BYTES], odd[BYTES];
    perm_index(even, 1, 0, eb, q ? 16 : 8);
    perm_index(odd, 1, 1, eb, q ? 16 : 8);
    return vop(t, op, vshuf(t, n, m, even), vshuf(t, n, m, odd), 8 * eb);
}

static ir_val abs_diff(struct a64_tc *t, bool u, ir_val n, ir_val m, unsigned lane)
{
    ir_val hi = vop(t, u ? IR_VMAXU : IR_VMAXS, n, m, lane), lo = vop(t, u ? IR_VMINU : IR_VMINS, n, m, lane);
    return vop(t, IR_VSUB, hi, lo, lane);
}

/* The value of three-same integer op (U, opcode) on lanes of eb bytes, or IR_NONE. */
static ir_val same(struct a64_tc *t, unsigned u, unsigned op, unsigned eb, unsigned q, ir_val n, ir_val m, ir_val d)
{
    unsigned lane = 8 * eb;
    switch (op) {
    case 0x02: return u ? vop(t, IR_VAVGU, n, m, lane) : IR_NONE;                   /* URHADD */
    case 0x06: return vop(t, u ? IR_VCMPGTU : IR_VCMPGTS, n, m, lane);              /* CMGT / CMHI */
    case 0x07: return vnot(t, vop(t, u ? IR_VCMPGTU : IR_VCMPGTS, m, n, lane));     /* CMGE / CMHS */
    case 0x0c: return vop(t, u ? IR_VMAXU : IR_VMAXS, n, m, lane);                  /* [SU]MAX */
    case 0x0d: return vop(t, u ? IR_VMINU : IR_VMINS, n, m, lane);                  /* [SU]MIN */
    case 0x0e: return abs_diff(t, u, n, m, lane);                                   /* [SU]ABD */
    case 0x0f: return vop(t, IR_VADD, d, abs_diff(t, u, n, m, lane), lane);         /* [SU]ABA */
    case 0x11:                                                                      /* CMTST */
        return u ? IR_NONE : vnot(t, vop(t, IR_VCMPEQ, ir_binop(t->b, IR_AND, n, m), zero128(t), lane));
    case 0x12: return vop(t, u ? IR_VSUB : IR_VADD, d, vop(t, IR_VMUL, n, m, lane), lane);  /* MLA / MLS */
    case 0x13: return u ? IR_NONE : vop(t, IR_VMUL, n, m, lane);                    /* MUL */
    case 0x14: return pairwise(t, u ? IR_VMAXU : IR_VMAXS, n, m, eb, q);            /* [SU]MAXP */
    case 0x15: return pairwise(t, u ? IR_VMINU : IR_VMINS, n, m, eb, q);            /* [SU]MINP */
    case 0x17: return u ? IR_NONE : pairwise(t, IR_VADD, n, m, eb, q);              /* ADDP */
    default: return IR_NONE;
    }
}

static bool same_lifts(unsigned u, unsigned op)
{
    switch (op) {
    case 0x02: case 0x11: case 0x13: case 0x17: return u == 0 ? op != 0x02 : op == 0x02;
    case 0x06: case 0x07: case 0x0c: case 0x0d: case 0x0e: case 0x0f: case 0x12: case 0x14: case 0x15: return true;
    default: return false;
    }
}

static bool three_same(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), u = F(insn, 29, 1), size = F(insn, 22, 2), op = F(insn, 11, 5);
    if (!same_lifts(u, op))
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned d = A64_RD(insn);
    ir_val r = same(t, u, op, 1u << size, q, vreg(t, A64_RN(insn)), vreg(t, A64_RM(insn)), vreg(t, d));
    set_vreg(t, d, r, q);
    return true;
}

/* ---- two-register misc: compares with zero, ABS, NEG, NOT ---------------------------- */

/* REV16/REV32/REV64: elements of eb bytes reversed within groups of g bytes. */
static bool reverse(struct a64_tc *t, uint32_t insn, unsigned g)
{
    unsigned q = F(insn, 30, 1), eb = 1u << F(insn, 22, 2);
    uint8_t idx[BYTES];
    for (unsigned i = 0; i < BYTES; i += g)
        for (unsigned j = 0; j < g; j += eb)
            for (unsigned k = 0; k < eb; k++)
                idx[i + j + k] = (uint8_t)(i + g - eb - j + k);
    if (a64_fp_check(t))
        set_vreg(t, A64_RD(insn), vshuf(t, vreg(t, A64_RN(insn)), vreg(t, A64_RN(insn)), idx), q);
    return true;
}

/* XTN{2}: the low halves of n's lanes into the low half (Q = 0, upper cleared) or the
 * high half (Q = 1, d's low half kept). */
static bool narrow(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), eb = 1u << F(insn, 22, 2), d = A64_RD(insn);
    uint8_t idx[BYTES];
    for (unsigned i = 0; i < BYTES; i++)
        idx[i] = (uint8_t)(q ? M_BYTE(i) : ZERO_BYTE);   /* Q = 1: d's low half; n's go above */
    for (unsigned i = 0; i < 8 / eb; i++)
        for (unsigned k = 0; k < eb; k++)
            idx[(q ? 8 : 0) + i * eb + k] = (uint8_t)(2 * eb * i + k);
    if (a64_fp_check(t))
        ir_set(t->b, A64_OFF_V(d), vshuf(t, vreg(t, A64_RN(insn)), vreg(t, d), idx));
    return true;
}

static bool misc(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), u = F(insn, 29, 1), size = F(insn, 22, 2), op = F(insn, 12, 5);
    unsigned lane = 8u << size;
    if (op == 0x00 || op == 0x01)   /* REV64 / REV32 (U), REV16 */
        return reverse(t, insn, op == 0x01 ? 2 : u ? 4 : 8);
    if (op == 0x12 && !u)
        return narrow(t, insn);
    bool not_ = op == 0x05 && u && size == 0;
    if (!(op == 0x08 || op == 0x09 || op == 0x0a || op == 0x0b || not_))
        return false;
    if (!a64_fp_check(t))
        return true;
    ir_val n = vreg(t, A64_RN(insn)), z = zero128(t), r;
    switch (op | (u << 5)) {
    case 0x08: r = vop(t, IR_VCMPGTS, n, z, lane); break;               /* CMGT #0 */
    case 0x28: r = vnot(t, vop(t, IR_VCMPGTS, z, n, lane)); break;      /* CMGE #0 */
    case 0x09: r = vop(t, IR_VCMPEQ, n, z, lane); break;                /* CMEQ #0 */
    case 0x29: r = vnot(t, vop(t, IR_VCMPGTS, n, z, lane)); break;      /* CMLE #0 */
    case 0x0a: r = vop(t, IR_VCMPGTS, z, n, lane); break;               /* CMLT #0 */
    case 0x0b: r = ir_emit(t->b, IR_VABS, IR_VOID, n, 0, 0, lane, 0); break;   /* ABS */
    case 0x2b: r = vop(t, IR_VSUB, z, n, lane); break;                  /* NEG */
    default: r = vnot(t, n); break;                                     /* NOT */
    }
    set_vreg(t, A64_RD(insn), r, q);
    return true;
}

/* ---- shifts by immediate ------------------------------------------------------------ */

/* [SU]SHLL{2} (and [SU]XTL): the low (Q = 0) or high half's lanes of eb bytes put in
 * the top of lanes twice as wide, then shifted right by esize - lsh, so the sign
 * comes along for SSHLL and zeros for USHLL. */
static ir_val widen(struct a64_tc *t, ir_val n, unsigned eb, unsigned q, unsigned lsh, bool u)
{
    uint8_t idx[BYTES];
    unsigned src = q ? 8 : 0;
    for (unsigned i = 0; i < BYTES / (2 * eb); i++)
        for (unsigned j = 0; j < 2 * eb; j++)
            idx[2 * eb * i + j] = (uint8_t)(j < eb ? ZERO_BYTE : src + eb * i + (j - eb));
    ir_val hi = vshuf(t, n, n, idx);
    return vop(t, u ? IR_VLSHR : IR_VASHR, hi, ir_const(t->b, IR_I64, 8 * eb - lsh), 16 * eb);
}

static bool shift_imm(struct a64_tc *t, uint32_t insn)
{
    unsigned q = F(insn, 30, 1), u = F(insn, 29, 1), immh = F(insn, 19, 4), immhb = F(insn, 16, 7);
    unsigned op = F(insn, 11, 5);
    unsigned esize = 8u << (31 - __builtin_clz(immh)), rsh = 2 * esize - immhb, lsh = immhb - esize;
    if (!(op == 0x00 || op == 0x02 || op == 0x14 || (op == 0x0a && !u)))
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned d = A64_RD(insn);
    ir_val n = vreg(t, A64_RN(insn)), r;
    if (op == 0x14) {
        set_vreg(t, d, widen(t, n, esize / 8, q, lsh, u), 1);
        return true;
    }
    if (op == 0x0a) {
        r = vop(t, IR_VSHL, n, ir_const(t->b, IR_I64, lsh), esize);
    } else {
        r = vop(t, u ? IR_VLSHR : IR_VASHR, n, ir_const(t->b, IR_I64, rsh), esize);
        if (op == 0x02)
            r = vop(t, IR_VADD, vreg(t, d), r, esize);   /* [SU]SRA */
    }
    set_vreg(t, d, r, q);
    return true;
}

bool a64_simd_vec(struct a64_tc *t, uint32_t insn, unsigned group)
{
    switch ((enum a64_simd_group)group) {
    case A64_SIMD_SAME: return F(insn, 11, 5) < 0x18 && three_same(t, insn);
    case A64_SIMD_MISC: return misc(t, insn);
    case A64_SIMD_SHIFT: return shift_imm(t, insn);
    case A64_SIMD_PERM: return perm(t, insn);
    case A64_SIMD_EXT: return ext(t, insn);
    case A64_SIMD_TBL: return tbl(t, insn);
    default: return false;
    }
}

/* ADD, SUB, CMEQ (vector): their own table entries. */
bool a64_simd_vec_lanewise(struct a64_tc *t, uint32_t insn, enum ir_op op)
{
    unsigned size = F(insn, 22, 2), q = F(insn, 30, 1);
    if (size == 3 && !q)
        return false;
    if (!a64_fp_check(t))
        return true;
    set_vreg(t, A64_RD(insn), vop(t, op, vreg(t, A64_RN(insn)), vreg(t, A64_RM(insn)), 8u << size), q);
    return true;
}
