/* sse_fp.c - MXCSR for the SSE floating-point operations: rounding control, DAZ and
 * FTZ, the six exception flags, and unmasked exceptions (#XM, or #UD without
 * CR4.OSXMMEXCPT) with the destination unchanged (SDM vol.1 11.5).
 *
 * How (docs/x86-frontend.md "MXCSR"): an operation is one of two kinds.
 * - Host-computed (add, sub, mul, div, sqrt, horizontal and dot products, FP<->FP and
 *   int->FP conversions): sse_ops.c computes it with C arithmetic on the host while
 *   C99 <fenv.h> holds the guest's rounding mode, and the host's IE/ZE/OE/UE/PE
 *   flags say what happened. Only flags the guest can still observe are tested
 *   (clear in MXCSR, or unmasked), and a stale host flag among those is cleared
 *   first. The common case (all masked, round to nearest, PE already set, ordinary
 *   operands and results) skips the window altogether (fast_path).
 * - Explicit (compares, MIN/MAX, FP->int conversions, ROUNDxx): computed here with
 *   the flags worked out from the operands; rounding by RC is floor/ceil/trunc/
 *   round-half-even written out, independent of the host's mode.
 * DE and DAZ are explicit for both (fenv has no denormal flag): a denormal source
 * lane raises DE unless a NaN in that lane takes priority; DAZ turns denormal
 * sources into signed zeros first. FTZ (with UM masked) flushes denormal results
 * to signed zero and raises UE and PE; tininess is judged after rounding. After an
 * unmasked overflow/underflow, PE is the unbounded-exponent rounding's (sse_exact.c). */
#include <fenv.h>
#include <math.h>
#include <string.h>

#include "frontends/x86_64/x86_sse.h"

typedef x86_lanes lanes_t;

/* MXCSR fields (SDM vol.1 10.2.3). */
#define MX_IE 0x0001u
#define MX_DE 0x0002u
#define MX_ZE 0x0004u
#define MX_OE 0x0008u
#define MX_UE 0x0010u
#define MX_PE 0x0020u
#define MX_FLAGS 0x003fu
#define MX_DAZ 0x0040u
#define MX_MASK_SHIFT 7        /* IM..PM: bits 7-12, in flag order */
#define MX_UM 0x0800u
#define MX_RC_SHIFT 13
#define MX_RC_MASK 0x3u
#define MX_FZ 0x8000u
#define MX_PRECOMP (MX_IE | MX_DE | MX_ZE)

enum { RC_NEAREST, RC_DOWN, RC_UP, RC_ZERO };

/* How each operation uses MXCSR; ops absent from the table raise no FP exception. */
enum fp_class { FPC_NONE = 0, FPC_HOST, FPC_CMP, FPC_MINMAX, FPC_TO_INT, FPC_ROUND };
enum { T_INT = 0, T_F32, T_F64 };

static const struct fp_desc {
    uint8_t cls;
    uint8_t in;        /* source element type */
    uint8_t n;         /* source lanes used */
    uint8_t binary;    /* a is a source too (else only b) */
    uint8_t out;       /* result element type (FTZ), lanes as n */
} fp_desc[X86_SSE_OP_COUNT] = {
#define D(op, cls, in, n, bin, out) [X86_SSE_##op] = { cls, in, n, bin, out },
    D(ADDSS, FPC_HOST, T_F32, 1, 1, T_F32) D(SUBSS, FPC_HOST, T_F32, 1, 1, T_F32) D(MULSS, FPC_HOST, T_F32, 1, 1, T_F32)
    D(DIVSS, FPC_HOST, T_F32, 1, 1, T_F32) D(SQRTSS, FPC_HOST, T_F32, 1, 0, T_F32)
    D(ADDPS, FPC_HOST, T_F32, 4, 1, T_F32) D(SUBPS, FPC_HOST, T_F32, 4, 1, T_F32) D(MULPS, FPC_HOST, T_F32, 4, 1, T_F32)
    D(DIVPS, FPC_HOST, T_F32, 4, 1, T_F32) D(SQRTPS, FPC_HOST, T_F32, 4, 0, T_F32)
    D(ADDSD, FPC_HOST, T_F64, 1, 1, T_F64) D(SUBSD, FPC_HOST, T_F64, 1, 1, T_F64) D(MULSD, FPC_HOST, T_F64, 1, 1, T_F64)
    D(DIVSD, FPC_HOST, T_F64, 1, 1, T_F64) D(SQRTSD, FPC_HOST, T_F64, 1, 0, T_F64)
    D(ADDPD, FPC_HOST, T_F64, 2, 1, T_F64) D(SUBPD, FPC_HOST, T_F64, 2, 1, T_F64) D(MULPD, FPC_HOST, T_F64, 2, 1, T_F64)
    D(DIVPD, FPC_HOST, T_F64, 2, 1, T_F64) D(SQRTPD, FPC_HOST, T_F64, 2, 0, T_F64)
    D(HADDPS, FPC_HOST, T_F32, 4, 1, T_F32) D(HSUBPS, FPC_HOST, T_F32, 4, 1, T_F32)
    D(ADDSUBPS, FPC_HOST, T_F32, 4, 1, T_F32) D(HADDPD, FPC_HOST, T_F64, 2, 1, T_F64)
    D(HSUBPD, FPC_HOST, T_F64, 2, 1, T_F64) D(ADDSUBPD, FPC_HOST, T_F64, 2, 1, T_F64)
    D(DPPS, FPC_HOST, T_F32, 4, 1, T_F32) D(DPPD, FPC_HOST, T_F64, 2, 1, T_F64)
    D(CVTSS2SD, FPC_HOST, T_F32, 1, 0, T_F64) D(CVTSD2SS, FPC_HOST, T_F64, 1, 0, T_F32)
    D(CVTPS2PD, FPC_HOST, T_F32, 2, 0, T_F64) D(CVTPD2PS, FPC_HOST, T_F64, 2, 0, T_F32)
    D(CVTSI32_SS, FPC_HOST, T_INT, 1, 0, T_F32) D(CVTSI64_SS, FPC_HOST, T_INT, 1, 0, T_F32)
    D(CVTSI64_SD, FPC_HOST, T_INT, 1, 0, T_F64) D(CVTDQ2PS, FPC_HOST, T_INT, 4, 0, T_F32)
    D(CMPSS, FPC_CMP, T_F32, 1, 1, T_INT) D(CMPPS, FPC_CMP, T_F32, 4, 1, T_INT)
    D(CMPSD, FPC_CMP, T_F64, 1, 1, T_INT) D(CMPPD, FPC_CMP, T_F64, 2, 1, T_INT)
    D(UCOMISS, FPC_CMP, T_F32, 1, 1, T_INT) D(UCOMISD, FPC_CMP, T_F64, 1, 1, T_INT)
    D(COMISS, FPC_CMP, T_F32, 1, 1, T_INT) D(COMISD, FPC_CMP, T_F64, 1, 1, T_INT)
    D(MINSS, FPC_MINMAX, T_F32, 1, 1, T_F32) D(MAXSS, FPC_MINMAX, T_F32, 1, 1, T_F32)
    D(MINPS, FPC_MINMAX, T_F32, 4, 1, T_F32) D(MAXPS, FPC_MINMAX, T_F32, 4, 1, T_F32)
    D(MINSD, FPC_MINMAX, T_F64, 1, 1, T_F64) D(MAXSD, FPC_MINMAX, T_F64, 1, 1, T_F64)
    D(MINPD, FPC_MINMAX, T_F64, 2, 1, T_F64) D(MAXPD, FPC_MINMAX, T_F64, 2, 1, T_F64)
    D(CVTSS2SI32, FPC_TO_INT, T_F32, 1, 0, T_INT) D(CVTSS2SI64, FPC_TO_INT, T_F32, 1, 0, T_INT)
    D(CVTSD2SI32, FPC_TO_INT, T_F64, 1, 0, T_INT) D(CVTSD2SI64, FPC_TO_INT, T_F64, 1, 0, T_INT)
    D(CVTTSS2SI32, FPC_TO_INT, T_F32, 1, 0, T_INT) D(CVTTSS2SI64, FPC_TO_INT, T_F32, 1, 0, T_INT)
    D(CVTTSD2SI32, FPC_TO_INT, T_F64, 1, 0, T_INT) D(CVTTSD2SI64, FPC_TO_INT, T_F64, 1, 0, T_INT)
    D(CVTPS2DQ, FPC_TO_INT, T_F32, 4, 0, T_INT) D(CVTTPS2DQ, FPC_TO_INT, T_F32, 4, 0, T_INT)
    D(CVTPD2DQ, FPC_TO_INT, T_F64, 2, 0, T_INT) D(CVTTPD2DQ, FPC_TO_INT, T_F64, 2, 0, T_INT)
    D(ROUNDSS, FPC_ROUND, T_F32, 1, 0, T_F32) D(ROUNDPS, FPC_ROUND, T_F32, 4, 0, T_F32)
    D(ROUNDSD, FPC_ROUND, T_F64, 1, 0, T_F64) D(ROUNDPD, FPC_ROUND, T_F64, 2, 0, T_F64)
#undef D
};

bool x86_sse_op_is_fp(unsigned op)
{
    return op < X86_SSE_OP_COUNT && fp_desc[op].cls != FPC_NONE;
}

/* ---- element classification on raw bits ---------------------------------------- */

static bool is_denormal(const lanes_t *x, unsigned t, unsigned i)
{
    if (t == T_F32)
        return (x->d[i] & 0x7f800000u) == 0 && (x->d[i] & 0x007fffffu) != 0;
    return (x->q[i] & 0x7ff0000000000000ull) == 0 && (x->q[i] & 0x000fffffffffffffull) != 0;
}

static bool is_nan(const lanes_t *x, unsigned t, unsigned i)
{
    if (t == T_F32)
        return (x->d[i] & 0x7fffffffu) > 0x7f800000u;
    return (x->q[i] & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

static bool is_snan(const lanes_t *x, unsigned t, unsigned i)
{
    if (t == T_F32)
        return is_nan(x, t, i) && !(x->d[i] & 0x00400000u);
    return is_nan(x, t, i) && !(x->q[i] & 0x0008000000000000ull);
}

static void to_signed_zero(lanes_t *x, unsigned t, unsigned i)
{
    if (t == T_F32)
        x->d[i] &= 0x80000000u;
    else
        x->q[i] &= 0x8000000000000000ull;
}

static double value(const lanes_t *x, unsigned t, unsigned i)
{
    return t == T_F32 ? (double)x->f[i] : x->g[i];
}

static bool is_zero(const lanes_t *x, unsigned t, unsigned i)
{
    return t == T_F32 ? (x->d[i] & 0x7fffffffu) == 0 : (x->q[i] & 0x7fffffffffffffffull) == 0;
}

static bool is_negative(const lanes_t *x, unsigned t, unsigned i)
{
    return t == T_F32 ? (x->d[i] >> 31) != 0 : (x->q[i] >> 63) != 0;
}

/* A lane whose invalid-operation or divide-by-zero condition outranks DE: a denormal
 * divided by zero, the square root of a negative denormal. */
static bool outranks_de(unsigned op, const lanes_t *b, unsigned t, unsigned i)
{
    switch (op) {
    case X86_SSE_DIVSS: case X86_SSE_DIVPS: case X86_SSE_DIVSD: case X86_SSE_DIVPD:
        return is_zero(b, t, i);
    case X86_SSE_SQRTSS: case X86_SSE_SQRTPS: case X86_SSE_SQRTSD: case X86_SSE_SQRTPD:
        return is_negative(b, t, i);
    default:
        return false;
    }
}

/* DAZ, or else DE: a denormal source lane with no NaN and no invalid or zero-divide
 * condition in it (SDM vol.1 4.9.2 priorities). */
static bool horizontal(unsigned op)
{
    return op == X86_SSE_HADDPS || op == X86_SSE_HSUBPS || op == X86_SSE_HADDPD || op == X86_SSE_HSUBPD;
}

/* Whether the computation that reads lane i of operand x (x is a or b) has a NaN
 * input: horizontal operations pair lanes within one operand, the others pair a
 * and b lane by lane. */
static bool nan_in_computation(unsigned op, const struct fp_desc *d, const lanes_t *x, const lanes_t *a,
                               const lanes_t *b, unsigned i)
{
    if (horizontal(op))
        return is_nan(x, d->in, i) || is_nan(x, d->in, i ^ 1);
    return is_nan(b, d->in, i) || (d->binary && is_nan(a, d->in, i));
}

/* Source lanes the operation reads: DPPS/DPPD only the products imm8[7:4] selects. */
static unsigned lane_mask(unsigned op, unsigned imm, const struct fp_desc *d)
{
    if (op == X86_SSE_DPPS || op == X86_SSE_DPPD)
        return (imm >> 4) & ((1u << d->n) - 1);
    return (1u << d->n) - 1;
}

static unsigned sources(unsigned op, unsigned imm, const struct fp_desc *d, uint32_t mxcsr, lanes_t *a, lanes_t *b)
{
    if (d->in == T_INT)
        return 0;
    unsigned flags = 0, mask = lane_mask(op, imm, d);
    bool de = d->cls != FPC_TO_INT && d->cls != FPC_ROUND && !(mxcsr & MX_DAZ);
    for (unsigned k = 0; k < 2; k++) {
        lanes_t *x = k ? a : b;
        if (k && !d->binary)
            break;
        for (unsigned i = 0; i < d->n; i++)
            if (is_denormal(x, d->in, i) && (mask & (1u << i)) && de && !nan_in_computation(op, d, x, a, b, i) &&
                !outranks_de(op, b, d->in, i))
                flags |= MX_DE;
    }
    if (mxcsr & MX_DAZ)
        for (unsigned i = 0; i < d->n; i++) {
            if (is_denormal(b, d->in, i))
                to_signed_zero(b, d->in, i);
            if (d->binary && is_denormal(a, d->in, i))
                to_signed_zero(a, d->in, i);
        }
    return flags;
}

/* ---- host-computed operations under the guest's rounding mode -------------------- */

static const int fe_round[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };

static int fe_of(unsigned mx)
{
    return ((mx & MX_IE) ? FE_INVALID : 0) | ((mx & MX_ZE) ? FE_DIVBYZERO : 0) | ((mx & MX_OE) ? FE_OVERFLOW : 0) |
           ((mx & MX_UE) ? FE_UNDERFLOW : 0) | ((mx & MX_PE) ? FE_INEXACT : 0);
}

static unsigned mx_of(int fe)
{
    return ((fe & FE_INVALID) ? MX_IE : 0) | ((fe & FE_DIVBYZERO) ? MX_ZE : 0) | ((fe & FE_OVERFLOW) ? MX_OE : 0) |
           ((fe & FE_UNDERFLOW) ? MX_UE : 0) | ((fe & FE_INEXACT) ? MX_PE : 0);
}

/* The guest's rounding mode and a clean slate for the host flags the guest can still
 * observe (clear in MXCSR, or unmasked); fenv_leave returns them as MXCSR flags. */
struct fenv_window {
    int want, saved, round;
};

static void fenv_enter(struct fenv_window *w, uint32_t mxcsr)
{
    unsigned unmasked = ~(mxcsr >> MX_MASK_SHIFT) & MX_FLAGS;
    w->want = fe_of((~mxcsr | unmasked) & MX_FLAGS & ~MX_DE);
    w->round = fe_round[(mxcsr >> MX_RC_SHIFT) & MX_RC_MASK];
    w->saved = fegetround();
    int stale = w->want ? fetestexcept(w->want) : 0;
    if (stale)
        feclearexcept(stale);
    if (w->saved != w->round)
        fesetround(w->round);
}

static unsigned fenv_leave(const struct fenv_window *w)
{
    unsigned flags = w->want ? mx_of(fetestexcept(w->want)) : 0;
    if (w->saved != w->round)
        fesetround(w->saved);
    return flags;
}

/* A result lane under FTZ (UM masked: a denormal becomes a signed zero, UE and PE)
 * or an unmasked UM (a denormal result signals UE even when exact). */
static unsigned tiny_result(lanes_t *r, unsigned t, unsigned i, uint32_t mxcsr)
{
    if (!is_denormal(r, t, i))
        return 0;
    if (mxcsr & MX_UM) {
        if (!(mxcsr & MX_FZ))
            return 0;
        to_signed_zero(r, t, i);
        return MX_UE | MX_PE;
    }
    return MX_UE;
}

/* An intermediate of DPPS/DPPD as the source of the next addition: DAZ zeroes a
 * denormal; else it raises DE unless the other addend is a NaN. */
static unsigned dpp_source(lanes_t *x, unsigned t, unsigned i, unsigned other, uint32_t mxcsr)
{
    unsigned flags = 0;
    if (!is_denormal(x, t, i))
        return flags;
    if (mxcsr & MX_DAZ)
        to_signed_zero(x, t, i);
    else if (!is_nan(x, t, other))
        flags |= MX_DE;
    return flags;
}

/* The x86 NaN rule for a lane-wise binary operation (SDM vol.1 table 4-7): with a
 * NaN source the result is the first NaN operand, quieted, whichever operand order
 * the compiler chose for a commutative C operator. r is the computed lane. */
static void nan_rule(lanes_t *r, const lanes_t *a, const lanes_t *b, unsigned t, unsigned i)
{
    const lanes_t *src = is_nan(a, t, i) ? a : is_nan(b, t, i) ? b : NULL;
    if (!src)
        return;
    if (t == T_F32)
        r->d[i] = src->d[i] | 0x00400000u;
    else
        r->q[i] = src->q[i] | 0x0008000000000000ull;
}

static double first_nan(double computed, const lanes_t *a, const lanes_t *b, unsigned t, unsigned i)
{
    lanes_t r;
    if (t == T_F32)
        r.f[i] = (float)computed;
    else
        r.g[i] = computed;
    nan_rule(&r, a, b, t, i);
    return value(&r, t, i);
}

/* x + y with the x86 NaN choice made explicit (the first NaN operand, quieted): C
 * lets the compiler swap the operands of a commutative +. */
static float add_f32(float x, float y)
{
    volatile float vx = x, vy = y, sum = vx + vy;
    lanes_t l;
    l.f[0] = isnan(x) ? x : isnan(y) ? y : sum;
    if (isnan(l.f[0]))
        l.d[0] |= 0x00400000u;
    return l.f[0];
}

static double add_f64(double x, double y)
{
    volatile double vx = x, vy = y, sum = vx + vy;
    lanes_t l;
    l.g[0] = isnan(x) ? x : isnan(y) ? y : sum;
    if (isnan(l.g[0]))
        l.q[0] |= 0x0008000000000000ull;
    return l.g[0];
}

/* DPPS/DPPD step by step (products, pairwise sums, the total), so that each step's
 * flags, FTZ, DAZ and DE are those of a separate operation. Each destination lane
 * adds in its own order (u[i] = t[i^1] + t[i], then u[i] + u[i^2]): all orders give the same number, but a NaN result
 * is the first NaN operand, and this is the order the hardware shows. Products
 * imm8[7:4] does not select are +0 (not computed); the sums are computed for every
 * lane and imm8[3:0] only selects which are stored. */
static unsigned dot_product(unsigned op, unsigned imm, uint32_t mxcsr, const lanes_t *a, const lanes_t *b,
                            lanes_t *r)
{
    unsigned flags = 0;
    volatile lanes_t va = *a, vb = *b;
    lanes_t t, u;
    if (op == X86_SSE_DPPS) {
        for (unsigned i = 0; i < 4; i++)
            t.f[i] = (imm & (0x10u << i)) ? first_nan(va.f[i] * vb.f[i], a, b, T_F32, i) : 0.0f;
        for (unsigned i = 0; i < 4; i++)
            flags |= tiny_result(&t, T_F32, i, mxcsr);
        for (unsigned i = 0; i < 4; i++)
            flags |= dpp_source(&t, T_F32, i, i ^ 1, mxcsr);
        volatile lanes_t vt = t;
        for (unsigned i = 0; i < 4; i++)
            u.f[i] = add_f32(vt.f[i ^ 1], vt.f[i]);
        for (unsigned i = 0; i < 4; i++)
            flags |= tiny_result(&u, T_F32, i, mxcsr);
        for (unsigned i = 0; i < 4; i++)
            flags |= dpp_source(&u, T_F32, i, i ^ 2, mxcsr);
        volatile lanes_t vu = u;
        for (unsigned i = 0; i < 4; i++)
            u.f[i] = add_f32(vu.f[i], vu.f[i ^ 2]);   /* every lane, selected or not: its flags count */
        for (unsigned i = 0; i < 4; i++)
            r->f[i] = (imm & (1u << i)) ? u.f[i] : 0.0f;
        return flags;
    }
    for (unsigned i = 0; i < 2; i++)
        t.g[i] = (imm & (0x10u << i)) ? first_nan(va.g[i] * vb.g[i], a, b, T_F64, i) : 0.0;
    for (unsigned i = 0; i < 2; i++)
        flags |= tiny_result(&t, T_F64, i, mxcsr);
    for (unsigned i = 0; i < 2; i++)
        flags |= dpp_source(&t, T_F64, i, i ^ 1, mxcsr);
    volatile lanes_t vt = t;
    for (unsigned i = 0; i < 2; i++)
        u.g[i] = add_f64(vt.g[i], vt.g[i ^ 1]);
    for (unsigned i = 0; i < 2; i++)
        r->g[i] = (imm & (1u << i)) ? u.g[i] : 0.0;
    return flags;
}

/* Binary operations that pair lane i of a with lane i of b. */
static bool lane_wise(unsigned op)
{
    switch (op) {
    case X86_SSE_ADDSS: case X86_SSE_SUBSS: case X86_SSE_MULSS: case X86_SSE_DIVSS:
    case X86_SSE_ADDPS: case X86_SSE_SUBPS: case X86_SSE_MULPS: case X86_SSE_DIVPS:
    case X86_SSE_ADDSD: case X86_SSE_SUBSD: case X86_SSE_MULSD: case X86_SSE_DIVSD:
    case X86_SSE_ADDPD: case X86_SSE_SUBPD: case X86_SSE_MULPD: case X86_SSE_DIVPD:
    case X86_SSE_ADDSUBPS: case X86_SSE_ADDSUBPD:
        return true;
    default:
        return false;
    }
}

static unsigned host_op(unsigned op, unsigned imm, const struct fp_desc *d, uint32_t mxcsr, const lanes_t *a,
                        const lanes_t *b, lanes_t *r)
{
    struct fenv_window w;
    unsigned flags = 0;
    fenv_enter(&w, mxcsr);
    if (op == X86_SSE_DPPS || op == X86_SSE_DPPD) {
        flags |= dot_product(op, imm, mxcsr, a, b, r);
    } else {
        /* The operands pass through volatile objects so the compiler cannot move the
         * arithmetic across the environment calls (GCC has no FENV_ACCESS pragma). */
        volatile ir_u128 va = a->v, vb = b->v;
        volatile ir_u128 out = x86_sse_compute(op, imm, va, vb);
        r->v = out;
        if (lane_wise(op))
            for (unsigned i = 0; i < d->n; i++)
                nan_rule(r, a, b, d->in, i);
    }
    flags |= fenv_leave(&w);
    for (unsigned i = 0; d->out != T_INT && i < d->n; i++)
        flags |= tiny_result(r, d->out, i, mxcsr);
    /* An unmasked overflow or underflow stops the operation; PE then says whether
     * the result rounded to the destination width with an unbounded exponent is
     * inexact (sse_exact.c), not what the masked computation saw. */
    unsigned unmasked = ~(mxcsr >> MX_MASK_SHIFT) & MX_FLAGS;
    if (flags & (MX_OE | MX_UE) & unmasked) {
        int pe = x86_sse_unbounded_inexact(op, imm, d->in == T_F64, d->out == T_F64, d->n, a, b);
        if (pe >= 0)
            flags = (flags & ~MX_PE) | (pe ? MX_PE : 0);
    }
    return flags;
}

/* ---- explicit operations -------------------------------------------------------- */

/* v rounded to an integer by RC, whatever the host's rounding mode. */
static double round_rc(double v, unsigned rc)
{
    switch (rc) {
    case RC_DOWN: return floor(v);
    case RC_UP: return ceil(v);
    case RC_ZERO: return trunc(v);
    default: {
        double f = floor(v), diff = v - f;   /* exact: f is within one unit of v */
        if (diff != 0.5)
            return diff < 0.5 ? f : f + 1.0;
        return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
    }
    }
}

/* CVT(T)xx2SI/DQ: NaN or out of range gives the integer indefinite and IE. */
static uint64_t to_int(double v, unsigned bits, unsigned rc, unsigned *flags)
{
    double lim = bits == 64 ? 9223372036854775808.0 : 2147483648.0;   /* 2^63, 2^31 */
    double t = isnan(v) ? v : round_rc(v, rc);
    if (isnan(v) || t < -lim || t >= lim) {
        *flags |= MX_IE;
        return bits == 64 ? 0x8000000000000000ull : 0x80000000ull;
    }
    if (t != v)
        *flags |= MX_PE;
    return bits == 64 ? (uint64_t)(int64_t)t : (uint64_t)(uint32_t)(int32_t)t;
}

/* CMPxx predicates, the VEX set of 32 (legacy SSE encodings reach only 0-7: the
 * lifter masks their imm8). Bits 3:0 pick the relation; 0-7: EQ, LT, LE, UNORD, NEQ,
 * NLT, NLE, ORD; 8-15: EQ_U, NGE, NGT, FALSE, NEQ_O, GE, GT, TRUE. Bit 4 swaps the
 * quiet and signalling forms (signalling: IE on a QNaN too). */
static bool compare(double x, double y, unsigned pred)
{
    bool unord = isnan(x) || isnan(y);
    switch (pred & 15) {
    case 0: return !unord && x == y;
    case 1: return !unord && x < y;
    case 2: return !unord && x <= y;
    case 3: return unord;
    case 4: return unord || x != y;
    case 5: return unord || !(x < y);
    case 6: return unord || !(x <= y);
    case 7: return !unord;
    case 8: return unord || x == y;
    case 9: return unord || x < y;
    case 10: return unord || x <= y;
    case 11: return false;
    case 12: return !unord && x != y;
    case 13: return !unord && x >= y;
    case 14: return !unord && x > y;
    default: return true;
    }
}

static bool signalling(unsigned op, unsigned imm)
{
    if (op == X86_SSE_COMISS || op == X86_SSE_COMISD)
        return true;
    if (op == X86_SSE_UCOMISS || op == X86_SSE_UCOMISD)
        return false;
    unsigned p = imm & 3;
    return (p == 1 || p == 2) != ((imm >> 4) & 1);
}

static unsigned nan_flags(const struct fp_desc *d, const lanes_t *a, const lanes_t *b, unsigned i, bool any_nan)
{
    bool snan = is_snan(b, d->in, i) || (d->binary && is_snan(a, d->in, i));
    bool nan = is_nan(b, d->in, i) || (d->binary && is_nan(a, d->in, i));
    return (snan || (any_nan && nan)) ? MX_IE : 0;
}

static void put_mask(lanes_t *r, unsigned t, unsigned i, bool v)
{
    if (t == T_F32)
        r->d[i] = v ? ~0u : 0;
    else
        r->q[i] = v ? ~0ull : 0;
}

static uint64_t comis(double x, double y)
{
    if (isnan(x) || isnan(y))
        return X86_SSE_FLAG_ZF | X86_SSE_FLAG_PF | X86_SSE_FLAG_CF;
    if (x < y)
        return X86_SSE_FLAG_CF;
    return x == y ? X86_SSE_FLAG_ZF : 0;
}

/* ROUNDxx: imm8 bit 2 takes MXCSR.RC, else bits 1:0; bit 3 suppresses PE. A SNaN
 * gives IE and its quiet form. */
static void round_lane(const lanes_t *b, lanes_t *r, unsigned t, unsigned i, unsigned rc, unsigned imm,
                       unsigned *flags)
{
    if (is_nan(b, t, i)) {
        if (is_snan(b, t, i))
            *flags |= MX_IE;
        if (t == T_F32)
            r->d[i] = b->d[i] | 0x00400000u;
        else
            r->q[i] = b->q[i] | 0x0008000000000000ull;
        return;
    }
    double v = value(b, t, i), x = round_rc(v, rc);
    if (x == 0.0)
        x = copysign(0.0, v);
    if (x != v && !(imm & 8))
        *flags |= MX_PE;
    if (t == T_F32)
        r->f[i] = (float)x;
    else
        r->g[i] = x;
}

static unsigned explicit_op(unsigned op, unsigned imm, const struct fp_desc *d, uint32_t mxcsr, const lanes_t *a,
                            const lanes_t *b, lanes_t *r)
{
    unsigned flags = 0, rc = (mxcsr >> MX_RC_SHIFT) & MX_RC_MASK;
    *r = *a;
    for (unsigned i = 0; i < d->n; i++) {
        double x = value(a, d->in, i), y = value(b, d->in, i);
        switch (d->cls) {
        case FPC_CMP:
            flags |= nan_flags(d, a, b, i, signalling(op, imm));
            if (op == X86_SSE_UCOMISS || op == X86_SSE_UCOMISD || op == X86_SSE_COMISS || op == X86_SSE_COMISD)
                r->v = comis(x, y);
            else
                put_mask(r, d->in, i, compare(x, y, imm));
            break;
        case FPC_MINMAX: {
            /* The second operand when either is a NaN or both are zeros. */
            bool min = op == X86_SSE_MINSS || op == X86_SSE_MINPS || op == X86_SSE_MINSD || op == X86_SSE_MINPD;
            bool first = min ? x < y : x > y;
            flags |= nan_flags(d, a, b, i, true);
            if (d->in == T_F32)
                r->d[i] = first ? a->d[i] : b->d[i];
            else
                r->q[i] = first ? a->q[i] : b->q[i];
            break;
        }
        case FPC_ROUND:
            round_lane(b, r, d->in, i, (imm & 4) ? rc : imm & 3, imm, &flags);
            break;
        default: {   /* FPC_TO_INT */
            bool truncating = op == X86_SSE_CVTTSS2SI32 || op == X86_SSE_CVTTSS2SI64 || op == X86_SSE_CVTTSD2SI32 ||
                              op == X86_SSE_CVTTSD2SI64 || op == X86_SSE_CVTTPS2DQ || op == X86_SSE_CVTTPD2DQ;
            bool wide = op == X86_SSE_CVTSS2SI64 || op == X86_SSE_CVTSD2SI64 || op == X86_SSE_CVTTSS2SI64 ||
                        op == X86_SSE_CVTTSD2SI64;
            uint64_t v = to_int(y, wide ? 64 : 32, truncating ? RC_ZERO : rc, &flags);
            if (op == X86_SSE_CVTPS2DQ || op == X86_SSE_CVTTPS2DQ || op == X86_SSE_CVTPD2DQ ||
                op == X86_SSE_CVTTPD2DQ) {
                r->d[i] = (uint32_t)v;
                if (d->in == T_F64)
                    r->d[i + 2] = 0;
            } else {
                r->v = v;
            }
            break;
        }
        }
    }
    return flags;
}

/* ---- the helper ------------------------------------------------------------------ */

/* MXCSR gets the flags; an unmasked one raises #XM (#UD without CR4.OSXMMEXCPT)
 * before the destination is written. A masked pre-computation exception does not
 * stop a post-computation one; an unmasked one reports only the pre-computation
 * flags. */
void x86_sse_fp_commit_lane(struct soft_cpu *cpu, unsigned flags, unsigned lane)
{
    struct x86_state *st = x86_st(cpu);
    if (lane == X86_SSE_LANE_LOWER) {   /* kept until the upper lane's are known */
        st->soft.xm_deferred = (uint8_t)(flags & MX_FLAGS);
        return;
    }
    if (lane == X86_SSE_LANE_UPPER) {   /* one operation: the rules apply to both lanes' flags */
        flags |= st->soft.xm_deferred;
        st->soft.xm_deferred = 0;
    }
    unsigned unmasked = ~(st->fpu.mxcsr >> MX_MASK_SHIFT) & MX_FLAGS;
    if (flags & MX_PRECOMP & unmasked)
        flags &= MX_PRECOMP;
    st->fpu.mxcsr |= flags;
    if (flags & unmasked)
        x86_raise_now(cpu, (st->cr4 & X86_CR4_OSXMMEXCPT) ? X86_V_XM : X86_V_UD, X86_NO_ERR);
}

void x86_sse_fp_commit(struct soft_cpu *cpu, unsigned flags)
{
    x86_sse_fp_commit_lane(cpu, flags, X86_SSE_LANE_ONLY);
}

/* ---- the common case without <fenv.h> -------------------------------------------- */

/* Every exception masked, round to nearest and PE already set: an operation whose
 * sources and results are all ordinary numbers (or harmless zeros) can only have
 * been inexact, which MXCSR already says, and DAZ/FTZ change nothing. Such lanes
 * need no flags; anything else (a NaN, infinity, denormal, a zero divisor, a zero
 * product or quotient of nonzero numbers) takes the full path. */
#define MX_ALL_MASKS 0x1f80u
#define MX_FAST_MASK (MX_ALL_MASKS | (MX_RC_MASK << MX_RC_SHIFT) | MX_PE)
#define MX_FAST_WANT (MX_ALL_MASKS | MX_PE)

static bool additive(unsigned op)
{
    switch (op) {
    case X86_SSE_ADDSS: case X86_SSE_ADDPS: case X86_SSE_ADDSD: case X86_SSE_ADDPD:
    case X86_SSE_SUBSS: case X86_SSE_SUBPS: case X86_SSE_SUBSD: case X86_SSE_SUBPD:
    case X86_SSE_ADDSUBPS: case X86_SSE_ADDSUBPD:
        return true;
    default:
        return false;
    }
}

static bool is_div(unsigned op)
{
    return op == X86_SSE_DIVSS || op == X86_SSE_DIVPS || op == X86_SSE_DIVSD || op == X86_SSE_DIVPD;
}

/* Lanes with a zero in x (bit i), or -1 when a lane is a NaN, infinity or denormal. */
static inline int zero_lanes(const lanes_t *x, unsigned t, unsigned n)
{
    int zeros = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t e, m;
        if (t == T_F32) {
            e = x->d[i] & 0x7f800000u;
            m = x->d[i] & 0x007fffffu;
            if (e == 0x7f800000u)
                return -1;
        } else {
            e = x->q[i] & 0x7ff0000000000000ull;
            m = x->q[i] & 0x000fffffffffffffull;
            if (e == 0x7ff0000000000000ull)
                return -1;
        }
        if (e == 0) {
            if (m)
                return -1;
            zeros |= 1 << i;
        }
    }
    return zeros;
}

static bool fast_path(unsigned op, const struct fp_desc *d, const lanes_t *a, const lanes_t *b, lanes_t *r)
{
    if (op == X86_SSE_DPPS || op == X86_SSE_DPPD || horizontal(op))
        return false;
    int zero_in = 0;   /* lanes with a zero source */
    if (d->in != T_INT) {
        int zb = zero_lanes(b, d->in, d->n), za = d->binary ? zero_lanes(a, d->in, d->n) : 0;
        if (zb < 0 || za < 0 || (zb && is_div(op)))
            return false;
        zero_in = za | zb;
    }
    r->v = x86_sse_compute(op, 0, a->v, b->v);
    /* A zero result is exact after a cancellation or from a zero source; otherwise it
     * may be an underflow. */
    int zr = zero_lanes(r, d->out, d->n);
    return zr >= 0 && (additive(op) || (zr & ~zero_in) == 0);
}

/* Compares and MIN/MAX raise only IE (a NaN) and DE (a denormal): with every
 * exception masked and neither present, the result needs no flags at all. */
static bool quiet_compare(const struct fp_desc *d, uint32_t mxcsr, const lanes_t *a, const lanes_t *b)
{
    return (d->cls == FPC_CMP || d->cls == FPC_MINMAX) && (mxcsr & MX_ALL_MASKS) == MX_ALL_MASKS &&
           zero_lanes(a, d->in, d->n) >= 0 && zero_lanes(b, d->in, d->n) >= 0;
}

/* The packed and scalar compares and MIN/MAX of quiet_compare's case: the results
 * of explicit_op without its flag work (COMIS/UCOMIS go through explicit_op). */
static void quiet_compare_op(unsigned op, unsigned imm, const struct fp_desc *d, const lanes_t *a, const lanes_t *b,
                             lanes_t *r)
{
    bool cmp = op == X86_SSE_CMPPS || op == X86_SSE_CMPSS || op == X86_SSE_CMPPD || op == X86_SSE_CMPSD;
    bool min = op == X86_SSE_MINSS || op == X86_SSE_MINPS || op == X86_SSE_MINSD || op == X86_SSE_MINPD;
    if (!cmp && d->cls == FPC_CMP) {
        explicit_op(op, imm, d, MX_ALL_MASKS, a, b, r);
        return;
    }
    *r = *a;
    for (unsigned i = 0; i < d->n; i++) {
        if (d->in == T_F32) {
            float x = a->f[i], y = b->f[i];
            r->d[i] = cmp ? (compare(x, y, imm) ? ~0u : 0) : ((min ? x < y : x > y) ? a->d[i] : b->d[i]);
        } else {
            double x = a->g[i], y = b->g[i];
            r->q[i] = cmp ? (compare(x, y, imm) ? ~0ull : 0) : ((min ? x < y : x > y) ? a->q[i] : b->q[i]);
        }
    }
}

/* The operation under mxcsr: the result in *r, the MXCSR flags it raises (nothing
 * committed). */
static unsigned evaluate(unsigned op, unsigned imm, uint32_t mxcsr, lanes_t *a, lanes_t *b, lanes_t *r)
{
    const struct fp_desc *d = &fp_desc[op];
    if (d->cls == FPC_HOST && (mxcsr & MX_FAST_MASK) == MX_FAST_WANT && fast_path(op, d, a, b, r))
        return 0;
    if (quiet_compare(d, mxcsr, a, b)) {
        quiet_compare_op(op, imm, d, a, b, r);   /* no flag can come out */
        return 0;
    }
    unsigned flags = sources(op, imm, d, mxcsr, a, b);
    if (d->cls == FPC_HOST)
        return flags | host_op(op, imm, d, mxcsr, a, b, r);
    return flags | explicit_op(op, imm, d, mxcsr, a, b, r);
}

ir_u128 x86_h_sse_fp(void *vcpu, ir_u128 av, ir_u128 bv, ir_u128 cv)
{
    unsigned op = (unsigned)(cv & 0xff), imm = (unsigned)((cv >> 8) & 0xff);
    unsigned lane = (unsigned)((cv >> X86_SSE_LANE_SHIFT) & 3);
    lanes_t a = { .v = av }, b = { .v = bv }, r;
    unsigned flags = evaluate(op, imm, x86_st(vcpu)->fpu.mxcsr, &a, &b, &r);
    if (flags || lane != X86_SSE_LANE_ONLY)
        x86_sse_fp_commit_lane(vcpu, flags, lane);
    return r.v;
}

ir_u128 x86_sse_fp_eval(unsigned op, unsigned imm, uint32_t mxcsr, ir_u128 av, ir_u128 bv, bool want_flags)
{
    lanes_t a = { .v = av }, b = { .v = bv }, r;
    unsigned flags = evaluate(op, imm, mxcsr, &a, &b, &r);
    return want_flags ? flags : r.v;
}
