/* lift_avx.c - the VEX-encoded SSE instructions (AVX) and their 256-bit forms (AVX,
 * AVX2). A YMM register is its XMM register (fpu.xmm, the low 128 bits) and its
 * upper half (fpu.ymm_hi). The rows of x86_avx.def take the meaning of an SSE
 * instruction from lift_sse.c's table and apply it:
 * - 128-bit (VEX.L = 0): to the low lane, with src1 = VEX.vvvv (or the one source of a
 *   two-operand form) as the SSE form's destination-source, and bits 255:128 of the
 *   destination zeroed;
 * - 256-bit: to each 128-bit lane with the same imm8, except where the SDM gives the
 *   upper lane its own imm8 bits (SHUFPD and BLENDPD: bits 3:2, BLENDPS/VPBLENDD:
 *   bits 7:4, MPSADBW: bits 5:3); the widening forms (VPMOVZX/SX, VCVTDQ2PD,
 *   VCVTPS2PD) take the upper lane from the upper part of their 128-bit source, the
 *   narrowing ones (VCVTPD2PS, VCVT(T)PD2DQ) put both lanes' results in one XMM.
 * Memory operands of VEX forms need no alignment except VMOVAPx/VMOVDQA/VMOVNTx
 * (16 or 32 bytes, #GP(0)). A 32-byte access is two 16-byte ones: a store that faults
 * on the second may already have written the first half, which the restarted
 * instruction writes again (the final memory is the architectural one).
 * #UD unless CR4.OSXSAVE and XCR0 enable SSE and AVX (X86_MK_AVX); #NM with CR0.TS.
 * 256-bit FP operations record both lanes' MXCSR flags before an unmasked exception
 * in either raises #XM (x86_sse_fp_commit_lane). */
#include "frontends/x86_64/x86_avx.h"

#define NM_VECTOR 7

static const uint16_t legacy_of[X86_I_COUNT] = {
#define AVX_OP(v, legacy) [X86_I_##v] = X86_I_##legacy,
#include "frontends/x86_64/x86_avx.def"
#undef AVX_OP
};

bool x86_avx_allowed(struct x86_ctx *c)
{
    if (!(c->mode & X86_MK_AVX)) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return false;
    }
    if (c->mode & X86_MK_TS) {
        x86_raise(c, NM_VECTOR, X86_NO_ERR);
        return false;
    }
    return true;
}

bool x86_is_vreg(const struct x86_operand *o)
{
    return o->kind == X86_OPND_REG && (o->reg.cls == X86_RC_XMM || o->reg.cls == X86_RC_YMM);
}

ir_val x86_zero128(struct x86_ctx *c)
{
    return ir_const128(c->b, 0);
}

/* Operand i: registers whole (the upper half only when wide), memory at its size
 * (zero-extended below 16 bytes, two loads for 32). */
struct x86_y x86_avx_read(struct x86_ctx *c, unsigned i, bool wide)
{
    const struct x86_operand *o = &c->in->o[i];
    struct x86_y y = { IR_NONE, IR_NONE };
    if (x86_is_vreg(o)) {
        y.lo = ir_get(c->b, IR_I128, X86_OFF_XMM(o->reg.num));
        y.hi = wide ? ir_get(c->b, IR_I128, X86_OFF_YMMH(o->reg.num)) : IR_NONE;
        return y;
    }
    if (o->kind != X86_OPND_MEM) {
        y.lo = x86_resize(c, x86_read_op(c, i), 16, false);
        return y;
    }
    ir_val addr = x86_operand_addr(c, o);
    unsigned size = o->size ? o->size : 16;
    y.lo = x86_resize(c, x86_load(c, addr, size < 16 ? size : 16, o->mem.seg), 16, false);
    if (size == 32)
        y.hi = x86_load(c, ir_binop(c->b, IR_ADD, addr, ir_const(c->b, IR_I64, 16)), 16, o->mem.seg);
    else if (wide)
        y.hi = x86_zero128(c);
    return y;
}

/* A register destination gets lo and hi (zero when IR_NONE: the VEX.128 rule); a
 * memory one gets lo, and hi when given. */
void x86_avx_write(struct x86_ctx *c, const struct x86_operand *d, ir_val lo, ir_val hi)
{
    if (x86_is_vreg(d)) {
        ir_set(c->b, X86_OFF_XMM(d->reg.num), x86_resize(c, lo, 16, false));
        ir_set(c->b, X86_OFF_YMMH(d->reg.num), hi != IR_NONE ? hi : x86_zero128(c));
        return;
    }
    ir_val addr = x86_operand_addr(c, d);
    unsigned size = d->size ? d->size : 16;
    x86_store(c, addr, x86_resize(c, lo, size < 16 ? size : 16, false), size < 16 ? size : 16, d->mem.seg);
    if (hi != IR_NONE && size == 32)
        x86_store(c, ir_binop(c->b, IR_ADD, addr, ir_const(c->b, IR_I64, 16)), hi, 16, d->mem.seg);
}

bool x86_avx_wide(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].size == 32)
            return true;
    return false;
}

/* Operands that are not the trailing imm8. */
static unsigned value_operands(const struct x86_dinsn *in)
{
    unsigned n = in->nops;
    while (n && in->o[n - 1].kind == X86_OPND_IMM)
        n--;
    return n;
}

/* The upper lane's imm8 where the SDM gives it its own bits. */
static unsigned upper_imm(unsigned sse, unsigned imm)
{
    switch (sse) {
    case X86_SSE_SHUFPD: case X86_SSE_BLEND64: return imm >> 2;
    case X86_SSE_BLEND32: return imm >> 4;
    case X86_SSE_MPSADBW: return imm >> 3;
    default: return imm;
    }
}

static bool is_logic(unsigned legacy, enum ir_op *k, bool *andn)
{
    *andn = false;
    switch (legacy) {
    case X86_I_PXOR: case X86_I_XORPS: case X86_I_XORPD: *k = IR_XOR; return true;
    case X86_I_POR: case X86_I_ORPS: case X86_I_ORPD: *k = IR_OR; return true;
    case X86_I_PAND: case X86_I_ANDPS: case X86_I_ANDPD: *k = IR_AND; return true;
    case X86_I_PANDN: case X86_I_ANDNPS: case X86_I_ANDNPD: *k = IR_AND; *andn = true; return true;
    default: return false;
    }
}

static ir_val logic(struct x86_ctx *c, enum ir_op k, bool andn, ir_val a, ir_val b)
{
    return ir_binop(c->b, k, andn ? ir_unop(c->b, IR_NOT, a) : a, b);
}

/* Widening (source lane 0 feeds both destination lanes) and narrowing (both source
 * lanes feed destination lane 0) operations. */
static unsigned widen_shift(const struct x86_sse_desc *d)
{
    if (d->sse == X86_SSE_PMOVX)
        return 8u * (16u >> (((d->imm >> 2) & 3) - (d->imm & 3)));
    if (d->sse == X86_SSE_CVTDQ2PD || d->sse == X86_SSE_CVTPS2PD)
        return 64;
    return 0;
}

static bool narrows(unsigned sse)
{
    return sse == X86_SSE_CVTPD2PS || sse == X86_SSE_CVTPD2DQ || sse == X86_SSE_CVTTPD2DQ;
}

static bool lift_lanes(struct x86_ctx *c, const struct x86_sse_desc *d, unsigned imm)
{
    const struct x86_dinsn *in = c->in;
    bool wide = x86_avx_wide(in);
    unsigned nv = value_operands(in), s1 = 1, s2 = nv >= 3 ? 2 : 1;
    unsigned shift = widen_shift(d);
    if (shift && wide) {
        ir_val src = x86_avx_read(c, 1, false).lo;
        ir_val up = ir_binop(c->b, IR_LSHR, src, ir_const128(c->b, shift));
        ir_val lo = x86_sse_call_lane(c, src, src, d->sse, imm, X86_SSE_LANE_LOWER);
        x86_avx_write(c, &in->o[0], lo, x86_sse_call_lane(c, up, up, d->sse, imm, X86_SSE_LANE_UPPER));
        return true;
    }
    if (narrows(d->sse) && in->o[1].size == 32) {
        struct x86_y src = x86_avx_read(c, 1, true);
        ir_val lo = x86_resize(c, x86_sse_call_lane(c, src.lo, src.lo, d->sse, imm, X86_SSE_LANE_LOWER), 8, false);
        ir_val hi = x86_resize(c, x86_sse_call_lane(c, src.hi, src.hi, d->sse, imm, X86_SSE_LANE_UPPER), 8, false);
        ir_val r = ir_insert(c->b, x86_resize(c, lo, 16, false), hi, 64);
        x86_avx_write(c, &in->o[0], r, IR_NONE);
        return true;
    }
    struct x86_y a = x86_avx_read(c, s1, wide), b = x86_avx_read(c, s2, wide);
    ir_val lo = x86_sse_call_lane(c, a.lo, b.lo, d->sse, imm, wide ? X86_SSE_LANE_LOWER : X86_SSE_LANE_ONLY);
    ir_val hi = wide ? x86_sse_call_lane(c, a.hi, b.hi, d->sse, upper_imm(d->sse, imm), X86_SSE_LANE_UPPER)
                     : IR_NONE;
    x86_avx_write(c, &in->o[0], lo, hi);
    return true;
}

/* Shifts: the value is operand 1, the count an imm8 or the low quadword of an
 * XMM/m128 operand, the same for both lanes. */
static bool lift_shift(struct x86_ctx *c, const struct x86_sse_desc *d)
{
    const struct x86_dinsn *in = c->in;
    bool wide = x86_avx_wide(in);
    struct x86_y v = x86_avx_read(c, 1, wide);
    const struct x86_operand *n = &in->o[2];
    ir_val count = n->kind == X86_OPND_IMM ? ir_const(c->b, IR_I128, n->imm & 0xff) : x86_avx_read(c, 2, false).lo;
    ir_val lo = x86_sse_call(c, v.lo, count, d->sse, 0);
    ir_val hi = wide ? x86_sse_call(c, v.hi, count, d->sse, 0) : IR_NONE;
    x86_avx_write(c, &in->o[0], lo, hi);
    return true;
}

static unsigned mask_bits(unsigned sse)
{
    return sse == X86_SSE_PMOVMSKB ? 16 : sse == X86_SSE_MOVMSKPS ? 4 : 2;
}

static bool lift_other(struct x86_ctx *c, const struct x86_sse_desc *d)
{
    const struct x86_dinsn *in = c->in;
    const struct x86_operand *dst = &in->o[0];
    bool wide = x86_avx_wide(in);
    switch (d->kind) {
    case K_MASK: {
        struct x86_y s = x86_avx_read(c, 1, wide);
        ir_val m = x86_resize(c, x86_sse_call(c, s.lo, s.lo, d->sse, 0), 8, false);
        if (wide) {
            ir_val h = x86_resize(c, x86_sse_call(c, s.hi, s.hi, d->sse, 0), 8, false);
            m = ir_binop(c->b, IR_OR, m, ir_binop(c->b, IR_SHL, h, ir_const(c->b, IR_I64, mask_bits(d->sse))));
        }
        x86_set_gpr(c, dst->reg.num, dst->size == 8 ? 8 : 4, m);
        return true;
    }
    case K_TO_INT: {
        unsigned size = dst->size == 8 ? 8 : 4;
        ir_val s = x86_avx_read(c, 1, false).lo;
        ir_val v = x86_sse_call(c, s, s, d->sse + (size == 8 ? 1 : 0), 0);
        x86_set_gpr(c, dst->reg.num, size, x86_resize(c, v, size, false));
        return true;
    }
    case K_FROM_INT: {
        unsigned size = in->o[2].size == 8 ? 8 : 4;
        ir_val src = x86_resize(c, x86_read_op_sized(c, 2, size), 16, false);
        ir_val a = x86_avx_read(c, 1, false).lo;
        x86_avx_write(c, dst, x86_sse_call(c, a, src, d->sse + (size == 8 ? 1 : 0), 0), IR_NONE);
        return true;
    }
    case K_COMIS: {
        struct x86_y a = x86_avx_read(c, 0, wide), b = x86_avx_read(c, 1, wide);
        ir_val f = x86_sse_call(c, a.lo, b.lo, d->sse, 0);
        if (wide)   /* VPTEST/VTESTPx ymm: ZF and CF hold for both lanes */
            f = ir_binop(c->b, IR_AND, f, x86_sse_call(c, a.hi, b.hi, d->sse, 0));
        ir_val zero = ir_const(c->b, IR_I1, 0);
        x86_set_flags(c, ir_extract(c->b, IR_I1, f, 2), ir_extract(c->b, IR_I1, f, 1), zero,
                      ir_extract(c->b, IR_I1, f, 0), zero, zero);
        return true;
    }
    case K_BLENDV: {
        struct x86_y a = x86_avx_read(c, 1, wide), b = x86_avx_read(c, 2, wide), m = x86_avx_read(c, 3, wide);
        ir_val r[2] = { IR_NONE, IR_NONE };
        for (unsigned h = 0; h < (wide ? 2u : 1u); h++) {
            ir_val mv = h ? m.hi : m.lo, av = h ? a.hi : a.lo, bv = h ? b.hi : b.lo;
            ir_val mask = x86_sse_call(c, mv, mv, d->sse, 0);
            r[h] = ir_binop(c->b, IR_OR, ir_binop(c->b, IR_AND, av, ir_unop(c->b, IR_NOT, mask)),
                            ir_binop(c->b, IR_AND, bv, mask));
        }
        x86_avx_write(c, dst, r[0], r[1]);
        return true;
    }
    default:
        return false;
    }
}

/* Every row of x86_avx.def. */
bool lift_avx(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned legacy = legacy_of[in->op];
    enum ir_op k;
    bool andn;
    if (is_logic(legacy, &k, &andn)) {
        bool wide = x86_avx_wide(in);
        struct x86_y a = x86_avx_read(c, 1, wide), b = x86_avx_read(c, 2, wide);
        x86_avx_write(c, &in->o[0], logic(c, k, andn, a.lo, b.lo), wide ? logic(c, k, andn, a.hi, b.hi) : IR_NONE);
        return true;
    }
    struct x86_sse_desc d = x86_sse_desc_of(legacy);
    switch (d.kind) {
    case K_XMM:
        return lift_lanes(c, &d, d.imm);
    case K_XMM_IMM: {
        unsigned imm = (unsigned)(in->o[in->nops - 1].imm & 0xff);
        if (d.sse == X86_SSE_INSERTPS && in->o[2].kind == X86_OPND_MEM)
            imm &= 0x3f;   /* a memory source is its element 0 */
        return lift_lanes(c, &d, imm);
    }
    case K_SHIFT:
        return lift_shift(c, &d);
    default:
        return lift_other(c, &d);
    }
}
