/* emit.c - lowers a pre-decoded block (struct interp_prog) to one LLVM function:
 * values as LLVM integers of their own width, the interpreter's rules for what LLVM
 * leaves undefined (division by zero, shift counts of the width or more) written out
 * as selects, 128-bit division in the runtime. Memory, calls and exits: emit_ctl.c. */
#include "jit/llvm/emit_internal.h"

#include <stdlib.h>
#include <string.h>

void em_module_init(struct em_module *m, LLVMContextRef cx, const char *name)
{
    m->cx = cx;
    m->mod = LLVMModuleCreateWithNameInContext(name, cx);
    m->bd = LLVMCreateBuilderInContext(cx);
    m->i1 = LLVMInt1TypeInContext(cx);
    m->i8 = LLVMInt8TypeInContext(cx);
    m->i16 = LLVMInt16TypeInContext(cx);
    m->i32 = LLVMInt32TypeInContext(cx);
    m->i64 = LLVMInt64TypeInContext(cx);
    m->i128 = LLVMInt128TypeInContext(cx);
    m->ptr = LLVMPointerTypeInContext(cx, 0);
    m->vd = LLVMVoidTypeInContext(cx);
    m->blk_fn_t = LLVMFunctionType(m->i32, (LLVMTypeRef[]){ m->ptr, m->ptr }, 2, 0);
    m->helper_t = LLVMFunctionType(m->i128, (LLVMTypeRef[]){ m->ptr, m->i128, m->i128, m->i128 }, 4, 0);
    m->load_t = LLVMFunctionType(m->i128, (LLVMTypeRef[]){ m->ptr, m->i64, m->i32, m->i32, m->i64 }, 5, 0);
    m->store_t = LLVMFunctionType(m->vd, (LLVMTypeRef[]){ m->ptr, m->i64, m->i128, m->i32, m->i32, m->i64 }, 6, 0);
    m->load64_t = LLVMFunctionType(m->i64, (LLVMTypeRef[]){ m->ptr, m->i64, m->i32, m->i32, m->i64 }, 5, 0);
    m->store64_t = LLVMFunctionType(m->vd, (LLVMTypeRef[]){ m->ptr, m->i64, m->i64, m->i32, m->i32, m->i64 }, 6, 0);
    m->cmpxchg_t = LLVMFunctionType(
        m->i128, (LLVMTypeRef[]){ m->ptr, m->i64, m->i32, m->i32, m->i64, m->i128, m->i128 }, 7, 0);
    m->rmw_t = LLVMFunctionType(m->i128, (LLVMTypeRef[]){ m->ptr, m->i64, m->i32, m->i32, m->i32, m->i128 }, 6, 0);
    m->op128_t = LLVMFunctionType(m->i128, (LLVMTypeRef[]){ m->i32, m->i128, m->i128 }, 3, 0);
    m->set_pc_t = LLVMFunctionType(m->vd, (LLVMTypeRef[]){ m->ptr, m->i64 }, 2, 0);
    m->tbaa_kind = LLVMGetMDKindIDInContext(cx, "tbaa", 4);
    LLVMMetadataRef root_name = LLVMMDStringInContext2(cx, "anyhv", 5);
    LLVMMetadataRef root = LLVMMDNodeInContext2(cx, &root_name, 1);
    LLVMMetadataRef zero = LLVMValueAsMetadata(LLVMConstInt(m->i64, 0, 0));
    static const char *const names[3] = { "guest state", "dispatcher", "guest memory" };
    LLVMValueRef *tags[3] = { &m->tbaa_state, &m->tbaa_host, &m->tbaa_guest };
    for (unsigned i = 0; i < 3; i++) {
        LLVMMetadataRef ty_ops[3] = { LLVMMDStringInContext2(cx, names[i], strlen(names[i])), root, zero };
        LLVMMetadataRef ty = LLVMMDNodeInContext2(cx, ty_ops, 3);
        LLVMMetadataRef tag_ops[3] = { ty, ty, zero };
        *tags[i] = LLVMMetadataAsValue(cx, LLVMMDNodeInContext2(cx, tag_ops, 3));
    }
}

void em_mem_tag(struct em_fn *f, LLVMValueRef access, enum em_mem what)
{
    const struct em_module *m = f->m;
    LLVMSetMetadata(access, m->tbaa_kind,
                    what == EM_MEM_STATE ? m->tbaa_state : what == EM_MEM_HOST ? m->tbaa_host : m->tbaa_guest);
}

void em_module_dispose_builder(struct em_module *m)
{
    if (m->bd)
        LLVMDisposeBuilder(m->bd);
    m->bd = NULL;
}

/* ---- small builders ------------------------------------------------------------- */

LLVMTypeRef em_ty(struct em_fn *f, unsigned w)
{
    return LLVMIntTypeInContext(f->m->cx, w);
}

LLVMValueRef em_const(struct em_fn *f, unsigned w, uint64_t v)
{
    return LLVMConstInt(em_ty(f, w), w < 64 ? v & ((1ull << w) - 1) : v, 0);
}

LLVMValueRef em_const128(struct em_fn *f, unsigned w, ir_u128 v)
{
    if (w <= 64)
        return em_const(f, w, (uint64_t)v);
    uint64_t words[2] = { (uint64_t)v, (uint64_t)(v >> 64) };
    return LLVMConstIntOfArbitraryPrecision(em_ty(f, w), 2, words);
}

unsigned em_width(LLVMValueRef v)
{
    return LLVMGetIntTypeWidth(LLVMTypeOf(v));
}

LLVMValueRef em_fit(struct em_fn *f, LLVMValueRef v, unsigned w)
{
    unsigned vw = em_width(v);
    if (vw == w)
        return v;
    LLVMBuilderRef bd = f->m->bd;
    return vw < w ? LLVMBuildZExt(bd, v, em_ty(f, w), "") : LLVMBuildTrunc(bd, v, em_ty(f, w), "");
}

LLVMValueRef em_ptr_const(struct em_fn *f, const void *p)
{
    return LLVMConstIntToPtr(LLVMConstInt(f->m->i64, (uint64_t)(uintptr_t)p, 0), f->m->ptr);
}

LLVMValueRef em_at(struct em_fn *f, LLVMValueRef base, uint64_t off)
{
    if (!off)
        return base;
    LLVMValueRef idx = LLVMConstInt(f->m->i64, off, 0);
    return LLVMBuildGEP2(f->m->bd, f->m->i8, base, &idx, 1, "");
}

LLVMValueRef em_load(struct em_fn *f, LLVMTypeRef t, LLVMValueRef base, uint64_t off)
{
    LLVMValueRef l = LLVMBuildLoad2(f->m->bd, t, em_at(f, base, off), "");
    LLVMSetAlignment(l, 1);
    em_mem_tag(f, l, base == f->state ? EM_MEM_STATE : EM_MEM_HOST);
    return l;
}

void em_store(struct em_fn *f, LLVMValueRef v, LLVMValueRef base, uint64_t off)
{
    LLVMValueRef s = LLVMBuildStore(f->m->bd, v, em_at(f, base, off));
    LLVMSetAlignment(s, 1);
    em_mem_tag(f, s, base == f->state ? EM_MEM_STATE : EM_MEM_HOST);
}

LLVMBasicBlockRef em_new_bb(struct em_fn *f, const char *name)
{
    return LLVMAppendBasicBlockInContext(f->m->cx, f->fn, name);
}

static LLVMValueRef intrinsic(struct em_fn *f, const char *name, LLVMValueRef *args, unsigned n, unsigned ntys)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef tys[1] = { LLVMTypeOf(args[0]) };
    LLVMValueRef decl = LLVMGetIntrinsicDeclaration(f->m->mod, id, tys, ntys);
    LLVMTypeRef ft = LLVMIntrinsicGetType(f->m->cx, id, tys, ntys);
    return LLVMBuildCall2(f->m->bd, ft, decl, args, n, "");
}

/* ---- pure operations --------------------------------------------------------------- */

static LLVMValueRef v_of(struct em_fn *f, uint32_t slot)
{
    return f->val[slot];
}

static LLVMValueRef sel(struct em_fn *f, LLVMValueRef c, LLVMValueRef x, LLVMValueRef y)
{
    return LLVMBuildSelect(f->m->bd, c, x, y, "");
}

static LLVMValueRef icmp(struct em_fn *f, LLVMIntPredicate p, LLVMValueRef x, LLVMValueRef y)
{
    return LLVMBuildICmp(f->m->bd, p, x, y, "");
}

static LLVMValueRef op128(struct em_fn *f, uint16_t op, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef args[3] = { LLVMConstInt(f->m->i32, op, 0), x, y };
    return LLVMBuildCall2(f->m->bd, f->m->op128_t, em_ptr_const(f, (const void *)jit_rt_op128), args, 3, "");
}

/* Division as ir_ops.def defines it: x/0 = 0, x%0 = x, MIN/-1 = MIN, MIN%-1 = 0. */
static LLVMValueRef divide(struct em_fn *f, uint16_t op, LLVMValueRef x, LLVMValueRef y, unsigned w)
{
    LLVMBuilderRef bd = f->m->bd;
    if (w == 128)
        return op128(f, op, x, y);
    LLVMValueRef zero = em_const(f, w, 0), one = em_const(f, w, 1);
    LLVMValueRef y0 = icmp(f, LLVMIntEQ, y, zero);
    if (op == IR_UDIV || op == IR_UREM) {
        LLVMValueRef d = sel(f, y0, one, y);
        if (op == IR_UDIV)
            return sel(f, y0, zero, LLVMBuildUDiv(bd, x, d, ""));
        return sel(f, y0, x, LLVMBuildURem(bd, x, d, ""));
    }
    LLVMValueRef min = em_const128(f, w, (ir_u128)1 << (w - 1));
    LLVMValueRef ovf = LLVMBuildAnd(bd, icmp(f, LLVMIntEQ, x, min), icmp(f, LLVMIntEQ, y, em_const128(f, w, ~(ir_u128)0)), "");
    LLVMValueRef d = sel(f, LLVMBuildOr(bd, y0, ovf, ""), one, y);
    if (op == IR_SDIV)
        return sel(f, y0, zero, sel(f, ovf, min, LLVMBuildSDiv(bd, x, d, "")));
    return sel(f, y0, x, sel(f, ovf, zero, LLVMBuildSRem(bd, x, d, "")));
}

static LLVMValueRef mul_high(struct em_fn *f, bool sign, LLVMValueRef x, LLVMValueRef y, unsigned w)
{
    LLVMBuilderRef bd = f->m->bd;
    if (w == 128)
        return op128(f, sign ? IR_SMULH : IR_UMULH, x, y);
    LLVMTypeRef t2 = em_ty(f, 2 * w);
    LLVMValueRef a = sign ? LLVMBuildSExt(bd, x, t2, "") : LLVMBuildZExt(bd, x, t2, "");
    LLVMValueRef b = sign ? LLVMBuildSExt(bd, y, t2, "") : LLVMBuildZExt(bd, y, t2, "");
    LLVMValueRef p = LLVMBuildMul(bd, a, b, "");
    return LLVMBuildTrunc(bd, LLVMBuildLShr(bd, p, LLVMConstInt(t2, w, 0), ""), em_ty(f, w), "");
}

/* Shifts: a count of the width or more gives 0 (SHL, LSHR) or the sign (ASHR). */
static LLVMValueRef shift(struct em_fn *f, uint16_t op, LLVMValueRef x, LLVMValueRef n, unsigned w)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned nw = em_width(n);
    LLVMValueRef big;
    if (nw < 64 && (1ull << nw) <= w)
        big = LLVMConstInt(f->m->i1, 0, 0);   /* the count cannot reach the width */
    else
        big = icmp(f, LLVMIntUGE, n, em_const(f, nw, w));
    LLVMValueRef c = em_fit(f, n, w);
    if (op == IR_ASHR)
        return LLVMBuildAShr(bd, x, sel(f, big, em_const(f, w, w - 1), c), "");
    LLVMValueRef safe = sel(f, big, em_const(f, w, 0), c);
    LLVMValueRef r = op == IR_SHL ? LLVMBuildShl(bd, x, safe, "") : LLVMBuildLShr(bd, x, safe, "");
    return sel(f, big, em_const(f, w, 0), r);
}

static LLVMValueRef rotate(struct em_fn *f, uint16_t op, LLVMValueRef x, LLVMValueRef n, unsigned w)
{
    LLVMValueRef args[3] = { x, x, em_fit(f, n, w) };
    return intrinsic(f, op == IR_ROTL ? "llvm.fshl" : "llvm.fshr", args, 3, 1);
}

/* A byte's population count in shifts and adds (the x86 parity flag's case): FastISel
 * cannot select llvm.ctpop, and one such call sends its whole basic block through
 * SelectionDAG in warm code. */
static LLVMValueRef popcount8(struct em_fn *f, LLVMValueRef x)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef c1 = em_const(f, 8, 1), c2 = em_const(f, 8, 2), c4 = em_const(f, 8, 4);
    x = LLVMBuildSub(bd, x, LLVMBuildAnd(bd, LLVMBuildLShr(bd, x, c1, ""), em_const(f, 8, 0x55), ""), "");
    x = LLVMBuildAdd(bd, LLVMBuildAnd(bd, x, em_const(f, 8, 0x33), ""),
                     LLVMBuildAnd(bd, LLVMBuildLShr(bd, x, c2, ""), em_const(f, 8, 0x33), ""), "");
    return LLVMBuildAnd(bd, LLVMBuildAdd(bd, x, LLVMBuildLShr(bd, x, c4, ""), ""), em_const(f, 8, 0x0f), "");
}

static LLVMValueRef bits(struct em_fn *f, uint16_t op, LLVMValueRef x, unsigned w)
{
    LLVMValueRef args[2] = { x, LLVMConstInt(f->m->i1, 0, 0) };
    switch (op) {
    case IR_CLZ: return intrinsic(f, "llvm.ctlz", args, 2, 1);
    case IR_CTZ: return intrinsic(f, "llvm.cttz", args, 2, 1);
    case IR_POPCNT: return w == 8 ? popcount8(f, x) : intrinsic(f, "llvm.ctpop", args, 1, 1);
    case IR_BSWAP: return intrinsic(f, "llvm.bswap", args, 1, 1);
    default: return w == 1 ? x : intrinsic(f, "llvm.bitreverse", args, 1, 1);
    }
}

static LLVMValueRef extract(struct em_fn *f, const struct interp_insn *in, LLVMValueRef x)
{
    unsigned aw = em_width(x);
    if (in->imm)
        x = LLVMBuildLShr(f->m->bd, x, em_const(f, aw, in->imm), "");
    return em_fit(f, x, in->w);
}

static LLVMValueRef insert(struct em_fn *f, const struct interp_insn *in, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned w = in->w, fw = (unsigned)in->imm2;
    if (fw >= w)
        return em_fit(f, y, w);
    ir_u128 field = (((ir_u128)1 << fw) - 1) << in->imm;
    LLVMValueRef keep = LLVMBuildAnd(bd, x, em_const128(f, w, ~field), "");
    LLVMValueRef put = em_fit(f, y, w);
    if (in->imm)
        put = LLVMBuildShl(bd, put, em_const(f, w, in->imm), "");
    return LLVMBuildOr(bd, keep, put, "");
}

static LLVMIntPredicate pred_of(uint16_t op)
{
    switch (op) {
    case IR_EQ: return LLVMIntEQ;
    case IR_NE: return LLVMIntNE;
    case IR_ULT: return LLVMIntULT;
    case IR_ULE: return LLVMIntULE;
    case IR_SLT: return LLVMIntSLT;
    default: return LLVMIntSLE;
    }
}

/* The value of a pure op, or NULL if op is not pure. */
static LLVMValueRef pure_value(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMValueRef x = in->a ? v_of(f, in->a) : NULL, y = in->b ? v_of(f, in->b) : NULL;
    unsigned w = in->w;
    switch (op) {
    case IR_ADD: return LLVMBuildAdd(bd, x, y, "");
    case IR_SUB: return LLVMBuildSub(bd, x, y, "");
    case IR_MUL: return LLVMBuildMul(bd, x, y, "");
    case IR_AND: return LLVMBuildAnd(bd, x, y, "");
    case IR_OR: return LLVMBuildOr(bd, x, y, "");
    case IR_XOR: return LLVMBuildXor(bd, x, y, "");
    case IR_NOT: return LLVMBuildNot(bd, x, "");
    case IR_NEG: return LLVMBuildNeg(bd, x, "");
    case IR_UMULH: case IR_SMULH: return mul_high(f, op == IR_SMULH, x, y, w);
    case IR_UDIV: case IR_SDIV: case IR_UREM: case IR_SREM: return divide(f, op, x, y, w);
    case IR_SHL: case IR_LSHR: case IR_ASHR: return shift(f, op, x, y, w);
    case IR_ROTL: case IR_ROTR: return rotate(f, op, x, y, w);
    case IR_CLZ: case IR_CTZ: case IR_POPCNT: case IR_BSWAP: case IR_BITREV: return bits(f, op, x, w);
    case IR_EQ: case IR_NE:
        /* i1 compares as xor: FastISel cannot select an icmp of i1. */
        if (em_width(x) == 1)
            return op == IR_NE ? LLVMBuildXor(bd, x, y, "") : LLVMBuildNot(bd, LLVMBuildXor(bd, x, y, ""), "");
        return icmp(f, pred_of(op), x, y);
    case IR_ULT: case IR_ULE: case IR_SLT: case IR_SLE:
        return icmp(f, pred_of(op), x, y);
    case IR_SELECT: return sel(f, x, y, v_of(f, in->c));
    case IR_ZEXT: return LLVMBuildZExt(bd, x, em_ty(f, w), "");
    case IR_SEXT: return LLVMBuildSExt(bd, x, em_ty(f, w), "");
    case IR_TRUNC: return LLVMBuildTrunc(bd, x, em_ty(f, w), "");
    case IR_EXTRACT: return extract(f, in, x);
    case IR_INSERT: return insert(f, in, x, y);
    case IR_FP: case IR_FPFLAGS: return em_fp_value(f, in, op);
    default: return em_vec_value(f, in, op);
    }
}

bool em_emit_pure(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    LLVMValueRef r = pure_value(f, in, op);
    if (!r)
        return false;
    f->val[in->dst] = r;
    return true;
}

/* ---- the function ------------------------------------------------------------------ */

/* The IR op a pre-decoded instruction stands for. */
static uint16_t base_op(uint16_t op)
{
    switch (op) {
    case IX_GET64: return IR_GET;
    case IX_SET64: return IR_SET;
    case IX_ADD64: return IR_ADD;
    case IX_SUB64: return IR_SUB;
    case IX_AND64: return IR_AND;
    case IX_OR64: return IR_OR;
    case IX_XOR64: return IR_XOR;
    case IX_INSN_NEXT: return IR_INSN_START;
    default: return op;
    }
}

/* One member's program, from its entry block on. */
static bool emit_member(struct em_fn *f, uint32_t k)
{
    const struct em_block *b = &f->func->member[k];
    const struct interp_prog *p = &b->prog;
    /* Blocks may hold thousands of values: the slot table is on the heap. */
    LLVMValueRef *vals = calloc(p->nvals ? p->nvals : 1, sizeof(*vals));
    if (!vals)
        return false;
    f->b = b;
    f->member = k;
    f->val = vals;
    f->seen = 0;
    f->start = NULL;
    f->next_exit = 0;
    f->ic0 = f->member_ic[k];
    LLVMPositionBuilderAtEnd(f->m->bd, f->member_bb[k]);
    em_cache_enter_member(f);
    for (uint32_t s = 0; s < p->nvals; s++)
        vals[s] = p->is_const[s] ? em_const128(f, p->width[s], p->vals[s]) : NULL;
    bool ok = true;
    for (uint32_t i = 0; i < p->count && ok; i++) {
        const struct interp_insn *in = &p->code[i];
        uint16_t op = base_op(in->op);
        ok = op < IR_OP_COUNT && (em_emit_pure(f, in, op) || em_emit_effect(f, in, op));
    }
    free(vals);
    /* Verified programs end with a terminator, which left the builder in a closed block. */
    return ok;
}

bool em_emit_func(struct em_module *m, const struct em_func *fn, const char *name)
{
    struct em_fn f = { .m = m, .func = fn, .b = &fn->member[0] };
    LLVMBasicBlockRef bbs[fn->n];
    LLVMValueRef ics[fn->n];
    f.fn = LLVMAddFunction(m->mod, name, m->blk_fn_t);
    LLVMSetFunctionCallConv(f.fn, LLVM_BLOCK_CALLCONV);
    f.cpu = LLVMGetParam(f.fn, 0);
    f.state = LLVMGetParam(f.fn, 1);
    f.member_bb = bbs;
    f.member_ic = ics;
    LLVMPositionBuilderAtEnd(m->bd, em_new_bb(&f, "entry"));
    LLVMValueRef ic = em_load(&f, m->i64, f.cpu, EM_CPU(icount));
    f.vm_epoch0 = LLVMBuildLoad2(m->bd, m->i64, em_ptr_const(&f, fn->member[0].ctx->vm_epoch), "");
    LLVMSetVolatile(f.vm_epoch0, 1);   /* see load_atomic in emit_ctl.c */
    LLVMSetAlignment(f.vm_epoch0, 8);
    f.budget = em_load(&f, m->i64, f.cpu, EM_CPU(budget));
    bool ok = !fn->cache_state || em_cache_plan(&f);
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(m->bd);
    for (uint32_t k = 0; k < fn->n; k++) {
        bbs[k] = em_new_bb(&f, "member");
        LLVMPositionBuilderAtEnd(m->bd, bbs[k]);
        ics[k] = LLVMBuildPhi(m->bd, m->i64, "icount");
    }
    LLVMPositionBuilderAtEnd(m->bd, entry);
    LLVMBuildBr(m->bd, bbs[0]);
    LLVMAddIncoming(ics[0], &ic, &entry, 1);
    for (uint32_t k = 0; k < fn->n && ok; k++)
        ok = emit_member(&f, k);
    free(f.slot);
    return ok;
}
