/* lift_mmx.c - the MMX forms (0F map without 66h, on MM0-7): moves, the integer lane
 * operations of MMX, SSE and SSSE3 on 64-bit operands, PSHUFW/PINSRW/PEXTRW/
 * PMOVMSKB, the MMX<->XMM conversions and moves, MOVNTQ, MASKMOVQ and EMMS.
 *
 * The lane arithmetic is the SSE helper's (sse_ops.c, sse_int.c) on 128-bit operands
 * built from the 64-bit ones, so each operation still has one meaning: lane-wise
 * operations take the low half of the 128-bit result; packs and horizontal
 * operations see a:b as one 128-bit source (a in the low half), so their low half is
 * the MMX result; the high unpacks shift both sources down 32 bits first.
 *
 * x87 aliasing (SDM vol.1 9.5): MMn is the significand of physical x87 register Rn;
 * every MMX instruction first takes a pending x87 exception (#MF when FSW.ES, the x87
 * helper's state), then sets TOP to 0 and tags all registers valid (helper
 * FXSR_MMX); a write of MMn sets that register's sign/exponent to all ones. EMMS tags
 * them all empty. CR0.EM gives #UD and CR0.TS #NM (the mode key pins both). */
#include "frontends/x86_64/x86_sse.h"

#define OFF_ST(n) ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, st) + 16u * (n)))
#define MM_EXP_ALL_ONES 0xffffu
#define PSHUFB_MMX_INDEX 0x8787878787878787ull   /* bit 7 and the index within 8 bytes */

/* How a 64-bit operation is fed to the 128-bit helper. */
enum mmx_shape { MS_NONE = 0, MS_LANE, MS_JOINED, MS_HIGH, MS_SHIFT, MS_SHUFB, MS_IMM };

static const struct {
    uint8_t sse;
    uint8_t shape;
} mmx_map[X86_I_COUNT] = {
#define M(op, s, shape) [X86_I_##op] = { X86_SSE_##s, shape },
    M(PADDB, PADD8, MS_LANE) M(PADDW, PADD16, MS_LANE) M(PADDD, PADD32, MS_LANE) M(PADDQ, PADD64, MS_LANE)
    M(PSUBB, PSUB8, MS_LANE) M(PSUBW, PSUB16, MS_LANE) M(PSUBD, PSUB32, MS_LANE) M(PSUBQ, PSUB64, MS_LANE)
    M(PADDSB, PADDS8, MS_LANE) M(PADDSW, PADDS16, MS_LANE) M(PSUBSB, PSUBS8, MS_LANE) M(PSUBSW, PSUBS16, MS_LANE)
    M(PADDUSB, PADDUS8, MS_LANE) M(PADDUSW, PADDUS16, MS_LANE) M(PSUBUSB, PSUBUS8, MS_LANE)
    M(PSUBUSW, PSUBUS16, MS_LANE)
    M(PCMPEQB, PCMPEQ8, MS_LANE) M(PCMPEQW, PCMPEQ16, MS_LANE) M(PCMPEQD, PCMPEQ32, MS_LANE)
    M(PCMPGTB, PCMPGT8, MS_LANE) M(PCMPGTW, PCMPGT16, MS_LANE) M(PCMPGTD, PCMPGT32, MS_LANE)
    M(PMULLW, PMULLW, MS_LANE) M(PMULHW, PMULHW, MS_LANE) M(PMULHUW, PMULHUW, MS_LANE)
    M(PMULUDQ, PMULUDQ, MS_LANE) M(PMADDWD, PMADDWD, MS_LANE) M(PMULHRSW, PMULHRSW, MS_LANE)
    M(PMADDUBSW, PMADDUBSW, MS_LANE) M(PSADBW, PSADBW, MS_LANE)
    M(PMINUB, PMINUB, MS_LANE) M(PMAXUB, PMAXUB, MS_LANE) M(PMINSW, PMINS16, MS_LANE) M(PMAXSW, PMAXS16, MS_LANE)
    M(PAVGB, PAVG8, MS_LANE) M(PAVGW, PAVG16, MS_LANE)
    M(PSIGNB, PSIGN8, MS_LANE) M(PSIGNW, PSIGN16, MS_LANE) M(PSIGND, PSIGN32, MS_LANE)
    M(PABSB, PABS8, MS_LANE) M(PABSW, PABS16, MS_LANE) M(PABSD, PABS32, MS_LANE)
    M(PUNPCKLBW, UNPCKL8, MS_LANE) M(PUNPCKLWD, UNPCKL16, MS_LANE) M(PUNPCKLDQ, UNPCKL32, MS_LANE)
    M(PUNPCKHBW, UNPCKL8, MS_HIGH) M(PUNPCKHWD, UNPCKL16, MS_HIGH) M(PUNPCKHDQ, UNPCKL32, MS_HIGH)
    M(PACKSSWB, PACKSS16, MS_JOINED) M(PACKSSDW, PACKSS32, MS_JOINED) M(PACKUSWB, PACKUS16, MS_JOINED)
    M(PHADDW, PHADD16, MS_JOINED) M(PHADDD, PHADD32, MS_JOINED) M(PHADDSW, PHADDS16, MS_JOINED)
    M(PHSUBW, PHSUB16, MS_JOINED) M(PHSUBD, PHSUB32, MS_JOINED) M(PHSUBSW, PHSUBS16, MS_JOINED)
    M(PSLLW, PSLL16, MS_SHIFT) M(PSLLD, PSLL32, MS_SHIFT) M(PSLLQ, PSLL64, MS_SHIFT) M(PSRLW, PSRL16, MS_SHIFT)
    M(PSRLD, PSRL32, MS_SHIFT) M(PSRLQ, PSRL64, MS_SHIFT) M(PSRAW, PSRA16, MS_SHIFT) M(PSRAD, PSRA32, MS_SHIFT)
    M(PSHUFB, PSHUFB, MS_SHUFB) M(PSHUFW, PSHUFLW, MS_IMM) M(PALIGNR, PSRLDQ, MS_IMM)
#undef M
};

static bool is_mm(const struct x86_operand *o)
{
    return o->kind == X86_OPND_REG && o->reg.cls == X86_RC_MMX;
}

static bool is_xmm(const struct x86_operand *o)
{
    return o->kind == X86_OPND_REG && o->reg.cls == X86_RC_XMM;
}

static bool has_mm_operand(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (is_mm(&in->o[i]))
            return true;
    return false;
}

/* #UD/#NM by the mode key, then, when an MMX register is an operand, the x87->MMX
 * transition (pending #MF, TOP = 0, all tags valid); false when the instruction
 * already ended in an exception. The forms that touch XMM state (CVTxx2PI/PI2xx,
 * MOVQ2DQ/MOVDQ2Q) also need CR4.OSFXSR. */
static bool mmx_enter(struct x86_ctx *c, bool sse_form)
{
    if (sse_form && !x86_sse_allowed(c))
        return false;
    if (c->mode & X86_MK_EM) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return false;
    }
    if (c->mode & X86_MK_TS) {
        x86_raise(c, X86_V_NM, X86_NO_ERR);
        return false;
    }
    if (has_mm_operand(c->in))
        x86_call(c, IR_I64, x86_helper[X86_H_FXSR], ir_const(c->b, IR_I64, 0), ir_const(c->b, IR_I64, X86_FXSR_MMX),
                 ir_const(c->b, IR_I64, 0));
    return true;
}

static ir_val mm_get(struct x86_ctx *c, unsigned n)
{
    return ir_get(c->b, IR_I64, OFF_ST(n & 7));
}

static void mm_set(struct x86_ctx *c, unsigned n, ir_val v)
{
    ir_set(c->b, OFF_ST(n & 7), x86_resize(c, v, 8, false));
    ir_set(c->b, OFF_ST(n & 7) + 8, ir_const(c->b, IR_I16, MM_EXP_ALL_ONES));
}

/* Operand i as 64 bits: MMn, the low half of an XMM register, a GPR or memory at
 * `size` bytes, zero-extended. */
static ir_val read64(struct x86_ctx *c, unsigned i, unsigned size)
{
    const struct x86_operand *o = &c->in->o[i];
    if (is_mm(o))
        return mm_get(c, o->reg.num);
    if (is_xmm(o))
        return x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(o->reg.num)), 8, false);
    return x86_resize(c, x86_read_op_sized(c, i, size), 8, false);
}

static ir_val wide(struct x86_ctx *c, ir_val v64)
{
    return x86_resize(c, v64, 16, false);
}

static ir_val pure_call(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm)
{
    return ir_call(c->b, IR_I128, x86_helper[X86_H_SSE], a, b, ir_const(c->b, IR_I128, op | (imm << 8)));
}

static ir_val shr128(struct x86_ctx *c, ir_val v, unsigned bits)
{
    return ir_binop(c->b, IR_LSHR, v, ir_const(c->b, IR_I128, bits));
}

/* The 64-bit lane operations of mmx_map. */
static bool lift_mmx_lanes(struct x86_ctx *c)
{
    unsigned sse = mmx_map[c->in->op].sse, shape = mmx_map[c->in->op].shape;
    ir_val a = wide(c, read64(c, 0, 8)), b, r;
    switch (shape) {
    case MS_SHIFT:
        b = c->in->o[1].kind == X86_OPND_IMM ? ir_const(c->b, IR_I128, c->in->o[1].imm & 0xff) : wide(c, read64(c, 1, 8));
        r = pure_call(c, a, b, sse, 0);
        break;
    case MS_JOINED: {
        ir_val joined = ir_binop(c->b, IR_OR, a, ir_binop(c->b, IR_SHL, wide(c, read64(c, 1, 8)),
                                                          ir_const(c->b, IR_I128, 64)));
        r = pure_call(c, joined, ir_const(c->b, IR_I128, 0), sse, 0);
        break;
    }
    case MS_HIGH:
        r = pure_call(c, shr128(c, a, 32), shr128(c, wide(c, read64(c, 1, 8)), 32), sse, 0);
        break;
    case MS_SHUFB:
        b = ir_binop(c->b, IR_AND, wide(c, read64(c, 1, 8)), ir_const(c->b, IR_I128, PSHUFB_MMX_INDEX));
        r = pure_call(c, a, b, sse, 0);
        break;
    case MS_IMM: {
        unsigned imm = (unsigned)c->in->o[2].imm & 0xff;
        if (c->in->op == X86_I_PSHUFW) {
            r = pure_call(c, a, wide(c, read64(c, 1, 8)), sse, imm);
        } else {   /* PALIGNR: a:b shifted right by imm bytes */
            ir_val cat = ir_binop(c->b, IR_OR, wide(c, read64(c, 1, 8)),
                                  ir_binop(c->b, IR_SHL, a, ir_const(c->b, IR_I128, 64)));
            r = pure_call(c, cat, ir_const(c->b, IR_I128, imm), sse, 0);
        }
        break;
    }
    default:
        r = pure_call(c, a, wide(c, read64(c, 1, 8)), sse, 0);
        break;
    }
    mm_set(c, c->in->o[0].reg.num, r);
    return true;
}

static bool lift_mmx_logic(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    ir_val a = read64(c, 0, 8), b = read64(c, 1, 8), r;
    if (op == X86_I_PXOR)
        r = ir_binop(c->b, IR_XOR, a, b);
    else if (op == X86_I_POR)
        r = ir_binop(c->b, IR_OR, a, b);
    else if (op == X86_I_PAND)
        r = ir_binop(c->b, IR_AND, a, b);
    else
        r = ir_binop(c->b, IR_AND, ir_unop(c->b, IR_NOT, a), b);
    mm_set(c, c->in->o[0].reg.num, r);
    return true;
}

/* MOVD/MOVQ with an MMX register, MOVNTQ, MOVQ2DQ, MOVDQ2Q. */
static bool lift_mmx_move(struct x86_ctx *c)
{
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    const struct x86_operand *other = is_mm(d) ? s : d;   /* MOVD's GPR or memory side */
    unsigned size = c->in->op == X86_I_MOVD && other->size != 8 ? 4 : 8;
    ir_val v = read64(c, 1, size);
    if (size == 4)
        v = x86_resize(c, x86_resize(c, v, 4, false), 8, false);
    if (is_mm(d))
        mm_set(c, d->reg.num, v);
    else if (is_xmm(d))
        ir_set(c->b, X86_OFF_XMM(d->reg.num), wide(c, v));   /* MOVQ2DQ */
    else if (d->kind == X86_OPND_REG)
        x86_set_gpr(c, d->reg.num, size, x86_resize(c, v, size, false));
    else
        x86_store(c, x86_operand_addr(c, d), x86_resize(c, v, size, false), size, d->mem.seg);
    return true;
}

/* PINSRW mm, r32/m16, imm8 (word imm8 & 3); PEXTRW r32, mm, imm8; PMOVMSKB r32, mm. */
static bool lift_mmx_words(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    const struct x86_operand *d = &c->in->o[0];
    if (op == X86_I_PMOVMSKB) {
        ir_val m = pure_call(c, wide(c, read64(c, 1, 8)), wide(c, read64(c, 1, 8)), X86_SSE_PMOVMSKB, 0);
        x86_set_gpr(c, d->reg.num, 4, x86_resize(c, m, 4, false));
        return true;
    }
    unsigned lsb = 16 * ((unsigned)c->in->o[2].imm & 3);
    if (op == X86_I_PEXTRW) {
        ir_val w = ir_extract(c->b, IR_I16, read64(c, 1, 8), lsb);
        x86_set_gpr(c, d->reg.num, 4, x86_resize(c, w, 4, false));
        return true;
    }
    ir_val w = x86_resize(c, c->in->o[1].kind == X86_OPND_MEM ? x86_read_op_sized(c, 1, 2)
                                                             : x86_read_op_sized(c, 1, c->in->o[1].size), 2, false);
    mm_set(c, d->reg.num, ir_insert(c->b, mm_get(c, d->reg.num), w, lsb));
    return true;
}

/* CVTPI2PS/CVTPI2PD xmm, mm/m64; CVT(T)PS2PI mm, xmm/m64; CVT(T)PD2PI mm, xmm/m128.
 * The source is zero-extended so the unused lanes (0.0, or integer 0) raise nothing. */
static bool lift_mmx_convert(struct x86_ctx *c)
{
    unsigned op = c->in->op, sse;
    const struct x86_operand *d = &c->in->o[0];
    switch (op) {
    case X86_I_CVTPI2PS: sse = X86_SSE_CVTDQ2PS; break;
    case X86_I_CVTPI2PD: sse = X86_SSE_CVTDQ2PD; break;
    case X86_I_CVTPS2PI: sse = X86_SSE_CVTPS2DQ; break;
    case X86_I_CVTTPS2PI: sse = X86_SSE_CVTTPS2DQ; break;
    case X86_I_CVTPD2PI: sse = X86_SSE_CVTPD2DQ; break;
    default: sse = X86_SSE_CVTTPD2DQ; break;
    }
    bool pd_source = op == X86_I_CVTPD2PI || op == X86_I_CVTTPD2PI;
    ir_val src = pd_source ? x86_sse_read128(c, 1) : wide(c, read64(c, 1, 8));
    ir_val how = ir_const(c->b, IR_I128, sse);
    ir_val r = x86_sse_op_is_fp(sse) ? x86_call(c, IR_I128, x86_helper[X86_H_SSE_FP], src, src, how)
                                     : ir_call(c->b, IR_I128, x86_helper[X86_H_SSE], src, src, how);
    if (is_mm(d)) {
        mm_set(c, d->reg.num, r);
    } else if (op == X86_I_CVTPI2PS) {   /* the upper two lanes of the destination stay */
        ir_val old = ir_get(c->b, IR_I128, X86_OFF_XMM(d->reg.num));
        ir_set(c->b, X86_OFF_XMM(d->reg.num), ir_insert(c->b, old, x86_resize(c, r, 8, false), 0));
    } else {
        ir_set(c->b, X86_OFF_XMM(d->reg.num), r);
    }
    return true;
}

/* MASKMOVQ/MASKMOVDQU: the bytes of the first operand whose mask byte (second
 * operand) has bit 7 set are stored to DS:rDI (a segment override applies), byte
 * by byte, through a helper. A zero mask stores nothing and faults on nothing. */
static unsigned segment_of(const struct x86_dinsn *in)
{
    static const struct { uint8_t prefix, seg; } overrides[] = {
        { 0x26, X86_ES }, { 0x2e, X86_CS }, { 0x36, X86_SS }, { 0x3e, X86_DS }, { 0x64, X86_FS }, { 0x65, X86_GS },
    };
    unsigned seg = X86_DS;
    for (unsigned i = 0; i < in->len && i < X86_MAX_INSN_LEN; i++) {
        uint8_t b = in->bytes[i];
        bool found = false;
        for (unsigned k = 0; k < sizeof(overrides) / sizeof(overrides[0]); k++)
            if (overrides[k].prefix == b) {
                seg = overrides[k].seg;
                found = true;
            }
        bool other_prefix = b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || (b & 0xf0) == 0x40;
        if (!found && !other_prefix)
            break;
    }
    return seg;
}

#define MASKMOV_SEG_SHIFT 16   /* the helper's third argument: byte mask bits, segment */

static void mask_store(struct x86_ctx *c, ir_val data, ir_val mask, unsigned size)
{
    unsigned seg = segment_of(c->in);
    ir_val rdi = x86_resize(c, x86_get_gpr(c, X86_RDI, c->in->addr_size), 8, false);
    ir_val addr = x86_linear(c, seg, rdi);
    x86_seg_guard(c, addr, size, true);   /* the whole destination within its segment */
    ir_val bits = pure_call(c, mask, mask, X86_SSE_PMOVMSKB, 0);
    ir_val how = ir_binop(c->b, IR_OR, bits, ir_const(c->b, IR_I128, (uint64_t)seg << MASKMOV_SEG_SHIFT));
    x86_call(c, IR_I64, x86_helper[X86_H_MASKMOV], addr, data, how);
}

static bool lift_maskmovq(struct x86_ctx *c)
{
    mask_store(c, wide(c, read64(c, 0, 8)), wide(c, read64(c, 1, 8)), 8);
    return true;
}

bool lift_maskmovdqu(struct x86_ctx *c)
{
    if (has_mm_operand(c->in))
        return lift_mmx(c);
    if (!x86_sse_allowed(c))
        return true;
    if (!is_xmm(&c->in->o[1]))
        return false;   /* the memory form is #UD */
    mask_store(c, x86_sse_read128(c, 0), x86_sse_read128(c, 1), 16);
    return true;
}

/* The MASKMOVQ/MASKMOVDQU helper: addr, data, byte mask bits | segment << 16; each
 * selected byte is a store through the soft MMU. */
static ir_u128 h_maskmov(void *vcpu, ir_u128 addr, ir_u128 data, ir_u128 how)
{
    unsigned seg = (unsigned)(how >> MASKMOV_SEG_SHIFT) & 7;
    for (unsigned i = 0; i < 16; i++)
        if ((how >> i) & 1)
            mmu_write(vcpu, (uint64_t)addr + i, (uint8_t)(data >> (8 * i)), 1, MMU_WRITE, seg);
    return 0;
}

const struct ir_helper x86_maskmov_helper = {
    "x86_maskmov", h_maskmov, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM,
};

bool lift_mmx(struct x86_ctx *c)
{
    unsigned op = c->in->op;
    bool convert = op == X86_I_CVTPI2PS || op == X86_I_CVTPI2PD || op == X86_I_CVTPS2PI || op == X86_I_CVTTPS2PI ||
                   op == X86_I_CVTPD2PI || op == X86_I_CVTTPD2PI;
    bool xmm_state = convert || op == X86_I_MOVQ2DQ || op == X86_I_MOVDQ2Q;   /* also need CR4.OSFXSR */
    if (!mmx_enter(c, xmm_state))
        return true;
    if (convert)
        return lift_mmx_convert(c);
    switch (op) {
    case X86_I_MOVD: case X86_I_MOVQ: case X86_I_MOVNTQ: case X86_I_MOVQ2DQ: case X86_I_MOVDQ2Q:
        return lift_mmx_move(c);
    case X86_I_PXOR: case X86_I_POR: case X86_I_PAND: case X86_I_PANDN:
        return lift_mmx_logic(c);
    case X86_I_PINSRW: case X86_I_PEXTRW: case X86_I_PMOVMSKB:
        return lift_mmx_words(c);
    case X86_I_MASKMOVQ:
        return lift_maskmovq(c);
    default:
        return mmx_map[op].shape != MS_NONE && lift_mmx_lanes(c);
    }
}

/* EMMS: after a pending x87 exception, every x87 register is tagged empty. */
bool lift_emms(struct x86_ctx *c)
{
    if (c->mode & X86_MK_EM) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return true;
    }
    if (c->mode & X86_MK_TS) {
        x86_raise(c, X86_V_NM, X86_NO_ERR);
        return true;
    }
    x86_call(c, IR_I64, x86_helper[X86_H_FXSR], ir_const(c->b, IR_I64, 0), ir_const(c->b, IR_I64, X86_FXSR_EMMS),
             ir_const(c->b, IR_I64, 0));
    return true;
}
