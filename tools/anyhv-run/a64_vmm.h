/* anyhv-run, Apple-silicon flavour: the machine and its vCPUs as the run loop
 * (vmm_arm64.c) and the exit handlers (a64_exits.c) share them. vCPU 0 runs on the
 * main thread through session_loop(); with --smp, each other vCPU has its own thread
 * and waits, powered off, for PSCI CPU_ON. */
#ifndef ANYHV_TOOLS_A64_VMM_H
#define ANYHV_TOOLS_A64_VMM_H

#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <pthread.h>

#include "arm64_machine.h"
#include "session.h"

enum cpu_power { CPU_OFF, CPU_ON };

/* Deterministic mode: where a vCPU's thread waits for its turn, set before each wait. A
 * snapshot taken by the boot vCPU (--snapshot-at, with every other thread waiting:
 * anyhv_vm_snapshot_save settles them) records it, so a restored thread resumes at
 * the same point: about to run, about to handle its last exit (a WFI/WFE exit gave the
 * turn away), waiting for an interrupt or an event, or powered off. */
enum cpu_phase { PHASE_RUN = 0, PHASE_EXIT, PHASE_WFI, PHASE_WFE, PHASE_OFF };

struct a64_cpu {
    struct a64_machine *m;
    unsigned index;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    pthread_t thread;
    enum cpu_power power;       /* under m->lock */
    uint64_t on_entry, on_context;
    bool on_request;            /* CPU_ON posted, not yet taken (under m->lock) */
    bool started, created;      /* thread started; vCPU creation attempted (under m->lock) */
    unsigned idle_wfx;
    bool os_lock;               /* OSLAR_EL1.OSLK as the guest set it */
    enum cpu_phase phase;       /* deterministic mode, see above */
    hv_vcpu_exit_t last_exit;   /* a copy of the exit being handled (PHASE_EXIT) */
};

/* The machine's part of a snapshot (the client data): the UART and each vCPU's power
 * state, phase and pending exit. */
struct a64_snap_cpu {
    uint32_t power, phase;
    uint64_t on_entry, on_context;
    uint32_t idle_wfx;
    uint8_t on_request, os_lock, pad[2];
    hv_vcpu_exit_t exit;
};
struct a64_snap {
    struct pl011 uart;
    uint32_t uart_line, ncpus;
    struct a64_snap_cpu cpu[A64M_MAX_CPUS];
};

struct a64_machine {
    struct run_session s;
    bool board;                 /* GIC, PSCI CPU_ON, UART interrupt, DT (--kernel, --dtb auto) */
    unsigned ncpus;
    struct a64_cpu cpu[A64M_MAX_CPUS];
    pthread_mutex_t lock;       /* devices, stats, CPU power states */
    pthread_cond_t power_changed;
    struct pl011 uart;
    bool uart_line;             /* the level last given to hv_gic_set_spi */
    bool det;                   /* deterministic mode: waits let virtual time pass (a64_exits.c) */
    bool gate_open;             /* secondaries may start (after a --restore) (under lock) */
    struct a64_snap snap;       /* the snapshot's client data, filled at a save or restore */
};

/* a64_exits.c: one exit of a vCPU, on its own thread. */
void a64_handle_exit(struct a64_cpu *c);
/* The session ended (any thread): stop every other vCPU's run. */
void a64_stop_all(struct a64_machine *m, const struct a64_cpu *self);
/* Powered off: wait for CPU_ON (true) or the end of the session (false). */
bool a64_wait_power_on(struct a64_cpu *c);
/* A thread restored in PHASE_EXIT, _WFI or _WFE goes on from there (then it runs). */
void a64_resume(struct a64_cpu *c);
bool a64_done(struct a64_machine *m);

#endif /* ANYHV_TOOLS_A64_VMM_H */
