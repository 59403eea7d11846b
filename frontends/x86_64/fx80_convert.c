/* fx80_convert.c - conversions between the x87 80-bit format and binary32/binary64
 * (FLD/FST m32/m64), integers (FILD/FIST/FISTTP) and packed BCD (FBLD/FBSTP),
 * with the x87's NaN, overflow/underflow, integer-indefinite and BCD-indefinite rules. */
#include "fx80_int.h"

/* An IEEE binary interchange format as FLD/FST see it. */
struct fx80_bin {
    unsigned frac_bits;   /* stored fraction bits */
    unsigned exp_bits;
    int bias;
};
static const struct fx80_bin BIN32 = { 23, 8, 127 };
static const struct fx80_bin BIN64 = { 52, 11, 1023 };

#define BCD_DIGITS 18
#define BCD_BYTES 10
#define BCD_SIGN_BYTE 9
#define BCD_SIGN_BIT 0x80u
#define BCD_MAX UINT64_C(999999999999999999)
#define BCD_INDEF_HI_BYTE 0xC0u   /* byte 7 of the BCD indefinite; bytes 8-9 are 0xff */

static fx80 from_binary(uint64_t bits, const struct fx80_bin *f, struct fx80_env *env)
{
    unsigned emax = (1u << f->exp_bits) - 1;
    bool sign = (bits >> (f->frac_bits + f->exp_bits)) & 1;
    unsigned e = (unsigned)(bits >> f->frac_bits) & emax;
    uint64_t frac = bits & ((UINT64_C(1) << f->frac_bits) - 1);
    uint64_t mant = frac << (63 - f->frac_bits);
    env->round_up = false;
    if (e == emax) {
        if (frac && !(mant & FX80_QUIET_BIT)) {
            fx80_raise_unmasked(env, FX80_IE);
            mant |= FX80_QUIET_BIT;
        }
        return fx80_make(sign, FX80_EXP_MAX, FX80_INT_BIT | mant);
    }
    if (e == 0) {
        if (!frac)
            return fx80_make(sign, 0, 0);
        fx80_raise_unmasked(env, FX80_DE);
        int lz = __builtin_clzll(mant);
        return fx80_make(sign, (unsigned)(1 - f->bias + FX80_EXP_BIAS - lz), mant << lz);
    }
    return fx80_make(sign, (unsigned)((int)e - f->bias + FX80_EXP_BIAS), FX80_INT_BIT | mant);
}

fx80 fx80_from_f32(uint32_t bits, struct fx80_env *env) { return from_binary(bits, &BIN32, env); }
fx80 fx80_from_f64(uint64_t bits, struct fx80_env *env) { return from_binary(bits, &BIN64, env); }

fx80 fx80_from_i64(int64_t v)
{
    if (v == 0)
        return fx80_make(false, 0, 0);
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int lz = __builtin_clzll(m);
    return fx80_make(v < 0, (unsigned)(FX80_EXP_BIAS + 63 - lz), m << lz);
}

static uint64_t pack_bin(bool sign, unsigned e, uint64_t frac, const struct fx80_bin *f)
{
    return ((uint64_t)sign << (f->frac_bits + f->exp_bits)) | ((uint64_t)e << f->frac_bits) | frac;
}

/* Round a finite nonzero value into the format: tininess after rounding,
 * memory destinations get no result on unmasked OE/UE. */
static uint64_t round_binary(struct fx80_norm x, const struct fx80_bin *f, struct fx80_env *env)
{
    unsigned prec = f->frac_bits + 1, emax = (1u << f->exp_bits) - 1;
    int32_t e = x.exp - FX80_EXP_BIAS + f->bias;   /* target biased exponent */
    fx80_u128 sig = (fx80_u128)x.mant << 64;
    bool inexact, up;
    bool tiny = false;
    if (e < 1) {   /* tininess after rounding, as in fx80_round_pack */
        uint64_t k = fx80_round_bits(sig, prec, x.sign, env->rc, &inexact, &up);
        tiny = !(k >> prec) || e < 0;
    }
    if (tiny) {
        if (!(env->masks & FX80_UE)) {
            env->flags |= FX80_UE;
            env->no_result = true;
            return 0;
        }
        sig = fx80_shr_sticky(sig, (unsigned)(1 - e));
        uint64_t kept = fx80_round_bits(sig, prec, x.sign, env->rc, &inexact, &up);
        if (inexact) {   /* masked: only inexact tiny results are underflows */
            env->flags |= FX80_UE | FX80_PE;
            env->round_up = up;
        }
        unsigned re = (kept >> f->frac_bits) ? 1 : 0;
        return pack_bin(x.sign, re, kept & ((UINT64_C(1) << f->frac_bits) - 1), f);
    }
    uint64_t kept = fx80_round_bits(sig, prec, x.sign, env->rc, &inexact, &up);
    if (kept >> prec) {
        kept >>= 1;
        e++;
    }
    if (e >= (int32_t)emax) {
        if (fx80_raise_unmasked(env, FX80_OE))
            return 0;
        bool to_inf = env->rc == FX80_RN || (env->rc == FX80_RD && x.sign) ||
                      (env->rc == FX80_RU && !x.sign);
        env->flags |= FX80_PE;
        env->round_up = to_inf;
        if (to_inf)
            return pack_bin(x.sign, emax, 0, f);
        return pack_bin(x.sign, emax - 1, (UINT64_C(1) << f->frac_bits) - 1, f);
    }
    if (inexact) {
        env->flags |= FX80_PE;
        env->round_up = up;
    }
    return pack_bin(x.sign, (unsigned)e, kept & ((UINT64_C(1) << f->frac_bits) - 1), f);
}

static uint64_t to_binary(fx80 a, const struct fx80_bin *f, struct fx80_env *env)
{
    unsigned emax = (1u << f->exp_bits) - 1;
    bool sign = fx80_sign(a);
    env->round_up = false;
    if (fx80_is_unsupported(a)) {
        fx80_raise_unmasked(env, FX80_IE);
        return pack_bin(true, emax, UINT64_C(1) << (f->frac_bits - 1), f);
    }
    if (fx80_is_nan(a)) {
        if (fx80_is_snan(a))
            fx80_raise_unmasked(env, FX80_IE);
        uint64_t frac = ((a.mant | FX80_QUIET_BIT) << 1) >> (64 - f->frac_bits);
        return pack_bin(sign, emax, frac, f);
    }
    if (fx80_is_inf(a))
        return pack_bin(sign, emax, 0, f);
    if (fx80_is_zero(a))
        return pack_bin(sign, 0, 0, f);
    /* The host raises no DE for a denormal 80-bit source of FST. */
    return round_binary(fx80_normalise(a), f, env);
}

uint32_t fx80_to_f32(fx80 a, struct fx80_env *env) { return (uint32_t)to_binary(a, &BIN32, env); }
uint64_t fx80_to_f64(fx80 a, struct fx80_env *env) { return to_binary(a, &BIN64, env); }

/* |a| rounded to an integer with rc (or truncated); false when it needs > 64 bits. */
static bool round_to_u64(fx80 a, unsigned rc, uint64_t *out, struct fx80_env *env)
{
    if (fx80_is_zero(a)) {
        *out = 0;
        return true;
    }
    struct fx80_norm x = fx80_normalise(a);
    int32_t e = x.exp - FX80_EXP_BIAS;
    if (e > 63)
        return false;
    fx80_u128 sig = fx80_shr_sticky((fx80_u128)x.mant << 64, (unsigned)(63 - e));
    bool inexact, up;
    uint64_t kept = fx80_round_bits(sig, 64, x.sign, rc, &inexact, &up);
    if (up && kept == 0)
        return false;   /* 2^64 */
    if (inexact) {
        env->flags |= FX80_PE;
        env->round_up = up;
    }
    *out = kept;
    return true;
}

int64_t fx80_to_int(fx80 a, unsigned bits, bool truncate, struct fx80_env *env)
{
    if (bits != 16 && bits != 32)
        bits = 64;   /* the contract's widths only; anything else is taken as 64 */
    int64_t indefinite = (int64_t)(UINT64_C(1) << 63) >> (64 - bits);
    uint64_t mag, limit = UINT64_C(1) << (bits - 1);   /* |min| */
    env->round_up = false;
    if (fx80_is_special_nan(a) || fx80_is_inf(a)) {
        fx80_raise_unmasked(env, FX80_IE);
        return indefinite;
    }
    struct fx80_env probe = *env;
    if (!round_to_u64(a, truncate ? FX80_RZ : env->rc, &mag, &probe) ||
        mag > limit - !fx80_sign(a)) {
        fx80_raise_unmasked(env, FX80_IE);
        return indefinite;
    }
    *env = probe;
    return fx80_sign(a) ? (int64_t)(0 - mag) : (int64_t)mag;
}

fx80 fx80_from_bcd(const uint8_t bcd[10], struct fx80_env *env)
{
    uint64_t v = 0;
    env->round_up = false;
    for (int i = BCD_DIGITS / 2 - 1; i >= 0; i--)
        v = v * 100 + (uint64_t)(bcd[i] >> 4) * 10 + (bcd[i] & 0xf);
    fx80 r = fx80_from_i64((int64_t)v);
    if (bcd[BCD_SIGN_BYTE] & BCD_SIGN_BIT)
        r.se |= FX80_SIGN;
    return r;
}

void fx80_to_bcd(fx80 a, uint8_t bcd[10], struct fx80_env *env)
{
    uint64_t mag = 0;
    env->round_up = false;
    struct fx80_env probe = *env;
    bool ok = !fx80_is_special_nan(a) && !fx80_is_inf(a);
    if (!ok || !round_to_u64(a, env->rc, &mag, &probe) || mag > BCD_MAX) {
        fx80_raise_unmasked(env, FX80_IE);
        for (int i = 0; i < BCD_BYTES; i++)
            bcd[i] = i >= 8 ? 0xff : 0;
        bcd[7] = BCD_INDEF_HI_BYTE;
        return;
    }
    *env = probe;
    for (int i = 0; i < BCD_DIGITS / 2; i++) {
        bcd[i] = (uint8_t)((mag % 10) | ((mag / 10 % 10) << 4));
        mag /= 100;
    }
    bcd[BCD_SIGN_BYTE] = fx80_sign(a) ? BCD_SIGN_BIT : 0;
}
