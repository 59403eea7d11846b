/* sse_fp_ir.c - SSE/AVX arithmetic (ADD, SUB, MUL, DIV, SQRT in SS, SD, PS, PD) as the
 * IR's FP ops while MXCSR's controls are the default (X86_MK_MXCSR_DEFAULT: round to
 * nearest, no DAZ/FTZ, every exception masked, so no #XM and no flush). The ordinary
 * case runs as host FP instructions in both tiers; anything else falls back to the
 * reference, sse_fp.c under the default MXCSR, through a pure helper. The flags the
 * operation raises are ORed into MXCSR with plain IR, which the compiled tier keeps in
 * a register: no state-writing helper, so promotion and chaining go on. */
#include "frontends/x86_64/x86_sse.h"

#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_PE_BIT 5
#define MXCSR_FLAGS 0x3fu
#define OFF_MXCSR ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, mxcsr)))

struct fp_form {
    uint8_t valid, kind, format, scalar;
};

static const struct fp_form forms[X86_SSE_OP_COUNT] = {
#define F(op, kind, fmt, sc) [X86_SSE_##op] = { 1, IR_FP_##kind, IR_FP_##fmt, sc },
    F(ADDSS, ADD, F32, 1) F(SUBSS, SUB, F32, 1) F(MULSS, MUL, F32, 1) F(DIVSS, DIV, F32, 1) F(SQRTSS, SQRT, F32, 1)
    F(ADDSD, ADD, F64, 1) F(SUBSD, SUB, F64, 1) F(MULSD, MUL, F64, 1) F(DIVSD, DIV, F64, 1) F(SQRTSD, SQRT, F64, 1)
    F(ADDPS, ADD, V4F32, 0) F(SUBPS, SUB, V4F32, 0) F(MULPS, MUL, V4F32, 0) F(DIVPS, DIV, V4F32, 0)
    F(SQRTPS, SQRT, V4F32, 0)
    F(ADDPD, ADD, V2F64, 0) F(SUBPD, SUB, V2F64, 0) F(MULPD, MUL, V2F64, 0) F(DIVPD, DIV, V2F64, 0)
    F(SQRTPD, SQRT, V2F64, 0)
#undef F
};

/* The SSE op of a kind and format (the inverse of forms[]). */
static unsigned sse_op_of(unsigned kind, unsigned format)
{
    for (unsigned op = 0; op < X86_SSE_OP_COUNT; op++)
        if (forms[op].valid && forms[op].kind == kind && forms[op].format == format)
            return op;
    return X86_SSE_OP_COUNT;
}

/* The fallback: sse_fp.c's operation under the default MXCSR, on the lanes the IR
 * op was given (scalars in the low bits: the SS/SD forms compute lane 0 of a, b). */
static ir_u128 h_sse_fp_pure(void *cpu, ir_u128 a, ir_u128 b, ir_u128 how)
{
    (void)cpu;
    static _Atomic unsigned short cache[IR_FP_KIND_COUNT][IR_FP_FORMAT_COUNT];
    unsigned kind = IR_FP_KIND((uint64_t)how), fmt = IR_FP_FORMAT((uint64_t)how);
    if (kind >= IR_FP_KIND_COUNT || fmt >= IR_FP_FORMAT_COUNT)
        return 0;
    unsigned op = cache[kind][fmt];
    if (!op) {
        op = sse_op_of(kind, fmt) + 1u;
        cache[kind][fmt] = (unsigned short)op;
    }
    if (op > X86_SSE_OP_COUNT)
        return 0;
    return x86_sse_fp_eval(op - 1u, 0, MXCSR_DEFAULT, a, b, ((uint64_t)how & IR_FP_WANT_FLAGS) != 0);
}

const struct ir_helper x86_sse_fp_pure_helper = { "x86_sse_fp_default", h_sse_fp_pure, IR_HELPER_PURE };

ir_val x86_sse_fp_inline(struct x86_ctx *c, ir_val a, ir_val b, unsigned op)
{
    if (op >= X86_SSE_OP_COUNT || !forms[op].valid)
        return IR_NONE;
    const struct fp_form *f = &forms[op];
    struct ir_block *bl = c->b;
    uint64_t how = IR_FP_HOW(f->kind, f->format, MXCSR_PE_BIT);
    uint32_t h = x86_helper[X86_H_SSE_FP_PURE];
    ir_val x = a, y = b, r;
    if (f->scalar) {
        enum ir_type t = f->format == IR_FP_F64 ? IR_I64 : IR_I32;
        x = ir_cast(bl, IR_TRUNC, t, a);
        y = ir_cast(bl, IR_TRUNC, t, b);
    }
    if (f->kind == IR_FP_SQRT)
        x = y;   /* SQRTxx read only the source; the scalar forms keep a's upper lanes */
    r = ir_fp(bl, how, h, x, y);
    if (f->scalar)
        r = ir_insert(bl, a, r, 0);
    ir_val flags = ir_fp_flags(bl, IR_I32, how, h, x, y);
    ir_val mx = ir_get(bl, IR_I32, OFF_MXCSR);
    ir_set(bl, OFF_MXCSR, ir_binop(bl, IR_OR, mx, ir_binop(bl, IR_AND, flags, ir_const(bl, IR_I32, MXCSR_FLAGS))));
    return r;
}
