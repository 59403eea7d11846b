/* trans_fp.c - A64 scalar floating point: moves, arithmetic, fused multiply-add,
 * compares, conditional select, precision and integer conversions. Single and
 * double precision (half precision arithmetic is not implemented, as the ID
 * registers say); the arithmetic itself is in fp_helpers.c. */
#include "frontends/arm64/a64_fe.h"

enum { FT_SINGLE = 0, FT_DOUBLE = 1 };
#define F32_SIGN 0x80000000ull
#define F64_SIGN 0x8000000000000000ull

/* The precision of ftype, or -1 when not implemented. */
static int precision(uint32_t insn)
{
    unsigned ftype = a64_bits(insn, 22, 2);
    return ftype <= FT_DOUBLE ? (int)ftype : -1;
}

/* Common start of a scalar FP lifter: the precision (or -1 when not implemented),
 * and whether to go on (false after an FP access trap or for -1). */
static bool fp_start(struct a64_tc *t, uint32_t insn, int *dp)
{
    *dp = precision(insn);
    return *dp >= 0 && a64_fp_check(t);
}

static enum ir_type fp_ty(int dp)
{
    return dp ? IR_I64 : IR_I32;
}

static ir_val read_fp(struct a64_tc *t, unsigned n, int dp)
{
    return ir_get(t->b, fp_ty(dp), A64_OFF_V(n));
}

/* Scalar writes clear the rest of the vector register. */
static void write_fp(struct a64_tc *t, unsigned d, ir_val v)
{
    ir_set(t->b, A64_OFF_V(d), ir_cast(t->b, IR_ZEXT, IR_I128, v));
}

static ir_val fp_ir(struct a64_tc *t, unsigned kind, unsigned format, ir_val x, ir_val y);

static ir_val call(struct a64_tc *t, enum a64_helper h, enum ir_type ret, ir_val a, ir_val b, ir_val c)
{
    return ir_call(t->b, ret, a64_helper_id[h], a, b, c);
}

bool trans_FMOV_float_gen(struct a64_tc *t, uint32_t insn)
{
    struct ir_block *b = t->b;
    unsigned sf = A64_SF(insn), ftype = a64_bits(insn, 22, 2), rmode0 = a64_bits(insn, 19, 1);
    bool to_fp = a64_bits(insn, 16, 1);
    unsigned rd = A64_RD(insn), rn = A64_RN(insn);
    /* Wn<->Sn, Xn<->Dn, or Xn<->Vn.D[1]; half precision needs FEAT_FP16. */
    bool single = !sf && ftype == 0 && !rmode0, dbl = sf && ftype == 1 && !rmode0;
    bool top = sf && ftype == 2 && rmode0;
    if (!single && !dbl && !top)
        return false;
    if (!a64_fp_check(t))
        return true;
    unsigned off = top ? 8 : 0;
    if (to_fp) {
        ir_val v = a64_x(t, rn, sf);
        if (top)
            ir_set(b, A64_OFF_V(rd), ir_insert(b, ir_get(b, IR_I128, A64_OFF_V(rd)), v, 64));
        else
            write_fp(t, rd, v);
    } else {
        a64_set_x(t, rd, ir_get(b, sf ? IR_I64 : IR_I32, A64_OFF_V(rn) + off));
    }
    return true;
}

static bool fp_unary_bits(struct a64_tc *t, uint32_t insn, int kind)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    struct ir_block *b = t->b;
    ir_val v = read_fp(t, A64_RN(insn), dp);
    ir_val sign = ir_const(b, fp_ty(dp), dp ? F64_SIGN : F32_SIGN);
    if (kind == 1)
        v = ir_binop(b, IR_AND, v, ir_unop(b, IR_NOT, sign));   /* FABS */
    else if (kind == 2)
        v = ir_binop(b, IR_XOR, v, sign);                       /* FNEG */
    write_fp(t, A64_RD(insn), v);
    return true;
}

bool trans_FMOV_float(struct a64_tc *t, uint32_t insn) { return fp_unary_bits(t, insn, 0); }
bool trans_FABS_float(struct a64_tc *t, uint32_t insn) { return fp_unary_bits(t, insn, 1); }
bool trans_FNEG_float(struct a64_tc *t, uint32_t insn) { return fp_unary_bits(t, insn, 2); }


bool trans_FSQRT_float(struct a64_tc *t, uint32_t insn)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    if (t->fp_default) {
        ir_val x = read_fp(t, A64_RN(insn), dp);
        write_fp(t, A64_RD(insn), fp_ir(t, IR_FP_SQRT, dp ? IR_FP_F64 : IR_FP_F32, x, x));
        return true;
    }
    ir_val r = call(t, A64_H_FP_UNOP, fp_ty(dp), read_fp(t, A64_RN(insn), dp), ir_const(t->b, IR_I64, 0),
                    ir_const(t->b, IR_I64, FU_SQRT | ((unsigned)dp << 8)));
    write_fp(t, A64_RD(insn), r);
    return true;
}

/* FCVT between half, single and double precision. */
bool trans_FCVT_float(struct a64_tc *t, uint32_t insn)
{
    static const enum ir_type ty[4] = { IR_I32, IR_I64, IR_VOID, IR_I16 };
    /* op[src][dst], -1 = unallocated (same type or ftype 10) */
    static const int op[4][4] = {
        { -1, FU_CVT_S2D, -1, FU_CVT_S2H },
        { FU_CVT_D2S, -1, -1, FU_CVT_D2H },
        { -1, -1, -1, -1 },
        { FU_CVT_H2S, FU_CVT_H2D, -1, -1 },
    };
    unsigned src = a64_bits(insn, 22, 2), dst = a64_bits(insn, 15, 2);
    if (op[src][dst] < 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    ir_val r = call(t, A64_H_FP_UNOP, ty[dst], ir_get(t->b, ty[src], A64_OFF_V(A64_RN(insn))),
                    ir_const(t->b, IR_I64, 0), ir_const(t->b, IR_I64, (unsigned)op[src][dst] | ((src & 1) << 8)));
    write_fp(t, A64_RD(insn), r);
    return true;
}


/* Under the default FPCR: the IR's FP op (host FP in both tiers, a64_fp_default for
 * what is not ordinary), its flags ORed into FPSR with plain IR, so the compiled tier
 * keeps FPSR in a register and goes on chaining. */
#define FPSR_IXC_BIT 4
#define FPSR_CUMULATIVE 0x9full   /* IDC, IXC, UFC, OFC, DZC, IOC */

static ir_val fp_ir_aux(struct a64_tc *t, unsigned kind, unsigned format, unsigned aux, ir_val x, ir_val y)
{
    struct ir_block *b = t->b;
    uint64_t how = IR_FP_HOW_AUX(kind, format, FPSR_IXC_BIT, aux);
    uint32_t h = a64_helper_id[A64_H_FP_DEFAULT];
    ir_val r = kind == IR_FP_REL ? ir_emit(b, IR_FP, IR_I32, x, y, IR_NONE, how, h) : ir_fp(b, how, h, x, y);
    ir_val flags = ir_binop(b, IR_AND, ir_fp_flags(b, IR_I64, how, h, x, y), ir_const(b, IR_I64, FPSR_CUMULATIVE));
    ir_set(b, A64_OFF_FPSR, ir_binop(b, IR_OR, ir_get(b, IR_I64, A64_OFF_FPSR), flags));
    return r;
}

static ir_val fp_ir_fma(struct a64_tc *t, unsigned format, unsigned aux, ir_val x, ir_val y, ir_val z)
{
    struct ir_block *b = t->b;
    uint64_t how = IR_FP_HOW_AUX(IR_FP_FMA, format, FPSR_IXC_BIT, aux);
    uint32_t h = a64_helper_id[A64_H_FP_DEFAULT];
    ir_val r = ir_fp_fma(b, how, h, x, y, z);
    ir_val flags = ir_fp_fma_flags(b, IR_I64, how, h, x, y, z);
    flags = ir_binop(b, IR_AND, flags, ir_const(b, IR_I64, FPSR_CUMULATIVE));
    ir_set(b, A64_OFF_FPSR, ir_binop(b, IR_OR, ir_get(b, IR_I64, A64_OFF_FPSR), flags));
    return r;
}

static ir_val fp_ir(struct a64_tc *t, unsigned kind, unsigned format, ir_val x, ir_val y)
{
    return fp_ir_aux(t, kind, format, 0, x, y);
}

/* The IR kind of a scalar binary op, and its aux (the NM forms of MIN/MAX: 1). */
static int ir_kind_of(unsigned op, unsigned *aux)
{
    *aux = op == FB_MINNM || op == FB_MAXNM;
    switch (op) {
    case FB_ADD: return IR_FP_ADD;
    case FB_SUB: return IR_FP_SUB;
    case FB_MUL: return IR_FP_MUL;
    case FB_DIV: return IR_FP_DIV;
    case FB_MIN: case FB_MINNM: return IR_FP_MIN;
    case FB_MAX: case FB_MAXNM: return IR_FP_MAX;
    default: return -1;
    }
}

static bool fp_binop(struct a64_tc *t, uint32_t insn, unsigned op)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    unsigned aux;
    int kind = ir_kind_of(op, &aux);
    if (t->fp_default && kind >= 0) {
        ir_val x = read_fp(t, A64_RN(insn), dp), y = read_fp(t, A64_RM(insn), dp);
        write_fp(t, A64_RD(insn), fp_ir_aux(t, (unsigned)kind, dp ? IR_FP_F64 : IR_FP_F32, aux, x, y));
        return true;
    }
    ir_val r = call(t, A64_H_FP_BINOP, fp_ty(dp), read_fp(t, A64_RN(insn), dp), read_fp(t, A64_RM(insn), dp),
                    ir_const(t->b, IR_I64, op | ((unsigned)dp << 8)));
    write_fp(t, A64_RD(insn), r);
    return true;
}

/* The three-same FP vector instructions on IR ops: U, a (bit 23) and opcode (bits
 * 15:11); swap: the IR op takes (m, n) (FCMGE n, m is m <= n). */
struct simd_fp_form {
    uint8_t u, a, opcode, kind, aux, swap;
};

static const struct simd_fp_form simd_fp_forms[] = {
    { 0, 0, 0x1a, IR_FP_ADD, 0, 0 }, { 0, 1, 0x1a, IR_FP_SUB, 0, 0 },     /* FADD, FSUB */
    { 1, 0, 0x1b, IR_FP_MUL, 0, 0 }, { 1, 0, 0x1f, IR_FP_DIV, 0, 0 },     /* FMUL, FDIV */
    { 0, 0, 0x1e, IR_FP_MAX, 0, 0 }, { 0, 1, 0x1e, IR_FP_MIN, 0, 0 },     /* FMAX, FMIN */
    { 0, 0, 0x18, IR_FP_MAX, 1, 0 }, { 0, 1, 0x18, IR_FP_MIN, 1, 0 },     /* FMAXNM, FMINNM */
    { 0, 0, 0x1c, IR_FP_CMP, 0, 0 },                                      /* FCMEQ: EQ, quiet */
    { 1, 0, 0x1c, IR_FP_CMP, 2, 1 }, { 1, 1, 0x1c, IR_FP_CMP, 1, 1 },     /* FCMGE: LE, FCMGT: LT */
    { 0, 0, 0x19, IR_FP_FMA, 0, 0 },                                      /* FMLA: n*m + d */
    { 0, 1, 0x19, IR_FP_FMA, IR_FP_FMA_NEG_PROD, 0 },                     /* FMLS: -(n*m) + d */
};

/* The two-register misc ones: U, a (bit 23), opcode (bits 16:12). */
static const struct simd_fp_form simd_fp_misc_forms[] = {
    { 1, 1, 0x1f, IR_FP_SQRT, 0, 0 },                                              /* FSQRT */
    { 0, 0, 0x1d, IR_FP_SITOF, 0, 0 }, { 1, 0, 0x1d, IR_FP_UITOF, 0, 0 },          /* SCVTF, UCVTF */
    { 0, 1, 0x1b, IR_FP_FTOSI, 0, 0 }, { 1, 1, 0x1b, IR_FP_FTOUI, 0, 0 },          /* FCVTZS, FCVTZU */
    { 0, 0, 0x1a, IR_FP_FTOSI, IR_FP_CVT_NEAREST, 0 },                             /* FCVTNS */
    { 1, 0, 0x1a, IR_FP_FTOUI, IR_FP_CVT_NEAREST, 0 },                             /* FCVTNU */
};

/* AdvSIMD FADD/FSUB/FMUL/FDIV/FMAX/FMIN/FMAXNM/FMINNM/FCMEQ/FCMGE/FCMGT (vector,
 * register), FSQRT, SCVTF/UCVTF, FCVTZS/FCVTZU and FCVTNS/FCVTNU (vector) on 4S or 2D under the default FPCR: one packed FP op
 * (LLVM <4 x float>/<2 x double> in the compiled tier). False for anything else (the
 * 64-bit forms, the other opcodes): the SIMD helper's. */
bool a64_simd_fp_ir(struct a64_tc *t, uint32_t insn, bool misc)
{
    unsigned q = a64_bits(insn, 30, 1), u = a64_bits(insn, 29, 1), a = a64_bits(insn, 23, 1);
    /* opcode: bits 15:11 in the three-same group, 16:12 in the two-register misc one */
    unsigned sz = a64_bits(insn, 22, 1), opcode = a64_bits(insn, misc ? 12 : 11, 5);
    struct simd_fp_form form = { 0, 0, 0, IR_FP_KIND_COUNT, 0, 0 };
    if (!t->fp_default || !q)
        return false;
    const struct simd_fp_form *forms = misc ? simd_fp_misc_forms : simd_fp_forms;
    size_t n = misc ? sizeof(simd_fp_misc_forms) / sizeof(forms[0]) : sizeof(simd_fp_forms) / sizeof(forms[0]);
    for (size_t i = 0; i < n; i++)
        if (forms[i].u == u && forms[i].a == a && forms[i].opcode == opcode)
            form = forms[i];
    if (form.kind == IR_FP_KIND_COUNT)
        return false;
    if (!a64_fp_check(t))
        return true;
    struct ir_block *b = t->b;
    ir_val x = ir_get(b, IR_I128, A64_OFF_V(A64_RN(insn)));
    ir_val y = misc ? x : ir_get(b, IR_I128, A64_OFF_V(A64_RM(insn)));
    if (form.swap) {
        ir_val s = x;
        x = y;
        y = s;
    }
    unsigned fmt = sz ? IR_FP_V2F64 : IR_FP_V4F32;
    ir_val r = form.kind == IR_FP_FMA ? fp_ir_fma(t, fmt, form.aux, x, y, ir_get(b, IR_I128, A64_OFF_V(A64_RD(insn))))
                                      : fp_ir_aux(t, form.kind, fmt, form.aux, x, y);
    ir_set(b, A64_OFF_V(A64_RD(insn)), r);
    return true;
}

bool trans_FMUL_float(struct a64_tc *t, uint32_t insn) { return fp_binop(t, insn, FB_MUL); }
bool trans_FDIV_float(struct a64_tc *t, uint32_t insn) { return fp_binop(t, insn, FB_DIV); }
bool trans_FADD_float(struct a64_tc *t, uint32_t insn) { return fp_binop(t, insn, FB_ADD); }
bool trans_FSUB_float(struct a64_tc *t, uint32_t insn) { return fp_binop(t, insn, FB_SUB); }
bool trans_FNMUL_float(struct a64_tc *t, uint32_t insn) { return fp_binop(t, insn, FB_NMUL); }

/* FMAX/FMIN/FMAXNM/FMINNM: opcode bits 13:12 = op 0..3. */
bool trans_FMAXMIN_float(struct a64_tc *t, uint32_t insn)
{
    static const unsigned ops[4] = { FB_MAX, FB_MIN, FB_MAXNM, FB_MINNM };
    return fp_binop(t, insn, ops[a64_bits(insn, 12, 2)]);
}

static bool fp_fma(struct a64_tc *t, uint32_t insn, bool neg_prod, bool neg_add)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    struct ir_block *b = t->b;
    if (t->fp_default) {   /* n*m + a, as the IR's FMA */
        unsigned aux = (neg_prod ? IR_FP_FMA_NEG_PROD : 0) | (neg_add ? IR_FP_FMA_NEG_ADD : 0);
        ir_val n = read_fp(t, A64_RN(insn), dp), m = read_fp(t, A64_RM(insn), dp), a = read_fp(t, A64_RA(insn), dp);
        write_fp(t, A64_RD(insn), fp_ir_fma(t, dp ? IR_FP_F64 : IR_FP_F32, aux, n, m, a));
        return true;
    }
    ir_val a = ir_cast(b, IR_ZEXT, IR_I128, read_fp(t, A64_RA(insn), dp));
    ir_u128 ctl = ((ir_u128)(unsigned)dp << 64) | ((ir_u128)neg_prod << 66) | ((ir_u128)neg_add << 67);
    ir_val packed = ir_binop(b, IR_OR, a, ir_const128(b, ctl));
    ir_val r = call(t, A64_H_FP_FMA, fp_ty(dp), read_fp(t, A64_RN(insn), dp), read_fp(t, A64_RM(insn), dp), packed);
    write_fp(t, A64_RD(insn), r);
    return true;
}

/* FMADD = a + n*m, FMSUB = a - n*m, FNMADD = -a - n*m, FNMSUB = -a + n*m. */
bool trans_FMADD_float(struct a64_tc *t, uint32_t insn) { return fp_fma(t, insn, false, false); }
bool trans_FMSUB_float(struct a64_tc *t, uint32_t insn) { return fp_fma(t, insn, true, false); }
bool trans_FNMADD_float(struct a64_tc *t, uint32_t insn) { return fp_fma(t, insn, true, true); }
bool trans_FNMSUB_float(struct a64_tc *t, uint32_t insn) { return fp_fma(t, insn, false, true); }

/* holds: for FCCMP, the condition (i1); the helper compares only when it holds. */
static ir_val compare(struct a64_tc *t, uint32_t insn, int dp, bool with_zero, bool signal_all, ir_val holds)
{
    struct ir_block *b = t->b;
    ir_val m = with_zero ? ir_const(b, fp_ty(dp), 0) : read_fp(t, A64_RM(insn), dp);
    uint64_t ctl = (unsigned)dp | (signal_all ? 0x100u : 0);
    ir_val c = ir_const(b, IR_I64, ctl);
    if (holds) {
        ctl |= 0x200u | ((uint64_t)a64_bits(insn, 0, 4) << 12);
        c = ir_binop(b, IR_OR, ir_const(b, IR_I64, ctl),
                     ir_binop(b, IR_SHL, ir_cast(b, IR_ZEXT, IR_I64, holds), ir_const(b, IR_I64, 16)));
    }
    return call(t, A64_H_FP_CMP, IR_I64, read_fp(t, A64_RN(insn), dp), m, c);
}

static void set_nzcv_from(struct a64_tc *t, ir_val nzcv)
{
    struct ir_block *b = t->b;
    ir_val ps = ir_get(b, IR_I64, A64_OFF_PSTATE);
    ps = ir_binop(b, IR_OR, ir_binop(b, IR_AND, ps, ir_const(b, IR_I64, ~A64_NZCV_MASK)), nzcv);
    ir_set(b, A64_OFF_PSTATE, ps);
}

/* NZCV from an enum ir_fp_rel: LT 1000, EQ 0110, GT 0010, unordered 0011. Single-bit
 * inserts, which the compiled tier sees as plain writes of PSTATE (blocks chain). */
static void set_nzcv_bits(struct a64_tc *t, ir_val rel)
{
    struct ir_block *b = t->b;
    ir_val lt = ir_binop(b, IR_EQ, rel, ir_const(b, IR_I32, IR_FP_REL_LT));
    ir_val bits[4] = { lt, ir_binop(b, IR_EQ, rel, ir_const(b, IR_I32, IR_FP_REL_EQ)), ir_unop(b, IR_NOT, lt),
                       ir_binop(b, IR_EQ, rel, ir_const(b, IR_I32, IR_FP_REL_UN)) };   /* N, Z, C, V */
    ir_val ps = ir_get(b, IR_I64, A64_OFF_PSTATE);
    for (unsigned i = 0; i < 4; i++)
        ps = ir_insert(b, ps, bits[i], 31 - i);
    ir_set(b, A64_OFF_PSTATE, ps);
}

static bool fp_compare(struct a64_tc *t, uint32_t insn, bool signal_all)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    if (t->fp_default) {   /* REL's enum ir_fp_rel to NZCV, inserted bit by bit */
        struct ir_block *b = t->b;
        ir_val n = read_fp(t, A64_RN(insn), dp);
        ir_val m = a64_bits(insn, 3, 1) ? ir_const(b, fp_ty(dp), 0) : read_fp(t, A64_RM(insn), dp);
        ir_val rel = fp_ir_aux(t, IR_FP_REL, dp ? IR_FP_F64 : IR_FP_F32, signal_all, n, m);
        set_nzcv_bits(t, rel);
        return true;
    }
    set_nzcv_from(t, compare(t, insn, dp, a64_bits(insn, 3, 1), signal_all, IR_NONE));
    return true;
}

bool trans_FCMP_float(struct a64_tc *t, uint32_t insn) { return fp_compare(t, insn, false); }
bool trans_FCMPE_float(struct a64_tc *t, uint32_t insn) { return fp_compare(t, insn, true); }

static bool fp_cond_compare(struct a64_tc *t, uint32_t insn, bool signal_all)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    ir_val holds = a64_cond(t, a64_bits(insn, 12, 4));
    set_nzcv_from(t, compare(t, insn, dp, false, signal_all, holds));
    return true;
}

/* FCCMP compares (and may raise FPSR flags) only when the condition holds. */
bool trans_FCCMP_float(struct a64_tc *t, uint32_t insn) { return fp_cond_compare(t, insn, false); }
bool trans_FCCMPE_float(struct a64_tc *t, uint32_t insn) { return fp_cond_compare(t, insn, true); }

bool trans_FCSEL_float(struct a64_tc *t, uint32_t insn)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    ir_val holds = a64_cond(t, a64_bits(insn, 12, 4));
    ir_val v = ir_select(t->b, holds, read_fp(t, A64_RN(insn), dp), read_fp(t, A64_RM(insn), dp));
    write_fp(t, A64_RD(insn), v);
    return true;
}

/* VFPExpandImm(). */
static uint64_t expand_fp_imm(unsigned imm8, int dp)
{
    uint64_t sign = (imm8 >> 7) & 1, b6 = (imm8 >> 6) & 1, rest = imm8 & 0x3f;
    if (dp) {
        uint64_t exp = ((b6 ^ 1) << 10) | (b6 ? 0x3fcull : 0) | ((rest >> 4) & 3);
        return (sign << 63) | (exp << 52) | ((rest & 0xf) << 48);
    }
    uint64_t exp = ((b6 ^ 1) << 7) | (b6 ? 0x7cull : 0) | ((rest >> 4) & 3);
    return (sign << 31) | (exp << 23) | ((rest & 0xf) << 19);
}

bool trans_FMOV_float_imm(struct a64_tc *t, uint32_t insn)
{
    int dp;
    if (!fp_start(t, insn, &dp))
        return dp >= 0;   /* unallocated ftype, or the FP access trap was emitted */
    write_fp(t, A64_RD(insn), ir_const(t->b, fp_ty(dp), expand_fp_imm(a64_bits(insn, 13, 8), dp)));
    return true;
}


static bool fp_int_convert_fixed(struct a64_tc *t, uint32_t insn, unsigned kind, unsigned rm, unsigned fbits)
{
    int dp = precision(insn);
    unsigned sf = A64_SF(insn);
    if (dp < 0)
        return false;
    if (!a64_fp_check(t))
        return true;
    if (t->fp_default && fbits == 0 && (rm == RM_ZERO || (rm == RM_NEAREST && kind >= FC_FCVTZS))) {
        static const unsigned ir_kind[] = { [FC_SCVTF] = IR_FP_SITOF, [FC_UCVTF] = IR_FP_UITOF,
                                            [FC_FCVTZS] = IR_FP_FTOSI, [FC_FCVTZU] = IR_FP_FTOUI };
        unsigned aux = (sf ? IR_FP_CVT_64 : 0) | (rm == RM_NEAREST ? IR_FP_CVT_NEAREST : 0);
        unsigned fmt = dp ? IR_FP_F64 : IR_FP_F32;
        if (kind <= FC_UCVTF) {
            ir_val x = a64_x(t, A64_RN(insn), 1);
            if (!sf)
                x = ir_cast(t->b, IR_TRUNC, IR_I32, x);
            write_fp(t, A64_RD(insn), fp_ir_aux(t, ir_kind[kind], fmt, aux, x, x));
        } else {
            ir_val x = read_fp(t, A64_RN(insn), dp);
            a64_set_x(t, A64_RD(insn), fp_ir_aux(t, ir_kind[kind], fmt, aux, x, x));
        }
        return true;
    }
    ir_val ctl = ir_const(t->b, IR_I64, kind | ((unsigned)dp << 8) | (sf << 10) | (rm << 12) | (fbits << 16));
    if (kind <= FC_UCVTF) {
        ir_val r = call(t, A64_H_FP_CVT, fp_ty(dp), a64_x(t, A64_RN(insn), 1), ir_const(t->b, IR_I64, 0), ctl);
        write_fp(t, A64_RD(insn), r);
    } else {
        ir_val src = read_fp(t, A64_RN(insn), dp);
        ir_val r = call(t, A64_H_FP_CVT, a64_ty(sf), src, ir_const(t->b, IR_I64, 0), ctl);
        a64_set_x(t, A64_RD(insn), r);
    }
    return true;
}

static bool fp_int_convert_rm(struct a64_tc *t, uint32_t insn, unsigned kind, unsigned rm)
{
    return fp_int_convert_fixed(t, insn, kind, rm, 0);
}

/* SCVTF/UCVTF/FCVTZS/FCVTZU (fixed-point): rmode:opcode 00:010, 00:011, 11:000,
 * 11:001; fbits = 64 - scale (scale >= 32 for 32-bit registers). */
bool trans_FCVT_fixed(struct a64_tc *t, uint32_t insn)
{
    unsigned sel = (a64_bits(insn, 19, 2) << 3) | a64_bits(insn, 16, 3), scale = a64_bits(insn, 10, 6);
    unsigned kind;
    switch (sel) {
    case 0x02: kind = FC_SCVTF; break;
    case 0x03: kind = FC_UCVTF; break;
    case 0x18: kind = FC_FCVTZS; break;
    case 0x19: kind = FC_FCVTZU; break;
    default: return false;
    }
    if (!A64_SF(insn) && scale < 32)
        return false;
    return fp_int_convert_fixed(t, insn, kind, RM_ZERO, 64 - scale);
}

static bool fp_int_convert(struct a64_tc *t, uint32_t insn, unsigned kind)
{
    return fp_int_convert_rm(t, insn, kind, RM_ZERO);
}

/* FCVT{N,P,M}{S,U}: rmode 00, 01, 10 (11 is FCVTZ*, its own rows). */
bool trans_FCVT_rounding_int(struct a64_tc *t, uint32_t insn)
{
    static const unsigned rm[4] = { RM_NEAREST, RM_PLUS, RM_MINUS, RM_ZERO };
    unsigned kind = a64_bits(insn, 16, 1) ? FC_FCVTZU : FC_FCVTZS;
    return fp_int_convert_rm(t, insn, kind, rm[a64_bits(insn, 19, 2)]);
}

/* FCVTA{S,U}: to nearest, ties away. */
bool trans_FCVTA_int(struct a64_tc *t, uint32_t insn)
{
    return fp_int_convert_rm(t, insn, a64_bits(insn, 16, 1) ? FC_FCVTZU : FC_FCVTZS, RM_AWAY);
}

/* FRINT{N,P,M,Z,A,X,I}: round to an integral value in the same format. */
bool trans_FRINT_float(struct a64_tc *t, uint32_t insn)
{
    int dp = precision(insn);
    unsigned rmode = a64_bits(insn, 15, 3);
    if (dp < 0 || rmode == 5)
        return false;
    if (!a64_fp_check(t))
        return true;
    ir_val r = call(t, A64_H_FP_UNOP, fp_ty(dp), read_fp(t, A64_RN(insn), dp), ir_const(t->b, IR_I64, 0),
                    ir_const(t->b, IR_I64, FU_RINT | ((unsigned)dp << 8) | (rmode << 12)));
    write_fp(t, A64_RD(insn), r);
    return true;
}

bool trans_SCVTF_float_int(struct a64_tc *t, uint32_t insn) { return fp_int_convert(t, insn, FC_SCVTF); }
bool trans_UCVTF_float_int(struct a64_tc *t, uint32_t insn) { return fp_int_convert(t, insn, FC_UCVTF); }
bool trans_FCVTZS_float_int(struct a64_tc *t, uint32_t insn) { return fp_int_convert(t, insn, FC_FCVTZS); }
bool trans_FCVTZU_float_int(struct a64_tc *t, uint32_t insn) { return fp_int_convert(t, insn, FC_FCVTZU); }
