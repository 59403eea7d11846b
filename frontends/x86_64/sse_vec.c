/* sse_vec.c - the integer SSE operations that have an IR vector op (jit/ir_ops.def,
 * "Integer vectors") are lifted to it instead of the helper call, so the compiled
 * tier runs them as LLVM vector code: lane-wise arithmetic, compares, min/max,
 * shifts, PMOVMSKB, PSHUFB, every constant shuffle (PSHUFD, unpacks, byte shifts,
 * PALIGNR, blends, zero-extensions) as one VSHUF, and a few compositions: PMOVSX
 * (shuffle + arithmetic shift), PACKSS/PACKUS (clamp + shuffle), PMADDWD. Operands are the helper's:
 * a (destination / first source), b (second source), imm the imm8. The helper
 * (sse_ops.c, sse_int.c) stays the reference for everything else; the unit and
 * differential tests hold the two to the same results. */
#include "frontends/x86_64/x86_sse.h"

#define BYTES 16u
#define ZERO_BYTE 0xffu        /* a VSHUF index that gives 0 */
#define B_BYTE(k) (16u + (k))  /* VSHUF index of b's byte k */
#define PSHUFB_CTL_BITS 0x8f8f8f8f8f8f8f8full   /* bit 7 (zero) and the index nibble */

enum vform { V_NONE, V_AB, V_B, V_SHIFT, V_MASK, V_SIGNMASK };

static const struct vmap {
    uint8_t form;      /* enum vform */
    uint8_t lane;      /* bits */
    uint16_t ir;       /* enum ir_op */
} vmap[X86_SSE_OP_COUNT] = {
#define V(sse, form, ir, lane) [X86_SSE_##sse] = { form, lane, IR_##ir },
    V(PADD8, V_AB, VADD, 8) V(PADD16, V_AB, VADD, 16) V(PADD32, V_AB, VADD, 32) V(PADD64, V_AB, VADD, 64)
    V(PSUB8, V_AB, VSUB, 8) V(PSUB16, V_AB, VSUB, 16) V(PSUB32, V_AB, VSUB, 32) V(PSUB64, V_AB, VSUB, 64)
    V(PADDS8, V_AB, VQADDS, 8) V(PADDS16, V_AB, VQADDS, 16) V(PADDUS8, V_AB, VQADDU, 8)
    V(PADDUS16, V_AB, VQADDU, 16) V(PSUBS8, V_AB, VQSUBS, 8) V(PSUBS16, V_AB, VQSUBS, 16)
    V(PSUBUS8, V_AB, VQSUBU, 8) V(PSUBUS16, V_AB, VQSUBU, 16)
    V(PCMPEQ8, V_AB, VCMPEQ, 8) V(PCMPEQ16, V_AB, VCMPEQ, 16) V(PCMPEQ32, V_AB, VCMPEQ, 32)
    V(PCMPEQ64, V_AB, VCMPEQ, 64) V(PCMPGT8, V_AB, VCMPGTS, 8) V(PCMPGT16, V_AB, VCMPGTS, 16)
    V(PCMPGT32, V_AB, VCMPGTS, 32) V(PCMPGT64, V_AB, VCMPGTS, 64)
    V(PMINUB, V_AB, VMINU, 8) V(PMAXUB, V_AB, VMAXU, 8) V(PMINU16, V_AB, VMINU, 16) V(PMINU32, V_AB, VMINU, 32)
    V(PMAXU16, V_AB, VMAXU, 16) V(PMAXU32, V_AB, VMAXU, 32) V(PMINS8, V_AB, VMINS, 8)
    V(PMINS16, V_AB, VMINS, 16) V(PMINS32, V_AB, VMINS, 32) V(PMAXS8, V_AB, VMAXS, 8)
    V(PMAXS16, V_AB, VMAXS, 16) V(PMAXS32, V_AB, VMAXS, 32)
    V(PMULLW, V_AB, VMUL, 16) V(PMULLD, V_AB, VMUL, 32) V(PMULHW, V_AB, VMULHS, 16) V(PMULHUW, V_AB, VMULHU, 16)
    V(PAVG8, V_AB, VAVGU, 8) V(PAVG16, V_AB, VAVGU, 16)
    V(PABS8, V_B, VABS, 8) V(PABS16, V_B, VABS, 16) V(PABS32, V_B, VABS, 32)
    V(PSLL16, V_SHIFT, VSHL, 16) V(PSLL32, V_SHIFT, VSHL, 32) V(PSLL64, V_SHIFT, VSHL, 64)
    V(PSRL16, V_SHIFT, VLSHR, 16) V(PSRL32, V_SHIFT, VLSHR, 32) V(PSRL64, V_SHIFT, VLSHR, 64)
    V(PSRA16, V_SHIFT, VASHR, 16) V(PSRA32, V_SHIFT, VASHR, 32)
    V(PMOVMSKB, V_MASK, VMSB, 8) V(MOVMSKPS, V_MASK, VMSB, 32) V(MOVMSKPD, V_MASK, VMSB, 64)
    V(SIGNMASK8, V_SIGNMASK, VASHR, 8) V(SIGNMASK32, V_SIGNMASK, VASHR, 32) V(SIGNMASK64, V_SIGNMASK, VASHR, 64)
#undef V
};

/* idx[i] = the VSHUF index of result byte i. */
typedef uint8_t shuf_t[BYTES];

/* Lane `to` of width w bytes takes lane `from` (a VSHUF index base: 0 = a, 16 = b). */
static void put_lane(shuf_t idx, unsigned w, unsigned to, unsigned from_byte)
{
    for (unsigned j = 0; j < w; j++)
        idx[to * w + j] = (uint8_t)(from_byte + j);
}

static void identity(shuf_t idx, unsigned base)
{
    for (unsigned i = 0; i < BYTES; i++)
        idx[i] = (uint8_t)(base + i);
}

/* Unpacks: interleave the low (high) halves of a and b at w bytes. */
static void unpack(shuf_t idx, unsigned w, bool high)
{
    unsigned base = high ? 8 : 0;
    for (unsigned i = 0; i < 8 / w; i++) {
        put_lane(idx, w, 2 * i, base + i * w);
        put_lane(idx, w, 2 * i + 1, B_BYTE(base + i * w));
    }
}

/* PMOVZX (shape in imm, see X86_PMOVX): b's lanes of sw bytes zero-extended to dw. */
static bool zero_extend(shuf_t idx, unsigned shape)
{
    unsigned sw = 1u << (shape & 3), dw = 1u << ((shape >> 2) & 3);
    if ((shape >> 4) & 1)
        return false;   /* sign extension: the helper */
    for (unsigned i = 0; i < BYTES / dw; i++)
        for (unsigned j = 0; j < dw; j++)
            idx[i * dw + j] = (uint8_t)(j < sw ? B_BYTE(i * sw + j) : ZERO_BYTE);
    return true;
}

/* The shuffles whose bytes depend only on op and imm8 (count: PSLLDQ/PSRLDQ's). */
static bool shuffle_of(unsigned op, unsigned imm, shuf_t idx)
{
    switch (op) {
    case X86_SSE_PSHUFD:
        for (unsigned i = 0; i < 4; i++)
            put_lane(idx, 4, i, B_BYTE(4 * ((imm >> (2 * i)) & 3)));
        return true;
    case X86_SSE_SHUFPS:
        for (unsigned i = 0; i < 4; i++)
            put_lane(idx, 4, i, (i < 2 ? 0 : 16) + 4 * ((imm >> (2 * i)) & 3));
        return true;
    case X86_SSE_SHUFPD:
        for (unsigned i = 0; i < 2; i++)
            put_lane(idx, 8, i, (i ? 16 : 0) + 8 * ((imm >> i) & 1));
        return true;
    case X86_SSE_PSHUFLW: case X86_SSE_PSHUFHW: {
        unsigned base = op == X86_SSE_PSHUFHW ? 4 : 0;
        identity(idx, 16);
        for (unsigned i = 0; i < 4; i++)
            put_lane(idx, 2, base + i, B_BYTE(2 * (base + ((imm >> (2 * i)) & 3))));
        return true;
    }
    case X86_SSE_UNPCKL8: case X86_SSE_UNPCKL16: case X86_SSE_UNPCKL32: case X86_SSE_UNPCKL64:
        unpack(idx, 1u << (op - X86_SSE_UNPCKL8), false);
        return true;
    case X86_SSE_UNPCKH8: case X86_SSE_UNPCKH16: case X86_SSE_UNPCKH32: case X86_SSE_UNPCKH64:
        unpack(idx, 1u << (op - X86_SSE_UNPCKH8), true);
        return true;
    case X86_SSE_PALIGNR:   /* (a:b) >> imm bytes: b's bytes first */
        for (unsigned i = 0; i < BYTES; i++) {
            unsigned k = i + imm;
            idx[i] = (uint8_t)(k < 16 ? B_BYTE(k) : k < 32 ? k - 16 : ZERO_BYTE);
        }
        return true;
    case X86_SSE_BLEND16: case X86_SSE_BLEND32: case X86_SSE_BLEND64: {
        unsigned w = op == X86_SSE_BLEND16 ? 2 : op == X86_SSE_BLEND32 ? 4 : 8;
        identity(idx, 0);
        for (unsigned i = 0; i < BYTES / w; i++)
            if (imm & (1u << i))
                put_lane(idx, w, i, B_BYTE(i * w));
        return true;
    }
    case X86_SSE_MOVSHDUP: case X86_SSE_MOVSLDUP:
        for (unsigned i = 0; i < 4; i++)
            put_lane(idx, 4, i, B_BYTE(4 * (op == X86_SSE_MOVSHDUP ? i | 1 : i & ~1u)));
        return true;
    case X86_SSE_MOVDDUP:
        put_lane(idx, 8, 0, B_BYTE(0));
        put_lane(idx, 8, 1, B_BYTE(0));
        return true;
    case X86_SSE_PMOVX:
        return zero_extend(idx, imm);
    default:
        return false;
    }
}

/* PSLLDQ/PSRLDQ by a constant count of bytes (16 or more: all zero). */
static void byte_shift(shuf_t idx, bool left, uint64_t n)
{
    unsigned k = n > BYTES ? BYTES : (unsigned)n;
    for (unsigned i = 0; i < BYTES; i++) {
        if (left)
            idx[i] = (uint8_t)(i >= k ? i - k : ZERO_BYTE);
        else
            idx[i] = (uint8_t)(i + k < BYTES ? i + k : ZERO_BYTE);
    }
}

static ir_val vshuf(struct ir_block *b, ir_val x, ir_val y, const shuf_t idx)
{
    uint64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < 8; i++) {
        lo |= (uint64_t)idx[i] << (8 * i);
        hi |= (uint64_t)idx[8 + i] << (8 * i);
    }
    return ir_emit(b, IR_VSHUF, IR_VOID, x, y, 0, lo, hi);
}

/* An i128 with every lane of `lane` bits equal to v. */
static ir_val splat(struct ir_block *b, unsigned lane, uint64_t v)
{
    ir_u128 r = 0;
    for (unsigned i = 0; i < 128 / lane; i++)
        r |= (ir_u128)(v & (lane == 64 ? ~0ull : (1ull << lane) - 1)) << (i * lane);
    return ir_const128(b, r);
}

/* PMOVSX (shape in imm): b's lanes of sw bytes put in the top of dw-byte lanes, then
 * shifted down arithmetically. */
static ir_val sign_extend(struct ir_block *b, ir_val v, unsigned shape)
{
    unsigned sw = 1u << (shape & 3), dw = 1u << ((shape >> 2) & 3);
    shuf_t idx;
    for (unsigned i = 0; i < BYTES / dw; i++)
        for (unsigned j = 0; j < dw; j++)
            idx[i * dw + j] = (uint8_t)(j >= dw - sw ? B_BYTE(i * sw + j - (dw - sw)) : ZERO_BYTE);
    ir_val top = vshuf(b, v, v, idx);
    return ir_emit(b, IR_VASHR, IR_VOID, top, ir_const(b, IR_I64, 8 * (dw - sw)), 0, 8 * dw, 0);
}

/* PACKSS/PACKUS: a's then b's signed lanes of w bits clamped to the half-width range
 * (signed or unsigned), their low halves packed. */
static ir_val pack(struct ir_block *b, ir_val a, ir_val v, unsigned w, bool to_unsigned)
{
    unsigned h = w / 2, hb = h / 8, n = 128 / w;
    int64_t lo = to_unsigned ? 0 : -(INT64_C(1) << (h - 1));
    int64_t hi = to_unsigned ? (INT64_C(1) << h) - 1 : (INT64_C(1) << (h - 1)) - 1;
    ir_val vlo = splat(b, w, (uint64_t)lo), vhi = splat(b, w, (uint64_t)hi);
    ir_val ca = ir_emit(b, IR_VMINS, IR_VOID, ir_emit(b, IR_VMAXS, IR_VOID, a, vlo, 0, w, 0), vhi, 0, w, 0);
    ir_val cb = ir_emit(b, IR_VMINS, IR_VOID, ir_emit(b, IR_VMAXS, IR_VOID, v, vlo, 0, w, 0), vhi, 0, w, 0);
    shuf_t idx;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < hb; j++) {
            idx[i * hb + j] = (uint8_t)(i * 2 * hb + j);
            idx[(n + i) * hb + j] = (uint8_t)B_BYTE(i * 2 * hb + j);
        }
    return vshuf(b, ca, cb, idx);
}

/* PMADDWD: the eight signed 16-bit products as 32-bit lanes (low and high halves
 * interleaved), adjacent pairs added (wrapping, as the hardware's one overflow case). */
static ir_val multiply_add_words(struct ir_block *b, ir_val a, ir_val v)
{
    ir_val lo = ir_emit(b, IR_VMUL, IR_VOID, a, v, 0, 16, 0), hi = ir_emit(b, IR_VMULHS, IR_VOID, a, v, 0, 16, 0);
    shuf_t lower, upper, even, odd;
    unpack(lower, 2, false);
    unpack(upper, 2, true);
    ir_val p_lo = vshuf(b, lo, hi, lower), p_hi = vshuf(b, lo, hi, upper);
    for (unsigned i = 0; i < 4; i++) {   /* products 2i and 2i+1: p_lo's for i < 2 */
        unsigned base = (i < 2 ? 0 : 16) + 8 * (i % 2);
        put_lane(even, 4, i, base);
        put_lane(odd, 4, i, base + 4);
    }
    return ir_emit(b, IR_VADD, IR_VOID, vshuf(b, p_lo, p_hi, even), vshuf(b, p_lo, p_hi, odd), 0, 32, 0);
}

static bool const_of(const struct ir_block *b, ir_val v, uint64_t *out)
{
    const struct ir_insn *in = &b->insns[v - 1];
    if (in->op != IR_CONST)
        return false;
    *out = in->imm;   /* the helper counts with b's low quadword only */
    return true;
}

static ir_val lanewise(struct ir_block *b, const struct vmap *m, ir_val a, ir_val v)
{
    switch (m->form) {
    case V_AB: return ir_emit(b, m->ir, IR_VOID, a, v, 0, m->lane, 0);
    case V_B: return ir_emit(b, m->ir, IR_VOID, v, 0, 0, m->lane, 0);
    case V_SHIFT:   /* the count is b's low quadword */
        return ir_emit(b, m->ir, IR_VOID, a, ir_cast(b, IR_TRUNC, IR_I64, v), 0, m->lane, 0);
    case V_MASK: return ir_emit(b, IR_VMSB, IR_I128, v, 0, 0, m->lane, 0);
    default:   /* V_SIGNMASK: every lane its sign */
        return ir_emit(b, IR_VASHR, IR_VOID, a, ir_const(b, IR_I64, m->lane - 1u), 0, m->lane, 0);
    }
}

ir_val x86_sse_vec(struct x86_ctx *c, ir_val a, ir_val v, unsigned op, unsigned imm)
{
    struct ir_block *b = c->b;
    shuf_t idx;
    uint64_t n;
    if (op >= X86_SSE_OP_COUNT || x86_sse_op_is_fp(op) || !a || !v)
        return IR_NONE;
    if (vmap[op].form != V_NONE)
        return lanewise(b, &vmap[op], a, v);
    if (op == X86_SSE_PSHUFB) {
        ir_val ctl = ir_binop(b, IR_AND, v, ir_const128(b, ((ir_u128)PSHUFB_CTL_BITS << 64) | PSHUFB_CTL_BITS));
        return ir_emit(b, IR_VTBL, IR_VOID, a, ctl, 0, 8, 0);
    }
    switch (op) {
    case X86_SSE_PACKSS16: return pack(b, a, v, 16, false);
    case X86_SSE_PACKSS32: return pack(b, a, v, 32, false);
    case X86_SSE_PACKUS16: return pack(b, a, v, 16, true);
    case X86_SSE_PACKUS32: return pack(b, a, v, 32, true);
    case X86_SSE_PMADDWD: return multiply_add_words(b, a, v);
    case X86_SSE_PMOVX:
        if ((imm >> 4) & 1)
            return sign_extend(b, v, imm);
        break;
    default: break;
    }
    if ((op == X86_SSE_PSLLDQ || op == X86_SSE_PSRLDQ) && const_of(b, v, &n)) {
        byte_shift(idx, op == X86_SSE_PSLLDQ, n);
        return vshuf(b, a, a, idx);
    }
    if (shuffle_of(op, imm, idx))
        return vshuf(b, a, v, idx);
    return IR_NONE;
}
