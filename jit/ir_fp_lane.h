/* ir_fp_lane.h - one lane of the IR's FP ops in the ordinary case (ir.h), inline for
 * the interpreter's scalar fast path and jit/ir_fp.c: the IEEE round-to-nearest result
 * and whether it was inexact, or false when an operand or the result is not ordinary.
 * The compiled tier emits the same computation (jit/llvm/emit_fp.c). */
#ifndef ANYHV_JIT_IR_FP_LANE_H
#define ANYHV_JIT_IR_FP_LANE_H

#include <math.h>
#include <string.h>

#include "jit/ir.h"

#define F64_EXP_SHIFT 52
#define F64_EXP_MASK 0x7ffu
#define F64_ORD_LO 56u      /* p + 3 */
#define F64_ORD_HI 0x7fcu   /* emax - 2 */
#define F32_EXP_SHIFT 23
#define F32_EXP_MASK 0xffu
#define F32_ORD_LO 27u
#define F32_ORD_HI 0xfcu

static inline bool ir_fp_ord64(uint64_t x)
{
    unsigned e = (unsigned)(x >> F64_EXP_SHIFT) & F64_EXP_MASK;
    return e >= F64_ORD_LO && e <= F64_ORD_HI;
}

static inline bool ir_fp_ord32(uint32_t x)
{
    unsigned e = (x >> F32_EXP_SHIFT) & F32_EXP_MASK;
    return e >= F32_ORD_LO && e <= F32_ORD_HI;
}

static inline double ir_fp_d(uint64_t x) { double d; memcpy(&d, &x, 8); return d; }
static inline uint64_t ir_fp_bits_d(double d) { uint64_t x; memcpy(&x, &d, 8); return x; }
static inline float ir_fp_f(uint32_t x) { float f; memcpy(&f, &x, 4); return f; }
static inline uint32_t ir_fp_bits_f(float f) { uint32_t x; memcpy(&x, &f, 4); return x; }

/* One binary64 lane; false when it is not ordinary. */
static inline bool ir_fp_lane64(unsigned kind, uint64_t a, uint64_t b, uint64_t *r, bool *inexact)
{
    if (!ir_fp_ord64(a) || (kind != IR_FP_SQRT && !ir_fp_ord64(b)))
        return false;
    double x = ir_fp_d(a), y = ir_fp_d(b), z, e;
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
    *r = ir_fp_bits_d(z);
    *inexact |= e != 0;
    return ir_fp_ord64(*r);
}

static inline bool ir_fp_lane32(unsigned kind, uint32_t a, uint32_t b, uint32_t *r, bool *inexact)
{
    if (!ir_fp_ord32(a) || (kind != IR_FP_SQRT && !ir_fp_ord32(b)))
        return false;
    float x = ir_fp_f(a), y = ir_fp_f(b), z, e;
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
    *r = ir_fp_bits_f(z);
    *inexact |= e != 0;
    return ir_fp_ord32(*r);
}

#endif /* ANYHV_JIT_IR_FP_LANE_H */
