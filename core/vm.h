/* VM and vCPU objects shared by both personalities: one VM per process, vCPUs
 * bound to the thread that created them, the guest-physical map per address
 * space, and lazy state sync with the backend. */
#ifndef ANYHV_CORE_VM_H
#define ANYHV_CORE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/a64_state.h"
#include "core/backend.h"
#include "core/clock.h"
#include "core/exit.h"
#include "core/x86_state.h"
#include "mmu/pmap.h"

#define ANYHV_MAX_VCPUS 64u
#define ANYHV_MAX_SPACES 16u       /* Intel address spaces, space 0 is the default */
#define ANYHV_X86_ADDR_BITS 39u    /* guest-physical width offered to Intel clients */
#define ANYHV_PAGE_SIZE 4096u

/* Requests other threads post to a vCPU; polled at block boundaries / before entry. */
enum vcpu_request { VCPU_REQ_CANCEL = 1u << 0, VCPU_REQ_TLB_FLUSH = 1u << 1 };

enum { X86_MSR_NATIVE_READ = 1u << 0, X86_MSR_NATIVE_WRITE = 1u << 1 };

/* Intel personality data: the VMCS read-only exit fields and the MSR policy. */
struct vcpu_x86_ext {
    uint32_t exit_reason;
    uint64_t exit_qualification;
    uint64_t exit_gpa;
    uint64_t exit_gla;
    uint32_t exit_instr_len;
    uint32_t exit_instr_info;
    uint32_t exit_irq_info, exit_irq_error;
    uint32_t idt_vectoring_info, idt_vectoring_error;
    uint64_t io_rcx, io_rsi, io_rdi, io_rip;
    uint32_t msr_policy_count;
    struct x86_msr_policy {
        uint32_t msr;
        uint8_t native;            /* X86_MSR_NATIVE_* : guest access without exiting */
        bool managed;              /* kept by anyhv (hv_vcpu_enable_managed_msr) */
        uint64_t value;            /* managed MSRs without a state field */
    } msr_policy[64];
    uint64_t apic_gpa;
    uint64_t vcpu_flags;           /* hv_vcpu_create options */
    uint64_t idle_time_ns;         /* halted inside hv_vcpu_run (in-framework APIC) */
    bool entry_refused;            /* the last run could not enter the guest */
    void *lapic;                   /* in-framework local APIC (struct x86_lapic) or NULL */
    uint64_t intr_client_cpu_based;  /* the client's processor controls during an APIC run */
    /* Last: record.c logs the fields before it (other threads write this one). */
    _Atomic bool client_cancel;    /* hv_vcpu_interrupt asked for this vCPU's exit */
};

/* Apple-silicon personality data. */
struct vcpu_a64_ext {
    void *client_exit;             /* hv_vcpu_exit_t handed out by hv_vcpu_create */
    bool vtimer_masked;
    uint64_t vtimer_offset;
    bool pending_irq, pending_fiq;
    bool trap_debug_exceptions, trap_debug_reg_accesses;
};

/* Debugging state (anyhv_vcpu_set_breakpoint/_watchpoint, core/debug.c); the soft
 * backend checks it at instruction boundaries and on slow-path data accesses. */
#define VCPU_MAX_BREAKPOINTS 64u
#define VCPU_MAX_WATCHPOINTS 16u
enum vcpu_stop_kind { VCPU_STOP_NONE = 0, VCPU_STOP_BUDGET, VCPU_STOP_BREAKPOINT, VCPU_STOP_WATCHPOINT };
enum vcpu_watch_kind { VCPU_WATCH_WRITE = 1, VCPU_WATCH_READ = 2, VCPU_WATCH_ACCESS = 3 };
struct vcpu_debug {
    uint32_t nbp, nwp;             /* 0 and 0: nothing to check (the fast case) */
    uint64_t bp[VCPU_MAX_BREAKPOINTS];
    struct vcpu_watch { uint64_t addr, len; uint32_t kind; } wp[VCPU_MAX_WATCHPOINTS];
    struct vcpu_stop {             /* why the last run stopped, for anyhv_vcpu_get_stop */
        uint32_t kind;             /* enum vcpu_stop_kind */
        uint32_t size;
        bool write;
        uint64_t pc, address, icount;
    } stop;
};

struct vm;

struct vcpu {
    struct vm *vm;
    uint32_t id;
    pthread_t owner;               /* for signals while it runs (KVM kick) */
    _Atomic uint32_t requests;     /* enum vcpu_request bits */
    _Atomic bool running;          /* inside the backend's vcpu_run (kicks, record.c) */
    _Atomic bool in_run;           /* inside hv_vcpu_run, entry to rendered exit (vcpu_run_begin) */
    _Atomic bool parked;           /* deterministic mode: in hv_vcpu_run waiting for its turn,
                                    * outside the backend (a snapshot may read or replace it) */
    _Atomic bool turn_waiting;     /* deterministic mode: its thread waits for its turn
                                    * between runs (anyhv_vcpu_wait_turn, anyhv_vcpu_idle, the
                                    * in-library HLT) */
    uint32_t space;                /* Intel address space */
    uint32_t state_valid;          /* state groups whose struct copy is current */
    uint32_t state_dirty;          /* state groups written since the last run */
    union {
        struct x86_state *x86;
        struct a64_state *a64;
    } st;
    struct anyhv_exit exit;        /* the last exit, backend-neutral */
    uint64_t exec_time_ns;         /* time spent in vcpu_run: deterministic mode's */
    uint64_t exec_ticks;           /* the same in clock_host_ticks() ticks, otherwise */
    uint64_t icount;               /* guest instructions retired (soft route) */
    uint64_t insn_budget;          /* instructions one run may retire, 0 = no limit (soft route) */
    uint64_t idle_insns;           /* deterministic mode: idle time credited, in instructions */
    uint64_t timer_deadline_ns;    /* deterministic mode: the client's device timer in virtual
                                    * time (anyhv_vcpu_set_timer_deadline), 0 = none */
    bool timer_fired;              /* the last run ended at that timer */
    void *be;                      /* backend private data */
    struct vcpu_debug dbg;
    union {
        struct vcpu_x86_ext x86;
        struct vcpu_a64_ext a64;
    } ext;
};

/* An in-framework interrupt controller (the arm64 GIC, core/arm64/gic_*.c) as the
 * soft CPU sees it; every call comes from the vCPU's own thread. */
enum { IRQCHIP_LINE_IRQ = 1u << 0, IRQCHIP_LINE_FIQ = 1u << 1 };
struct irqchip_ops {
    /* Guest MRS (write false) / MSR of a CPU-interface register (sysreg encoding):
     * true when handled, *value read or written. */
    bool (*sysreg)(struct vcpu *v, uint32_t id, bool write, uint64_t *value);
    /* Guest-physical access to the controller's frames: true when handled. */
    bool (*mmio)(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *value);
    /* IRQCHIP_LINE_* the controller asserts towards v now. */
    unsigned (*lines)(struct vcpu *v);
    /* The level of v's virtual timer output (its PPI). */
    void (*vtimer)(struct vcpu *v, bool level);
    /* Free the controller (hv_vm_destroy). */
    void (*destroy)(struct vm *vm);
};

/* The in-framework devices' part of a snapshot (core/snapshot.c), served by the
 * personality that owns them (the Intel APIC/IOAPIC/8259 models, the arm64 GIC).
 * restore() is called twice: first with apply false, to check the bytes without
 * changing anything (a message in err on failure), then with apply true. */
struct vm_devstate_ops {
    uint32_t tag;                                   /* names the section in the file */
    size_t (*size)(struct vm *vm);
    void (*save)(struct vm *vm, void *out);         /* size() bytes */
    bool (*restore)(struct vm *vm, const void *in, size_t size, bool apply, char *err, size_t errlen);
    /* The devices' lock (held across anyhv_vm_fork, so no child starts with it taken
     * by a thread it does not have). */
    pthread_mutex_t *(*lock)(struct vm *vm);
};

struct vm {
    enum guest_arch arch;
    const struct irqchip_ops *_Atomic irqchip;   /* NULL: no in-framework controller */
    void *irqchip_data;
    const struct backend_ops *be;
    void *be_data;
    /* Map changes and the vCPU table. Lock order, the same on every path (a path
     * that needs an outer lock while holding an inner one drops the inner first):
     *   1. the VM's lifetime lock (vm_hold, read side; hv_vm_create/destroy write)
     *   2. vm->lock
     *   3. one device lock: the Intel devices' x86_intr.lock or the GIC's gic.lock
     *   4. leaf locks taken under any of these and taking nothing themselves: the
     *      deterministic scheduler's det_sched.lock, the backends' own (KVM gate,
     *      soft wait/code-page locks, the JIT engine's), the host clock's.
     * A snapshot holds vm->lock and takes the device lock to save the devices; a
     * vCPU's teardown takes the device lock under vm->lock (vcpu_destroy_held's fini). */
    pthread_mutex_t lock;
    struct pmap *spaces[ANYHV_MAX_SPACES];
    struct vcpu *_Atomic vcpus[ANYHV_MAX_VCPUS];
    uint32_t vcpu_count;
    uint32_t ipa_bits;
    uint64_t granule;
    uint32_t max_vcpus;
    uint64_t options;              /* the personality's VM-creation options */
    struct vm_clock clock;         /* the one time base of every guest clock */
    void *intr;                    /* in-framework interrupt controllers, or NULL
                                    * (Intel: struct x86_intr, core/x86/intr.h) */
    _Atomic bool ran;              /* a vCPU has run (deterministic mode is fixed from then) */
    _Atomic bool quiesce;          /* a call that needs every vCPU stopped is under way
                                    * (vm_quiesce, under vm->lock): runs wait at entry */
    struct det_sched *det;         /* deterministic mode's scheduler, or NULL (determinism.c) */
    const struct vm_devstate_ops *devstate;   /* in-framework devices in snapshots, or NULL */
    struct recorder *_Atomic rec;  /* input record or replay (record.c), or NULL */
    /* The VM time of v's next in-framework timer expiry (UINT64_MAX: none), for an
     * idle vCPU's credit in deterministic mode (the Intel APIC sets it); or NULL. */
    uint64_t (*timer_due_ns)(struct vcpu *v);
};

/* VM configuration decided by the personality before creation. */
struct vm_params {
    enum guest_arch arch;
    uint32_t ipa_bits;
    uint64_t granule;
    uint64_t options;
    /* The personality's own parts of a new VM (the Intel in-framework devices), made
     * before any other call can see the VM; NULL when there are none. */
    hv_return_t (*setup)(struct vm *vm);
};

hv_return_t vm_create(const struct vm_params *params);
hv_return_t vm_destroy(void);
/* The process's VM, or NULL. Only for a caller that holds the VM (vm_hold, or an
 * owned vCPU, which pins it). */
struct vm *vm_current(void);
/* Pin the VM for the length of one API call: returns the VM (or NULL) and must be
 * paired with vm_release() even when it returned NULL. Never nested. */
struct vm *vm_hold(void);
void vm_release(void);

hv_return_t vm_space_create(uint32_t *space);
hv_return_t vm_space_destroy(uint32_t space);
hv_return_t vm_map(uint32_t space, void *host, uint64_t gpa, uint64_t size, uint64_t flags);
hv_return_t vm_unmap(uint32_t space, uint64_t gpa, uint64_t size);
hv_return_t vm_protect(uint32_t space, uint64_t gpa, uint64_t size, uint64_t flags);

/* Create a vCPU owned by the calling thread, in a VM of guest architecture `arch`
 * (HV_BAD_ARGUMENT without one). */
hv_return_t vcpu_create(enum guest_arch arch, uint32_t *id);
/* The same with the personality's initial state: init(v, arg) runs before the vCPU
 * is published, under the VM lock (plain state writes only, no locks). */
typedef void (*vcpu_init_fn)(struct vcpu *v, void *arg);
hv_return_t vcpu_create_init(enum guest_arch arch, vcpu_init_fn init, void *arg, uint32_t *id);
/* The calling thread takes v over (vm_fork.c: the child of a fork). */
void vcpu_adopt(struct vcpu *v);
/* Destroy; only from the owning thread. The _held form for a caller that holds the
 * VM (vm_hold): fini(v, arg), when given, runs under vm->lock right after the vCPU
 * left the table and before it is freed, so a personality can detach what its
 * devices reach under their own lock (taken inside vm->lock, as the order says). */
typedef void (*vcpu_fini_fn)(struct vcpu *v, void *arg);
hv_return_t vcpu_destroy(uint32_t id);
hv_return_t vcpu_destroy_held(struct vm *vm, uint32_t id, vcpu_fini_fn fini, void *arg);
/* The vCPU `id` if it exists and the caller owns it; else the API error to return.
 * Inline, with no lock (core/vcpu.c: owned[]): every API call on a vCPU starts here. */
extern _Thread_local struct vcpu **vcpu_owned_here __attribute__((tls_model("initial-exec")));
static inline hv_return_t vcpu_get_owned(uint64_t id, struct vcpu **out)
{
    struct vcpu **table = vcpu_owned_here;
    struct vcpu *v = table && id < ANYHV_MAX_VCPUS ? table[id] : NULL;
    if (!v)
        return HV_BAD_ARGUMENT;
    *out = v;
    return HV_SUCCESS;
}
/* The calling thread's vCPU of lowest id (NULL: it owns none). */
struct vcpu *vcpu_first_owned(void);
/* Post a cancel to vCPUs from any thread (hv_vcpus_exit / hv_vcpu_interrupt); the
 * _held form for a caller that holds the VM (vm_hold) for more than this. */
hv_return_t vcpu_cancel(const uint64_t *ids, uint32_t count);
hv_return_t vcpu_cancel_held(struct vm *vm, const uint64_t *ids, uint32_t count);

/* Make the struct copy of `groups` current (one backend call at most; inline when it
 * already is, as on the soft route always). */
hv_return_t vcpu_state_fetch(struct vcpu *vcpu, uint32_t groups);
static inline hv_return_t vcpu_state_load(struct vcpu *vcpu, uint32_t groups)
{
    return (groups & ~vcpu->state_valid) ? vcpu_state_fetch(vcpu, groups) : HV_SUCCESS;
}
/* Record that the struct copy of `groups` was written by the client. */
static inline void vcpu_state_touch(struct vcpu *vcpu, uint32_t groups)
{
    vcpu->state_dirty |= groups;
}
/* hv_vcpu_run's bracket in both personalities, around everything the call does (the
 * in-framework devices' loop, the exit rendered into the personality's fields): while
 * a snapshot or fork is under way (vm_quiesce) the vCPU waits at entry for its end. */
void vcpu_run_begin(struct vcpu *vcpu);
void vcpu_run_end(struct vcpu *vcpu);
/* With vm->lock held, for a call that reads or replaces vCPUs it does not own (snapshot
 * save and restore, fork): from now until vm_unquiesce no vCPU enters hv_vcpu_run;
 * returns whether none is inside it (one parked for its deterministic turn does not
 * count when parked_ok). vm_unquiesce follows in either case, before vm->lock is let go. */
bool vm_quiesce(struct vm *vm, bool parked_ok);
void vm_unquiesce(struct vm *vm);
/* Run through the backend, accounting exec time; fills vcpu->exit. */
hv_return_t vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns);
/* The time spent in vcpu_run so far (hv_vcpu_get_exec_time). */
uint64_t vcpu_exec_time_ns(const struct vcpu *vcpu);

uint64_t host_monotonic_ns(void);

/* core/determinism.c. Virtual time runs at DET_NS_PER_INSN per retired instruction;
 * each vCPU's turn is DET_QUANTUM instructions. */
#define DET_QUANTUM 4096u
#define DET_NS_PER_INSN 1u
struct det_sched;
bool det_wanted(void);                 /* the extension call's or ANYHV_DETERMINISTIC's choice */
hv_return_t det_enable(struct vm *vm);
void det_free(struct vm *vm);
hv_return_t det_vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns);
void det_vcpu_gone(struct vcpu *vcpu);  /* destroyed: pass its turn on */
/* A vCPU that waits inside the library (the Intel APIC's HLT) without running: wait
 * for its turn; idle for up to `insns` instructions of it (its clocks move on by the
 * credit returned; the turn passes on when used up); whether it is the only vCPU. */
void det_turn_wait(struct vcpu *vcpu);
uint64_t det_idle(struct vcpu *vcpu, uint64_t insns);
bool det_alone(struct vcpu *vcpu);
/* The client's timer (anyhv_vcpu_set_timer_deadline) is due at v's virtual time now:
 * it is cleared and v->timer_fired set (the run ends with a budget exit). */
bool det_client_timer_fire(struct vcpu *vcpu);
/* Snapshots: hold the rotation (no parked vCPU starts; nothing without det), then
 * whose turn it is and how much of it was used, with it held. */
void det_hold(struct vm *vm);
/* With the rotation held: wait (a bounded while) until every vCPU but the turn's holder
 * waits for its turn - parked in hv_vcpu_run or between runs - so a snapshot finds each
 * other thread at a point it can be resumed from, not between its last exit and its
 * next wait. */
void det_settle(struct vm *vm);
void det_release(struct vm *vm);
void det_save(struct vm *vm, uint32_t *turn, uint64_t *used);
/* ... and which vCPUs idle (anyhv_vcpu_idle), their timers and the horizon of the last
 * jump: a restored VM jumps where the original did. NULL restores "nobody idles". */
struct det_idle_state {
    uint64_t idle_mask, horizon_vt, ran_gen;
    uint32_t streak, reserved;
    uint64_t wake_vt[ANYHV_MAX_VCPUS];
    uint64_t look_gen[ANYHV_MAX_VCPUS];
};
void det_save_idle(struct vm *vm, struct det_idle_state *out);
void det_restore_idle(struct vm *vm, const struct det_idle_state *in);
void det_restore(struct vm *vm, uint32_t turn, uint64_t used);
/* The VM's virtual time in nanoseconds for a reader that is not a vCPU (hv_tsc_clock
 * from a thread owning none, hv_vm_sync_tsc): the furthest a vCPU of the VM had
 * reached when it last left the scheduler, so the same point of a run reads the same. */
uint64_t det_vm_ns(struct vm *vm);
/* The vCPU's guest time in nanoseconds at `icount` retired instructions: virtual in
 * deterministic mode, the host's monotonic clock otherwise. */
uint64_t vcpu_guest_ns(const struct vcpu *vcpu, uint64_t icount);
/* A random number for the guest (x86 RDRAND/RDSEED) at `icount`: in deterministic mode a
 * function of the seed (ANYHV_DETERMINISTIC_SEED), the vCPU id and icount, so replays and
 * restored snapshots draw the same values; the host's entropy otherwise. */
uint64_t vcpu_random(const struct vcpu *vcpu, uint64_t icount);

/* core/record.c: the client's inputs at a run entry (logged or replayed) and the
 * state they are measured against at its exit; deterministic mode, the vCPU holding
 * its turn. rec_vm_gone frees an open log with the VM. */
struct recorder;
void rec_vcpu_entry(struct vcpu *vcpu);
void rec_vcpu_exit(struct vcpu *vcpu);
void rec_vm_gone(struct vm *vm);

/* core/debug.c: record anyhv's own stop reason after a run (budget). */
void debug_note_run(struct vcpu *vcpu);

#endif /* ANYHV_CORE_VM_H */
