/* ir_fp.c - the FP and FPFLAGS ops (ir_ops.def) as both tiers compute them: the
 * ordinary case in host IEEE arithmetic with inexactness from error-free transforms
 * (add/sub: TwoSum; mul: fma(a, b, -r); div: fma(-r, b, a); sqrt: fma(-r, r, a); FMA:
 * ErrFma, each exact when the lanes are ordinary; compares, MIN/MAX and conversions in
 * their own ordinary cases, ir.h), everything else through the frontend's pure
 * fallback helper. The host computes in round-to-nearest-even without flush or
 * denormals-are-zero: the soft route sets that environment for every execution
 * period (core/soft/host_fp.c), and ordinary lanes make flush and DAZ irrelevant
 * anyway. The compiled tier emits the same computation (jit/llvm/emit_fp.c). */
#include <math.h>
#include <string.h>

#include "jit/ir.h"
#include "jit/ir_fp_lane.h"

/* No expression here multiplies and adds, so FP contraction cannot fuse anything. */


enum ir_type ir_fp_type(unsigned format)
{
    switch (format) {
    case IR_FP_F32: return IR_I32;
    case IR_FP_F64: return IR_I64;
    case IR_FP_V4F32: case IR_FP_V2F64: return IR_I128;
    default: return IR_VOID;
    }
}

/* A conversion's integer type (ir.h). */
static enum ir_type int_type(uint64_t how)
{
    unsigned fmt = IR_FP_FORMAT(how);
    if (fmt == IR_FP_V4F32 || fmt == IR_FP_V2F64)
        return IR_I128;
    return (IR_FP_AUX(how) & IR_FP_CVT_64) ? IR_I64 : IR_I32;
}

enum ir_type ir_fp_arg_type(uint64_t how)
{
    unsigned kind = IR_FP_KIND(how);
    return kind == IR_FP_SITOF || kind == IR_FP_UITOF ? int_type(how) : ir_fp_type(IR_FP_FORMAT(how));
}

enum ir_type ir_fp_result_type(uint64_t how)
{
    unsigned kind = IR_FP_KIND(how);
    if (kind == IR_FP_REL)
        return IR_VOID;
    return kind == IR_FP_FTOSI || kind == IR_FP_FTOUI ? int_type(how) : ir_fp_type(IR_FP_FORMAT(how));
}

bool ir_fp_fast(uint64_t how, ir_u128 a, ir_u128 b, ir_u128 *r, bool *inexact)
{
    return ir_fp_fast3(how, a, b, 0, r, inexact);
}

bool ir_fp_fast3(uint64_t how, ir_u128 a, ir_u128 b, ir_u128 c, ir_u128 *r, bool *inexact)
{
    unsigned kind = IR_FP_KIND(how), fmt = IR_FP_FORMAT(how);
    bool f64 = fmt == IR_FP_F64 || fmt == IR_FP_V2F64;
    unsigned lanes = fmt == IR_FP_V4F32 ? 4 : fmt == IR_FP_V2F64 ? 2 : 1;
    if (kind >= IR_FP_KIND_COUNT || fmt >= IR_FP_FORMAT_COUNT)
        return false;
    ir_u128 out = 0;
    *inexact = false;
    for (unsigned i = 0; i < lanes; i++) {
        if (kind == IR_FP_FMA) {
            unsigned w = f64 ? 64 : 32;
            uint64_t lm = f64 ? ~0ull : 0xffffffffull, z;
            if (!ir_fp_fma_lane(IR_FP_AUX(how), f64, (uint64_t)(a >> (w * i)) & lm, (uint64_t)(b >> (w * i)) & lm,
                                (uint64_t)(c >> (w * i)) & lm, &z, inexact))
                return false;
            out |= (ir_u128)z << (w * i);
        } else if (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI) {   /* integer lanes: the float's width, or the scalar's */
            unsigned w = f64 ? 64 : 32, n = lanes > 1 ? w : (IR_FP_AUX(how) & IR_FP_CVT_64) ? 64 : 32;
            unsigned in_w = kind <= IR_FP_UITOF ? n : w, out_w = kind <= IR_FP_UITOF ? w : n;
            uint64_t x = (uint64_t)(a >> (in_w * i)) & (in_w == 64 ? ~0ull : 0xffffffffull), z;
            if (!ir_fp_cvt_lane(kind, IR_FP_AUX(how), f64, n, x, &z, inexact))
                return false;
            out |= (ir_u128)z << (out_w * i);
        } else if (kind >= IR_FP_CMP) {
            unsigned w = f64 ? 64 : 32;
            uint64_t lm = f64 ? ~0ull : 0xffffffffull, z;
            if (!ir_fp_cmp_lane(kind, IR_FP_AUX(how), w, (uint64_t)(a >> (w * i)) & lm,
                                (uint64_t)(b >> (w * i)) & lm, &z))
                return false;
            out |= (ir_u128)z << (w * i);
        } else if (f64) {
            uint64_t z;
            if (!ir_fp_lane64(kind, (uint64_t)(a >> (64 * i)), (uint64_t)(b >> (64 * i)), &z, inexact))
                return false;
            out |= (ir_u128)z << (64 * i);
        } else {
            uint32_t z;
            if (!ir_fp_lane32(kind, (uint32_t)(a >> (32 * i)), (uint32_t)(b >> (32 * i)), &z, inexact))
                return false;
            out |= (ir_u128)z << (32 * i);
        }
    }
    *r = out;
    return true;
}

/* FMA's fallback: the helper once per lane with the scalar format (ir.h). */
static void fma_fallback(const struct ir_helper *h, void *cpu, uint64_t how, ir_u128 a, ir_u128 b, ir_u128 c,
                         struct ir_fp_memo *m)
{
    unsigned fmt = IR_FP_FORMAT(how), lanes = fmt == IR_FP_V4F32 ? 4 : fmt == IR_FP_V2F64 ? 2 : 1;
    bool f64 = fmt == IR_FP_F64 || fmt == IR_FP_V2F64;
    unsigned w = f64 ? 64 : 32;
    ir_u128 lm = f64 ? ~0ull : 0xffffffffull;
    uint64_t lane_how = (how & ~0xff00ull) | ((uint64_t)(f64 ? IR_FP_F64 : IR_FP_F32) << 8);
    m->value = m->flags = 0;
    for (unsigned i = 0; i < lanes; i++) {
        ir_u128 x = (a >> (w * i)) & lm, y = (b >> (w * i)) & lm, z = (c >> (w * i)) & lm;
        m->value |= (h->fn(cpu, x, y, lane_how | (z << 64)) & lm) << (w * i);
        m->flags |= h->fn(cpu, x, y, lane_how | IR_FP_WANT_FLAGS | (z << 64));
    }
}

/* FP and FPFLAGS come in pairs on the same operands: one evaluation serves both. */
ir_u128 ir_fp_eval3(void *cpu, uint64_t how, uint64_t helper, ir_u128 a, ir_u128 b, ir_u128 c, bool flags,
                    struct ir_fp_memo *m)
{
    if (!(m->valid && m->how == how && m->helper == helper && m->a == a && m->b == b && m->c == c)) {
        bool inexact;
        m->valid = true;
        m->how = how;
        m->helper = helper;
        m->a = a;
        m->b = b;
        m->c = c;
        const struct ir_helper *h = ir_helper_get((uint32_t)helper);
        if (ir_fp_fast3(how, a, b, c, &m->value, &inexact)) {
            m->flags = inexact ? (ir_u128)1 << IR_FP_INEXACT_BIT(how) : 0;
        } else if (!h) {
            m->value = m->flags = 0;
        } else if (IR_FP_KIND(how) == IR_FP_FMA) {
            fma_fallback(h, cpu, how, a, b, c, m);
        } else {
            m->value = h->fn(cpu, a, b, how);
            m->flags = h->fn(cpu, a, b, how | IR_FP_WANT_FLAGS);
        }
    }
    return flags ? m->flags : m->value;
}

ir_u128 ir_fp_eval(void *cpu, uint64_t how, uint64_t helper, ir_u128 a, ir_u128 b, bool flags, struct ir_fp_memo *m)
{
    return ir_fp_eval3(cpu, how, helper, a, b, 0, flags, m);
}

ir_val ir_fp(struct ir_block *b, uint64_t how, uint32_t helper, ir_val x, ir_val y)
{
    enum ir_type t = ir_fp_result_type(how);
    return ir_emit(b, IR_FP, t == IR_VOID ? IR_I32 : t, x, y, IR_NONE, how, helper);
}

ir_val ir_fp_flags(struct ir_block *b, enum ir_type t, uint64_t how, uint32_t helper, ir_val x, ir_val y)
{
    return ir_emit(b, IR_FPFLAGS, t, x, y, IR_NONE, how, helper);
}

ir_val ir_fp_fma(struct ir_block *b, uint64_t how, uint32_t helper, ir_val x, ir_val y, ir_val z)
{
    return ir_emit(b, IR_FP, ir_fp_type(IR_FP_FORMAT(how)), x, y, z, how, helper);
}

ir_val ir_fp_fma_flags(struct ir_block *b, enum ir_type t, uint64_t how, uint32_t helper, ir_val x, ir_val y, ir_val z)
{
    return ir_emit(b, IR_FPFLAGS, t, x, y, z, how, helper);
}
