/* fx80.h - the x87 80-bit extended-precision format computed in software, so x87
 * results are the same on every host (no host long double, no host FPU state).
 * This header is the contract between the x87 lifter (lift_x87.c, x87_*.c) and the
 * arithmetic (fx80*.c): values, rounding environment and exception flags. */
#ifndef ANYHV_FRONTENDS_X86_64_FX80_H
#define ANYHV_FRONTENDS_X86_64_FX80_H

#include <stdbool.h>
#include <stdint.h>

/* An 80-bit value as the x87 stores it: 64-bit significand with an explicit integer
 * bit (bit 63), 15-bit biased exponent and sign in `se` (sign = bit 15). */
typedef struct fx80 {
    uint64_t mant;
    uint16_t se;
} fx80;

#define FX80_SIGN 0x8000u
#define FX80_EXP_MASK 0x7fffu
#define FX80_EXP_BIAS 16383
#define FX80_EXP_MAX 0x7fff
#define FX80_INT_BIT (UINT64_C(1) << 63)
#define FX80_QUIET_BIT (UINT64_C(1) << 62)

/* FCW.RC and FCW.PC encodings. */
enum fx80_round { FX80_RN = 0, FX80_RD = 1, FX80_RU = 2, FX80_RZ = 3 };
enum fx80_prec { FX80_P24 = 0, FX80_P53 = 2, FX80_P64 = 3 };

/* Exception flags at their FSW bit positions (the same bits mask them in FCW). */
enum {
    FX80_IE = 1u << 0,   /* invalid operation */
    FX80_DE = 1u << 1,   /* denormal operand */
    FX80_ZE = 1u << 2,   /* zero divide */
    FX80_OE = 1u << 3,   /* overflow */
    FX80_UE = 1u << 4,   /* underflow */
    FX80_PE = 1u << 5,   /* precision (inexact) */
};

/* The rounding environment of one operation, and what it raised. `masks` are the
 * FCW exception masks (FX80_* bits set = masked); masked responses are the x87's
 * (default NaN, infinities, denormals), unmasked ones follow the SDM (no result for
 * IE/DE/ZE, bias-adjusted result for OE/UE on register destinations). */
struct fx80_env {
    uint8_t rc;          /* enum fx80_round */
    uint8_t pc;          /* enum fx80_prec; conversions to f32/f64 ignore it */
    uint8_t masks;       /* FX80_* bits */
    uint8_t flags;       /* out: FX80_* raised (ORed in, never cleared) */
    bool round_up;       /* out: the last inexact result was rounded away from zero (FSW.C1) */
    bool no_result;      /* out: an unmasked exception suppressed the result */
};

/* Comparison results as FCOM sets C3/C2/C0 (and FCOMI sets ZF/PF/CF). */
enum fx80_cmp { FX80_GT = 0, FX80_LT = 1, FX80_EQ = 2, FX80_UNORDERED = 3 };

/* FXAM classes (C3,C2,C0 combination) and the sign goes to C1. */
enum fx80_class {
    FX80_CLASS_UNSUPPORTED = 0, FX80_CLASS_NAN = 1, FX80_CLASS_NORMAL = 2,
    FX80_CLASS_INFINITY = 3, FX80_CLASS_ZERO = 4, FX80_CLASS_EMPTY = 5,
    FX80_CLASS_DENORMAL = 6,
};

/* Constants loaded by FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/FLDLN2/FLDZ (rounded per RC). */
enum fx80_const { FX80_ONE, FX80_L2T, FX80_L2E, FX80_PI, FX80_LG2, FX80_LN2, FX80_ZERO };

/* Arithmetic, rounded to env->pc bits of significand with env->rc. */
fx80 fx80_add(fx80 a, fx80 b, struct fx80_env *env);
fx80 fx80_sub(fx80 a, fx80 b, struct fx80_env *env);
fx80 fx80_mul(fx80 a, fx80 b, struct fx80_env *env);
fx80 fx80_div(fx80 a, fx80 b, struct fx80_env *env);
fx80 fx80_sqrt(fx80 a, struct fx80_env *env);
fx80 fx80_round_int(fx80 a, struct fx80_env *env);                 /* FRNDINT */
fx80 fx80_scale(fx80 a, fx80 b, struct fx80_env *env);             /* FSCALE: a * 2^trunc(b) */
void fx80_xtract(fx80 a, fx80 *exponent, fx80 *significand, struct fx80_env *env);
/* FPREM (ieee = false: truncating quotient) and FPREM1 (ieee = true). *quot gets the
 * low three quotient bits (C0=bit 2, C3=bit 1, C1=bit 0); *partial is set when the
 * reduction is incomplete (C2). */
fx80 fx80_rem(fx80 a, fx80 b, bool ieee, unsigned *quot, bool *partial, struct fx80_env *env);

/* Transcendentals. *out_of_range (C2) is set, and the operand returned unchanged, for
 * |x| >= 2^63 in FSIN/FCOS/FSINCOS/FPTAN. */
fx80 fx80_sin(fx80 a, bool *out_of_range, struct fx80_env *env);
fx80 fx80_cos(fx80 a, bool *out_of_range, struct fx80_env *env);
fx80 fx80_tan(fx80 a, bool *out_of_range, struct fx80_env *env);
fx80 fx80_atan2(fx80 y, fx80 x, struct fx80_env *env);             /* FPATAN: atan(y/x) */
fx80 fx80_exp2m1(fx80 a, struct fx80_env *env);                    /* F2XM1 */
fx80 fx80_ylog2x(fx80 y, fx80 x, struct fx80_env *env);            /* FYL2X */
fx80 fx80_ylog2xp1(fx80 y, fx80 x, struct fx80_env *env);          /* FYL2XP1 */

/* FCOM (quiet = false: IE for any NaN) / FUCOM (quiet: IE for SNaN only). Never sets
 * no_result: the condition codes are written even under an unmasked IE/DE. */
enum fx80_cmp fx80_compare(fx80 a, fx80 b, bool quiet, struct fx80_env *env);
enum fx80_class fx80_classify(fx80 a);
fx80 fx80_constant(enum fx80_const k, struct fx80_env *env);

/* Conversions. From f32/f64/integers is exact (signalling NaNs raise IE and become
 * quiet; denormal operands raise DE). To f32/f64 rounds with env->rc. To integers
 * rounds with env->rc, or truncates when `truncate` (FISTTP); out-of-range and NaN
 * give the integer indefinite (the most negative value) and IE. */
fx80 fx80_from_f32(uint32_t bits, struct fx80_env *env);
fx80 fx80_from_f64(uint64_t bits, struct fx80_env *env);
fx80 fx80_from_i64(int64_t v);
uint32_t fx80_to_f32(fx80 a, struct fx80_env *env);
uint64_t fx80_to_f64(fx80 a, struct fx80_env *env);
int64_t fx80_to_int(fx80 a, unsigned bits, bool truncate, struct fx80_env *env);   /* bits 16/32/64 */
fx80 fx80_from_bcd(const uint8_t bcd[10], struct fx80_env *env);                    /* FBLD */
void fx80_to_bcd(fx80 a, uint8_t bcd[10], struct fx80_env *env);                    /* FBSTP */

/* The QNaN floating-point indefinite (the masked response to an invalid operation). */
fx80 fx80_indefinite(void);

#endif
