/* fx80_misc.c - the x87 operations that are not plain arithmetic: comparison
 * (FCOM/FUCOM), the constant loads, FRNDINT, FSCALE and FXTRACT. None of them is
 * subject to precision control (only FADD/FSUB/FMUL/FDIV/FSQRT are). */
#include "fx80_int.h"

/* FSCALE factors beyond this already overflow/underflow any finite operand, even
 * after the unmasked-response bias adjustment. */
#define FX80_SCALE_CLAMP (1 << 20)

/* Condition codes are written even under an unmasked IE/DE (the host sets them to
 * "unordered" or the comparison result), so compare never reports no_result. */
static enum fx80_cmp compare(fx80 a, fx80 b, bool quiet, struct fx80_env *env);

enum fx80_cmp fx80_compare(fx80 a, fx80 b, bool quiet, struct fx80_env *env)
{
    bool no_result = env->no_result;
    enum fx80_cmp c = compare(a, b, quiet, env);
    env->no_result = no_result;
    return c;
}

static enum fx80_cmp compare(fx80 a, fx80 b, bool quiet, struct fx80_env *env)
{
    env->round_up = false;
    if (fx80_is_unsupported(a) || fx80_is_unsupported(b)) {
        fx80_raise_unmasked(env, FX80_IE);
        return FX80_UNORDERED;
    }
    if (fx80_is_nan(a) || fx80_is_nan(b)) {
        if (!quiet || fx80_is_snan(a) || fx80_is_snan(b))
            fx80_raise_unmasked(env, FX80_IE);
        return FX80_UNORDERED;
    }
    fx80_denormal_operands(a, b, 2, env);
    bool za = fx80_is_zero(a), zb = fx80_is_zero(b);
    if (za && zb)
        return FX80_EQ;
    bool sa = fx80_sign(a), sb = fx80_sign(b);
    if (za || zb || sa != sb) {
        bool a_less = za ? !sb : sa;
        return a_less ? FX80_LT : FX80_GT;
    }
    struct fx80_norm x = fx80_normalise(a), y = fx80_normalise(b);
    if (x.exp == y.exp && x.mant == y.mant)
        return FX80_EQ;
    bool mag_less = x.exp < y.exp || (x.exp == y.exp && x.mant < y.mant);
    return (mag_less != sa) ? FX80_LT : FX80_GT;
}

/* Each constant as a 128-bit truncated significand (integer bit at bit 127) and the
 * unbiased exponent of its integer bit; the bits below 128 are never all zero, so a
 * sticky bit stands for them. Values from log2(10), log2(e), pi, log10(2), ln(2). */
static const struct {
    uint64_t hi, lo;
    int exp;
} FX80_CONSTS[] = {
    [FX80_L2T] = { UINT64_C(0xd49a784bcd1b8afe), UINT64_C(0x492bf6ff4dafdb4c), 1 },
    [FX80_L2E] = { UINT64_C(0xb8aa3b295c17f0bb), UINT64_C(0xbe87fed0691d3e88), 0 },
    [FX80_PI] = { UINT64_C(0xc90fdaa22168c234), UINT64_C(0xc4c6628b80dc1cd1), 1 },
    [FX80_LG2] = { UINT64_C(0x9a209a84fbcff798), UINT64_C(0x8f8959ac0b7c9178), -2 },
    [FX80_LN2] = { UINT64_C(0xb17217f7d1cf79ab), UINT64_C(0xc9e3b39803f2f6af), -1 },
};

fx80 fx80_constant(enum fx80_const k, struct fx80_env *env)
{
    env->round_up = false;
    if (k == FX80_ONE)
        return fx80_make(false, FX80_EXP_BIAS, FX80_INT_BIT);
    if (k == FX80_ZERO || (unsigned)k > FX80_LN2)   /* out-of-range selectors load +0 */
        return fx80_make(false, 0, 0);
    /* Rounded per RC (not PC); loading a constant raises no precision exception
     * and leaves C1 clear. */
    struct fx80_env quiet = *env;
    fx80_u128 sig = ((fx80_u128)FX80_CONSTS[k].hi << 64) | FX80_CONSTS[k].lo | 1;
    return fx80_round_pack(false, FX80_CONSTS[k].exp + FX80_EXP_BIAS, sig, FX80_PREC_FULL, &quiet);
}

fx80 fx80_round_int(fx80 a, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, a, 1, env, &r))
        return r;
    if (fx80_is_inf(a) || fx80_is_zero(a))
        return a;
    if (fx80_denormal_operands(a, a, 1, env))
        return a;
    struct fx80_norm x = fx80_normalise(a);
    int32_t e = x.exp - FX80_EXP_BIAS;
    if (e >= 63)
        return a;
    fx80_u128 sig = fx80_shr_sticky((fx80_u128)x.mant << 64, (unsigned)(63 - e));
    bool inexact, up;
    uint64_t v = fx80_round_bits(sig, 64, x.sign, env->rc, &inexact, &up);
    if (inexact) {
        env->flags |= FX80_PE;
        env->round_up = up;
    }
    r = fx80_from_i64((int64_t)v);   /* v <= 2^63 fits as a magnitude below */
    if (v >> 63)
        r = fx80_make(false, FX80_EXP_BIAS + 63, FX80_INT_BIT);
    r.se |= x.sign ? FX80_SIGN : 0;
    return r;
}

/* trunc(b) for FSCALE, clamped to what can matter. */
static int32_t scale_factor(fx80 b)
{
    if (fx80_is_zero(b))
        return 0;
    struct fx80_norm y = fx80_normalise(b);
    int32_t e = y.exp - FX80_EXP_BIAS;
    if (e < 0)
        return 0;
    int32_t n = e > 30 ? FX80_SCALE_CLAMP : (int32_t)(y.mant >> (63 - e));
    if (n > FX80_SCALE_CLAMP)
        n = FX80_SCALE_CLAMP;
    return y.sign ? -n : n;
}

fx80 fx80_scale(fx80 a, fx80 b, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, b, 2, env, &r))
        return r;
    if (fx80_is_inf(b)) {
        bool neg = fx80_sign(b);
        if ((fx80_is_zero(a) && !neg) || (fx80_is_inf(a) && neg))
            return fx80_invalid(env);
        if (fx80_denormal_operands(a, b, 2, env))
            return a;
        if (fx80_is_zero(a) || fx80_is_inf(a))
            return a;
        return neg ? fx80_make(fx80_sign(a), 0, 0) : fx80_make(fx80_sign(a), FX80_EXP_MAX, FX80_INT_BIT);
    }
    if (fx80_denormal_operands(a, b, 2, env))
        return a;
    if (fx80_is_zero(a) || fx80_is_inf(a))
        return a;
    if (fx80_is_zero(b))   /* a comes back untouched, even a denormal with UE unmasked */
        return fx80_canonical(a);
    int32_t n = scale_factor(b);
    struct fx80_norm x = fx80_normalise(a);
    return fx80_round_pack(x.sign, x.exp + n, (fx80_u128)x.mant << 64, FX80_PREC_FULL, env);
}

void fx80_xtract(fx80 a, fx80 *exponent, fx80 *significand, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, a, 1, env, &r)) {
        *exponent = *significand = r;
        return;
    }
    if (fx80_is_zero(a)) {
        fx80_raise_unmasked(env, FX80_ZE);
        *exponent = fx80_make(true, FX80_EXP_MAX, FX80_INT_BIT);
        *significand = a;
        return;
    }
    if (fx80_is_inf(a)) {
        *exponent = fx80_make(false, FX80_EXP_MAX, FX80_INT_BIT);
        *significand = a;
        return;
    }
    if (fx80_denormal_operands(a, a, 1, env)) {
        *exponent = *significand = a;
        return;
    }
    struct fx80_norm x = fx80_normalise(a);
    *exponent = fx80_from_i64(x.exp - FX80_EXP_BIAS);
    *significand = fx80_make(x.sign, FX80_EXP_BIAS, x.mant);
}
