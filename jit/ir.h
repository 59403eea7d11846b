/* ir.h - anyhv's IR: typed SSA over 1..128-bit integers, one translation block at a
 * time. Frontends build it with the ir_* builder; passes, the interpreter tier and the
 * JIT tier consume it. The op list lives in ir_ops.def and nowhere else. */
#ifndef ANYHV_JIT_IR_H
#define ANYHV_JIT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 ir_u128;

/* Value types: the width in bits. */
enum ir_type {
    IR_VOID = 0,
    IR_I1 = 1,
    IR_I8 = 8,
    IR_I16 = 16,
    IR_I32 = 32,
    IR_I64 = 64,
    IR_I128 = 128,
};

enum ir_result_rule { IR_RES_NONE, IR_RES_ARG0, IR_RES_BOOL, IR_RES_EXPL };

enum ir_effect {
    IR_EFF_NONE = 0,
    IR_EFF_READ_STATE = 1u << 0,
    IR_EFF_WRITE_STATE = 1u << 1,
    IR_EFF_MEM_READ = 1u << 2,
    IR_EFF_MEM_WRITE = 1u << 3,
    IR_EFF_MAY_FAULT = 1u << 4,   /* may leave the block mid-way (precise state needed) */
    IR_EFF_ORDER = 1u << 5,       /* never moved or removed */
    IR_EFF_CALL = 1u << 6,        /* effects come from the helper's flags */
    IR_EFF_EXIT = 1u << 7,
    IR_EFF_TERM = 1u << 8,        /* ends the block */
};

enum ir_op {
#define IR_OP(name, result, nargs, effects) IR_##name,
#include "jit/ir_ops.def"
#undef IR_OP
    IR_OP_COUNT
};

struct ir_op_info {
    const char *name;              /* as in ir_ops.def; dumps print it lower-case */
    enum ir_result_rule result;
    uint8_t nargs;
    uint32_t effects;
};
extern const struct ir_op_info ir_op_info[IR_OP_COUNT];
/* True for the ops of ir_ops.def's "Integer vectors" section (lane width in imm). */
bool ir_op_is_vector(unsigned op);

/* LOAD/STORE/CMPXCHG/ATOMIC_RMW imm bits. */
enum ir_mem_flags {
    IR_MEM_SIZE_MASK = 0x1f,      /* access size in bytes: 1, 2, 4, 8, 16 */
    IR_MEM_SIGNED = 1u << 5,      /* LOAD: sign-extend to the result type */
    IR_MEM_FETCH = 1u << 6,       /* instruction fetch (permission and fault kind) */
    IR_MEM_ACQUIRE = 1u << 7,
    IR_MEM_RELEASE = 1u << 8,
    IR_MEM_EXCLUSIVE = 1u << 9,   /* arm64 LDXR/STXR monitor */
    IR_MEM_PRIV_USER = 1u << 10,  /* access checked as unprivileged (arm64 LDTR, x86 implicit user) */
    IR_MEM_NO_ISV = 1u << 11,     /* arm64: syndrome not valid (pairs, vectors) */
};
#define IR_MEM(size) ((uint64_t)(size))

/* ATOMIC_RMW imm2 kinds (old value returned). */
enum ir_rmw_kind { IR_RMW_XCHG, IR_RMW_ADD, IR_RMW_AND, IR_RMW_OR, IR_RMW_XOR,
                   IR_RMW_ANDN, IR_RMW_SMAX, IR_RMW_SMIN, IR_RMW_UMAX, IR_RMW_UMIN };

/* STOP imm reasons; the frontend interprets imm2. */
enum ir_stop_reason {
    IR_STOP_EXCEPTION = 1,  /* raise guest exception imm2 (frontend-defined code) */
    IR_STOP_EXIT = 2,       /* leave to the client: imm2 = enum exit_kind */
    IR_STOP_SYSTEM = 3,     /* state changed what decoding depends on (mode, paging) */
    IR_STOP_HALT = 4,       /* HLT / WFI: wait for an event */
};

/* FP / FPFLAGS (ir_ops.def). A lane is ordinary when its biased exponent lies in
 * [p + 3, emax - 2] (p the precision, emax the largest finite biased exponent): a
 * finite nonzero normal number far from overflow, with room below it for the exact
 * error terms (TwoSum, fma remainders) that decide inexactness. With ordinary
 * operands and results no IEEE exception but inexact can occur, and no guest's NaN,
 * denormal, flush or tininess convention matters. The fallback helper is called as
 * fn(cpu, a, b, imm) for the value and fn(cpu, a, b, imm | IR_FP_WANT_FLAGS) for the
 * flags, a and b zero-extended; the unary kinds ignore b (builders pass a twice).
 *
 * The compare-like kinds (CMP, REL, MIN, MAX) take the ordinary case wider: every lane
 * of both operands *quiet* (a zero, a normal number or an infinity: no NaN, no
 * denormal), and for MIN/MAX not both zeros. There no guest raises any flag (FPFLAGS
 * is 0) and every guest agrees on the result:
 * - CMP: all ones in each lane where the predicate IR_FP_AUX holds, else 0; the
 *   predicate is x86's CMPPS imm8 (0-31), of which the quiet case needs bits 2:0
 *   (0 EQ, 1 LT, 2 LE, 3 false, 4 NE, 5 not LT, 6 not LE, 7 true); the rest (which
 *   NaNs signal, the VEX predicates' unordered answers) is the fallback's business.
 * - REL (scalar formats): enum ir_fp_rel, in an integer result of any width; aux is
 *   the frontend's (x86: 1 = COMIS, which signals on a quiet NaN; arm64: 1 = FCMPE).
 * - MIN/MAX: the smaller/larger operand lane; aux is the frontend's (arm64: 1 = the
 *   NM forms).
 *
 * The conversions between the format and integers: SITOF/UITOF take signed/unsigned
 * integers (arg 0, arg 1 the same value) and round them to nearest; FTOSI/FTOUI give
 * integers, truncated or (IR_FP_CVT_NEAREST) rounded to nearest even. The integer is
 * IR_FP_CVT_64 ? i64 : i32 with a scalar format, lanes of the format's width in an
 * i128 with a packed one. Integer sources are all ordinary (only inexact can happen);
 * a float source is ordinary when its conversion cannot leave the integer's range:
 * magnitude below 2^(n-1) (signed) or 2^n (unsigned, and then not negative), a bit
 * less when rounding to nearest; zeros and denormals (0, inexact) included. */
enum ir_fp_kind { IR_FP_ADD, IR_FP_SUB, IR_FP_MUL, IR_FP_DIV, IR_FP_SQRT, IR_FP_CMP, IR_FP_REL, IR_FP_MIN,
                  IR_FP_MAX, IR_FP_SITOF, IR_FP_UITOF, IR_FP_FTOSI, IR_FP_FTOUI, IR_FP_FMA, IR_FP_KIND_COUNT };
#define IR_FP_CVT_NEAREST 1u   /* aux bits of the conversions */
#define IR_FP_CVT_64 2u
/* FMA: (x * y) + z rounded once, x, y, z the three operands (the only kind with a
 * third), the product and/or the addend negated (aux bits below). Ordinary: x, y, z,
 * the rounded product and the result ordinary; inexactness from an error-free FMA
 * remainder (jit/ir_fp_lane.h). The fallback is called once per lane with the scalar
 * format and z in bits 127:64 of its third argument (above how), so a packed FMA's
 * flags are its lanes' ORed, as both guests define them. */
#define IR_FP_FMA_NEG_PROD 1u
#define IR_FP_FMA_NEG_ADD 2u
enum ir_fp_format { IR_FP_F32, IR_FP_F64, IR_FP_V4F32, IR_FP_V2F64, IR_FP_FORMAT_COUNT };
enum ir_fp_rel { IR_FP_REL_EQ, IR_FP_REL_LT, IR_FP_REL_GT, IR_FP_REL_UN };
#define IR_FP_HOW(kind, format, inexact_bit) \
    ((uint64_t)(kind) | ((uint64_t)(format) << 8) | ((uint64_t)(inexact_bit) << 16))
#define IR_FP_HOW_AUX(kind, format, inexact_bit, aux) (IR_FP_HOW(kind, format, inexact_bit) | ((uint64_t)(aux) << 24))
#define IR_FP_KIND(how) ((unsigned)((how) & 0xff))
#define IR_FP_FORMAT(how) ((unsigned)(((how) >> 8) & 0xff))
#define IR_FP_INEXACT_BIT(how) ((unsigned)(((how) >> 16) & 0x3f))
#define IR_FP_AUX(how) ((unsigned)(((how) >> 24) & 0xff))
#define IR_FP_HOW_BITS 0xff3fffffull   /* the fields above; anything else is invalid */
#define IR_FP_WANT_FLAGS (1ull << 32)
/* The operand/result type of a format; the operand and result types of an FP op (a
 * conversion's integer side, REL's result: IR_VOID, any integer). */
enum ir_type ir_fp_type(unsigned format);
enum ir_type ir_fp_arg_type(uint64_t how);
enum ir_type ir_fp_result_type(uint64_t how);
/* The fast case both tiers share (ir_fp.c): true with *r and *inexact when every lane
 * is ordinary. The interpreter's whole FP/FPFLAGS, fallback included: */
bool ir_fp_fast(uint64_t how, ir_u128 a, ir_u128 b, ir_u128 *r, bool *inexact);
bool ir_fp_fast3(uint64_t how, ir_u128 a, ir_u128 b, ir_u128 c, ir_u128 *r, bool *inexact);
struct ir_fp_memo {   /* the last evaluation (FP and FPFLAGS come in pairs) */
    bool valid;
    uint64_t how, helper;
    ir_u128 a, b, c, value, flags;
};
ir_u128 ir_fp_eval(void *cpu, uint64_t how, uint64_t helper, ir_u128 a, ir_u128 b, bool flags, struct ir_fp_memo *m);
ir_u128 ir_fp_eval3(void *cpu, uint64_t how, uint64_t helper, ir_u128 a, ir_u128 b, ir_u128 c, bool flags,
                    struct ir_fp_memo *m);

/* Most instructions one block may hold (builders fail the block beyond it). Frontends
 * end a block before a guest instruction once it holds IR_BLOCK_SOFT_LIMIT, so a block
 * fails only when memory runs out: no single guest instruction lifts to half the cap. */
#define IR_MAX_INSNS 16384u
#define IR_BLOCK_SOFT_LIMIT (IR_MAX_INSNS / 2u)

typedef uint32_t ir_val;   /* index of the defining instruction + 1; 0 = none */
#define IR_NONE ((ir_val)0)

struct ir_insn {
    uint16_t op;           /* enum ir_op */
    uint8_t type;          /* enum ir_type of the result, IR_VOID if none */
    uint8_t dead;          /* removed by a pass; skipped by the tiers */
    ir_val arg[3];
    uint64_t imm;
    uint64_t imm2;
};

/* A helper callable from IR: plain C, shared by both tiers. */
typedef ir_u128 (*ir_helper_fn)(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c);
enum ir_helper_flags {
    IR_HELPER_PURE = 0,
    IR_HELPER_READS_STATE = 1u << 0,
    IR_HELPER_WRITES_STATE = 1u << 1,  /* on return (one that changes state only to fault needs MAY_FAULT) */
    IR_HELPER_MAY_FAULT = 1u << 2,   /* may end the block (returns via cpu->stop) */
    IR_HELPER_MEM = 1u << 3,         /* touches guest memory */
    /* With WRITES_STATE: it writes only state its frontend's plain_bits calls plain
     * (general registers, FP/SIMD registers): compiled code still re-reads what it
     * caches, but may chain on past it. */
    IR_HELPER_WRITES_PLAIN = 1u << 4,
};
struct ir_helper {
    const char *name;
    ir_helper_fn fn;
    uint32_t flags;
};
/* Register a helper once (frontends do it at startup); returns its id for ir_call(). */
uint32_t ir_helper_register(const struct ir_helper *h);
const struct ir_helper *ir_helper_get(uint32_t id);

struct ir_block {
    struct ir_insn *insns;
    uint32_t count, capacity;
    uint64_t guest_pc;         /* virtual pc of the first instruction */
    uint64_t guest_pa;         /* its guest-physical address (cache key) */
    uint32_t mode_key;         /* frontend mode bits the decoding depended on */
    uint32_t guest_insns;      /* INSN_STARTs in the block */
    uint32_t guest_bytes;      /* bytes of guest code covered (for invalidation) */
    bool failed;               /* out of memory while building */
};

void ir_block_init(struct ir_block *b, uint64_t guest_pc);
void ir_block_reset(struct ir_block *b, uint64_t guest_pc);
void ir_block_free(struct ir_block *b);
static inline struct ir_insn *ir_insn_of(struct ir_block *b, ir_val v) { return &b->insns[v - 1]; }
/* IR_NONE (what a failed builder returns) has no type: callers go on building
 * harmlessly until the frontend sees b->failed. */
static inline enum ir_type ir_type_of(const struct ir_block *b, ir_val v)
{
    return v ? (enum ir_type)b->insns[v - 1].type : IR_VOID;
}

/* Builder: each call appends one instruction and returns its value. */
ir_val ir_emit(struct ir_block *b, enum ir_op op, enum ir_type type, ir_val a0, ir_val a1, ir_val a2,
               uint64_t imm, uint64_t imm2);
ir_val ir_const(struct ir_block *b, enum ir_type t, uint64_t v);
ir_val ir_const128(struct ir_block *b, ir_u128 v);
ir_val ir_get(struct ir_block *b, enum ir_type t, uint32_t offset);
void ir_set(struct ir_block *b, uint32_t offset, ir_val v);
ir_val ir_binop(struct ir_block *b, enum ir_op op, ir_val x, ir_val y);   /* ADD..ROTR, EQ..SLE */
ir_val ir_unop(struct ir_block *b, enum ir_op op, ir_val x);              /* NOT NEG CLZ .. */
ir_val ir_select(struct ir_block *b, ir_val c, ir_val x, ir_val y);
ir_val ir_cast(struct ir_block *b, enum ir_op op, enum ir_type t, ir_val x); /* ZEXT SEXT TRUNC */
ir_val ir_extract(struct ir_block *b, enum ir_type t, ir_val x, unsigned lsb);
ir_val ir_insert(struct ir_block *b, ir_val x, ir_val field, unsigned lsb);
ir_val ir_load(struct ir_block *b, enum ir_type t, ir_val addr, uint64_t memflags, uint64_t info);
void ir_store(struct ir_block *b, ir_val addr, ir_val v, uint64_t memflags, uint64_t info);
ir_val ir_cmpxchg(struct ir_block *b, ir_val addr, ir_val expected, ir_val desired, uint64_t memflags,
                  uint64_t info);
ir_val ir_atomic_rmw(struct ir_block *b, enum ir_rmw_kind k, ir_val addr, ir_val operand, uint64_t memflags);
void ir_fence(struct ir_block *b);
ir_val ir_call(struct ir_block *b, enum ir_type ret, uint32_t helper, ir_val a0, ir_val a1, ir_val a2);
void ir_insn_start(struct ir_block *b, uint64_t pc, unsigned length);
void ir_exit_if(struct ir_block *b, ir_val cond, uint64_t target_pc);
/* If cond: fault at the open instruction (STOP IR_STOP_EXCEPTION, detail). */
void ir_trap_if(struct ir_block *b, ir_val cond, uint64_t detail);
void ir_jump(struct ir_block *b, uint64_t target_pc);
void ir_jump_ind(struct ir_block *b, ir_val target_pc);
void ir_branch(struct ir_block *b, ir_val cond, uint64_t taken_pc, uint64_t not_taken_pc);
void ir_stop(struct ir_block *b, enum ir_stop_reason reason, uint64_t detail);
bool ir_block_terminated(const struct ir_block *b);
/* FP / FPFLAGS (see IR_FP_HOW above; t is the flag field's type). */
ir_val ir_fp(struct ir_block *b, uint64_t how, uint32_t helper, ir_val x, ir_val y);
ir_val ir_fp_flags(struct ir_block *b, enum ir_type t, uint64_t how, uint32_t helper, ir_val x, ir_val y);
ir_val ir_fp_fma(struct ir_block *b, uint64_t how, uint32_t helper, ir_val x, ir_val y, ir_val z);
ir_val ir_fp_fma_flags(struct ir_block *b, enum ir_type t, uint64_t how, uint32_t helper, ir_val x, ir_val y, ir_val z);

/* Checks types, operand counts, use-before-def and termination; on failure writes a
 * message to err (if given) and returns false. */
bool ir_verify(const struct ir_block *b, char *err, size_t errlen);
/* Text form, one instruction a line: "v3:i32 = add v1, v2". Returns bytes written. */
size_t ir_dump(const struct ir_block *b, char *out, size_t outlen);

/* Passes. flag_offsets lists state offsets whose values are dead at block exits unless
 * read (x86 flags), see ir_pass_dead_flags. */
void ir_pass_const_fold(struct ir_block *b);
void ir_pass_dead_code(struct ir_block *b);
void ir_pass_forward_state(struct ir_block *b);
void ir_pass_dead_flags(struct ir_block *b, const uint32_t *flag_offsets, size_t n);
/* The same dead-write rule for every state offset (flags or not). */
void ir_pass_dead_sets(struct ir_block *b);
void ir_optimize(struct ir_block *b, const uint32_t *flag_offsets, size_t n);

#endif /* ANYHV_JIT_IR_H */
