/* diff_gen.h - random user-level x86-64 instruction sequences for the Unicorn
 * differential tester: random bytes decoded by Capstone, kept when the instruction
 * is in the integer whitelist, touches memory only through [rbx+disp] inside the
 * data page, leaves RBX/RSP alone (PUSH/POP aside), and reads no flag an earlier
 * instruction left undefined. The undefined-flag set that remains is returned so
 * the comparison masks exactly those. */
#ifndef ANYHV_TESTS_SOFT_X86_DIFF_GEN_H
#define ANYHV_TESTS_SOFT_X86_DIFF_GEN_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define DG_MAX_INSNS 24
#define DG_MAX_BYTES (DG_MAX_INSNS * 15)
#define DG_DISP_LIMIT 1024

/* RFLAGS bits of the six arithmetic flags. */
#define DG_CF 0x001u
#define DG_PF 0x004u
#define DG_AF 0x010u
#define DG_ZF 0x040u
#define DG_SF 0x080u
#define DG_OF 0x800u
#define DG_ALL (DG_CF | DG_PF | DG_AF | DG_ZF | DG_SF | DG_OF)

struct dg_rng { uint64_t s; };

static inline uint64_t dg_next(struct dg_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* Flags an instruction leaves undefined (SDM), beyond what Capstone records. */
struct dg_rule { unsigned id; uint32_t undefined; uint32_t reads; };
static const struct dg_rule dg_rules[] = {
    { X86_INS_ADD, 0, 0 }, { X86_INS_ADC, 0, DG_CF }, { X86_INS_SUB, 0, 0 }, { X86_INS_SBB, 0, DG_CF },
    { X86_INS_CMP, 0, 0 }, { X86_INS_AND, DG_AF, 0 }, { X86_INS_OR, DG_AF, 0 }, { X86_INS_XOR, DG_AF, 0 },
    { X86_INS_TEST, DG_AF, 0 }, { X86_INS_INC, 0, 0 }, { X86_INS_DEC, 0, 0 }, { X86_INS_NEG, 0, 0 },
    { X86_INS_NOT, 0, 0 }, { X86_INS_MOV, 0, 0 }, { X86_INS_MOVZX, 0, 0 }, { X86_INS_MOVSX, 0, 0 },
    { X86_INS_MOVSXD, 0, 0 }, { X86_INS_LEA, 0, 0 }, { X86_INS_CBW, 0, 0 }, { X86_INS_CWDE, 0, 0 },
    { X86_INS_CDQE, 0, 0 }, { X86_INS_CWD, 0, 0 }, { X86_INS_CDQ, 0, 0 }, { X86_INS_CQO, 0, 0 },
    { X86_INS_SHL, DG_AF | DG_OF | DG_CF, 0 }, { X86_INS_SAL, DG_AF | DG_OF | DG_CF, 0 },
    { X86_INS_SHR, DG_AF | DG_OF | DG_CF, 0 }, { X86_INS_SAR, DG_AF | DG_OF | DG_CF, 0 },
    { X86_INS_ROL, DG_OF, 0 }, { X86_INS_ROR, DG_OF, 0 }, { X86_INS_RCL, DG_OF, DG_CF },
    { X86_INS_RCR, DG_OF, DG_CF }, { X86_INS_SHLD, DG_AF | DG_OF | DG_CF, 0 },
    { X86_INS_SHRD, DG_AF | DG_OF | DG_CF, 0 }, { X86_INS_MUL, DG_SF | DG_ZF | DG_AF | DG_PF, 0 },
    { X86_INS_IMUL, DG_SF | DG_ZF | DG_AF | DG_PF, 0 }, { X86_INS_DIV, DG_ALL, 0 }, { X86_INS_IDIV, DG_ALL, 0 },
    { X86_INS_BT, DG_OF | DG_SF | DG_AF | DG_PF, 0 }, { X86_INS_BTS, DG_OF | DG_SF | DG_AF | DG_PF, 0 },
    { X86_INS_BTR, DG_OF | DG_SF | DG_AF | DG_PF, 0 }, { X86_INS_BTC, DG_OF | DG_SF | DG_AF | DG_PF, 0 },
    { X86_INS_BSF, DG_CF | DG_OF | DG_SF | DG_AF | DG_PF, 0 }, { X86_INS_BSR, DG_CF | DG_OF | DG_SF | DG_AF | DG_PF, 0 },
    { X86_INS_POPCNT, 0, 0 }, { X86_INS_BSWAP, 0, 0 }, { X86_INS_XCHG, 0, 0 }, { X86_INS_XADD, 0, 0 },
    { X86_INS_CMPXCHG, 0, 0 }, { X86_INS_PUSH, 0, 0 }, { X86_INS_POP, 0, 0 }, { X86_INS_NOP, 0, 0 },
    { X86_INS_CLC, 0, 0 }, { X86_INS_STC, 0, 0 }, { X86_INS_CMC, 0, DG_CF }, { X86_INS_LAHF, 0, DG_ALL & ~DG_OF },
    { X86_INS_SAHF, 0, 0 },
    /* decimal adjusts and SALC (outside 64-bit mode), ADX, BMI1/BMI2 */
    { X86_INS_DAA, DG_OF, DG_CF | DG_AF }, { X86_INS_DAS, DG_OF, DG_CF | DG_AF },
    { X86_INS_AAA, DG_OF | DG_SF | DG_ZF | DG_PF, DG_AF }, { X86_INS_AAS, DG_OF | DG_SF | DG_ZF | DG_PF, DG_AF },
    { X86_INS_AAM, DG_OF | DG_AF | DG_CF, 0 }, { X86_INS_AAD, DG_OF | DG_AF | DG_CF, 0 },
    { X86_INS_SALC, 0, DG_CF }, { X86_INS_ARPL, 0, 0 }, { X86_INS_ADCX, 0, DG_CF }, { X86_INS_ADOX, 0, DG_OF },
    { X86_INS_ANDN, DG_AF | DG_PF, 0 }, { X86_INS_BEXTR, DG_AF | DG_PF | DG_SF, 0 },
    { X86_INS_BLSI, DG_AF | DG_PF, 0 }, { X86_INS_BLSMSK, DG_AF | DG_PF, 0 }, { X86_INS_BLSR, DG_AF | DG_PF, 0 },
    { X86_INS_BZHI, DG_AF | DG_PF, 0 }, { X86_INS_MULX, 0, 0 }, { X86_INS_PDEP, 0, 0 }, { X86_INS_PEXT, 0, 0 },
    { X86_INS_RORX, 0, 0 }, { X86_INS_SARX, 0, 0 }, { X86_INS_SHLX, 0, 0 }, { X86_INS_SHRX, 0, 0 },
    { X86_INS_SETO, 0, DG_OF }, { X86_INS_SETNO, 0, DG_OF }, { X86_INS_SETB, 0, DG_CF }, { X86_INS_SETAE, 0, DG_CF },
    { X86_INS_SETE, 0, DG_ZF }, { X86_INS_SETNE, 0, DG_ZF }, { X86_INS_SETBE, 0, DG_CF | DG_ZF },
    { X86_INS_SETA, 0, DG_CF | DG_ZF }, { X86_INS_SETS, 0, DG_SF }, { X86_INS_SETNS, 0, DG_SF },
    { X86_INS_SETP, 0, DG_PF }, { X86_INS_SETNP, 0, DG_PF }, { X86_INS_SETL, 0, DG_SF | DG_OF },
    { X86_INS_SETGE, 0, DG_SF | DG_OF }, { X86_INS_SETLE, 0, DG_ZF | DG_SF | DG_OF },
    { X86_INS_SETG, 0, DG_ZF | DG_SF | DG_OF },
    { X86_INS_CMOVO, 0, DG_OF }, { X86_INS_CMOVNO, 0, DG_OF }, { X86_INS_CMOVB, 0, DG_CF },
    { X86_INS_CMOVAE, 0, DG_CF }, { X86_INS_CMOVE, 0, DG_ZF }, { X86_INS_CMOVNE, 0, DG_ZF },
    { X86_INS_CMOVBE, 0, DG_CF | DG_ZF }, { X86_INS_CMOVA, 0, DG_CF | DG_ZF }, { X86_INS_CMOVS, 0, DG_SF },
    { X86_INS_CMOVNS, 0, DG_SF }, { X86_INS_CMOVP, 0, DG_PF }, { X86_INS_CMOVNP, 0, DG_PF },
    { X86_INS_CMOVL, 0, DG_SF | DG_OF }, { X86_INS_CMOVGE, 0, DG_SF | DG_OF },
    { X86_INS_CMOVLE, 0, DG_ZF | DG_SF | DG_OF }, { X86_INS_CMOVG, 0, DG_ZF | DG_SF | DG_OF },
    /* SSE/SSE2 subset */
    { X86_INS_MOVAPS, 0, 0 }, { X86_INS_MOVUPS, 0, 0 }, { X86_INS_MOVAPD, 0, 0 }, { X86_INS_MOVUPD, 0, 0 },
    { X86_INS_MOVDQA, 0, 0 }, { X86_INS_MOVDQU, 0, 0 }, { X86_INS_MOVD, 0, 0 }, { X86_INS_MOVQ, 0, 0 },
    { X86_INS_MOVSS, 0, 0 }, { X86_INS_PXOR, 0, 0 }, { X86_INS_POR, 0, 0 }, { X86_INS_PAND, 0, 0 },
    { X86_INS_PANDN, 0, 0 }, { X86_INS_XORPS, 0, 0 }, { X86_INS_XORPD, 0, 0 }, { X86_INS_ANDPS, 0, 0 },
    { X86_INS_ANDPD, 0, 0 }, { X86_INS_ANDNPS, 0, 0 }, { X86_INS_ANDNPD, 0, 0 }, { X86_INS_ORPS, 0, 0 },
    { X86_INS_ORPD, 0, 0 }, { X86_INS_PADDB, 0, 0 }, { X86_INS_PADDW, 0, 0 }, { X86_INS_PADDD, 0, 0 },
    { X86_INS_PADDQ, 0, 0 }, { X86_INS_PSUBB, 0, 0 }, { X86_INS_PSUBW, 0, 0 }, { X86_INS_PSUBD, 0, 0 },
    { X86_INS_PSUBQ, 0, 0 }, { X86_INS_PCMPEQB, 0, 0 }, { X86_INS_PCMPEQW, 0, 0 }, { X86_INS_PCMPEQD, 0, 0 },
    { X86_INS_PCMPGTB, 0, 0 }, { X86_INS_PCMPGTW, 0, 0 }, { X86_INS_PCMPGTD, 0, 0 }, { X86_INS_PMINUB, 0, 0 },
    { X86_INS_PMAXUB, 0, 0 }, { X86_INS_PMULLW, 0, 0 }, { X86_INS_PMOVMSKB, 0, 0 }, { X86_INS_MOVMSKPS, 0, 0 },
    { X86_INS_MOVMSKPD, 0, 0 }, { X86_INS_PSHUFD, 0, 0 }, { X86_INS_PUNPCKLBW, 0, 0 }, { X86_INS_PUNPCKLWD, 0, 0 },
    { X86_INS_PUNPCKLDQ, 0, 0 }, { X86_INS_PUNPCKLQDQ, 0, 0 }, { X86_INS_PUNPCKHBW, 0, 0 },
    { X86_INS_PUNPCKHWD, 0, 0 }, { X86_INS_PUNPCKHDQ, 0, 0 }, { X86_INS_PUNPCKHQDQ, 0, 0 },
    { X86_INS_PSLLW, 0, 0 }, { X86_INS_PSLLD, 0, 0 }, { X86_INS_PSLLQ, 0, 0 }, { X86_INS_PSRLW, 0, 0 },
    { X86_INS_PSRLD, 0, 0 }, { X86_INS_PSRLQ, 0, 0 }, { X86_INS_PSRAW, 0, 0 }, { X86_INS_PSRAD, 0, 0 },
    { X86_INS_PSLLDQ, 0, 0 }, { X86_INS_PSRLDQ, 0, 0 }, { X86_INS_ADDSS, 0, 0 }, { X86_INS_ADDSD, 0, 0 },
    { X86_INS_ADDPS, 0, 0 }, { X86_INS_ADDPD, 0, 0 }, { X86_INS_SUBSS, 0, 0 }, { X86_INS_SUBSD, 0, 0 },
    { X86_INS_SUBPS, 0, 0 }, { X86_INS_SUBPD, 0, 0 }, { X86_INS_MULSS, 0, 0 }, { X86_INS_MULSD, 0, 0 },
    { X86_INS_MULPS, 0, 0 }, { X86_INS_MULPD, 0, 0 }, { X86_INS_DIVSS, 0, 0 }, { X86_INS_DIVSD, 0, 0 },
    { X86_INS_DIVPS, 0, 0 }, { X86_INS_DIVPD, 0, 0 }, { X86_INS_MINSS, 0, 0 }, { X86_INS_MINSD, 0, 0 },
    { X86_INS_MAXSS, 0, 0 }, { X86_INS_MAXSD, 0, 0 }, { X86_INS_SQRTSS, 0, 0 }, { X86_INS_SQRTSD, 0, 0 },
    { X86_INS_CVTSS2SD, 0, 0 }, { X86_INS_CVTSD2SS, 0, 0 }, { X86_INS_CVTSI2SS, 0, 0 }, { X86_INS_CVTSI2SD, 0, 0 },
    { X86_INS_CVTTSS2SI, 0, 0 }, { X86_INS_CVTTSD2SI, 0, 0 }, { X86_INS_UCOMISS, 0, 0 }, { X86_INS_UCOMISD, 0, 0 },
    { X86_INS_COMISS, 0, 0 }, { X86_INS_COMISD, 0, 0 }, { X86_INS_CVTSS2SI, 0, 0 }, { X86_INS_CVTSD2SI, 0, 0 },
    { X86_INS_SHUFPS, 0, 0 }, { X86_INS_PSHUFLW, 0, 0 }, { X86_INS_PSHUFHW, 0, 0 }, { X86_INS_UNPCKLPS, 0, 0 },
    { X86_INS_UNPCKHPS, 0, 0 }, { X86_INS_UNPCKLPD, 0, 0 }, { X86_INS_UNPCKHPD, 0, 0 }, { X86_INS_MOVLPS, 0, 0 },
    { X86_INS_MOVHPS, 0, 0 }, { X86_INS_MOVLPD, 0, 0 }, { X86_INS_MOVHPD, 0, 0 }, { X86_INS_MOVHLPS, 0, 0 },
    { X86_INS_MOVLHPS, 0, 0 },
    /* SSE2 rest, SSE3, SSSE3, SSE4.1 */
    /* (DPPS/DPPD are in the vectors: Unicorn 2.0.1 sums from +0, losing a -0 result) */
    { X86_INS_MPSADBW, 0, 0 }, { X86_INS_PHMINPOSUW, 0, 0 }, { X86_INS_MOVNTI, 0, 0 },
    { X86_INS_MOVNTDQ, 0, 0 }, { X86_INS_MOVNTPS, 0, 0 }, { X86_INS_MOVNTPD, 0, 0 }, { X86_INS_CMPEQPS, 0, 0 },
    { X86_INS_CMPLTPS, 0, 0 }, { X86_INS_CMPLEPS, 0, 0 }, { X86_INS_CMPUNORDPS, 0, 0 },
    { X86_INS_CMPNEQPS, 0, 0 }, { X86_INS_CMPNLTPS, 0, 0 }, { X86_INS_CMPNLEPS, 0, 0 },
    { X86_INS_CMPORDPS, 0, 0 }, { X86_INS_CMPEQPD, 0, 0 }, { X86_INS_CMPLTPD, 0, 0 }, { X86_INS_CMPLEPD, 0, 0 },
    { X86_INS_CMPUNORDPD, 0, 0 }, { X86_INS_CMPNEQPD, 0, 0 }, { X86_INS_CMPNLTPD, 0, 0 },
    { X86_INS_CMPNLEPD, 0, 0 }, { X86_INS_CMPORDPD, 0, 0 }, { X86_INS_CMPEQSS, 0, 0 },
    { X86_INS_CMPLTSS, 0, 0 }, { X86_INS_CMPLESS, 0, 0 }, { X86_INS_CMPUNORDSS, 0, 0 },
    { X86_INS_CMPNEQSS, 0, 0 }, { X86_INS_CMPNLTSS, 0, 0 }, { X86_INS_CMPNLESS, 0, 0 },
    { X86_INS_CMPORDSS, 0, 0 }, { X86_INS_CMPEQSD, 0, 0 }, { X86_INS_CMPLTSD, 0, 0 }, { X86_INS_CMPLESD, 0, 0 },
    { X86_INS_CMPUNORDSD, 0, 0 }, { X86_INS_CMPNEQSD, 0, 0 }, { X86_INS_CMPNLTSD, 0, 0 },
    { X86_INS_CMPNLESD, 0, 0 }, { X86_INS_CMPORDSD, 0, 0 }, { X86_INS_CMPPS, 0, 0 }, { X86_INS_CMPPD, 0, 0 },
    { X86_INS_CMPSS, 0, 0 }, { X86_INS_MINPS, 0, 0 }, { X86_INS_MAXPS, 0, 0 }, { X86_INS_MINPD, 0, 0 },
    { X86_INS_MAXPD, 0, 0 }, { X86_INS_SQRTPS, 0, 0 }, { X86_INS_SQRTPD, 0, 0 }, { X86_INS_CVTDQ2PS, 0, 0 },
    { X86_INS_CVTPS2DQ, 0, 0 }, { X86_INS_CVTTPS2DQ, 0, 0 }, { X86_INS_CVTDQ2PD, 0, 0 },
    { X86_INS_CVTPD2DQ, 0, 0 }, { X86_INS_CVTTPD2DQ, 0, 0 }, { X86_INS_CVTPS2PD, 0, 0 },
    { X86_INS_CVTPD2PS, 0, 0 }, { X86_INS_MOVSHDUP, 0, 0 }, { X86_INS_MOVSLDUP, 0, 0 },
    { X86_INS_MOVDDUP, 0, 0 }, { X86_INS_HADDPS, 0, 0 }, { X86_INS_HADDPD, 0, 0 }, { X86_INS_HSUBPS, 0, 0 },
    { X86_INS_HSUBPD, 0, 0 }, { X86_INS_ADDSUBPS, 0, 0 }, { X86_INS_ADDSUBPD, 0, 0 }, { X86_INS_PADDSB, 0, 0 },
    { X86_INS_PADDSW, 0, 0 }, { X86_INS_PSUBSB, 0, 0 }, { X86_INS_PSUBSW, 0, 0 }, { X86_INS_PADDUSB, 0, 0 },
    { X86_INS_PADDUSW, 0, 0 }, { X86_INS_PSUBUSB, 0, 0 }, { X86_INS_PSUBUSW, 0, 0 }, { X86_INS_PMINSB, 0, 0 },
    { X86_INS_PMINSW, 0, 0 }, { X86_INS_PMINSD, 0, 0 }, { X86_INS_PMAXSB, 0, 0 }, { X86_INS_PMAXSW, 0, 0 },
    { X86_INS_PMAXSD, 0, 0 }, { X86_INS_PMINUW, 0, 0 }, { X86_INS_PMINUD, 0, 0 }, { X86_INS_PMAXUW, 0, 0 },
    { X86_INS_PMAXUD, 0, 0 }, { X86_INS_PMULLD, 0, 0 }, { X86_INS_PMULHW, 0, 0 }, { X86_INS_PMULHUW, 0, 0 },
    { X86_INS_PMULHRSW, 0, 0 }, { X86_INS_PCMPEQQ, 0, 0 }, { X86_INS_PCMPGTQ, 0, 0 }, { X86_INS_PAVGB, 0, 0 },
    { X86_INS_PAVGW, 0, 0 }, { X86_INS_PSIGNB, 0, 0 }, { X86_INS_PSIGNW, 0, 0 }, { X86_INS_PSIGND, 0, 0 },
    { X86_INS_PABSB, 0, 0 }, { X86_INS_PABSW, 0, 0 }, { X86_INS_PABSD, 0, 0 }, { X86_INS_PHADDW, 0, 0 },
    { X86_INS_PHADDD, 0, 0 }, { X86_INS_PHADDSW, 0, 0 }, { X86_INS_PHSUBW, 0, 0 }, { X86_INS_PHSUBD, 0, 0 },
    { X86_INS_PHSUBSW, 0, 0 }, { X86_INS_PACKSSWB, 0, 0 }, { X86_INS_PACKSSDW, 0, 0 },
    { X86_INS_PACKUSWB, 0, 0 }, { X86_INS_PACKUSDW, 0, 0 }, { X86_INS_PSHUFB, 0, 0 }, { X86_INS_PMULUDQ, 0, 0 },
    { X86_INS_PMULDQ, 0, 0 }, { X86_INS_PMADDWD, 0, 0 }, { X86_INS_PMADDUBSW, 0, 0 }, { X86_INS_PSADBW, 0, 0 },
    { X86_INS_ROUNDPS, 0, 0 }, { X86_INS_ROUNDPD, 0, 0 }, { X86_INS_ROUNDSS, 0, 0 }, { X86_INS_ROUNDSD, 0, 0 },
    { X86_INS_SHUFPD, 0, 0 }, { X86_INS_INSERTPS, 0, 0 }, { X86_INS_PALIGNR, 0, 0 }, { X86_INS_PBLENDW, 0, 0 },
    { X86_INS_BLENDPS, 0, 0 }, { X86_INS_BLENDPD, 0, 0 }, { X86_INS_PBLENDVB, 0, 0 },
    { X86_INS_BLENDVPS, 0, 0 }, { X86_INS_BLENDVPD, 0, 0 }, { X86_INS_PTEST, 0, 0 }, { X86_INS_PMOVZXBW, 0, 0 },
    { X86_INS_PMOVSXBW, 0, 0 }, { X86_INS_PMOVZXBD, 0, 0 }, { X86_INS_PMOVSXBD, 0, 0 },
    { X86_INS_PMOVZXBQ, 0, 0 }, { X86_INS_PMOVSXBQ, 0, 0 }, { X86_INS_PMOVZXWD, 0, 0 },
    { X86_INS_PMOVSXWD, 0, 0 }, { X86_INS_PMOVZXWQ, 0, 0 }, { X86_INS_PMOVSXWQ, 0, 0 },
    { X86_INS_PMOVZXDQ, 0, 0 }, { X86_INS_PMOVSXDQ, 0, 0 }, { X86_INS_PEXTRB, 0, 0 }, { X86_INS_PEXTRW, 0, 0 },
    { X86_INS_PEXTRD, 0, 0 }, { X86_INS_PEXTRQ, 0, 0 }, { X86_INS_EXTRACTPS, 0, 0 }, { X86_INS_PINSRB, 0, 0 },
    { X86_INS_PINSRW, 0, 0 }, { X86_INS_PINSRD, 0, 0 }, { X86_INS_PINSRQ, 0, 0 }, { X86_INS_LDDQU, 0, 0 },
    { X86_INS_MOVNTDQA, 0, 0 },
    /* SSE4.2 */
    /* (PCMPESTRI/PCMPESTRM are in test_sse_native and the vectors: Unicorn 2.0.1 takes
     * |INT_MIN| as a negative length, returns nonsense and may crash in
     * helper_pcmpestri. LDMXCSR/STMXCSR and MXCSR are checked against the host CPU in
     * test_seq_native: Unicorn 2.0.1 loads reserved MXCSR bits without #GP, and MMX
     * forms the same way in test_seq_native.) */
    { X86_INS_CRC32, 0, 0 }, { X86_INS_PCMPISTRI, 0, 0 }, { X86_INS_PCMPISTRM, 0, 0 },
};

static inline const struct dg_rule *dg_rule_of(unsigned id)
{
    for (unsigned i = 0; i < sizeof(dg_rules) / sizeof(dg_rules[0]); i++)
        if (dg_rules[i].id == id)
            return &dg_rules[i];
    return NULL;
}

static inline bool dg_is_rbx_or_rsp(unsigned reg)
{
    switch (reg) {
    case X86_REG_RBX: case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH:
    case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
        return true;
    default:
        return false;
    }
}

/* General and XMM registers only: segment, control, debug, x87/MMX and AVX are out. */
static inline bool dg_is_gpr(unsigned reg)
{
    if (reg >= X86_REG_XMM0 && reg <= X86_REG_XMM15)
        return true;
    static const unsigned gprs[] = {
        X86_REG_AL, X86_REG_AH, X86_REG_AX, X86_REG_EAX, X86_REG_RAX, X86_REG_CL, X86_REG_CH, X86_REG_CX,
        X86_REG_ECX, X86_REG_RCX, X86_REG_DL, X86_REG_DH, X86_REG_DX, X86_REG_EDX, X86_REG_RDX, X86_REG_SIL,
        X86_REG_SI, X86_REG_ESI, X86_REG_RSI, X86_REG_DIL, X86_REG_DI, X86_REG_EDI, X86_REG_RDI, X86_REG_BPL,
        X86_REG_BP, X86_REG_EBP, X86_REG_RBP, X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11, X86_REG_R12,
        X86_REG_R13, X86_REG_R14, X86_REG_R15, X86_REG_R8D, X86_REG_R9D, X86_REG_R10D, X86_REG_R11D,
        X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D, X86_REG_R8W, X86_REG_R9W, X86_REG_R10W,
        X86_REG_R11W, X86_REG_R12W, X86_REG_R13W, X86_REG_R14W, X86_REG_R15W, X86_REG_R8B, X86_REG_R9B,
        X86_REG_R10B, X86_REG_R11B, X86_REG_R12B, X86_REG_R13B, X86_REG_R14B, X86_REG_R15B,
    };
    for (unsigned i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++)
        if (gprs[i] == reg)
            return true;
    return false;
}

/* A REX prefix followed by a legacy prefix is ignored by the processor (and by
 * Capstone) but honoured by Unicorn 2.0.1: a known oracle bug, kept out. */
static inline bool dg_stray_rex(const cs_insn *in)
{
    static const uint8_t legacy[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3 };
    for (unsigned i = 0; i + 1 < in->size; i++) {
        bool rex = (in->bytes[i] & 0xf0) == 0x40;
        bool next_legacy = memchr(legacy, in->bytes[i + 1], sizeof(legacy)) != NULL;
        if (rex && next_legacy)
            return true;
        if (!rex && !memchr(legacy, in->bytes[i], sizeof(legacy)))
            break;
    }
    return false;
}

static inline bool dg_same_reg_twice(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;
    return x->op_count >= 2 && x->operands[0].type == X86_OP_REG && x->operands[1].type == X86_OP_REG &&
           x->operands[0].reg == x->operands[1].reg;
}

static inline bool dg_horizontal_int(unsigned id)
{
    return id == X86_INS_PHADDW || id == X86_INS_PHADDD || id == X86_INS_PHADDSW || id == X86_INS_PHSUBW ||
           id == X86_INS_PHSUBD || id == X86_INS_PHSUBSW;
}

static inline bool dg_is_sse_cmp(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;
    return (in->id == X86_INS_CMPPS || in->id == X86_INS_CMPPD || in->id == X86_INS_CMPSS ||
            in->id == X86_INS_CMPSD) && x->op_count == 3 && x->operands[2].type == X86_OP_IMM;
}

static inline bool dg_is_pcmpstr(unsigned id)
{
    return id == X86_INS_PCMPESTRI || id == X86_INS_PCMPESTRM || id == X86_INS_PCMPISTRI || id == X86_INS_PCMPISTRM;
}

static inline bool dg_sse_prefix_mix(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;
    bool xmm = false;
    for (unsigned i = 0; i < x->op_count; i++)
        xmm |= x->operands[i].type == X86_OP_REG && x->operands[i].reg >= X86_REG_XMM0 &&
               x->operands[i].reg <= X86_REG_XMM15;
    unsigned legacy = 0;
    for (unsigned i = 0; i < in->size && memchr("\x26\x2e\x36\x3e\x64\x65\x66\xf2\xf3", in->bytes[i], 9); i++)
        legacy++;
    return xmm && x->opcode[0] == 0x0f && legacy > 1;
}

/* Is this decoded instruction acceptable for the sequence? */
static inline bool dg_acceptable(const cs_insn *in, uint32_t undefined, uint32_t *undef_after)
{
    const struct dg_rule *rule = dg_rule_of(in->id);
    if (!rule || dg_stray_rex(in))
        return false;
    const cs_x86 *x = &in->detail->x86;
    /* PUSH/POP with 66h: Unicorn and Capstone disagree with the SDM on prefix mixes
     * (66h + REX.W, 66h + F2h); the per-instruction vectors cover these forms. */
    if ((in->id == X86_INS_PUSH || in->id == X86_INS_POP) && memchr(in->bytes, 0x66, in->size))
        return false;
    /* CMPXCHG r32: Unicorn zero-extends RAX on success; the hardware does not (the
     * vectors and soft_x86_routes check it against KVM). */
    if (in->id == X86_INS_CMPXCHG && x->operands[0].size == 4)
        return false;
    /* SSE with 67h: Capstone 4.0.2 mis-identifies some (66 67 0F 2E as UCOMISS). */
    if (x->opcode[0] == 0x0f && x->prefix[3] == 0x67 && in->id != X86_INS_CMPXCHG)
        return false;
    /* MOVHLPS/MOVLHPS with a 66h/F2h/F3h prefix are invalid encodings (#UD);
     * Unicorn runs them. */
    if ((in->id == X86_INS_MOVHLPS || in->id == X86_INS_MOVLHPS) &&
        (memchr(in->bytes, 0x66, in->size) || memchr(in->bytes, 0xf2, in->size) || memchr(in->bytes, 0xf3, in->size)))
        return false;
    /* PHADD/PHSUB with the same register twice: Unicorn 2.0.1 reads the destination
     * after writing its low half (the host CPU and the SDM agree with us). */
    if (dg_same_reg_twice(in) && dg_horizontal_int(in->id))
        return false;
    /* Shifts and rotates by CL leave the flags alone when the masked count is 0, so
     * an earlier undefined flag stays undefined. */
    bool count_in_cl = x->op_count == 2 && x->operands[1].type == X86_OP_REG && x->operands[1].reg == X86_REG_CL;
    /* SSE with several legacy prefixes (66 2E 0F .., 66 F3 0F ..): Capstone 4.0.2
     * picks the mandatory prefix differently from the processor; the decoder's
     * prefix table is tested by the vectors instead. */
    if (dg_sse_prefix_mix(in))
        return false;
    /* PCMPxSTRx with the equal-ordered aggregation (imm8 bits 3:2 = 3): Unicorn 2.0.1
     * (QEMU 5) stops the substring compare at the second operand's last valid
     * element instead of treating later positions as mismatches (the host CPU and
     * the SDM agree with us; test_sse_native checks every control against the host). */
    if (dg_is_pcmpstr(in->id) && ((x->operands[2].imm >> 2) & 3) == 3)
        return false;
    /* BSWAP of a 16-bit register is undefined. */
    if (in->id == X86_INS_BSWAP && x->operands[0].size == 2)
        return false;
    /* BSF/BSR r32 with a zero source: Unicorn 2.0.1 zero-extends the destination, the
     * Intel host keeps all 64 bits (test_ext_native checks it against the host). */
    if ((in->id == X86_INS_BSF || in->id == X86_INS_BSR) && x->operands[0].size == 4)
        return false;
    /* 66h together with REX.W: Unicorn sizes immediates by 66h (REX.W wins). */
    if ((x->rex & 0x8) && memchr(in->bytes, 0x66, in->size) && !(x->opcode[0] == 0x0f && x->opcode[1] == 0x3a))
        return false;
    /* F6/F7 /1 is an undocumented TEST alias that Unicorn mis-executes. */
    if (x->opcode[0] == 0xf6 || x->opcode[0] == 0xf7) {
        if (((x->modrm >> 3) & 7) == 1)
            return false;
    }
    /* LOCK on a register destination or a non-RMW instruction is #UD (the vectors
     * test it); Unicorn runs it. Capstone may hide F0h behind F2h/F3h: scan bytes. */
    bool lock = false;
    for (unsigned i = 0; i < in->size; i++) {
        uint8_t b = in->bytes[i];
        if (b == 0xf0)
            lock = true;
        else if (!memchr("\x26\x2e\x36\x3e\x64\x65\x66\x67\xf2\xf3", b, 10))
            break;
    }
    if (lock)
        return false;
    /* LAHF/SAHF with a REX prefix: Unicorn uses SPL instead of AH. */
    if ((in->id == X86_INS_LAHF || in->id == X86_INS_SAHF) && in->detail->x86.rex)
        return false;
    for (unsigned i = 0; i < x->op_count; i++) {
        const cs_x86_op *o = &x->operands[i];
        if (o->type == X86_OP_REG && (dg_is_rbx_or_rsp(o->reg) || !dg_is_gpr(o->reg)))
            return false;
        if (o->type == X86_OP_MEM) {
            if (o->mem.base != X86_REG_RBX && o->mem.base != X86_REG_EBX && o->mem.base != X86_REG_BX)
                return false;
            if (o->mem.index != X86_REG_INVALID || o->mem.segment != X86_REG_INVALID)
                return false;
            if (o->mem.disp < -DG_DISP_LIMIT || o->mem.disp > DG_DISP_LIMIT)
                return false;
        }
    }
    /* Legacy SSE m128 operands must be 16-byte aligned (#GP(0)) except for the
     * unaligned moves; Unicorn does not check it. RBX is 16-byte aligned. */
    bool unaligned_ok = in->id == X86_INS_MOVUPS || in->id == X86_INS_MOVUPD || in->id == X86_INS_MOVDQU;
    for (unsigned i = 0; !unaligned_ok && i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_MEM && x->operands[i].size == 16 && (x->operands[i].mem.disp & 15))
            return false;
    /* 16-bit double shifts with counts above 16 have undefined results. */
    if ((in->id == X86_INS_SHLD || in->id == X86_INS_SHRD) && x->operands[0].size == 2)
        return false;
    /* Implicit writes to RBX (CMPXCHG8B-like) are out. */
    for (unsigned i = 0; i < in->detail->regs_write_count; i++)
        if (in->detail->regs_write[i] == X86_REG_RBX || in->detail->regs_write[i] == X86_REG_EBX)
            return false;
    if (rule->reads & undefined)
        return false;
    uint32_t written = 0;
    /* Capstone 4.0.2 credits CMPPS/PD/SS/SD (0F C2) with writing RFLAGS; they don't. */
    bool no_flags = x->opcode[0] == 0x0f && x->opcode[1] == 0xc2;
    /* ... and so do they by an immediate whose masked count is 0 (SHL EDI, 0x20). */
    const cs_x86_op *last = x->op_count ? &x->operands[x->op_count - 1] : NULL;
    bool shift = in->id == X86_INS_SHL || in->id == X86_INS_SAL || in->id == X86_INS_SHR || in->id == X86_INS_SAR ||
                 in->id == X86_INS_ROL || in->id == X86_INS_ROR || in->id == X86_INS_RCL || in->id == X86_INS_RCR ||
                 in->id == X86_INS_SHLD || in->id == X86_INS_SHRD;
    if (shift && last && last->type == X86_OP_IMM && (last->imm & (x->operands[0].size == 8 ? 0x3f : 0x1f)) == 0) {
        *undef_after = undefined;
        return true;
    }
    if (count_in_cl && rule->undefined) {   /* the shift/rotate rules list undefined flags */
        *undef_after = (undefined | rule->undefined) & DG_ALL;
        return true;
    }
    if (no_flags) {
        *undef_after = undefined;
        return true;
    }
    if (x->eflags & (X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF)) written |= DG_CF;
    if (x->eflags & (X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF | X86_EFLAGS_SET_PF)) written |= DG_PF;
    if (x->eflags & (X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_SET_AF)) written |= DG_AF;
    if (x->eflags & (X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF)) written |= DG_ZF;
    if (x->eflags & (X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_SF)) written |= DG_SF;
    if (x->eflags & (X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_SET_OF)) written |= DG_OF;
    uint32_t und = rule->undefined;
    if (x->eflags & X86_EFLAGS_UNDEFINED_CF) und |= DG_CF;
    if (x->eflags & X86_EFLAGS_UNDEFINED_PF) und |= DG_PF;
    if (x->eflags & X86_EFLAGS_UNDEFINED_AF) und |= DG_AF;
    if (x->eflags & X86_EFLAGS_UNDEFINED_ZF) und |= DG_ZF;
    if (x->eflags & X86_EFLAGS_UNDEFINED_SF) und |= DG_SF;
    if (x->eflags & X86_EFLAGS_UNDEFINED_OF) und |= DG_OF;
    /* Whatever it writes becomes defined unless it is undefined. */
    *undef_after = ((undefined & ~written) | und) & DG_ALL;
    return true;
}

/* Build a sequence of up to n instructions into code; returns its length in bytes
 * and the undefined-flag mask at the end. */
static inline unsigned dg_generate(csh h, cs_insn *ins, struct dg_rng *r, unsigned n, uint8_t *code,
                                   uint32_t *undefined_out, unsigned *count_out)
{
    unsigned len = 0, count = 0;
    uint32_t undefined = 0;
    for (unsigned tries = 0; count < n && tries < n * 4000; tries++) {
        uint8_t buf[16];
        for (unsigned i = 0; i < sizeof(buf); i += 8) {
            uint64_t v = dg_next(r);
            memcpy(buf + i, &v, 8);
        }
        /* Bias towards common opcodes: often start with a REX.W or operand-size prefix,
         * or a two-byte (0F) opcode with an SSE mandatory prefix. */
        unsigned shape = (unsigned)(dg_next(r) % 6);
        if (shape == 0) {
            buf[0] = 0x48 | (buf[0] & 0x07);
        } else if (shape == 1) {
            buf[0] = 0x66;
        } else if (shape == 2) {
            static const uint8_t sse_prefix[4] = { 0x66, 0xf2, 0xf3, 0x40 };
            buf[0] = sse_prefix[buf[0] & 3];
            buf[1] = 0x0f;
            if ((buf[3] & 0xf) == 0)
                buf[2] = 0xc2;   /* CMPPS/PD/SS/SD: one opcode of 256, worth more */
        } else if (shape == 3) {
            /* SSSE3/SSE4.1 three-byte opcodes (66 0F 38 xx, 66 0F 3A xx ib) */
            bool rexw = (buf[0] & 6) == 6;   /* PEXTRQ/PINSRQ */
            buf[2] = (buf[0] & 1) ? 0x3a : 0x38;
            buf[0] = 0x66;
            buf[1] = rexw ? 0x48 : 0x0f;
            if (rexw) {
                buf[3] = buf[2];
                buf[2] = 0x0f;
            } else if ((buf[5] & 7) == 0) {
                /* SSE4.2: PCMPxSTRx (66 0F 3A 60-63) and CRC32 (F2 0F 38 F0/F1) */
                if (buf[2] == 0x3a) {
                    buf[3] = (uint8_t)(0x62 | (buf[6] & 1));   /* the implicit-length forms */
                } else {
                    buf[0] = 0xf2;
                    buf[3] = (uint8_t)(0xf0 | (buf[6] & 1));
                }
            }
        }
        const uint8_t *p = buf;
        size_t size = sizeof(buf);
        uint64_t addr = 0x1000 + len;
        if (!cs_disasm_iter(h, &p, &size, &addr, ins))
            continue;
        /* CMPPS/PD/SS/SD: most random imm8 are above 7 (the generic names), which the
         * hardware reads as imm8 & 7 and Unicorn refuses: fold them to 0-7. */
        if (dg_is_sse_cmp(ins)) {
            buf[ins->size - 1] &= 7;
            p = buf;
            size = sizeof(buf);
            addr = 0x1000 + len;
            if (!cs_disasm_iter(h, &p, &size, &addr, ins))
                continue;
        }
        uint32_t after;
        if (!dg_acceptable(ins, undefined, &after))
            continue;
        memcpy(code + len, ins->bytes, ins->size);
        len += ins->size;
        undefined = after;
        count++;
    }
    *undefined_out = undefined;
    *count_out = count;
    return len;
}

#endif /* ANYHV_TESTS_SOFT_X86_DIFF_GEN_H */
