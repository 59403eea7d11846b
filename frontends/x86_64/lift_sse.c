/* lift_sse.c - the SSE/SSE2 subset compilers emit for x86-64 integer and scalar
 * code: 128-bit moves, MOVD/MOVQ, MOVSS/MOVSD, bitwise logic, lane-wise integer
 * arithmetic and compares, shuffles and unpacks, shifts, scalar and packed IEEE
 * arithmetic, conversions and UCOMIS/COMIS. Moves and logic are plain IR on i128;
 * the rest is one pure helper (sse_ops.c). CR0.EM or no CR4.OSFXSR gives #UD,
 * CR0.TS gives #NM (both pinned by the mode key). */
#include "frontends/x86_64/x86_sse.h"

#define NM_VECTOR 7
#define LEGACY_CMP_PREDICATES 7u
#define INSERTPS_DST_ZMASK 0x3fu   /* imm8 bits 5:0; bits 7:6 select the source element */


static const struct x86_sse_desc sse_map[X86_I_COUNT] = {
#define M(op, s, k) [X86_I_##op] = { X86_SSE_##s, k },
    M(PADDB, PADD8, K_XMM) M(PADDW, PADD16, K_XMM) M(PADDD, PADD32, K_XMM) M(PADDQ, PADD64, K_XMM)
    M(PSUBB, PSUB8, K_XMM) M(PSUBW, PSUB16, K_XMM) M(PSUBD, PSUB32, K_XMM) M(PSUBQ, PSUB64, K_XMM)
    M(PCMPEQB, PCMPEQ8, K_XMM) M(PCMPEQW, PCMPEQ16, K_XMM) M(PCMPEQD, PCMPEQ32, K_XMM)
    M(PCMPGTB, PCMPGT8, K_XMM) M(PCMPGTW, PCMPGT16, K_XMM) M(PCMPGTD, PCMPGT32, K_XMM)
    M(PMINUB, PMINUB, K_XMM) M(PMAXUB, PMAXUB, K_XMM) M(PMULLW, PMULLW, K_XMM)
    M(PMOVMSKB, PMOVMSKB, K_MASK) M(MOVMSKPS, MOVMSKPS, K_MASK) M(MOVMSKPD, MOVMSKPD, K_MASK)
    M(PSHUFD, PSHUFD, K_XMM_IMM)
    M(PUNPCKLBW, UNPCKL8, K_XMM) M(PUNPCKLWD, UNPCKL16, K_XMM) M(PUNPCKLDQ, UNPCKL32, K_XMM)
    M(PUNPCKLQDQ, UNPCKL64, K_XMM) M(PUNPCKHBW, UNPCKH8, K_XMM) M(PUNPCKHWD, UNPCKH16, K_XMM)
    M(PUNPCKHDQ, UNPCKH32, K_XMM) M(PUNPCKHQDQ, UNPCKH64, K_XMM)
    M(PSLLW, PSLL16, K_SHIFT) M(PSLLD, PSLL32, K_SHIFT) M(PSLLQ, PSLL64, K_SHIFT) M(PSRLW, PSRL16, K_SHIFT)
    M(PSRLD, PSRL32, K_SHIFT) M(PSRLQ, PSRL64, K_SHIFT) M(PSRAW, PSRA16, K_SHIFT) M(PSRAD, PSRA32, K_SHIFT)
    M(PSLLDQ, PSLLDQ, K_SHIFT) M(PSRLDQ, PSRLDQ, K_SHIFT)
    M(ADDSS, ADDSS, K_XMM) M(ADDSD, ADDSD, K_XMM) M(ADDPS, ADDPS, K_XMM) M(ADDPD, ADDPD, K_XMM)
    M(SUBSS, SUBSS, K_XMM) M(SUBSD, SUBSD, K_XMM) M(SUBPS, SUBPS, K_XMM) M(SUBPD, SUBPD, K_XMM)
    M(MULSS, MULSS, K_XMM) M(MULSD, MULSD, K_XMM) M(MULPS, MULPS, K_XMM) M(MULPD, MULPD, K_XMM)
    M(DIVSS, DIVSS, K_XMM) M(DIVSD, DIVSD, K_XMM) M(DIVPS, DIVPS, K_XMM) M(DIVPD, DIVPD, K_XMM)
    M(MINSS, MINSS, K_XMM) M(MINSD, MINSD, K_XMM) M(MAXSS, MAXSS, K_XMM) M(MAXSD, MAXSD, K_XMM)
    M(SQRTSS, SQRTSS, K_XMM) M(SQRTSD, SQRTSD, K_XMM) M(CVTSS2SD, CVTSS2SD, K_XMM)
    M(CVTSD2SS, CVTSD2SS, K_XMM) M(CVTSI2SS, CVTSI32_SS, K_FROM_INT) M(CVTSI2SD, CVTSI32_SD, K_FROM_INT)
    M(CVTTSS2SI, CVTTSS2SI32, K_TO_INT) M(CVTTSD2SI, CVTTSD2SI32, K_TO_INT)
    M(UCOMISS, UCOMISS, K_COMIS) M(UCOMISD, UCOMISD, K_COMIS) M(COMISS, COMISS, K_COMIS)
    M(COMISD, COMISD, K_COMIS) M(CVTSS2SI, CVTSS2SI32, K_TO_INT) M(CVTSD2SI, CVTSD2SI32, K_TO_INT)
    M(SHUFPS, SHUFPS, K_XMM_IMM) M(PSHUFLW, PSHUFLW, K_XMM_IMM) M(PSHUFHW, PSHUFHW, K_XMM_IMM)
    M(UNPCKLPS, UNPCKL32, K_XMM) M(UNPCKHPS, UNPCKH32, K_XMM) M(UNPCKLPD, UNPCKL64, K_XMM)
    M(UNPCKHPD, UNPCKH64, K_XMM)
#undef M
#define M(op, s, k, imm) [X86_I_##op] = { X86_SSE_##s, k, imm },
    M(DPPS, DPPS, K_XMM_IMM, 0) M(DPPD, DPPD, K_XMM_IMM, 0) M(MPSADBW, MPSADBW, K_XMM_IMM, 0)
    M(PHMINPOSUW, PHMINPOSUW, K_XMM, 0)
    M(CMPSD, CMPSD, K_XMM_IMM, 0)   /* the SSE form of the string instruction's id */
    M(CMPEQPS, CMPPS, K_XMM, 0) M(CMPLTPS, CMPPS, K_XMM, 1) M(CMPLEPS, CMPPS, K_XMM, 2)
    M(CMPUNORDPS, CMPPS, K_XMM, 3) M(CMPNEQPS, CMPPS, K_XMM, 4) M(CMPNLTPS, CMPPS, K_XMM, 5)
    M(CMPNLEPS, CMPPS, K_XMM, 6) M(CMPORDPS, CMPPS, K_XMM, 7) M(CMPEQPD, CMPPD, K_XMM, 0)
    M(CMPLTPD, CMPPD, K_XMM, 1) M(CMPLEPD, CMPPD, K_XMM, 2) M(CMPUNORDPD, CMPPD, K_XMM, 3)
    M(CMPNEQPD, CMPPD, K_XMM, 4) M(CMPNLTPD, CMPPD, K_XMM, 5) M(CMPNLEPD, CMPPD, K_XMM, 6)
    M(CMPORDPD, CMPPD, K_XMM, 7) M(CMPEQSS, CMPSS, K_XMM, 0) M(CMPLTSS, CMPSS, K_XMM, 1)
    M(CMPLESS, CMPSS, K_XMM, 2) M(CMPUNORDSS, CMPSS, K_XMM, 3) M(CMPNEQSS, CMPSS, K_XMM, 4)
    M(CMPNLTSS, CMPSS, K_XMM, 5) M(CMPNLESS, CMPSS, K_XMM, 6) M(CMPORDSS, CMPSS, K_XMM, 7)
    M(CMPEQSD, CMPSD, K_XMM, 0) M(CMPLTSD, CMPSD, K_XMM, 1) M(CMPLESD, CMPSD, K_XMM, 2)
    M(CMPUNORDSD, CMPSD, K_XMM, 3) M(CMPNEQSD, CMPSD, K_XMM, 4) M(CMPNLTSD, CMPSD, K_XMM, 5)
    M(CMPNLESD, CMPSD, K_XMM, 6) M(CMPORDSD, CMPSD, K_XMM, 7) M(CMPPS, CMPPS, K_XMM_IMM, 0)
    M(CMPPD, CMPPD, K_XMM_IMM, 0) M(CMPSS, CMPSS, K_XMM_IMM, 0) M(MINPS, MINPS, K_XMM, 0)
    M(MAXPS, MAXPS, K_XMM, 0) M(MINPD, MINPD, K_XMM, 0) M(MAXPD, MAXPD, K_XMM, 0) M(SQRTPS, SQRTPS, K_XMM, 0)
    M(SQRTPD, SQRTPD, K_XMM, 0) M(CVTDQ2PS, CVTDQ2PS, K_XMM, 0) M(CVTPS2DQ, CVTPS2DQ, K_XMM, 0)
    M(CVTTPS2DQ, CVTTPS2DQ, K_XMM, 0) M(CVTDQ2PD, CVTDQ2PD, K_XMM, 0) M(CVTPD2DQ, CVTPD2DQ, K_XMM, 0)
    M(CVTTPD2DQ, CVTTPD2DQ, K_XMM, 0) M(CVTPS2PD, CVTPS2PD, K_XMM, 0) M(CVTPD2PS, CVTPD2PS, K_XMM, 0)
    M(MOVSHDUP, MOVSHDUP, K_XMM, 0) M(MOVSLDUP, MOVSLDUP, K_XMM, 0) M(MOVDDUP, MOVDDUP, K_XMM, 0)
    M(HADDPS, HADDPS, K_XMM, 0) M(HADDPD, HADDPD, K_XMM, 0) M(HSUBPS, HSUBPS, K_XMM, 0)
    M(HSUBPD, HSUBPD, K_XMM, 0) M(ADDSUBPS, ADDSUBPS, K_XMM, 0) M(ADDSUBPD, ADDSUBPD, K_XMM, 0)
    M(PADDSB, PADDS8, K_XMM, 0) M(PADDSW, PADDS16, K_XMM, 0) M(PSUBSB, PSUBS8, K_XMM, 0)
    M(PSUBSW, PSUBS16, K_XMM, 0) M(PADDUSB, PADDUS8, K_XMM, 0) M(PADDUSW, PADDUS16, K_XMM, 0)
    M(PSUBUSB, PSUBUS8, K_XMM, 0) M(PSUBUSW, PSUBUS16, K_XMM, 0) M(PMINSB, PMINS8, K_XMM, 0)
    M(PMINSW, PMINS16, K_XMM, 0) M(PMINSD, PMINS32, K_XMM, 0) M(PMAXSB, PMAXS8, K_XMM, 0)
    M(PMAXSW, PMAXS16, K_XMM, 0) M(PMAXSD, PMAXS32, K_XMM, 0) M(PMINUW, PMINU16, K_XMM, 0)
    M(PMINUD, PMINU32, K_XMM, 0) M(PMAXUW, PMAXU16, K_XMM, 0) M(PMAXUD, PMAXU32, K_XMM, 0)
    M(PMULLD, PMULLD, K_XMM, 0) M(PMULHW, PMULHW, K_XMM, 0) M(PMULHUW, PMULHUW, K_XMM, 0)
    M(PMULHRSW, PMULHRSW, K_XMM, 0) M(PCMPEQQ, PCMPEQ64, K_XMM, 0) M(PCMPGTQ, PCMPGT64, K_XMM, 0)
    M(PAVGB, PAVG8, K_XMM, 0) M(PAVGW, PAVG16, K_XMM, 0) M(PSIGNB, PSIGN8, K_XMM, 0)
    M(PSIGNW, PSIGN16, K_XMM, 0) M(PSIGND, PSIGN32, K_XMM, 0) M(PABSB, PABS8, K_XMM, 0)
    M(PABSW, PABS16, K_XMM, 0) M(PABSD, PABS32, K_XMM, 0) M(PHADDW, PHADD16, K_XMM, 0)
    M(PHADDD, PHADD32, K_XMM, 0) M(PHADDSW, PHADDS16, K_XMM, 0) M(PHSUBW, PHSUB16, K_XMM, 0)
    M(PHSUBD, PHSUB32, K_XMM, 0) M(PHSUBSW, PHSUBS16, K_XMM, 0) M(PACKSSWB, PACKSS16, K_XMM, 0)
    M(PACKSSDW, PACKSS32, K_XMM, 0) M(PACKUSWB, PACKUS16, K_XMM, 0) M(PACKUSDW, PACKUS32, K_XMM, 0)
    M(PSHUFB, PSHUFB, K_XMM, 0) M(PMULUDQ, PMULUDQ, K_XMM, 0) M(PMULDQ, PMULDQ, K_XMM, 0)
    M(PMADDWD, PMADDWD, K_XMM, 0) M(PMADDUBSW, PMADDUBSW, K_XMM, 0) M(PSADBW, PSADBW, K_XMM, 0)
    M(ROUNDPS, ROUNDPS, K_XMM_IMM, 0) M(ROUNDPD, ROUNDPD, K_XMM_IMM, 0) M(ROUNDSS, ROUNDSS, K_XMM_IMM, 0)
    M(ROUNDSD, ROUNDSD, K_XMM_IMM, 0) M(SHUFPD, SHUFPD, K_XMM_IMM, 0) M(INSERTPS, INSERTPS, K_XMM_IMM, 0)
    M(PALIGNR, PALIGNR, K_XMM_IMM, 0) M(PBLENDW, BLEND16, K_XMM_IMM, 0) M(BLENDPS, BLEND32, K_XMM_IMM, 0)
    M(BLENDPD, BLEND64, K_XMM_IMM, 0) M(PBLENDVB, SIGNMASK8, K_BLENDV, 0) M(BLENDVPS, SIGNMASK32, K_BLENDV, 0)
    M(BLENDVPD, SIGNMASK64, K_BLENDV, 0) M(PTEST, PTEST, K_COMIS, 0)
    M(PMOVZXBW, PMOVX, K_XMM, X86_PMOVX(0, 1, 0)) M(PMOVSXBW, PMOVX, K_XMM, X86_PMOVX(0, 1, 1))
    M(PMOVZXBD, PMOVX, K_XMM, X86_PMOVX(0, 2, 0)) M(PMOVSXBD, PMOVX, K_XMM, X86_PMOVX(0, 2, 1))
    M(PMOVZXBQ, PMOVX, K_XMM, X86_PMOVX(0, 3, 0)) M(PMOVSXBQ, PMOVX, K_XMM, X86_PMOVX(0, 3, 1))
    M(PMOVZXWD, PMOVX, K_XMM, X86_PMOVX(1, 2, 0)) M(PMOVSXWD, PMOVX, K_XMM, X86_PMOVX(1, 2, 1))
    M(PMOVZXWQ, PMOVX, K_XMM, X86_PMOVX(1, 3, 0)) M(PMOVSXWQ, PMOVX, K_XMM, X86_PMOVX(1, 3, 1))
    M(PMOVZXDQ, PMOVX, K_XMM, X86_PMOVX(2, 3, 0)) M(PMOVSXDQ, PMOVX, K_XMM, X86_PMOVX(2, 3, 1))
    /* AES-NI, PCLMULQDQ, SHA, reciprocals (sse_crypto.c) */
    M(AESENC, AESENC, K_XMM, 0) M(AESENCLAST, AESENCLAST, K_XMM, 0) M(AESDEC, AESDEC, K_XMM, 0)
    M(AESDECLAST, AESDECLAST, K_XMM, 0) M(AESIMC, AESIMC, K_XMM, 0) M(AESKEYGENASSIST, AESKEYGEN, K_XMM_IMM, 0)
    M(PCLMULQDQ, PCLMULQDQ, K_XMM_IMM, 0) M(SHA1RNDS4, SHA1RNDS4, K_XMM_IMM, 0) M(SHA1NEXTE, SHA1NEXTE, K_XMM, 0)
    M(SHA1MSG1, SHA1MSG1, K_XMM, 0) M(SHA1MSG2, SHA1MSG2, K_XMM, 0) M(SHA256RNDS2, SHA256RNDS2, K_XMM0, 0)
    M(SHA256MSG1, SHA256MSG1, K_XMM, 0) M(SHA256MSG2, SHA256MSG2, K_XMM, 0) M(RCPPS, RCPPS, K_XMM, 0)
    M(RCPSS, RCPSS, K_XMM, 0) M(RSQRTPS, RSQRTPS, K_XMM, 0) M(RSQRTSS, RSQRTSS, K_XMM, 0)
#undef M
};

/* #UD / #NM by the mode key; true when the instruction may be lifted. */
bool x86_sse_allowed(struct x86_ctx *c)
{
    if (!(c->mode & X86_MK_OSFXSR) || (c->mode & X86_MK_EM)) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return false;
    }
    if (c->mode & X86_MK_TS) {
        x86_raise(c, NM_VECTOR, X86_NO_ERR);
        return false;
    }
    return true;
}

static bool is_xmm(const struct x86_operand *o)
{
    return o->kind == X86_OPND_REG && o->reg.cls == X86_RC_XMM;
}

static bool has_mmx(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_REG && in->o[i].reg.cls == X86_RC_MMX)
            return true;
    return false;
}

static void check_alignment(struct x86_ctx *c, unsigned i);

/* Operand i as 128 bits (registers whole; memory at its size, zero-extended; a
 * 16-byte memory operand of a legacy SSE instruction must be aligned). */
ir_val x86_sse_read128(struct x86_ctx *c, unsigned i)
{
    const struct x86_operand *o = &c->in->o[i];
    if (is_xmm(o))
        return ir_get(c->b, IR_I128, X86_OFF_XMM(o->reg.num));
    unsigned size = o->size ? o->size : 16;
    unsigned op = c->in->op;
    if (o->kind == X86_OPND_MEM && size == 16 && op != X86_I_MOVUPS && op != X86_I_MOVUPD && op != X86_I_MOVDQU &&
        op != X86_I_LDDQU && !x86_sse_unaligned_ok(op))
        check_alignment(c, i);
    return x86_resize(c, x86_read_op_sized(c, i, size), 16, false);
}

static void write_xmm(struct x86_ctx *c, const struct x86_operand *o, ir_val v)
{
    ir_set(c->b, X86_OFF_XMM(o->reg.num), x86_resize(c, v, 16, false));
}

struct x86_sse_desc x86_sse_desc_of(unsigned op)
{
    return op < X86_I_COUNT ? sse_map[op] : (struct x86_sse_desc){ 0, K_NONE, 0 };
}

/* FP operations read MXCSR and may raise #XM: a state helper with RIP made precise. */
ir_val x86_sse_call_lane(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm, unsigned lane)
{
    ir_val vec = x86_sse_vec(c, a, b, op, imm);
    if (vec)
        return vec;
    ir_val how = ir_const(c->b, IR_I128, op | (imm << 8) | (lane << X86_SSE_LANE_SHIFT));
    if (x86_sse_op_is_fp(op))
        return x86_call(c, IR_I128, x86_helper[X86_H_SSE_FP], a, b, how);
    return ir_call(c->b, IR_I128, x86_helper[X86_H_SSE], a, b, how);
}

ir_val x86_sse_call(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm)
{
    return x86_sse_call_lane(c, a, b, op, imm, X86_SSE_LANE_ONLY);
}

/* MOVAPS/MOVAPD/MOVDQA and the non-temporal stores fault on a misaligned address. */
static bool aligned_form(unsigned op)
{
    return op == X86_I_MOVAPS || op == X86_I_MOVAPD || op == X86_I_MOVDQA || op == X86_I_MOVNTDQ ||
           op == X86_I_MOVNTPS || op == X86_I_MOVNTPD;
}

static void check_alignment(struct x86_ctx *c, unsigned i)
{
    const struct x86_operand *o = &c->in->o[i];
    if (o->kind != X86_OPND_MEM)
        return;
    x86_call(c, IR_I64, x86_helper[X86_H_ALIGN16], x86_operand_addr(c, o), ir_const(c->b, IR_I64, 0),
             ir_const(c->b, IR_I64, 0));
}

bool lift_sse_mov128(struct x86_ctx *c)
{
    if (!x86_sse_allowed(c))
        return true;
    if (aligned_form(c->in->op))
        check_alignment(c, 0);   /* stores; loads are checked by read128 */
    ir_val v = x86_sse_read128(c, 1);
    if (is_xmm(&c->in->o[0]))
        write_xmm(c, &c->in->o[0], v);
    else
        x86_store(c, x86_operand_addr(c, &c->in->o[0]), v, 16, c->in->o[0].mem.seg);
    return true;
}

/* MOVD/MOVQ: to an XMM register zero-extends; from one takes the low bits. */
bool lift_movd_movq(struct x86_ctx *c)
{
    if (has_mmx(c->in))
        return lift_mmx(c);
    if (!x86_sse_allowed(c))
        return true;
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    unsigned size = c->in->op == X86_I_MOVD ? 4 : 8;
    if (is_xmm(d)) {
        ir_val v = is_xmm(s) ? x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), size, false)
                             : x86_read_op_sized(c, 1, size);
        write_xmm(c, d, x86_resize(c, v, 16, false));
        return true;
    }
    ir_val v = x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), size, false);
    if (d->kind == X86_OPND_REG)
        x86_set_gpr(c, d->reg.num, size, v);
    else
        x86_store(c, x86_operand_addr(c, d), v, size, d->mem.seg);
    return true;
}

/* MOVSS/MOVSD (SSE): register to register merges the low lane; a load zeroes the
 * rest; a store writes the low lane. */
bool lift_movss_movsd_sse(struct x86_ctx *c)
{
    if (!x86_sse_allowed(c))
        return true;
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    unsigned size = c->in->op == X86_I_MOVSS ? 4 : 8;
    if (is_xmm(d) && is_xmm(s)) {
        ir_val low = x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), size, false);
        write_xmm(c, d, ir_insert(c->b, ir_get(c->b, IR_I128, X86_OFF_XMM(d->reg.num)), low, 0));
    } else if (is_xmm(d)) {
        write_xmm(c, d, x86_resize(c, x86_read_op_sized(c, 1, size), 16, false));
    } else {
        ir_val low = x86_resize(c, ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), size, false);
        x86_store(c, x86_operand_addr(c, d), low, size, d->mem.seg);
    }
    return true;
}

/* 64-bit halves: MOVLPS/MOVLPD/MOVHPS/MOVHPD with memory, MOVHLPS/MOVLHPS between
 * registers. The other half of the destination register is kept. */
bool lift_sse_mov_half(struct x86_ctx *c)
{
    if (!x86_sse_allowed(c))
        return true;
    unsigned op = c->in->op;
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    bool high = op == X86_I_MOVHPS || op == X86_I_MOVHPD || op == X86_I_MOVLHPS;
    if (!is_xmm(d)) {
        ir_val v = ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num));
        ir_val half = high ? ir_extract(c->b, IR_I64, v, 64) : x86_resize(c, v, 8, false);
        x86_store(c, x86_operand_addr(c, d), half, 8, d->mem.seg);
        return true;
    }
    ir_val src;
    if (is_xmm(s)) {
        ir_val v = ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num));
        src = op == X86_I_MOVHLPS ? ir_extract(c->b, IR_I64, v, 64) : x86_resize(c, v, 8, false);
    } else {
        src = x86_read_op_sized(c, 1, 8);
    }
    ir_val dst = ir_get(c->b, IR_I128, X86_OFF_XMM(d->reg.num));
    write_xmm(c, d, ir_insert(c->b, dst, src, high ? 64 : 0));
    return true;
}

bool lift_sse_logic(struct x86_ctx *c)
{
    if (has_mmx(c->in))
        return lift_mmx(c);
    if (!x86_sse_allowed(c))
        return true;
    unsigned op = c->in->op;
    ir_val a = x86_sse_read128(c, 0), b = x86_sse_read128(c, 1), r;
    if (op == X86_I_PXOR || op == X86_I_XORPS || op == X86_I_XORPD)
        r = ir_binop(c->b, IR_XOR, a, b);
    else if (op == X86_I_POR || op == X86_I_ORPS || op == X86_I_ORPD)
        r = ir_binop(c->b, IR_OR, a, b);
    else if (op == X86_I_PAND || op == X86_I_ANDPS || op == X86_I_ANDPD)
        r = ir_binop(c->b, IR_AND, a, b);
    else
        r = ir_binop(c->b, IR_AND, ir_unop(c->b, IR_NOT, a), b);   /* PANDN, ANDNPS/PD */
    write_xmm(c, &c->in->o[0], r);
    return true;
}

static bool lift_comis(struct x86_ctx *c, unsigned sse)
{
    ir_val f = x86_sse_call(c, x86_sse_read128(c, 0), x86_sse_read128(c, 1), sse, 0);
    ir_val zero = ir_const(c->b, IR_I1, 0);
    x86_set_flags(c, ir_extract(c->b, IR_I1, f, 2), ir_extract(c->b, IR_I1, f, 1), zero,
                  ir_extract(c->b, IR_I1, f, 0), zero, zero);
    return true;
}

/* Everything the helper computes. */
bool lift_sse_op(struct x86_ctx *c)
{
    if (has_mmx(c->in))
        return lift_mmx(c);
    unsigned sse = sse_map[c->in->op].sse, kind = sse_map[c->in->op].kind;
    if (kind == K_NONE)
        return false;
    if (!x86_sse_allowed(c))
        return true;
    const struct x86_operand *d = &c->in->o[0];
    switch (kind) {
    case K_XMM:
        write_xmm(c, d, x86_sse_call(c, x86_sse_read128(c, 0), x86_sse_read128(c, 1), sse, sse_map[c->in->op].imm));
        return true;
    case K_XMM_IMM: {
        unsigned imm = (unsigned)(c->in->o[2].imm & 0xff);
        if (sse == X86_SSE_CMPPS || sse == X86_SSE_CMPPD || sse == X86_SSE_CMPSS || sse == X86_SSE_CMPSD)
            imm &= LEGACY_CMP_PREDICATES;   /* imm8 bits 7:3 are ignored outside VEX */
        if (c->in->op == X86_I_INSERTPS && c->in->o[1].kind == X86_OPND_MEM)
            imm &= INSERTPS_DST_ZMASK;   /* a memory source is its element 0 */
        write_xmm(c, d, x86_sse_call(c, x86_sse_read128(c, 0), x86_sse_read128(c, 1), sse, imm));
        return true;
    }
    case K_XMM0: {
        /* SHA256RNDS2: XMM0's low quadword rides in the helper's c, above op. */
        ir_val xmm0 = ir_get(c->b, IR_I128, X86_OFF_XMM(0));
        ir_val how = ir_insert(c->b, ir_const(c->b, IR_I128, sse), x86_resize(c, xmm0, 8, false), 64);
        write_xmm(c, d, ir_call(c->b, IR_I128, x86_helper[X86_H_SSE], x86_sse_read128(c, 0),
                                x86_sse_read128(c, 1), how));
        return true;
    }
    case K_BLENDV: {
        /* PBLENDVB/BLENDVPS/BLENDVPD: XMM0's lane sign bits pick b over a. */
        ir_val xmm0 = ir_get(c->b, IR_I128, X86_OFF_XMM(0));
        ir_val mask = x86_sse_call(c, xmm0, xmm0, sse, 0);
        ir_val keep = ir_binop(c->b, IR_AND, x86_sse_read128(c, 0), ir_unop(c->b, IR_NOT, mask));
        write_xmm(c, d, ir_binop(c->b, IR_OR, keep, ir_binop(c->b, IR_AND, x86_sse_read128(c, 1), mask)));
        return true;
    }
    case K_SHIFT:
        write_xmm(c, d, x86_sse_call(c, x86_sse_read128(c, 0), c->in->o[1].kind == X86_OPND_IMM
                                                        ? ir_const(c->b, IR_I128, c->in->o[1].imm & 0xff)
                                                        : x86_sse_read128(c, 1), sse, 0));
        return true;
    case K_MASK:
        x86_set_gpr(c, d->reg.num, 4, x86_resize(c, x86_sse_call(c, x86_sse_read128(c, 1), x86_sse_read128(c, 1), sse, 0), 4, false));
        return true;
    case K_TO_INT: {
        unsigned size = d->size == 8 ? 8 : 4;
        ir_val v = x86_sse_call(c, x86_sse_read128(c, 1), x86_sse_read128(c, 1), sse + (size == 8 ? 1 : 0), 0);
        x86_set_gpr(c, d->reg.num, size, x86_resize(c, v, size, false));
        return true;
    }
    case K_FROM_INT: {
        unsigned size = c->in->o[1].size == 8 ? 8 : 4;
        ir_val src = x86_resize(c, x86_read_op_sized(c, 1, size), 16, false);
        write_xmm(c, d, x86_sse_call(c, x86_sse_read128(c, 0), src, sse + (size == 8 ? 1 : 0), 0));
        return true;
    }
    default:
        return lift_comis(c, sse);
    }
}

static unsigned element_size(unsigned op)
{
    switch (op) {
    case X86_I_PEXTRB: case X86_I_PINSRB: return 1;
    case X86_I_PEXTRW: case X86_I_PINSRW: return 2;
    case X86_I_PEXTRQ: case X86_I_PINSRQ: return 8;
    default: return 4;   /* PEXTRD, PINSRD, EXTRACTPS */
    }
}

static const enum ir_type element_type[9] = { [1] = IR_I8, [2] = IR_I16, [4] = IR_I32, [8] = IR_I64 };

/* PEXTRB/W/D/Q, EXTRACTPS: element imm8 of an XMM register to a zero-extended GPR or
 * to memory at element size. PINSRB/W/D/Q: a GPR's low bits or an element-sized
 * memory operand into element imm8. */
bool lift_pextr_pinsr(struct x86_ctx *c)
{
    if (has_mmx(c->in))
        return lift_mmx(c);
    if (!x86_sse_allowed(c))
        return true;
    unsigned op = c->in->op, es = element_size(op);
    unsigned lsb = 8 * es * ((unsigned)c->in->o[2].imm & (16 / es - 1));
    const struct x86_operand *d = &c->in->o[0], *s = &c->in->o[1];
    if (is_xmm(d)) {
        ir_val v = s->kind == X86_OPND_REG ? x86_resize(c, x86_read_op_sized(c, 1, s->size), es, false)
                                           : x86_read_op_sized(c, 1, es);
        write_xmm(c, d, ir_insert(c->b, ir_get(c->b, IR_I128, X86_OFF_XMM(d->reg.num)), v, lsb));
        return true;
    }
    ir_val v = ir_extract(c->b, element_type[es], ir_get(c->b, IR_I128, X86_OFF_XMM(s->reg.num)), lsb);
    if (d->kind == X86_OPND_REG) {
        unsigned size = d->size == 8 ? 8 : 4;
        x86_set_gpr(c, d->reg.num, size, x86_resize(c, v, size, false));
    } else {
        x86_store(c, x86_operand_addr(c, d), v, es, d->mem.seg);
    }
    return true;
}
