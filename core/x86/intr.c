/* intr.c - the in-framework interrupt controllers inside hv_vcpu_run (see intr.h).
 *
 * The run loop (intr_run) wraps the backend's run the way a VMX hypervisor does:
 * before each entry it lets due APIC timers fire and, when the guest can take an
 * interrupt (RFLAGS.IF set, no STI / MOV SS shadow, vector above the PPR), injects
 * the highest one through the VM-entry interruption field; when it cannot, it asks
 * for an interrupt-window exit. It forces HLT exiting and handles HLT itself (the
 * vCPU sleeps until an interrupt, counted as idle time), handles the x2APIC and
 * IA32_APIC_BASE / TSC_DEADLINE MSRs, renders guest accesses to the xAPIC page as
 * APIC-access exits (VMX_REASON_APIC_ACCESS, qualification = offset | access type,
 * as VMX's APIC-access page gives them; the client completes them with
 * hv_vcpu_apic_read/write or, for reads, hv_vcpu_exit_apic_access_read), and gives
 * IOAPIC page accesses to the IOAPIC. Exits the client did not ask for (the forced
 * HLT and window exits, the timer's deadline, our own kicks) never reach it.
 *
 * Known gaps, documented in README: an injected interrupt whose delivery itself
 * exits (IDT-vectoring information) is left for the client, as any VMX injection;
 * NMI and SMI IPIs are not delivered. */
#include <stdlib.h>
#include <string.h>

#include "core/x86/intr.h"

#include <errno.h>
#include <time.h>

#include "core/x86/vmcs.h"
#include "core/x86/x86.h"
#include "core/x86_msrs.h"

#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_FIRST 0x800u
#define MSR_X2APIC_LAST 0x8ffu
#define X2APIC_ICR_MSR 0x830u
#define X2APIC_OFFSET_SHIFT 4
#define APIC_PAGE_SIZE 0x1000ull
#define IOAPIC_WINDOW 0x100ull
#define APIC_ACCESS_WRITE (1ull << 12)     /* qualification bits 15:12 = 1: linear write */
#define RFLAGS_IF (1ull << 9)
#define INTR_BLOCKING (GUEST_INTRBILITY_STI_BLOCKING | GUEST_INTRBILITY_MOVSS_BLOCKING)
#define VECTOR_GP 13u
#define NS_PER_S 1000000000ull
#define LVT_DELIVERY_SHIFT 8
#define DM_EXTINT 7u
#define DM_FIXED 0u
#define DM_LOWEST 1u
#define XAPIC_BROADCAST 0xffu
#define X2APIC_BROADCAST 0xffffffffu

struct x86_lapic *intr_lapic(struct vm *vm, uint32_t id)
{
    struct vcpu *v = id < ANYHV_MAX_VCPUS ? atomic_load(&vm->vcpus[id]) : NULL;
    return v ? v->ext.x86.lapic : NULL;
}

/* Make the vCPU look at its APIC again: wake it if it idles in halt_wait, and cancel
 * its run - also one about to start, so an interrupt raised between prepare() and
 * the entry is not left waiting for the next exit (the extra exit is swallowed). */
void intr_kick(struct x86_lapic *a)
{
    struct x86_intr *in = a->vcpu->vm->intr;
    pthread_cond_broadcast(&in->wake);
    atomic_store(&a->kicked, true);
    atomic_fetch_or(&a->vcpu->requests, VCPU_REQ_CANCEL);
    a->vcpu->vm->be->cancel(a->vcpu);
}

static bool dest_match(const struct x86_lapic *a, uint32_t dest, bool logical)
{
    bool x2 = lapic_x2apic(a);
    if (!logical) {
        uint32_t id = x2 ? a->s.apic_id : a->s.apic_id >> 24;
        return dest == (x2 ? X2APIC_BROADCAST : XAPIC_BROADCAST) || id == dest;
    }
    if (x2)
        return (dest >> 16) == (a->s.ldr >> 16) && (dest & a->s.ldr & 0xffff);
    uint32_t ldr = a->s.ldr >> 24;
    if ((a->s.dfr >> 28) == 0xf)   /* flat model */
        return (ldr & dest) != 0;
    return (ldr >> 4) == ((dest >> 4) & 0xf) && (ldr & dest & 0xf);   /* cluster model */
}

void intr_deliver(struct vm *vm, struct x86_intr *in, uint32_t dest, bool logical, uint32_t mode, uint8_t vector,
                  bool level, struct x86_lapic *from)
{
    (void)in;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct x86_lapic *a = intr_lapic(vm, i);
        if (!a || !dest_match(a, dest, logical))
            continue;
        bool raised = false;
        if (mode == DM_FIXED || mode == DM_LOWEST)
            raised = lapic_set_irr(a, vector, level, false);
        else if (mode == DM_EXTINT)
            raised = a->extint_pending = true;
        if (raised && a != from)
            intr_kick(a);
        if (mode == DM_LOWEST)
            return;   /* lowest priority: the first match takes it */
    }
}

/* The VM time of v's next APIC timer expiry (deterministic idle, anyhv_vcpu_idle). */
static uint64_t timer_due_ns(struct vcpu *v)
{
    struct x86_intr *in = v->vm->intr;
    struct x86_lapic *a = v->ext.x86.lapic;
    if (!in || !a)
        return UINT64_MAX;
    pthread_mutex_lock(&in->lock);
    uint64_t due = UINT64_MAX;
    if (!(a->s.apic_controls & HV_APIC_CTRL_NO_TIMER)) {
        lapic_timer_update(in, a, clock_now_ns(&v->vm->clock, v));
        due = a->timer_due_ns;
    }
    pthread_mutex_unlock(&in->lock);
    return due;
}

hv_return_t x86_intr_create(struct vm *vm)
{
    struct x86_intr *in = calloc(1, sizeof(*in));
    if (!in)
        return HV_NO_RESOURCES;
    pthread_mutex_init(&in->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&in->wake, &ca);
    pthread_condattr_destroy(&ca);
    in->bus_hz = LAPIC_BUS_HZ_DEFAULT;
    ioapic_init(&in->ioapic);
    atpic_init(in);
    vm->intr = in;
    vm->devstate = &x86_intr_devstate;
    vm->timer_due_ns = timer_due_ns;
    return HV_SUCCESS;
}

/* ---- event injection ---- */

static uint64_t vmcs(struct vcpu *v, uint32_t field)
{
    uint64_t value = 0;
    x86_vmcs_read(v, field, &value);
    return value;
}

/* The 8259 reaches the BSP through LINT0 in ExtINT mode, or with its APIC off. */
static bool extint_wired(struct x86_intr *in, struct x86_lapic *a)
{
    if (a->vcpu->id != 0 || !atpic_int_output(in))
        return false;
    uint32_t lint0 = a->s.lvt[LVT_LINT0];
    return !(a->s.svr & (1u << 8)) || (!(lint0 & (1u << 16)) && ((lint0 >> LVT_DELIVERY_SHIFT) & 7) == DM_EXTINT);
}

/* Inject the highest deliverable interrupt, or ask for a window. Lock held. */
static void inject(struct x86_intr *in, struct x86_lapic *a, uint64_t *cpu_based)
{
    struct vcpu *v = a->vcpu;
    bool ext = a->extint_pending || extint_wired(in, a);
    int vec = lapic_pending(a);
    if (!ext && vec < 0)
        return;
    if (vmcs(v, VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID)
        return;   /* the client injects something itself this entry */
    uint64_t rflags = 0;
    vcpu_state_load(v, SG_GPR);
    rflags = v->st.x86->rflags;
    if (!(rflags & RFLAGS_IF) || (vmcs(v, VMCS_GUEST_INTERRUPTIBILITY) & INTR_BLOCKING)) {
        *cpu_based |= CPU_BASED_IRQ_WND;
        return;
    }
    if (ext) {
        a->extint_pending = false;
        vec = atpic_acknowledge(in);
    } else {
        lapic_accept(a, (uint8_t)vec);
    }
    x86_vmcs_write(v, VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | (uint8_t)vec);
    if (vmcs(v, VMCS_GUEST_ACTIVITY_STATE) != 0)
        x86_vmcs_write(v, VMCS_GUEST_ACTIVITY_STATE, 0);
}

/* CR8 is the TPR's priority class (SDM 10.8.6.1). On the soft route, where the state
 * struct is the CPU's own, the two are kept equal around each run: an xAPIC TPR write
 * shows in CR8, a MOV to CR8 changes the TPR. (On KVM that would cost a state sync
 * per exit; there CR8 and the in-framework TPR are separate.) */
#define CR8_SHIFT 4
static void cr8_to_guest(struct x86_lapic *a)
{
    struct vcpu *v = a->vcpu;
    if (v->vm->be->kind == BACKEND_SOFT && v->st.x86->cr8 != (a->s.tpr >> CR8_SHIFT)) {
        v->st.x86->cr8 = a->s.tpr >> CR8_SHIFT;
        x86_state_written(v->st.x86, offsetof(struct x86_state, cr8), SG_SREGS);
        vcpu_state_touch(v, SG_SREGS);
    }
}

static void cr8_from_guest(struct x86_lapic *a)
{
    struct vcpu *v = a->vcpu;
    if (v->vm->be->kind == BACKEND_SOFT && v->st.x86->cr8 != (a->s.tpr >> CR8_SHIFT))
        a->s.tpr = (uint32_t)(v->st.x86->cr8 & 0xf) << CR8_SHIFT;
}

/* Fire due timers, inject; the VM time of the next timer expiry. Lock held. */
static uint64_t prepare(struct x86_intr *in, struct x86_lapic *a, uint64_t *cpu_based)
{
    cr8_to_guest(a);
    if (!(a->s.apic_controls & HV_APIC_CTRL_NO_TIMER))
        lapic_timer_update(in, a, clock_now_ns(&a->vcpu->vm->clock, a->vcpu));
    inject(in, a, cpu_based);
    return (a->s.apic_controls & HV_APIC_CTRL_NO_TIMER) ? UINT64_MAX : a->timer_due_ns;
}

/* ---- HLT: sleep until an interrupt can be taken ---- */

static bool wakeable(struct x86_intr *in, struct x86_lapic *a)
{
    return lapic_pending(a) >= 0 || a->extint_pending || extint_wired(in, a) ||
           (a->vcpu->requests & VCPU_REQ_CANCEL);
}

/* How a halt inside the library ended. */
enum halt_end { HALT_WOKEN, HALT_DEADLINE, HALT_CLIENT_TIMER };

/* Deterministic mode: the halted vCPU's time is virtual, so it does not sleep on the
 * host's clock. It waits for its turn in the rotation (the others run meanwhile; an IPI
 * they send is seen at a turn boundary, the same one every run), then either wakes or
 * idles: up to its APIC timer's expiry or the client's device timer
 * (anyhv_vcpu_set_timer_deadline), which ends the wait, at most the rest of its turn,
 * credited as idle time (its clocks move on by exactly that much). Alone and without a
 * timer, only the client can wake it: it sleeps on the host until it does. Lock held. */
static enum halt_end halt_wait_det(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline_ns)
{
    struct vcpu *v = a->vcpu;
    const struct vm_clock *c = &v->vm->clock;
    for (;;) {
        pthread_mutex_unlock(&in->lock);
        det_turn_wait(v);
        pthread_mutex_lock(&in->lock);
        uint64_t now = clock_now_ns(c, v);
        lapic_timer_update(in, a, now);
        if (wakeable(in, a))
            return HALT_WOKEN;
        if (deadline_ns != BACKEND_NO_DEADLINE && host_monotonic_ns() >= deadline_ns)
            return HALT_DEADLINE;
        if (det_client_timer_fire(v))
            return HALT_CLIENT_TIMER;
        uint64_t idle = DET_QUANTUM, due = a->timer_due_ns;
        if (v->timer_deadline_ns && v->timer_deadline_ns < due)
            due = v->timer_deadline_ns;
        if (due != UINT64_MAX) {
            idle = (due - now + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN;
        } else if (det_alone(v)) {
            if (deadline_ns == BACKEND_NO_DEADLINE) {
                pthread_cond_wait(&in->wake, &in->lock);
            } else {
                struct timespec ts = { (time_t)(deadline_ns / NS_PER_S), (long)(deadline_ns % NS_PER_S) };
                pthread_cond_timedwait(&in->wake, &in->lock, &ts);
            }
            continue;
        }
        v->ext.x86.idle_time_ns += det_idle(v, idle) * DET_NS_PER_INSN;
    }
}

/* Until an interrupt can be taken, the client's deadline, or (deterministic mode) the
 * client's device timer. Lock held. */
static enum halt_end halt_wait(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline_ns)
{
    if (a->vcpu->vm->det)
        return halt_wait_det(in, a, deadline_ns);
    const struct vm_clock *c = &a->vcpu->vm->clock;
    uint64_t start = host_monotonic_ns();
    bool ok = true;
    for (;;) {
        lapic_timer_update(in, a, clock_now_ns(c, a->vcpu));
        if (wakeable(in, a))
            break;
        uint64_t until = deadline_ns;
        if (a->timer_due_ns != UINT64_MAX) {
            uint64_t t = clock_host_deadline_ns(c, a->timer_due_ns);
            until = t < until ? t : until;
        }
        if (until != BACKEND_NO_DEADLINE && host_monotonic_ns() >= until) {
            if (until == deadline_ns) {
                ok = false;
                break;
            }
            continue;
        }
        if (until == BACKEND_NO_DEADLINE) {
            pthread_cond_wait(&in->wake, &in->lock);
        } else {
            struct timespec ts = { (time_t)(until / NS_PER_S), (long)(until % NS_PER_S) };
            pthread_cond_timedwait(&in->wake, &in->lock, &ts);
        }
    }
    a->vcpu->ext.x86.idle_time_ns += host_monotonic_ns() - start;
    return ok ? HALT_WOKEN : HALT_DEADLINE;
}

#define ACTIVITY_HLT 1u

/* The vCPU halts inside the library (RIP already past the HLT). 1: woken, re-enter;
 * 0: an exit for the client - its deadline, or its device timer, at which the vCPU
 * stays halted (activity state HLT: its next run goes on waiting). Lock held. */
static int halt_in_library(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline_ns)
{
    struct vcpu *v = a->vcpu;
    switch (halt_wait(in, a, deadline_ns)) {
    case HALT_WOKEN:
        if (vmcs(v, VMCS_GUEST_ACTIVITY_STATE) != 0)
            x86_vmcs_write(v, VMCS_GUEST_ACTIVITY_STATE, 0);
        return 1;
    case HALT_CLIENT_TIMER:
        x86_vmcs_write(v, VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
        v->exit.kind = EXIT_BUDGET;
        v->exit.icount = v->icount;
        v->exit.insn_len = 0;
        return 0;
    case HALT_DEADLINE:
    default:
        v->exit.kind = EXIT_DEADLINE;
        return 0;
    }
}

/* Deterministic mode: a vCPU the client's device timer took out of a halt is still
 * halted at its next run (activity state HLT, the library handling HLT). */
static bool halted_in_library(struct vcpu *v)
{
    return v->vm->det && vmcs(v, VMCS_GUEST_ACTIVITY_STATE) == ACTIVITY_HLT &&
           !(vmcs(v, VMCS_CTRL_CPU_BASED) & CPU_BASED_HLT);
}

/* ---- MSRs and the APIC page ---- */

static bool apic_msr(uint32_t msr)
{
    return msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE || (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

static void advance(struct vcpu *v)
{
    vcpu_state_load(v, SG_GPR);
    v->st.x86->rip += v->exit.insn_len;
    vcpu_state_touch(v, SG_GPR);
}

/* Past a HLT: an STI or MOV SS shadow covered the HLT alone (`sti; hlt` wakes with
 * interrupts deliverable at the next instruction, as on hardware). */
static void end_shadow(struct vcpu *v)
{
    uint64_t intr = vmcs(v, VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & INTR_BLOCKING)
        x86_vmcs_write(v, VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)INTR_BLOCKING);
}

static void inject_gp(struct vcpu *v)
{
    x86_vmcs_write(v, VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | IRQ_INFO_ERROR_VALID | VECTOR_GP);
    x86_vmcs_write(v, VMCS_CTRL_VMENTRY_EXC_ERROR, 0);
}

/* An x2APIC register MSR -> its xAPIC offset; x2APIC mode required. */
static bool x2apic_offset(const struct x86_lapic *a, uint32_t msr, uint32_t *off)
{
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !lapic_x2apic(a))
        return false;
    *off = (msr - MSR_X2APIC_FIRST) << X2APIC_OFFSET_SHIFT;
    return true;
}

/* RDMSR: 0 done, -1 #GP. */
static int msr_read(struct x86_intr *in, struct x86_lapic *a, uint32_t msr, uint64_t *value)
{
    uint32_t off, lo = 0, hi = 0;
    if (msr == MSR_APIC_BASE) {
        *value = lapic_base_msr(a);
        return 0;
    }
    if (msr == MSR_TSC_DEADLINE) {
        *value = a->s.tsc_deadline;
        return 0;
    }
    if (!x2apic_offset(a, msr, &off) || lapic_read(in, a, off, &lo) != HV_SUCCESS || off == 0xb0)
        return -1;
    if (msr == X2APIC_ICR_MSR)
        lapic_read(in, a, off + 0x10, &hi);
    *value = ((uint64_t)hi << 32) | lo;
    return 0;
}

/* WRMSR: 0 done, 1 done and the client must see it (INIT/SIPI), -1 #GP. */
static int msr_write(struct x86_intr *in, struct x86_lapic *a, uint32_t msr, uint64_t value)
{
    uint32_t off;
    bool client = false;
    if (msr == MSR_APIC_BASE)
        return lapic_set_base_msr(a, value) == HV_SUCCESS ? 0 : -1;
    if (msr == MSR_TSC_DEADLINE) {
        lapic_set_tsc_deadline(in, a, value);
        return 0;
    }
    if (!x2apic_offset(a, msr, &off))
        return -1;
    if (msr == X2APIC_ICR_MSR)
        lapic_write(in, a, off + 0x10, (uint32_t)(value >> 32), &client);
    else if (value >> 32)
        return -1;
    return lapic_write(in, a, off, (uint32_t)value, &client) == HV_SUCCESS ? (client ? 1 : 0) : -1;
}

/* Handle an exit the devices own. 1: re-enter; 0: give it to the client. Lock held. */
static int handle_msr(struct x86_intr *in, struct x86_lapic *a)
{
    struct vcpu *v = a->vcpu;
    const struct anyhv_exit *e = &v->exit;
    if (!apic_msr(e->u.reg.index))
        return 0;
    int r;
    if (e->kind == EXIT_MSR_READ) {
        uint64_t value = 0;
        r = msr_read(in, a, e->u.reg.index, &value);
        if (r == 0) {
            vcpu_state_load(v, SG_GPR);
            v->st.x86->gpr[0] = (uint32_t)value;            /* RAX */
            v->st.x86->gpr[2] = value >> 32;                /* RDX */
            vcpu_state_touch(v, SG_GPR);
        }
    } else {
        r = msr_write(in, a, e->u.reg.index, e->u.reg.value);
    }
    if (r < 0) {
        inject_gp(v);
        return 1;
    }
    advance(v);
    return r == 1 ? 0 : 1;
}

static bool in_apic_page(const struct x86_lapic *a, const struct anyhv_exit *e)
{
    uint64_t base = lapic_base_msr(a) & ~(APIC_PAGE_SIZE - 1) & 0xffffffffffull;
    return e->kind == EXIT_MMIO && !lapic_x2apic(a) && (lapic_base_msr(a) & (1ull << 11)) &&
           e->u.mem.gpa - base < APIC_PAGE_SIZE && !e->u.mem.fetch;
}

/* ---- the run ---- */

static bool client_wants(struct vcpu *v, uint64_t control)
{
    return (v->ext.x86.intr_client_cpu_based & control) != 0;
}

/* Decide about an exit. 1: re-enter the guest; 0: the client's. Lock held. */
static int triage(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline_ns, bool client_budget_done)
{
    struct vcpu *v = a->vcpu;
    switch (v->exit.kind) {
    case EXIT_BUDGET:
        if (v->timer_fired)
            return 0;   /* the client's device timer (anyhv_vcpu_set_timer_deadline) */
        return !client_budget_done;   /* else the run stopped at a timer's expiry (deterministic mode) */
    case EXIT_CANCELED:
    case EXIT_EXT_IRQ:
        if (atomic_exchange(&v->ext.x86.client_cancel, false))
            return 0;
        return atomic_exchange(&a->kicked, false) ? 1 : 0;
    case EXIT_DEADLINE:
        return deadline_ns == BACKEND_NO_DEADLINE || host_monotonic_ns() < deadline_ns;
    case EXIT_IRQ_WINDOW:
        return !client_wants(v, CPU_BASED_IRQ_WND);
    case EXIT_HLT:
        if (client_wants(v, CPU_BASED_HLT))
            return 0;
        advance(v);
        end_shadow(v);
        return halt_in_library(in, a, deadline_ns);
    case EXIT_MSR_READ:
    case EXIT_MSR_WRITE:
        return handle_msr(in, a);
    default:
        return 0;
    }
}

/* An xAPIC page access: the client sees VMX's APIC-access exit. */
static void render_apic_access(struct x86_intr *in, struct x86_lapic *a)
{
    struct vcpu *v = a->vcpu;
    uint32_t off = (uint32_t)(v->exit.u.mem.gpa & (APIC_PAGE_SIZE - 1));
    v->ext.x86.exit_reason = VMX_REASON_APIC_ACCESS;
    v->ext.x86.exit_qualification = off | (v->exit.u.mem.write ? APIC_ACCESS_WRITE : 0);
    v->ext.x86.exit_gpa = 0;
    if (!v->exit.u.mem.write && lapic_read(in, a, off & ~0xfu, &a->exit_read_value) == HV_SUCCESS)
        a->exit.kind = HV_VM_EXITINFO_APIC_ACCESS_READ;
}

/* The instruction budget of the next entry: what is left of the client's budget for
 * this hv_vcpu_run (0: none), and in deterministic mode no further than the next timer
 * expiry, so the timer fires at the same instruction every run (its VM time is a
 * function of the count). 0 = unlimited. */
static uint64_t entry_budget(struct vcpu *v, uint64_t client_left, uint64_t due)
{
    uint64_t b = client_left;
    if (v->vm->det && due != UINT64_MAX) {
        uint64_t now = clock_now_ns(&v->vm->clock, v);
        uint64_t to_due = due > now ? (due - now + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN : 1;
        b = b && b < to_due ? b : to_due;
    }
    return b;
}

/* The host deadline of the next entry: the client's, and outside deterministic mode
 * also the next timer expiry. */
static uint64_t entry_deadline(struct vcpu *v, uint64_t deadline_ns, uint64_t due)
{
    if (v->vm->det || due == UINT64_MAX)
        return deadline_ns;
    uint64_t until = clock_host_deadline_ns(&v->vm->clock, due);
    return deadline_ns < until ? deadline_ns : until;
}

hv_return_t intr_run(struct vcpu *v, uint64_t deadline_ns)
{
    struct x86_intr *in = v->vm->intr;
    struct x86_lapic *a = v->ext.x86.lapic;
    uint64_t client_budget = v->insn_budget, start = v->icount;
    hv_return_t ret = HV_SUCCESS;
    pthread_mutex_lock(&in->lock);
    a->exit.kind = HV_VM_EXITINFO_VMX;
    bool enter = true;
    if (halted_in_library(v)) {
        memset(&v->exit, 0, sizeof(v->exit));
        v->timer_fired = false;
        enter = halt_in_library(in, a, deadline_ns) != 0;
    }
    while (enter) {
        uint64_t ctl = vmcs(v, VMCS_CTRL_CPU_BASED);
        v->ext.x86.intr_client_cpu_based = ctl;
        uint64_t run_ctl = ctl | CPU_BASED_HLT;
        uint64_t due = prepare(in, a, &run_ctl);
        x86_vmcs_write(v, VMCS_CTRL_CPU_BASED, run_ctl);
        uint64_t used = v->icount - start;
        v->insn_budget = entry_budget(v, client_budget ? client_budget - used : 0, due);
        pthread_mutex_unlock(&in->lock);
        ret = vcpu_run(v, entry_deadline(v, deadline_ns, due));
        v->insn_budget = client_budget;
        pthread_mutex_lock(&in->lock);
        cr8_from_guest(a);
        x86_vmcs_write(v, VMCS_CTRL_CPU_BASED, ctl);
        bool budget_done = client_budget && v->icount - start >= client_budget;
        if (ret != HV_SUCCESS || !triage(in, a, deadline_ns, budget_done))
            break;
        if (budget_done) {
            /* An exit handled here used the client's last instruction: the run ends. */
            v->exit.kind = EXIT_BUDGET;
            v->exit.icount = v->icount;
            debug_note_run(v);
            break;
        }
    }
    bool apic_access = ret == HV_SUCCESS && in_apic_page(a, &v->exit);
    pthread_mutex_unlock(&in->lock);
    if (v->vm->det)
        v->exec_time_ns = vcpu_guest_ns(v, v->icount);   /* with the idle time of a halt here */
    if (ret != HV_SUCCESS)
        return ret;
    ret = x86_exit_render(v);
    if (ret == HV_SUCCESS && apic_access) {
        pthread_mutex_lock(&in->lock);
        render_apic_access(in, a);
        pthread_mutex_unlock(&in->lock);
    }
    return ret;
}
