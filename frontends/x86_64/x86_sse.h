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
    X(UCOMISD) X(CVTSS2SI32) X(CVTSS2SI64) X(CVTSD2SI32) X(CVTSD2SI64) X(SHUFPS) X(PSHUFLW) X(PSHUFHW) \
    X(COMISS) X(COMISD)                                                                          \
    X86_SSE_FP_LIST(X) X86_SSE_INT_LIST(X) X86_SSE_CRYPTO_LIST(X)

/* Packed floating point beyond SSE2's basics (sse_ops.c); CMPxx take the predicate
 * (imm bits 2:0), ROUNDxx the rounding control, SHUFPD/DPPx/INSERTPS their imm8.
 * INSERTPS stays last: the helper routes CMPPS..INSERTPS to the FP code. */
#define X86_SSE_FP_LIST(X)                                                                     \
    X(CMPPS) X(CMPPD) X(CMPSS) X(CMPSD) X(MINPS) X(MAXPS) X(MINPD) X(MAXPD) X(SQRTPS) X(SQRTPD)  \
    X(CVTDQ2PS) X(CVTPS2DQ) X(CVTTPS2DQ) X(CVTDQ2PD) X(CVTPD2DQ) X(CVTTPD2DQ) X(CVTPS2PD)       \
    X(CVTPD2PS) X(ROUNDPS) X(ROUNDPD) X(ROUNDSS) X(ROUNDSD) X(MOVSHDUP) X(MOVSLDUP) X(MOVDDUP)  \
    X(HADDPS) X(HADDPD) X(HSUBPS) X(HSUBPD) X(ADDSUBPS) X(ADDSUBPD) X(SHUFPD) X(DPPS) X(DPPD)     \
    X(INSERTPS)

/* Integer lanes beyond SSE2's basics (sse_int.c). The first group is table-driven
 * (one row: lane width, signedness, saturation, horizontal, lane function). */
#define X86_SSE_INT_LIST(X)                                                                    \
    X(PADDS8) X(PADDS16) X(PSUBS8) X(PSUBS16) X(PADDUS8) X(PADDUS16) X(PSUBUS8) X(PSUBUS16)     \
    X(PMINS8) X(PMINS16) X(PMINS32) X(PMAXS8) X(PMAXS16) X(PMAXS32) X(PMINU16) X(PMINU32)       \
    X(PMAXU16) X(PMAXU32) X(PMULLD) X(PMULHW) X(PMULHUW) X(PMULHRSW) X(PCMPEQ64) X(PCMPGT64)    \
    X(PAVG8) X(PAVG16) X(PSIGN8) X(PSIGN16) X(PSIGN32) X(PABS8) X(PABS16) X(PABS32) X(PHADD16)  \
    X(PHADD32) X(PHADDS16) X(PHSUB16) X(PHSUB32) X(PHSUBS16)                                    \
    X(PACKSS16) X(PACKSS32) X(PACKUS16) X(PACKUS32) X(PSHUFB) X(PALIGNR) X(PMOVX) X(PMULUDQ)    \
    X(PMULDQ) X(PMADDWD) X(PMADDUBSW) X(PSADBW) X(BLEND16) X(BLEND32) X(BLEND64) X(SIGNMASK8)   \
    X(SIGNMASK32) X(SIGNMASK64) X(PTEST) X(MPSADBW) X(PHMINPOSUW) X(CRC32)

/* AES-NI, PCLMULQDQ, SHA, the approximate reciprocals, and the AVX/AVX2/F16C lane
 * functions with no SSE twin (VPERMILPx by vector, VTESTPx, VPSxLV, VCVTPH2PS): pure.
 * SHA256RNDS2 takes XMM0's low quadword in bits 127:64 of the helper's c. */
#define X86_SSE_CRYPTO_LIST(X)                                                                 \
    X(AESENC) X(AESENCLAST) X(AESDEC) X(AESDECLAST) X(AESIMC) X(AESKEYGEN) X(PCLMULQDQ)         \
    X(SHA1RNDS4) X(SHA1NEXTE) X(SHA1MSG1) X(SHA1MSG2) X(SHA256RNDS2) X(SHA256MSG1) X(SHA256MSG2)  \
    X(RCPPS) X(RCPSS) X(RSQRTPS) X(RSQRTSS)                                                       \
    X(PERMILPSV) X(PERMILPDV) X(TESTPS) X(TESTPD) X(PSLLV32) X(PSLLV64) X(PSRLV32) X(PSRLV64)     \
    X(PSRAV32) X(CVTPH2PS)

enum x86_sse_op {
#define X(name) X86_SSE_##name,
    X86_SSE_OP_LIST(X)
#undef X
    X86_SSE_OP_COUNT
};

/* The helper: a, b 128-bit operands; c = op | (imm8 << 8). Results are 128 bits
 * (masks and integers in the low bits; UCOMIS* return ZF/PF/CF as bits 0/1/2).
 * x86_h_sse is pure (integer lanes, shuffles, moves); the operations that raise
 * SSE FP exceptions (x86_sse_op_is_fp) go through x86_h_sse_fp instead, which
 * reads MXCSR, records its flags and may raise #XM/#UD (sse_fp.c). */
ir_u128 x86_h_sse(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
ir_u128 x86_h_sse_fp(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
bool x86_sse_op_is_fp(unsigned op);
/* MXCSR gets the flags (MXCSR bit layout); an unmasked one raises #XM (#UD without
 * CR4.OSXMMEXCPT) and unwinds (sse_fp.c). A 256-bit operation runs as two calls:
 * the lower lane's keeps its flags aside (x86_soft_flags.xm_deferred), the upper
 * lane's commits both lanes' as one operation's (an unmasked pre-computation
 * exception in either reports only the pre-computation flags), so MXCSR and #XM are
 * the hardware's and the destination is not written. The lane rides in the
 * FP helper's c at X86_SSE_LANE_SHIFT. */
enum x86_sse_lane { X86_SSE_LANE_ONLY, X86_SSE_LANE_LOWER, X86_SSE_LANE_UPPER };
#define X86_SSE_LANE_SHIFT 16
void x86_sse_fp_commit(struct soft_cpu *cpu, unsigned flags);
void x86_sse_fp_commit_lane(struct soft_cpu *cpu, unsigned flags, unsigned lane);
/* The host-computed part, under whatever floating-point environment is current. */
ir_u128 x86_sse_compute(unsigned op, unsigned imm, ir_u128 a, ir_u128 b);

/* PMOVZX/PMOVSX carry their shape as data: log2 of the source and destination lane
 * widths and the signedness, in the imm8 slot. */
#define X86_PMOVX(src_log2, dst_log2, sign) ((src_log2) | ((dst_log2) << 2) | ((sign) << 4))

/* The 128-bit operand seen as lanes of every width. */
typedef union {
    ir_u128 v;
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
    float f[4];
    double g[2];
} x86_lanes;

/* The operations of X86_SSE_CRYPTO_LIST into r (extra: XMM0's low quadword for
 * SHA256RNDS2); false for any other op. x86_sse_crypto_init once before. */
bool x86_sse_crypto(unsigned op, unsigned imm, uint64_t extra, const x86_lanes *a, const x86_lanes *b,
                    x86_lanes *r);
void x86_sse_crypto_init(void);

/* The integer operations of X86_SSE_INT_LIST into r; false for any other op. */
bool x86_sse_int(unsigned op, unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r);

#define X86_SSE_FLAG_ZF 1u
#define X86_SSE_FLAG_PF 2u
#define X86_SSE_FLAG_CF 4u
#define X86_SSE_FLAG_SF 8u
#define X86_SSE_FLAG_OF 16u

/* ---- shared by the SSE lifters (lift_sse.c, lift_sse42.c, lift_mmx.c, lift_avx.c) -- */

/* How lift_sse.c runs an instruction through the helper: the helper op, the operand
 * shape, and a fixed imm8 (the CMPxx predicate, the PMOVX shape). The VEX forms
 * (lift_avx.c) take the same row, so each operation's meaning is written once. */
enum x86_sse_kind { K_NONE = 0, K_XMM, K_XMM_IMM, K_SHIFT, K_MASK, K_TO_INT, K_FROM_INT, K_COMIS, K_BLENDV, K_XMM0 };
struct x86_sse_desc {
    uint8_t sse;     /* enum x86_sse_op */
    uint8_t kind;    /* enum x86_sse_kind */
    uint8_t imm;
};
struct x86_sse_desc x86_sse_desc_of(unsigned op);
/* One helper call on 128-bit a, b: the FP state helper for MXCSR operations, else
 * the pure one. */
ir_val x86_sse_call(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm);
/* The same for one lane of a 256-bit operation (enum x86_sse_lane). */
ir_val x86_sse_call_lane(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm, unsigned lane);

/* The operation as IR vector ops when it has them (sse_vec.c), else IR_NONE: the
 * caller then calls the helper. Same operands as the helper's. */
ir_val x86_sse_vec(struct x86_ctx *c, ir_val a, ir_val b, unsigned op, unsigned imm);

/* #UD (CR0.EM, no CR4.OSFXSR) / #NM (CR0.TS) by the mode key; true when the
 * instruction may be lifted. */
bool x86_sse_allowed(struct x86_ctx *c);
/* Operand i as 128 bits; a 16-byte memory operand of a legacy SSE instruction must be
 * aligned (#GP(0)) unless x86_sse_unaligned_ok says otherwise. */
ir_val x86_sse_read128(struct x86_ctx *c, unsigned i);
/* SSE4.2 string compares take unaligned memory operands (lift_sse42.c). */
bool x86_sse_unaligned_ok(unsigned op);

/* LDMXCSR's check, FXSAVE/FXRSTOR and the x87->MMX transitions (lift_fxsr.c); how
 * (the second argument) is one of these, | X86_FXSR_REXW. */
extern const struct ir_helper x86_fxsr_helper;
enum x86_fxsr_op { X86_FXSR_LDMXCSR, X86_FXSR_SAVE, X86_FXSR_RESTORE, X86_FXSR_MMX, X86_FXSR_EMMS };
#define X86_FXSR_REXW 0x10u
/* MASKMOVQ/MASKMOVDQU byte stores (lift_mmx.c). */
extern const struct ir_helper x86_maskmov_helper;
/* The MMX forms of the shared SSE ids (lift_mmx.c). */
bool lift_mmx(struct x86_ctx *c);

/* PE for an operation stopped by an unmasked overflow/underflow: 1 when its lanes'
 * exact results need more significand bits than the destination has, 0 when not,
 * -1 for an operation this does not model (sse_exact.c). */
int x86_sse_unbounded_inexact(unsigned op, unsigned imm, bool f64_in, bool f64_out, unsigned lanes,
                              const x86_lanes *a, const x86_lanes *b);

/* ---- SSE4.2 (sse_str.c) ---------------------------------------------------------- */

/* CRC32: crc updated by the low `bytes` bytes of data, CRC-32C bit-reflected. */
uint32_t x86_crc32c(uint32_t crc, uint64_t data, unsigned bytes);
void x86_sse_str_init(void);   /* once per process, before any x86_crc32c */

/* PCMPxSTRx: the result of one compare under imm8 control `ctl` with valid lengths
 * la (first operand) and lb (second): index for ECX, mask for XMM0, X86_SSE_FLAG_*
 * (CF, ZF, SF, OF). */
struct x86_pcmpstr {
    unsigned index;
    unsigned flags;
    x86_lanes mask;
};
struct x86_pcmpstr x86_pcmpstr(const x86_lanes *a, const x86_lanes *b, unsigned ctl, unsigned la, unsigned lb);
unsigned x86_pcmpstr_implicit_len(const x86_lanes *x, unsigned ctl);

/* The helper behind the four forms; how = imm8 | form bits << 8. */
#define X86_PCMPSTR_EXPLICIT 0x1u   /* PCMPESTRx: lengths in rAX/rDX */
#define X86_PCMPSTR_MASK 0x2u       /* PCMPxSTRM: result to XMM0, else index to ECX */
#define X86_PCMPSTR_REXW 0x4u       /* REX.W: 64-bit lengths */
ir_u128 x86_h_pcmpstr(void *cpu, ir_u128 a, ir_u128 b, ir_u128 how);

#endif /* ANYHV_FRONTENDS_X86_64_X86_SSE_H */
