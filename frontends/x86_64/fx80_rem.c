/* fx80_rem.c - FPREM and FPREM1: the exact partial remainder of ST(0) by ST(1),
 * with the low quotient bits (C0/C3/C1) and the incomplete-reduction flag (C2). */
#include "fx80_int.h"

/* When the exponents differ by at least this much, one step only reduces the
 * difference by N quotient bits (the SDM's implementation-dependent N, 32..63): the
 * host takes N = 32 + (D - 64) mod 32, and leaves the quotient bits clear. */
#define FX80_REM_FULL_LIMIT 64
#define FX80_REM_STEP_MIN 32
#define FX80_QUOT_BITS 7u

/* The exact remainder r * 2^(exp - bias - 63) of sign `sign`. */
static fx80 pack_rem(bool sign, int32_t exp, uint64_t r, struct fx80_env *env)
{
    if (r == 0)
        return fx80_make(sign, 0, 0);
    return fx80_norm_round_pack(sign, exp, (fx80_u128)r << 64, FX80_PREC_FULL, env);
}

/* Finite, nonzero b; a finite. */
static fx80 rem_finite(fx80 a, fx80 b, bool ieee, unsigned *quot, bool *partial,
                       struct fx80_env *env)
{
    if (fx80_is_zero(a))
        return a;
    struct fx80_norm x = fx80_normalise(a), y = fx80_normalise(b);
    int32_t d = x.exp - y.exp;
    if (d < 0 && !(ieee && d == -1))
        return fx80_norm_round_pack(x.sign, x.exp, (fx80_u128)x.mant << 64, FX80_PREC_FULL, env);
    if (d >= FX80_REM_FULL_LIMIT) {
        unsigned bits = FX80_REM_STEP_MIN + (unsigned)(d - FX80_REM_FULL_LIMIT) % FX80_REM_STEP_MIN;
        int32_t s = d - (int32_t)bits;
        fx80_u128 n = (fx80_u128)x.mant << bits;
        *partial = true;
        return pack_rem(x.sign, y.exp + s, (uint64_t)(n % y.mant), env);
    }
    bool sign = x.sign;
    fx80_u128 q, r;
    if (d < 0) {   /* FPREM1 with |a| in [|b|/2, |b|): maybe one step back */
        q = 0;
        r = x.mant;
        fx80_u128 my2 = (fx80_u128)y.mant << 1;
        if (r > y.mant) {   /* exactly half rounds to the even quotient 0 */
            q = 1;
            r = my2 - r;
            sign = !sign;
        }
        /* r is in units of 2^(y.exp - 1 - bias - 63) */
        *quot = (unsigned)q & FX80_QUOT_BITS;
        return pack_rem(sign, y.exp - 1, (uint64_t)r, env);
    }
    fx80_u128 n = (fx80_u128)x.mant << d;
    q = n / y.mant;
    r = n % y.mant;
    if (ieee && (2 * r > y.mant || (2 * r == y.mant && (q & 1)))) {
        q++;
        r = y.mant - r;
        sign = !sign;
    }
    *quot = (unsigned)q & FX80_QUOT_BITS;
    return pack_rem(sign, y.exp, (uint64_t)r, env);
}

fx80 fx80_rem(fx80 a, fx80 b, bool ieee, unsigned *quot, bool *partial, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    *quot = 0;
    *partial = false;
    if (fx80_nan_operands(a, b, 2, env, &r))
        return r;
    if (fx80_is_inf(a) || fx80_is_zero(b))
        return fx80_invalid(env);
    if (fx80_denormal_operands(a, b, 2, env))
        return a;
    if (fx80_is_inf(b))
        return fx80_canonical(a);
    return rem_finite(a, b, ieee, quot, partial, env);
}
