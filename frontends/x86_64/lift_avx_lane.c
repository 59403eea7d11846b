/* lift_avx_lane.c - the AVX/AVX2 operations that move data across 128-bit lanes or
 * have no SSE twin: broadcasts (VBROADCASTSS/SD/F128/I128, VPBROADCASTB/W/D/Q),
 * VINSERTF128/I128, VEXTRACTF128/I128, VPERM2F128/I128, VPERMQ/VPERMPD (imm8),
 * VPERMD/VPERMPS (vector index), VPERMILPS/VPERMILPD, VTESTPS/VTESTPD, the variable
 * shifts VPSLLVD/Q, VPSRLVD/Q, VPSRAVD. Cross-lane moves are
 * IR on the four 64-bit (or eight 32-bit) elements; lane-wise ones use the pure SSE
 * helper (sse_crypto.c). VBROADCASTI128 (VEX.256.66.0F38 5A) is decoded by
 * decode.c as VBROADCASTF128 (Capstone 4.0.2 does not know it); the meaning is the
 * same. */
#include "frontends/x86_64/x86_avx.h"

#define LANE_SELECT 1u          /* VINSERTx128/VEXTRACTx128 imm8 bit 0 */
#define PERM2_ZERO_LO 0x08u     /* VPERM2x128: zero the lower lane */
#define PERM2_ZERO_HI 0x80u

static ir_val splat(struct x86_ctx *c, ir_val elem, unsigned size)
{
    ir_val v = x86_resize(c, elem, 16, false);
    for (unsigned w = size * 8; w < 128; w *= 2)
        v = ir_binop(c->b, IR_OR, v, ir_binop(c->b, IR_SHL, v, ir_const128(c->b, w)));
    return v;
}

static unsigned broadcast_size(unsigned op)
{
    switch (op) {
    case X86_I_VPBROADCASTB: return 1;
    case X86_I_VPBROADCASTW: return 2;
    case X86_I_VBROADCASTSS: case X86_I_VPBROADCASTD: return 4;
    case X86_I_VBROADCASTSD: case X86_I_VPBROADCASTQ: return 8;
    default: return 16;   /* VBROADCASTF128 */
    }
}

bool lift_avx_broadcast(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    unsigned size = broadcast_size(c->in->op);
    bool wide = c->in->o[0].size == 32;
    ir_val src = x86_avx_read(c, 1, false).lo;
    ir_val v = size == 16 ? src : splat(c, x86_resize(c, src, size, false), size);
    x86_avx_write(c, &c->in->o[0], v, wide ? v : IR_NONE);
    return true;
}

/* VINSERTx128 ymm1, ymm2, xmm3/m128, imm8 and VEXTRACTx128 xmm1/m128, ymm2, imm8. */
bool lift_avx_insert_extract128(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    bool upper = (in->o[in->nops - 1].imm & LANE_SELECT) != 0;
    if (in->op == X86_I_VINSERTF128 || in->op == X86_I_VINSERTI128) {
        struct x86_y a = x86_avx_read(c, 1, true);
        ir_val b = x86_avx_read(c, 2, false).lo;
        x86_avx_write(c, &in->o[0], upper ? a.lo : b, upper ? b : a.hi);
        return true;
    }
    struct x86_y a = x86_avx_read(c, 1, true);
    x86_avx_write(c, &in->o[0], upper ? a.hi : a.lo, IR_NONE);
    return true;
}

bool lift_avx_perm2x128(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned imm = (unsigned)in->o[3].imm & 0xff;
    struct x86_y a = x86_avx_read(c, 1, true), b = x86_avx_read(c, 2, true);
    const ir_val lanes[4] = { a.lo, a.hi, b.lo, b.hi };
    ir_val lo = (imm & PERM2_ZERO_LO) ? x86_zero128(c) : lanes[imm & 3];
    ir_val hi = (imm & PERM2_ZERO_HI) ? x86_zero128(c) : lanes[(imm >> 4) & 3];
    x86_avx_write(c, &in->o[0], lo, hi);
    return true;
}

/* The four quadwords of a 256-bit value. */
static void quads(struct x86_ctx *c, struct x86_y v, ir_val q[4])
{
    for (unsigned i = 0; i < 4; i++)
        q[i] = ir_extract(c->b, IR_I64, i < 2 ? v.lo : v.hi, 64 * (i & 1));
}

static ir_val pair(struct x86_ctx *c, ir_val q0, ir_val q1)
{
    return ir_insert(c->b, x86_resize(c, q0, 16, false), q1, 64);
}

/* VPERMQ/VPERMPD ymm1, ymm2/m256, imm8: quadword i = source quadword imm[2i+1:2i]. */
bool lift_avx_permq(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    unsigned imm = (unsigned)c->in->o[2].imm & 0xff;
    ir_val q[4], r[4];
    quads(c, x86_avx_read(c, 1, true), q);
    for (unsigned i = 0; i < 4; i++)
        r[i] = q[(imm >> (2 * i)) & 3];
    x86_avx_write(c, &c->in->o[0], pair(c, r[0], r[1]), pair(c, r[2], r[3]));
    return true;
}

/* VPERMD/VPERMPS ymm1, ymm2 (indices), ymm3/m256: dword i = source dword idx[i] & 7,
 * a select tree over the eight candidates. */
bool lift_avx_permd(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    struct ir_block *B = c->b;
    struct x86_y idx = x86_avx_read(c, 1, true), src = x86_avx_read(c, 2, true);
    ir_val d[8], r[8];
    for (unsigned i = 0; i < 8; i++)
        d[i] = ir_extract(B, IR_I32, i < 4 ? src.lo : src.hi, 32 * (i & 3));
    for (unsigned i = 0; i < 8; i++) {
        ir_val k = ir_binop(B, IR_AND, ir_extract(B, IR_I32, i < 4 ? idx.lo : idx.hi, 32 * (i & 3)),
                            ir_const(B, IR_I32, 7));
        ir_val v = d[0];
        for (unsigned j = 1; j < 8; j++)
            v = ir_select(B, ir_binop(B, IR_EQ, k, ir_const(B, IR_I32, j)), d[j], v);
        r[i] = v;
    }
    ir_val h[2];
    for (unsigned l = 0; l < 2; l++) {
        h[l] = x86_resize(c, r[4 * l], 16, false);
        for (unsigned j = 1; j < 4; j++)
            h[l] = ir_insert(B, h[l], r[4 * l + j], 32 * j);
    }
    x86_avx_write(c, &c->in->o[0], h[0], h[1]);
    return true;
}

/* Lane-wise through the pure helper: VPERMILPx (by imm8: PSHUFD's and SHUFPD's
 * meaning; by vector: sse_crypto.c), VTESTPx (flags), VPSxLV, VCVTPH2PS. */
static void per_lane(struct x86_ctx *c, unsigned sse, struct x86_y a, struct x86_y b, unsigned imm, unsigned imm_hi,
                     bool wide, ir_val out[2])
{
    out[0] = x86_sse_call(c, a.lo, b.lo, sse, imm);
    out[1] = wide ? x86_sse_call(c, a.hi, b.hi, sse, imm_hi) : IR_NONE;
}

bool lift_avx_lanewise(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned op = in->op;
    bool wide = x86_avx_wide(in), by_imm = in->o[in->nops - 1].kind == X86_OPND_IMM;
    ir_val r[2];
    if (op == X86_I_VPERMILPS || op == X86_I_VPERMILPD) {
        if (by_imm) {
            unsigned imm = (unsigned)in->o[2].imm & 0xff;
            struct x86_y s = x86_avx_read(c, 1, wide);
            bool ps = op == X86_I_VPERMILPS;
            per_lane(c, ps ? X86_SSE_PSHUFD : X86_SSE_SHUFPD, s, s, imm, ps ? imm : imm >> 2, wide, r);
        } else {
            per_lane(c, op == X86_I_VPERMILPS ? X86_SSE_PERMILPSV : X86_SSE_PERMILPDV, x86_avx_read(c, 1, wide),
                     x86_avx_read(c, 2, wide), 0, 0, wide, r);
        }
        x86_avx_write(c, &in->o[0], r[0], r[1]);
        return true;
    }
    if (op == X86_I_VTESTPS || op == X86_I_VTESTPD) {
        per_lane(c, op == X86_I_VTESTPS ? X86_SSE_TESTPS : X86_SSE_TESTPD, x86_avx_read(c, 0, wide),
                 x86_avx_read(c, 1, wide), 0, 0, wide, r);
        ir_val f = wide ? ir_binop(c->b, IR_AND, r[0], r[1]) : r[0];
        ir_val zero = ir_const(c->b, IR_I1, 0);
        x86_set_flags(c, ir_extract(c->b, IR_I1, f, 2), zero, zero, ir_extract(c->b, IR_I1, f, 0), zero, zero);
        return true;
    }
    static const uint8_t shift_op[X86_I_COUNT] = {
        [X86_I_VPSLLVD] = X86_SSE_PSLLV32, [X86_I_VPSLLVQ] = X86_SSE_PSLLV64, [X86_I_VPSRLVD] = X86_SSE_PSRLV32,
        [X86_I_VPSRLVQ] = X86_SSE_PSRLV64, [X86_I_VPSRAVD] = X86_SSE_PSRAV32,
    };
    per_lane(c, shift_op[op], x86_avx_read(c, 1, wide), x86_avx_read(c, 2, wide), 0, 0, wide, r);
    x86_avx_write(c, &in->o[0], r[0], r[1]);
    return true;
}
