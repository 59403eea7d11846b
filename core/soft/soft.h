/* soft.h - the software CPU's contract between the dispatcher (core/soft/), the IR
 * tiers (jit/), the MMU (mmu/) and the guest frontends (frontends/x86_64, arm64).
 * A frontend fills one struct soft_frontend; the dispatcher owns the run loop. */
#ifndef ANYHV_CORE_SOFT_SOFT_H
#define ANYHV_CORE_SOFT_SOFT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/exit.h"
#include "jit/ir.h"
#include "mmu/mmu.h"

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
};

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
};

/* Frontends, one per guest architecture. */
extern const struct soft_frontend x86_soft_frontend;
extern const struct soft_frontend a64_soft_frontend;

/* Guest memory for helpers and frontends, through the TLB (and its walk on a miss).
 * On a guest fault they deliver it and unwind (longjmp to cpu->unwind). */
uint64_t soft_read(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info);
void soft_write(struct soft_cpu *cpu, uint64_t va, uint64_t value, unsigned size, uint32_t access, uint64_t info);
/* Stop the current block from a helper: sets cpu->stop and unwinds. */
_Noreturn void soft_unwind(struct soft_cpu *cpu, enum soft_stop why);

#endif /* ANYHV_CORE_SOFT_SOFT_H */
