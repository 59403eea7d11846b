/* soft.h - the software CPU's contract between the dispatcher (core/soft/), the IR
 * tiers (jit/), the MMU (mmu/) and the guest frontends (frontends/x86_64, arm64).
 * A frontend fills one struct soft_frontend; the dispatcher owns the run loop. Guest
 * memory goes through the access path below the tiers (mmu/access.h: mmu_read,
 * mmu_write_bytes, mmu_fetch_code ...). */
#ifndef ANYHV_CORE_SOFT_SOFT_H
#define ANYHV_CORE_SOFT_SOFT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "core/exit.h"
#include "mmu/access.h"
#include "mmu/mmu.h"

struct ir_block;
struct vcpu;
struct soft_cpu;

/* How a block or helper left execution early (soft_cpu.stop). */
enum soft_stop {
    SOFT_RUN = 0,          /* keep going */
    SOFT_STOP_FAULT,       /* a guest exception was delivered by the frontend: re-dispatch */
    SOFT_STOP_EXIT,        /* soft_cpu.vcpu->exit holds an exit for the client */
    SOFT_STOP_HALT,        /* waiting for an interrupt (HLT, WFI) */
    SOFT_STOP_SYSTEM,      /* decoding-relevant state changed: re-dispatch */
};

/* One guest frontend. Called only on the vCPU's own thread. */
struct soft_frontend {
    const char *name;
    /* Register helpers and build static tables once per process. */
    void (*init)(void);
    /* Guest pc (virtual) of the next instruction. */
    uint64_t (*get_pc)(const struct soft_cpu *cpu);
    /* Bits of state that change how bytes decode (x86: CS.L/D, mode; arm64: EL, ...). */
    uint32_t (*mode_key)(const struct soft_cpu *cpu);
    /* Lift the block at the current pc into b (already reset). Fetch faults are
     * delivered by the frontend itself and reported by returning false. */
    bool (*translate)(struct soft_cpu *cpu, struct ir_block *b);
    /* Before a block runs: deliver pending interrupts / injected events the
     * architecture allows now, or fill an exit (interrupt window ...). Returns false
     * when the dispatcher must stop (cpu->stop says why). */
    bool (*check_events)(struct soft_cpu *cpu);
    /* Stage-1 translation of one virtual page for the TLB (mmu_fill calls it). On a
     * fault the frontend delivers the guest exception or fills the exit itself. */
    bool (*walk)(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct mmu_entry *out);
    /* A guest-physical access missed stage 2 (unmapped or forbidden): fill the client
     * exit (EPT violation / stage-2 abort); the access has not retired. */
    void (*stage2_fault)(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, uint64_t info);
    /* The pc/instruction count to resume at after a fault inside a block: the dispatcher
     * sets these from the last INSN_START before calling into the frontend. */
    void (*set_pc)(struct soft_cpu *cpu, uint64_t pc);
    /* Sync lazily kept state (x86 lazy flags) into the architectural struct. */
    void (*sync_state)(struct soft_cpu *cpu);
    /* Optional: state offsets of the flags the dead-flag pass may drop (x86 CF..OF
     * when kept as separate fields); NULL/0 disables the pass. */
    const uint32_t *flag_offsets;
    size_t flag_count;
    /* Optional: a block ended with STOP (imm = reason, imm2 = detail; the state's pc
     * says where to resume). Deliver the exception, fill vcpu->exit, or note the mode
     * change, and set cpu->stop (SOFT_RUN to carry on). Without it: EXIT stops with
     * exit kind `detail`, HALT halts, SYSTEM carries on, EXCEPTION is an internal exit. */
    void (*stop)(struct soft_cpu *cpu, uint32_t reason, uint64_t detail);
    /* Optional, for chaining compiled blocks without the dispatcher in between (both
     * or neither): the bits of the state bytes [offset, offset+size) (size <= 8) that
     * neither check_events nor mode_key ever looks at, so a block writing only those
     * cannot change what happens between blocks; and whether check_events has nothing
     * to do now and will have nothing to do as long as only plain bits change. */
    uint64_t (*plain_bits)(uint32_t offset, uint32_t size);
    bool (*events_quiet)(const struct soft_cpu *cpu);
    /* Optional: the state offset of a 64-bit field that holds the pc unchanged in mode
     * `mode` (what set_pc stores), or -1: compiled code then calls set_pc. */
    int32_t (*pc_offset)(uint32_t mode);
};

/* "pc" in this interface is the guest-virtual address instruction fetch uses (x86:
 * CS.base + RIP), as get_pc returns it; set_pc converts back. INSN_START and block
 * exit targets carry the same kind of pc. */

/* Block length cap the dispatcher asks for (soft_cpu.max_insns); frontends stop a
 * block after that many guest instructions (fewer is always fine). */
#define SOFT_MAX_BLOCK_INSNS 128u
/* Most bytes of guest code one block may cover (it spans at most two pages). */
#define SOFT_MAX_BLOCK_BYTES 1024u

struct soft_cpu {
    struct vcpu *vcpu;
    void *state;                    /* struct x86_state / struct a64_state */
    const struct soft_frontend *fe;
    struct mmu_tlb tlb;
    enum soft_stop stop;
    jmp_buf *unwind;                /* helpers that fault longjmp here (tier-agnostic) */
    uint64_t insn_pc;               /* pc of the instruction being executed */
    uint64_t icount;                /* instructions retired */
    uint64_t budget;                /* stop with EXIT_BUDGET when icount reaches it */
    void *fe_data;                  /* frontend private per-vCPU data */
    /* --- additions (soft-core) --- */
    uint32_t regime;                /* TLB regime of ordinary accesses: 0 privileged,
                                     * 1 user; the frontend keeps it current */
    uint32_t insn_len;              /* length of the instruction being executed */
    uint32_t insn_open;             /* 1 while inside an instruction not yet retired */
    uint32_t max_insns;             /* block length cap for translate (see above) */
    bool halted;                    /* HLT/WFI wait: the frontend clears it on wake-up */
    uint64_t wake_ns;               /* while halted: CLOCK_MONOTONIC time to re-check
                                     * events (guest timer), 0 = none */
    uint32_t stop_reason;           /* the IR STOP that ended the last block */
    uint64_t stop_detail;
    void *rt;                       /* dispatcher private data (struct soft_vcpu) */
    const struct mmu_access_ops *mem_ops;   /* the dispatcher's side of guest memory */
};

/* Stop the current block from a helper or the memory access path: sets cpu->stop and
 * unwinds to cpu->unwind. */
static inline _Noreturn void soft_unwind(struct soft_cpu *cpu, enum soft_stop why)
{
    cpu->stop = why;
    longjmp(*cpu->unwind, 1);
}

/* Frontends, one per guest architecture. Referenced weakly by the soft backend: a
 * library built without one reports HV_UNSUPPORTED for that architecture. */
extern const struct soft_frontend x86_soft_frontend;
extern const struct soft_frontend a64_soft_frontend;
/* The frontend used for guests of `arch`: a registered override (tests), else the
 * linked frontend, else NULL. */
const struct soft_frontend *soft_frontend_for(enum guest_arch arch);
/* Override the frontend for an architecture (unit tests, tools); NULL restores. */
void soft_frontend_register(enum guest_arch arch, const struct soft_frontend *fe);

#endif /* ANYHV_CORE_SOFT_SOFT_H */
