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
};

/* a64_exits.c: one exit of a vCPU, on its own thread. */
void a64_handle_exit(struct a64_cpu *c);
/* The session ended (any thread): stop every other vCPU's run. */
void a64_stop_all(struct a64_machine *m, const struct a64_cpu *self);
/* Powered off: wait for CPU_ON (true) or the end of the session (false). */
bool a64_wait_power_on(struct a64_cpu *c);
bool a64_done(struct a64_machine *m);

#endif /* ANYHV_TOOLS_A64_VMM_H */
