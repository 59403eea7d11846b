/* x86_avx.h - what the AVX lifters share (lift_avx.c, lift_avx_move.c,
 * lift_avx_lane.c, lift_fma.c): YMM operands as two 128-bit halves. */
#ifndef ANYHV_FRONTENDS_X86_64_X86_AVX_H
#define ANYHV_FRONTENDS_X86_64_X86_AVX_H

#include "frontends/x86_64/x86_sse.h"

/* A 256-bit value: lo = bits 127:0, hi = bits 255:128 (IR_NONE: not read/zero). */
struct x86_y {
    ir_val lo, hi;
};

/* #UD unless VEX is legal (X86_MK_AVX), #NM with CR0.TS; true when it may be lifted. */
bool x86_avx_allowed(struct x86_ctx *c);
bool x86_is_vreg(const struct x86_operand *o);
/* Some operand is 32 bytes (VEX.L = 1). */
bool x86_avx_wide(const struct x86_dinsn *in);
ir_val x86_zero128(struct x86_ctx *c);
struct x86_y x86_avx_read(struct x86_ctx *c, unsigned i, bool wide);
void x86_avx_write(struct x86_ctx *c, const struct x86_operand *d, ir_val lo, ir_val hi);

/* The MXCSR helper for FMA3 and F16C (avx_fp.c): c = op | detail << 8 | ... */
enum x86_avx_fp_op { X86_AVX_FP_FMA, X86_AVX_FP_PH2PS, X86_AVX_FP_PS2PH };
/* FMA: detail = enum fma kind, bits 19:16 the destination register (read from state),
 * bit 20 its upper half, bits 25:24 the order (132, 213, 231), bits 27:26 the type
 * (PS, PD, SS, SD). */
#define X86_AVX_FP_REG_SHIFT 16
#define X86_AVX_FP_UPPER (1u << 20)
#define X86_AVX_FP_LOWER (1u << 21)   /* the lower lane of a 256-bit form (#XM deferred) */
#define X86_AVX_FP_ORDER_SHIFT 24
#define X86_AVX_FP_TYPE_SHIFT 26
extern const struct ir_helper x86_avx_fp_helper;
extern const struct ir_helper x86_avx_mem_helper;

#endif /* ANYHV_FRONTENDS_X86_64_X86_AVX_H */
