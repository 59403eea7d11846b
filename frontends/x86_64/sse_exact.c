/* sse_exact.c - PE as the hardware reports it when an unmasked overflow or underflow
 * stops an SSE operation: whether the exact result, rounded to the destination's
 * significand width with an unbounded exponent, is inexact. Integer arithmetic on
 * the significands (value = m * 2^e), so the host's floating point plays no part. */
#include "frontends/x86_64/x86_sse.h"

struct parts {
    bool neg;
    uint64_t m;   /* 0 for a zero; NaN and infinity are not decomposed */
    int e;
};

/* Finite x as sign, integer significand and exponent; false for NaN/infinity. */
static bool decompose(const x86_lanes *x, bool f64, unsigned i, struct parts *p)
{
    uint64_t bits = f64 ? x->q[i] : x->d[i];
    unsigned frac_bits = f64 ? 52 : 23, exp_max = f64 ? 0x7ff : 0xff;
    int bias = f64 ? 1075 : 150;   /* exponent bias plus the fraction width */
    unsigned ex = (unsigned)(bits >> frac_bits) & exp_max;
    p->neg = (bits >> (f64 ? 63 : 31)) & 1;
    p->m = bits & ((1ull << frac_bits) - 1);
    if (ex == exp_max)
        return false;
    if (ex)
        p->m |= 1ull << frac_bits;
    p->e = (ex ? (int)ex : 1) - bias;
    return true;
}

/* Significant bits of m: from the highest set bit to the lowest. */
static unsigned span(unsigned __int128 m)
{
    if (!m)
        return 0;
    unsigned lo = 0, hi = 0;
    while (!((m >> lo) & 1))
        lo++;
    for (unsigned k = 0; k < 128; k++)
        if ((m >> k) & 1)
            hi = k;
    return hi - lo + 1;
}

static bool sum_exact(struct parts a, struct parts b, bool subtract, unsigned width)
{
    if (subtract)
        b.neg = !b.neg;
    if (!a.m || !b.m)
        return span(a.m ? a.m : b.m) <= width;
    if (a.e < b.e) {
        struct parts t = a;
        a = b;
        b = t;
    }
    int diff = a.e - b.e;
    if (diff > 64)
        return false;   /* the smaller addend lies entirely below any 53-bit result */
    __int128 x = (__int128)((unsigned __int128)a.m << diff), y = (__int128)b.m;
    __int128 s = (a.neg ? -x : x) + (b.neg ? -y : y);
    return span((unsigned __int128)(s < 0 ? -s : s)) <= width;
}

static bool quotient_exact(struct parts a, struct parts b, unsigned width)
{
    if (!a.m || !b.m)
        return true;
    uint64_t odd = b.m;
    while (!(odd & 1))
        odd >>= 1;
    return a.m % odd == 0 && span(a.m / odd) <= width;
}

/* Lane i of a op b (or of b alone for the conversions; HADD/HSUB pair lanes within
 * one source). true when exact or not a finite computation. */
static bool lane_exact(unsigned op, bool f64_in, unsigned width, const x86_lanes *a, const x86_lanes *b, unsigned i)
{
    struct parts x, y;
    switch (op) {
    case X86_SSE_CVTSD2SS: case X86_SSE_CVTPD2PS:
        return !decompose(b, true, i, &y) || span(y.m) <= width;
    case X86_SSE_HADDPS: case X86_SSE_HSUBPS: case X86_SSE_HADDPD: case X86_SSE_HSUBPD: {
        unsigned half = f64_in ? 1 : 2;
        const x86_lanes *src = i < half ? a : b;
        unsigned k = 2 * (i % half);
        if (!decompose(src, f64_in, k, &x) || !decompose(src, f64_in, k + 1, &y))
            return true;
        return sum_exact(x, y, op == X86_SSE_HSUBPS || op == X86_SSE_HSUBPD, width);
    }
    default:
        break;
    }
    if (!decompose(a, f64_in, i, &x) || !decompose(b, f64_in, i, &y))
        return true;
    switch (op) {
    case X86_SSE_MULSS: case X86_SSE_MULPS: case X86_SSE_MULSD: case X86_SSE_MULPD:
        return span((unsigned __int128)x.m * y.m) <= width;
    case X86_SSE_DIVSS: case X86_SSE_DIVPS: case X86_SSE_DIVSD: case X86_SSE_DIVPD:
        return quotient_exact(x, y, width);
    case X86_SSE_ADDSUBPS: case X86_SSE_ADDSUBPD:
        return sum_exact(x, y, !(i & 1), width);
    case X86_SSE_SUBSS: case X86_SSE_SUBPS: case X86_SSE_SUBSD: case X86_SSE_SUBPD:
        return sum_exact(x, y, true, width);
    default:   /* ADDxx */
        return sum_exact(x, y, false, width);
    }
}

/* DPPS/DPPD: the products imm8[7:4] selects (where a tiny or huge step usually is;
 * a sum that overflows after exact products is not modelled). */
static int dot_product_inexact(bool f64, unsigned imm, const x86_lanes *a, const x86_lanes *b)
{
    unsigned width = f64 ? 53 : 24;
    for (unsigned i = 0; i < (f64 ? 2u : 4u); i++) {
        struct parts x, y;
        if ((imm & (0x10u << i)) && decompose(a, f64, i, &x) && decompose(b, f64, i, &y) &&
            span((unsigned __int128)x.m * y.m) > width)
            return 1;
    }
    return 0;
}

int x86_sse_unbounded_inexact(unsigned op, unsigned imm, bool f64_in, bool f64_out, unsigned lanes,
                              const x86_lanes *a, const x86_lanes *b)
{
    if (op == X86_SSE_DPPS || op == X86_SSE_DPPD)
        return dot_product_inexact(op == X86_SSE_DPPD, imm, a, b);
    switch (op) {
    case X86_SSE_ADDSS: case X86_SSE_ADDPS: case X86_SSE_ADDSD: case X86_SSE_ADDPD:
    case X86_SSE_SUBSS: case X86_SSE_SUBPS: case X86_SSE_SUBSD: case X86_SSE_SUBPD:
    case X86_SSE_MULSS: case X86_SSE_MULPS: case X86_SSE_MULSD: case X86_SSE_MULPD:
    case X86_SSE_DIVSS: case X86_SSE_DIVPS: case X86_SSE_DIVSD: case X86_SSE_DIVPD:
    case X86_SSE_ADDSUBPS: case X86_SSE_ADDSUBPD: case X86_SSE_HADDPS: case X86_SSE_HSUBPS:
    case X86_SSE_HADDPD: case X86_SSE_HSUBPD: case X86_SSE_CVTSD2SS: case X86_SSE_CVTPD2PS:
        break;
    default:
        return -1;   /* not modelled: keep the masked computation's PE */
    }
    unsigned width = f64_out ? 53 : 24;
    for (unsigned i = 0; i < lanes; i++)
        if (!lane_exact(op, f64_in, width, a, b, i))
            return 1;
    return 0;
}
