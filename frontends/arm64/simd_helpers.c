/* simd_helpers.c - AdvSIMD instruction groups executed by one C helper per
 * instruction, lane by lane on the state's V registers: three-same (integer and
 * FP), two-register misc, shift by immediate, across lanes, permutes, EXT, TBL/TBX
 * and by element (structure loads/stores: simd_ldst.c; saturation: simd_sat.c).
 * a64_simd_valid() is the translate-time check: encodings it refuses are UNDEFINED. */
#include "frontends/arm64/a64_fe.h"

#include <string.h>

#define F(insn, lsb, w) a64_bits(insn, lsb, w)

struct vctx {
    void *cpu;
    struct a64_state *st;
    uint32_t insn;
    unsigned q, u, size, opcode, rd, rn, rm;
    bool scalar;   /* scalar (asisd) form: element 0 only */
};

static uint64_t lane(const uint8_t *v, unsigned eb, unsigned i)
{
    uint64_t x = 0;
    memcpy(&x, v + i * eb, eb);
    return x;
}

static void set_lane(uint8_t *v, unsigned eb, unsigned i, uint64_t x)
{
    memcpy(v + i * eb, &x, eb);
}

static int64_t sext(uint64_t x, unsigned bits)
{
    return bits >= 64 ? (int64_t)x : (int64_t)(x << (64 - bits)) >> (64 - bits);
}

static uint64_t mask(unsigned bits)
{
    return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static void write_result(struct vctx *c, const uint8_t *r)
{
    memcpy(c->st->v[c->rd].b, r, c->q ? 16 : 8);
    if (!c->q)
        memset(c->st->v[c->rd].b + 8, 0, 8);
}

static struct vctx ctx(void *cpu, uint32_t insn)
{
    return (struct vctx){ cpu, a64_st(cpu), insn, F(insn, 30, 1), F(insn, 29, 1), F(insn, 22, 2),
                          F(insn, 11, 5), A64_RD(insn), A64_RN(insn), A64_RM(insn), false };
}

/* ---- three same ---- */
#define NZCV_Z (1ull << 30)
#define NZCV_C (1ull << 29)
#define NZCV_N (1ull << 31)

static bool same_int_valid(unsigned u, unsigned size, unsigned q, unsigned op)
{
    if (op > (u ? 0x16u : 0x17u))
        return false;
    if (op == 0x03)
        return true;   /* logical group: any size */
    if (size == 3 && !q)
        return false;
    if (op == 0x16)
        return size == 1 || size == 2;   /* SQDMULH / SQRDMULH */
    bool any64 = op == 0x01 || op == 0x05 || op == 0x06 || op == 0x07 || (op >= 0x08 && op <= 0x0b) ||
                 op == 0x10 || op == 0x11 || op == 0x17;
    if (size == 3 && !any64)
        return false;
    if (op == 0x13 && u && size != 0)
        return false;   /* PMUL: bytes only */
    if (op == 0x17 && u)
        return false;   /* U=1 10111 unallocated */
    return true;
}

static bool same_fp_valid(unsigned u, unsigned a, unsigned sz, unsigned q, unsigned op)
{
    /* bit k (opcode - 0x18) set = implemented, per U and a:
     * U0 a0: FMAXNM FMLA FADD FMULX FCMEQ FMAX FRECPS;  U0 a1: FMINNM FMLS FSUB FMIN FRSQRTS;
     * U1 a0: FMAXNMP FADDP FMUL FCMGE FACGE FMAXP FDIV;  U1 a1: FMINNMP FABD FCMGT FACGT FMINP */
    static const uint8_t ok[2][2] = { { 0xdf, 0xc7 }, { 0xfd, 0x75 } };
    if (sz && !q)
        return false;
    return (ok[u][a] >> (op - 0x18)) & 1;
}

static uint64_t fp_lane(struct vctx *c, unsigned fop, uint64_t x, uint64_t y, bool dp)
{
    return (uint64_t)a64_fp_binop(c->cpu, x, y, fop | ((unsigned)dp << 8));
}

static uint64_t fp_compare(struct vctx *c, uint64_t x, uint64_t y, bool dp, bool signal, unsigned want)
{
    uint64_t nzcv = (uint64_t)a64_fp_cmp(c->cpu, x, y, (unsigned)dp | (signal ? 0x100u : 0));
    bool eq = nzcv == (NZCV_Z | NZCV_C), gt = nzcv == NZCV_C;
    bool r = want == 0 ? eq : want == 1 ? (eq || gt) : gt;
    return r ? ~0ull : 0;
}

static void same_fp(struct vctx *c, uint8_t *r, const uint8_t *n, const uint8_t *m, const uint8_t *d)
{
    unsigned a = c->size >> 1, dp = c->size & 1, eb = dp ? 8 : 4, k = c->opcode - 0x18;
    unsigned lanes = c->scalar ? 1 : (c->q ? 16 : 8) / eb;
    uint64_t sign = dp ? (1ull << 63) : (1ull << 31);
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t x = lane(n, eb, i), y = lane(m, eb, i), v = 0;
        if (c->u && k != 3 && k != 4 && k != 5 && k != 7 && !(a && k == 2)) {
            /* pairwise: operands are adjacent lanes of m:n */
            const uint8_t *src = 2 * i < lanes ? n : m;
            unsigned j = (2 * i) % lanes;
            x = lane(src, eb, j);
            y = lane(src, eb, j + 1);
        }
        switch (k | (a << 3) | (c->u << 4)) {
        case 0x00: v = fp_lane(c, FB_MAXNM, x, y, dp); break;
        case 0x01: v = (uint64_t)a64_fp_fma(c->cpu, x, y, (ir_u128)lane(d, eb, i) | ((ir_u128)dp << 64)); break;
        case 0x02: v = fp_lane(c, FB_ADD, x, y, dp); break;
        case 0x03: v = fp_lane(c, FB_MULX, x, y, dp); break;
        case 0x07: v = fp_lane(c, FB_RECPS, x, y, dp); break;
        case 0x0f: v = fp_lane(c, FB_RSQRTS, x, y, dp); break;
        case 0x04: v = fp_compare(c, x, y, dp, false, 0); break;
        case 0x06: v = fp_lane(c, FB_MAX, x, y, dp); break;
        case 0x08: v = fp_lane(c, FB_MINNM, x, y, dp); break;
        case 0x09: v = (uint64_t)a64_fp_fma(c->cpu, x, y, (ir_u128)lane(d, eb, i) | ((ir_u128)dp << 64) | ((ir_u128)1 << 66)); break;
        case 0x0a: v = fp_lane(c, FB_SUB, x, y, dp); break;
        case 0x0e: v = fp_lane(c, FB_MIN, x, y, dp); break;
        case 0x10: v = fp_lane(c, FB_MAXNM, x, y, dp); break;
        case 0x12: v = fp_lane(c, FB_ADD, x, y, dp); break;
        case 0x13: v = fp_lane(c, FB_MUL, x, y, dp); break;
        case 0x14: v = fp_compare(c, x, y, dp, true, 1); break;
        case 0x15: v = fp_compare(c, x & ~sign, y & ~sign, dp, true, 1); break;
        case 0x16: v = fp_lane(c, FB_MAX, x, y, dp); break;
        case 0x17: v = fp_lane(c, FB_DIV, x, y, dp); break;
        case 0x18: v = fp_lane(c, FB_MINNM, x, y, dp); break;
        case 0x1a: v = fp_lane(c, FB_SUB, x, y, dp) & ~sign; break;
        case 0x1c: v = fp_compare(c, x, y, dp, true, 2); break;
        case 0x1d: v = fp_compare(c, x & ~sign, y & ~sign, dp, true, 2); break;
        case 0x1e: v = fp_lane(c, FB_MIN, x, y, dp); break;
        default: break;
        }
        set_lane(r, eb, i, v);
    }
}


static uint64_t shift_by_lane(uint64_t x, int64_t sh, unsigned bits, bool is_signed)
{
    sh = (int8_t)sh;   /* the shift is the bottom byte of the element, signed */
    if (sh >= 0)
        return sh >= (int64_t)bits ? 0 : (x << sh) & mask(bits);
    int64_t r = -sh;
    if (is_signed)
        return (uint64_t)(r >= (int64_t)bits ? (sext(x, bits) < 0 ? -1 : 0) : sext(x, bits) >> r) & mask(bits);
    return r >= (int64_t)bits ? 0 : x >> r;
}

static void same_int(struct vctx *c, uint8_t *r, const uint8_t *n, const uint8_t *m, const uint8_t *d)
{
    unsigned eb = 1u << c->size, bits = 8 * eb, lanes = c->scalar ? 1 : (c->q ? 16 : 8) / eb, op = c->opcode;
    bool s = !c->u;
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t x = lane(n, eb, i), y = lane(m, eb, i), acc = lane(d, eb, i), v = 0;
        __int128 a = s ? (__int128)sext(x, bits) : (__int128)x, b = s ? (__int128)sext(y, bits) : (__int128)y;
        if (op == 0x14 || op == 0x15 || op == 0x17) {
            const uint8_t *src = 2 * i < lanes ? n : m;
            unsigned j = (2 * i) % lanes;
            x = lane(src, eb, j), y = lane(src, eb, j + 1);
            a = s ? (__int128)sext(x, bits) : (__int128)x;
            b = s ? (__int128)sext(y, bits) : (__int128)y;
        }
        switch (op) {
        case 0x00: v = (uint64_t)((a + b) >> 1); break;                      /* [SU]HADD */
        case 0x01: v = a64_satq(&c->st->fpsr, a + b, bits, s); break;         /* [SU]QADD */
        case 0x02: v = (uint64_t)((a + b + 1) >> 1); break;                  /* [SU]RHADD */
        case 0x04: v = (uint64_t)((a - b) >> 1); break;                      /* [SU]HSUB */
        case 0x05: v = a64_satq(&c->st->fpsr, a - b, bits, s); break;         /* [SU]QSUB */
        case 0x06: v = a > b ? ~0ull : 0; break;                             /* CMGT / CMHI */
        case 0x07: v = a >= b ? ~0ull : 0; break;                            /* CMGE / CMHS */
        case 0x08: v = shift_by_lane(x, (int64_t)y, bits, s); break;         /* [SU]SHL */
        case 0x09: v = a64_shift_reg(&c->st->fpsr, x, y, bits, s, false, true); break;  /* [SU]QSHL */
        case 0x0a: v = a64_shift_reg(&c->st->fpsr, x, y, bits, s, true, false); break;  /* [SU]RSHL */
        case 0x0b: v = a64_shift_reg(&c->st->fpsr, x, y, bits, s, true, true); break;   /* [SU]QRSHL */
        case 0x16: v = a64_sqdmulh(&c->st->fpsr, x, y, bits, c->u); break;  /* SQDMULH / SQRDMULH */
        case 0x0c: v = (uint64_t)(a > b ? a : b); break;                     /* [SU]MAX */
        case 0x0d: v = (uint64_t)(a < b ? a : b); break;                     /* [SU]MIN */
        case 0x0e: v = (uint64_t)(a > b ? a - b : b - a); break;             /* [SU]ABD */
        case 0x0f: v = acc + (uint64_t)(a > b ? a - b : b - a); break;       /* [SU]ABA */
        case 0x10: v = s ? x + y : x - y; break;                             /* ADD / SUB */
        case 0x11: v = s ? ((x & y) ? ~0ull : 0) : (x == y ? ~0ull : 0); break; /* CMTST / CMEQ */
        case 0x12: v = s ? acc + x * y : acc - x * y; break;                 /* MLA / MLS */
        case 0x13:                                                           /* MUL / PMUL */
            if (s) {
                v = x * y;
            } else {
                for (unsigned k = 0; k < 8; k++)
                    if (y & (1u << k))
                        v ^= x << k;
            }
            break;
        case 0x14: v = (uint64_t)(a > b ? a : b); break;                     /* [SU]MAXP */
        case 0x15: v = (uint64_t)(a < b ? a : b); break;                     /* [SU]MINP */
        case 0x17: v = x + y; break;                                         /* ADDP */
        default: break;
        }
        set_lane(r, eb, i, v & mask(bits));
    }
}

/* AND BIC ORR ORN / EOR BSL BIT BIF, chosen by U:size. */
static void same_logic(struct vctx *c, uint8_t *r, const uint8_t *n, const uint8_t *m, const uint8_t *d)
{
    for (unsigned i = 0; i < 16; i += 8) {
        uint64_t x = lane(n, 8, i / 8), y = lane(m, 8, i / 8), z = lane(d, 8, i / 8), v;
        switch ((c->u << 2) | c->size) {
        case 0: v = x & y; break;
        case 1: v = x & ~y; break;
        case 2: v = x | y; break;
        case 3: v = x | ~y; break;
        case 4: v = x ^ y; break;
        case 5: v = (z & x) | (~z & y); break;   /* BSL */
        case 6: v = (y & x) | (~y & z); break;   /* BIT */
        default: v = (~y & x) | (y & z); break;  /* BIF */
        }
        set_lane(r, 8, i / 8, v);
    }
}

static void run_same(struct vctx *c)
{
    uint8_t r[16] = { 0 }, n[16], m[16], d[16];
    memcpy(n, c->st->v[c->rn].b, 16), memcpy(m, c->st->v[c->rm].b, 16), memcpy(d, c->st->v[c->rd].b, 16);
    if (c->opcode >= 0x18)
        same_fp(c, r, n, m, d);
    else if (c->opcode == 0x03)
        same_logic(c, r, n, m, d);
    else
        same_int(c, r, n, m, d);
    write_result(c, r);
}

/* ---- two-register misc ---- */
static bool misc_valid(unsigned u, unsigned size, unsigned q, unsigned op)
{
    switch (op) {
    case 0x00: return size < (u ? 2u : 3u);        /* REV64 / REV32 */
    case 0x01: return !u && size == 0;             /* REV16 */
    case 0x02: return size != 3;                   /* [SU]ADDLP */
    case 0x04: return size != 3;                   /* CLS / CLZ */
    case 0x05: return u ? size <= 1 : size == 0;   /* CNT / NOT / RBIT */
    case 0x08: case 0x09: case 0x0b: return size != 3 || q;   /* CMGT/GE/EQ/LE #0, ABS/NEG */
    case 0x03: case 0x07: return size != 3 || q;   /* SUQADD/USQADD, SQABS/SQNEG */
    case 0x0a: return !u && (size != 3 || q);      /* CMLT #0 */
    case 0x12: case 0x14: return size != 3;       /* XTN / SQXTUN, SQXTN / UQXTN */
    case 0x0f: return (size & 2) && !((size & 1) && !q);   /* FABS / FNEG */
    case 0x0c: case 0x0d: return (size & 2) && !((size & 1) && !q);   /* FCM{GT,GE,EQ,LE} #0 */
    case 0x0e: return !u && (size & 2) && !((size & 1) && !q);        /* FCMLT #0 */
    case 0x1d: return !((size & 1) && !q);                 /* SCVTF / UCVTF, FRECPE / FRSQRTE */
    case 0x18: return !(u && (size & 2)) && !((size & 1) && !q);   /* FRINT{N,P,A} */
    case 0x19: case 0x1a: case 0x1b: return !((size & 1) && !q);   /* FRINT{M,Z,X,I}, FCVT{N,P,M,Z}[SU] */
    case 0x1c: return (size & 2) ? size == 2 : !((size & 1) && !q);   /* URECPE/URSQRTE, FCVTA[SU] */
    case 0x1f: return u && (size & 2) && !((size & 1) && !q);      /* FSQRT */
    case 0x16: return !(size & 2) && (!u || (size & 1));   /* FCVTN (D->S, S->H), FCVTXN (D->S only) */
    case 0x17: return !u && !(size & 2);                  /* FCVTL (S->D, H->S) */
    default: return false;
    }
}

/* FCVTN{2} / FCVTXN{2} narrow Vn into the low (Q=0) or high (Q=1) half of Vd;
 * FCVTL{2} widen the low or high half of Vn into all of Vd. size<0> set: the
 * wide elements are double (else single, the narrow ones half). The scalar
 * FCVT conversions do the work, so FPCR and FPSR behave as they do there. */
static void fp_width(struct vctx *c, uint8_t *r, const uint8_t *n)
{
    bool dp = c->size & 1;
    unsigned we = dp ? 8 : 4, ne = we / 2, lanes = c->scalar ? 1 : 8 / ne, half = c->q ? 8 : 0;
    if (c->opcode == 0x16) {
        unsigned op = c->u ? FU_CVT_D2S_ODD : dp ? FU_CVT_D2S : FU_CVT_S2H;
        if (!c->scalar)
            memcpy(r, c->st->v[c->rd].b, 16);
        for (unsigned i = 0; i < lanes; i++) {
            uint64_t v = (uint64_t)a64_fp_unop(c->cpu, lane(n, we, i), 0, op | ((unsigned)dp << 8));
            set_lane(r + half, ne, i, v & mask(8 * ne));
        }
        write_result(c, r);
        return;
    }
    unsigned op = dp ? FU_CVT_S2D : FU_CVT_H2S;
    for (unsigned i = 0; i < lanes; i++)
        set_lane(r, we, i, (uint64_t)a64_fp_unop(c->cpu, lane(n + half, ne, i), 0, op) & mask(8 * we));
    memcpy(c->st->v[c->rd].b, r, 16);   /* the wide result fills Vd whatever Q is */
}

static void run_misc(struct vctx *c)
{
    uint8_t r[16] = { 0 }, n[16];
    memcpy(n, c->st->v[c->rn].b, 16);
    unsigned op = c->opcode, eb = 1u << c->size, bits = 8 * eb, bytes = c->q ? 16 : 8, lanes = bytes / eb;
    if (op == 0x00 || op == 0x01) {
        unsigned group = op == 0x01 ? 2 : c->u ? 4 : 8;   /* REV16 / REV32 / REV64 */
        for (unsigned i = 0; i < bytes; i += group)
            for (unsigned j = 0; j < group; j += eb)
                memcpy(r + i + j, n + i + group - eb - j, eb);
    } else if (op == 0x02) {
        for (unsigned i = 0; i < lanes / 2; i++) {
            uint64_t x = lane(n, eb, 2 * i), y = lane(n, eb, 2 * i + 1);
            uint64_t v = c->u ? x + y : (uint64_t)(sext(x, bits) + sext(y, bits));
            set_lane(r, 2 * eb, i, v & mask(2 * bits));
        }
    } else if (op == 0x12 || op == 0x14) {
        /* [SU]Q?XTU?N{2}: narrow into the low (Q=0) or high (Q=1) half of Vd */
        if (!c->scalar)
            memcpy(r, c->st->v[c->rd].b, 16);
        for (unsigned i = 0; i < (c->scalar ? 1 : 8 / eb); i++) {
            uint64_t x = lane(n, 2 * eb, i), v = x & mask(bits);
            bool src_signed = !c->u || op == 0x12;
            __int128 w = src_signed ? (__int128)sext(x, 2 * bits) : (__int128)x;
            if (op == 0x14 || c->u)
                v = a64_satq(&c->st->fpsr, w, bits, op == 0x14 && !c->u);
            set_lane(r + (c->q ? 8 : 0), eb, i, v);
        }
    } else if (op == 0x16 || op == 0x17) {
        fp_width(c, r, n);
        return;
    } else if (op == 0x0c || op == 0x0d || op == 0x0e) {
        bool dp = c->size & 1;
        unsigned fe = dp ? 8 : 4;
        for (unsigned i = 0; i < (c->scalar ? 1 : bytes / fe); i++) {
            uint64_t x = lane(n, fe, i), v;
            switch (op | (c->u << 5)) {
            case 0x0c: v = fp_compare(c, x, 0, dp, true, 2); break;    /* FCMGT #0 */
            case 0x2c: v = fp_compare(c, x, 0, dp, true, 1); break;    /* FCMGE #0 */
            case 0x0d: v = fp_compare(c, x, 0, dp, false, 0); break;   /* FCMEQ #0 */
            case 0x2d: v = fp_compare(c, 0, x, dp, true, 1); break;    /* FCMLE #0 */
            default: v = fp_compare(c, 0, x, dp, true, 2); break;      /* FCMLT #0 */
            }
            set_lane(r, fe, i, v & mask(8 * fe));
        }
    } else if (op == 0x0f || op >= 0x18) {
        bool dp = c->size & 1;
        unsigned fe = dp ? 8 : 4, o2 = c->size >> 1, cvt_rm = 0, rint_rm;
        uint64_t sign = dp ? (1ull << 63) : (1ull << 31);
        switch (op) {   /* FCVT*[SU] and FRINT* rounding, by opcode, size<1> and U */
        case 0x1a: cvt_rm = o2 ? RM_PLUS : RM_NEAREST; break;
        case 0x1b: cvt_rm = o2 ? RM_ZERO : RM_MINUS; break;
        case 0x1c: cvt_rm = RM_AWAY; break;
        default: break;
        }
        if (op == 0x18)
            rint_rm = c->u ? RINT_A : o2 ? RINT_P : RINT_N;
        else
            rint_rm = c->u ? (o2 ? RINT_I : RINT_X) : (o2 ? RINT_Z : RINT_M);
        for (unsigned i = 0; i < (c->scalar ? 1 : bytes / fe); i++) {
            uint64_t x = lane(n, fe, i), v;
            if (op == 0x0f)
                v = c->u ? x ^ sign : x & ~sign;
            else if (op == 0x1c && o2)   /* URECPE / URSQRTE */
                v = c->u ? ((x >> 30) ? (uint64_t)a64_rsqrt_estimate((unsigned)(x >> 23)) << 23 : 0xffffffffu)
                         : ((x >> 31) ? (uint64_t)a64_recip_estimate((unsigned)(x >> 23)) << 23 : 0xffffffffu);
            else if (op == 0x1d && o2)
                v = (uint64_t)a64_fp_unop(c->cpu, x, 0, (c->u ? FU_RSQRTE : FU_RECPE) | ((unsigned)dp << 8));
            else if (op == 0x1f && !c->u)
                v = (uint64_t)a64_fp_unop(c->cpu, x, 0, FU_RECPX | ((unsigned)dp << 8));
            else if (op == 0x1d)
                v = (uint64_t)a64_fp_cvt(c->cpu, x, 0, (c->u ? FC_UCVTF : FC_SCVTF) | ((unsigned)dp << 8) | ((unsigned)dp << 10));
            else if (op == 0x18 || op == 0x19)
                v = (uint64_t)a64_fp_unop(c->cpu, x, 0, FU_RINT | ((unsigned)dp << 8) | (rint_rm << 12));
            else if (op == 0x1f)
                v = (uint64_t)a64_fp_unop(c->cpu, x, 0, FU_SQRT | ((unsigned)dp << 8));
            else
                v = (uint64_t)a64_fp_cvt(c->cpu, x, 0, (c->u ? FC_FCVTZU : FC_FCVTZS) | ((unsigned)dp << 8) |
                                                          ((unsigned)dp << 10) | (cvt_rm << 12));
            set_lane(r, fe, i, v & mask(8 * fe));
        }
    } else {
        if (op == 0x05) {
            eb = 1, bits = 8, lanes = bytes;   /* CNT/NOT/RBIT work on bytes whatever size says */
        }
        const uint8_t *d = c->st->v[c->rd].b;
        for (unsigned i = 0; i < (c->scalar ? 1 : lanes); i++) {
            uint64_t x = lane(n, eb, i), v = 0, acc = lane(d, eb, i);
            int64_t sx = sext(x, bits);
            switch (op | (c->u << 5)) {
            case 0x04: { uint64_t y = (x ^ (uint64_t)(sx >> 1)) & mask(bits);   /* CLS */
                         v = y ? (uint64_t)(__builtin_clzll(y) - (64 - bits)) - 1 : bits - 1; break; }
            case 0x24: v = x ? (uint64_t)(__builtin_clzll(x) - (64 - bits)) : bits; break;   /* CLZ */
            case 0x05: v = (uint64_t)__builtin_popcountll(x); break;             /* CNT */
            case 0x25:
                if (c->size == 0) {
                    v = ~x;                                                      /* NOT */
                } else {
                    for (unsigned k = 0; k < 8; k++)                             /* RBIT */
                        v |= ((x >> k) & 1) << (7 - k);
                }
                break;
            case 0x08: v = sx > 0 ? ~0ull : 0; break;    /* CMGT #0 */
            case 0x28: v = sx >= 0 ? ~0ull : 0; break;   /* CMGE #0 */
            case 0x09: v = sx == 0 ? ~0ull : 0; break;   /* CMEQ #0 */
            case 0x29: v = sx <= 0 ? ~0ull : 0; break;   /* CMLE #0 */
            case 0x0a: v = sx < 0 ? ~0ull : 0; break;    /* CMLT #0 */
            case 0x0b: v = sx < 0 ? 0 - (uint64_t)sx : x; break;   /* ABS */
            case 0x2b: v = 0 - (uint64_t)sx; break;             /* NEG */
            case 0x07: v = a64_satq(&c->st->fpsr, sx < 0 ? -(__int128)sx : sx, bits, true); break;   /* SQABS */
            case 0x27: v = a64_satq(&c->st->fpsr, -(__int128)sx, bits, true); break;                 /* SQNEG */
            case 0x03: v = a64_satq(&c->st->fpsr, (__int128)sext(acc, bits) + x, bits, true); break;  /* SUQADD */
            case 0x23: v = a64_satq(&c->st->fpsr, (__int128)acc + sx, bits, false); break;           /* USQADD */
            default: break;
            }
            set_lane(r, eb, i, v & mask(bits));
        }
    }
    write_result(c, r);
}

/* ---- shift by immediate ---- */
static int highest(unsigned immh)
{
    return immh ? 31 - __builtin_clz(immh) : -1;
}

static bool shift_valid(uint32_t insn)
{
    unsigned immh = F(insn, 19, 4), q = F(insn, 30, 1), u = F(insn, 29, 1), op = F(insn, 11, 5);
    if (!immh)
        return false;
    bool narrow = op >= 0x10 && op <= 0x13, wide = op == 0x14;
    if ((narrow || wide) && (immh & 8))
        return false;
    if (!narrow && !wide && (immh & 8) && !q)
        return false;
    switch (op) {
    case 0x00: case 0x02: case 0x04: case 0x06: case 0x0a: case 0x14: return true;
    case 0x08: return u;             /* SRI */
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x0e: return true;   /* [SU]Q?R?SHRU?N, [SU]QSHL */
    case 0x0c: return u;             /* SQSHLU */
    case 0x1c: case 0x1f: return immh >= 4;   /* [SU]CVTF, FCVTZ[SU] (fixed-point); half precision is not done */
    default: return false;
    }
}

static void run_shift(struct vctx *c)
{
    uint8_t r[16] = { 0 }, n[16], d[16];
    memcpy(n, c->st->v[c->rn].b, 16), memcpy(d, c->st->v[c->rd].b, 16);
    unsigned immh = F(c->insn, 19, 4), immhb = F(c->insn, 16, 7), op = c->opcode;
    unsigned esize = 8u << highest(immh), eb = esize / 8;
    unsigned rsh = 2 * esize - immhb, lsh = immhb - esize;
    bool s = !c->u;
    if (op >= 0x10 && op <= 0x13) {   /* [SU]Q?R?SHRU?N{2}: from 2*esize lanes */
        if (!c->scalar)
            memcpy(r, d, 16);
        bool sat_dst = c->u || op >= 0x12, dst_signed = !c->u, src_signed = !(c->u && op >= 0x12);
        for (unsigned i = 0; i < (c->scalar ? 1 : 8 / eb); i++) {
            uint64_t x = lane(n, 2 * eb, i);
            __int128 w = src_signed ? (__int128)sext(x, 2 * esize) : (__int128)x;
            if (op & 1)
                w += (__int128)1 << (rsh - 1);
            w >>= rsh;
            uint64_t v = sat_dst ? a64_satq(&c->st->fpsr, w, esize, dst_signed) : (uint64_t)w & mask(esize);
            set_lane(r + (c->q ? 8 : 0), eb, i, v);
        }
        memcpy(c->st->v[c->rd].b, r, 16);
        if (!c->q)
            memset(c->st->v[c->rd].b + 8, 0, 8);
        return;
    }
    if (op == 0x14) {   /* [SU]SHLL{2}: widen the low or high half */
        const uint8_t *src = n + (c->q ? 8 : 0);
        for (unsigned i = 0; i < 8 / eb; i++) {
            uint64_t x = lane(src, eb, i);
            uint64_t w = s ? (uint64_t)sext(x, esize) : x;
            set_lane(r, 2 * eb, i, (w << lsh) & mask(2 * esize));
        }
        memcpy(c->st->v[c->rd].b, r, 16);
        return;
    }
    unsigned lanes = c->scalar ? 1 : (c->q ? 16 : 8) / eb;
    if (op == 0x1c || op == 0x1f) {   /* fixed point: fbits = 2 * esize - immh:immb */
        unsigned kind = op == 0x1c ? (c->u ? FC_UCVTF : FC_SCVTF) : (c->u ? FC_FCVTZU : FC_FCVTZS), dp = esize == 64;
        for (unsigned i = 0; i < lanes; i++)
            set_lane(r, eb, i, (uint64_t)a64_fp_cvt(c->cpu, lane(n, eb, i), 0,
                                                    kind | (dp << 8) | (dp << 10) | (rsh << 16)) & mask(esize));
        write_result(c, r);
        return;
    }
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t x = lane(n, eb, i), acc = lane(d, eb, i), v;
        if (op == 0x0e || op == 0x0c) {                             /* [SU]QSHL, SQSHLU */
            __int128 w = (op == 0x0c || s) ? (__int128)sext(x, esize) : (__int128)x;
            v = a64_satq(&c->st->fpsr, w * ((__int128)1 << lsh), esize, op == 0x0e && s);
        } else if (op == 0x0a) {
            v = c->u ? (acc & mask(lsh)) | (x << lsh) : x << lsh;   /* SLI / SHL */
        } else if (op == 0x08) {                                    /* SRI */
            uint64_t keep = rsh >= esize ? mask(esize) : ~(mask(esize) >> rsh);
            v = (acc & keep) | (rsh >= esize ? 0 : x >> rsh);
        } else {
            __int128 w = s ? (__int128)sext(x, esize) : (__int128)x;
            if (op == 0x04 || op == 0x06)
                w += (__int128)1 << (rsh - 1);   /* rounding */
            w >>= rsh;
            v = (uint64_t)w;
            if (op == 0x02 || op == 0x06)
                v += acc;                        /* accumulate */
        }
        set_lane(r, eb, i, v & mask(esize));
    }
    write_result(c, r);
}

/* ---- across lanes ---- */
static bool across_valid(unsigned u, unsigned size, unsigned q, unsigned op)
{
    if (size == 3 || (size == 2 && !q))
        return false;
    return op == 0x1b ? !u : (op == 0x0a || op == 0x1a || op == 0x03);
}

static void run_across(struct vctx *c)
{
    const uint8_t *n = c->st->v[c->rn].b;
    unsigned eb = 1u << c->size, bits = 8 * eb, lanes = (c->q ? 16 : 8) / eb, op = c->opcode;
    bool s = !c->u;
    __int128 acc = s ? sext(lane(n, eb, 0), bits) : (__int128)lane(n, eb, 0);
    for (unsigned i = 1; i < lanes; i++) {
        __int128 x = s ? sext(lane(n, eb, i), bits) : (__int128)lane(n, eb, i);
        if (op == 0x0a)
            acc = x > acc ? x : acc;
        else if (op == 0x1a)
            acc = x < acc ? x : acc;
        else
            acc += x;
    }
    unsigned out_bits = op == 0x03 ? 2 * bits : bits;   /* [SU]ADDLV widen */
    uint8_t r[16] = { 0 };
    set_lane(r, out_bits / 8, 0, (uint64_t)acc & mask(out_bits));
    memcpy(c->st->v[c->rd].b, r, 16);
}

/* ---- permutes, EXT, TBL ---- */
static void run_perm(struct vctx *c)
{
    const uint8_t *n = c->st->v[c->rn].b, *m = c->st->v[c->rm].b;
    unsigned eb = 1u << c->size, lanes = (c->q ? 16 : 8) / eb, op = F(c->insn, 12, 3), part = op >> 2;
    uint8_t r[16] = { 0 };
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t v;
        switch (op & 3) {
        case 1: {   /* UZP: even (1) or odd (2) lanes of n:m */
            unsigned k = 2 * i + part;
            v = k < lanes ? lane(n, eb, k) : lane(m, eb, k - lanes);
            break;
        }
        case 2:     /* TRN */
            v = (i & 1) ? lane(m, eb, (i & ~1u) + part) : lane(n, eb, i + part);
            break;
        default: {  /* ZIP: interleave the low (1) or high (2) halves */
            unsigned k = i / 2 + part * lanes / 2;
            v = (i & 1) ? lane(m, eb, k) : lane(n, eb, k);
            break;
        }
        }
        set_lane(r, eb, i, v);
    }
    write_result(c, r);
}

static void run_ext(struct vctx *c)
{
    uint8_t cat[32], r[16] = { 0 };
    unsigned bytes = c->q ? 16 : 8, pos = F(c->insn, 11, 4);
    memcpy(cat, c->st->v[c->rn].b, bytes);
    memcpy(cat + bytes, c->st->v[c->rm].b, bytes);
    memcpy(r, cat + pos, bytes);
    write_result(c, r);
}

static void run_tbl(struct vctx *c)
{
    unsigned len = F(c->insn, 13, 2) + 1, bytes = c->q ? 16 : 8;
    bool tbx = F(c->insn, 12, 1);
    uint8_t table[64], r[16] = { 0 };
    for (unsigned k = 0; k < len; k++)
        memcpy(table + 16 * k, c->st->v[(c->rn + k) % 32].b, 16);
    const uint8_t *idx = c->st->v[c->rm].b, *d = c->st->v[c->rd].b;
    for (unsigned i = 0; i < bytes; i++)
        r[i] = idx[i] < 16 * len ? table[idx[i]] : tbx ? d[i] : 0;
    write_result(c, r);
}

/* ---- three different: long, wide and narrowing-high arithmetic ---- */
static bool diff_valid(unsigned u, unsigned size, unsigned op)
{
    if (size == 3 || op == 0xf)
        return false;
    if (op == 0x9 || op == 0xb || op == 0xd)
        return !u && size != 0;   /* SQDMLAL / SQDMLSL / SQDMULL */
    if (op == 0xe)
        return !u && size == 0;   /* PMULL (8-bit) */
    return true;
}

static void run_diff(struct vctx *c)
{
    uint8_t r[16] = { 0 }, n[16], m[16], d[16];
    memcpy(n, c->st->v[c->rn].b, 16), memcpy(m, c->st->v[c->rm].b, 16), memcpy(d, c->st->v[c->rd].b, 16);
    unsigned op = F(c->insn, 12, 4), eb = 1u << c->size, bits = 8 * eb, lanes = c->scalar ? 1 : 8 / eb;
    bool s = !c->u, narrow = op == 0x4 || op == 0x6, wide_n = op == 0x1 || op == 0x3;
    const uint8_t *hn = n + (c->q ? 8 : 0), *hm = m + (c->q ? 8 : 0);
    if (narrow) {
        memcpy(r, d, 16);
        for (unsigned i = 0; i < lanes; i++) {
            uint64_t x = lane(n, 2 * eb, i), y = lane(m, 2 * eb, i);
            unsigned __int128 v = op == 0x4 ? (unsigned __int128)x + y : (unsigned __int128)x - y;
            if (c->u)
                v += (unsigned __int128)1 << (bits - 1);   /* RADDHN / RSUBHN */
            set_lane(r + (c->q ? 8 : 0), eb, i, (uint64_t)(v >> bits) & mask(bits));
        }
        memcpy(c->st->v[c->rd].b, r, 16);
        if (!c->q)
            memset(c->st->v[c->rd].b + 8, 0, 8);
        return;
    }
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t xr = wide_n ? lane(n, 2 * eb, i) : lane(hn, eb, i), yr = lane(hm, eb, i);
        __int128 x = wide_n ? (s ? (__int128)sext(xr, 2 * bits) : (__int128)xr) : (s ? (__int128)sext(xr, bits) : (__int128)xr);
        __int128 y = s ? (__int128)sext(yr, bits) : (__int128)yr;
        __int128 acc = (__int128)lane(d, 2 * eb, i), v = 0;
        switch (op) {
        case 0x0: case 0x1: v = x + y; break;
        case 0x2: case 0x3: v = x - y; break;
        case 0x5: v = acc + (x > y ? x - y : y - x); break;
        case 0x7: v = x > y ? x - y : y - x; break;
        case 0x8: v = acc + x * y; break;
        case 0xa: v = acc - x * y; break;
        case 0xc: v = x * y; break;
        case 0x9: case 0xb: case 0xd:   /* SQDMLAL / SQDMLSL / SQDMULL */
            v = (__int128)a64_sqdmull(&c->st->fpsr, xr, yr, (uint64_t)acc, bits, op == 0x9 ? 1 : op == 0xb ? -1 : 0);
            break;
        default:   /* 0xe PMULL 8x8 -> 16 */
            for (unsigned k = 0; k < 8; k++)
                if (yr & (1u << k))
                    v ^= (__int128)(xr << k);
            break;
        }
        set_lane(r, 2 * eb, i, (uint64_t)v & mask(2 * bits));
    }
    memcpy(c->st->v[c->rd].b, r, 16);
}

/* ---- scalar pairwise: ADDP (D), FADDP/FMAXP/FMINP/FMAXNMP/FMINNMP ---- */
static bool pair_valid(unsigned u, unsigned size, unsigned op)
{
    if (!u)
        return op == 0x1b && size == 3;
    return op == 0x0c || (op == 0x0d && !(size & 2)) || op == 0x0f;
}

static void run_pair(struct vctx *c)
{
    const uint8_t *n = c->st->v[c->rn].b;
    unsigned op = F(c->insn, 12, 5);
    uint8_t r[16] = { 0 };
    if (!c->u) {
        set_lane(r, 8, 0, lane(n, 8, 0) + lane(n, 8, 1));
    } else {
        bool dp = c->size & 1, min = c->size & 2;
        unsigned eb = dp ? 8 : 4;
        unsigned fop = op == 0x0d ? FB_ADD : op == 0x0c ? (min ? FB_MINNM : FB_MAXNM) : (min ? FB_MIN : FB_MAX);
        set_lane(r, eb, 0, fp_lane(c, fop, lane(n, eb, 0), lane(n, eb, 1), dp));
    }
    memcpy(c->st->v[c->rd].b, r, 16);
}

/* ---- scalar two-register misc: the vector operation on element 0 only ---- */
static bool scalar_misc_valid(unsigned u, unsigned size, unsigned op)
{
    switch (op) {
    case 0x1a: case 0x1b: return true;        /* FCVT{N,P,M,Z}[SU] */
    case 0x1c: return !(size & 2);            /* FCVTA[SU] */
    case 0x1d: return true;                   /* SCVTF / UCVTF, FRECPE / FRSQRTE */
    case 0x1f: return !u && (size & 2);       /* FRECPX */
    case 0x08: case 0x09: case 0x0b: return size == 3;
    case 0x0a: return !u && size == 3;        /* CMLT #0 */
    case 0x14: return size != 3;              /* SQXTN / UQXTN */
    case 0x03: case 0x07: return true;        /* SUQADD/USQADD, SQABS/SQNEG */
    case 0x0c: case 0x0d: return (size & 2) != 0;   /* FCM{GT,GE,EQ,LE} #0 */
    case 0x0e: return !u && (size & 2);       /* FCMLT #0 */
    case 0x12: return u && size != 3;         /* SQXTUN */
    case 0x16: return u && size == 1;         /* FCVTXN Sd, Dn */
    default: return false;
    }
}

static void run_scalar_misc(struct vctx *c)
{
    c->q = 0;
    c->scalar = true;
    run_misc(c);
    bool fp = (c->opcode >= 0x1a && c->opcode <= 0x1d) || c->opcode == 0x1f || (c->opcode >= 0x0c && c->opcode <= 0x0e), narrow = c->opcode == 0x12 || c->opcode == 0x14;
    unsigned keep = fp ? ((c->size & 1) ? 8 : 4) : narrow ? 1u << c->size : 8;
    memset(c->st->v[c->rd].b + keep, 0, 16 - keep);
}

/* ---- scalar three-same and shift by immediate: one element of the vector forms ---- */
static bool scalar_same_valid(unsigned u, unsigned size, unsigned op)
{
    switch (op) {
    case 0x01: case 0x05: case 0x09: case 0x0b: return true;  /* [SU]QADD/QSUB/QSHL/QRSHL */
    case 0x0a: return size == 3;                              /* [SU]RSHL */
    case 0x16: return size == 1 || size == 2;                 /* SQDMULH / SQRDMULH */
    case 0x06: case 0x07: case 0x08: case 0x10: case 0x11: return size == 3;
    case 0x1a: return u && (size & 2);                        /* FABD */
    case 0x1b: return !u && !(size & 2);                      /* FMULX */
    case 0x1f: return !u;                                     /* FRECPS / FRSQRTS */
    case 0x1c: return !u ? !(size & 2) : true;                /* FCMEQ / FCMGE / FCMGT */
    case 0x1d: return u != 0;                                 /* FACGE / FACGT */
    default: return false;
    }
}

static bool scalar_shift_valid(uint32_t insn)
{
    unsigned immh = F(insn, 19, 4), u = F(insn, 29, 1), op = F(insn, 11, 5);
    if (!immh)
        return false;
    if (op == 0x12 || op == 0x13 || (u && (op == 0x10 || op == 0x11)))
        return !(immh & 8);   /* saturating narrows */
    if (op == 0x0e || (op == 0x0c && u))
        return true;          /* [SU]QSHL, SQSHLU (immediate) */
    if (op == 0x1c || op == 0x1f)
        return immh >= 4;     /* [SU]CVTF, FCVTZ[SU] (fixed-point), single and double */
    if (!(immh & 8))
        return false;   /* only the 64-bit forms are implemented */
    switch (op) {
    case 0x00: case 0x02: case 0x04: case 0x06: case 0x0a: return true;
    case 0x08: return u;   /* SRI */
    default: return false;
    }
}

/* ---- vector and scalar by element: MUL/MLA/MLS, [SU]MULL/MLAL/MLSL, FMUL/FMLA/FMLS,
 * SQDMULH/SQRDMULH, SQDMULL/SQDMLAL/SQDMLSL ---- */
static bool elem_fp(unsigned u, unsigned op)
{
    return (!u && (op == 0x1 || op == 0x5 || op == 0x9)) || (u && op == 0x9);   /* ..., FMULX */
}

static bool elem_valid(uint32_t insn)
{
    unsigned u = F(insn, 29, 1), size = F(insn, 22, 2), op = F(insn, 12, 4), q = F(insn, 30, 1);
    if (elem_fp(u, op)) {
        if (!(size & 2))
            return false;   /* half precision */
        return !(size & 1) || (q && !F(insn, 21, 1));
    }
    bool int_op = (!u && (op == 0x8 || op == 0x2 || op == 0x6 || op == 0xa || op == 0x3 || op == 0x7 ||
                          op == 0xb || op == 0xc || op == 0xd)) ||
                  (u && (op == 0x0 || op == 0x4 || op == 0x2 || op == 0x6 || op == 0xa));
    return int_op && (size == 1 || size == 2);
}

/* Scalar by element: the FP and saturating doubling forms on element 0. */
static bool scalar_elem_valid(uint32_t insn)
{
    unsigned u = F(insn, 29, 1), size = F(insn, 22, 2), op = F(insn, 12, 4);
    if (elem_fp(u, op))
        return (size & 2) && !((size & 1) && F(insn, 21, 1));
    bool sat_op = op == 0x3 || op == 0x7 || op == 0xb || op == 0xc || op == 0xd;
    return !u && sat_op && (size == 1 || size == 2);
}

static void run_elem(struct vctx *c)
{
    uint32_t insn = c->insn;
    unsigned op = F(insn, 12, 4), h = F(insn, 11, 1), l = F(insn, 21, 1), mbit = F(insn, 20, 1);
    unsigned rm4 = F(insn, 16, 4);
    uint8_t r[16] = { 0 }, n[16], d[16];
    memcpy(n, c->st->v[c->rn].b, 16), memcpy(d, c->st->v[c->rd].b, 16);
    if (elem_fp(c->u, op)) {
        bool dp = c->size & 1;
        unsigned eb = dp ? 8 : 4, index = dp ? h : (h << 1) | l, lanes = c->scalar ? 1 : (c->q ? 16 : 8) / eb;
        uint64_t e = lane(c->st->v[(mbit << 4) | rm4].b, eb, index);
        for (unsigned i = 0; i < lanes; i++) {
            uint64_t x = lane(n, eb, i), v;
            if (op == 0x9)
                v = fp_lane(c, c->u ? FB_MULX : FB_MUL, x, e, dp);
            else
                v = (uint64_t)a64_fp_fma(c->cpu, x, e,
                                         (ir_u128)lane(d, eb, i) | ((ir_u128)dp << 64) | ((ir_u128)(op == 0x5) << 66));
            set_lane(r, eb, i, v);
        }
        write_result(c, r);
        return;
    }
    unsigned eb = 1u << c->size, bits = 8 * eb;
    unsigned index = c->size == 1 ? (h << 2) | (l << 1) | mbit : (h << 1) | l;
    unsigned rm = c->size == 1 ? rm4 : (mbit << 4) | rm4;
    uint64_t e = lane(c->st->v[rm].b, eb, index);
    bool s = !c->u, lng = op == 0x2 || op == 0x6 || op == 0xa || op == 0x3 || op == 0x7 || op == 0xb;
    if (!lng) {
        unsigned lanes = c->scalar ? 1 : (c->q ? 16 : 8) / eb;
        for (unsigned i = 0; i < lanes; i++) {
            uint64_t p = lane(n, eb, i) * e, acc = lane(d, eb, i), v;
            if (op == 0xc || op == 0xd)
                v = a64_sqdmulh(&c->st->fpsr, lane(n, eb, i), e, bits, op == 0xd);
            else
                v = op == 0x8 ? p : op == 0x0 ? acc + p : acc - p;
            set_lane(r, eb, i, v & mask(bits));
        }
        write_result(c, r);
        return;
    }
    const uint8_t *hn = n + (c->q && !c->scalar ? 8 : 0);
    __int128 ev = s ? (__int128)sext(e, bits) : (__int128)e;
    for (unsigned i = 0; i < (c->scalar ? 1 : 8 / eb); i++) {
        uint64_t xr = lane(hn, eb, i), accr = lane(d, 2 * eb, i);
        __int128 x = s ? (__int128)sext(xr, bits) : (__int128)xr, acc = (__int128)accr;
        __int128 v = op == 0xa ? x * ev : op == 0x2 ? acc + x * ev : acc - x * ev;
        if (op == 0x3 || op == 0x7 || op == 0xb)
            v = (__int128)a64_sqdmull(&c->st->fpsr, xr, e, accr, bits, op == 0x3 ? 1 : op == 0x7 ? -1 : 0);
        set_lane(r, 2 * eb, i, (uint64_t)v & mask(2 * bits));
    }
    memcpy(c->st->v[c->rd].b, r, 16);
}

static ir_u128 helper_simd(void *cpu, ir_u128 a, ir_u128 b, ir_u128 cc)
{
    (void)cc;
    struct vctx c = ctx(cpu, (uint32_t)a);
    switch ((enum a64_simd_group)b) {
    case A64_SIMD_SAME: run_same(&c); break;
    case A64_SIMD_MISC: c.opcode = F(c.insn, 12, 5); run_misc(&c); break;
    case A64_SIMD_SHIFT: run_shift(&c); break;
    case A64_SIMD_ACROSS: c.opcode = F(c.insn, 12, 5); run_across(&c); break;
    case A64_SIMD_PERM: run_perm(&c); break;
    case A64_SIMD_EXT: run_ext(&c); break;
    case A64_SIMD_TBL: run_tbl(&c); break;
    case A64_SIMD_DIFF: run_diff(&c); break;
    case A64_SIMD_PAIR: run_pair(&c); break;
    case A64_SIMD_SCALAR_MISC: c.opcode = F(c.insn, 12, 5); run_scalar_misc(&c); break;
    case A64_SIMD_SCALAR_SAME: c.q = 0, c.scalar = true; run_same(&c); break;
    case A64_SIMD_SCALAR_SHIFT: c.q = 0, c.scalar = true; run_shift(&c); break;
    case A64_SIMD_ELEM: run_elem(&c); break;
    case A64_SIMD_SCALAR_DIFF: c.q = 0, c.scalar = true; run_diff(&c); break;
    case A64_SIMD_SCALAR_ELEM: c.q = 0, c.scalar = true; run_elem(&c); break;
    default: break;
    }
    return 0;
}

bool a64_simd_valid(uint32_t insn, unsigned group)
{
    unsigned q = F(insn, 30, 1), u = F(insn, 29, 1), size = F(insn, 22, 2);
    switch ((enum a64_simd_group)group) {
    case A64_SIMD_SAME: {
        unsigned op = F(insn, 11, 5);
        return op >= 0x18 ? same_fp_valid(u, size >> 1, size & 1, q, op) : same_int_valid(u, size, q, op);
    }
    case A64_SIMD_MISC: return misc_valid(u, size, q, F(insn, 12, 5));
    case A64_SIMD_SHIFT: return shift_valid(insn);
    case A64_SIMD_ACROSS: return across_valid(u, size, q, F(insn, 12, 5));
    case A64_SIMD_PERM: return F(insn, 12, 2) != 0 && !(size == 3 && !q);
    case A64_SIMD_EXT: return q || !F(insn, 14, 1);
    case A64_SIMD_TBL: return true;
    case A64_SIMD_DIFF: return diff_valid(u, size, F(insn, 12, 4));
    case A64_SIMD_PAIR: return pair_valid(u, size, F(insn, 12, 5));
    case A64_SIMD_SCALAR_MISC: return scalar_misc_valid(u, size, F(insn, 12, 5));
    case A64_SIMD_SCALAR_SAME: return scalar_same_valid(u, size, F(insn, 11, 5));
    case A64_SIMD_SCALAR_SHIFT: return scalar_shift_valid(insn);
    case A64_SIMD_ELEM: return elem_valid(insn);
    case A64_SIMD_SCALAR_DIFF: {
        unsigned op = F(insn, 12, 4);
        return !u && (size == 1 || size == 2) && (op == 0x9 || op == 0xb || op == 0xd);
    }
    case A64_SIMD_SCALAR_ELEM: return scalar_elem_valid(insn);
    case A64_SIMD_LDST_MULTI:
    case A64_SIMD_LDST_SINGLE: return a64_simd_ldst_valid(insn, group);
    default: return false;
    }
}

void a64_simd_helpers_register(void)
{
    static const struct ir_helper simd = { "a64_simd", helper_simd, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE };
    static const struct ir_helper mem = { "a64_simd_mem", a64_helper_simd_mem,
                                          IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT |
                                              IR_HELPER_MEM };
    a64_helper_id[A64_H_SIMD] = ir_helper_register(&simd);
    a64_helper_id[A64_H_SIMD_MEM] = ir_helper_register(&mem);
}
