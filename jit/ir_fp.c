/* ir_fp.c - the FP and FPFLAGS ops (ir_ops.def) as both tiers compute them: the
 * ordinary case in host IEEE arithmetic with inexactness from error-free transforms
 * (add/sub: TwoSum; mul: fma(a, b, -r); div: fma(-r, b, a); sqrt: fma(-r, r, a), each
 * exact when the lanes are ordinary), everything else through the frontend's pure
 * fallback helper. The host computes in round-to-nearest-even without flush or
 * denormals-are-zero: the soft route sets that environment for every execution
 * period (core/soft/host_fp.c), and ordinary lanes make flush and DAZ irrelevant
 * anyway. The compiled tier emits the same computation (jit/llvm/emit_fp.c). */
#include <math.h>
#include <string.h>

#include "jit/ir.h"

/* No expression here multiplies and adds, so FP contraction cannot fuse anything. */

#define F64_EXP_SHIFT 52
#define F64_EXP_MASK 0x7ffu
#define F64_ORD_LO 56u      /* p + 3 */
#define F64_ORD_HI 0x7fcu   /* emax - 2 */
#define F32_EXP_SHIFT 23
#define F32_EXP_MASK 0xffu
#define F32_ORD_LO 27u
#define F32_ORD_HI 0xfcu

enum ir_type ir_fp_type(unsigned format)
{
    switch (format) {
    case IR_FP_F32: return IR_I32;
    case IR_FP_F64: return IR_I64;
    case IR_FP_V4F32: case IR_FP_V2F64: return IR_I128;
    default: return IR_VOID;
    }
}

static bool ord64(uint64_t x)
{
    unsigned e = (unsigned)(x >> F64_EXP_SHIFT) & F64_EXP_MASK;
    return e >= F64_ORD_LO && e <= F64_ORD_HI;
}

static bool ord32(uint32_t x)
{
    unsigned e = (x >> F32_EXP_SHIFT) & F32_EXP_MASK;
    return e >= F32_ORD_LO && e <= F32_ORD_HI;
}

static double d_of(uint64_t x) { double d; memcpy(&d, &x, 8); return d; }
static uint64_t bits_d(double d) { uint64_t x; memcpy(&x, &d, 8); return x; }
static float f_of(uint32_t x) { float f; memcpy(&f, &x, 4); return f; }
static uint32_t bits_f(float f) { uint32_t x; memcpy(&x, &f, 4); return x; }

/* One binary64 lane; false when it is not ordinary. */
static bool lane64(unsigned kind, uint64_t a, uint64_t b, uint64_t *r, bool *inexact)
{
    if (!ord64(a) || (kind != IR_FP_SQRT && !ord64(b)))
        return false;
    double x = d_of(a), y = d_of(b), z, e;
    switch (kind) {
    case IR_FP_ADD: case IR_FP_SUB: {
        if (kind == IR_FP_SUB)
            y = -y;
        z = x + y;
        double yy = z - x;
        e = (x - (z - yy)) + (y - yy);
        break;
    }
    case IR_FP_MUL: z = x * y; e = fma(x, y, -z); break;
    case IR_FP_DIV: z = x / y; e = fma(-z, y, x); break;
    default: z = sqrt(x); e = fma(-z, z, x); break;
    }
    *r = bits_d(z);
    *inexact |= e != 0;
    return ord64(*r);
}

static bool lane32(unsigned kind, uint32_t a, uint32_t b, uint32_t *r, bool *inexact)
{
    if (!ord32(a) || (kind != IR_FP_SQRT && !ord32(b)))
        return false;
    float x = f_of(a), y = f_of(b), z, e;
    switch (kind) {
    case IR_FP_ADD: case IR_FP_SUB: {
        if (kind == IR_FP_SUB)
            y = -y;
        z = x + y;
        float yy = z - x;
        e = (x - (z - yy)) + (y - yy);
        break;
    }
    case IR_FP_MUL: z = x * y; e = fmaf(x, y, -z); break;
    case IR_FP_DIV: z = x / y; e = fmaf(-z, y, x); break;
    default: z = sqrtf(x); e = fmaf(-z, z, x); break;
    }
    *r = bits_f(z);
    *inexact |= e != 0;
    return ord32(*r);
}

bool ir_fp_fast(uint64_t how, ir_u128 a, ir_u128 b, ir_u128 *r, bool *inexact)
{
    unsigned kind = IR_FP_KIND(how), fmt = IR_FP_FORMAT(how);
    bool f64 = fmt == IR_FP_F64 || fmt == IR_FP_V2F64;
    unsigned lanes = fmt == IR_FP_V4F32 ? 4 : fmt == IR_FP_V2F64 ? 2 : 1;
    if (kind >= IR_FP_KIND_COUNT || fmt >= IR_FP_FORMAT_COUNT)
        return false;
    ir_u128 out = 0;
    *inexact = false;
    for (unsigned i = 0; i < lanes; i++) {
        if (f64) {
            uint64_t z;
            if (!lane64(kind, (uint64_t)(a >> (64 * i)), (uint64_t)(b >> (64 * i)), &z, inexact))
                return false;
            out |= (ir_u128)z << (64 * i);
        } else {
            uint32_t z;
            if (!lane32(kind, (uint32_t)(a >> (32 * i)), (uint32_t)(b >> (32 * i)), &z, inexact))
                return false;
            out |= (ir_u128)z << (32 * i);
        }
    }
    *r = out;
    return true;
}

/* FP and FPFLAGS come in pairs on the same operands: one evaluation serves both. */
ir_u128 ir_fp_eval(void *cpu, uint64_t how, uint64_t helper, ir_u128 a, ir_u128 b, bool flags, struct ir_fp_memo *m)
{
    if (!(m->valid && m->how == how && m->helper == helper && m->a == a && m->b == b)) {
        bool inexact;
        m->valid = true;
        m->how = how;
        m->helper = helper;
        m->a = a;
        m->b = b;
        if (ir_fp_fast(how, a, b, &m->value, &inexact)) {
            m->flags = inexact ? (ir_u128)1 << IR_FP_INEXACT_BIT(how) : 0;
        } else {
            const struct ir_helper *h = ir_helper_get((uint32_t)helper);
            m->value = h ? h->fn(cpu, a, b, how) : 0;
            m->flags = h ? h->fn(cpu, a, b, how | IR_FP_WANT_FLAGS) : 0;
        }
    }
    return flags ? m->flags : m->value;
}

ir_val ir_fp(struct ir_block *b, uint64_t how, uint32_t helper, ir_val x, ir_val y)
{
    return ir_emit(b, IR_FP, ir_fp_type(IR_FP_FORMAT(how)), x, y, IR_NONE, how, helper);
}

ir_val ir_fp_flags(struct ir_block *b, enum ir_type t, uint64_t how, uint32_t helper, ir_val x, ir_val y)
{
    return ir_emit(b, IR_FPFLAGS, t, x, y, IR_NONE, how, helper);
}
