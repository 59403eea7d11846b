/* simd_sat.c - the saturating and rounding integer lane arithmetic of AdvSIMD
 * (Arm ARM SatQ, shift by register, doubling multiplies), shared by the vector,
 * scalar and by-element forms in simd_helpers.c. Saturation sets FPSR.QC. */
#include "frontends/arm64/a64_fe.h"

#define FPSR_QC (1ull << 27)

static uint64_t low_mask(unsigned bits)
{
    return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

/* SignedSatQ / UnsignedSatQ of an exact value to `bits`, as a raw lane. */
uint64_t a64_satq(uint64_t *fpsr, __int128 v, unsigned bits, bool is_signed)
{
    __int128 hi = is_signed ? (__int128)(low_mask(bits) >> 1) : (__int128)low_mask(bits);
    __int128 lo = is_signed ? -hi - 1 : 0;
    if (v > hi || v < lo) {
        *fpsr |= FPSR_QC;
        v = v > hi ? hi : lo;
    }
    return (uint64_t)v & low_mask(bits);
}

/* [SU]Q?R?SHL by register: the shift is the signed bottom byte of y; negative
 * shifts right, with rounding when `round`; saturating or truncating result. */
uint64_t a64_shift_reg(uint64_t *fpsr, uint64_t x, uint64_t y, unsigned bits, bool is_signed, bool round,
                       bool saturate)
{
    int sh = (int8_t)y;
    __int128 e = is_signed ? (__int128)(int64_t)(x << (64 - bits)) >> (64 - bits) : (__int128)x;
    __int128 v;
    if (sh >= 0) {
        /* Past `bits` any non-zero value overflows; clamping keeps it in 128 bits. */
        unsigned s = sh > (int)bits ? bits : (unsigned)sh;
        v = (__int128)((unsigned __int128)e << s);
        if (!is_signed && x && s == 64)
            v = (__int128)1 << 126;   /* unsigned x << 64 does not fit a signed __int128 */
    } else {
        unsigned r = -sh > 65 ? 65 : (unsigned)-sh;   /* beyond 65 the result no longer changes */
        if (round)
            e += (__int128)1 << (r - 1);
        v = e >> r;
    }
    return saturate ? a64_satq(fpsr, v, bits, is_signed) : (uint64_t)v & low_mask(bits);
}

/* SQDMULH / SQRDMULH on signed `bits`-wide lanes. */
uint64_t a64_sqdmulh(uint64_t *fpsr, uint64_t x, uint64_t y, unsigned bits, bool round)
{
    __int128 a = (int64_t)(x << (64 - bits)) >> (64 - bits), b = (int64_t)(y << (64 - bits)) >> (64 - bits);
    __int128 p = 2 * a * b + (round ? (__int128)1 << (bits - 1) : 0);
    return a64_satq(fpsr, p >> bits, bits, true);
}

/* SQDMULL, and SQDMLAL / SQDMLSL (acc_op +1 / -1): result lanes of 2 * bits. */
uint64_t a64_sqdmull(uint64_t *fpsr, uint64_t x, uint64_t y, uint64_t acc, unsigned bits, int acc_op)
{
    __int128 a = (int64_t)(x << (64 - bits)) >> (64 - bits), b = (int64_t)(y << (64 - bits)) >> (64 - bits);
    unsigned wide = 2 * bits;
    uint64_t p = a64_satq(fpsr, 2 * a * b, wide, true);
    if (!acc_op)
        return p;
    __int128 sp = (int64_t)(p << (64 - wide)) >> (64 - wide), sa = (int64_t)(acc << (64 - wide)) >> (64 - wide);
    return a64_satq(fpsr, acc_op > 0 ? sa + sp : sa - sp, wide, true);
}
