/* intr.h - the in-framework interrupt controllers of the Intel personality (VMs
 * created with HV_VM_ACCEL_APIC): a local APIC per vCPU (lapic.c), the IOAPIC
 * (ioapic.c), the 8259 pair (atpic.c), and the glue that takes their interrupts
 * into a vCPU at instruction boundaries and handles their guest accesses inside
 * hv_vcpu_run (intr.c).
 *
 * The devices are backend-neutral: they see the guest only through the exits the
 * run returns (x2APIC MSR accesses, HLT, interrupt windows) and act on it only
 * through VMCS fields (event injection, interrupt-window exiting), so the soft route
 * and KVM run them alike. One mutex per VM guards every device: IPIs and the
 * assert/deassert calls come from any thread.
 *
 * Register state is kept in Apple's own structs (hv_intr.h), so get/put state is a
 * checked copy. */
#ifndef ANYHV_CORE_X86_INTR_H
#define ANYHV_CORE_X86_INTR_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <stdlib.h>
#include <string.h>

#include "core/vm.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_PINS 24u
#define LAPIC_BUS_HZ_DEFAULT 100000000ull   /* APIC timer input clock: 100 MHz */
#define LAPIC_BUS_HZ_MIN 16000000ull
#define LAPIC_BUS_HZ_MAX 2000000000ull

/* LVT indices in hv_apic_state.lvt[]. */
enum lapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_CMCI, LVT_COUNT };

/* What a guest APIC write left for the client (hv_vcpu_exit_info). */
struct lapic_pending_exit {
    hv_vm_exitinfo_t kind;           /* HV_VM_EXITINFO_VMX when none */
    bool targets[ANYHV_MAX_VCPUS];   /* INIT / SIPI destinations */
    uint8_t vector;                  /* SIPI vector, or EOI vector */
};

struct x86_lapic {
    struct hv_apic_state s;          /* Apple's register file (ccr_timer computed on read) */
    struct vcpu *vcpu;
    uint64_t timer_start_ns;         /* VM time the count was (re)loaded */
    uint64_t timer_due_ns;           /* next expiry in VM time, UINT64_MAX when idle */
    bool extint_pending;             /* hv_vcpu_inject_extint / 8259 ExtINT */
    _Atomic bool kicked;             /* we canceled its run to deliver an interrupt */
    struct lapic_pending_exit exit;
    uint32_t exit_read_value;        /* HV_VM_EXITINFO_APIC_ACCESS_READ's value */
};

struct x86_atpic {
    struct hv_atpic_state s;         /* s.last_request: input pin levels */
    bool icw4_needed;                /* ICW1.IC4 of the current initialisation */
    bool single;                     /* ICW1.SNGL: no ICW3 */
};

struct x86_ioapic {
    struct hv_ioapic_state s;        /* s.irr: pin levels (asserted = 1); remote IRR in rtbl bit 14 */
};

struct x86_intr {
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* a halted vCPU waits here for an interrupt */
    uint64_t bus_hz;
    struct x86_ioapic ioapic;
    struct x86_atpic pic[2];         /* primary, secondary */
};

/* ---- local APIC (lapic.c); callers hold the VM's intr lock ---- */
void lapic_init(struct x86_lapic *a, struct vcpu *vcpu, uint32_t id);
/* Register access by xAPIC offset. Read: HV_BAD_ARGUMENT for a hole. Write: a write
 * with a side effect for the client (INIT/SIPI) sets a->exit and returns true in
 * *client_needed. */
hv_return_t lapic_read(struct x86_intr *in, struct x86_lapic *a, uint32_t offset, uint32_t *value);
hv_return_t lapic_write(struct x86_intr *in, struct x86_lapic *a, uint32_t offset, uint32_t value,
                        bool *client_needed);
/* Raise `vector` (edge or level). False if the APIC is disabled. */
bool lapic_set_irr(struct x86_lapic *a, uint8_t vector, bool level, bool aeoi);
/* Highest vector deliverable now (IRR above PPR), or -1. */
int lapic_pending(const struct x86_lapic *a);
/* The CPU takes `vector`: IRR -> ISR. */
void lapic_accept(struct x86_lapic *a, uint8_t vector);
/* Timer: fire the LVT if due at `now`; the next due time. */
void lapic_timer_update(struct x86_intr *in, struct x86_lapic *a, uint64_t now_ns);
void lapic_get_state(struct x86_intr *in, struct x86_lapic *a, struct hv_apic_state *out);
hv_return_t lapic_put_state(struct x86_intr *in, struct x86_lapic *a, const struct hv_apic_state *st);
bool lapic_x2apic(const struct x86_lapic *a);
uint64_t lapic_base_msr(const struct x86_lapic *a);
hv_return_t lapic_set_base_msr(struct x86_lapic *a, uint64_t value);
void lapic_set_tsc_deadline(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline);

/* ---- IOAPIC (ioapic.c) ---- */
void ioapic_init(struct x86_ioapic *io);
hv_return_t ioapic_set_pin(struct vm *vm, struct x86_intr *in, unsigned pin, bool level);
hv_return_t ioapic_mmio_read(struct x86_ioapic *io, uint64_t offset, uint32_t *value);
hv_return_t ioapic_mmio_write(struct vm *vm, struct x86_intr *in, uint64_t offset, uint32_t value);
/* A level-triggered vector was EOIed at a local APIC: clear remote IRR, re-deliver. */
void ioapic_eoi(struct vm *vm, struct x86_intr *in, uint8_t vector);
hv_return_t ioapic_put_state(struct x86_ioapic *io, const struct hv_ioapic_state *st);

/* ---- 8259 pair (atpic.c) ---- */
void atpic_init(struct x86_intr *in);
void atpic_set_pin(struct x86_intr *in, unsigned irq, bool level);
hv_return_t atpic_port_read(struct x86_intr *in, int port, uint8_t *value);
hv_return_t atpic_port_write(struct x86_intr *in, int port, uint8_t value);
/* The primary's INT output, and the vector an INTA cycle reads (acknowledging it). */
bool atpic_int_output(struct x86_intr *in);
int atpic_acknowledge(struct x86_intr *in);
hv_return_t atpic_put_state(struct x86_atpic *p, const struct hv_atpic_state *st);
/* Recompute the cascade and INT outputs after a state change. */
void atpic_update(struct x86_intr *in);

/* ---- routing (intr.c) ---- */
/* Deliver a fixed/lowest/NMI/INIT/SIPI/ExtINT message to the APICs it names
 * (physical or logical destination). Kicks running targets. */
void intr_deliver(struct vm *vm, struct x86_intr *in, uint32_t dest, bool logical, uint32_t mode,
                  uint8_t vector, bool level, struct x86_lapic *from);
void intr_kick(struct x86_lapic *a);
struct x86_lapic *intr_lapic(struct vm *vm, uint32_t id);
/* The client-facing run with the devices in the loop (hv_vcpu_run_until). */
hv_return_t intr_run(struct vcpu *v, uint64_t deadline_ns);

#endif /* ANYHV_CORE_X86_INTR_H */
