/* fx80_core.c - the core of software x87 arithmetic: rounding a wide exact result
 * to the precision control and the 15-bit exponent range with the x87's masked and
 * unmasked overflow/underflow responses, NaN propagation and operand classes. */
#include "fx80_int.h"

#define FX80_INDEFINITE_MANT UINT64_C(0xC000000000000000)
#define FX80_MAX_EXP_FINITE (FX80_EXP_MAX - 1)

fx80 fx80_indefinite(void)
{
    return fx80_make(true, FX80_EXP_MAX, FX80_INDEFINITE_MANT);
}

unsigned fx80_prec_bits(unsigned pc)
{
    switch (pc) {
    case FX80_P24: return 24;
    case FX80_P53: return 53;
    default: return 64;   /* P64 and the reserved encoding */
    }
}

struct fx80_norm fx80_normalise(fx80 a)
{
    struct fx80_norm n = { .sign = fx80_sign(a), .exp = (int32_t)fx80_exp(a), .mant = a.mant };
    if (n.exp == 0)
        n.exp = 1;   /* denormals share the smallest normal exponent */
    int lz = n.mant ? __builtin_clzll(n.mant) : 0;
    n.mant <<= lz;
    n.exp -= lz;
    return n;
}

bool fx80_raise_unmasked(struct fx80_env *env, unsigned flag)
{
    env->flags |= (uint8_t)flag;
    if (env->masks & flag)
        return false;
    env->no_result = true;
    return true;
}

fx80 fx80_invalid(struct fx80_env *env)
{
    fx80_raise_unmasked(env, FX80_IE);
    return fx80_indefinite();
}

fx80 fx80_exact_zero(struct fx80_env *env)
{
    return fx80_make(env->rc == FX80_RD, 0, 0);
}

/* The x87's choice between two NaNs of the same kind: the larger significand; with
 * equal significands the positive one, else the first operand (test nan_pairs). */
static fx80 pick_nan(fx80 a, fx80 b)
{
    uint64_t fa = a.mant & ~FX80_QUIET_BIT, fb = b.mant & ~FX80_QUIET_BIT;
    if (fa != fb)
        return fa > fb ? a : b;
    return a.se <= b.se ? a : b;
}

bool fx80_nan_operands(fx80 a, fx80 b, int n, struct fx80_env *env, fx80 *out)
{
    bool bad = fx80_is_unsupported(a) || (n > 1 && fx80_is_unsupported(b));
    bool an = fx80_is_nan(a), bn = n > 1 && fx80_is_nan(b);
    if (bad) {
        *out = fx80_invalid(env);
        return true;
    }
    if (!an && !bn)
        return false;
    if (fx80_is_snan(a) || (bn && fx80_is_snan(b)))
        fx80_raise_unmasked(env, FX80_IE);
    fx80 r;
    if (an && bn) {
        bool aq = !fx80_is_snan(a), bq = !fx80_is_snan(b);
        r = aq != bq ? (aq ? a : b) : pick_nan(a, b);
    } else {
        r = an ? a : b;
    }
    r.mant |= FX80_QUIET_BIT;
    *out = r;
    return true;
}

bool fx80_denormal_operands(fx80 a, fx80 b, int n, struct fx80_env *env)
{
    if (fx80_is_denormal(a) || (n > 1 && fx80_is_denormal(b)))
        return fx80_raise_unmasked(env, FX80_DE);
    return false;
}

uint64_t fx80_round_bits(fx80_u128 sig, unsigned prec, bool sign, unsigned rc, bool *inexact,
                         bool *up)
{
    unsigned drop = 128 - prec;
    fx80_u128 half = (fx80_u128)1 << (drop - 1);
    fx80_u128 rest = sig & (((fx80_u128)1 << drop) - 1);
    uint64_t kept = (uint64_t)(sig >> drop);
    *inexact = rest != 0;
    switch (rc) {
    case FX80_RN: *up = rest > half || (rest == half && (kept & 1)); break;
    case FX80_RD: *up = rest != 0 && sign; break;
    case FX80_RU: *up = rest != 0 && !sign; break;
    default: *up = false; break;
    }
    return kept + *up;   /* may carry to 2^prec (only 2^64 overflows uint64: handled by caller) */
}

/* Round a normalised significand; returns the 64-bit significand and bumps *exp on carry. */
static uint64_t round_normal(fx80_u128 sig, int32_t *exp, unsigned prec, bool sign,
                             unsigned rc, bool *inexact, bool *up)
{
    uint64_t kept = fx80_round_bits(sig, prec, sign, rc, inexact, up);
    if (prec == 64) {
        if (kept == 0 && *up) {   /* 0xffff...ff + 1 wrapped */
            ++*exp;
            return FX80_INT_BIT;
        }
        return kept;
    }
    if (kept >> prec) {
        ++*exp;
        kept >>= 1;
    }
    return kept << (64 - prec);
}

static void note_inexact(struct fx80_env *env, bool inexact, bool up)
{
    if (inexact) {
        env->flags |= FX80_PE;
        env->round_up = up;
    }
}

static fx80 overflow_masked(bool sign, unsigned prec, struct fx80_env *env)
{
    bool to_inf;
    switch (env->rc) {
    case FX80_RN: to_inf = true; break;
    case FX80_RD: to_inf = sign; break;
    case FX80_RU: to_inf = !sign; break;
    default: to_inf = false; break;
    }
    env->flags |= FX80_OE | FX80_PE;
    env->round_up = to_inf;
    if (to_inf)
        return fx80_make(sign, FX80_EXP_MAX, FX80_INT_BIT);
    return fx80_make(sign, FX80_MAX_EXP_FINITE, ~UINT64_C(0) << (64 - prec));
}

static fx80 underflow_masked(bool sign, int32_t exp, fx80_u128 sig, unsigned prec, bool tiny,
                             struct fx80_env *env)
{
    bool inexact, up;
    /* Denormalise to the smallest exponent, then round at the same bit position as
     * a normal of that exponent: denormals keep fewer than `prec` bits. */
    sig = fx80_shr_sticky(sig, (unsigned)(1 - exp));
    uint64_t kept = fx80_round_bits(sig, prec, sign, env->rc, &inexact, &up);
    uint64_t mant = kept << (64 - prec);
    if (inexact && tiny)
        env->flags |= FX80_UE;
    note_inexact(env, inexact, up);
    return fx80_make(sign, (mant & FX80_INT_BIT) ? 1 : 0, mant);
}

fx80 fx80_round_pack(bool sign, int32_t exp, fx80_u128 sig, unsigned prec, struct fx80_env *env)
{
    bool inexact, up;
    if (exp < 1) {
        /* Tininess after rounding (what the host x87 does): rounded to `prec` bits
         * with an unbounded exponent, is the result still below the smallest normal? */
        int32_t rexp = exp;
        round_normal(sig, &rexp, prec, sign, env->rc, &inexact, &up);
        bool tiny = rexp < 1;
        if (env->masks & FX80_UE || !tiny)
            return underflow_masked(sign, exp, sig, prec, tiny, env);
        /* Beyond even the biased range (FSCALE): a zero, whatever the rounding. */
        if (exp + FX80_BIAS_ADJUST < 1) {
            env->flags |= FX80_UE | FX80_PE;
            return fx80_make(sign, 0, 0);
        }
        env->flags |= FX80_UE;
        exp += FX80_BIAS_ADJUST;
        uint64_t mant = round_normal(sig, &exp, prec, sign, env->rc, &inexact, &up);
        note_inexact(env, inexact, up);
        return fx80_make(sign, (unsigned)exp, mant);
    }
    uint64_t mant = round_normal(sig, &exp, prec, sign, env->rc, &inexact, &up);
    if (exp >= FX80_EXP_MAX) {
        if (env->masks & FX80_OE)
            return overflow_masked(sign, prec, env);
        if (exp - FX80_BIAS_ADJUST >= FX80_EXP_MAX) {   /* beyond the biased range: infinity */
            env->flags |= FX80_OE | FX80_PE;
            env->round_up = true;
            return fx80_make(sign, FX80_EXP_MAX, FX80_INT_BIT);
        }
        env->flags |= FX80_OE;
        note_inexact(env, inexact, up);
        return fx80_make(sign, (unsigned)(exp - FX80_BIAS_ADJUST), mant);
    }
    note_inexact(env, inexact, up);
    return fx80_make(sign, (unsigned)exp, mant);
}

fx80 fx80_norm_round_pack(bool sign, int32_t exp, fx80_u128 sig, unsigned prec, struct fx80_env *env)
{
    if (sig == 0)
        return fx80_make(sign, 0, 0);
    int lz = fx80_clz128(sig);
    return fx80_round_pack(sign, exp - lz, sig << lz, prec, env);
}

enum fx80_class fx80_classify(fx80 a)
{
    unsigned e = fx80_exp(a);
    if (e == 0)
        return a.mant ? FX80_CLASS_DENORMAL : FX80_CLASS_ZERO;
    if (!(a.mant & FX80_INT_BIT))
        return FX80_CLASS_UNSUPPORTED;
    if (e == FX80_EXP_MAX)
        return (a.mant << 1) ? FX80_CLASS_NAN : FX80_CLASS_INFINITY;
    return FX80_CLASS_NORMAL;
}
