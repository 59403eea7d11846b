/* avx_fp.c - the AVX floating point that needs MXCSR and has no SSE twin: FMA3 and
 * F16C's conversions, one state helper (x86_h_avx_fp).
 * - FMA: x*y+z with one rounding (the host's fma()/fmaf(), which glibc runs on the
 *   host's FMA unit or emulates exactly) under the guest's rounding mode in a
 *   <fenv.h> window; its IE/OE/UE/PE flags are the guest's. DAZ zeroes denormal
 *   sources (else they raise DE, unless the operation is invalid: IE outranks it);
 *   FTZ with UM masked flushes a denormal result to zero with UE and PE. A NaN source gives the first NaN among the multiplicands
 *   and then the addend (x, y, z of x*y+z, whatever the form's operand order; the
 *   host CPU's rule) quieted, with IE for a signalling one; an
 *   invalid product or sum gives the default NaN. Negations are exact and apply to
 *   numbers only (a NaN comes back with its own sign).
 * - VCVTPH2PS: exact; IE for a signalling NaN (which comes back quieted); DAZ does not
 *   apply to half sources and raises no DE (as the host CPU does).
 * - VCVTPS2PH: rounding by imm8 (bits 1:0, or MXCSR.RC with bit 2), integer
 *   arithmetic on the bits: IE (signalling NaN), OE, UE (a tiny inexact result; tiny
 *   after rounding), PE, DE for a denormal source unless DAZ, which zeroes it.
 * Unmasked exceptions: x86_sse_fp_commit_lane (the flags recorded, both lanes' for a
 * 256-bit form, then #XM or #UD, the destination not written). What is not modelled: after an unmasked OE/UE the PE of
 * the unbounded-exponent result (sse_fp.c models it for the SSE operations). */
#include <fenv.h>
#include <math.h>
#include <string.h>

#include "frontends/x86_64/x86_avx.h"

#define MX_IE 0x0001u
#define MX_DE 0x0002u
#define MX_OE 0x0008u
#define MX_UE 0x0010u
#define MX_PE 0x0020u
#define MX_DAZ 0x0040u
#define MX_UM 0x0800u
#define MX_RC_SHIFT 13
#define MX_FZ 0x8000u
#define PH_USE_MXCSR 0x4u
#define F32_DEFAULT_NAN 0xffc00000u
#define F64_DEFAULT_NAN 0xfff8000000000000ull

enum { RC_NEAREST, RC_DOWN, RC_UP, RC_ZERO };
static const int host_rc[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };

/* ---- element classification on bits ---------------------------------------------------- */

struct fbits {
    bool f64;
    uint64_t sign, exp, frac, qbit;
};
static const struct fbits F32 = { false, 0x80000000u, 0x7f800000u, 0x007fffffu, 0x00400000u };
static const struct fbits F64 = { true, 0x8000000000000000ull, 0x7ff0000000000000ull, 0x000fffffffffffffull,
                                  0x0008000000000000ull };

static bool is_nan(const struct fbits *t, uint64_t v) { return (v & t->exp) == t->exp && (v & t->frac); }
static bool is_snan(const struct fbits *t, uint64_t v) { return is_nan(t, v) && !(v & t->qbit); }
static bool is_denormal(const struct fbits *t, uint64_t v) { return !(v & t->exp) && (v & t->frac); }

static uint64_t get(const x86_lanes *x, bool f64, unsigned i) { return f64 ? x->q[i] : x->d[i]; }
static void put(x86_lanes *x, bool f64, unsigned i, uint64_t v)
{
    if (f64)
        x->q[i] = v;
    else
        x->d[i] = (uint32_t)v;
}

/* ---- FMA ------------------------------------------------------------------------------ */

enum fma_kind { FMA_ADD, FMA_SUB, FMA_NADD, FMA_NSUB, FMA_ADDSUB, FMA_SUBADD };

static uint64_t fma_host(bool f64, uint64_t x, uint64_t y, uint64_t z, bool neg_xy, bool neg_z)
{
    if (f64) {
        double a, b, c;
        memcpy(&a, &x, 8), memcpy(&b, &y, 8), memcpy(&c, &z, 8);
        volatile double r = fma(neg_xy ? -a : a, b, neg_z ? -c : c);
        double rr = r;
        uint64_t u;
        memcpy(&u, &rr, 8);
        return u;
    }
    float a, b, c;
    uint32_t xs = (uint32_t)x, ys = (uint32_t)y, zs = (uint32_t)z;
    memcpy(&a, &xs, 4), memcpy(&b, &ys, 4), memcpy(&c, &zs, 4);
    volatile float r = fmaf(neg_xy ? -a : a, b, neg_z ? -c : c);
    float rr = r;
    uint32_t u;
    memcpy(&u, &rr, 4);
    return u;
}

/* One element: ops[0..2] are the operands in instruction order (dst, src2, src3),
 * xyz their roles. */
static uint64_t fma_elem(const struct fbits *t, uint32_t mxcsr, const uint64_t ops[3], const unsigned xyz[3],
                         bool neg_xy, bool neg_z, unsigned *flags)
{
    for (unsigned i = 0; i < 3; i++)
        if (is_snan(t, ops[i]))
            *flags |= MX_IE;
    for (unsigned i = 0; i < 3; i++)   /* the first NaN among x, y, z (the host CPU's order) */
        if (is_nan(t, ops[xyz[i]]))
            return ops[xyz[i]] | t->qbit;
    uint64_t v[3];
    unsigned de = 0;
    for (unsigned i = 0; i < 3; i++) {
        v[i] = ops[xyz[i]];
        if (is_denormal(t, v[i])) {
            if (mxcsr & MX_DAZ)
                v[i] &= t->sign;
            else
                de = MX_DE;
        }
    }
    feclearexcept(FE_ALL_EXCEPT);
    uint64_t r = fma_host(t->f64, v[0], v[1], v[2], neg_xy, neg_z);
    int e = fetestexcept(FE_INVALID | FE_OVERFLOW | FE_UNDERFLOW | FE_INEXACT);
    if (e & FE_INVALID) {   /* IE outranks DE */
        *flags |= MX_IE;
        return t->f64 ? F64_DEFAULT_NAN : F32_DEFAULT_NAN;
    }
    *flags |= de;
    *flags |= ((e & FE_OVERFLOW) ? MX_OE : 0) | ((e & FE_UNDERFLOW) ? MX_UE : 0) | ((e & FE_INEXACT) ? MX_PE : 0);
    if (is_denormal(t, r)) {
        if ((mxcsr & MX_FZ) && (mxcsr & MX_UM)) {
            *flags |= MX_UE | MX_PE;
            return r & t->sign;
        }
        if (!(mxcsr & MX_UM))
            *flags |= MX_UE;   /* an unmasked underflow is signalled for a tiny result even when exact */
    }
    return r;
}

/* One FMA element under the default MXCSR without a vCPU (the IR FP ops' fallback,
 * sse_fp_ir.c): x, y, z in their roles; the value, or (want_flags) its MXCSR flags. */
uint64_t x86_fma_default(bool f64, uint64_t x, uint64_t y, uint64_t z, bool neg_xy, bool neg_z, bool want_flags)
{
    static const unsigned identity[3] = { 0, 1, 2 };
    const uint64_t ops[3] = { x, y, z };
    unsigned flags = 0;
    uint64_t r = fma_elem(f64 ? &F64 : &F32, 0x1f80u, ops, identity, neg_xy, neg_z, &flags);
    return want_flags ? flags : r;
}

static void fma_lanes(unsigned how, uint32_t mxcsr, const x86_lanes *d, const x86_lanes *a, const x86_lanes *b,
                      x86_lanes *r, unsigned *flags)
{
    unsigned kind = (how >> 8) & 0xf, order = (how >> 24) & 3, type = (how >> 26) & 3;
    bool f64 = type & 1, scalar = type >= 2;
    const struct fbits *t = f64 ? &F64 : &F32;
    /* roles (x, y, z) as operand numbers for the three orders */
    static const unsigned roles[3][3] = { { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 } };
    unsigned n = scalar ? 1 : (f64 ? 2 : 4);
    *r = *d;
    for (unsigned i = 0; i < n; i++) {
        uint64_t ops[3] = { get(d, f64, i), get(a, f64, i), get(b, f64, i) };
        bool add = kind == FMA_ADD || kind == FMA_NADD || (kind == FMA_ADDSUB && (i & 1)) ||
                   (kind == FMA_SUBADD && !(i & 1));
        bool neg_xy = kind == FMA_NADD || kind == FMA_NSUB;
        put(r, f64, i, fma_elem(t, mxcsr, ops, roles[order], neg_xy, !add, flags));
    }
}

/* ---- half precision ------------------------------------------------------------------- */

/* Round the 24-bit significand m (value m * 2^(e - 23)) to half: rc and sign pick
 * the direction; sets PE/UE/OE. */
static uint16_t single_to_half(uint32_t x, unsigned rc, uint32_t mxcsr, unsigned *flags)
{
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xff, frac = x & 0x7fffffu;
    if (exp == 0xff) {
        if (!frac)
            return sign | 0x7c00u;
        if (!(frac & 0x400000u))
            *flags |= MX_IE;
        return sign | 0x7e00u | (uint16_t)(frac >> 13);
    }
    if (exp == 0) {
        if (!frac)
            return sign;
        if (mxcsr & MX_DAZ)
            return sign;
        *flags |= MX_DE;
    }
    int e = exp ? (int)exp - 127 : -126;
    uint64_t m = exp ? (frac | 0x800000u) : frac;   /* value m * 2^(e-23) */
    int shift = e >= -14 ? 13 : 13 + (-14 - e);       /* bits of m below the half's last bit */
    if (shift > 40)
        shift = 40;
    uint64_t q = m >> shift, rem = m & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    bool inexact = rem != 0, up;
    switch (rc) {
    case RC_NEAREST: up = rem > half || (rem == half && (q & 1)); break;
    case RC_DOWN: up = inexact && sign; break;
    case RC_UP: up = inexact && !sign; break;
    default: up = false; break;
    }
    q += up;
    int hexp = e >= -14 ? e + 15 : 0;   /* q holds the hidden bit for normals */
    uint32_t bits;
    if (e >= -14) {
        if (q >> 11) {   /* carried into the next binade */
            q >>= 1;
            hexp++;
        }
        bits = ((uint32_t)hexp << 10) | (uint32_t)(q & 0x3ffu);
    } else {
        bits = (uint32_t)q;   /* denormal, or the smallest normal after a carry */
    }
    if (inexact)
        *flags |= MX_PE;
    if (hexp >= 31) {
        *flags |= MX_OE | MX_PE;
        bool to_inf = rc == RC_NEAREST || (rc == RC_UP && !sign) || (rc == RC_DOWN && sign);
        return sign | (uint16_t)(to_inf ? 0x7c00u : 0x7bffu);
    }
    if (bits < 0x400u && inexact)
        *flags |= MX_UE;
    return sign | (uint16_t)bits;
}

/* ---- the helper ------------------------------------------------------------------------- */

static ir_u128 h_avx_fp(void *vcpu, ir_u128 av, ir_u128 bv, ir_u128 howv)
{
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    unsigned how = (unsigned)howv, op = how & 0xff, flags = 0;
    uint32_t mxcsr = st->fpu.mxcsr;
    x86_lanes a, b, r;
    a.v = av, b.v = bv;
    memset(&r, 0, sizeof(r));
    if (op == X86_AVX_FP_FMA) {
        unsigned reg = (how >> 16) & 0xf;
        x86_lanes d;
        memcpy(&d, (how >> 20) & 1 ? &st->fpu.ymm_hi[reg] : &st->fpu.xmm[reg], sizeof(d));
        int old = fegetround();
        int want = host_rc[(mxcsr >> MX_RC_SHIFT) & 3];
        if (old != want)
            fesetround(want);
        fma_lanes(how, mxcsr, &d, &a, &b, &r, &flags);
        if (old != want)
            fesetround(old);
    } else if (op == X86_AVX_FP_PH2PS) {
        for (unsigned i = 0; i < 4; i++)
            if ((b.w[i] & 0x7c00u) == 0x7c00u && (b.w[i] & 0x3ffu) && !(b.w[i] & 0x200u))
                flags |= MX_IE;
        x86_sse_crypto(X86_SSE_CVTPH2PS, 0, 0, &a, &b, &r);
    } else {
        unsigned imm = (how >> 8) & 0xff;
        unsigned rc = (imm & PH_USE_MXCSR) ? (mxcsr >> MX_RC_SHIFT) & 3 : imm & 3;
        for (unsigned i = 0; i < 4; i++)
            r.w[i] = single_to_half(a.d[i], rc, mxcsr, &flags);
    }
    unsigned lane = (how & X86_AVX_FP_UPPER) ? X86_SSE_LANE_UPPER
                    : (how & X86_AVX_FP_LOWER) ? X86_SSE_LANE_LOWER : X86_SSE_LANE_ONLY;
    x86_sse_fp_commit_lane(cpu, flags, lane);
    return r.v;
}

const struct ir_helper x86_avx_fp_helper = {
    "x86_avx_fp", h_avx_fp, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT,
};
