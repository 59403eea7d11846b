/* fx80_host.h - the host x87 as a bit-exact oracle for the software 80-bit
 * arithmetic (frontends/x86_64/fx80*.c): each host_run() loads ST(1)=b, ST(0)=a under a
 * given FCW, runs one instruction and captures FSW, ST(0), ST(1) and a memory operand.
 * x86-64 hosts only (FX80_HOST_ORACLE says whether it exists). */
#ifndef ANYHV_TESTS_SOFT_X86_FX80_HOST_H
#define ANYHV_TESTS_SOFT_X86_FX80_HOST_H

#include <stdint.h>
#include <string.h>

#include "frontends/x86_64/fx80.h"

/* FX80_NO_HOST_ORACLE builds the oracle-free path (what non-x86-64 hosts run) here too. */
#if defined(__x86_64__) && !defined(FX80_NO_HOST_ORACLE)
#define FX80_HOST_ORACLE 1
#else
#define FX80_HOST_ORACLE 0
#endif

/* FSW bits beyond the exception flags. */
#define FSW_FLAGS 0x3fu
#define FSW_C0 (1u << 8)
#define FSW_C1 (1u << 9)
#define FSW_C2 (1u << 10)
#define FSW_C3 (1u << 14)
/* FCW layout: masks in bits 0-5, PC in 8-9, RC in 10-11, bit 6 reads as one. */
#define FCW_RESERVED_ONE 0x40u
#define FCW_PC_SHIFT 8
#define FCW_RC_SHIFT 10

static inline uint16_t fcw_of(const struct fx80_env *env)
{
    return (uint16_t)(FCW_RESERVED_ONE | env->masks | (env->pc << FCW_PC_SHIFT) |
                      (env->rc << FCW_RC_SHIFT));
}

/* One instruction per operation; the list drives host_run's dispatch. */
#define HOST_OPS(X) \
    X(ADD, ".byte 0xd8, 0xc1")      /* fadd st(0), st(1) */ \
    X(SUB, ".byte 0xd8, 0xe1")      /* fsub st(0), st(1) */ \
    X(MUL, ".byte 0xd8, 0xc9")      /* fmul st(0), st(1) */ \
    X(DIV, ".byte 0xd8, 0xf1")      /* fdiv st(0), st(1) */ \
    X(SQRT, ".byte 0xd9, 0xfa")     /* fsqrt */ \
    X(PREM, ".byte 0xd9, 0xf8")     /* fprem */ \
    X(PREM1, ".byte 0xd9, 0xf5")    /* fprem1 */ \
    X(RNDINT, ".byte 0xd9, 0xfc")   /* frndint */ \
    X(SCALE, ".byte 0xd9, 0xfd")    /* fscale */ \
    X(XTRACT, ".byte 0xd9, 0xf4")   /* fxtract */ \
    X(COM, ".byte 0xd8, 0xd1")      /* fcom st(1) */ \
    X(UCOM, ".byte 0xdd, 0xe1")     /* fucom st(1) */ \
    X(XAM, ".byte 0xd9, 0xe5")      /* fxam */ \
    X(SIN, ".byte 0xd9, 0xfe")      /* fsin */ \
    X(COS, ".byte 0xd9, 0xff")      /* fcos */ \
    X(PTAN, ".byte 0xd9, 0xf2")     /* fptan (pushes 1.0) */ \
    X(PATAN, ".byte 0xd9, 0xf3")    /* fpatan: st(1) = atan(st(1)/st(0)), pop */ \
    X(F2XM1, ".byte 0xd9, 0xf0")    /* f2xm1 */ \
    X(YL2X, ".byte 0xd9, 0xf1")     /* fyl2x: st(1) = st(1)*log2(st(0)), pop */ \
    X(YL2XP1, ".byte 0xd9, 0xf9")   /* fyl2xp1 */ \
    X(LD1, ".byte 0xd9, 0xe8")      /* fld1 */ \
    X(LDL2T, ".byte 0xd9, 0xe9")    /* fldl2t */ \
    X(LDL2E, ".byte 0xd9, 0xea")    /* fldl2e */ \
    X(LDPI, ".byte 0xd9, 0xeb")     /* fldpi */ \
    X(LDLG2, ".byte 0xd9, 0xec")    /* fldlg2 */ \
    X(LDLN2, ".byte 0xd9, 0xed")    /* fldln2 */ \
    X(LDZ, ".byte 0xd9, 0xee")      /* fldz */ \
    X(FST32, "fsts %[m]") \
    X(FST64, "fstl %[m]") \
    X(FIST16, "fists %[m]") \
    X(FIST32, "fistl %[m]") \
    X(FIST64, "fistpll %[m]") \
    X(FISTTP16, "fisttps %[m]") \
    X(FISTTP32, "fisttpl %[m]") \
    X(FISTTP64, "fisttpll %[m]") \
    X(FBSTP, "fbstp %[m]") \
    X(FLD32, "flds %[m]") \
    X(FLD64, "fldl %[m]") \
    X(FBLD, "fbld %[m]")

enum host_op {
#define HOST_ENUM(name, insn) HOST_##name,
    HOST_OPS(HOST_ENUM)
#undef HOST_ENUM
};

struct host_res {
    uint16_t sw;
    fx80 st0, st1;
    uint8_t mem[16];   /* in: the memory operand (also the sentinel); out: as stored */
};

#if FX80_HOST_ORACLE
/* fninit, load, clear, run, capture; fnclex after every capture so no pending
 * unmasked exception reaches a waiting instruction, fninit at the end so the
 * compiler's x87 state (empty stack, default FCW) is restored. */
#define HOST_ASM(insn)                                                                        \
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\tfnclex\n\t" insn      \
                     "\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r0]\n\tfnclex\n\tfstpt %[r1]\n\t"  \
                     "fninit"                                                                  \
                     : [sw] "=m"(r->sw), [r0] "=m"(r->st0), [r1] "=m"(r->st1), [m] "+m"(*mem)  \
                     : [cw] "m"(cw), [a] "m"(a), [b] "m"(b)                                    \
                     : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",   \
                       "st(7)")

static inline void host_run(enum host_op op, uint16_t cw, fx80 a, fx80 b, struct host_res *r)
{
    uint8_t (*mem)[16] = &r->mem;
    memset(&r->st0, 0, sizeof r->st0);
    memset(&r->st1, 0, sizeof r->st1);
    switch (op) {
#define HOST_CASE(name, insn) \
    case HOST_##name: HOST_ASM(insn); break;
        HOST_OPS(HOST_CASE)
#undef HOST_CASE
    }
}
#endif

#endif
