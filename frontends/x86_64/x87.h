/* x87.h - the x87 FPU of the x86 frontend: how the lifter (lift_x87.c) describes one
 * instruction to the one x87 helper (x87_exec.c), and the register-stack, tag-word and
 * status-word operations (x87_state.c) and environment images (x87_env.c) it uses.
 * The arithmetic itself is fx80.h. ST(i) lives in fpu.st[i] (FXSAVE order, relative
 * to TOP); the tag bits in fpu.ftw are per physical register, as FXSAVE keeps them. */
#ifndef ANYHV_FRONTENDS_X86_64_X87_H
#define ANYHV_FRONTENDS_X86_64_X87_H

#include "frontends/x86_64/fx80.h"
#include "frontends/x86_64/x86_fe.h"

/* FSW fields. */
#define X87_FSW_EXC 0x3fu            /* IE DE ZE OE UE PE */
#define X87_FSW_SF (1u << 6)
#define X87_FSW_ES (1u << 7)
#define X87_FSW_C0 (1u << 8)
#define X87_FSW_C1 (1u << 9)
#define X87_FSW_C2 (1u << 10)
#define X87_FSW_TOP_SHIFT 11
#define X87_FSW_TOP (7u << 11)
#define X87_FSW_C3 (1u << 14)
#define X87_FSW_B (1u << 15)
#define X87_FSW_CC (X87_FSW_C0 | X87_FSW_C1 | X87_FSW_C2 | X87_FSW_C3)
/* FCW fields. */
#define X87_FCW_MASKS 0x3fu
#define X87_FCW_PC_SHIFT 8
#define X87_FCW_RC_SHIFT 10
#define X87_FCW_INIT 0x037fu
#define X87_FCW_RESERVED1 0x0040u    /* bit 6 reads as 1 on every x87 since the 387 */
#define X87_FCW_WRITABLE 0x1f3fu     /* masks, PC, RC and the infinity bit (12) */
/* Full tag word values. */
enum x87_tag { X87_TAG_VALID = 0, X87_TAG_ZERO = 1, X87_TAG_SPECIAL = 2, X87_TAG_EMPTY = 3 };

/* What one instruction does (lift_x87.c's tables name an op, a memory format and
 * flags for every encoding). Arithmetic ops compute ST(0) op operand. */
enum x87_op {
    X87_INVALID = 0,
    X87_ADD, X87_MUL, X87_COM, X87_SUB, X87_SUBR, X87_DIV, X87_DIVR,
    X87_LD, X87_ST, X87_LDCONST, X87_XCH, X87_CHS, X87_ABS, X87_TST, X87_XAM,
    X87_SQRT, X87_RNDINT, X87_SCALE, X87_XTRACT, X87_PREM, X87_PREM1,
    X87_SIN, X87_COS, X87_SINCOS, X87_PTAN, X87_PATAN, X87_F2XM1, X87_YL2X, X87_YL2XP1,
    X87_COMI, X87_FCMOV, X87_FREE, X87_INCSTP, X87_DECSTP, X87_NOP,
    X87_LDCW, X87_STCW, X87_STSW, X87_CLEX, X87_INIT, X87_WAIT,
    X87_LDENV, X87_STENV, X87_SAVE, X87_RSTOR,
    X87_OP_COUNT
};

/* Operand formats: a register ST(i), or memory of one of these shapes. */
enum x87_fmt {
    X87_F_NONE = 0, X87_F_ST, X87_F_F32, X87_F_F64, X87_F_F80, X87_F_I16, X87_F_I32, X87_F_I64,
    X87_F_BCD, X87_F_M16, X87_F_AX, X87_F_ENV, X87_F_SAVE,
};

/* Flags of an encoding. */
enum {
    X87_FL_POP = 1u << 0,        /* pop once after */
    X87_FL_POP2 = 1u << 1,       /* pop twice (FCOMPP, FUCOMPP) */
    X87_FL_DEST_STI = 1u << 2,   /* the result goes to ST(i), not ST(0) */
    X87_FL_QUIET = 1u << 3,      /* unordered compare: only SNaN raises IE */
    X87_FL_TRUNC = 1u << 4,      /* FISTTP: truncate, whatever RC says */
    X87_FL_NOWAIT = 1u << 5,     /* FN* forms: no pending-exception check */
    X87_FL_CONTROL = 1u << 6,    /* control instruction: FIP/FDP/FOP not updated */
    X87_FL_NCE = 1u << 7,        /* FSTP1 (D9 D8+i): an empty ST(0) is just popped, no fault */
};

/* The helper's first argument, packed by the lifter. */
#define X87_D_OP(d) ((unsigned)(d) & 0xffu)
#define X87_D_FMT(d) (((unsigned)(d) >> 8) & 0xfu)
#define X87_D_STI(d) (((unsigned)(d) >> 12) & 7u)
#define X87_D_FLAGS(d) (((unsigned)(d) >> 16) & 0xffu)
#define X87_D_SEG(d) (((unsigned)((d) >> 24)) & 7u)
#define X87_D_OPSIZE16 (1ull << 27)  /* 16-bit operand size: 14/94-byte env images */
#define X87_D_MEM (1ull << 28)       /* has a memory operand */
#define X87_D_AUX(d) (((unsigned)((d) >> 29)) & 7u)   /* FCMOVcc condition, FLDxx constant */
#define X87_D_FOP(d) ((unsigned)((d) >> 32) & 0x7ffu)
#define X87_DESC(op, fmt, sti, flags, seg, aux)                                                          \
    ((uint64_t)(op) | ((uint64_t)(fmt) << 8) | ((uint64_t)(sti) << 12) | ((uint64_t)(flags) << 16) |   \
     ((uint64_t)(seg) << 24) | ((uint64_t)(aux) << 29))
#define X87_DESC_FOP(fop) ((uint64_t)(fop) << 32)

/* The helper (registered by x87_helpers_register): a0 = descriptor, a1 = linear
 * address of the memory operand, a2 = its offset in the segment (for FDP). */
extern uint32_t x87_helper_id;
void x87_helpers_register(void);

/* ---- register stack, tags, status (x87_state.c) ---- */
unsigned x87_top(const struct x86_fpu *f);
bool x87_empty(const struct x86_fpu *f, unsigned i);        /* ST(i) */
fx80 x87_get(const struct x86_fpu *f, unsigned i);
void x87_set(struct x86_fpu *f, unsigned i, fx80 v);        /* and tag it valid */
void x87_push(struct x86_fpu *f, fx80 v);                   /* TOP-1, ST(0) = v */
void x87_pop(struct x86_fpu *f);                            /* tag ST(0) empty, TOP+1 */
void x87_free(struct x86_fpu *f, unsigned i);               /* tag ST(i) empty */
void x87_rotate(struct x86_fpu *f, int by);                 /* TOP += by, tags kept */
void x87_set_top(struct x86_fpu *f, unsigned top);          /* the same, to a given TOP */
enum x87_tag x87_tag_of(const struct x86_fpu *f, unsigned phys);
uint16_t x87_full_tag_word(const struct x86_fpu *f);
void x87_load_full_tag_word(struct x86_fpu *f, uint16_t tw);
/* ES and B from the exception flags and masks. */
void x87_update_summary(struct x86_fpu *f);
void x87_set_cc(struct x86_fpu *f, unsigned c3c2c1c0_bits);  /* X87_FSW_C* bits */
struct fx80_env x87_env_of(const struct x86_fpu *f);
void x87_init(struct x86_state *st);                        /* FNINIT */
fx80 x87_read80(const uint8_t b[10]);
void x87_write80(uint8_t b[10], fx80 v);

/* ---- environment images (x87_env.c) ---- */
/* Bytes of an FNSTENV image (14 or 28) for the mode and operand size. */
unsigned x87_env_size(bool opsize16);
void x87_env_store(const struct x86_state *st, bool opsize16, uint8_t *out);
void x87_env_load(struct x86_state *st, bool opsize16, const uint8_t *in);

#endif /* ANYHV_FRONTENDS_X86_64_X87_H */
