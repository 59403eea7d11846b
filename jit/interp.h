/* interp.h - tier 0: the IR interpreter. A verified block is pre-decoded once into
 * a compact program (dead instructions dropped, widths and masks precomputed) that
 * runs directly on the vCPU's state struct. */
#ifndef ANYHV_JIT_INTERP_H
#define ANYHV_JIT_INTERP_H

#include <stdbool.h>
#include <stdint.h>

#include "jit/ir.h"

struct soft_cpu;

/* Pre-decoded opcodes: every IR op, then specialised forms the compiler picks for
 * the common cases (fixed widths, no masking, first/next instruction marker). */
enum interp_op {
    IX_BASE = IR_OP_COUNT - 1,
    IX_GET64,             /* get of an i64 */
    IX_SET64,             /* set of an i64 */
    IX_ADD64,
    IX_SUB64,
    IX_AND64,
    IX_OR64,
    IX_XOR64,
    IX_INSN_NEXT,         /* insn_start after the block's first one: always retires one */
    IX_OP_COUNT
};

struct interp_insn {
    uint16_t op;          /* enum ir_op or enum interp_op */
    uint8_t w;            /* result width in bits (operand width for stores/sets) */
    uint8_t aw;           /* width of operand 0 */
    uint32_t dst;         /* value slot written */
    uint32_t a, b, c;     /* value slots read (0 = none) */
    /* The interpreter's view (the compiled tier reads op): xop is what it dispatches
     * on, op or a form private to interp.c (one that also steps over the next
     * instruction marker, for one). insn: which guest instruction of the block this
     * belongs to, 1-based (0: before the first marker), which is all that syncing the
     * icount and the open instruction needs (interp_prog.starts finds its marker), so
     * markers themselves do nothing when run. */
    uint16_t xop;
    uint16_t insn;
    uint64_t imm, imm2;
    uint64_t mask;        /* low-64 mask of the result width */
};

/* A compiled block owns its value slots: constants are written there once at
 * compile time and never executed; a block is run by one vCPU at a time. */
struct interp_prog {
    struct interp_insn *code;
    uint32_t count;       /* instructions */
    uint32_t nvals;       /* value slots (slot 0 is an unused zero) */
    ir_u128 *vals;
    uint8_t *width;       /* bits of each slot's value (the compiled tier types them) */
    uint8_t *is_const;    /* 1 for slots holding a constant (never written by code) */
    uint32_t entry;       /* first instruction the interpreter runs (past leading markers) */
    uint32_t *starts;     /* [k]: index in code of guest instruction k's marker (k >= 1) */
    void *native;         /* the program as host code (interp_x64.c), or NULL */
    uint32_t native_bytes;
    uint32_t runs;        /* runs so far, toward the native form */
};

/* How a program left. */
enum interp_result {
    INTERP_EXIT = 0,      /* a block exit: the pc is set, the next block may run */
    INTERP_STOP = 1,      /* a STOP terminator: cpu->stop_reason/stop_detail say which */
};

/* Pre-decode b. Fails (false) on an invalid block or a state offset beyond
 * state_size, so a bad frontend cannot make the interpreter touch other memory. */
bool interp_compile(const struct ir_block *b, uint32_t state_size, struct interp_prog *out);
void interp_prog_free(struct interp_prog *p);

/* Run p on cpu. Guest faults unwind through cpu->unwind. A program that keeps
 * running gets its native form (interp_native_after). */
enum interp_result interp_run(struct soft_cpu *cpu, struct interp_prog *p);

/* The native form: p's instructions as host code that runs the same handlers on the
 * same slots without the dispatch loop (x86-64 hosts; false elsewhere, or without
 * memory). interp_run uses it once it exists; interp_prog_free frees it. */
bool interp_native_compile(struct interp_prog *p);
void interp_native_free(struct interp_prog *p);
/* Runs of a program before it gets its native form: ANYHV_INTERP_NATIVE=N (0: at
 * once), =off never; default INTERP_NATIVE_AFTER. */
#define INTERP_NATIVE_AFTER 4u
uint32_t interp_native_after(void);

/* Evaluate pure op `in` of block b on constant operands (for constant folding);
 * false for ops with effects. */
bool interp_eval_pure(const struct ir_block *b, const struct ir_insn *in, const ir_u128 args[3], ir_u128 *out);

/* One pure binary op of width w on a and b, by the interpreter's code (the compiled
 * tier's 128-bit division and high multiply). */
ir_u128 interp_eval_op(enum ir_op op, unsigned w, ir_u128 a, ir_u128 b);

/* The instruction defining each value slot of p (index + 1; 0 for constants and
 * unused slots), calloc'd: the caller frees it. NULL without memory. */
uint32_t *interp_defs(const struct interp_prog *p);
/* The bits of value `slot` that may differ from the state field the block read at
 * (off, width w): 0 for that GET itself, ~0 when the value does not derive from it.
 * Follows INSERT, AND/OR with a constant and SELECT (prog_bits.c). */
uint64_t interp_changed_bits(const struct interp_prog *p, const uint32_t *def, uint32_t slot, uint64_t off,
                             unsigned w);

/* Guest atomics on host memory (interp_atomic.c), shared with the later JIT tier:
 * the old value; access carries MMU_* kind and user bits. */
ir_u128 interp_cmpxchg(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info,
                       ir_u128 expected, ir_u128 desired);
ir_u128 interp_rmw(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, enum ir_rmw_kind kind,
                   ir_u128 operand);

#endif /* ANYHV_JIT_INTERP_H */
