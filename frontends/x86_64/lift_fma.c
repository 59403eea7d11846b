/* lift_fma.c - FMA3 (x86_fma.def) and F16C (VCVTPH2PS, VCVTPS2PH): operand plumbing
 * around the MXCSR helper of avx_fp.c. The FMA destination is also a source; the
 * helper reads it from state, so both lanes of a 256-bit form see its value before
 * the instruction. Scalar forms keep the destination's bits 127:32 (or 127:64) and
 * zero 255:128, as VEX.128 does. */
#include "frontends/x86_64/x86_avx.h"
#include "frontends/x86_64/x86_sse.h"

enum { FMA_ADD, FMA_SUB, FMA_NADD, FMA_NSUB, FMA_ADDSUB, FMA_SUBADD };
enum { ORDER_132, ORDER_213, ORDER_231 };
enum { TYPE_PS, TYPE_PD, TYPE_SS, TYPE_SD };
#define FMA_ORDER(o) ((o) == 132 ? ORDER_132 : (o) == 213 ? ORDER_213 : ORDER_231)

static const struct { uint8_t valid, kind, order, type; } fma_row[X86_I_COUNT] = {
#define FMA_OP(name, what, order, type) [X86_I_##name] = { 1, FMA_##what, FMA_ORDER(order), TYPE_##type },
#include "frontends/x86_64/x86_fma.def"
#undef FMA_OP
};

/* Operand numbers (dst, src2, src3) in the roles x, y, z of x*y + z, by order. */
static const unsigned fma_roles[3][3] = { { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 } };

static ir_val avx_fp_call(struct x86_ctx *c, ir_val a, ir_val b, unsigned how)
{
    return x86_call(c, IR_I128, x86_helper[X86_H_AVX_FP], a, b, ir_const(c->b, IR_I128, how));
}

bool lift_fma(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    if (!fma_row[in->op].valid || !x86_is_vreg(&in->o[0]))
        return false;
    bool wide = x86_avx_wide(in);
    struct x86_y a = x86_avx_read(c, 1, wide), b = x86_avx_read(c, 2, wide);
    unsigned kind = fma_row[in->op].kind;
    if ((c->mode & X86_MK_MXCSR_DEFAULT) && kind <= FMA_NSUB) {   /* the IR's FMA, roles by order */
        struct x86_y d = x86_avx_read(c, 0, wide);
        ir_val r[2] = { IR_NONE, IR_NONE };
        for (unsigned half = 0; half < (wide ? 2u : 1u); half++) {
            ir_val ops[3] = { half ? d.hi : d.lo, half ? a.hi : a.lo, half ? b.hi : b.lo };
            const unsigned *role = fma_roles[fma_row[in->op].order];
            r[half] = x86_fma_inline(c, ops[0], ops[role[0]], ops[role[1]], ops[role[2]], fma_row[in->op].type,
                                     kind == FMA_NADD || kind == FMA_NSUB, kind == FMA_SUB || kind == FMA_NSUB);
        }
        x86_avx_write(c, &in->o[0], r[0], r[1]);
        return true;
    }
    unsigned how = X86_AVX_FP_FMA | (unsigned)fma_row[in->op].kind << 8 |
                   (unsigned)in->o[0].reg.num << X86_AVX_FP_REG_SHIFT |
                   (unsigned)fma_row[in->op].order << X86_AVX_FP_ORDER_SHIFT |
                   (unsigned)fma_row[in->op].type << X86_AVX_FP_TYPE_SHIFT;
    ir_val lo = avx_fp_call(c, a.lo, b.lo, how | (wide ? X86_AVX_FP_LOWER : 0));
    ir_val hi = wide ? avx_fp_call(c, a.hi, b.hi, how | X86_AVX_FP_UPPER) : IR_NONE;
    x86_avx_write(c, &in->o[0], lo, hi);
    return true;
}

/* VCVTPH2PS xmm, xmm/m64 and ymm, xmm/m128: each lane from its 64 bits of halves. */
bool lift_vcvtph2ps(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    bool wide = c->in->o[0].size == 32;
    ir_val s = x86_avx_read(c, 1, false).lo;
    ir_val up = ir_binop(c->b, IR_LSHR, s, ir_const128(c->b, 64));
    ir_val lo = avx_fp_call(c, s, s, X86_AVX_FP_PH2PS | (wide ? X86_AVX_FP_LOWER : 0));
    ir_val hi = wide ? avx_fp_call(c, up, up, X86_AVX_FP_PH2PS | X86_AVX_FP_UPPER) : IR_NONE;
    x86_avx_write(c, &c->in->o[0], lo, hi);
    return true;
}

/* VCVTPS2PH xmm/m64, xmm, imm8 and xmm/m128, ymm, imm8. */
bool lift_vcvtps2ph(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    bool wide = in->o[1].size == 32;
    unsigned how = X86_AVX_FP_PS2PH | ((unsigned)(in->o[2].imm & 0xff) << 8);
    struct x86_y s = x86_avx_read(c, 1, wide);
    ir_val lo = avx_fp_call(c, s.lo, s.lo, how | (wide ? X86_AVX_FP_LOWER : 0));
    ir_val r = x86_resize(c, x86_resize(c, lo, 8, false), 16, false);
    if (wide)
        r = ir_insert(c->b, r, x86_resize(c, avx_fp_call(c, s.hi, s.hi, how | X86_AVX_FP_UPPER), 8, false), 64);
    if (x86_is_vreg(&in->o[0])) {
        x86_avx_write(c, &in->o[0], r, IR_NONE);
        return true;
    }
    unsigned size = wide ? 16 : 8;
    x86_store(c, x86_operand_addr(c, &in->o[0]), x86_resize(c, r, size, false), size, in->o[0].mem.seg);
    return true;
}
