/* x86_evex.h - AVX-512 in the x86 frontend: EVEX-encoded instructions (F, BW, DQ, VL
 * subsets listed in avx512_ops.def) and the VEX-encoded opmask instructions (K*).
 * decode_evex.c decodes them from the bytes itself (Capstone 4.0.2 gives EVEX forms
 * VEX ids and no masking, broadcast or disp8*N facts); lift_avx512.c hands each to
 * one state helper, avx512_exec.c, which runs it on the ZMM and opmask registers
 * (struct x86_fpu and struct x86_zmm) through the soft MMU, element by element where a mask can suppress
 * faults. docs/x86-frontend.md "AVX-512" lists what exists. */
#ifndef ANYHV_FRONTENDS_X86_64_X86_EVEX_H
#define ANYHV_FRONTENDS_X86_64_X86_EVEX_H

#include "frontends/x86_64/x86_fe.h"

/* Execution kinds (avx512_exec.c). */
enum evex_kind {
    EK_MOV_LOAD,     /* reg <- reg/mem, masked */
    EK_MOV_STORE,    /* mem <- reg, masked (no zeroing) */
    EK_INT,          /* reg <- vvvv op rm, element-wise integer (arg: enum evex_int) */
    EK_TERNLOG,      /* reg <- ternary logic (reg, vvvv, rm) by imm8 */
    EK_CMP,          /* k <- vvvv cmp rm (arg: enum evex_cmp), masked by k[aaa] */
    EK_BCAST,        /* reg <- element 0 of xmm/mem broadcast */
    EK_BCAST_GPR,    /* reg <- a GPR's low element broadcast */
    EK_MOVD_IN,      /* xmm reg <- r/m32 (W0) or r/m64 (W1), the rest zeroed */
    EK_MOVD_OUT,     /* r/m32 or r/m64 <- xmm reg's low element */
    EK_SHIFT_IMM,    /* vvvv <- rm shifted/rotated by imm8 (arg: enum evex_shift; ModRM.reg is the opcode) */
    EK_PERM2,        /* VPERMI2 (arg 0: reg holds indices) / VPERMT2 (arg 1: vvvv does) over two tables */
    EK_PERM1,        /* VPERMD/Q: reg <- rm's elements indexed by vvvv */
    EK_CONFLICT,     /* VPCONFLICTD/Q */
    EK_PSHUFB,       /* bytes of vvvv by rm's indices, within each 128-bit lane */
    EK_PSHUFD,       /* dwords of rm by imm8, within each 128-bit lane */
    EK_VALIGN,       /* VALIGND/Q: (vvvv:rm) shifted right by imm8 elements */
    /* VEX opmask instructions */
    KK_LOGIC,        /* k <- k op k (arg: enum evex_klogic) */
    KK_NOT,
    KK_MOV,          /* k <- k/mem */
    KK_MOV_STORE,    /* mem <- k */
    KK_MOV_FROM_GPR, /* k <- r32/r64 */
    KK_MOV_TO_GPR,   /* r32/r64 <- k */
    KK_ORTEST,
    KK_TEST,
    KK_SHIFTL,
    KK_SHIFTR,
    KK_UNPCK,
};

enum evex_int {
    EI_ADD, EI_SUB, EI_AND, EI_ANDN, EI_OR, EI_XOR, EI_MINU, EI_MAXU, EI_MINS, EI_MAXS,
    EI_MULLO, EI_ADDS, EI_ADDUS, EI_SUBS, EI_SUBUS, EI_AVGU,
    EI_ABS, EI_LZCNT,        /* unary: of the rm operand */
};
enum evex_cmp {
    EC_EQ, EC_GT,            /* VPCMPEQ / VPCMPGT (signed) */
    EC_PRED_S, EC_PRED_U,    /* VPCMP / VPCMPU with the imm8 predicate */
    EC_TESTM, EC_TESTNM,
};
enum evex_shift { ES_ROR, ES_ROL, ES_SRL, ES_SRA, ES_SLL };
enum evex_klogic { KL_AND, KL_ANDN, KL_OR, KL_XOR, KL_XNOR, KL_ADD };

/* Memory tuple types: what disp8 is scaled by (N). */
enum evex_tuple {
    TT_NONE,   /* no disp8 scaling (VEX forms) */
    TT_FV,     /* full vector, broadcast allowed: N = VL/8, or the element size with EVEX.b */
    TT_FVM,    /* full vector memory: N = VL/8 */
    TT_T1S,    /* one element: N = the element size */
};

enum evex_flag {
    EF_ALIGNED = 1u << 0,   /* the memory operand must be VL-aligned (#GP) */
    EF_NOVVVV = 1u << 1,    /* no vvvv operand: EVEX.vvvv must be 1111 and V' 1 */
    EF_IMM8 = 1u << 2,
    EF_NOMASK = 1u << 3,    /* opmask instructions (VEX) */
    EF_REGONLY = 1u << 4,   /* ModRM.mod must be 11 */
    EF_MEMONLY = 1u << 5,   /* ModRM.mod must not be 11 */
    EF_W64GPR = 1u << 6,    /* a GPR operand is 64-bit with W1 (else 32) */
    EF_NOAAA = 1u << 7,     /* no masking: EVEX.aaa and EVEX.z must be 0 */
    EF_L0 = 1u << 8,        /* EVEX.L'L must be 0 (128-bit only) */
    EF_NOT128 = 1u << 9,    /* EVEX.L'L must not be 0 (no 128-bit form) */
};

/* One row of avx512_ops.def. esize 0: 4 bytes with W0, 8 with W1. w: 0, 1, or 2 (ignored). */
struct evex_row {
    const char *name;
    uint8_t vex;      /* 1: VEX-encoded opmask instruction; 0: EVEX */
    uint8_t map;      /* 1: 0F, 2: 0F38, 3: 0F3A */
    uint8_t pp;       /* 0: none, 1: 66, 2: F3, 3: F2 */
    uint8_t opc;
    uint8_t w;
    uint8_t l;        /* VEX rows: the L the form needs */
    uint8_t kind;     /* enum evex_kind */
    uint8_t arg;
    uint8_t esize;    /* bytes; 0 = by W */
    uint8_t tuple;    /* enum evex_tuple */
    uint16_t flags;   /* enum evex_flag */
    uint8_t ext;      /* ModRM.reg the form needs (group opcodes), or EVEX_NO_EXT */
};
#define EVEX_NO_EXT 0xffu
extern const struct evex_row x86_evex_rows[];
extern const unsigned x86_evex_row_count;

/* A decoded EVEX (or VEX opmask) instruction; the memory operand is o[0] of the
 * dinsn (disp already scaled by N). */
struct x86_evex {
    uint16_t row;     /* index into x86_evex_rows */
    uint8_t w, ll, b, z, aaa;
    uint8_t reg, vvvv, rm;   /* 0..31 (opmask forms: 0..7; rm/reg may be GPRs) */
    bool mem;
    uint8_t imm;
    uint8_t esize;    /* element bytes */
};

/* Decode bytes as an EVEX instruction or a VEX opmask instruction. Returns 1 when it
 * is one of them and *out holds it (out->op X86_I_EVEX, o[0] the memory operand),
 * 0 when it is one of them but undefined (#UD), -1 when the bytes are something else
 * (Capstone's). ev may be NULL. */
int x86_decode_evex(enum x86_code_size mode, const uint8_t *bytes, unsigned n, struct x86_dinsn *out,
                    struct x86_evex *ev);

/* The helper (avx512_exec.c): how packs struct x86_evex and the address context. */
extern const struct ir_helper x86_evex_helper;
#define EVX_ROW_SHIFT 0      /* 8 bits */
#define EVX_REG_SHIFT 8      /* 5 */
#define EVX_VVVV_SHIFT 13    /* 5 */
#define EVX_RM_SHIFT 18      /* 5 */
#define EVX_LL_SHIFT 23      /* 2 */
#define EVX_B_SHIFT 25
#define EVX_Z_SHIFT 26
#define EVX_AAA_SHIFT 27     /* 3 */
#define EVX_MEM_SHIFT 30
#define EVX_W_SHIFT 31
#define EVX_IMM_SHIFT 32     /* 8 */
#define EVX_SEG_SHIFT 40     /* 3 */
#define EVX_ADDR32_SHIFT 43
#define EVX_LONG_SHIFT 44    /* 64-bit mode: 32 registers */
uint64_t x86_evex_pack(const struct x86_evex *ev, unsigned seg, bool addr32, bool long_mode);

/* After a VEX instruction wrote XMM/YMM register o[0]: bits 511:256 zero, as VEX
 * forms do on a processor with AVX-512 (only while AVX-512 is on: lift_avx512.c). */
void x86_avx512_vex_upper(struct x86_ctx *c);

#endif /* ANYHV_FRONTENDS_X86_64_X86_EVEX_H */
