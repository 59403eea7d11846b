/* soft_internal.h - the soft backend's private objects: per-VM data (stage-2
 * snapshots, code pages) and per-vCPU runtime (the soft_cpu, its translation cache,
 * the execution sequence that stage-2 shootdowns wait on). */
#ifndef ANYHV_CORE_SOFT_INTERNAL_H
#define ANYHV_CORE_SOFT_INTERNAL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>

#include "core/soft/soft.h"
#include "core/vm.h"
#include "jit/tcache.h"

#define SOFT_TCACHE_LIMIT 32768u   /* blocks per vCPU before the cache is dropped */
/* Check generations (codecheck.c): the ranges of guest code a generation may verify
 * and still carry on into the next run (each a byte comparison at every run entry),
 * the most bytes one holds and the gap between two pieces it may bridge, and the runs
 * after which a generation starts afresh anyway, so code that ran once long ago
 * (start-up code) leaves the ranges. */
#define SOFT_CHECK_RANGES 8u
#define SOFT_RANGE_MAX 256u
#define SOFT_RANGE_GAP 32u
#define SOFT_CHECK_REFRESH_RUNS 256u

/* A stretch of guest code in host memory with its bytes as verified. */
struct soft_code_range {
    const uint8_t *host;
    uint64_t gpa;
    uint32_t len;
    uint8_t copy[SOFT_RANGE_MAX];
};

struct soft_vm {
    /* Immutable copies of each space's pmap, swapped on every map change and freed
     * only after every vCPU has left the execution period that could see the old one. */
    struct pmap *_Atomic s2[ANYHV_MAX_SPACES];
    _Atomic uint64_t s2_epoch;     /* bumped by unmap/protect: translations re-validate */
    struct mmu_code_pages code_pages;
    struct jit_engine *jit;        /* the compiled tier (NULL: interpreter only) */
};

/* Causes counted by soft_jit_note_return, in the order its report prints them. */
enum soft_jit_return {
    SOFT_JIT_RET_STOP,         /* a stop, fault or exit of the guest's own */
    SOFT_JIT_RET_EVENTS,       /* entered with events pending: no chaining at all */
    SOFT_JIT_RET_CHAIN_BUDGET, /* JIT_CHAIN_MAX blocks chained: the dispatcher's turn */
    SOFT_JIT_RET_INDIRECT,     /* an indirect branch the jump cache did not hold */
    SOFT_JIT_RET_CELL_EMPTY,   /* a direct exit to a block not compiled (yet) */
    SOFT_JIT_RET_CELL_STALE,   /* a filled cell from an older epoch (flush, run, free) */
    SOFT_JIT_RET_OTHER,        /* an unchainable block (ANYHV_JIT_DEBUG says which),
                                * a pending request, the budget, a heat limit */
    SOFT_JIT_RETURN_COUNT
};

struct soft_vcpu {
    struct soft_cpu cpu;
    struct vcpu *vcpu;
    struct soft_vm *svm;
    /* Odd while the vCPU may touch guest memory through host pointers (translating or
     * running blocks); shootdowns wait for it to change. */
    _Atomic uint64_t exec_seq;
    struct tcache tc;
    struct ir_block scratch;       /* IR of the block being translated */
    uint32_t state_size;
    /* Code pages of the block being translated (mmu_fetch_code), in pc order. */
    bool translating;
    uint32_t tb_npages;
    uint64_t tb_page[TC_MAX_PAGES];    /* virtual page */
    uint64_t tb_gpa[TC_MAX_PAGES];     /* guest-physical page */
    struct mmu_code_page *tb_pg[TC_MAX_PAGES];
    uint32_t tb_gen[TC_MAX_PAGES];
    /* A page became a code page: other vCPUs must drop writable TLB entries (posted
     * outside the execution period, under the VM lock). */
    bool broadcast_pending;
    struct tc_block *temp_block;   /* budget-capped or single-instruction block, run
                                    * once, not cached */
    struct tc_block *cur_blk;      /* the block running now (SMC checks), or NULL */
    bool smc_restart;              /* run the next instruction alone (smc_guard) */
    /* The block the last run ended in (an exit mid-block or at its end), while no
     * block has been freed since: the next run links from it to where the client
     * resumes, as the dispatcher links blocks inside a run. */
    struct tc_block *resume_blk;
    uint64_t resume_free_gen;
    /* Byte checks (codecheck.c): the client may rewrite guest memory between runs, so
     * a block's bytes are compared with its copy before it first runs in a check
     * generation (tc_block.checked_run == check_gen), and compiled code chains and
     * jumps only along links made in the current generation. A run starts a new
     * generation unless the code verified in this one is little enough to compare
     * again at its entry (ranges[]: the working set of a guest that exits often):
     * then it is compared there and the generation, with its links, carries on. */
    uint64_t check_gen;
    struct soft_code_range ranges[SOFT_CHECK_RANGES];   /* all code verified in check_gen */
    uint32_t nranges;
    bool ranges_overflow;          /* more was verified than ranges[] holds */
    uint64_t ranges_s2_epoch;      /* svm->s2_epoch when the generation began */
    uint32_t gen_runs;             /* runs the generation has lasted */
    bool checks_due;               /* a run began: soft_checks_begin before its first block */
    bool trace_ir;                 /* ANYHV_TRACE_IR: dump each translated block */
    uint64_t link_hits, lookups;   /* blocks found through a link / through the cache */
    struct jit_vcpu *jit;          /* this vCPU's side of the compiled tier, or NULL */
    struct jit_vcpu_ctx jctx;      /* what compiled code reads and writes */
    uint32_t jit_threshold;        /* interpreted runs before a block is compiled */
    bool jit_debug;                /* ANYHV_JIT_DEBUG: say why a compiled block cannot chain */
    bool jit_stats;                /* ANYHV_JIT_STATS: count why compiled code returned */
    uint64_t jit_returns[SOFT_JIT_RETURN_COUNT];
    uint64_t blocks_interp, blocks_jit;   /* dispatcher entries into each tier */
    pthread_mutex_t wait_lock;     /* HLT wait */
    pthread_cond_t wait_cond;
    jmp_buf unwind;
};

static inline struct soft_vcpu *soft_vcpu_of(struct soft_cpu *cpu)
{
    return (struct soft_vcpu *)cpu->rt;
}

/* stage2.c: snapshots and shootdown. */
hv_return_t soft_s2_update(struct vm *vm, uint32_t space, bool invalidate_code);
void soft_s2_free_all(struct soft_vm *svm);
void soft_exec_enter(struct soft_vcpu *sv);
/* With vm->lock held: post a TLB flush to every vCPU and wait until none still runs
 * in an execution period that began before the call (so none holds a pointer it read
 * before: an old stage-2 snapshot, a vCPU just taken out of the table). */
void soft_quiesce(struct vm *vm);
void soft_exec_leave(struct soft_vcpu *sv);
/* Make every other vCPU drop its TLB at its next block boundary (no waiting). */
void soft_post_tlb_flush_all(struct vm *vm, const struct vcpu *except);

/* host_guard.c: guest accesses to host memory the client took away end the run. */
/* The host FP environment of an execution period (host_fp.c): the default while
 * guest code runs, the thread's own outside. */
void soft_host_fp_enter(void);
void soft_host_fp_leave(void);
void soft_guard_install(void);
void soft_guard_enter(struct soft_vcpu *sv);
void soft_guard_leave(void);

/* mem.c: the dispatcher's hooks of the memory access path (soft_cpu.mem_ops). */
extern const struct mmu_access_ops soft_mem_ops;

/* translate.c: find or build the block at the current pc. NULL with cpu->stop set
 * when translation delivered a fault or could not proceed. */
struct tc_block *soft_block_for_pc(struct soft_vcpu *sv, uint64_t pc, uint32_t mode);

/* jit_glue.c: the compiled tier as the dispatcher uses it. */
void soft_jit_vm_init(struct soft_vm *svm);
void soft_jit_vcpu_init(struct soft_vcpu *sv);
void soft_jit_vcpu_fini(struct soft_vcpu *sv);
/* A block just ran in the interpreter: compile it once it is hot (or at once, eager). */
void soft_jit_vcpu_report(const struct soft_vcpu *sv);
/* Why compiled code came back to the dispatcher (ANYHV_JIT_STATS): what to work on
 * next is the largest of these. */
void soft_jit_note_return(struct soft_vcpu *sv, const struct tc_block *last, bool stopped, bool quiet);
void soft_jit_consider(struct soft_vcpu *sv, struct tc_block *blk);
/* A warm region reached its heat limit: ask for its optimised code. */
void soft_jit_promote(struct soft_vcpu *sv, struct tc_block *blk);
/* The chain epoch now (see struct jit_chain). */
uint64_t soft_jit_chain_epoch(const struct soft_vcpu *sv);
uint64_t soft_jit_chain_epoch_page(const struct soft_vcpu *sv);
/* prev left by its direct exit k and the dispatcher found next: chain them. */
void soft_jit_link(struct soft_vcpu *sv, struct tc_block *prev, uint32_t k, struct tc_block *next);

/* translate.c: whether blk's guest bytes are still those it was translated from
 * (checked once per check generation; false also invalidates its pages). */
bool soft_block_recheck(struct soft_vcpu *sv, struct tc_block *blk);

/* codecheck.c. At the first block boundary of a run, inside the execution period (the
 * bytes are read through host pointers): carry the check generation on, or begin a
 * new one. */
void soft_checks_begin(struct soft_vcpu *sv);
/* blk's bytes are those it was translated from, in this generation. */
void soft_code_verified(struct soft_vcpu *sv, struct tc_block *blk);
bool soft_same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n);

/* run.c */
hv_return_t soft_run(struct vcpu *vcpu, uint64_t deadline_ns);
void soft_wake(struct vcpu *vcpu);
/* Fill an internal-error exit (code, detail) and stop. */
void soft_internal_exit(struct soft_cpu *cpu, uint32_t code, uint64_t detail);

/* debug.c: anyhv_vcpu_set_breakpoint/_watchpoint on this route. */
/* At a block boundary while breakpoints exist: true when the vCPU stops here (exit
 * filled); *no_link set when the next block must be looked up (and be one instruction). */
bool soft_debug_boundary(struct soft_vcpu *sv, bool *no_link);
/* TLB fill while watchpoints exist: perms with READ/WRITE withheld on a watched page. */
uint32_t soft_debug_watch_perms(struct soft_cpu *cpu, uint64_t va, uint32_t perms);
/* Slow-path data access while watchpoints exist: unwinds with the stop on a hit. */
void soft_debug_watch_check(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access);
hv_return_t soft_tlb_dump(struct vcpu *vcpu, void *entries, uint32_t max, uint32_t *count);

enum soft_internal_code {
    SOFT_INTERNAL_NO_FRONTEND = 1,
    SOFT_INTERNAL_BAD_BLOCK = 2,    /* the frontend produced IR that does not verify */
    SOFT_INTERNAL_NO_MEMORY = 3,
    SOFT_INTERNAL_STOP = 4,         /* a STOP the frontend did not handle */
    SOFT_INTERNAL_HOST_FAULT = 5,   /* guest memory's host pages are gone or forbidden
                                     * (detail: guest-physical address) */
};

#endif /* ANYHV_CORE_SOFT_INTERNAL_H */
