/* fx80_trans.c - the x87 trigonometric instructions FSIN/FCOS/FPTAN/FSINCOS and
 * FPATAN, evaluated in the 128-bit internal float (fx80_wide.c) and rounded once.
 * Argument reduction uses the x87's own 66-bit approximation of pi, so results
 * near multiples of pi/2 carry the same (large) error the hardware's do. */
#include "fx80_wide.h"

/* pi/2 as the x87 reduces with it: the 66-bit pi 0xC90FDAA22168C234C * 2^-66,
 * halved, as an integer in units of 2^-65. */
#define FX80_PIO2_66 (((fx80_u128)UINT64_C(0x3) << 64) | UINT64_C(0x243F6A8885A308D3))
#define FX80_PIO2_UNIT_EXP 62   /* wf exponent for a value in units of 2^-65 */
/* FSIN/FCOS/FPTAN accept |x| < 2^63 (exponent field below bias + 63). */
#define FX80_TRIG_LIMIT_EXP (FX80_EXP_BIAS + 63)
/* Below 2^-68 the host returns sin x = tan x = x and cos x = 1 as they are. */
#define FX80_TRIG_TINY_EXP (FX80_EXP_BIAS - 68)
/* Series stop after adding the first term this many binades below the sum: it
 * only sets the sticky bit, on the side the (alternating or positive) tail lies. */
#define WF_SERIES_BITS 120
#define ATAN_TABLE_STEPS 16

static bool negligible(struct fx80_wf term, struct fx80_wf sum)
{
    return wf_is_zero(term) || (!wf_is_zero(sum) && term.exp < sum.exp - WF_SERIES_BITS);
}

/* sin(r) (odd = true) or cos(r) for |r| <= pi/4 by the Taylor series: the sum of
 * (-1)^j r^(2j+odd) / (2j+odd)!. */
static struct fx80_wf trig_series(struct fx80_wf r, bool odd)
{
    struct fx80_wf r2 = wf_mul(r, r), term = odd ? r : wf_from_int(1), sum = term;
    for (uint64_t n = odd ? 2 : 1; !wf_is_zero(r) && n < WF_SERIES_MAX_N; n += 2) {
        term = wf_neg(wf_div_small(wf_mul(term, r2), n * (n + 1)));
        sum = wf_add(sum, term);   /* the last, negligible term still sets the sticky bit */
        if (negligible(term, sum))
            break;
    }
    return sum;
}

/* |x| = k * pi66/2 + r with |r| <= pi66/4 (x finite, |x| < 2^63); returns k mod 4. */
static unsigned reduce(fx80 a, struct fx80_wf *r)
{
    struct fx80_norm x = fx80_normalise(a);
    int32_t e = x.exp - FX80_EXP_BIAS;
    if (e < -1) {   /* |x| < 1/2: nothing to reduce */
        *r = wf_from_fx80(a);
        r->neg = false;
        return 0;
    }
    fx80_u128 big = (fx80_u128)x.mant << (e + 2);   /* |x| in units of 2^-65 */
    fx80_u128 k = big / FX80_PIO2_66, rem = big % FX80_PIO2_66;
    bool neg = false;
    if (rem > FX80_PIO2_66 / 2) {
        k++;
        rem = FX80_PIO2_66 - rem;
        neg = true;
    }
    *r = wf_norm(neg, FX80_PIO2_UNIT_EXP, rem);
    return (unsigned)(k & 3);
}

enum trig_fn { TRIG_SIN, TRIG_COS, TRIG_TAN };

/* Operand checks shared by FSIN/FCOS/FPTAN; true when they decide the result. */
static bool trig_special(fx80 a, bool *out_of_range, struct fx80_env *env, fx80 *out)
{
    env->round_up = false;
    *out_of_range = false;
    if (fx80_nan_operands(a, a, 1, env, out))
        return true;
    if (fx80_is_inf(a)) {
        *out = fx80_invalid(env);
        return true;
    }
    if (fx80_exp(a) >= FX80_TRIG_LIMIT_EXP) {
        *out_of_range = true;
        *out = a;
        return true;
    }
    if (fx80_denormal_operands(a, a, 1, env)) {
        *out = a;
        return true;
    }
    return false;
}

static fx80 trig(fx80 a, enum trig_fn fn, bool *out_of_range, struct fx80_env *env)
{
    fx80 r;
    if (trig_special(a, out_of_range, env, &r))
        return r;
    if (fx80_is_zero(a))
        return fn == TRIG_COS ? fx80_make(false, FX80_EXP_BIAS, FX80_INT_BIT) : a;
    if (fx80_exp(a) < FX80_TRIG_TINY_EXP) {
        /* The host returns x (sin, tan) or 1 (cos) unrounded, with PE (and UE
         * for a denormal result) and C1 clear, whatever the rounding mode. */
        env->flags |= FX80_PE;
        if (fn == TRIG_COS)
            return fx80_make(false, FX80_EXP_BIAS, FX80_INT_BIT);
        if (a.mant & FX80_INT_BIT)
            return fx80_canonical(a);
        env->flags |= FX80_UE;   /* a denormal result: tiny and inexact */
        if (env->masks & FX80_UE)
            return a;
        struct fx80_norm x = fx80_normalise(a);   /* unmasked: the bias-adjusted x */
        return fx80_make(x.sign, (unsigned)(x.exp + FX80_BIAS_ADJUST), x.mant);
    }
    struct fx80_wf red, v;
    unsigned k = reduce(a, &red);
    switch (fn) {   /* only the series the quadrant needs (both for tan) */
    case TRIG_SIN:
        v = trig_series(red, !(k & 1));
        if (k & 2)
            v = wf_neg(v);
        v.neg ^= fx80_sign(a);
        break;
    case TRIG_COS:
        v = trig_series(red, k & 1);
        if (((k + 1) & 2) != 0)   /* quadrants 1 and 2: -sin r, -cos r */
            v = wf_neg(v);
        break;
    default: {
        struct fx80_wf s = trig_series(red, true), c = trig_series(red, false);
        v = (k & 1) ? wf_neg(wf_div(c, s)) : wf_div(s, c);
        v.neg ^= fx80_sign(a);
        v.m |= 1;   /* the sticky bits of s and c can cancel in the quotient; tan is irrational */
        break;
    }
    }
    return wf_to_fx80(v, env);
}

fx80 fx80_sin(fx80 a, bool *out_of_range, struct fx80_env *env) { return trig(a, TRIG_SIN, out_of_range, env); }
fx80 fx80_cos(fx80 a, bool *out_of_range, struct fx80_env *env) { return trig(a, TRIG_COS, out_of_range, env); }
fx80 fx80_tan(fx80 a, bool *out_of_range, struct fx80_env *env) { return trig(a, TRIG_TAN, out_of_range, env); }

/* atan(k/16), k = 1..16. */
static const struct fx80_wconst ATAN_TABLE[ATAN_TABLE_STEPS] = {
    { UINT64_C(0xffaaddb967ef4e36), UINT64_C(0xcb2792dc0e2e0d51), -5 },
    { UINT64_C(0xfeadd4d5617b6e32), UINT64_C(0xc897989f3e888ef7), -4 },
    { UINT64_C(0xbdcbda5e72d81134), UINT64_C(0x7b0b4f881c9c7487), -3 },
    { UINT64_C(0xfadbafc96406eb15), UINT64_C(0x6dc79ef5f7a217e5), -3 },
    { UINT64_C(0x9b13b9b83f5e5e69), UINT64_C(0xc5abb498d27af328), -2 },
    { UINT64_C(0xb7b0ca0f26f78473), UINT64_C(0x8aa32122dcfe4483), -2 },
    { UINT64_C(0xd327761e611fe5b6), UINT64_C(0x427c95e9001e7136), -2 },
    { UINT64_C(0xed63382b0dda7b45), UINT64_C(0x6fe445ecbc3a8d03), -2 },
    { UINT64_C(0x832bf4a6d9867e2a), UINT64_C(0x4b6a09cb61a515c0), -1 },
    { UINT64_C(0x8f005d5ef7f59f9b), UINT64_C(0x5c835e1665c43747), -1 },
    { UINT64_C(0x9a2f80e671bdda20), UINT64_C(0x4226f8e2204ff3bc), -1 },
    { UINT64_C(0xa4bc7d1934f70924), UINT64_C(0x19a87f2a457dac9e), -1 },
    { UINT64_C(0xaeac4c38b4d8c080), UINT64_C(0x14725e2f3e52070a), -1 },
    { UINT64_C(0xb8053e2bc2319e73), UINT64_C(0xcb2da55210a4443d), -1 },
    { UINT64_C(0xc0ce85b8ac526640), UINT64_C(0x89dd62c46e92fa24), -1 },
    { UINT64_C(0xc90fdaa22168c234), UINT64_C(0xc4c6628b80dc1cd1), -1 },
};

/* atan(t) for 0 <= t <= 1: atan(c) from the table plus atan((t-c)/(1+tc)), c = k/16. */
static struct fx80_wf atan_unit(struct fx80_wf t)
{
    struct fx80_wf sixteen_t = t;
    sixteen_t.exp += 4;
    unsigned k = 0;
    if (!wf_is_zero(t) && sixteen_t.exp >= -1) {   /* k = round(16t) = (floor(32t) + 1) / 2 */
        unsigned floor32 = (unsigned)(sixteen_t.m >> (126 - sixteen_t.exp));
        k = (floor32 + 1) >> 1;
        if (k > ATAN_TABLE_STEPS)
            k = ATAN_TABLE_STEPS;
    }
    struct fx80_wf u = t, base = { false, 0, 0 };
    if (k) {
        struct fx80_wf c = wf_div_small(wf_from_int(k), ATAN_TABLE_STEPS);
        u = wf_div(wf_sub(t, c), wf_add(wf_from_int(1), wf_mul(t, c)));
        base = wf_const(&ATAN_TABLE[k - 1]);
    }
    struct fx80_wf u2 = wf_mul(u, u), pow = u, sum = u;
    for (uint64_t n = 3; !wf_is_zero(u) && n < WF_SERIES_MAX_N; n += 2) {
        pow = wf_neg(wf_mul(pow, u2));
        struct fx80_wf term = wf_div_small(pow, n);
        sum = wf_add(sum, term);   /* the last, negligible term still sets the sticky bit */
        if (negligible(term, sum))
            break;
    }
    return wf_add(base, sum);
}

/* The exact special results of FPATAN: multiples of pi/4 with y's sign. */
static fx80 atan_multiple(bool neg, unsigned quarters, struct fx80_env *env)
{
    if (quarters == 0)
        return fx80_make(neg, 0, 0);
    struct fx80_wf v = wf_const(&FX80_W_PI);
    v.exp -= 2;   /* pi/4 */
    if (quarters == 3)
        v = wf_add(v, wf_const(&FX80_W_PI_2));
    else if (quarters != 1)
        v.exp += quarters / 2;   /* 2 -> pi/2, 4 -> pi */
    v.neg = neg;
    return wf_to_fx80(v, env);
}

fx80 fx80_atan2(fx80 y, fx80 x, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(y, x, 2, env, &r))
        return r;
    bool ny = fx80_sign(y), nx = fx80_sign(x);
    bool denormal_unmasked = fx80_denormal_operands(y, x, 2, env);
    if (denormal_unmasked)
        return x;
    if (fx80_is_inf(y))
        return atan_multiple(ny, fx80_is_inf(x) ? (nx ? 3 : 1) : 2, env);
    if (fx80_is_zero(y))
        return atan_multiple(ny, nx ? 4 : 0, env);
    if (fx80_is_inf(x))
        return atan_multiple(ny, nx ? 4 : 0, env);
    if (fx80_is_zero(x))
        return atan_multiple(ny, 2, env);
    struct fx80_wf wy = wf_from_fx80(y), wx = wf_from_fx80(x);
    wy.neg = wx.neg = false;
    bool swap = wy.exp > wx.exp || (wy.exp == wx.exp && wy.m > wx.m);
    struct fx80_wf v = atan_unit(swap ? wf_div(wx, wy) : wf_div(wy, wx));
    if (swap)
        v = wf_sub(wf_const(&FX80_W_PI_2), v);
    if (nx)
        v = wf_sub(wf_const(&FX80_W_PI), v);
    v.neg = ny;
    return wf_to_fx80(v, env);
}
