/* x86_sse.h - the SSE operations the lifters hand to one pure helper (sse_ops.c):
 * lane-wise integer arithmetic, shuffles, packs of masks, and IEEE arithmetic on
 * the host's SSE (so rounding and NaN propagation are the hardware's). */
#ifndef ANYHV_FRONTENDS_X86_64_X86_SSE_H
#define ANYHV_FRONTENDS_X86_64_X86_SSE_H

#include "frontends/x86_64/x86_fe.h"

#define X86_SSE_OP_LIST(X)                                                                      \
    X(PADD8) X(PADD16) X(PADD32) X(PADD64) X(PSUB8) X(PSUB16) X(PSUB32) X(PSUB64)              \
    X(PCMPEQ8) X(PCMPEQ16) X(PCMPEQ32) X(PCMPGT8) X(PCMPGT16) X(PCMPGT32) X(PMINUB) X(PMAXUB)   \
    X(PMULLW) X(PMOVMSKB) X(MOVMSKPS) X(MOVMSKPD) X(PSHUFD) X(UNPCKL8) X(UNPCKL16) X(UNPCKL32) \
    X(UNPCKL64) X(UNPCKH8) X(UNPCKH16) X(UNPCKH32) X(UNPCKH64) X(PSLL16) X(PSLL32) X(PSLL64)   \
    X(PSRL16) X(PSRL32) X(PSRL64) X(PSRA16) X(PSRA32) X(PSLLDQ) X(PSRLDQ)                       \
    X(ADDSS) X(ADDSD) X(ADDPS) X(ADDPD) X(SUBSS) X(SUBSD) X(SUBPS) X(SUBPD) X(MULSS) X(MULSD)   \
    X(MULPS) X(MULPD) X(DIVSS) X(DIVSD) X(DIVPS) X(DIVPD) X(MINSS) X(MINSD) X(MAXSS) X(MAXSD)   \
    X(SQRTSS) X(SQRTSD) X(CVTSS2SD) X(CVTSD2SS) X(CVTSI32_SS) X(CVTSI64_SS) X(CVTSI32_SD)       \
    X(CVTSI64_SD) X(CVTTSS2SI32) X(CVTTSS2SI64) X(CVTTSD2SI32) X(CVTTSD2SI64) X(UCOMISS)        \
    X(UCOMISD) X(CVTSS2SI32) X(CVTSS2SI64) X(CVTSD2SI32) X(CVTSD2SI64) X(SHUFPS) X(PSHUFLW) X(PSHUFHW)

enum x86_sse_op {
#define X(name) X86_SSE_##name,
    X86_SSE_OP_LIST(X)
#undef X
    X86_SSE_OP_COUNT
};

/* The helper: a, b 128-bit operands; c = op | (imm8 << 8). Results are 128 bits
 * (masks and integers in the low bits; UCOMIS* return ZF/PF/CF as bits 0/1/2). */
ir_u128 x86_h_sse(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);

#define X86_SSE_FLAG_ZF 1u
#define X86_SSE_FLAG_PF 2u
#define X86_SSE_FLAG_CF 4u

#endif /* ANYHV_FRONTENDS_X86_64_X86_SSE_H */
