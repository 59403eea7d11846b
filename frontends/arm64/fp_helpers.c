/* fp_helpers.c - scalar floating point for the A64 lifters: host float/double
 * arithmetic under FPCR's rounding mode, with the Arm rules the host does not share
 * made explicit: NaN propagation order (signalling first), the positive default
 * NaN, FPCR.DN and FPCR.FZ, and FPSR cumulative flags. */
#include "frontends/arm64/a64_fe.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

#define FPCR_FZ (1ull << 24)
#define FPCR_DN (1ull << 25)
#define FPCR_RMODE_SHIFT 22
#define FPSR_IOC (1ull << 0)
#define FPSR_DZC (1ull << 1)
#define FPSR_OFC (1ull << 2)
#define FPSR_UFC (1ull << 3)
#define FPSR_IXC (1ull << 4)
#define FPSR_IDC (1ull << 7)
#define FLAG_NO_IXC (1ull << 63)   /* a flushed result: UFC without IXC */

#define F32_SIGN 0x80000000u
#define F32_EXP 0x7f800000u
#define F32_FRAC 0x007fffffu
#define F32_QUIET 0x00400000u
#define F32_DEFAULT_NAN 0x7fc00000u
#define F64_SIGN 0x8000000000000000ull
#define F64_EXP 0x7ff0000000000000ull
#define F64_FRAC 0x000fffffffffffffull
#define F64_QUIET 0x0008000000000000ull
#define F64_DEFAULT_NAN 0x7ff8000000000000ull

/* One precision's bit layout, so each rule is written once for both. */
struct fmt {
    uint64_t sign, exp, frac, quiet, dnan;
};
static const struct fmt F32 = { F32_SIGN, F32_EXP, F32_FRAC, F32_QUIET, F32_DEFAULT_NAN };
static const struct fmt F64 = { F64_SIGN, F64_EXP, F64_FRAC, F64_QUIET, F64_DEFAULT_NAN };

static bool is_nan(const struct fmt *f, uint64_t v) { return (v & f->exp) == f->exp && (v & f->frac); }
static bool is_snan(const struct fmt *f, uint64_t v) { return is_nan(f, v) && !(v & f->quiet); }
static bool is_denormal(const struct fmt *f, uint64_t v) { return !(v & f->exp) && (v & f->frac); }

/* The IR FP ops' fallback (a64_fp_default) runs these helpers without a vCPU (cpu is
 * NULL): on this thread's scratch state, FPCR the default, its FPSR the flags. */
static _Thread_local struct a64_state scratch;

static struct a64_state *state(void *cpu)
{
    return cpu ? a64_st(cpu) : &scratch;
}

/* Rounding: FPCR.RMode 0 nearest, 1 +inf, 2 -inf, 3 zero. */
static const int host_round[4] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };

/* Host exception flags the guest can still observe: those not yet set in its FPSR
 * (the flags are cumulative). Only these are cleared before and read after an
 * operation, so the common case (IXC already set) costs no flag clearing at all;
 * clearing every flag each time was most of an FP instruction's cost. */
static int watched_flags(const struct a64_state *st)
{
    return ((st->fpsr & FPSR_IOC) ? 0 : FE_INVALID) | ((st->fpsr & FPSR_DZC) ? 0 : FE_DIVBYZERO) |
           ((st->fpsr & FPSR_OFC) ? 0 : FE_OVERFLOW) | ((st->fpsr & FPSR_UFC) ? 0 : FE_UNDERFLOW) |
           ((st->fpsr & FPSR_IXC) ? 0 : FE_INEXACT);
}

static int guest_round(const struct a64_state *st)
{
    return host_round[(st->fpcr >> FPCR_RMODE_SHIFT) & 3];
}

static void begin(void *cpu)
{
    const struct a64_state *st = state(cpu);
    int watched = watched_flags(st), stale = watched ? fetestexcept(watched) : 0;
    if (stale)
        feclearexcept(stale);
    if (guest_round(st) != FE_TONEAREST)
        fesetround(guest_round(st));
}

static void end(void *cpu, uint64_t extra)
{
    struct a64_state *st = state(cpu);
    int watched = watched_flags(st), e = watched ? fetestexcept(watched) : 0;
    uint64_t f = extra;
    f |= (e & FE_INVALID) ? FPSR_IOC : 0;
    f |= (e & FE_DIVBYZERO) ? FPSR_DZC : 0;
    f |= (e & FE_OVERFLOW) ? FPSR_OFC : 0;
    f |= (e & FE_UNDERFLOW) ? FPSR_UFC : 0;
    f |= (e & FE_INEXACT) ? FPSR_IXC : 0;
    if (f & FLAG_NO_IXC)
        f &= ~(FPSR_IXC | FLAG_NO_IXC);
    st->fpsr |= f;
    if (guest_round(st) != FE_TONEAREST)   /* helpers that pick a mode put the guest's back */
        fesetround(FE_TONEAREST);
}

/* FZ: denormal inputs are zero (IDC). */
static uint64_t flush_in(void *cpu, const struct fmt *f, uint64_t v, uint64_t *flags)
{
    if ((state(cpu)->fpcr & FPCR_FZ) && is_denormal(f, v)) {
        *flags |= FPSR_IDC;
        return v & f->sign;
    }
    return v;
}

/* FZ: denormal results are zero (UFC); generated NaNs are the default NaN. */
static uint64_t fix_out(void *cpu, const struct fmt *f, uint64_t v, uint64_t *flags)
{
    if ((state(cpu)->fpcr & FPCR_FZ) && is_denormal(f, v)) {
        *flags |= FPSR_UFC | FLAG_NO_IXC;
        return v & f->sign;
    }
    if (is_nan(f, v))
        return f->dnan;
    return v;
}

/* FPProcessNaNs: the first signalling NaN, else the first quiet one, quietened;
 * the default NaN under FPCR.DN. Returns false when no operand is a NaN. */
static bool process_nans(void *cpu, const struct fmt *f, const uint64_t *ops, int n, uint64_t *out,
                         uint64_t *flags)
{
    int pick = -1;
    for (int i = 0; i < n && pick < 0; i++)
        if (is_snan(f, ops[i]))
            pick = i;
    if (pick >= 0)
        *flags |= FPSR_IOC;
    for (int i = 0; i < n && pick < 0; i++)
        if (is_nan(f, ops[i]))
            pick = i;
    if (pick < 0)
        return false;
    *out = (state(cpu)->fpcr & FPCR_DN) ? f->dnan : (ops[pick] | f->quiet);
    return true;
}

/* FZ flushes a result that is tiny before rounding (one that rounds up to the
 * smallest normal too): decided on a wider exact-enough value. */
static bool fz_flush(void *cpu, const struct fmt *f, long double exact, uint64_t *out, uint64_t *flags)
{
    long double min_normal = f == &F64 ? 0x1p-1022L : 0x1p-126L;
    if (!(state(cpu)->fpcr & FPCR_FZ) || exact == 0 || isnan(exact) || fabsl(exact) >= min_normal)
        return false;
    *out = signbit(exact) ? f->sign : 0;
    *flags |= FPSR_UFC | FLAG_NO_IXC;
    return true;
}

static float f32(uint64_t v) { uint32_t u = (uint32_t)v; float x; memcpy(&x, &u, 4); return x; }
static double f64(uint64_t v) { double x; memcpy(&x, &v, 8); return x; }
static uint64_t b32(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static uint64_t b64(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }


static uint64_t minmax(const struct fmt *f, uint64_t a, uint64_t b, bool max, bool dp)
{
    double x = dp ? f64(a) : f32(a), y = dp ? f64(b) : f32(b);
    if (x == y) {
        /* +0 vs -0: max gives +0, min gives -0 */
        bool neg = max ? ((a & b & f->sign) != 0) : (((a | b) & f->sign) != 0);
        return (a & ~f->sign) | (neg ? f->sign : 0);
    }
    return (max ? x > y : x < y) ? a : b;
}

/* FRECPS (2 - a*b) and FRSQRTS ((3 - a*b) / 2), each rounded once, on numbers
 * that are not both NaN-free infinities and zeros (handled by the caller). */
static uint64_t recip_step(const struct fmt *f, enum fp_binop op, uint64_t n, uint64_t m, bool dp)
{
    if (op == FB_RECPS)
        return dp ? b64(fma(f64(n), f64(m), 2.0)) : b32(fmaf(f32(n), f32(m), 2.0f));
    /* Halve an operand whose half is still normal (exact), so the sum cannot
     * overflow where the halved result would not; both tiny: halve the sum. */
    uint64_t min_halvable = (f->exp & (0 - f->exp)) * 2;   /* biased exponent 2 */
    if ((n & f->exp) >= min_halvable)
        return dp ? b64(fma(f64(n) / 2, f64(m), 1.5)) : b32(fmaf(f32(n) / 2, f32(m), 1.5f));
    if ((m & f->exp) >= min_halvable)
        return dp ? b64(fma(f64(n), f64(m) / 2, 1.5)) : b32(fmaf(f32(n), f32(m) / 2, 1.5f));
    return dp ? b64(fma(f64(n), f64(m), 3.0) / 2) : b32(fmaf(f32(n), f32(m), 3.0f) / 2);
}

/* FMULX, FRECPS, FRSQRTS: infinity times zero gives 2, 2 and 1.5; the steps
 * negate the first operand before NaN processing (FPRecipStepFused). False:
 * an FMULX that is an ordinary FMUL. */
static bool mulx_step(void *cpu, const struct fmt *f, enum fp_binop op, uint64_t *ops, bool dp,
                      uint64_t *flags, uint64_t *res)
{
    uint64_t out, two = dp ? 0x4000000000000000ull : 0x40000000u, one_half = dp ? 0x3ff8000000000000ull : 0x3fc00000u;
    if (op != FB_MULX)
        ops[0] ^= f->sign;
    if (process_nans(cpu, f, ops, 2, res, flags))
        return true;
    uint64_t n = ops[0], m = ops[1], sign = (n ^ m) & f->sign;
    bool inf_n = (n & ~f->sign) == f->exp, inf_m = (m & ~f->sign) == f->exp;
    bool zero_n = !(n & ~f->sign), zero_m = !(m & ~f->sign);
    if ((inf_n && zero_m) || (zero_n && inf_m))
        out = op == FB_MULX ? two | sign : op == FB_RECPS ? two : one_half;
    else if (op == FB_MULX)
        return false;
    else if (inf_n || inf_m)
        out = f->exp | sign;
    else
        out = fix_out(cpu, f, recip_step(f, op, n, m, dp), flags);
    *res = out;
    return true;
}

ir_u128 a64_fp_binop(void *cpu, ir_u128 ra, ir_u128 rb, ir_u128 rc)
{
    enum fp_binop op = (enum fp_binop)(rc & 0xff);
    bool dp = ((rc >> 8) & 3) == 1;
    const struct fmt *f = dp ? &F64 : &F32;
    uint64_t flags = 0, out;
    uint64_t ops[2] = { flush_in(cpu, f, (uint64_t)ra, &flags), flush_in(cpu, f, (uint64_t)rb, &flags) };
    begin(cpu);
    if (op >= FB_MULX && op <= FB_RSQRTS) {
        if (mulx_step(cpu, f, op, ops, dp, &flags, &out)) {
            end(cpu, flags);
            return out;
        }
        op = FB_MUL;
    }
    if (op == FB_MAXNM || op == FB_MINNM) {
        /* A single quiet NaN loses to a number. */
        bool qa = is_nan(f, ops[0]) && !is_snan(f, ops[0]), qb = is_nan(f, ops[1]) && !is_snan(f, ops[1]);
        if (qa && !is_nan(f, ops[1]))
            ops[0] = ops[1];
        else if (qb && !is_nan(f, ops[0]))
            ops[1] = ops[0];
    }
    if (process_nans(cpu, f, ops, 2, &out, &flags)) {
        end(cpu, flags);
        return op == FB_NMUL ? out ^ f->sign : out;   /* FNMUL = FPNeg(FPMul()) */
    }
    double x = dp ? f64(ops[0]) : f32(ops[0]), y = dp ? f64(ops[1]) : f32(ops[1]);
    long double wx = x, wy = y, exact = 0;
    switch (op) {
    case FB_ADD: out = dp ? b64(x + y) : b32((float)x + (float)y); exact = wx + wy; break;
    case FB_SUB: out = dp ? b64(x - y) : b32((float)x - (float)y); exact = wx - wy; break;
    case FB_MUL:
    case FB_NMUL: out = dp ? b64(x * y) : b32((float)x * (float)y); exact = wx * wy; break;
    case FB_DIV: out = dp ? b64(x / y) : b32((float)x / (float)y); exact = wx / wy; break;
    case FB_MAX: case FB_MAXNM: out = minmax(f, ops[0], ops[1], true, dp); break;
    default: out = minmax(f, ops[0], ops[1], false, dp); break;
    }
    if (op > FB_NMUL || !fz_flush(cpu, f, exact, &out, &flags))
        out = fix_out(cpu, f, out, &flags);
    if (op == FB_NMUL)
        out ^= f->sign;   /* FPNeg(FPMul()), the default NaN included */
    end(cpu, flags);
    return out;
}


#define F16_SIGN 0x8000u
#define F16_EXP 0x7c00u
#define F16_FRAC 0x03ffu
#define F16_QUIET 0x0200u
#define F16_DEFAULT_NAN 0x7e00u
#define F16_MAX 0x7bffu

/* IEEE half to double: exact (FPCR.AHP's alternative format is not offered). */
static double half_value(uint64_t h)
{
    int e = (int)((h & F16_EXP) >> 10);
    double m = (double)(h & F16_FRAC);
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? INFINITY : ldexp(m + 1024.0, e - 25);
    return (h & F16_SIGN) ? -v : v;
}

/* double to IEEE half under the current rounding mode (no flush: FZ16 governs
 * half precision and FEAT_FP16 is not offered). */
static uint64_t half_from(double x, uint64_t *flags, unsigned rmode)
{
    uint64_t sign = signbit(x) ? F16_SIGN : 0;
    double a = fabs(x);
    if (isinf(a))
        return sign | F16_EXP;
    if (a == 0)
        return sign;
    int e;
    frexp(a, &e);
    int exp = e - 1;
    bool tiny = exp < -14;
    double scaled = tiny ? ldexp(a, 24) : ldexp(a, 10 - exp);
    /* Round the magnitude by hand (exact: scaled < 2^11): away from zero when the
     * mode says so for this sign. */
    double r = floor(scaled), frac = scaled - r;
    bool up;
    switch (rmode) {
    case 0: up = frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0); break;
    case 1: up = frac > 0 && !sign; break;
    case 2: up = frac > 0 && sign; break;
    default: up = false; break;
    }
    r += up ? 1.0 : 0.0;
    bool inexact = frac != 0;
    uint64_t m = (uint64_t)r, bexp = tiny ? 0 : (uint64_t)(exp + 15);
    if (tiny && m >= 1024) {
        bexp = 1;
        m -= 1024;
    } else if (!tiny) {
        if (m >= 2048) {
            m >>= 1;
            bexp++;
        }
        m -= 1024;
    }
    if (inexact)
        *flags |= FPSR_IXC | (tiny ? FPSR_UFC : 0);
    if (bexp >= 31) {
        *flags |= FPSR_OFC | FPSR_IXC;
        bool to_inf = rmode == 0 || (rmode == 1 && !sign) || (rmode == 2 && sign);
        return sign | (to_inf ? F16_EXP : F16_MAX);
    }
    return sign | (bexp << 10) | m;
}

static bool half_nan(uint64_t h) { return (h & F16_EXP) == F16_EXP && (h & F16_FRAC); }

/* Half-precision FCVTs: NaNs keep sign and top payload bits, quietened. */
static ir_u128 convert_half(void *cpu, enum fp_unop op, bool dp, uint64_t a)
{
    uint64_t flags = 0, out;
    bool dn = (state(cpu)->fpcr & FPCR_DN) != 0;
    unsigned rmode = (unsigned)(state(cpu)->fpcr >> FPCR_RMODE_SHIFT) & 3;
    begin(cpu);
    if (op == FU_CVT_H2S || op == FU_CVT_H2D) {
        a &= 0xffff;
        const struct fmt *f = op == FU_CVT_H2D ? &F64 : &F32;
        if (half_nan(a)) {
            if (!(a & F16_QUIET))
                flags |= FPSR_IOC;
            uint64_t payload = a & (F16_FRAC & ~F16_QUIET);
            out = dn ? f->dnan : ((a & F16_SIGN) ? f->sign : 0) | f->exp | f->quiet |
                                     (f == &F64 ? payload << 42 : payload << 13);
        } else {
            double v = half_value(a);
            out = f == &F64 ? b64(v) : b32((float)v);
        }
    } else {
        const struct fmt *f = dp ? &F64 : &F32;
        a = flush_in(cpu, f, a, &flags);
        if (is_nan(f, a)) {
            if (is_snan(f, a))
                flags |= FPSR_IOC;
            uint64_t payload = f == &F64 ? (a >> 42) & 0x1ff : (a >> 13) & 0x1ff;
            out = dn ? F16_DEFAULT_NAN : ((a & f->sign) ? F16_SIGN : 0) | F16_EXP | F16_QUIET | payload;
        } else {
            out = half_from(dp ? f64(a) : f32(a), &flags, rmode);
        }
    }
    feclearexcept(FE_ALL_EXCEPT);
    end(cpu, flags);
    return out;
}

unsigned a64_recip_estimate(unsigned a)
{
    a = a * 2 + 1;                    /* units of 1/1024, rounded */
    unsigned b = (1u << 19) / a;
    return (b + 1) / 2;               /* round to nearest: 256..511 */
}

unsigned a64_rsqrt_estimate(unsigned a)
{
    if (a < 256)
        a = a * 2 + 1;                /* 0.25 <= a < 0.5, units of 1/512 */
    else
        a = ((a >> 1) << 1) * 2 + 2;  /* 0.5 <= a < 1, bottom bit dropped, units of 1/256 */
    unsigned b = 512;
    while (a * (b + 1) * (b + 1) < (1u << 28))
        b++;
    return (b + 1) / 2;
}

/* FPRecipEstimate / FPRSqrtEstimate / FPRecpX on a number (NaNs already handled). */
static uint64_t estimate(void *cpu, const struct fmt *f, enum fp_unop op, uint64_t a, bool dp, uint64_t *flags)
{
    unsigned mant = dp ? 52 : 23, ebits = dp ? 11 : 8;
    uint64_t sign = a & f->sign, mag = a & ~f->sign, max_exp = f->exp >> mant;
    int64_t exp = (int64_t)(mag >> mant);
    uint64_t frac = (mag & f->frac) << (52 - mant);   /* as a 52-bit double fraction */
    double value = dp ? fabs(f64(a)) : fabs((double)f32(a));
    if (op == FU_RECPX)
        return sign | (exp == 0 ? (max_exp - 1) << mant : ((~(uint64_t)exp) & max_exp) << mant);
    if (mag == 0) {
        *flags |= FPSR_DZC;
        return sign | f->exp;
    }
    if (op == FU_RSQRTE) {
        if (sign) {
            *flags |= FPSR_IOC;
            return f->dnan;
        }
        if (mag == f->exp)
            return 0;
        if (exp == 0) {
            while (!(frac >> 51 & 1))
                frac = (frac << 1) & F64_FRAC, exp--;
            frac = (frac << 1) & F64_FRAC;
        }
        unsigned scaled = (exp & 1) ? (unsigned)(0x80 | (frac >> 45)) : (unsigned)(0x100 | (frac >> 44));
        int64_t rexp = ((dp ? 3068 : 380) - exp) / 2;
        uint64_t est = a64_rsqrt_estimate(scaled) & 0xff;
        return ((uint64_t)rexp & max_exp) << mant | est << (mant - 8);
    }
    if (mag == f->exp)
        return sign;
    if (value < (dp ? 0x1p-1024 : 0x1p-128)) {
        unsigned rm = (unsigned)(state(cpu)->fpcr >> FPCR_RMODE_SHIFT) & 3;
        bool to_inf = rm == 0 || (rm == 1 && !sign) || (rm == 2 && sign);
        *flags |= FPSR_OFC | FPSR_IXC;
        return sign | (to_inf ? f->exp : f->exp - (1ull << mant) + f->frac);
    }
    if ((state(cpu)->fpcr & FPCR_FZ) && value >= (dp ? 0x1p1022 : 0x1p126)) {
        *flags |= FPSR_UFC | FLAG_NO_IXC;
        return sign;
    }
    if (exp == 0) {
        if (!(frac >> 51 & 1))
            exp = -1, frac = (frac << 2) & F64_FRAC;
        else
            frac = (frac << 1) & F64_FRAC;
    }
    int64_t rexp = (dp ? 2045 : 253) - exp;
    uint64_t rfrac = (uint64_t)(a64_recip_estimate((unsigned)(0x100 | (frac >> 44))) & 0xff) << 44;
    if (rexp == 0) {
        rfrac = (1ull << 51) | (rfrac >> 1);
    } else if (rexp == -1) {
        rfrac = (1ull << 50) | (rfrac >> 2);
        rexp = 0;
    }
    (void)ebits;
    return sign | ((uint64_t)rexp & max_exp) << mant | rfrac >> (52 - mant);
}

ir_u128 a64_fp_unop(void *cpu, ir_u128 ra, ir_u128 rb, ir_u128 rc)
{
    (void)rb;
    enum fp_unop op = (enum fp_unop)(rc & 0xff);
    bool dp = ((rc >> 8) & 3) == 1;
    if (op >= FU_CVT_H2S && op <= FU_CVT_D2H)
        return convert_half(cpu, op, dp, (uint64_t)ra);
    const struct fmt *f = dp ? &F64 : &F32;
    uint64_t flags = 0, out;
    uint64_t a = flush_in(cpu, f, (uint64_t)ra, &flags);
    begin(cpu);
    if (process_nans(cpu, f, &a, 1, &out, &flags)) {
        if (op == FU_CVT_S2D)   /* keep the payload across the widening */
            out = (state(cpu)->fpcr & FPCR_DN) ? F64_DEFAULT_NAN
                  : ((out & F32_SIGN) ? F64_SIGN : 0) | F64_EXP | F64_QUIET | ((out & 0x3fffffull) << 29);
        else if (op == FU_CVT_D2S || op == FU_CVT_D2S_ODD)
            out = (state(cpu)->fpcr & FPCR_DN) ? F32_DEFAULT_NAN
                  : ((out & F64_SIGN) ? F32_SIGN : 0) | F32_EXP | F32_QUIET | ((out >> 29) & 0x3fffffull);
        end(cpu, flags);
        return out;
    }
    switch (op) {
    case FU_RECPE: case FU_RSQRTE: case FU_RECPX:
        out = estimate(cpu, f, op, a, dp, &flags);
        break;
    case FU_SQRT:
        out = fix_out(cpu, f, dp ? b64(sqrt(f64(a))) : b32(sqrtf(f32(a))), &flags);
        break;
    case FU_RINT: {
        /* FRINT{N,P,M,Z,A,X,I}: rmode in bits 14:12 of the control word */
        static const int modes[8] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO, 0, 0, -1, -1 };
        unsigned rm = (unsigned)(rc >> 12) & 7;
        double v = dp ? f64(a) : f32(a), r;
        if (rm == 4) {
            r = round(v);
        } else {
            if (modes[rm] >= 0)
                fesetround(modes[rm]);
            r = nearbyint(v);
            if (modes[rm] >= 0)
                fesetround(guest_round(state(cpu)));   /* back to begin()'s mode for end() */
        }
        feclearexcept(FE_ALL_EXCEPT);
        if (rm == 6 && r != v)
            flags |= FPSR_IXC;   /* only FRINTX signals Inexact */
        out = dp ? b64(r) : b32((float)r);
        break;
    }
    case FU_CVT_S2D:
        out = fix_out(cpu, &F64, b64((double)f32(a)), &flags);
        break;
    case FU_CVT_D2S_ODD:
        /* Round to odd whatever FPCR.RMode says: truncate, then set the lowest bit
         * if anything was lost (an overflow truncates to the largest normal, odd). */
        if (!fz_flush(cpu, &F32, f64(a), &out, &flags)) {
            fesetround(FE_TOWARDZERO);
            feclearexcept(FE_INEXACT);   /* begin() leaves it when FPSR.IXC is already set */
            out = b32((float)f64(a));
            fesetround(guest_round(state(cpu)));   /* back to begin()'s mode for end() */
            if (fetestexcept(FE_INEXACT))
                out |= 1;
            out = fix_out(cpu, &F32, out, &flags);
        }
        break;
    default:
        if (!fz_flush(cpu, &F32, f64(a), &out, &flags))
            out = fix_out(cpu, &F32, b32((float)f64(a)), &flags);
        break;
    }
    end(cpu, flags);
    return out;
}

/* FMADD family: a = Rn, b = Rm, c = Ra | ftype << 64 | negations << 66. */
ir_u128 a64_fp_fma(void *cpu, ir_u128 ra, ir_u128 rb, ir_u128 rc)
{
    bool dp = ((rc >> 64) & 3) == 1;
    bool neg_prod = (rc >> 66) & 1, neg_add = (rc >> 67) & 1;
    const struct fmt *f = dp ? &F64 : &F32;
    uint64_t flags = 0, out;
    uint64_t n = flush_in(cpu, f, (uint64_t)ra, &flags), m = flush_in(cpu, f, (uint64_t)rb, &flags);
    uint64_t add = flush_in(cpu, f, (uint64_t)rc, &flags);
    /* The Arm ARM negates the operands before NaN processing. */
    if (neg_prod)
        n ^= f->sign;
    if (neg_add)
        add ^= f->sign;
    uint64_t ops[3] = { add, n, m };
    begin(cpu);
    /* FPMulAdd: a quiet-NaN addend with an infinity times zero is invalid. */
    bool inf_n = (n & ~f->sign) == f->exp, inf_m = (m & ~f->sign) == f->exp;
    bool zero_n = !(n & ~f->sign), zero_m = !(m & ~f->sign);
    if (is_nan(f, add) && !is_snan(f, add) && ((inf_n && zero_m) || (zero_n && inf_m))) {
        end(cpu, flags | FPSR_IOC);
        return f->dnan;
    }
    if (process_nans(cpu, f, ops, 3, &out, &flags)) {
        end(cpu, flags);
        return out;
    }
    out = dp ? b64(fma(f64(n), f64(m), f64(add))) : b32(fmaf(f32(n), f32(m), f32(add)));
    long double exact = dp ? fmal(f64(n), f64(m), f64(add)) : (long double)fma(f32(n), f32(m), f32(add));
    if (!fz_flush(cpu, f, exact, &out, &flags))
        out = fix_out(cpu, f, out, &flags);
    end(cpu, flags);
    return out;
}

/* FCMP/FCMPE: returns NZCV in bits 31:28. c = ftype | signal_all << 8, and for
 * FCCMP: conditional << 9 | nzcv_imm << 12 | condition_holds << 16. */
#define NZCV_EQ 0x60000000ull
#define NZCV_LT 0x80000000ull
#define NZCV_GT 0x20000000ull
#define NZCV_UN 0x30000000ull

ir_u128 a64_fp_cmp(void *cpu, ir_u128 ra, ir_u128 rb, ir_u128 rc)
{
    bool dp = (rc & 3) == 1, signal_all = (rc >> 8) & 1;
    if (((rc >> 9) & 1) && !((rc >> 16) & 1))
        return (uint64_t)((rc >> 12) & 0xf) << 28;   /* condition failed: no compare, no flags */
    const struct fmt *f = dp ? &F64 : &F32;
    uint64_t flags = 0;
    uint64_t a = flush_in(cpu, f, (uint64_t)ra, &flags), b = flush_in(cpu, f, (uint64_t)rb, &flags);
    uint64_t r;
    if (is_nan(f, a) || is_nan(f, b)) {
        if (signal_all || is_snan(f, a) || is_snan(f, b))
            flags |= FPSR_IOC;
        r = NZCV_UN;
    } else {
        double x = dp ? f64(a) : f32(a), y = dp ? f64(b) : f32(b);
        r = x == y ? NZCV_EQ : x < y ? NZCV_LT : NZCV_GT;
    }
    state(cpu)->fpsr |= flags;
    return r;
}

/* Conversions: c = kind | ftype << 8 | sf << 10. */

/* rm: 0 toward zero, 1 nearest even, 2 +inf, 3 -inf, 4 nearest away. */
static double round_mode(double x, unsigned rm)
{
    switch (rm) {
    case 1: { double r = floor(x), d = x - r;
              return d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0) ? r + 1 : r; }
    case 2: return ceil(x);
    case 3: return floor(x);
    case 4: return round(x);
    default: return trunc(x);
    }
}

static uint64_t to_int(double x, bool is_signed, bool sf, uint64_t *flags, unsigned rm)
{
    double t = isnan(x) || isinf(x) ? x : round_mode(x, rm);
    if (t != x)
        *flags |= FPSR_IXC;
    if (is_signed) {
        double lo = sf ? -9223372036854775808.0 : -2147483648.0, hi = sf ? 9223372036854775808.0 : 2147483648.0;
        if (isnan(x) || t < lo || t >= hi) {
            *flags = (*flags & ~FPSR_IXC) | FPSR_IOC;
            if (isnan(x))
                return 0;
            return t < 0 ? (sf ? 0x8000000000000000ull : 0x80000000ull) : (sf ? INT64_MAX : INT32_MAX);
        }
        int64_t v = (int64_t)t;
        return sf ? (uint64_t)v : (uint32_t)v;
    }
    double hi = sf ? 18446744073709551616.0 : 4294967296.0;
    if (isnan(x) || t < 0 || t >= hi) {
        *flags = (*flags & ~FPSR_IXC) | FPSR_IOC;
        if (isnan(x) || t < 0)
            return 0;
        return sf ? UINT64_MAX : UINT32_MAX;
    }
    return (uint64_t)t;
}

ir_u128 a64_fp_cvt(void *cpu, ir_u128 ra, ir_u128 rb, ir_u128 rc)
{
    (void)rb;
    enum fp_cvt kind = (enum fp_cvt)(rc & 0xff);
    bool dp = ((rc >> 8) & 3) == 1, sf = (rc >> 10) & 1;
    const struct fmt *f = dp ? &F64 : &F32;
    uint64_t flags = 0, out;
    uint64_t a = (uint64_t)ra;
    begin(cpu);
    int fbits = (int)((rc >> 16) & 0x7f);   /* fixed-point forms: fraction bits */
    if (kind == FC_SCVTF || kind == FC_UCVTF) {
        int64_t s = sf ? (int64_t)a : (int32_t)(uint32_t)a;
        uint64_t u = sf ? a : (uint32_t)a;
        /* exact in long double, scaled exactly, then rounded once */
        long double v = ldexpl(kind == FC_SCVTF ? (long double)s : (long double)u, -fbits);
        out = dp ? b64((double)v) : b32((float)v);
        out = fix_out(cpu, f, out, &flags);
    } else {
        a = flush_in(cpu, f, a, &flags);
        double x = ldexp(dp ? f64(a) : f32(a), fbits);
        out = to_int(x, kind == FC_FCVTZS, sf, &flags, (unsigned)(rc >> 12) & 7);
        feclearexcept(FE_ALL_EXCEPT);   /* to_int computed the flags itself */
    }
    end(cpu, flags);
    return out;
}

/* One lane of an IR FP op (jit/ir.h) as the helpers above compute it, its flags into
 * the scratch FPSR. CMP's aux is a predicate (0 EQ as FCMEQ, 1 LT as FCMGT with its
 * operands swapped, 2 LE as FCMGE; the ordered ones signal on a quiet NaN); REL's is
 * FCMPE's signalling; MIN/MAX's picks the NM forms; the conversions' integer is 64
 * bits wide when sf is set. */
static uint64_t default_lane(uint64_t how, uint64_t x, uint64_t y, uint64_t ftype, uint64_t sf)
{
    static const enum fp_binop binop[IR_FP_SQRT] = { FB_ADD, FB_SUB, FB_MUL, FB_DIV };
    unsigned kind = IR_FP_KIND(how), aux = IR_FP_AUX(how);
    switch (kind) {
    case IR_FP_SQRT: return a64_fp_unop(NULL, x, 0, FU_SQRT | (ftype << 8));
    case IR_FP_MIN: return a64_fp_binop(NULL, x, y, (aux ? FB_MINNM : FB_MIN) | (ftype << 8));
    case IR_FP_MAX: return a64_fp_binop(NULL, x, y, (aux ? FB_MAXNM : FB_MAX) | (ftype << 8));
    case IR_FP_CMP: case IR_FP_REL: {
        unsigned p = aux & 7;
        bool signal = kind == IR_FP_REL ? (aux & 1) : ((p == 1 || p == 2) != ((aux >> 4) & 1));
        uint64_t nzcv = (uint64_t)a64_fp_cmp(NULL, x, y, ftype | (signal ? 0x100u : 0));
        bool lt = nzcv == NZCV_LT, eq = nzcv == NZCV_EQ, un = !lt && !eq && nzcv != NZCV_GT;
        if (kind == IR_FP_REL)
            return lt ? IR_FP_REL_LT : eq ? IR_FP_REL_EQ : un ? IR_FP_REL_UN : IR_FP_REL_GT;
        static const uint8_t holds_lt = 0xd6, holds_eq = 0xa5, holds_gt = 0xf0, holds_un = 0x78;   /* bit p */
        uint8_t set = un ? holds_un : lt ? holds_lt : eq ? holds_eq : holds_gt;
        return ((set >> p) & 1) ? (ftype ? ~0ull : 0xffffffffull) : 0;
    }
    case IR_FP_SITOF: case IR_FP_UITOF: case IR_FP_FTOSI: case IR_FP_FTOUI: {
        static const enum fp_cvt cvt[] = { FC_SCVTF, FC_UCVTF, FC_FCVTZS, FC_FCVTZU };
        uint64_t rm = (aux & IR_FP_CVT_NEAREST) ? RM_NEAREST : RM_ZERO;
        return a64_fp_cvt(NULL, x, 0, cvt[kind - IR_FP_SITOF] | (ftype << 8) | (sf << 10) | (rm << 12));
    }
    default: return kind < IR_FP_SQRT ? a64_fp_binop(NULL, x, y, binop[kind] | (ftype << 8)) : 0;
    }
}

/* The fallback of the IR's FP ops under the default FPCR (trans_fp.c), scalar or lane
 * by lane as the SIMD helper does: the value or the FPSR flags. */
static ir_u128 fp_default(void *cpu, ir_u128 a, ir_u128 b, ir_u128 how)
{
    (void)cpu;
    unsigned kind = IR_FP_KIND((uint64_t)how), fmt = IR_FP_FORMAT((uint64_t)how);
    if (kind >= IR_FP_KIND_COUNT || fmt >= IR_FP_FORMAT_COUNT)
        return 0;
    uint64_t ftype = (fmt == IR_FP_F64 || fmt == IR_FP_V2F64) ? 1 : 0;
    unsigned lanes = fmt == IR_FP_V4F32 ? 4 : fmt == IR_FP_V2F64 ? 2 : 1, w = ftype ? 64 : 32;
    ir_u128 lane_mask = ftype ? ~0ull : 0xffffffffull, r = 0;
    scratch.fpcr = 0;
    scratch.fpsr = 0;
    if (kind == IR_FP_FMA) {   /* one lane, z above how (jit/ir.h) */
        unsigned aux = IR_FP_AUX((uint64_t)how);
        ir_u128 ctl = ((ir_u128)ftype << 64) | ((ir_u128)(aux & IR_FP_FMA_NEG_PROD) << 66) |
                      ((ir_u128)((aux & IR_FP_FMA_NEG_ADD) >> 1) << 67);
        r = a64_fp_fma(NULL, a, b, (ir_u128)(uint64_t)(how >> 64) | ctl);
        return ((uint64_t)how & IR_FP_WANT_FLAGS) ? scratch.fpsr : r;
    }
    if (lanes == 1) {   /* a scalar conversion's integer may be wider than the float */
        uint64_t sf = (IR_FP_AUX((uint64_t)how) & IR_FP_CVT_64) != 0;
        r = default_lane((uint64_t)how, (uint64_t)a, (uint64_t)b, ftype, sf);
        return ((uint64_t)how & IR_FP_WANT_FLAGS) ? scratch.fpsr : r;
    }
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t x = (uint64_t)((a >> (w * i)) & lane_mask), y = (uint64_t)((b >> (w * i)) & lane_mask);
        r |= ((ir_u128)default_lane((uint64_t)how, x, y, ftype, ftype) & lane_mask) << (w * i);
    }
    return ((uint64_t)how & IR_FP_WANT_FLAGS) ? scratch.fpsr : r;
}

const struct ir_helper a64_fp_default_helper = { "a64_fp_default", fp_default, IR_HELPER_PURE };

#define FP_HELPER (IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE)

void a64_fp_helpers_register(void)
{
    static const struct ir_helper helpers[] = {
        [A64_H_FP_BINOP] = { "a64_fp_binop", a64_fp_binop, FP_HELPER },
        [A64_H_FP_UNOP] = { "a64_fp_unop", a64_fp_unop, FP_HELPER },
        [A64_H_FP_FMA] = { "a64_fp_fma", a64_fp_fma, FP_HELPER },
        [A64_H_FP_CMP] = { "a64_fp_cmp", a64_fp_cmp, FP_HELPER },
        [A64_H_FP_CVT] = { "a64_fp_cvt", a64_fp_cvt, FP_HELPER },
    };
    for (unsigned i = A64_H_FP_BINOP; i <= A64_H_FP_CVT; i++)
        a64_helper_id[i] = ir_helper_register(&helpers[i]);
    a64_helper_id[A64_H_FP_DEFAULT] = ir_helper_register(&a64_fp_default_helper);
}
