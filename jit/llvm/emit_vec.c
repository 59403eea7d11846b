/* emit_vec.c - the integer vector ops of ir_ops.def as LLVM vector code: each i128
 * operand is bitcast to <16 x i8>, <8 x i16>, <4 x i32> or <2 x i64> by the op's
 * lane width, the op is one LLVM vector instruction or intrinsic (add, icmp + sext,
 * llvm.sadd.sat, llvm.smin, shufflevector ...), and the result is bitcast back, so
 * LLVM keeps chains of them in vector registers. Semantics: jit/interp_vec.c. */
#include "jit/llvm/emit_internal.h"

#include <string.h>

#define VEC_BYTES 16u
#define VSHUF_ZERO_FROM 32u   /* VSHUF byte indexes from here on give 0 */

static LLVMTypeRef vec_ty(struct em_fn *f, unsigned lane)
{
    return LLVMVectorType(em_ty(f, lane), 128u / lane);
}

/* x as lanes of `lane` bits. A value another vector op made is taken from before its
 * bitcast to i128, so chains of vector ops never leave vector registers, even in code
 * compiled without optimisation passes. */
static LLVMValueRef to_vec(struct em_fn *f, LLVMValueRef x, unsigned lane)
{
    LLVMTypeRef vt = vec_ty(f, lane);
    if (LLVMIsABitCastInst(x)) {
        LLVMValueRef src = LLVMGetOperand(x, 0);
        LLVMTypeRef st = LLVMTypeOf(src);
        if (LLVMGetTypeKind(st) == LLVMVectorTypeKind)
            return st == vt ? src : LLVMBuildBitCast(f->m->bd, src, vt, "");
    }
    return LLVMBuildBitCast(f->m->bd, x, vt, "");
}

static LLVMValueRef to_i128(struct em_fn *f, LLVMValueRef v)
{
    return LLVMBuildBitCast(f->m->bd, v, f->m->i128, "");
}

static LLVMValueRef splat(struct em_fn *f, LLVMValueRef scalar, unsigned lanes)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(scalar), lanes);
    LLVMValueRef one = LLVMBuildInsertElement(bd, LLVMGetPoison(vt), scalar, LLVMConstInt(f->m->i32, 0, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(f->m->i32, lanes));
    return LLVMBuildShuffleVector(bd, one, LLVMGetPoison(vt), zeros, "");
}

/* n lanes of `bits` bits, each v. */
static LLVMValueRef splat_const(struct em_fn *f, unsigned bits, unsigned n, uint64_t v)
{
    LLVMValueRef k[VEC_BYTES];
    for (unsigned i = 0; i < n; i++)
        k[i] = em_const(f, bits, v);
    return LLVMConstVector(k, n);
}

/* A call of intrinsic `name`, overloaded on the types in tys (ntys of them). */
static LLVMValueRef call_intrinsic(struct em_fn *f, const char *name, LLVMTypeRef *tys, unsigned ntys,
                                   LLVMValueRef *args, unsigned nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef decl = LLVMGetIntrinsicDeclaration(f->m->mod, id, tys, ntys);
    LLVMTypeRef ft = LLVMIntrinsicGetType(f->m->cx, id, tys, ntys);
    return LLVMBuildCall2(f->m->bd, ft, decl, args, nargs, "");
}

static LLVMValueRef binary_intrinsic(struct em_fn *f, const char *name, LLVMValueRef x, LLVMValueRef y)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef args[2] = { x, y };
    return call_intrinsic(f, name, &t, 1, args, 2);
}

/* Lanes of all ones where the predicate holds. */
static LLVMValueRef compare(struct em_fn *f, LLVMIntPredicate p, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef bd = f->m->bd;
    return LLVMBuildSExt(bd, LLVMBuildICmp(bd, p, x, y, ""), LLVMTypeOf(x), "");
}

/* High half of each lane's double-width product. */
static LLVMValueRef mul_high(struct em_fn *f, bool sign, LLVMValueRef x, LLVMValueRef y, unsigned lane)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned n = 128u / lane;
    LLVMTypeRef wide = LLVMVectorType(em_ty(f, 2 * lane), n);
    LLVMValueRef a = sign ? LLVMBuildSExt(bd, x, wide, "") : LLVMBuildZExt(bd, x, wide, "");
    LLVMValueRef b = sign ? LLVMBuildSExt(bd, y, wide, "") : LLVMBuildZExt(bd, y, wide, "");
    LLVMValueRef p = LLVMBuildMul(bd, a, b, "");
    LLVMValueRef hi = LLVMBuildLShr(bd, p, splat_const(f, 2 * lane, n, lane), "");
    return LLVMBuildTrunc(bd, hi, LLVMTypeOf(x), "");
}

/* (x + y + 1) >> 1 in lanes twice as wide, so the carry is kept. */
static LLVMValueRef average(struct em_fn *f, LLVMValueRef x, LLVMValueRef y, unsigned lane)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMTypeRef wide = LLVMVectorType(em_ty(f, 2 * lane), 128u / lane);
    LLVMValueRef s = LLVMBuildAdd(bd, LLVMBuildZExt(bd, x, wide, ""), LLVMBuildZExt(bd, y, wide, ""), "");
    s = LLVMBuildAdd(bd, s, splat_const(f, 2 * lane, 128u / lane, 1), "");
    return LLVMBuildTrunc(bd, LLVMBuildLShr(bd, s, splat_const(f, 2 * lane, 128u / lane, 1), ""), LLVMTypeOf(x), "");
}

/* One count n (any width) for every lane: a count of the lane width or more gives 0
 * or the sign, as the interpreter does; LLVM would make it poison. */
static LLVMValueRef shift(struct em_fn *f, uint16_t op, LLVMValueRef x, LLVMValueRef n, unsigned lane)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned nw = em_width(n), lanes = 128u / lane;
    LLVMValueRef big = nw < 64 && (1ull << nw) <= lane ? LLVMConstInt(f->m->i1, 0, 0)
                                                        : LLVMBuildICmp(bd, LLVMIntUGE, n, em_const(f, nw, lane), "");
    LLVMValueRef safe = LLVMBuildSelect(bd, big, em_const(f, nw, op == IR_VASHR ? lane - 1 : 0), n, "");
    LLVMValueRef count = splat(f, em_fit(f, safe, lane), lanes);
    if (op == IR_VASHR)
        return LLVMBuildAShr(bd, x, count, "");
    LLVMValueRef r = op == IR_VSHL ? LLVMBuildShl(bd, x, count, "") : LLVMBuildLShr(bd, x, count, "");
    return LLVMBuildSelect(bd, big, LLVMConstNull(LLVMTypeOf(x)), r, "");
}

/* VMSB: the lanes' sign bits as an integer of one bit a lane, then the result width. */
static LLVMValueRef sign_bits(struct em_fn *f, LLVMValueRef x, unsigned lane, unsigned w)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned n = 128u / lane;
    LLVMValueRef neg = LLVMBuildICmp(bd, LLVMIntSLT, x, LLVMConstNull(LLVMTypeOf(x)), "");
    return em_fit(f, LLVMBuildBitCast(bd, neg, em_ty(f, n), ""), w);
}

/* VSHUF: one shufflevector of a and b, then one with zeros for indexes >= 32. */
static LLVMValueRef shuffle_const(struct em_fn *f, const struct interp_insn *in, LLVMValueRef a, LLVMValueRef b)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef pick[VEC_BYTES], keep[VEC_BYTES];
    bool zeros = false;
    for (unsigned i = 0; i < VEC_BYTES; i++) {
        unsigned k = (unsigned)(((i < 8 ? in->imm : in->imm2) >> (8 * (i % 8))) & 0xff);
        bool zero = k >= VSHUF_ZERO_FROM;
        zeros |= zero;
        pick[i] = LLVMConstInt(f->m->i32, zero ? 0 : k, 0);
        keep[i] = LLVMConstInt(f->m->i32, zero ? VEC_BYTES : i, 0);
    }
    LLVMValueRef r = LLVMBuildShuffleVector(bd, a, b, LLVMConstVector(pick, VEC_BYTES), "");
    if (zeros)
        r = LLVMBuildShuffleVector(bd, r, LLVMConstNull(LLVMTypeOf(a)), LLVMConstVector(keep, VEC_BYTES), "");
    return r;
}

/* VTBL with a variable control (a constant one is a VSHUF): the host's byte shuffle where it
 * has one (x86 PSHUFB with bit 7 set for every index >= 16, arm64 TBL), else byte by
 * byte. */
static LLVMValueRef table(struct em_fn *f, LLVMValueRef t, LLVMValueRef idx)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef sixteen = splat_const(f, 8, VEC_BYTES, VEC_BYTES);
    LLVMValueRef out = compare(f, LLVMIntUGE, idx, sixteen);
#if defined(__x86_64__)
    if (__builtin_cpu_supports("ssse3")) {
        LLVMValueRef args[2] = { t, LLVMBuildOr(bd, idx, out, "") };
        return call_intrinsic(f, "llvm.x86.ssse3.pshuf.b.128", NULL, 0, args, 2);
    }
#elif defined(__aarch64__)
    LLVMTypeRef vt = LLVMTypeOf(t);
    LLVMValueRef args[2] = { t, idx };
    return call_intrinsic(f, "llvm.aarch64.neon.tbl1", &vt, 1, args, 2);
#endif
    LLVMValueRef r = LLVMConstNull(LLVMTypeOf(t));
    LLVMValueRef low = LLVMBuildAnd(bd, idx, splat_const(f, 8, VEC_BYTES, VEC_BYTES - 1), "");
    for (unsigned i = 0; i < VEC_BYTES; i++) {
        LLVMValueRef at = LLVMConstInt(f->m->i32, i, 0);
        LLVMValueRef k = LLVMBuildExtractElement(bd, low, at, "");
        LLVMValueRef byte = LLVMBuildExtractElement(bd, t, k, "");
        r = LLVMBuildInsertElement(bd, r, byte, at, "");
    }
    return LLVMBuildAnd(bd, r, LLVMBuildNot(bd, out, ""), "");
}

static LLVMValueRef lanewise(struct em_fn *f, const struct interp_insn *in, uint16_t op, LLVMValueRef x,
                             LLVMValueRef y, unsigned lane)
{
    LLVMBuilderRef bd = f->m->bd;
    switch (op) {
    case IR_VADD: return LLVMBuildAdd(bd, x, y, "");
    case IR_VSUB: return LLVMBuildSub(bd, x, y, "");
    case IR_VQADDS: return binary_intrinsic(f, "llvm.sadd.sat", x, y);
    case IR_VQADDU: return binary_intrinsic(f, "llvm.uadd.sat", x, y);
    case IR_VQSUBS: return binary_intrinsic(f, "llvm.ssub.sat", x, y);
    case IR_VQSUBU: return binary_intrinsic(f, "llvm.usub.sat", x, y);
    case IR_VMUL: return LLVMBuildMul(bd, x, y, "");
    case IR_VMULHS: case IR_VMULHU: return mul_high(f, op == IR_VMULHS, x, y, lane);
    case IR_VCMPEQ: return compare(f, LLVMIntEQ, x, y);
    case IR_VCMPGTS: return compare(f, LLVMIntSGT, x, y);
    case IR_VCMPGTU: return compare(f, LLVMIntUGT, x, y);
    case IR_VMINS: return binary_intrinsic(f, "llvm.smin", x, y);
    case IR_VMINU: return binary_intrinsic(f, "llvm.umin", x, y);
    case IR_VMAXS: return binary_intrinsic(f, "llvm.smax", x, y);
    case IR_VMAXU: return binary_intrinsic(f, "llvm.umax", x, y);
    case IR_VAVGU: return average(f, x, y, lane);
    case IR_VABS: return binary_intrinsic(f, "llvm.abs", x, LLVMConstInt(f->m->i1, 0, 0));
    case IR_VTBL: return table(f, x, y);
    case IR_VSHUF: return shuffle_const(f, in, x, y);
    default: return NULL;
    }
}

LLVMValueRef em_vec_value(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    if (!ir_op_is_vector(op))
        return NULL;
    unsigned lane = op == IR_VSHUF ? 8u : (unsigned)in->imm;
    LLVMValueRef x = to_vec(f, f->val[in->a], lane);
    if (op == IR_VMSB)
        return sign_bits(f, x, lane, in->w);
    if (op == IR_VSHL || op == IR_VLSHR || op == IR_VASHR)
        return to_i128(f, shift(f, op, x, f->val[in->b], lane));
    LLVMValueRef y = in->b ? to_vec(f, f->val[in->b], lane) : NULL;
    const struct interp_prog *p = &f->b->prog;
    if (op == IR_VTBL && p->is_const[in->b]) {
        /* A constant control: the same bytes as a VSHUF's indexes (>= 16 gives 0). */
        struct interp_insn k = *in;
        ir_u128 ctl = p->vals[in->b], idx = 0;
        for (unsigned i = 0; i < VEC_BYTES; i++) {
            unsigned c = (unsigned)(ctl >> (8 * i)) & 0xff;
            idx |= (ir_u128)(c < VEC_BYTES ? c : 0xff) << (8 * i);
        }
        k.imm = (uint64_t)idx;
        k.imm2 = (uint64_t)(idx >> 64);
        return to_i128(f, shuffle_const(f, &k, x, x));
    }
    LLVMValueRef r = lanewise(f, in, op, x, y, lane);
    return r ? to_i128(f, r) : NULL;
}
