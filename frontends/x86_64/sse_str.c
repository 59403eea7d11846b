/* sse_str.c - SSE4.2: the packed string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/
 * PCMPISTRM (one routine driven by the imm8 control, SDM vol.2 4.1) and CRC32 (the
 * Castagnoli polynomial, bit-reflected, table-driven). Pure functions of their
 * operands; the lifter (lift_sse42.c) reads the lengths and writes the results. */
#include <string.h>

#include "frontends/x86_64/x86_sse.h"

/* imm8 control fields (SDM vol.2 4.1.2-4.1.6). */
#define CTL_WORDS 0x01u         /* bit 0: words, else bytes */
#define CTL_SIGNED 0x02u        /* bit 1: signed elements */
#define CTL_AGG_SHIFT 2         /* bits 3:2: aggregation */
#define CTL_AGG_MASK 0x3u
#define CTL_NEGATE 0x10u        /* bit 4: negate IntRes1 */
#define CTL_MASKED 0x20u        /* bit 5: negate only the valid elements of the second operand */
#define CTL_MSB 0x40u           /* bit 6: most significant index / expanded mask */

enum { AGG_EQUAL_ANY, AGG_RANGES, AGG_EQUAL_EACH, AGG_EQUAL_ORDERED };

/* CRC-32C, reflected: 0x1EDC6F41 bit-reversed. */
#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t crc_table[256];   /* filled once per process, with the helpers */

void x86_sse_str_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (unsigned k = 0; k < 8; k++)
            r = (r >> 1) ^ ((r & 1) ? CRC32C_POLY_REFLECTED : 0);
        crc_table[i] = r;
    }
}

uint32_t x86_crc32c(uint32_t crc, uint64_t data, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        crc = crc_table[(crc ^ (uint8_t)(data >> (8 * i))) & 0xff] ^ (crc >> 8);
    return crc;
}

static int32_t element(const x86_lanes *x, unsigned i, unsigned ctl)
{
    if (ctl & CTL_WORDS)
        return (ctl & CTL_SIGNED) ? (int16_t)x->w[i] : (int32_t)x->w[i];
    return (ctl & CTL_SIGNED) ? (int8_t)x->b[i] : (int32_t)x->b[i];
}

/* Implicit length: the index of the first zero element, else the element count. */
unsigned x86_pcmpstr_implicit_len(const x86_lanes *x, unsigned ctl)
{
    unsigned n = (ctl & CTL_WORDS) ? 8 : 16;
    for (unsigned i = 0; i < n; i++)
        if (element(x, i, ctl) == 0)
            return i;
    return n;
}

/* BoolRes[i][j] with the override for invalid elements (SDM table 4-7): i indexes
 * the first operand (a), j the second (b). */
static bool bool_res(const x86_lanes *a, const x86_lanes *b, unsigned i, unsigned j, unsigned ctl, unsigned la,
                     unsigned lb)
{
    unsigned agg = (ctl >> CTL_AGG_SHIFT) & CTL_AGG_MASK;
    bool va = i < la, vb = j < lb;
    if (!va || !vb) {
        if (agg == AGG_EQUAL_EACH)
            return !va && !vb;
        if (agg == AGG_EQUAL_ORDERED)
            return !va;
        return false;
    }
    int32_t x = element(a, i, ctl), y = element(b, j, ctl);
    if (agg == AGG_RANGES)
        return (i & 1) ? y <= x : y >= x;   /* a holds [low, high] pairs */
    return x == y;
}

static unsigned int_res1(const x86_lanes *a, const x86_lanes *b, unsigned ctl, unsigned la, unsigned lb)
{
    unsigned n = (ctl & CTL_WORDS) ? 8 : 16, agg = (ctl >> CTL_AGG_SHIFT) & CTL_AGG_MASK, res = 0;
    for (unsigned j = 0; j < n; j++) {
        bool bit = false;
        switch (agg) {
        case AGG_EQUAL_ANY:
            for (unsigned i = 0; i < n && !bit; i++)
                bit = bool_res(a, b, i, j, ctl, la, lb);
            break;
        case AGG_RANGES:
            for (unsigned i = 0; i + 1 < n && !bit; i += 2)
                bit = bool_res(a, b, i, j, ctl, la, lb) && bool_res(a, b, i + 1, j, ctl, la, lb);
            break;
        case AGG_EQUAL_EACH:
            bit = bool_res(a, b, j, j, ctl, la, lb);
            break;
        default:
            bit = true;
            for (unsigned i = 0; i + j < n && bit; i++)
                bit = bool_res(a, b, i, i + j, ctl, la, lb);
            break;
        }
        res |= (unsigned)bit << j;
    }
    return res;
}

struct x86_pcmpstr x86_pcmpstr(const x86_lanes *a, const x86_lanes *b, unsigned ctl, unsigned la, unsigned lb)
{
    unsigned n = (ctl & CTL_WORDS) ? 8 : 16, all = (1u << n) - 1;
    unsigned r1 = int_res1(a, b, ctl, la, lb), r2 = r1;
    if (ctl & CTL_NEGATE)
        r2 = (ctl & CTL_MASKED) ? r1 ^ ((1u << lb) - 1) : ~r1 & all;
    struct x86_pcmpstr out;
    memset(&out, 0, sizeof(out));
    out.flags = (r2 ? X86_SSE_FLAG_CF : 0) | (lb < n ? X86_SSE_FLAG_ZF : 0) | (la < n ? X86_SSE_FLAG_SF : 0) |
                ((r2 & 1) ? X86_SSE_FLAG_OF : 0);
    if (!r2)
        out.index = n;
    else if (ctl & CTL_MSB)
        out.index = 31u - (unsigned)__builtin_clz(r2);
    else
        out.index = (unsigned)__builtin_ctz(r2);
    if (!(ctl & CTL_MSB)) {
        out.mask.q[0] = r2;
        return out;
    }
    for (unsigned j = 0; j < n; j++)
        if (r2 & (1u << j)) {
            if (ctl & CTL_WORDS)
                out.mask.w[j] = 0xffff;
            else
                out.mask.b[j] = 0xff;
        }
    return out;
}

/* The state side of PCMPxSTRx (X86_H_PCMPSTR): lengths from rAX/rDX (explicit
 * forms: |value| saturated to the element count; REX.W reads 64 bits) or from the
 * first zero element (implicit forms); the index to ECX or the mask to XMM0;
 * CF/ZF/SF/OF as computed, AF/PF cleared. how = imm8 | X86_PCMPSTR_* bits << 8. */
static unsigned explicit_len(uint64_t v, bool wide, unsigned n)
{
    uint64_t mag = wide ? ((int64_t)v < 0 ? 0 - v : v) : (uint64_t)((int32_t)v < 0 ? 0u - (uint32_t)v : (uint32_t)v);
    return mag > n ? n : (unsigned)mag;
}

ir_u128 x86_h_pcmpstr(void *vcpu, ir_u128 av, ir_u128 bv, ir_u128 how)
{
    struct x86_state *st = x86_st(vcpu);
    unsigned ctl = (unsigned)how & 0xff, form = (unsigned)(how >> 8);
    unsigned n = (ctl & CTL_WORDS) ? 8 : 16, la, lb;
    x86_lanes a = { .v = av }, b = { .v = bv };
    if (form & X86_PCMPSTR_EXPLICIT) {
        bool wide = (form & X86_PCMPSTR_REXW) != 0;
        la = explicit_len(st->gpr[X86_RAX], wide, n);
        lb = explicit_len(st->gpr[X86_RDX], wide, n);
    } else {
        la = x86_pcmpstr_implicit_len(&a, ctl);
        lb = x86_pcmpstr_implicit_len(&b, ctl);
    }
    struct x86_pcmpstr r = x86_pcmpstr(&a, &b, ctl, la, lb);
    if (form & X86_PCMPSTR_MASK)
        memcpy(&st->fpu.xmm[0], &r.mask, 16);
    else
        st->gpr[X86_RCX] = r.index;
    st->soft.cf = (r.flags & X86_SSE_FLAG_CF) != 0;
    st->soft.zf = (r.flags & X86_SSE_FLAG_ZF) != 0;
    st->soft.sf = (r.flags & X86_SSE_FLAG_SF) != 0;
    st->soft.of = (r.flags & X86_SSE_FLAG_OF) != 0;
    st->soft.af = 0;
    st->soft.pf = 0;
    return 0;
}
