/* lift_avx_move.c - the VEX moves: whole registers (VMOVAPS ... VMOVDQU, the
 * non-temporal forms, VLDDQU, VMOVNTDQA), VMOVD/VMOVQ, VMOVSS/VMOVSD, the 64-bit
 * halves (VMOVLPx/VMOVHPx/VMOVHLPS/VMOVLHPS), element extract/insert (VPEXTRx,
 * VEXTRACTPS, VPINSRx), VZEROUPPER/VZEROALL and VLDMXCSR/VSTMXCSR. A register
 * destination of a 128-bit form has bits 255:128 zeroed (x86_avx_write). */
#include "frontends/x86_64/x86_avx.h"

#define ALIGN16_MASK 15u
#define ALIGN32_MASK 31u
#define INSERT_ELEMENT_SIZE 16u

static bool aligned_form(unsigned op)
{
    return op == X86_I_VMOVAPS || op == X86_I_VMOVAPD || op == X86_I_VMOVDQA || op == X86_I_VMOVNTPS ||
           op == X86_I_VMOVNTPD || op == X86_I_VMOVNTDQ || op == X86_I_VMOVNTDQA;
}

static void check_alignment(struct x86_ctx *c, const struct x86_operand *m)
{
    unsigned mask = m->size == 32 ? ALIGN32_MASK : ALIGN16_MASK;
    x86_call(c, IR_I64, x86_helper[X86_H_ALIGN16], x86_operand_addr(c, m), ir_const(c->b, IR_I64, mask),
             ir_const(c->b, IR_I64, 0));
}

bool lift_avx_mov(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    bool wide = x86_avx_wide(in);
    for (unsigned i = 0; i < 2 && aligned_form(in->op); i++)
        if (in->o[i].kind == X86_OPND_MEM)
            check_alignment(c, &in->o[i]);
    struct x86_y v = x86_avx_read(c, 1, wide);
    x86_avx_write(c, &in->o[0], v.lo, v.hi);
    return true;
}

/* VMOVD/VMOVQ: into an XMM register zero-extended (whole YMM); out of one, the low bits. */
bool lift_avx_movd_movq(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    unsigned size = c->in->op == X86_I_VMOVD ? 4 : 8;
    if (x86_is_vreg(d)) {
        ir_val v = x86_is_vreg(s) ? x86_avx_read(c, 1, false).lo : x86_read_op_sized(c, 1, size);
        x86_avx_write(c, d, x86_resize(c, x86_resize(c, v, size, false), 16, false), IR_NONE);
        return true;
    }
    ir_val v = x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), size, false);
    if (d->kind == X86_OPND_REG)
        x86_set_gpr(c, d->reg.num, size, v);
    else
        x86_store(c, x86_operand_addr(c, d), v, size, d->mem.seg);
    return true;
}

/* VMOVSS/VMOVSD: three registers merge (low lane of src2 into src1); a load zeroes the
 * rest; a store writes the low lane. */
bool lift_avx_movss_movsd(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned size = in->op == X86_I_VMOVSS ? 4 : 8;
    if (in->nops == 3) {
        ir_val low = x86_resize(c, x86_avx_read(c, 2, false).lo, size, false);
        x86_avx_write(c, &in->o[0], ir_insert(c->b, x86_avx_read(c, 1, false).lo, low, 0), IR_NONE);
        return true;
    }
    if (x86_is_vreg(&in->o[0])) {
        x86_avx_write(c, &in->o[0], x86_avx_read(c, 1, false).lo, IR_NONE);
        return true;
    }
    ir_val low = x86_resize(c, x86_avx_read(c, 1, false).lo, size, false);
    x86_store(c, x86_operand_addr(c, &in->o[0]), low, size, in->o[0].mem.seg);
    return true;
}

/* The 64-bit halves: loads "xmm1, xmm2, m64" replace one half of xmm2; stores write
 * one half; VMOVHLPS takes src2's high half low, VMOVLHPS src2's low half high. */
bool lift_avx_mov_half(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned op = in->op;
    bool high = op == X86_I_VMOVHPS || op == X86_I_VMOVHPD || op == X86_I_VMOVLHPS;
    if (!x86_is_vreg(&in->o[0])) {
        ir_val v = x86_avx_read(c, 1, false).lo;
        ir_val half = high ? ir_extract(c->b, IR_I64, v, 64) : x86_resize(c, v, 8, false);
        x86_store(c, x86_operand_addr(c, &in->o[0]), half, 8, in->o[0].mem.seg);
        return true;
    }
    ir_val base = x86_avx_read(c, 1, false).lo, src = x86_avx_read(c, 2, false).lo;
    ir_val part = op == X86_I_VMOVHLPS ? ir_extract(c->b, IR_I64, src, 64) : x86_resize(c, src, 8, false);
    x86_avx_write(c, &in->o[0], ir_insert(c->b, base, part, high ? 64 : 0), IR_NONE);
    return true;
}

static unsigned element_size(unsigned op)
{
    switch (op) {
    case X86_I_VPEXTRB: case X86_I_VPINSRB: return 1;
    case X86_I_VPEXTRW: case X86_I_VPINSRW: return 2;
    case X86_I_VPEXTRQ: case X86_I_VPINSRQ: return 8;
    default: return 4;
    }
}

static const enum ir_type element_type[9] = { [1] = IR_I8, [2] = IR_I16, [4] = IR_I32, [8] = IR_I64 };

/* VPEXTRx/VEXTRACTPS r/m, xmm, imm8 and VPINSRx xmm1, xmm2, r/m, imm8. */
bool lift_avx_pextr_pinsr(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned es = element_size(in->op);
    unsigned lsb = 8 * es * ((unsigned)in->o[in->nops - 1].imm & (INSERT_ELEMENT_SIZE / es - 1));
    const struct x86_operand *d = &in->o[0];
    if (x86_is_vreg(d)) {
        const struct x86_operand *s = &in->o[2];
        ir_val v = s->kind == X86_OPND_REG ? x86_resize(c, x86_read_op_sized(c, 2, s->size), es, false)
                                           : x86_read_op_sized(c, 2, es);
        x86_avx_write(c, d, ir_insert(c->b, x86_avx_read(c, 1, false).lo, v, lsb), IR_NONE);
        return true;
    }
    ir_val v = ir_extract(c->b, element_type[es], x86_avx_read(c, 1, false).lo, lsb);
    if (d->kind == X86_OPND_REG)
        x86_set_gpr(c, d->reg.num, d->size == 8 ? 8 : 4, x86_resize(c, v, d->size == 8 ? 8 : 4, false));
    else
        x86_store(c, x86_operand_addr(c, d), v, es, d->mem.seg);
    return true;
}

/* VZEROUPPER: bits 255:128 of every YMM register zero; VZEROALL: the whole registers.
 * Outside 64-bit mode only YMM0-7 exist. */
bool lift_avx_zero(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    unsigned n = c->code == X86_CODE64 ? 16 : 8;
    ir_val z = x86_zero128(c);
    for (unsigned i = 0; i < n; i++) {
        ir_set(c->b, X86_OFF_YMMH(i), z);
        if (c->in->op == X86_I_VZEROALL)
            ir_set(c->b, X86_OFF_XMM(i), z);
    }
    return true;
}

#define OFF_MXCSR ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, mxcsr)))

/* VLDMXCSR/VSTMXCSR: LDMXCSR's checks through the same helper. */
bool lift_avx_ldmxcsr_stmxcsr(struct x86_ctx *c)
{
    const struct x86_operand *m = &c->in->o[0];
    if (m->kind != X86_OPND_MEM)
        return false;
    if (!x86_avx_allowed(c))
        return true;
    if (c->in->op == X86_I_VSTMXCSR) {
        x86_store(c, x86_operand_addr(c, m), ir_get(c->b, IR_I32, OFF_MXCSR), 4, m->mem.seg);
        return true;
    }
    ir_val v = x86_resize(c, x86_read_op_sized(c, 0, 4), 8, false);
    x86_call(c, IR_I64, x86_helper[X86_H_FXSR], v, ir_const(c->b, IR_I64, X86_FXSR_LDMXCSR), ir_const(c->b, IR_I64, 0));
    x86_end_system(c);   /* the new MXCSR may change the mode key (X86_MK_MXCSR_DEFAULT) */
    return true;
}
