/* emit_fp.c - the FP and FPFLAGS ops (ir_ops.def) as LLVM floating point: the
 * ordinary case (ir.h) inline as fadd/fsub/fmul/fdiv/sqrt on float, double, <4 x float>
 * or <2 x double>, with inexactness from the same error-free transforms jit/ir_fp.c
 * uses, and a branch to the frontend's pure fallback helper when a lane is not
 * ordinary. No fast-math flags: LLVM keeps IEEE round-to-nearest-even semantics, the
 * environment the soft route runs in (core/soft/host_fp.c). */
#include "jit/llvm/emit_internal.h"

#include <math.h>
#include <string.h>

struct fp_shape {
    unsigned kind, lanes, ebits;     /* ebits: width of one lane's integer pattern */
    unsigned shift, emask, lo, hi;   /* ordinary: biased exponent in [lo, hi] */
    LLVMTypeRef ft, vt, it;          /* lane float type, value float type, value int type */
};

static LLVMValueRef splat(struct em_fn *f, const struct fp_shape *s, uint64_t v)
{
    LLVMTypeRef lt = em_ty(f, s->ebits);
    if (s->lanes == 1)
        return LLVMConstInt(lt, v, 0);
    LLVMValueRef e[4];
    for (unsigned i = 0; i < s->lanes; i++)
        e[i] = LLVMConstInt(lt, v, 0);
    return LLVMConstVector(e, s->lanes);
}

static LLVMValueRef call_intrinsic(struct em_fn *f, const char *name, LLVMTypeRef t, LLVMValueRef *args, unsigned n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef decl = LLVMGetIntrinsicDeclaration(f->m->mod, id, &t, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(f->m->cx, id, &t, 1);
    return LLVMBuildCall2(f->m->bd, ft, decl, args, n, "");
}

/* An i1 that is true when every lane of the <n x i1> (or i1) c is. */
static LLVMValueRef all_lanes(struct em_fn *f, const struct fp_shape *s, LLVMValueRef c)
{
    if (s->lanes == 1)
        return c;
    LLVMValueRef bits = LLVMBuildBitCast(f->m->bd, c, em_ty(f, s->lanes), "");
    return LLVMBuildICmp(f->m->bd, LLVMIntEQ, bits, em_const(f, s->lanes, (1ull << s->lanes) - 1), "");
}

static LLVMValueRef any_lane(struct em_fn *f, const struct fp_shape *s, LLVMValueRef c)
{
    if (s->lanes == 1)
        return c;
    LLVMValueRef bits = LLVMBuildBitCast(f->m->bd, c, em_ty(f, s->lanes), "");
    return LLVMBuildICmp(f->m->bd, LLVMIntNE, bits, em_const(f, s->lanes, 0), "");
}

/* Every lane of the integer pattern x ordinary. */
static LLVMValueRef ordinary(struct em_fn *f, const struct fp_shape *s, LLVMValueRef x)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef e = LLVMBuildAnd(bd, LLVMBuildLShr(bd, x, splat(f, s, s->shift), ""), splat(f, s, s->emask), "");
    LLVMValueRef off = LLVMBuildSub(bd, e, splat(f, s, s->lo), "");
    return all_lanes(f, s, LLVMBuildICmp(bd, LLVMIntULE, off, splat(f, s, s->hi - s->lo), ""));
}

static void shape_of(struct em_fn *f, uint64_t how, struct fp_shape *s)
{
    unsigned fmt = IR_FP_FORMAT(how);
    bool f64 = fmt == IR_FP_F64 || fmt == IR_FP_V2F64;
    s->kind = IR_FP_KIND(how);
    s->lanes = fmt == IR_FP_V4F32 ? 4 : fmt == IR_FP_V2F64 ? 2 : 1;
    s->ebits = f64 ? 64 : 32;
    s->shift = f64 ? 52 : 23;
    s->emask = f64 ? 0x7ff : 0xff;
    s->lo = f64 ? 56 : 27;          /* as jit/ir_fp.c */
    s->hi = f64 ? 0x7fc : 0xfc;
    LLVMContextRef cx = f->m->cx;
    s->ft = f64 ? LLVMDoubleTypeInContext(cx) : LLVMFloatTypeInContext(cx);
    s->vt = s->lanes > 1 ? LLVMVectorType(s->ft, s->lanes) : s->ft;
    s->it = s->lanes > 1 ? LLVMVectorType(em_ty(f, s->ebits), s->lanes) : em_ty(f, s->ebits);
}

/* The result z and error term e of the ordinary case. */
static void compute(struct em_fn *f, const struct fp_shape *s, LLVMValueRef x, LLVMValueRef y, LLVMValueRef *z,
                    LLVMValueRef *e)
{
    LLVMBuilderRef bd = f->m->bd;
    switch (s->kind) {
    case IR_FP_ADD: case IR_FP_SUB: {
        if (s->kind == IR_FP_SUB)
            y = LLVMBuildFNeg(bd, y, "");
        *z = LLVMBuildFAdd(bd, x, y, "");
        LLVMValueRef yy = LLVMBuildFSub(bd, *z, x, "");
        *e = LLVMBuildFAdd(bd, LLVMBuildFSub(bd, x, LLVMBuildFSub(bd, *z, yy, ""), ""), LLVMBuildFSub(bd, y, yy, ""), "");
        return;
    }
    case IR_FP_MUL: {
        *z = LLVMBuildFMul(bd, x, y, "");
        LLVMValueRef args[3] = { x, y, LLVMBuildFNeg(bd, *z, "") };
        *e = call_intrinsic(f, "llvm.fma", s->vt, args, 3);
        return;
    }
    case IR_FP_DIV: {
        *z = LLVMBuildFDiv(bd, x, y, "");
        LLVMValueRef args[3] = { LLVMBuildFNeg(bd, *z, ""), y, x };
        *e = call_intrinsic(f, "llvm.fma", s->vt, args, 3);
        return;
    }
    default: {
        *z = call_intrinsic(f, "llvm.sqrt", s->vt, &x, 1);
        LLVMValueRef args[3] = { LLVMBuildFNeg(bd, *z, ""), *z, x };
        *e = call_intrinsic(f, "llvm.fma", s->vt, args, 3);
        return;
    }
    }
}

/* The arithmetic kinds: *ok when every operand and result lane is ordinary, *fast
 * the value or the inexact flag. */
static void arith_fast(struct em_fn *f, const struct fp_shape *s, const struct interp_insn *in, uint16_t op,
                       LLVMValueRef a, LLVMValueRef b, LLVMValueRef *ok, LLVMValueRef *fast)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef ai = LLVMBuildBitCast(bd, a, s->it, ""), bi = LLVMBuildBitCast(bd, b, s->it, "");
    LLVMValueRef x = LLVMBuildBitCast(bd, a, s->vt, ""), y = LLVMBuildBitCast(bd, b, s->vt, "");
    LLVMValueRef z, e;
    compute(f, s, x, y, &z, &e);
    LLVMValueRef zi = LLVMBuildBitCast(bd, z, s->it, "");
    *ok = LLVMBuildAnd(bd, ordinary(f, s, ai), ordinary(f, s, zi), "");
    if (s->kind != IR_FP_SQRT)
        *ok = LLVMBuildAnd(bd, *ok, ordinary(f, s, bi), "");
    if (op == IR_FP) {
        *fast = LLVMBuildBitCast(bd, z, em_ty(f, in->w), "");
    } else {
        LLVMValueRef inexact = any_lane(f, s, LLVMBuildFCmp(bd, LLVMRealUNE, e, LLVMConstNull(s->vt), ""));
        *fast = LLVMBuildSelect(bd, inexact, em_const(f, in->w, 1ull << IR_FP_INEXACT_BIT(in->imm)),
                                em_const(f, in->w, 0), "");
    }
}

/* Every lane of x quiet (ir_fp_lane.h): magnitude 0 or in [smallest normal, infinity]. */
static LLVMValueRef quiet(struct em_fn *f, const struct fp_shape *s, LLVMValueRef x)
{
    LLVMBuilderRef bd = f->m->bd;
    uint64_t sign = 1ull << (s->ebits - 1), min_normal = 1ull << s->shift, inf = (uint64_t)s->emask << s->shift;
    LLVMValueRef mag = LLVMBuildAnd(bd, x, splat(f, s, ~sign), "");
    LLVMValueRef zero = LLVMBuildICmp(bd, LLVMIntEQ, mag, splat(f, s, 0), "");
    LLVMValueRef normal = LLVMBuildICmp(bd, LLVMIntULE, LLVMBuildSub(bd, mag, splat(f, s, min_normal), ""),
                                        splat(f, s, inf - min_normal), "");
    return all_lanes(f, s, LLVMBuildOr(bd, zero, normal, ""));
}

/* The compare-like kinds (ir.h): quiet operands (MIN/MAX: not two zeros), no flags. */
static void compare_fast(struct em_fn *f, const struct fp_shape *s, const struct interp_insn *in, uint16_t op,
                         LLVMValueRef a, LLVMValueRef b, LLVMValueRef *ok, LLVMValueRef *fast)
{
    static const LLVMRealPredicate pred[8] = { LLVMRealOEQ, LLVMRealOLT, LLVMRealOLE, LLVMRealPredicateFalse,
                                               LLVMRealUNE, LLVMRealUGE, LLVMRealUGT, LLVMRealPredicateTrue };
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef ai = LLVMBuildBitCast(bd, a, s->it, ""), bi = LLVMBuildBitCast(bd, b, s->it, "");
    LLVMValueRef x = LLVMBuildBitCast(bd, a, s->vt, ""), y = LLVMBuildBitCast(bd, b, s->vt, "");
    *ok = LLVMBuildAnd(bd, quiet(f, s, ai), quiet(f, s, bi), "");
    if (op == IR_FPFLAGS) {
        *fast = em_const(f, in->w, 0);
    } else if (s->kind == IR_FP_REL) {
        LLVMValueRef lt = LLVMBuildFCmp(bd, LLVMRealOLT, x, y, ""), eq = LLVMBuildFCmp(bd, LLVMRealOEQ, x, y, "");
        LLVMValueRef ge = LLVMBuildSelect(bd, eq, em_const(f, in->w, IR_FP_REL_EQ), em_const(f, in->w, IR_FP_REL_GT), "");
        *fast = LLVMBuildSelect(bd, lt, em_const(f, in->w, IR_FP_REL_LT), ge, "");
    } else if (s->kind == IR_FP_CMP) {
        LLVMValueRef c = LLVMBuildFCmp(bd, pred[IR_FP_AUX(in->imm) & 7], x, y, "");
        *fast = LLVMBuildBitCast(bd, LLVMBuildSExt(bd, c, s->it, ""), em_ty(f, in->w), "");
    } else {
        LLVMValueRef c = LLVMBuildFCmp(bd, s->kind == IR_FP_MIN ? LLVMRealOLT : LLVMRealOGT, x, y, "");
        *fast = LLVMBuildBitCast(bd, LLVMBuildSelect(bd, c, ai, bi, ""), em_ty(f, in->w), "");
    }
    if (s->kind == IR_FP_MIN || s->kind == IR_FP_MAX) {
        uint64_t mag = (1ull << (s->ebits - 1)) - 1;
        LLVMValueRef both = LLVMBuildAnd(bd, LLVMBuildOr(bd, ai, bi, ""), splat(f, s, mag), "");
        LLVMValueRef nonzero = LLVMBuildICmp(bd, LLVMIntNE, both, splat(f, s, 0), "");
        *ok = LLVMBuildAnd(bd, *ok, all_lanes(f, s, nonzero), "");
    }
}

static LLVMValueRef splat_real(const struct fp_shape *s, double v)
{
    if (s->lanes == 1)
        return LLVMConstReal(s->ft, v);
    LLVMValueRef e[4];
    for (unsigned i = 0; i < s->lanes; i++)
        e[i] = LLVMConstReal(s->ft, v);
    return LLVMConstVector(e, s->lanes);
}

/* The conversions (ir.h): integer sources always ordinary, inexact when the value
 * does not convert back (or reached 2^(n-1) / 2^n, beyond any source); float sources
 * ordinary below the exponent limit of their integer's range. */
static void convert_fast(struct em_fn *f, const struct fp_shape *s, const struct interp_insn *in, uint16_t op,
                         LLVMValueRef a, LLVMValueRef *ok, LLVMValueRef *fast)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned aux = IR_FP_AUX(in->imm), n = s->lanes > 1 ? s->ebits : (aux & IR_FP_CVT_64) ? 64 : 32;
    bool sgn = s->kind == IR_FP_SITOF || s->kind == IR_FP_FTOSI, nearest = aux & IR_FP_CVT_NEAREST;
    LLVMTypeRef nt = em_ty(f, n), vnt = s->lanes > 1 ? LLVMVectorType(nt, s->lanes) : nt;
    LLVMValueRef inexact;
    if (s->kind == IR_FP_SITOF || s->kind == IR_FP_UITOF) {
        LLVMValueRef xi = LLVMBuildBitCast(bd, a, vnt, "");
        LLVMValueRef z = sgn ? LLVMBuildSIToFP(bd, xi, s->vt, "") : LLVMBuildUIToFP(bd, xi, s->vt, "");
        *ok = LLVMConstInt(f->m->i1, 1, 0);
        if (op == IR_FP) {
            *fast = LLVMBuildBitCast(bd, z, em_ty(f, in->w), "");
            return;
        }
        LLVMValueRef big = LLVMBuildFCmp(bd, LLVMRealOGE, z, splat_real(s, ldexp(1.0, (int)n - sgn)), "");
        LLVMValueRef back = LLVMBuildFreeze(bd, sgn ? LLVMBuildFPToSI(bd, z, vnt, "") : LLVMBuildFPToUI(bd, z, vnt, ""), "");
        inexact = LLVMBuildOr(bd, big, LLVMBuildICmp(bd, LLVMIntNE, back, xi, ""), "");
    } else {
        LLVMValueRef ai = LLVMBuildBitCast(bd, a, s->it, ""), x = LLVMBuildBitCast(bd, a, s->vt, "");
        unsigned bias = s->emask >> 1, limit = bias + n - sgn - nearest;
        LLVMValueRef e = LLVMBuildAnd(bd, LLVMBuildLShr(bd, ai, splat(f, s, s->shift), ""), splat(f, s, s->emask), "");
        LLVMValueRef lane_ok = LLVMBuildICmp(bd, LLVMIntULT, e, splat(f, s, limit), "");
        if (!sgn)
            lane_ok = LLVMBuildAnd(bd, lane_ok, LLVMBuildICmp(bd, LLVMIntSGE, ai, splat(f, s, 0), ""), "");
        *ok = all_lanes(f, s, lane_ok);
        LLVMValueRef t = call_intrinsic(f, nearest ? "llvm.roundeven" : "llvm.trunc", s->vt, &x, 1);
        if (op == IR_FP) {
            LLVMValueRef r = sgn ? LLVMBuildFPToSI(bd, t, vnt, "") : LLVMBuildFPToUI(bd, t, vnt, "");
            *fast = LLVMBuildBitCast(bd, r, em_ty(f, in->w), "");
            return;
        }
        inexact = LLVMBuildFCmp(bd, LLVMRealUNE, t, x, "");
    }
    *fast = LLVMBuildSelect(bd, any_lane(f, s, inexact), em_const(f, in->w, 1ull << IR_FP_INEXACT_BIT(in->imm)),
                            em_const(f, in->w, 0), "");
}

/* FMA (ir.h, jit/ir_fp_lane.h): fma with the error-free remainder for inexactness. */
static void fma_fast(struct em_fn *f, const struct fp_shape *s, const struct interp_insn *in, uint16_t op,
                     LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, LLVMValueRef *ok, LLVMValueRef *fast)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned aux = IR_FP_AUX(in->imm);
    LLVMValueRef x = LLVMBuildBitCast(bd, a, s->vt, ""), y = LLVMBuildBitCast(bd, b, s->vt, "");
    LLVMValueRef z = LLVMBuildBitCast(bd, c, s->vt, "");
    if (aux & IR_FP_FMA_NEG_PROD)
        x = LLVMBuildFNeg(bd, x, "");
    if (aux & IR_FP_FMA_NEG_ADD)
        z = LLVMBuildFNeg(bd, z, "");
    LLVMValueRef args[3] = { x, y, z };
    LLVMValueRef r1 = call_intrinsic(f, "llvm.fma", s->vt, args, 3), u1 = LLVMBuildFMul(bd, x, y, "");
    *ok = LLVMBuildAnd(bd, ordinary(f, s, LLVMBuildBitCast(bd, a, s->it, "")),
                       ordinary(f, s, LLVMBuildBitCast(bd, b, s->it, "")), "");
    *ok = LLVMBuildAnd(bd, *ok, ordinary(f, s, LLVMBuildBitCast(bd, c, s->it, "")), "");
    *ok = LLVMBuildAnd(bd, *ok, ordinary(f, s, LLVMBuildBitCast(bd, u1, s->it, "")), "");
    *ok = LLVMBuildAnd(bd, *ok, ordinary(f, s, LLVMBuildBitCast(bd, r1, s->it, "")), "");
    if (op == IR_FP) {
        *fast = LLVMBuildBitCast(bd, r1, em_ty(f, in->w), "");
        return;
    }
    LLVMValueRef rem_args[3] = { x, y, LLVMBuildFNeg(bd, u1, "") };
    LLVMValueRef u2 = call_intrinsic(f, "llvm.fma", s->vt, rem_args, 3);
    LLVMValueRef al = LLVMBuildFAdd(bd, z, u2, ""), bb = LLVMBuildFSub(bd, al, z, "");
    LLVMValueRef t = LLVMBuildFAdd(bd, LLVMBuildFSub(bd, z, LLVMBuildFSub(bd, al, bb, ""), ""),
                                   LLVMBuildFSub(bd, u2, bb, ""), "");
    LLVMValueRef be = LLVMBuildFAdd(bd, u1, al, ""), bv = LLVMBuildFSub(bd, be, u1, "");
    LLVMValueRef be2 = LLVMBuildFAdd(bd, LLVMBuildFSub(bd, u1, LLVMBuildFSub(bd, be, bv, ""), ""),
                                     LLVMBuildFSub(bd, al, bv, ""), "");
    LLVMValueRef gamma = LLVMBuildFAdd(bd, LLVMBuildFSub(bd, be, r1, ""), be2, "");
    LLVMValueRef inexact = any_lane(f, s, LLVMBuildFCmp(bd, LLVMRealUNE, gamma, LLVMBuildFNeg(bd, t, ""), ""));
    *fast = LLVMBuildSelect(bd, inexact, em_const(f, in->w, 1ull << IR_FP_INEXACT_BIT(in->imm)),
                            em_const(f, in->w, 0), "");
}

/* FMA's fallback: the helper once per lane, scalar format, z above how (ir.h). */
static LLVMValueRef fma_slow(struct em_fn *f, const struct fp_shape *s, const struct interp_insn *in, uint16_t op,
                             LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm2);
    uint64_t how = (in->imm & ~0xff00ull) | ((uint64_t)(s->ebits == 64 ? IR_FP_F64 : IR_FP_F32) << 8) |
                   (op == IR_FPFLAGS ? IR_FP_WANT_FLAGS : 0);
    LLVMValueRef ai = LLVMBuildBitCast(bd, a, s->it, ""), bi = LLVMBuildBitCast(bd, b, s->it, "");
    LLVMValueRef ci = LLVMBuildBitCast(bd, c, s->it, ""), acc = op == IR_FP ? LLVMGetUndef(s->it) : em_const(f, in->w, 0);
    for (unsigned i = 0; i < s->lanes; i++) {
        LLVMValueRef idx = LLVMConstInt(m->i32, i, 0);
        LLVMValueRef x = s->lanes > 1 ? LLVMBuildExtractElement(bd, ai, idx, "") : ai;
        LLVMValueRef y = s->lanes > 1 ? LLVMBuildExtractElement(bd, bi, idx, "") : bi;
        LLVMValueRef z = s->lanes > 1 ? LLVMBuildExtractElement(bd, ci, idx, "") : ci;
        LLVMValueRef zc = LLVMBuildShl(bd, LLVMBuildZExt(bd, z, m->i128, ""), LLVMConstInt(m->i128, 64, 0), "");
        LLVMValueRef args[4] = { f->cpu, LLVMBuildZExt(bd, x, m->i128, ""), LLVMBuildZExt(bd, y, m->i128, ""),
                                 LLVMBuildOr(bd, zc, LLVMConstInt(m->i128, how, 0), "") };
        LLVMValueRef r = LLVMBuildCall2(bd, m->helper_t, em_ptr_const(f, (const void *)h->fn), args, 4, "");
        if (op == IR_FPFLAGS)
            acc = LLVMBuildOr(bd, acc, em_fit(f, r, in->w), "");
        else if (s->lanes > 1)
            acc = LLVMBuildInsertElement(bd, acc, LLVMBuildTrunc(bd, r, em_ty(f, s->ebits), ""), idx, "");
        else
            acc = LLVMBuildTrunc(bd, r, em_ty(f, s->ebits), "");
    }
    return op == IR_FP ? LLVMBuildBitCast(bd, acc, em_ty(f, in->w), "") : acc;
}

LLVMValueRef em_fp_value(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    struct fp_shape s;
    shape_of(f, in->imm, &s);
    LLVMValueRef a = f->val[in->a], b = f->val[in->b];
    LLVMValueRef ok, fast;
    if (s.kind == IR_FP_FMA)
        fma_fast(f, &s, in, op, a, b, f->val[in->c], &ok, &fast);
    else if (s.kind >= IR_FP_SITOF)
        convert_fast(f, &s, in, op, a, &ok, &fast);
    else if (s.kind >= IR_FP_CMP)
        compare_fast(f, &s, in, op, a, b, &ok, &fast);
    else
        arith_fast(f, &s, in, op, a, b, &ok, &fast);
    /* Rarely taken: NaN, infinity, zero, denormal or near-limit lanes. */
    LLVMValueRef expect_args[2] = { ok, LLVMConstInt(m->i1, 1, 0) };
    ok = call_intrinsic(f, "llvm.expect", m->i1, expect_args, 2);
    LLVMBasicBlockRef here = LLVMGetInsertBlock(bd), slow = em_new_bb(f, "fp_slow"), join = em_new_bb(f, "fp_join");
    LLVMBuildCondBr(bd, ok, join, slow);
    LLVMPositionBuilderAtEnd(bd, slow);
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm2);
    uint64_t how = in->imm | (op == IR_FPFLAGS ? IR_FP_WANT_FLAGS : 0);
    LLVMValueRef args[4] = { f->cpu, em_fit(f, a, 128), em_fit(f, b, 128), LLVMConstInt(m->i128, how, 0) };
    LLVMValueRef r;
    if (s.kind == IR_FP_FMA)
        r = fma_slow(f, &s, in, op, a, b, f->val[in->c]);
    else
        r = em_fit(f, LLVMBuildCall2(bd, m->helper_t, em_ptr_const(f, (const void *)h->fn), args, 4, ""), in->w);
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, join);
    LLVMValueRef phi = LLVMBuildPhi(bd, em_ty(f, in->w), "");
    LLVMValueRef vals[2] = { fast, r };
    LLVMBasicBlockRef from[2] = { here, slow };
    LLVMAddIncoming(phi, vals, from, 2);
    return phi;
}
