/* x87_gen.h - random x87 test cases for the native differential tester (diff_x87.c):
 * an x87 state (registers from value classes that reach every edge: zeros,
 * denormals, infinities, quiet and signalling NaNs, unsupported encodings, rounding
 * ties, values at the f32/f64/integer limits), a data area of such values in every
 * memory format, and a sequence of x87 instructions with [rbx+disp8] memory operands
 * (RBX points into the data area on both sides). Deterministic from (seed, index). */
#ifndef ANYHV_TESTS_SOFT_X86_X87_GEN_H
#define ANYHV_TESTS_SOFT_X86_X87_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define XG87_DATA_BYTES 512u
#define XG87_RBX_OFF 192u            /* RBX = data + this; disp8 reaches data[128 .. 319] */
#define XG87_MAX_INSNS 12u
#define XG87_MAX_BYTES (XG87_MAX_INSNS * 8u)

#define XG87_MAX_IMAGES 4u
/* FSIN..FYL2XP1 in the mix, as the last instruction (compared within tolerance). */
#define XG87_TRANSCENDENTALS 1
#define XG87_FX_FCW 0
#define XG87_FX_FSW 2
#define XG87_FX_FTW 4
#define XG87_FX_ST0 32
#define XG87_EXP_BIAS 16383
#define XG87_INT_BIT (1ull << 63)
#define XG87_QUIET_BIT (1ull << 62)

struct xg87_rng {
    uint64_t s;
};

static inline uint64_t xg87_next(struct xg87_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline unsigned xg87_below(struct xg87_rng *r, unsigned n)
{
    return (unsigned)(xg87_next(r) % n);
}

/* An FNSTENV/FNSAVE image in the data area: its pointer fields (FIP, FCS, FOP, FDP,
 * FDS) depend on the processor's FCS/FDS deprecation and are not compared. */
struct xg87_image {
    uint16_t off;                    /* in the data area */
    uint8_t o16;                     /* 14-byte layout */
};

struct xg87_case {
    uint8_t code[XG87_MAX_BYTES];
    unsigned len, count;
    uint8_t insn_off[XG87_MAX_INSNS];
    /* The same sequence encoded for 16-bit code ([bx+disp], operand size flipped),
     * for the real-mode run of the soft route. */
    uint8_t code16[XG87_MAX_BYTES];
    unsigned len16;
    uint8_t insn_off16[XG87_MAX_INSNS];
    uint8_t fx[512];
    uint64_t rax, rflags;
    uint8_t data[XG87_DATA_BYTES];
    bool approx;                     /* ends with a transcendental: compare within tolerance */
    struct xg87_image images[XG87_MAX_IMAGES];
    unsigned nimages;
};

/* One 80-bit value of a random class. */
static inline void xg87_value(struct xg87_rng *r, uint64_t *mant, uint16_t *se)
{
    uint16_t sign = (xg87_next(r) & 1) ? 0x8000 : 0;
    uint64_t m = xg87_next(r);
    int e;
    switch (xg87_below(r, 16)) {
    case 0: *mant = 0; *se = sign; return;                                           /* zero */
    case 1: *mant = XG87_INT_BIT; *se = sign | 0x7fff; return;                       /* infinity */
    case 2: *mant = XG87_INT_BIT | XG87_QUIET_BIT | (m >> 2); *se = sign | 0x7fff; return;   /* QNaN */
    case 3: *mant = XG87_INT_BIT | ((m >> 2) | 1); *se = sign | 0x7fff; return;               /* SNaN */
    case 4: *mant = m >> (1 + xg87_below(r, 62)); *se = sign; return;                /* denormal */
    case 5: *mant = m & ~XG87_INT_BIT; *se = sign | (uint16_t)(1 + xg87_below(r, 0x7ffe)); return;  /* unnormal */
    case 6: {                                                                        /* small integer, or k + 0.5 */
        uint64_t k = 1 + xg87_below(r, 1000);
        bool half = xg87_next(r) & 1;
        unsigned bits = 64 - (unsigned)__builtin_clzll(k);
        *mant = (k << (64 - bits)) | (half ? (1ull << (63 - bits)) : 0);
        *se = sign | (uint16_t)(XG87_EXP_BIAS + bits - 1);
        return;
    }
    case 7: {                                                                        /* f32/f64/int64 edges */
        static const int edges[] = { 127, 128, -126, -127, -149, -150, 1023, 1024, -1022, -1023, -1074, -1075,
                                     15, 16, 31, 32, 62, 63, 64, 16383, -16382 };
        e = edges[xg87_below(r, sizeof(edges) / sizeof(edges[0]))] + (int)xg87_below(r, 3) - 1;
        break;
    }
    case 8: *mant = XG87_INT_BIT | (m & 0xffffff0000000000ull); *se = sign | (uint16_t)(XG87_EXP_BIAS + xg87_below(r, 40) - 20); return;
    default:
        e = (int)xg87_below(r, 140) - 70;
        break;
    }
    int be = XG87_EXP_BIAS + e;
    if (be <= 0)
        be = 1;
    if (be >= 0x7fff)
        be = 0x7ffe;
    *mant = m | XG87_INT_BIT;
    *se = sign | (uint16_t)be;
}

static inline void xg87_put80(uint8_t *p, uint64_t mant, uint16_t se)
{
    memcpy(p, &mant, 8);
    memcpy(p + 8, &se, 2);
}

/* A control word: exceptions mostly masked, any precision and rounding. */
static inline uint16_t xg87_cw(struct xg87_rng *r)
{
    static const uint16_t pcs[3] = { 0, 2, 3 };
    uint16_t masks = xg87_below(r, 6) == 0 ? (uint16_t)(xg87_next(r) & 0x3f) : 0x3f;
    return (uint16_t)(masks | 0x40 | (pcs[xg87_below(r, 3)] << 8) | (xg87_below(r, 4) << 10));
}

static inline void xg87_state(struct xg87_rng *r, struct xg87_case *t)
{
    memset(t->fx, 0, sizeof(t->fx));
    uint16_t fcw = xg87_cw(r), top = (uint16_t)xg87_below(r, 8);
    uint16_t flags = (uint16_t)(xg87_next(r) & 0x3f & fcw);   /* only masked flags pending */
    uint16_t fsw = (uint16_t)(flags | (top << 11) | (xg87_next(r) & 0x4700));
    uint8_t ftw = (uint8_t)(xg87_below(r, 4) == 0 ? 0xff : xg87_next(r));
    memcpy(t->fx + XG87_FX_FCW, &fcw, 2);
    memcpy(t->fx + XG87_FX_FSW, &fsw, 2);
    t->fx[XG87_FX_FTW] = ftw;
    uint32_t mxcsr = 0x1f80;
    memcpy(t->fx + 24, &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t m;
        uint16_t se;
        xg87_value(r, &m, &se);
        xg87_put80(t->fx + XG87_FX_ST0 + 16 * i, m, se);
    }
}

/* Data area: 16-byte cells, each an f80, two f64, four f32 or integers. */
static inline void xg87_data(struct xg87_rng *r, uint8_t *d)
{
    for (unsigned off = 0; off < XG87_DATA_BYTES; off += 16) {
        uint64_t m, q[2];
        uint16_t se;
        xg87_value(r, &m, &se);
        switch (xg87_below(r, 4)) {
        case 0:
            xg87_put80(d + off, m, se);
            memset(d + off + 10, 0, 6);
            break;
        case 1: {
            /* f64 from the f80 class (truncated significand, exponent re-biased). */
            for (int k = 0; k < 2; k++) {
                int e = (int)(se & 0x7fff) - XG87_EXP_BIAS + 1023;
                uint64_t f = (uint64_t)(se >> 15) << 63;
                if ((se & 0x7fff) == 0x7fff || e >= 0x7ff)
                    f |= 0x7ffull << 52 | ((m << 1) >> 12);
                else if (e > 0)
                    f |= (uint64_t)e << 52 | ((m << 1) >> 12);
                else
                    f |= (m >> 12) >> (1 - e < 63 ? 1 - e : 63);
                q[k] = f;
                xg87_value(r, &m, &se);
            }
            memcpy(d + off, q, 16);
            break;
        }
        case 2:
            for (int k = 0; k < 4; k++) {
                int e = (int)(se & 0x7fff) - XG87_EXP_BIAS + 127;
                uint32_t f = (uint32_t)(se >> 15) << 31;
                if ((se & 0x7fff) == 0x7fff || e >= 0xff)
                    f |= 0xffu << 23 | (uint32_t)((m << 1) >> 41);
                else if (e > 0)
                    f |= (uint32_t)e << 23 | (uint32_t)((m << 1) >> 41);
                else
                    f |= (uint32_t)((m >> 41) >> (1 - e < 31 ? 1 - e : 31));
                memcpy(d + off + 4 * k, &f, 4);
                xg87_value(r, &m, &se);
            }
            break;
        default: {
            static const uint64_t ints[] = { 0, 1, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
                                             0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 12345 };
            for (int k = 0; k < 2; k++)
                q[k] = xg87_below(r, 2) ? ints[xg87_below(r, sizeof(ints) / sizeof(ints[0]))] : xg87_next(r);
            memcpy(d + off, q, 16);
            break;
        }
        }
    }
}

/* One instruction in its 64-bit (also 32-bit) encoding and its 16-bit one. */
static inline void xg87_emit2(struct xg87_case *t, const uint8_t *b, unsigned n, const uint8_t *b16, unsigned n16)
{
    t->insn_off16[t->count] = (uint8_t)t->len16;
    memcpy(t->code16 + t->len16, b16, n16);
    t->len16 += n16;
    t->insn_off[t->count++] = (uint8_t)t->len;
    memcpy(t->code + t->len, b, n);
    t->len += n;
}

/* An instruction without memory operand or size prefix: the same bytes in both. */
static inline void xg87_emit(struct xg87_case *t, const uint8_t *b, unsigned n)
{
    xg87_emit2(t, b, n, b, n);
}

/* A disp8 for an operand of `size` bytes that stays inside the data area. */
static inline uint8_t xg87_disp(struct xg87_rng *r, unsigned size)
{
    int lo = -64, hi = 127 - (int)size;
    return (uint8_t)(int8_t)(lo + (int)xg87_below(r, (unsigned)(hi - lo + 1)));
}

#define XG87_MODRM_RBX_D8(reg) (uint8_t)(0x43u | ((reg) << 3))
#define XG87_MODRM_RBX_D32(reg) (uint8_t)(0x83u | ((reg) << 3))
#define XG87_MODRM_BX_D8(reg) (uint8_t)(0x47u | ((reg) << 3))    /* 16-bit addressing: [bx+disp8] */
#define XG87_MODRM_BX_D16(reg) (uint8_t)(0x87u | ((reg) << 3))   /* [bx+disp16] */
#define XG87_IMAGE_DISP 136u         /* images at data[328 ..]: out of disp8 reach */

/* Register-form encodings that are valid (D9/DA/DB/DE/DF rows have holes). */
static inline bool xg87_reg_form_ok(uint8_t esc, uint8_t modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    switch (esc) {
    case 0xd9:
        if (reg == 2) return modrm == 0xd0;
        if (reg == 4) return modrm == 0xe0 || modrm == 0xe1 || modrm == 0xe4 || modrm == 0xe5;
        if (reg == 5) return modrm != 0xef;
        return true;
    case 0xda: return reg < 4 || modrm == 0xe9;
    case 0xdb: return reg < 4 || reg == 5 || reg == 6 || modrm == 0xe2;
    case 0xdd: return reg != 6 && reg != 7;
    case 0xde: return reg != 3 || modrm == 0xd9;
    case 0xdf: return reg == 0 || reg == 1 || reg == 2 || reg == 3 || reg == 5 || reg == 6 || modrm == 0xe0;
    default: return true;
    }
}

/* Transcendentals and the other approximate ones (compared within tolerance). */
static inline bool xg87_is_approx(uint8_t esc, uint8_t modrm)
{
    return esc == 0xd9 && (modrm == 0xf0 || modrm == 0xf1 || modrm == 0xf2 || modrm == 0xf3 || modrm == 0xf9 ||
                           modrm == 0xfb || modrm == 0xfe || modrm == 0xff);
}

/* One instruction. */
static inline void xg87_insn(struct xg87_rng *r, struct xg87_case *t, bool last)
{
    uint8_t b[8];
    unsigned pick = xg87_below(r, 100);
    if (pick < 30) {                         /* memory forms: arithmetic, loads, stores, conversions */
        static const uint8_t ok[8] = { 0xff, 0x0d, 0xff, 0xaf, 0xff, 0x0f, 0xff, 0xff };  /* valid regs per escape */
        static const uint8_t sizes[8][8] = {
            { 4, 4, 4, 4, 4, 4, 4, 4 }, { 4, 0, 4, 4, 0, 0, 0, 0 }, { 4, 4, 4, 4, 4, 4, 4, 4 },
            { 4, 4, 4, 4, 0, 10, 0, 10 }, { 8, 8, 8, 8, 8, 8, 8, 8 }, { 8, 8, 8, 8, 0, 0, 0, 0 },
            { 2, 2, 2, 2, 2, 2, 2, 2 }, { 2, 2, 2, 2, 10, 8, 10, 8 } };
        unsigned esc, reg;
        do {
            esc = xg87_below(r, 8);
            reg = xg87_below(r, 8);
        } while (!(ok[esc] & (1u << reg)));
        b[0] = (uint8_t)(0xd8 + esc);
        b[1] = XG87_MODRM_RBX_D8(reg);
        b[2] = xg87_disp(r, sizes[esc][reg]);
        const uint8_t b16[3] = { b[0], XG87_MODRM_BX_D8(reg), b[2] };
        xg87_emit2(t, b, 3, b16, 3);
    } else if (pick < 75) {                  /* register forms */
        uint8_t esc, modrm;
        do {
            esc = (uint8_t)(0xd8 + xg87_below(r, 8));
            modrm = (uint8_t)(0xc0 + xg87_below(r, 64));
        } while (!xg87_reg_form_ok(esc, modrm) || (xg87_is_approx(esc, modrm) && (!last || !XG87_TRANSCENDENTALS)) ||
                 (esc == 0xdb && modrm == 0xe3 && xg87_below(r, 4)));
        t->approx |= xg87_is_approx(esc, modrm);
        b[0] = esc;
        b[1] = modrm;
        xg87_emit(t, b, 2);
    } else if (pick < 83) {                  /* FLDCW from an immediate written first */
        uint8_t d = xg87_disp(r, 2);
        uint16_t cw = xg87_cw(r);
        uint8_t mov[6] = { 0x66, 0xc7, 0x43, d, (uint8_t)cw, (uint8_t)(cw >> 8) };
        const uint8_t mov16[5] = { 0xc7, 0x47, d, (uint8_t)cw, (uint8_t)(cw >> 8) };
        xg87_emit2(t, mov, 6, mov16, 5);
        uint8_t ld[3] = { 0xd9, XG87_MODRM_RBX_D8(5u), d };
        const uint8_t ld16[3] = { 0xd9, XG87_MODRM_BX_D8(5u), d };
        xg87_emit2(t, ld, 3, ld16, 3);
    } else if (pick < 88) {                  /* FNSTSW AX, then SAHF or SETcc */
        uint8_t st[2] = { 0xdf, 0xe0 };
        xg87_emit(t, st, 2);
        if (xg87_below(r, 2)) {
            uint8_t sahf = 0x9e;
            xg87_emit(t, &sahf, 1);
        } else {
            uint8_t set[3] = { 0x0f, (uint8_t)(0x90 + xg87_below(r, 16)), 0xc0 };
            xg87_emit(t, set, 3);
        }
    } else if (pick < 90) {                  /* SETcc after FCOMI-style flags */
        uint8_t set[3] = { 0x0f, (uint8_t)(0x90 + xg87_below(r, 16)), 0xc1 };
        xg87_emit(t, set, 3);
    } else if (pick < 96 && t->nimages < XG87_MAX_IMAGES) {   /* FNSTENV/FNSAVE and reload */
        bool save = xg87_below(r, 3) == 0, o16 = xg87_below(r, 4) == 0;
        unsigned size = (o16 ? 14u : 28u) + (save ? 80u : 0u);
        /* Images live above what disp8 operands reach ([rbx+disp32]): their pointer
         * fields differ between processors and must not feed later loads. */
        uint32_t d = XG87_IMAGE_DISP + 16u * xg87_below(r, (XG87_DATA_BYTES - XG87_RBX_OFF - XG87_IMAGE_DISP - size) / 16u + 1u);
        unsigned n = 0, n16 = 0;
        uint8_t c16[8];
        if (o16)
            b[n++] = 0x66;
        else
            c16[n16++] = 0x66;   /* 16-bit code: the prefix selects the 28/108-byte image */
        b[n++] = c16[n16++] = save ? 0xdd : 0xd9;
        b[n++] = XG87_MODRM_RBX_D32(6u);
        c16[n16++] = XG87_MODRM_BX_D16(6u);
        memcpy(b + n, &d, 4);
        memcpy(c16 + n16, &d, 2);
        n += 4;
        n16 += 2;
        xg87_emit2(t, b, n, c16, n16);
        t->images[t->nimages++] = (struct xg87_image){ (uint16_t)(XG87_RBX_OFF + d), o16 };
        if (xg87_below(r, 2)) {
            b[n - 5] = XG87_MODRM_RBX_D32(4u);   /* FLDENV / FRSTOR from it */
            c16[n16 - 3] = XG87_MODRM_BX_D16(4u);
            xg87_emit2(t, b, n, c16, n16);
        }
    } else if (pick < 98) {
        uint8_t w = 0x9b;                    /* FWAIT */
        xg87_emit(t, &w, 1);
    } else {
        uint8_t d = xg87_disp(r, 2);
        uint8_t st[3] = { (uint8_t)(xg87_below(r, 2) ? 0xd9 : 0xdd), XG87_MODRM_RBX_D8(7u), d };   /* FNSTCW / FNSTSW m16 */
        const uint8_t st16[3] = { st[0], XG87_MODRM_BX_D8(7u), d };
        xg87_emit2(t, st, 3, st16, 3);
    }
}

static inline void xg87_make(uint64_t seed, unsigned index, struct xg87_case *t)
{
    struct xg87_rng r = { seed * 0x9e3779b97f4a7c15ull + index * 0xd1b54a32d192ed03ull + 7 };
    memset(t, 0, sizeof(*t));
    xg87_state(&r, t);
    xg87_data(&r, t->data);
    t->rax = xg87_next(&r);
    t->rflags = 0x2 | (xg87_next(&r) & 0x8d5);
    unsigned n = 1 + xg87_below(&r, XG87_MAX_INSNS - 3);
    for (unsigned i = 0; i < n && t->count + 3 <= XG87_MAX_INSNS && t->len + 16 <= XG87_MAX_BYTES; i++)
        xg87_insn(&r, t, i + 1 == n);
}

#endif /* ANYHV_TESTS_SOFT_X86_X87_GEN_H */
