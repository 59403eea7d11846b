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

/* The compare-like kinds (ir.h): a lane is quiet when it is a zero, a normal number
 * or an infinity (its magnitude 0 or in [smallest normal, infinity]). */
#define F64_SIGN (1ull << 63)
#define F64_MIN_NORMAL 0x0010000000000000ull
#define F64_INF 0x7ff0000000000000ull
#define F32_SIGN (1u << 31)
#define F32_MIN_NORMAL 0x00800000u
#define F32_INF 0x7f800000u

static inline bool ir_fp_quiet64(uint64_t x)
{
    uint64_t m = x & ~F64_SIGN;
    return m == 0 || m - F64_MIN_NORMAL <= F64_INF - F64_MIN_NORMAL;
}

static inline bool ir_fp_quiet32(uint32_t x)
{
    uint32_t m = x & ~F32_SIGN;
    return m == 0 || m - F32_MIN_NORMAL <= F32_INF - F32_MIN_NORMAL;
}

/* CMP's predicate (bits 2:0 of aux) on ordered operands. */
static inline bool ir_fp_pred(unsigned aux, bool lt, bool eq)
{
    switch (aux & 7) {
    case 0: return eq;
    case 1: return lt;
    case 2: return lt || eq;
    case 3: return false;
    case 4: return !eq;
    case 5: return !lt;
    case 6: return !(lt || eq);
    default: return true;
    }
}

/* One lane of a compare-like kind on the lane bits a, b (w bits: 32 or 64); false when
 * the operands are not in its ordinary case. */
static inline bool ir_fp_cmp_lane(unsigned kind, unsigned aux, unsigned w, uint64_t a, uint64_t b, uint64_t *r)
{
    bool lt, eq;
    if (w == 64) {
        if (!ir_fp_quiet64(a) || !ir_fp_quiet64(b))
            return false;
        lt = ir_fp_d(a) < ir_fp_d(b);
        eq = ir_fp_d(a) == ir_fp_d(b);
    } else {
        if (!ir_fp_quiet32((uint32_t)a) || !ir_fp_quiet32((uint32_t)b))
            return false;
        lt = ir_fp_f((uint32_t)a) < ir_fp_f((uint32_t)b);
        eq = ir_fp_f((uint32_t)a) == ir_fp_f((uint32_t)b);
    }
    uint64_t sign = w == 64 ? F64_SIGN : F32_SIGN;
    switch (kind) {
    case IR_FP_CMP:
        *r = ir_fp_pred(aux, lt, eq) ? (w == 64 ? ~0ull : 0xffffffffull) : 0;
        return true;
    case IR_FP_REL:
        *r = lt ? IR_FP_REL_LT : eq ? IR_FP_REL_EQ : IR_FP_REL_GT;
        return true;
    default:   /* MIN, MAX: two zeros are left to the guests' conventions */
        if (((a | b) & ~sign) == 0)
            return false;
        *r = (kind == IR_FP_MIN ? lt : !(lt || eq)) ? a : b;
        return true;
    }
}

/* One lane of a conversion (ir.h): n the integer's width, x the source lane's bits;
 * false when a float source is out of the ordinary range. */
static inline bool ir_fp_cvt_lane(unsigned kind, unsigned aux, bool f64, unsigned n, uint64_t x, uint64_t *r,
                                  bool *inexact)
{
    const double two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
    if (kind == IR_FP_SITOF || kind == IR_FP_UITOF) {
        bool s = kind == IR_FP_SITOF;
        int64_t sv = n == 64 ? (int64_t)x : (int32_t)(uint32_t)x;
        uint64_t uv = n == 64 ? x : (uint32_t)x;
        if (f64) {
            double d = s ? (double)sv : (double)uv;
            *inexact |= s ? (d >= two63 || (int64_t)d != sv) : (d >= two64 || (uint64_t)d != uv);
            *r = ir_fp_bits_d(d);
        } else {
            float f = s ? (float)sv : (float)uv;
            *inexact |= s ? (f >= (float)two63 || (int64_t)f != sv) : (f >= (float)two64 || (uint64_t)f != uv);
            *r = ir_fp_bits_f(f);
        }
        return true;
    }
    bool s = kind == IR_FP_FTOSI, nearest = aux & IR_FP_CVT_NEAREST;
    unsigned e = f64 ? (unsigned)(x >> F64_EXP_SHIFT) & F64_EXP_MASK : ((uint32_t)x >> F32_EXP_SHIFT) & F32_EXP_MASK;
    unsigned bias = f64 ? 1023 : 127;
    bool neg = f64 ? (x >> 63) != 0 : ((uint32_t)x >> 31) != 0;
    if (e >= bias + n - s - nearest || (!s && neg))
        return false;
    double d = f64 ? ir_fp_d(x) : ir_fp_f((uint32_t)x), t = trunc(d);
    if (nearest && (fabs(d - t) > 0.5 || (fabs(d - t) == 0.5 && fmod(t, 2.0) != 0)))
        t += d < t ? -1 : 1;
    *inexact |= t != d;
    uint64_t v = s ? (uint64_t)(int64_t)t : (uint64_t)t;
    *r = n == 64 ? v : v & 0xffffffffull;
    return true;
}

/* FMA (ir.h): r = x*y + z rounded once, the product and/or z negated (aux). With x,
 * y, z, the rounded product and r ordinary, the exact value is r + (gamma + t), where
 * t and gamma come from an error-free transform (Boldo and Muller's ErrFma: the
 * product's remainder by fma, two TwoSums, two exact differences), so the result is
 * exact iff gamma == -t. */
#define IR_FP_FMA_LANE(T, FMA, ORD, BITS, VAL, x, y, z, aux, r, inexact)                    \
    do {                                                                                    \
        T a_ = VAL(x), b_ = VAL(y), c_ = VAL(z);                                            \
        if ((aux) & IR_FP_FMA_NEG_PROD)                                                     \
            a_ = -a_;                                                                       \
        if ((aux) & IR_FP_FMA_NEG_ADD)                                                      \
            c_ = -c_;                                                                       \
        T r1 = FMA(a_, b_, c_), u1 = a_ * b_, u2 = FMA(a_, b_, -u1);                        \
        if (!ORD(BITS(u1)) || !ORD(BITS(r1)))                                               \
            return false;                                                                   \
        T al = c_ + u2, bb = al - c_, t = (c_ - (al - bb)) + (u2 - bb);     /* TwoSum(z, u2) */ \
        T be = u1 + al, bv = be - u1, be2 = (u1 - (be - bv)) + (al - bv);   /* TwoSum(u1, al) */ \
        T gamma = (be - r1) + be2;                                                          \
        *(inexact) |= gamma != -t;                                                          \
        *(r) = BITS(r1);                                                                    \
        return true;                                                                        \
    } while (0)

static inline bool ir_fp_fma_lane(unsigned aux, bool f64, uint64_t x, uint64_t y, uint64_t z, uint64_t *r,
                                  bool *inexact)
{
    if (f64) {
        if (!ir_fp_ord64(x) || !ir_fp_ord64(y) || !ir_fp_ord64(z))
            return false;
        IR_FP_FMA_LANE(double, fma, ir_fp_ord64, ir_fp_bits_d, ir_fp_d, x, y, z, aux, r, inexact);
    }
    if (!ir_fp_ord32((uint32_t)x) || !ir_fp_ord32((uint32_t)y) || !ir_fp_ord32((uint32_t)z))
        return false;
    IR_FP_FMA_LANE(float, fmaf, ir_fp_ord32, ir_fp_bits_f, ir_fp_f, (uint32_t)x, (uint32_t)y, (uint32_t)z, aux, r,
                   inexact);
}

#endif /* ANYHV_JIT_IR_FP_LANE_H */
