/* jit.h - tier 1, compiled code, behind the same program the interpreter runs: a
 * block's pre-decoded interp_prog is lowered to LLVM IR, compiled with LLVM ORC on a
 * background thread per VM (or at once in eager mode) and installed into the block
 * by the vCPU's own thread. The dispatcher sees only this header; LLVM stays inside
 * jit/llvm/, and a build without it has the interpreter alone (jit_supported false). */
#ifndef ANYHV_JIT_JIT_H
#define ANYHV_JIT_JIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "jit/interp.h"

struct soft_cpu;

/* ANYHV_JIT: off (interpreter only), on (tiered, the default), eager (every block
 * compiled the first time it runs, synchronously: for tests). */
enum jit_mode { JIT_MODE_OFF, JIT_MODE_ON, JIT_MODE_EAGER };
enum jit_mode jit_mode_from_env(void);
/* Whether this build and host can compile (LLVM linked and its target initialised). */
bool jit_supported(void);

/* Compiled code of one block: returns an enum interp_result, exactly as interp_run
 * would for the same state. */
typedef uint32_t (*jit_fn)(struct soft_cpu *cpu, uint8_t *state);

/* Direct chaining: a compiled block ending in a direct jump to pc tail-calls the
 * successor's code through one of these cells when the cell is current. The
 * dispatcher fills a cell when it sees the exit taken; every event that could make a
 * successor stale (a freed block, a TLB flush, a new run, an invalidated code page or
 * a stage-2 change) moves an epoch, which empties every cell at once. */
struct jit_chain {
    jit_fn fn;                 /* successor's code, or NULL */
    uint64_t epoch;            /* the vCPU's chain epoch when filled */
    uint64_t vm_epoch;         /* the VM's code epoch when filled */
    uint64_t insns;            /* successor's guest instructions (budget check) */
    void *blk;                 /* successor's block, published as the running one */
};

/* Indirect branches (returns, computed jumps) leave compiled code through a per-vCPU
 * cache of recent targets: the same conditions as a chain cell, plus the mode. */
#define JIT_JCACHE_SIZE 1024u
struct jit_jcache_entry {
    uint64_t pc;
    jit_fn fn;
    uint64_t epoch, vm_epoch, insns;
    void *blk;
    uint64_t mode;
};
static inline uint32_t jit_jcache_index(uint64_t pc)
{
    return (uint32_t)((pc ^ (pc >> 10)) >> 1) & (JIT_JCACHE_SIZE - 1);
}

/* What compiled code reads from the dispatcher (addresses baked into the code:
 * compiled code is per vCPU). */
struct jit_vcpu_ctx {
    uint64_t chain_epoch;            /* bumped by the vCPU thread (see jit_chain) */
    uint64_t chain_epoch_page;       /* the same less TLB flushes: the epoch of cells from
                                      * a one-page block to its own guest page (a block
                                      * running there has a current mapping of it) */
    const _Atomic uint64_t *vm_epoch;/* the VM's code epoch */
    const _Atomic uint32_t *requests;/* the vCPU's request bits: any set stops chaining */
    void **running;                  /* where the dispatcher keeps the running block
                                      * (self-modifying-code checks need it) */
    uint32_t chain_left;             /* chained blocks left before a dispatcher visit */
    uint32_t last_exit;              /* direct exit a compiled block left by (cell index)
                                      * or JIT_EXIT_NONE */
    _Atomic uint32_t ready;          /* set by the compile thread: code waits to be
                                      * installed (jit_install_ready) */
    uint64_t replaced;               /* blocks whose code was replaced (promotions): part
                                      * of the chain epoch, so no cell keeps old code */
    struct jit_jcache_entry *jcache; /* JIT_JCACHE_SIZE entries, or NULL */
};
#define JIT_EXIT_NONE 0xffffffffu
#define JIT_EXIT_INDIRECT 0xfffffffeu   /* last_exit: left by an indirect branch */
/* Blocks chained between two dispatcher visits (deadline and event checks). */
#define JIT_CHAIN_MAX 256u

/* The part of a translated block the compiled tier owns. */
struct jit_block {
    _Atomic(jit_fn) fn;        /* installed code, or NULL while interpreted */
    struct jit_chain *chain;   /* one cell per direct exit, in exit order */
    uint64_t *chain_pc;        /* the target pc of each cell */
    uint32_t nchain;
    uint32_t state;            /* enum jit_block_state */
    struct jit_unit *unit;     /* the compiled batch holding fn (freed with its last block) */
    struct jit_request *req;   /* pending request, cancelled if the block goes first */
    uint32_t heat;             /* a warm region's trips back to its head, a warm block's runs (counted by its code) */
    uint32_t heat_limit;       /* count after which it is worth optimising */
    uint8_t level;             /* enum jit_level of the installed code */
    bool in_region;            /* a non-head member of some region: compiled alone */
};
enum jit_block_state { JIT_BLOCK_COLD, JIT_BLOCK_QUEUED, JIT_BLOCK_COMPILED, JIT_BLOCK_FAILED };
/* How a block's code was made: a block alone (O0), a region with its state in SSA
 * values (O0: cheap, so loops leave the interpreter early), or a region through the
 * optimising pipeline (when its heat says the cost will be repaid). */
enum jit_level { JIT_LEVEL_NONE, JIT_LEVEL_BLOCK, JIT_LEVEL_REGION, JIT_LEVEL_HOT };

/* Per-VM compiler (lazily starts LLVM and its thread on the first request). */
struct jit_engine;
struct jit_engine *jit_engine_create(enum jit_mode mode);
void jit_engine_destroy(struct jit_engine *e);
enum jit_mode jit_engine_mode(const struct jit_engine *e);
/* Around a fork(2) (anyhv_vm_fork): pause returns once the compile thread, if any, waits
 * between batches (after the one in progress), holding no lock of its own, LLVM's or the
 * allocator's, and keeps it there until resume. The child, which has no such thread,
 * never resumes. */
void jit_engine_pause(struct jit_engine *e);
void jit_engine_resume(struct jit_engine *e);

/* Per-vCPU side: its queue of finished compilations and its statistics. */
struct jit_vcpu;
struct jit_vcpu *jit_vcpu_create(struct jit_engine *e, struct jit_vcpu_ctx *ctx);
void jit_vcpu_destroy(struct jit_vcpu *v);

/* Everything the emitter needs to know about a block besides its program. */
struct jit_block_info {
    uint64_t pc;
    uint32_t mode;
    uint32_t guest_insns;
    bool chainable;            /* nothing in it can change the mode key or events */
    bool one_page;             /* its code lies in one guest page */
    int32_t pc_offset;         /* state offset of a 64-bit field holding the pc as is
                                * in this mode, or -1: set_pc stores it */
    void (*set_pc)(struct soft_cpu *cpu, uint64_t pc);
};

/* Whether the chain cell from a block at pc (one_page as in jit_block_info) to target
 * uses chain_epoch_page rather than chain_epoch. */
static inline bool jit_cell_in_page(uint64_t pc, bool one_page, uint64_t target)
{
    return one_page && ((pc ^ target) >> 12) == 0;
}

/* The direct exits of a program (JUMP, each side of BRANCH, EXIT_IF) in program
 * order: one chain cell each. Writes up to max target pcs; returns the count. */
uint32_t jit_direct_exits(const struct interp_prog *p, uint64_t *pcs, uint32_t max);

/* One block of a compile request. */
struct jit_member {
    struct jit_block *jb;
    const struct interp_prog *prog;
    struct jit_block_info info;
    void *self;                /* its translated block (see jit_vcpu_ctx.running) */
};
/* Ask for code for member[0]'s block (background in ON mode; at once in EAGER mode,
 * where it is installed before this returns) at a level: JIT_LEVEL_BLOCK, a function
 * for that block alone; JIT_LEVEL_REGION or HOT, a region: the members' direct exits
 * to one another stay inside one function with guest state in SSA values, and the
 * code counts its trips back to the head (jit_block.heat). A cold block may ask for
 * any level; a block with code only for a higher one (its code is replaced when the
 * new code is installed). Programs are copied. False when nothing was queued. */
bool jit_request(struct jit_vcpu *v, const struct jit_member *member, uint32_t n, enum jit_level level);
/* Run compiled code (fn as installed in a block of this vCPU) from C: blocks use a
 * calling convention of their own, entered through the engine's thunk. */
uint32_t jit_call(const struct jit_vcpu *v, jit_fn fn, struct soft_cpu *cpu, uint8_t *state);
/* Install what the compile thread finished for this vCPU (vCPU thread only). Cheap
 * when nothing is pending. */
void jit_install_ready(struct jit_vcpu *v);
/* A block is being freed: cancel its request and release its code. */
void jit_block_release(struct jit_vcpu *v, struct jit_block *blk);

struct jit_stats {
    uint64_t blocks_compiled, blocks_failed, units, compile_ns, code_bytes, units_freed, promoted;
};
void jit_vcpu_stats(const struct jit_vcpu *v, struct jit_stats *out);

/* Runtime entry points compiled code calls (jit_rt.c): the memory slow paths and the
 * operations kept out of line. They share the interpreter's helpers. */
ir_u128 jit_rt_load(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info);
void jit_rt_store(struct soft_cpu *cpu, uint64_t va, ir_u128 value, uint32_t size, uint32_t access, uint64_t info);
/* The same for accesses of up to 8 bytes (little-endian, as the 128-bit ones). */
uint64_t jit_rt_load64(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info);
void jit_rt_store64(struct soft_cpu *cpu, uint64_t va, uint64_t value, uint32_t size, uint32_t access, uint64_t info);
ir_u128 jit_rt_cmpxchg(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint64_t info,
                       ir_u128 expected, ir_u128 desired);
ir_u128 jit_rt_rmw(struct soft_cpu *cpu, uint64_t va, uint32_t size, uint32_t access, uint32_t kind,
                   ir_u128 operand);
/* 128-bit operations LLVM would lower to library calls: one C definition each, the
 * interpreter's (interp_eval_pure), so the tiers cannot disagree. */
ir_u128 jit_rt_op128(uint32_t op, ir_u128 a, ir_u128 b);

#endif /* ANYHV_JIT_JIT_H */
