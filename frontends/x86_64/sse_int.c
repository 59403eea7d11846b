/* sse_int.c - the integer SSE lane operations beyond SSE2's basics (SSE2 rest,
 * SSSE3, SSE4.1): a table for the regular lane-wise ones (width, signedness,
 * saturation, horizontal pairing, lane function), and the packs, byte shuffles,
 * widening moves, multiply-adds, blends and PTEST written out. */
#include <string.h>

#include "frontends/x86_64/x86_sse.h"

static int64_t f_add(int64_t a, int64_t b) { return a + b; }
static int64_t f_sub(int64_t a, int64_t b) { return a - b; }
static int64_t f_min(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t f_max(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t f_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t f_mulhi16(int64_t a, int64_t b) { return (a * b) >> 16; }
static int64_t f_mulhrs(int64_t a, int64_t b) { return (((a * b) >> 14) + 1) >> 1; }
static int64_t f_eq(int64_t a, int64_t b) { return a == b ? -1 : 0; }
static int64_t f_gt(int64_t a, int64_t b) { return a > b ? -1 : 0; }
static int64_t f_avg(int64_t a, int64_t b) { return (a + b + 1) >> 1; }
static int64_t f_sign(int64_t a, int64_t b) { return b < 0 ? -a : b == 0 ? 0 : a; }
static int64_t f_abs(int64_t a, int64_t b) { (void)a; return b < 0 ? -b : b; }

enum { SAT_WRAP, SAT_SIGNED, SAT_UNSIGNED };

static const struct lane_rule {
    uint8_t width;   /* bytes */
    uint8_t sign;    /* lanes read as signed */
    uint8_t sat;
    uint8_t horiz;   /* pairs within a, then within b */
    int64_t (*f)(int64_t, int64_t);
} lane_rules[X86_SSE_OP_COUNT] = {
#define R(op, w, s, sat, h, f) [X86_SSE_##op] = { w, s, sat, h, f },
    R(PADDS8, 1, 1, SAT_SIGNED, 0, f_add) R(PADDS16, 2, 1, SAT_SIGNED, 0, f_add)
    R(PSUBS8, 1, 1, SAT_SIGNED, 0, f_sub) R(PSUBS16, 2, 1, SAT_SIGNED, 0, f_sub)
    R(PADDUS8, 1, 0, SAT_UNSIGNED, 0, f_add) R(PADDUS16, 2, 0, SAT_UNSIGNED, 0, f_add)
    R(PSUBUS8, 1, 0, SAT_UNSIGNED, 0, f_sub) R(PSUBUS16, 2, 0, SAT_UNSIGNED, 0, f_sub)
    R(PMINS8, 1, 1, SAT_WRAP, 0, f_min) R(PMINS16, 2, 1, SAT_WRAP, 0, f_min) R(PMINS32, 4, 1, SAT_WRAP, 0, f_min)
    R(PMAXS8, 1, 1, SAT_WRAP, 0, f_max) R(PMAXS16, 2, 1, SAT_WRAP, 0, f_max) R(PMAXS32, 4, 1, SAT_WRAP, 0, f_max)
    R(PMINU16, 2, 0, SAT_WRAP, 0, f_min) R(PMINU32, 4, 0, SAT_WRAP, 0, f_min)
    R(PMAXU16, 2, 0, SAT_WRAP, 0, f_max) R(PMAXU32, 4, 0, SAT_WRAP, 0, f_max)
    R(PMULLD, 4, 1, SAT_WRAP, 0, f_mul) R(PMULHW, 2, 1, SAT_WRAP, 0, f_mulhi16)
    R(PMULHUW, 2, 0, SAT_WRAP, 0, f_mulhi16) R(PMULHRSW, 2, 1, SAT_WRAP, 0, f_mulhrs)
    R(PCMPEQ64, 8, 1, SAT_WRAP, 0, f_eq) R(PCMPGT64, 8, 1, SAT_WRAP, 0, f_gt)
    R(PAVG8, 1, 0, SAT_WRAP, 0, f_avg) R(PAVG16, 2, 0, SAT_WRAP, 0, f_avg)
    R(PSIGN8, 1, 1, SAT_WRAP, 0, f_sign) R(PSIGN16, 2, 1, SAT_WRAP, 0, f_sign) R(PSIGN32, 4, 1, SAT_WRAP, 0, f_sign)
    R(PABS8, 1, 1, SAT_WRAP, 0, f_abs) R(PABS16, 2, 1, SAT_WRAP, 0, f_abs) R(PABS32, 4, 1, SAT_WRAP, 0, f_abs)
    R(PHADD16, 2, 1, SAT_WRAP, 1, f_add) R(PHADD32, 4, 1, SAT_WRAP, 1, f_add)
    R(PHADDS16, 2, 1, SAT_SIGNED, 1, f_add) R(PHSUB16, 2, 1, SAT_WRAP, 1, f_sub)
    R(PHSUB32, 4, 1, SAT_WRAP, 1, f_sub) R(PHSUBS16, 2, 1, SAT_SIGNED, 1, f_sub)
#undef R
};

static int64_t get(const x86_lanes *x, unsigned i, unsigned w, bool sign)
{
    switch (w) {
    case 1: return sign ? (int8_t)x->b[i] : (int64_t)x->b[i];
    case 2: return sign ? (int16_t)x->w[i] : (int64_t)x->w[i];
    case 4: return sign ? (int32_t)x->d[i] : (int64_t)x->d[i];
    default: return (int64_t)x->q[i];
    }
}

static int64_t saturate(int64_t v, unsigned w, unsigned sat)
{
    unsigned bits = 8 * w;
    if (sat == SAT_SIGNED) {
        int64_t hi = (INT64_C(1) << (bits - 1)) - 1, lo = -hi - 1;
        return v > hi ? hi : v < lo ? lo : v;
    }
    if (sat == SAT_UNSIGNED) {
        int64_t hi = (INT64_C(1) << bits) - 1;
        return v > hi ? hi : v < 0 ? 0 : v;
    }
    return v;
}

static void put(x86_lanes *x, unsigned i, unsigned w, int64_t v)
{
    switch (w) {
    case 1: x->b[i] = (uint8_t)v; break;
    case 2: x->w[i] = (uint16_t)v; break;
    case 4: x->d[i] = (uint32_t)v; break;
    default: x->q[i] = (uint64_t)v; break;
    }
}

static void by_rule(const struct lane_rule *rule, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    unsigned w = rule->width, n = 16 / w;
    x86_lanes out;
    for (unsigned i = 0; i < n; i++) {
        int64_t v;
        if (rule->horiz) {
            const x86_lanes *src = i < n / 2 ? a : b;
            unsigned k = 2 * (i % (n / 2));
            v = rule->f(get(src, k, w, rule->sign), get(src, k + 1, w, rule->sign));
        } else {
            v = rule->f(get(a, i, w, rule->sign), get(b, i, w, rule->sign));
        }
        put(&out, i, w, saturate(v, w, rule->sat));
    }
    *r = out;
}

/* PACKSS/PACKUS: signed source lanes of width w narrowed with saturation, a's then b's. */
static void pack(const x86_lanes *a, const x86_lanes *b, x86_lanes *r, unsigned w, unsigned sat)
{
    unsigned n = 16 / w;
    x86_lanes out;
    for (unsigned i = 0; i < n; i++) {
        put(&out, i, w / 2, saturate(get(a, i, w, true), w / 2, sat));
        put(&out, n + i, w / 2, saturate(get(b, i, w, true), w / 2, sat));
    }
    *r = out;
}

static void blend(const x86_lanes *a, const x86_lanes *b, x86_lanes *r, unsigned w, unsigned imm)
{
    *r = *a;
    for (unsigned i = 0; i < 16 / w; i++)
        if (imm & (1u << i))
            put(r, i, w, get(b, i, w, false));
}

static void signmask(const x86_lanes *a, x86_lanes *r, unsigned w)
{
    for (unsigned i = 0; i < 16 / w; i++)
        put(r, i, w, get(a, i, w, true) < 0 ? -1 : 0);
}

static void multiply_add(unsigned op, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    x86_lanes out;
    memset(&out, 0, sizeof(out));
    for (unsigned i = 0; i < 8; i++) {
        if (op == X86_SSE_PMADDUBSW) {
            int64_t v = (int64_t)a->b[2 * i] * (int8_t)b->b[2 * i] + (int64_t)a->b[2 * i + 1] * (int8_t)b->b[2 * i + 1];
            out.w[i] = (uint16_t)saturate(v, 2, SAT_SIGNED);
        }
    }
    for (unsigned i = 0; i < 4 && op == X86_SSE_PMADDWD; i++)
        out.d[i] = (uint32_t)((int64_t)(int16_t)a->w[2 * i] * (int16_t)b->w[2 * i] +
                              (int64_t)(int16_t)a->w[2 * i + 1] * (int16_t)b->w[2 * i + 1]);
    for (unsigned i = 0; i < 2; i++) {
        if (op == X86_SSE_PMULUDQ)
            out.q[i] = (uint64_t)a->d[2 * i] * b->d[2 * i];
        else if (op == X86_SSE_PMULDQ)
            out.q[i] = (uint64_t)((int64_t)(int32_t)a->d[2 * i] * (int32_t)b->d[2 * i]);
        else if (op == X86_SSE_PSADBW) {
            uint64_t sum = 0;
            for (unsigned k = 0; k < 8; k++) {
                int d = (int)a->b[8 * i + k] - (int)b->b[8 * i + k];
                sum += (uint64_t)(d < 0 ? -d : d);
            }
            out.q[i] = sum;
        }
    }
    *r = out;
}

/* PSHUFB, PALIGNR (a:b shifted right by imm bytes), PMOVZX/PMOVSX (shape in imm). */
static void shuffle_bytes(unsigned op, unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    x86_lanes out;
    memset(&out, 0, sizeof(out));
    if (op == X86_SSE_PSHUFB) {
        for (unsigned i = 0; i < 16; i++)
            out.b[i] = (b->b[i] & 0x80) ? 0 : a->b[b->b[i] & 15];
    } else if (op == X86_SSE_PALIGNR) {
        for (unsigned i = 0; i < 16; i++) {
            unsigned k = i + imm;
            out.b[i] = k < 16 ? b->b[k] : k < 32 ? a->b[k - 16] : 0;
        }
    } else {
        unsigned sw = 1u << (imm & 3), dw = 1u << ((imm >> 2) & 3);
        bool sign = (imm >> 4) & 1;
        for (unsigned i = 0; i < 16 / dw; i++)
            put(&out, i, dw, get(b, i, sw, sign));
    }
    *r = out;
}

/* MPSADBW: eight sums of absolute differences of a's bytes from offset imm8[2]*4 + i
 * against b's four bytes at imm8[1:0]*4. PHMINPOSUW: b's least word and its index. */
static void sums_of_differences(unsigned op, unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    x86_lanes out;
    memset(&out, 0, sizeof(out));
    if (op == X86_SSE_MPSADBW) {
        unsigned aoff = ((imm >> 2) & 1) * 4, boff = (imm & 3) * 4;
        for (unsigned i = 0; i < 8; i++) {
            unsigned sum = 0;
            for (unsigned k = 0; k < 4; k++) {
                int d = (int)a->b[aoff + i + k] - (int)b->b[boff + k];
                sum += (unsigned)(d < 0 ? -d : d);
            }
            out.w[i] = (uint16_t)sum;
        }
    } else {
        unsigned best = 0;
        for (unsigned i = 1; i < 8; i++)
            if (b->w[i] < b->w[best])
                best = i;
        out.w[0] = b->w[best];
        out.w[1] = (uint16_t)best;
    }
    *r = out;
}

bool x86_sse_int(unsigned op, unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    if (op < X86_SSE_OP_COUNT && lane_rules[op].f) {
        by_rule(&lane_rules[op], a, b, r);
        return true;
    }
    switch (op) {
    case X86_SSE_PACKSS16: pack(a, b, r, 2, SAT_SIGNED); return true;
    case X86_SSE_PACKSS32: pack(a, b, r, 4, SAT_SIGNED); return true;
    case X86_SSE_PACKUS16: pack(a, b, r, 2, SAT_UNSIGNED); return true;
    case X86_SSE_PACKUS32: pack(a, b, r, 4, SAT_UNSIGNED); return true;
    case X86_SSE_PSHUFB: case X86_SSE_PALIGNR: case X86_SSE_PMOVX:
        shuffle_bytes(op, imm, a, b, r);
        return true;
    case X86_SSE_PMULUDQ: case X86_SSE_PMULDQ: case X86_SSE_PMADDWD: case X86_SSE_PMADDUBSW: case X86_SSE_PSADBW:
        multiply_add(op, a, b, r);
        return true;
    case X86_SSE_BLEND16: blend(a, b, r, 2, imm); return true;
    case X86_SSE_BLEND32: blend(a, b, r, 4, imm); return true;
    case X86_SSE_BLEND64: blend(a, b, r, 8, imm); return true;
    case X86_SSE_SIGNMASK8: signmask(a, r, 1); return true;
    case X86_SSE_SIGNMASK32: signmask(a, r, 4); return true;
    case X86_SSE_SIGNMASK64: signmask(a, r, 8); return true;
    case X86_SSE_MPSADBW: case X86_SSE_PHMINPOSUW:
        sums_of_differences(op, imm, a, b, r);
        return true;
    case X86_SSE_PTEST:
        r->v = (((a->q[0] & b->q[0]) | (a->q[1] & b->q[1])) == 0 ? X86_SSE_FLAG_ZF : 0) |
               (((~a->q[0] & b->q[0]) | (~a->q[1] & b->q[1])) == 0 ? X86_SSE_FLAG_CF : 0);
        return true;
    default:
        return false;
    }
}
