/* sse_fp_ir.c - SSE/AVX arithmetic (ADD, SUB, MUL, DIV, SQRT in SS, SD, PS, PD), the
 * compares (CMPxx with any predicate, UCOMIS/COMIS), MIN/MAX, the int<->fp
 * conversions and FMA3 (x86_fma_inline, for lift_fma.c) as the IR's FP ops while MXCSR's controls are the default (X86_MK_MXCSR_DEFAULT: round to
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

#define NO_OP X86_SSE_OP_COUNT

/* The SSE op of each kind and format (UCOMIS for REL; COMIS is REL with aux 1); the
 * conversions are in cvt_forms. */
static const unsigned short sse_ops[IR_FP_SITOF][IR_FP_FORMAT_COUNT] = {
#define K(kind, ss, sd, ps, pd) [IR_FP_##kind] = { X86_SSE_##ss, X86_SSE_##sd, X86_SSE_##ps, X86_SSE_##pd },
    K(ADD, ADDSS, ADDSD, ADDPS, ADDPD) K(SUB, SUBSS, SUBSD, SUBPS, SUBPD) K(MUL, MULSS, MULSD, MULPS, MULPD)
    K(DIV, DIVSS, DIVSD, DIVPS, DIVPD) K(SQRT, SQRTSS, SQRTSD, SQRTPS, SQRTPD) K(CMP, CMPSS, CMPSD, CMPPS, CMPPD)
    K(MIN, MINSS, MINSD, MINPS, MINPD) K(MAX, MAXSS, MAXSD, MAXPS, MAXPD)
#undef K
    [IR_FP_REL] = { X86_SSE_UCOMISS, X86_SSE_UCOMISD, NO_OP, NO_OP },
};

/* The conversions, by (kind, format, aux): x86 has no unsigned ones (before AVX-512)
 * and no packed ones with lanes of the same width between doubles and integers. */
struct cvt_form {
    unsigned short op;
    uint8_t kind, fmt, aux;
};

#define W64 IR_FP_CVT_64
#define RN IR_FP_CVT_NEAREST
static const struct cvt_form cvt_forms[] = {
#define C(op, kind, fmt, aux) { X86_SSE_##op, IR_FP_##kind, IR_FP_##fmt, aux },
    C(CVTSI32_SS, SITOF, F32, 0) C(CVTSI64_SS, SITOF, F32, W64) C(CVTSI32_SD, SITOF, F64, 0)
    C(CVTSI64_SD, SITOF, F64, W64) C(CVTDQ2PS, SITOF, V4F32, 0)
    C(CVTTSS2SI32, FTOSI, F32, 0) C(CVTTSS2SI64, FTOSI, F32, W64) C(CVTTSD2SI32, FTOSI, F64, 0)
    C(CVTTSD2SI64, FTOSI, F64, W64) C(CVTTPS2DQ, FTOSI, V4F32, 0)
    C(CVTSS2SI32, FTOSI, F32, RN) C(CVTSS2SI64, FTOSI, F32, RN | W64) C(CVTSD2SI32, FTOSI, F64, RN)
    C(CVTSD2SI64, FTOSI, F64, RN | W64) C(CVTPS2DQ, FTOSI, V4F32, RN)
#undef C
};
#undef W64
#undef RN

/* The SSE op and imm8 an IR FP op stands for. */
static unsigned sse_op_of(uint64_t how, unsigned *imm)
{
    unsigned kind = IR_FP_KIND(how), fmt = IR_FP_FORMAT(how), aux = IR_FP_AUX(how);
    *imm = kind == IR_FP_CMP ? aux : 0;
    if (kind >= IR_FP_SITOF) {
        if (kind == IR_FP_SITOF)
            aux &= IR_FP_CVT_64;   /* rounding is MXCSR's, the default's nearest */
        for (size_t i = 0; i < sizeof(cvt_forms) / sizeof(cvt_forms[0]); i++)
            if (cvt_forms[i].kind == kind && cvt_forms[i].fmt == fmt && cvt_forms[i].aux == aux)
                return cvt_forms[i].op;
        return NO_OP;
    }
    if (fmt >= IR_FP_FORMAT_COUNT)
        return NO_OP;
    if (kind == IR_FP_REL && aux)
        return fmt == IR_FP_F32 ? X86_SSE_COMISS : fmt == IR_FP_F64 ? X86_SSE_COMISD : NO_OP;
    return sse_ops[kind][fmt];
}

/* The inverse: false for an SSE op with no IR FP form. */
static bool form_of(unsigned op, unsigned *kind, unsigned *fmt, unsigned *aux)
{
    for (size_t i = 0; i < sizeof(cvt_forms) / sizeof(cvt_forms[0]); i++)
        if (cvt_forms[i].op == op) {
            *kind = cvt_forms[i].kind;
            *fmt = cvt_forms[i].fmt;
            *aux = cvt_forms[i].aux;
            return true;
        }
    *aux = op == X86_SSE_COMISS || op == X86_SSE_COMISD;
    if (*aux) {
        *kind = IR_FP_REL;
        *fmt = op == X86_SSE_COMISS ? IR_FP_F32 : IR_FP_F64;
        return true;
    }
    for (*kind = 0; *kind < IR_FP_SITOF; ++*kind)   /* the rows of sse_ops */
        for (*fmt = 0; *fmt < IR_FP_FORMAT_COUNT; ++*fmt)
            if (sse_ops[*kind][*fmt] == op)
                return true;
    return false;
}

/* UCOMIS/COMIS's ZF, PF, CF (X86_SSE_FLAG_*) of each enum ir_fp_rel, a byte each. */
#define REL_TO_FLAGS 0x07000401u   /* EQ: ZF; LT: CF; GT: none; unordered: all three */

/* The fallback: sse_fp.c's operation under the default MXCSR, on the lanes the IR
 * op was given (scalars in the low bits: the SS/SD forms compute lane 0 of a, b). */
static ir_u128 h_sse_fp_pure(void *cpu, ir_u128 a, ir_u128 b, ir_u128 how)
{
    (void)cpu;
    unsigned imm, op = sse_op_of((uint64_t)how, &imm);
    bool want_flags = ((uint64_t)how & IR_FP_WANT_FLAGS) != 0;
    if (IR_FP_KIND((uint64_t)how) == IR_FP_FMA) {   /* one lane, z above how (jit/ir.h) */
        unsigned aux = IR_FP_AUX((uint64_t)how);
        return x86_fma_default(IR_FP_FORMAT((uint64_t)how) == IR_FP_F64, (uint64_t)a, (uint64_t)b,
                               (uint64_t)(how >> 64), aux & IR_FP_FMA_NEG_PROD, aux & IR_FP_FMA_NEG_ADD, want_flags);
    }
    if (op == NO_OP)
        return 0;
    if (!x86_sse_op_is_fp(op))   /* CVTSI2SD from 32 bits: always exact */
        return want_flags ? 0 : x86_sse_compute(op, 0, a, b);
    ir_u128 r = x86_sse_fp_eval(op, imm, MXCSR_DEFAULT, a, b, want_flags);
    if (IR_FP_KIND((uint64_t)how) != IR_FP_REL || want_flags)
        return r;
    for (unsigned rel = IR_FP_REL_EQ; rel <= IR_FP_REL_UN; rel++)
        if (((REL_TO_FLAGS >> (8 * rel)) & 0xff) == (unsigned)r)
            return rel;
    return IR_FP_REL_UN;
}

const struct ir_helper x86_sse_fp_pure_helper = { "x86_sse_fp_default", h_sse_fp_pure, IR_HELPER_PURE };

ir_val x86_sse_fp_inline(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm)
{
    unsigned kind, fmt, aux;
    if (!form_of(op, &kind, &fmt, &aux))
        return IR_NONE;
    if (kind == IR_FP_CMP)
        aux = imm;
    else if (imm)
        return IR_NONE;
    struct ir_block *bl = c->b;
    bool scalar = fmt == IR_FP_F32 || fmt == IR_FP_F64;
    uint64_t how = IR_FP_HOW_AUX(kind, fmt, MXCSR_PE_BIT, aux);
    uint32_t h = x86_helper[X86_H_SSE_FP_PURE];
    ir_val x = a, y = b, r;
    if (scalar) {
        enum ir_type t = ir_fp_arg_type(how);
        x = ir_cast(bl, IR_TRUNC, t, a);
        y = ir_cast(bl, IR_TRUNC, t, b);
    }
    if (kind == IR_FP_SQRT || (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI))
        x = y;   /* these read only the source; the scalar forms keep a's upper lanes */
    if (kind == IR_FP_FTOSI) {
        r = ir_fp(bl, how, h, x, y);   /* the integer, to a GPR */
        if (scalar)
            r = ir_cast(bl, IR_ZEXT, IR_I128, r);
    } else if (kind == IR_FP_REL) {
        ir_val rel = ir_emit(bl, IR_FP, IR_I32, x, y, IR_NONE, how, h);
        ir_val sh = ir_binop(bl, IR_SHL, rel, ir_const(bl, IR_I32, 3));
        ir_val bits = ir_binop(bl, IR_AND, ir_binop(bl, IR_LSHR, ir_const(bl, IR_I32, REL_TO_FLAGS), sh),
                               ir_const(bl, IR_I32, 0xff));
        r = ir_cast(bl, IR_ZEXT, IR_I128, bits);
    } else {
        r = ir_fp(bl, how, h, x, y);
        if (scalar)
            r = ir_insert(bl, a, r, 0);
    }
    ir_val flags = ir_fp_flags(bl, IR_I32, how, h, x, y);
    ir_val mx = ir_get(bl, IR_I32, OFF_MXCSR);
    ir_set(bl, OFF_MXCSR, ir_binop(bl, IR_OR, mx, ir_binop(bl, IR_AND, flags, ir_const(bl, IR_I32, MXCSR_FLAGS))));
    return r;
}

ir_val x86_fma_inline(struct x86_ctx *c, ir_val d, ir_val x, ir_val y, ir_val z, unsigned type, bool neg_xy,
                      bool neg_z)
{
    static const unsigned formats[4] = { IR_FP_V4F32, IR_FP_V2F64, IR_FP_F32, IR_FP_F64 };
    struct ir_block *bl = c->b;
    unsigned fmt = formats[type & 3];
    bool scalar = fmt == IR_FP_F32 || fmt == IR_FP_F64;
    unsigned aux = (neg_xy ? IR_FP_FMA_NEG_PROD : 0) | (neg_z ? IR_FP_FMA_NEG_ADD : 0);
    uint64_t how = IR_FP_HOW_AUX(IR_FP_FMA, fmt, MXCSR_PE_BIT, aux);
    uint32_t h = x86_helper[X86_H_SSE_FP_PURE];
    if (scalar) {
        enum ir_type t = ir_fp_type(fmt);
        x = ir_cast(bl, IR_TRUNC, t, x);
        y = ir_cast(bl, IR_TRUNC, t, y);
        z = ir_cast(bl, IR_TRUNC, t, z);
    }
    ir_val r = ir_fp_fma(bl, how, h, x, y, z);
    if (scalar)
        r = ir_insert(bl, d, r, 0);
    ir_val flags = ir_fp_fma_flags(bl, IR_I32, how, h, x, y, z);
    ir_val mx = ir_get(bl, IR_I32, OFF_MXCSR);
    ir_set(bl, OFF_MXCSR, ir_binop(bl, IR_OR, mx, ir_binop(bl, IR_AND, flags, ir_const(bl, IR_I32, MXCSR_FLAGS))));
    return r;
}
