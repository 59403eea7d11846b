/* engine.h - LLVM ORC behind a narrow interface: one LLJIT per VM, target machines
 * per optimisation level, and units (one module's code, freed through its resource
 * tracker). Called by the tier manager (jit/tier.c) under its engine lock. */
#ifndef ANYHV_JIT_LLVM_ENGINE_H
#define ANYHV_JIT_LLVM_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jit/jit.h"

/* CPU time of the calling thread: compile cost is measured in it, what the compiler
 * costs whatever else the machine is doing. */
static inline uint64_t jit_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t jit_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A block as the compile thread sees it: a private copy of its program, and the
 * addresses its code refers to (they outlive the code: see jit_block_release). */
struct em_block {
    struct interp_prog prog;
    struct jit_block_info info;
    struct jit_chain *chain;    /* cells, one per direct exit (jit_direct_exits) */
    struct jit_vcpu_ctx *ctx;
    void *self;                 /* the translated block (published as the running one) */
};

/* One compiled function: a block, or a region of blocks whose direct exits to one
 * another stay inside the function (member 0 is the entry). With cache_state, guest
 * state the members read and write lives in SSA values between the points where
 * something outside the function could look at it. */
struct em_func {
    const struct em_block *member;
    uint32_t n;
    bool cache_state;
    uint32_t *heat;             /* counted on every edge back to member 0, or NULL */
    bool heat_at_exits;         /* a block alone: counted on every exit instead */
    uint32_t heat_limit;        /* the trip that returns to the dispatcher (promotion) */
};

enum llvm_opt { LLVM_OPT_WARM, LLVM_OPT_HOT, LLVM_OPT_COUNT };

struct llvm_engine;
struct llvm_unit;

/* NULL with a message in err (static storage) when LLVM cannot start. */
struct llvm_engine *llvm_engine_create(const char **err);
void llvm_engine_destroy(struct llvm_engine *e);

/* Compile n functions into one unit; fns[i] gets function i's code (NULL when it was
 * refused). Returns the unit (NULL when nothing compiled); *code_bytes the object's
 * size. */
struct llvm_unit *llvm_compile(struct llvm_engine *e, const struct em_func *const *funcs, unsigned n,
                               enum llvm_opt opt, jit_fn *fns, size_t *code_bytes);
/* Free a unit's code: nothing may run it or chain into it any more. */
void llvm_unit_free(struct llvm_engine *e, struct llvm_unit *u);

bool llvm_supported(void);

/* Compiled blocks use LLVM's preserve_none convention (CallingConv::PreserveNone, which
 * the C API has no name for): a block keeps no callee-saved register, so chaining from
 * block to block costs no prologue. C enters them through the engine's entry thunk. */
#define LLVM_BLOCK_CALLCONV 21u
typedef uint32_t (*jit_enter_fn)(jit_fn fn, struct soft_cpu *cpu, uint8_t *state);
/* The entry thunk (C convention): calls fn(cpu, state) and returns its result. */
jit_enter_fn llvm_engine_enter(const struct llvm_engine *e);

#endif /* ANYHV_JIT_LLVM_ENGINE_H */
