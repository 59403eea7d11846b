/* fx80_int.h - internals shared by the fx80*.c files: operand classes, the one
 * rounding/packing routine, NaN propagation and the invalid/denormal responses.
 * Not part of the contract (fx80.h); only fx80*.c include it. */
#ifndef ANYHV_FRONTENDS_X86_64_FX80_INT_H
#define ANYHV_FRONTENDS_X86_64_FX80_INT_H

#include "fx80.h"

typedef unsigned __int128 fx80_u128;

/* Bias adjustment applied to register results of unmasked overflow/underflow. */
#define FX80_BIAS_ADJUST 24576
/* The significand width that is not subject to precision control (FSCALE, FRNDINT, ...). */
#define FX80_PREC_FULL 64

static inline unsigned fx80_exp(fx80 a) { return a.se & FX80_EXP_MASK; }
static inline bool fx80_sign(fx80 a) { return (a.se & FX80_SIGN) != 0; }
static inline fx80 fx80_make(bool sign, unsigned exp, uint64_t mant)
{
    return (fx80){ .mant = mant, .se = (uint16_t)((sign ? FX80_SIGN : 0) | (exp & FX80_EXP_MASK)) };
}
/* Encodings the x87 refuses: exponent nonzero with the integer bit clear (unnormals,
 * pseudo-NaNs, pseudo-infinities). */
static inline bool fx80_is_unsupported(fx80 a)
{
    return fx80_exp(a) != 0 && !(a.mant & FX80_INT_BIT);
}
static inline bool fx80_is_nan(fx80 a)
{
    return fx80_exp(a) == FX80_EXP_MAX && (a.mant & FX80_INT_BIT) && (a.mant << 1) != 0;
}
static inline bool fx80_is_snan(fx80 a) { return fx80_is_nan(a) && !(a.mant & FX80_QUIET_BIT); }
static inline bool fx80_is_inf(fx80 a)
{
    return fx80_exp(a) == FX80_EXP_MAX && a.mant == FX80_INT_BIT;
}
static inline bool fx80_is_zero(fx80 a) { return fx80_exp(a) == 0 && a.mant == 0; }
/* Denormals and pseudo-denormals (exponent 0, nonzero significand): DE operands. */
static inline bool fx80_is_denormal(fx80 a) { return fx80_exp(a) == 0 && a.mant != 0; }
/* An operand passed through unchanged still loses a pseudo-denormal encoding:
 * the host gives it exponent 1 (same value). */
static inline fx80 fx80_canonical(fx80 a)
{
    if (fx80_exp(a) == 0 && (a.mant & FX80_INT_BIT))
        a.se |= 1;
    return a;
}
/* Any NaN or unsupported encoding: operands that decide the result on their own. */
static inline bool fx80_is_special_nan(fx80 a) { return fx80_is_nan(a) || fx80_is_unsupported(a); }

/* A finite nonzero operand as a normalised significand (bit 63 set) and an unbounded
 * biased exponent (denormals get exponents below 1). */
struct fx80_norm {
    bool sign;
    int32_t exp;
    uint64_t mant;
};
struct fx80_norm fx80_normalise(fx80 a);

/* Significand bits kept by precision control `pc`. */
unsigned fx80_prec_bits(unsigned pc);

/* Round sign * sig * 2^(exp - bias - 127) (sig normalised: bit 127 set) to `prec`
 * significand bits with env->rc, handle overflow/underflow (masked and unmasked) and
 * raise PE/OE/UE and round_up. The one place results are rounded. */
fx80 fx80_round_pack(bool sign, int32_t exp, fx80_u128 sig, unsigned prec, struct fx80_env *env);
/* The same for a significand that may be zero or unnormalised (normalises first;
 * exact zero gives a zero of `sign`). */
fx80 fx80_norm_round_pack(bool sign, int32_t exp, fx80_u128 sig, unsigned prec, struct fx80_env *env);

/* Round the top `prec` bits of sig with `rc` (the rest is the residue): returns the
 * kept bits plus the increment (may carry to 2^prec; to 0 when prec is 64). */
uint64_t fx80_round_bits(fx80_u128 sig, unsigned prec, bool sign, unsigned rc, bool *inexact,
                         bool *up);

/* Raise IE; the masked response (the indefinite), or no result when unmasked. */
fx80 fx80_invalid(struct fx80_env *env);
/* Raise an exception flag; true when it is unmasked (the result is suppressed). */
bool fx80_raise_unmasked(struct fx80_env *env, unsigned flag);
/* NaN/unsupported operands of an n-operand (1 or 2) arithmetic operation: returns true
 * with *out set (IE raised for SNaN/unsupported) when they decide the result. */
bool fx80_nan_operands(fx80 a, fx80 b, int n, struct fx80_env *env, fx80 *out);
/* DE for denormal operands; true when DE is unmasked (no result). */
bool fx80_denormal_operands(fx80 a, fx80 b, int n, struct fx80_env *env);
/* The zero an exact-zero sum gets in env->rc (-0 only when rounding down). */
fx80 fx80_exact_zero(struct fx80_env *env);

static inline int fx80_clz128(fx80_u128 v)
{
    uint64_t hi = (uint64_t)(v >> 64);
    if (hi)
        return __builtin_clzll(hi);
    uint64_t lo = (uint64_t)v;
    return lo ? 64 + __builtin_clzll(lo) : 128;
}
/* Shift right keeping a sticky bit for everything shifted out. */
static inline fx80_u128 fx80_shr_sticky(fx80_u128 v, unsigned s)
{
    if (s == 0)
        return v;
    if (s >= 128)
        return v != 0;
    return (v >> s) | ((v << (128 - s)) != 0);
}

#endif
