/* emit_fp.c - the FP and FPFLAGS ops (ir_ops.def) as LLVM floating point: the
 * ordinary case (ir.h) inline as fadd/fsub/fmul/fdiv/sqrt on float, double, <4 x float>
 * or <2 x double>, with inexactness from the same error-free transforms jit/ir_fp.c
 * uses, and a branch to the frontend's pure fallback helper when a lane is not
 * ordinary. No fast-math flags: LLVM keeps IEEE round-to-nearest-even semantics, the
 * environment the soft route runs in (core/soft/host_fp.c). */
#include "jit/llvm/emit_internal.h"

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

LLVMValueRef em_fp_value(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    struct fp_shape s;
    shape_of(f, in->imm, &s);
    LLVMValueRef a = f->val[in->a], b = f->val[in->b];
    LLVMValueRef ai = LLVMBuildBitCast(bd, a, s.it, ""), bi = LLVMBuildBitCast(bd, b, s.it, "");
    LLVMValueRef x = LLVMBuildBitCast(bd, a, s.vt, ""), y = LLVMBuildBitCast(bd, b, s.vt, "");
    LLVMValueRef z, e;
    compute(f, &s, x, y, &z, &e);
    LLVMValueRef zi = LLVMBuildBitCast(bd, z, s.it, "");
    LLVMValueRef ok = LLVMBuildAnd(bd, ordinary(f, &s, ai), ordinary(f, &s, zi), "");
    if (s.kind != IR_FP_SQRT)
        ok = LLVMBuildAnd(bd, ok, ordinary(f, &s, bi), "");
    LLVMValueRef fast;
    if (op == IR_FP) {
        fast = LLVMBuildBitCast(bd, z, em_ty(f, in->w), "");
    } else {
        LLVMValueRef inexact = any_lane(f, &s, LLVMBuildFCmp(bd, LLVMRealUNE, e, LLVMConstNull(s.vt), ""));
        fast = LLVMBuildSelect(bd, inexact, em_const(f, in->w, 1ull << IR_FP_INEXACT_BIT(in->imm)),
                               em_const(f, in->w, 0), "");
    }
    /* Rarely taken: NaN, infinity, zero, denormal or near-limit lanes. */
    LLVMValueRef expect_args[2] = { ok, LLVMConstInt(m->i1, 1, 0) };
    ok = call_intrinsic(f, "llvm.expect", m->i1, expect_args, 2);
    LLVMBasicBlockRef here = LLVMGetInsertBlock(bd), slow = em_new_bb(f, "fp_slow"), join = em_new_bb(f, "fp_join");
    LLVMBuildCondBr(bd, ok, join, slow);
    LLVMPositionBuilderAtEnd(bd, slow);
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm2);
    uint64_t how = in->imm | (op == IR_FPFLAGS ? IR_FP_WANT_FLAGS : 0);
    LLVMValueRef args[4] = { f->cpu, em_fit(f, a, 128), em_fit(f, b, 128), LLVMConstInt(m->i128, how, 0) };
    LLVMValueRef r = em_fit(f, LLVMBuildCall2(bd, m->helper_t, em_ptr_const(f, (const void *)h->fn), args, 4, ""), in->w);
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, join);
    LLVMValueRef phi = LLVMBuildPhi(bd, em_ty(f, in->w), "");
    LLVMValueRef vals[2] = { fast, r };
    LLVMBasicBlockRef from[2] = { here, slow };
    LLVMAddIncoming(phi, vals, from, 2);
    return phi;
}
