/* fx80_arith.c - the basic x87 operations: add, subtract, multiply, divide and
 * square root. Each computes an exact (or exact-plus-sticky) wide result and hands
 * it to fx80_round_pack, the one rounding point, with the precision control. */
#include "fx80_int.h"

static fx80 inf_of(bool sign) { return fx80_make(sign, FX80_EXP_MAX, FX80_INT_BIT); }

/* |a| + |b| or |a| - |b| of finite operands, at least one nonzero. */
static fx80 add_finite(fx80 a, fx80 b, bool negate_b, unsigned prec, struct fx80_env *env)
{
    struct fx80_norm x = fx80_normalise(a), y = fx80_normalise(b);
    y.sign ^= negate_b;
    if (a.mant == 0)
        return fx80_norm_round_pack(y.sign, y.exp, (fx80_u128)y.mant << 64, prec, env);
    if (b.mant == 0)
        return fx80_norm_round_pack(x.sign, x.exp, (fx80_u128)x.mant << 64, prec, env);
    if (x.exp < y.exp || (x.exp == y.exp && x.mant < y.mant)) {
        struct fx80_norm t = x;
        x = y;
        y = t;
    }
    /* One headroom bit on top for the carry, 63 guard bits below the significand. */
    fx80_u128 sx = (fx80_u128)x.mant << 63;
    fx80_u128 sy = fx80_shr_sticky((fx80_u128)y.mant << 63, (unsigned)(x.exp - y.exp));
    fx80_u128 s = x.sign == y.sign ? sx + sy : sx - sy;
    if (s == 0)
        return fx80_exact_zero(env);
    return fx80_norm_round_pack(x.sign, x.exp + 1, s, prec, env);
}

static fx80 add_sub(fx80 a, fx80 b, bool negate_b, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, b, 2, env, &r))
        return r;
    bool sb = fx80_sign(b) ^ negate_b;
    if (fx80_is_inf(a) || fx80_is_inf(b)) {
        if (fx80_is_inf(a) && fx80_is_inf(b) && fx80_sign(a) != sb)
            return fx80_invalid(env);
        if (fx80_denormal_operands(a, b, 2, env))
            return a;
        return fx80_is_inf(a) ? a : inf_of(sb);
    }
    if (fx80_denormal_operands(a, b, 2, env))
        return a;
    if (fx80_is_zero(a) && fx80_is_zero(b)) {
        if (fx80_sign(a) == sb)
            return fx80_make(sb, 0, 0);
        return fx80_exact_zero(env);
    }
    return add_finite(a, b, negate_b, fx80_prec_bits(env->pc), env);
}

fx80 fx80_add(fx80 a, fx80 b, struct fx80_env *env) { return add_sub(a, b, false, env); }
fx80 fx80_sub(fx80 a, fx80 b, struct fx80_env *env) { return add_sub(a, b, true, env); }

fx80 fx80_mul(fx80 a, fx80 b, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, b, 2, env, &r))
        return r;
    bool sign = fx80_sign(a) ^ fx80_sign(b);
    if (fx80_is_inf(a) || fx80_is_inf(b)) {
        if (fx80_is_zero(a) || fx80_is_zero(b))
            return fx80_invalid(env);
        if (fx80_denormal_operands(a, b, 2, env))
            return a;
        return inf_of(sign);
    }
    if (fx80_denormal_operands(a, b, 2, env))
        return a;
    if (fx80_is_zero(a) || fx80_is_zero(b))
        return fx80_make(sign, 0, 0);
    struct fx80_norm x = fx80_normalise(a), y = fx80_normalise(b);
    fx80_u128 p = (fx80_u128)x.mant * y.mant;   /* in [2^126, 2^128) */
    return fx80_norm_round_pack(sign, x.exp + y.exp - FX80_EXP_BIAS + 1, p,
                                fx80_prec_bits(env->pc), env);
}

fx80 fx80_div(fx80 a, fx80 b, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, b, 2, env, &r))
        return r;
    bool sign = fx80_sign(a) ^ fx80_sign(b);
    if (fx80_is_inf(a)) {
        if (fx80_is_inf(b))
            return fx80_invalid(env);
        if (fx80_denormal_operands(a, b, 2, env))
            return a;
        return inf_of(sign);
    }
    if (fx80_is_inf(b)) {
        if (fx80_denormal_operands(a, b, 2, env))
            return a;
        return fx80_make(sign, 0, 0);
    }
    if (fx80_is_zero(b)) {
        if (fx80_is_zero(a))
            return fx80_invalid(env);
        if (fx80_raise_unmasked(env, FX80_ZE))
            return a;
        return inf_of(sign);
    }
    if (fx80_denormal_operands(a, b, 2, env))
        return a;
    if (fx80_is_zero(a))
        return fx80_make(sign, 0, 0);
    struct fx80_norm x = fx80_normalise(a), y = fx80_normalise(b);
    /* Two 64-bit quotient digits, then a sticky bit from the final remainder. */
    fx80_u128 n = (fx80_u128)x.mant << 64;
    fx80_u128 q1 = n / y.mant, rem = n % y.mant;
    fx80_u128 n2 = rem << 64;
    uint64_t q2 = (uint64_t)(n2 / y.mant);
    bool sticky = (n2 % y.mant) != 0;
    /* q1 < 2^65; keep 128 bits: q1 in the top, q2 below, sticky folded into bit 0. */
    int32_t exp = x.exp - y.exp + FX80_EXP_BIAS;
    fx80_u128 q;
    if (q1 >> 64) {   /* quotient >= 2: drop one bit into the sticky */
        q = ((q1 << 63) | (q2 >> 1)) | (fx80_u128)((q2 & 1) | sticky);
        return fx80_norm_round_pack(sign, exp, q, fx80_prec_bits(env->pc), env);
    }
    q = (q1 << 64) | q2 | sticky;   /* quotient in [1/2, 1) */
    return fx80_norm_round_pack(sign, exp - 1, q, fx80_prec_bits(env->pc), env);
}

/* Integer square root of a 128-bit value (bit by bit), with its remainder. */
static uint64_t isqrt128(fx80_u128 n, fx80_u128 *rem)
{
    fx80_u128 root = 0, bit = (fx80_u128)1 << 126;
    while (bit > n)
        bit >>= 2;
    while (bit) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    *rem = n;
    return (uint64_t)root;
}

fx80 fx80_sqrt(fx80 a, struct fx80_env *env)
{
    fx80 r;
    env->round_up = false;
    if (fx80_nan_operands(a, a, 1, env, &r))
        return r;
    if (fx80_is_zero(a))
        return a;
    if (fx80_sign(a))
        return fx80_invalid(env);
    if (fx80_is_inf(a))
        return a;
    if (fx80_denormal_operands(a, a, 1, env))
        return a;
    struct fx80_norm x = fx80_normalise(a);
    /* value = mant * 2^(e - 63), e = exp - bias; make the power of two even so the
     * root of the 128-bit radicand is a 64-bit integer with bit 63 set. */
    int32_t e = x.exp - FX80_EXP_BIAS;
    fx80_u128 n = (fx80_u128)x.mant << ((e & 1) ? 64 : 63);
    int32_t re = (e & 1) ? (e - 1) / 2 : e / 2;   /* exact halves: root's integer-bit exponent */
    fx80_u128 rem;
    uint64_t root = isqrt128(n, &rem);
    /* Never exactly halfway: rem > root means above the midpoint. */
    fx80_u128 sig = ((fx80_u128)root << 64) | ((rem > root) ? ((fx80_u128)1 << 63) : 0) | (rem != 0);
    return fx80_round_pack(false, re + FX80_EXP_BIAS, sig, fx80_prec_bits(env->pc), env);
}
