/* sse_ops.c - the SSE helper: lane-wise integer operations, shuffles and the IEEE
 * arithmetic that runs on the host's FP unit. Arithmetic is called from sse_fp.c,
 * which sets the guest's rounding mode around it and collects the exception flags
 * (MXCSR); compares, MIN/MAX, FP->int conversions and ROUNDxx live there too. */
#include <math.h>
#include <string.h>

#include "frontends/x86_64/x86_sse.h"

typedef x86_lanes lanes;

/* The op travels in the low byte of the helper's third operand. */
_Static_assert(X86_SSE_OP_COUNT <= 256, "SSE helper op must fit in 8 bits");

static lanes L(ir_u128 v)
{
    lanes x;
    x.v = v;
    return x;
}

static void lanewise_int(lanes *r, const lanes *a, const lanes *b, unsigned op)
{
    for (unsigned i = 0; i < 16; i++) {
        switch (op) {
        case X86_SSE_PADD8: r->b[i] = (uint8_t)(a->b[i] + b->b[i]); break;
        case X86_SSE_PSUB8: r->b[i] = (uint8_t)(a->b[i] - b->b[i]); break;
        case X86_SSE_PCMPEQ8: r->b[i] = a->b[i] == b->b[i] ? 0xff : 0; break;
        case X86_SSE_PCMPGT8: r->b[i] = (int8_t)a->b[i] > (int8_t)b->b[i] ? 0xff : 0; break;
        case X86_SSE_PMINUB: r->b[i] = a->b[i] < b->b[i] ? a->b[i] : b->b[i]; break;
        case X86_SSE_PMAXUB: r->b[i] = a->b[i] > b->b[i] ? a->b[i] : b->b[i]; break;
        default: break;
        }
    }
    for (unsigned i = 0; i < 8; i++) {
        switch (op) {
        case X86_SSE_PADD16: r->w[i] = (uint16_t)(a->w[i] + b->w[i]); break;
        case X86_SSE_PSUB16: r->w[i] = (uint16_t)(a->w[i] - b->w[i]); break;
        case X86_SSE_PCMPEQ16: r->w[i] = a->w[i] == b->w[i] ? 0xffff : 0; break;
        case X86_SSE_PCMPGT16: r->w[i] = (int16_t)a->w[i] > (int16_t)b->w[i] ? 0xffff : 0; break;
        case X86_SSE_PMULLW: r->w[i] = (uint16_t)((uint32_t)a->w[i] * b->w[i]); break;
        default: break;
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        switch (op) {
        case X86_SSE_PADD32: r->d[i] = a->d[i] + b->d[i]; break;
        case X86_SSE_PSUB32: r->d[i] = a->d[i] - b->d[i]; break;
        case X86_SSE_PCMPEQ32: r->d[i] = a->d[i] == b->d[i] ? ~0u : 0; break;
        case X86_SSE_PCMPGT32: r->d[i] = (int32_t)a->d[i] > (int32_t)b->d[i] ? ~0u : 0; break;
        default: break;
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        if (op == X86_SSE_PADD64)
            r->q[i] = a->q[i] + b->q[i];
        else if (op == X86_SSE_PSUB64)
            r->q[i] = a->q[i] - b->q[i];
    }
}

/* Interleave the low (or high) halves of a and b at lane width w bytes. */
static void unpack(lanes *r, const lanes *a, const lanes *b, unsigned w, bool high)
{
    unsigned base = high ? 8 : 0;
    for (unsigned i = 0; i < 8 / w; i++) {
        memcpy(&r->b[2 * i * w], &a->b[base + i * w], w);
        memcpy(&r->b[(2 * i + 1) * w], &b->b[base + i * w], w);
    }
}

/* Shifts by a count (imm or the low quadword of b): counts >= width give 0, or the
 * sign for arithmetic shifts. */
static void shift(lanes *r, const lanes *a, unsigned op, uint64_t n)
{
    for (unsigned i = 0; i < 8; i++) {
        if (op == X86_SSE_PSLL16) r->w[i] = n > 15 ? 0 : (uint16_t)(a->w[i] << n);
        if (op == X86_SSE_PSRL16) r->w[i] = n > 15 ? 0 : (uint16_t)(a->w[i] >> n);
        if (op == X86_SSE_PSRA16) r->w[i] = (uint16_t)((int16_t)a->w[i] >> (n > 15 ? 15 : n));
    }
    for (unsigned i = 0; i < 4; i++) {
        if (op == X86_SSE_PSLL32) r->d[i] = n > 31 ? 0 : a->d[i] << n;
        if (op == X86_SSE_PSRL32) r->d[i] = n > 31 ? 0 : a->d[i] >> n;
        if (op == X86_SSE_PSRA32) r->d[i] = (uint32_t)((int32_t)a->d[i] >> (n > 31 ? 31 : n));
    }
    for (unsigned i = 0; i < 2; i++) {
        if (op == X86_SSE_PSLL64) r->q[i] = n > 63 ? 0 : a->q[i] << n;
        if (op == X86_SSE_PSRL64) r->q[i] = n > 63 ? 0 : a->q[i] >> n;
    }
    if (op == X86_SSE_PSLLDQ || op == X86_SSE_PSRLDQ) {
        unsigned k = n > 16 ? 16 : (unsigned)n;
        memset(r->b, 0, 16);
        if (op == X86_SSE_PSLLDQ)
            memcpy(r->b + k, a->b, 16 - k);
        else
            memcpy(r->b, a->b + k, 16 - k);
    }
}

static void arith_ps(lanes *r, const lanes *a, const lanes *b, unsigned op, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        float x = a->f[i], y = b->f[i];
        switch (op) {
        case X86_SSE_ADDSS: case X86_SSE_ADDPS: r->f[i] = x + y; break;
        case X86_SSE_SUBSS: case X86_SSE_SUBPS: r->f[i] = x - y; break;
        case X86_SSE_MULSS: case X86_SSE_MULPS: r->f[i] = x * y; break;
        case X86_SSE_DIVSS: case X86_SSE_DIVPS: r->f[i] = x / y; break;
        case X86_SSE_SQRTSS: r->f[i] = sqrtf(y); break;
        default: break;
        }
    }
}

static void arith_pd(lanes *r, const lanes *a, const lanes *b, unsigned op, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        double x = a->g[i], y = b->g[i];
        switch (op) {
        case X86_SSE_ADDSD: case X86_SSE_ADDPD: r->g[i] = x + y; break;
        case X86_SSE_SUBSD: case X86_SSE_SUBPD: r->g[i] = x - y; break;
        case X86_SSE_MULSD: case X86_SSE_MULPD: r->g[i] = x * y; break;
        case X86_SSE_DIVSD: case X86_SSE_DIVPD: r->g[i] = x / y; break;
        case X86_SSE_SQRTSD: r->g[i] = sqrt(y); break;
        default: break;
        }
    }
}

static uint64_t movemask(const lanes *a, unsigned op)
{
    uint64_t m = 0;
    unsigned n = op == X86_SSE_PMOVMSKB ? 16 : op == X86_SSE_MOVMSKPS ? 4 : 2;
    for (unsigned i = 0; i < n; i++) {
        unsigned msb_byte = (i + 1) * (16 / n) - 1;
        m |= (uint64_t)(a->b[msb_byte] >> 7) << i;
    }
    return m;
}

/* DPPS/DPPD: imm8 bits 7:4 pick the products, summed pairwise in the SDM's order;
 * bits 3:0 pick the lanes that receive the sum (the others get +0). */
static void dot_product(lanes *o, const lanes *a, const lanes *b, unsigned op, unsigned imm)
{
    if (op == X86_SSE_DPPS) {
        float t[4];
        for (unsigned i = 0; i < 4; i++)
            t[i] = (imm & (0x10u << i)) ? a->f[i] * b->f[i] : 0.0f;
        float sum = (t[0] + t[1]) + (t[2] + t[3]);
        for (unsigned i = 0; i < 4; i++)
            o->f[i] = (imm & (1u << i)) ? sum : 0.0f;
        return;
    }
    double t0 = (imm & 0x10) ? a->g[0] * b->g[0] : 0.0, t1 = (imm & 0x20) ? a->g[1] * b->g[1] : 0.0;
    double sum = t0 + t1;
    for (unsigned i = 0; i < 2; i++)
        o->g[i] = (imm & (1u << i)) ? sum : 0.0;
}

static void fp_lanes(lanes *r, const lanes *a, const lanes *b, unsigned op, unsigned imm)
{
    lanes o = *a;
    for (unsigned i = 0; i < 4; i++) {
        float x = a->f[i], y = b->f[i];
        switch (op) {
        case X86_SSE_SQRTPS: o.f[i] = sqrtf(y); break;
        case X86_SSE_CVTDQ2PS: o.f[i] = (float)(int32_t)b->d[i]; break;
        case X86_SSE_MOVSHDUP: o.d[i] = b->d[i | 1]; break;
        case X86_SSE_MOVSLDUP: o.d[i] = b->d[i & ~1u]; break;
        case X86_SSE_ADDSUBPS: o.f[i] = (i & 1) ? x + y : x - y; break;
        case X86_SSE_HADDPS: case X86_SSE_HSUBPS: {
            const lanes *s = i < 2 ? a : b;
            float p = s->f[2 * (i & 1)], q = s->f[2 * (i & 1) + 1];
            o.f[i] = op == X86_SSE_HADDPS ? p + q : p - q;
            break;
        }
        default: break;
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        double x = a->g[i], y = b->g[i];
        switch (op) {
        case X86_SSE_SQRTPD: o.g[i] = sqrt(y); break;
        case X86_SSE_CVTDQ2PD: o.g[i] = (double)(int32_t)b->d[i]; break;
        case X86_SSE_CVTPS2PD: o.g[i] = (double)b->f[i]; break;
        case X86_SSE_CVTPD2PS: o.f[i] = (float)y; o.f[i + 2] = 0; break;
        case X86_SSE_MOVDDUP: o.q[i] = b->q[0]; break;
        case X86_SSE_ADDSUBPD: o.g[i] = i ? x + y : x - y; break;
        case X86_SSE_SHUFPD: o.q[i] = (i ? b : a)->q[(imm >> i) & 1]; break;
        case X86_SSE_HADDPD: o.g[i] = (i ? b : a)->g[0] + (i ? b : a)->g[1]; break;
        case X86_SSE_HSUBPD: o.g[i] = (i ? b : a)->g[0] - (i ? b : a)->g[1]; break;
        default: break;
        }
    }
    switch (op) {   /* scalar forms keep a's upper lanes */
    case X86_SSE_DPPS: case X86_SSE_DPPD:
        dot_product(&o, a, b, op, imm);
        break;
    case X86_SSE_INSERTPS:
        o.d[(imm >> 4) & 3] = b->d[(imm >> 6) & 3];
        for (unsigned i = 0; i < 4; i++)
            if (imm & (1u << i))
                o.d[i] = 0;
        break;
    default: break;
    }
    *r = o;
}

ir_u128 x86_h_sse(void *cpu, ir_u128 av, ir_u128 bv, ir_u128 cv)
{
    (void)cpu;
    x86_lanes a = L(av), b = L(bv), r;
    if (x86_sse_crypto((unsigned)(cv & 0xff), (unsigned)((cv >> 8) & 0xff), (uint64_t)(cv >> 64), &a, &b, &r))
        return r.v;
    return x86_sse_compute((unsigned)(cv & 0xff), (unsigned)((cv >> 8) & 0xff), av, bv);
}

ir_u128 x86_sse_compute(unsigned op, unsigned imm, ir_u128 av, ir_u128 bv)
{
    lanes a = L(av), b = L(bv), r = a;
    switch (op) {
    case X86_SSE_PMOVMSKB: case X86_SSE_MOVMSKPS: case X86_SSE_MOVMSKPD:
        return movemask(&b, op);
    case X86_SSE_PSHUFD:
        for (unsigned i = 0; i < 4; i++)
            r.d[i] = b.d[(imm >> (2 * i)) & 3];
        return r.v;
    case X86_SSE_SHUFPS:
        r.d[0] = a.d[imm & 3];
        r.d[1] = a.d[(imm >> 2) & 3];
        r.d[2] = b.d[(imm >> 4) & 3];
        r.d[3] = b.d[(imm >> 6) & 3];
        return r.v;
    case X86_SSE_PSHUFLW:
    case X86_SSE_PSHUFHW: {
        unsigned base = op == X86_SSE_PSHUFHW ? 4 : 0;
        r = b;
        for (unsigned i = 0; i < 4; i++)
            r.w[base + i] = b.w[base + ((imm >> (2 * i)) & 3)];
        return r.v;
    }
    case X86_SSE_UNPCKL8: case X86_SSE_UNPCKL16: case X86_SSE_UNPCKL32: case X86_SSE_UNPCKL64:
        unpack(&r, &a, &b, 1u << (op - X86_SSE_UNPCKL8), false);
        return r.v;
    case X86_SSE_UNPCKH8: case X86_SSE_UNPCKH16: case X86_SSE_UNPCKH32: case X86_SSE_UNPCKH64:
        unpack(&r, &a, &b, 1u << (op - X86_SSE_UNPCKH8), true);
        return r.v;
    case X86_SSE_PSLL16: case X86_SSE_PSLL32: case X86_SSE_PSLL64: case X86_SSE_PSRL16: case X86_SSE_PSRL32:
    case X86_SSE_PSRL64: case X86_SSE_PSRA16: case X86_SSE_PSRA32: case X86_SSE_PSLLDQ: case X86_SSE_PSRLDQ:
        shift(&r, &a, op, (uint64_t)b.q[0]);
        return r.v;
    case X86_SSE_ADDSS: case X86_SSE_SUBSS: case X86_SSE_MULSS: case X86_SSE_DIVSS: case X86_SSE_SQRTSS:
        arith_ps(&r, &a, &b, op, 1);
        return r.v;
    case X86_SSE_ADDPS: case X86_SSE_SUBPS: case X86_SSE_MULPS: case X86_SSE_DIVPS:
        arith_ps(&r, &a, &b, op, 4);
        return r.v;
    case X86_SSE_ADDSD: case X86_SSE_SUBSD: case X86_SSE_MULSD: case X86_SSE_DIVSD: case X86_SSE_SQRTSD:
        arith_pd(&r, &a, &b, op, 1);
        return r.v;
    case X86_SSE_ADDPD: case X86_SSE_SUBPD: case X86_SSE_MULPD: case X86_SSE_DIVPD:
        arith_pd(&r, &a, &b, op, 2);
        return r.v;
    case X86_SSE_CVTSS2SD: r.g[0] = b.f[0]; return r.v;
    case X86_SSE_CVTSD2SS: r.f[0] = (float)b.g[0]; return r.v;
    case X86_SSE_CVTSI32_SS: r.f[0] = (float)(int32_t)b.d[0]; return r.v;
    case X86_SSE_CVTSI64_SS: r.f[0] = (float)(int64_t)b.q[0]; return r.v;
    case X86_SSE_CVTSI32_SD: r.g[0] = (double)(int32_t)b.d[0]; return r.v;
    case X86_SSE_CVTSI64_SD: r.g[0] = (double)(int64_t)b.q[0]; return r.v;
    case X86_SSE_CRC32: return x86_crc32c(a.d[0], b.q[0], imm);
    default:
        if (op >= X86_SSE_CMPPS && op <= X86_SSE_INSERTPS) {
            fp_lanes(&r, &a, &b, op, imm);
            return r.v;
        }
        if (x86_sse_int(op, imm, &a, &b, &r))
            return r.v;
        lanewise_int(&r, &a, &b, op);
        return r.v;
    }
}
