/* fx80_log.c - the x87 exponential and logarithm instructions F2XM1, FYL2X and
 * FYL2XP1, evaluated in the 128-bit internal float (fx80_wide.c) and rounded once
 * (not subject to precision control). */
#include "fx80_wide.h"

/* Series stop after adding the first term this many binades below the sum (see fx80_trans.c). */
#define WF_SERIES_BITS 120
/* sqrt(2) in the wf layout: logarithm arguments are reduced to [sqrt(1/2), sqrt(2)). */
static const struct fx80_wconst SQRT2 = { UINT64_C(0xb504f333f9de6484), UINT64_C(0x597d89b3754abe9f), 0 };
/* FYL2XP1's direct series is used while |x| < 1/2 (its accurate domain is smaller). */
#define LOG1P_DIRECT_EXP (-2)

/* The host flags these instructions' finite nonzero results inexact even when the
 * value is exact (y * log2(2^k), F2XM1(+-1)): PE always, and UE when the result is
 * tiny (an unmasked UE is raised by the rounding itself). */
static fx80 round_inexact(struct fx80_wf v, struct fx80_env *env)
{
    uint8_t before = env->flags;
    env->flags &= (uint8_t)~FX80_PE;
    fx80 res = wf_to_fx80(v, env);
    if (!(env->flags & FX80_PE) && fx80_is_denormal(res))
        env->flags |= FX80_UE;
    env->flags |= before | FX80_PE;
    return res;
}

static bool negligible(struct fx80_wf term, struct fx80_wf sum)
{
    return wf_is_zero(term) || (!wf_is_zero(sum) && term.exp < sum.exp - WF_SERIES_BITS);
}

/* 2 * atanh(u) = ln((1+u)/(1-u)) for small |u|. */
static struct fx80_wf atanh2(struct fx80_wf u)
{
    struct fx80_wf u2 = wf_mul(u, u), pow = u, sum = u;
    for (uint64_t n = 3; !wf_is_zero(u) && n < WF_SERIES_MAX_N; n += 2) {
        pow = wf_mul(pow, u2);
        struct fx80_wf term = wf_div_small(pow, n);
        sum = wf_add(sum, term);   /* the last, negligible term still sets the sticky bit */
        if (negligible(term, sum))
            break;
    }
    sum.exp += 1;
    return sum;
}

/* log2(w) for w > 0. */
static struct fx80_wf log2_wf(struct fx80_wf w)
{
    int32_t e = w.exp;
    w.exp = 0;   /* w in [1, 2) */
    struct fx80_wf s2 = wf_const(&SQRT2);
    if (w.m > s2.m) {
        w.exp = -1;
        e++;
    }
    struct fx80_wf one = wf_from_int(1);
    struct fx80_wf ln = atanh2(wf_div(wf_sub(w, one), wf_add(w, one)));
    return wf_add(wf_from_int(e), wf_mul(ln, wf_const(&FX80_W_LOG2E)));
}

/* e^z - 1 by its series (|z| < 1). */
static struct fx80_wf expm1_series(struct fx80_wf z)
{
    struct fx80_wf term = z, sum = z;
    for (uint64_t n = 2; !wf_is_zero(z) && n < WF_SERIES_MAX_N; n++) {
        term = wf_div_small(wf_mul(term, z), n);
        sum = wf_add(sum, term);   /* the last, negligible term still sets the sticky bit */
        if (negligible(term, sum))
            break;
    }
    return sum;
}

fx80 fx80_exp2m1(fx80 a, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, a, 1, env, &r))
        return r;
    if (fx80_is_inf(a))
        return fx80_sign(a) ? fx80_make(true, FX80_EXP_BIAS, FX80_INT_BIT) : a;
    if (fx80_denormal_operands(a, a, 1, env))
        return a;
    if (fx80_is_zero(a))
        return a;
    if (fx80_exp(a) > FX80_EXP_BIAS || (fx80_exp(a) == FX80_EXP_BIAS && a.mant != FX80_INT_BIT)) {
        env->flags |= FX80_PE;   /* |x| > 1: the host returns x, flagged inexact */
        return a;
    }
    struct fx80_wf x = wf_from_fx80(a);
    /* 2^x - 1 = 2^n * 2^f - 1 with n = round(x) in -1..1, |f| <= 1/2; n = 0 keeps
     * tiny x exact-relative. */
    int32_t n = 0;
    if (x.exp >= -1) {
        fx80_u128 twice = x.m >> (126 - x.exp);   /* floor(2|x|) */
        int32_t k = (int32_t)((twice + 1) >> 1);
        n = x.neg ? -k : k;
        x = wf_sub(x, wf_from_int(n));
    }
    struct fx80_wf em1 = expm1_series(wf_mul(x, wf_const(&FX80_W_LN2)));
    if (n != 0) {   /* 2^n (1 + em1) - 1 */
        struct fx80_wf p = wf_add(wf_from_int(1), em1);
        p.exp += n;
        em1 = wf_sub(p, wf_from_int(1));
    }
    return round_inexact(em1, env);
}

static fx80 signed_inf(bool neg) { return fx80_make(neg, FX80_EXP_MAX, FX80_INT_BIT); }

static bool is_one(fx80 x) { return fx80_exp(x) == FX80_EXP_BIAS && x.mant == FX80_INT_BIT; }

/* FYL2X's invalid operand combinations (after NaNs). */
static bool ylog2x_invalid(fx80 y, fx80 x)
{
    if (fx80_sign(x) && !fx80_is_zero(x))
        return true;   /* log of a negative number */
    if (fx80_is_zero(y))
        return fx80_is_zero(x) || fx80_is_inf(x);
    return fx80_is_inf(y) && is_one(x);
}

/* FYL2X's special operands (after NaNs, invalid and DE); true when they decide. */
static bool ylog2x_special(fx80 y, fx80 x, fx80 *out)
{
    bool ny = fx80_sign(y);
    bool below_one = fx80_exp(x) < FX80_EXP_BIAS;
    if (fx80_is_zero(x)) {   /* log2(0) = -inf, y infinite */
        *out = signed_inf(!ny);
        return true;
    }
    if (fx80_is_inf(x) || fx80_is_inf(y)) {
        *out = signed_inf(ny ^ (fx80_is_inf(y) && below_one));
        return true;
    }
    if (fx80_is_zero(y) || is_one(x)) {
        *out = fx80_make(ny ^ below_one, 0, 0);
        return true;
    }
    return false;
}

/* For x = 2^k with k < 0 the product y * k is exact, but the host rounds it as if
 * its magnitude were slightly smaller (its log2 of such x is a hair short of k, as
 * directed roundings show); one unit off at 2^-127 reproduces that. For k > 0 the
 * host's product is exact. */
fx80 fx80_ylog2x(fx80 y, fx80 x, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(y, x, 2, env, &r))
        return r;
    if (ylog2x_invalid(y, x))
        return fx80_invalid(env);
    if (fx80_is_zero(x) && !fx80_is_inf(y))   /* ZE outranks DE */
        return fx80_raise_unmasked(env, FX80_ZE) ? x : signed_inf(!fx80_sign(y));
    if (fx80_denormal_operands(y, x, 2, env))
        return x;
    if (ylog2x_special(y, x, &r))
        return r;
    struct fx80_wf p = wf_mul(wf_from_fx80(y), log2_wf(wf_from_fx80(x)));
    struct fx80_norm nx = fx80_normalise(x);
    if (nx.mant == FX80_INT_BIT && nx.exp < FX80_EXP_BIAS && !wf_is_zero(p))
        p = wf_norm(p.neg, p.exp, p.m - 1);   /* see below */
    return round_inexact(p, env);
}

fx80 fx80_ylog2xp1(fx80 y, fx80 x, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(y, x, 2, env, &r))
        return r;
    bool ny = fx80_sign(y), nx = fx80_sign(x);
    struct fx80_wf wx = fx80_is_inf(x) ? wf_from_int(nx ? -2 : 2) : wf_from_fx80(x);
    struct fx80_wf one = wf_from_int(1), sum = wf_add(one, wx);
    bool below_domain = sum.neg || wf_is_zero(sum);   /* 1 + x <= 0 */
    if (below_domain || (fx80_is_zero(x) && fx80_is_inf(y)) || (fx80_is_inf(x) && fx80_is_zero(y)))
        return fx80_invalid(env);
    if (fx80_denormal_operands(y, x, 2, env))
        return x;
    if (fx80_is_inf(y) || fx80_is_inf(x))
        return signed_inf(ny ^ nx);
    if (fx80_is_zero(y) || fx80_is_zero(x))
        return fx80_make(ny ^ nx, 0, 0);
    struct fx80_wf l;
    if (wx.exp < LOG1P_DIRECT_EXP + 1) {   /* ln(1+x) = 2 atanh(x / (2 + x)) */
        struct fx80_wf two = wf_from_int(2);
        l = wf_mul(atanh2(wf_div(wx, wf_add(two, wx))), wf_const(&FX80_W_LOG2E));
    } else {
        l = log2_wf(sum);
    }
    return round_inexact(wf_mul(wf_from_fx80(y), l), env);
}
