/* KVM backend: the run loop. KVM_RUN until an exit the client must see, turned into
 * the neutral exit record. Cancellation (hv_vcpu_interrupt) sets immediate_exit and
 * sends the kick signal to the vCPU's thread; the hv_vcpu_run_until deadline
 * (CLOCK_MONOTONIC nanoseconds) is a per-vCPU POSIX timer sending the same signal.
 * A guest HLT without HLT exiting parks the vCPU in the HLT activity state until an
 * event is injected, the deadline passes or hv_vcpu_interrupt wakes it. */
#include "core/kvm/kvm.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Real-time signal (SIGRTMIN + this) that kicks a vCPU thread out of KVM_RUN. */
#define KICK_SIGNAL_OFFSET 5
#define HLT_INSN_LEN 1u
#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig)
{
    (void)sig;   /* its only job is to interrupt KVM_RUN (or poll) with EINTR */
}

static void kick_install(void)
{
    struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN + KICK_SIGNAL_OFFSET, &sa, NULL);
}

int kvm_kick_signal(void)
{
    pthread_once(&kick_once, kick_install);
    return SIGRTMIN + KICK_SIGNAL_OFFSET;
}

void kvm_vcpu_cancel(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    /* Order: the request bit (set by the caller), then immediate_exit, then the
     * signal; the run loop clears immediate_exit before it reads the request. */
    __atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    uint64_t one = 1;
    ssize_t w = write(kv->wake_fd, &one, sizeof(one));
    (void)w;
    if (atomic_load(&v->running))
        pthread_kill(v->owner, kvm_kick_signal());
}

static bool take_cancel(struct vcpu *v)
{
    return atomic_fetch_and(&v->requests, ~(uint32_t)VCPU_REQ_CANCEL) & VCPU_REQ_CANCEL;
}

/* --- deadline ------------------------------------------------------------------ */

static hv_return_t deadline_arm(struct vcpu *v, uint64_t deadline_ns)
{
    struct kvm_vcpu *kv = v->be;
    if (!kv->timer_ok) {
        struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = kvm_kick_signal() };
        sev._sigev_un._tid = kv->tid;
        if (timer_create(CLOCK_MONOTONIC, &sev, &kv->timer) < 0)
            return HV_NO_RESOURCES;
        kv->timer_ok = true;
    }
    struct itimerspec its = { .it_value = { .tv_sec = (time_t)(deadline_ns / NS_PER_SEC),
                                            .tv_nsec = (long)(deadline_ns % NS_PER_SEC) } };
    return timer_settime(kv->timer, TIMER_ABSTIME, &its, NULL) < 0 ? HV_ERROR : HV_SUCCESS;
}

static void deadline_disarm(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    struct itimerspec off = { 0 };
    if (kv->timer_ok)
        timer_settime(kv->timer, 0, &off, NULL);
}

static bool deadline_passed(uint64_t deadline_ns)
{
    return deadline_ns != BACKEND_NO_DEADLINE && host_monotonic_ns() >= deadline_ns;
}

/* --- halted vCPU ---------------------------------------------------------------- */

/* Wait in the HLT activity state; true when something needs the loop's attention. */
static void halt_wait(struct vcpu *v, uint64_t deadline_ns)
{
    struct kvm_vcpu *kv = v->be;
    int timeout_ms = -1;
    if (deadline_ns != BACKEND_NO_DEADLINE) {
        uint64_t now = host_monotonic_ns();
        uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
        timeout_ms = (int)((left + NS_PER_MS - 1) / NS_PER_MS);
    }
    struct pollfd p = { .fd = kv->wake_fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) > 0) {
        uint64_t n;
        ssize_t r = read(kv->wake_fd, &n, sizeof(n));
        (void)r;
    }
}

#define INTR_BLOCKING_STI_MOVSS 3u

/* Interrupt-window exiting: the window is open when RFLAGS.IF = 1 and neither STI
 * nor MOV SS blocks interrupts. */
static bool irq_window_wanted(struct vcpu *v)
{
    return (v->st.x86->vmx.cpu_based & X86_VMX_CPU_IRQ_WND) != 0;
}

static hv_return_t irq_window_open(struct vcpu *v, bool *open)
{
    hv_return_t ret = vcpu_state_load(v, SG_GPR | SG_EVENTS);
    const struct x86_state *st = v->st.x86;
    *open = ret == HV_SUCCESS && (st->rflags & X86_FLAG_IF) && !(st->interruptibility & INTR_BLOCKING_STI_MOVSS);
    return ret;
}

/* HLT: VMX reports the exit with RIP on the HLT; KVM has already stepped past it.
 * A HLT reached with the interrupt window open and window exiting on means the
 * window opened before it (a KVM that emulates the guest does not stop earlier):
 * that exit comes first, on the HLT. */
static hv_return_t exit_hlt(struct vcpu *v, bool *done)
{
    hv_return_t ret = vcpu_state_load(v, SG_GPR);
    if (ret != HV_SUCCESS)
        return ret;
    struct x86_state *st = v->st.x86;
    bool window = irq_window_wanted(v) && (st->rflags & X86_FLAG_IF);
    if (!window && !(st->vmx.cpu_based & X86_VMX_CPU_HLT)) {
        st->activity_state = X86_ACTIVITY_HLT;   /* RIP stays past HLT, as in the HLT state */
        *done = false;
        return HV_SUCCESS;
    }
    st->rip -= HLT_INSN_LEN;
    vcpu_state_touch(v, SG_GPR);
    v->exit.kind = window ? EXIT_IRQ_WINDOW : EXIT_HLT;
    v->exit.pc = st->rip;
    v->exit.insn_len = window ? 0 : HLT_INSN_LEN;
    *done = true;
    return HV_SUCCESS;
}

static void exit_internal(struct vcpu *v, uint32_t code, uint64_t detail)
{
    v->exit.kind = EXIT_INTERNAL;
    v->exit.u.internal.code = code;
    v->exit.u.internal.detail = detail;
}

/* A #DB of anyhv's own (events.c, guest_debug_wanted): a single step ends the run as an
 * instruction budget of one does; a debug-register hit is a breakpoint stop, before the
 * instruction. */
#define DR6_BREAKPOINTS 0xfull
#define DR6_SINGLE_STEP (1ull << 14)

static hv_return_t exit_debug(struct vcpu *v)
{
    struct kvm_run *run = ((struct kvm_vcpu *)v->be)->run;
    v->exit.pc = run->debug.arch.pc;
    if (run->debug.arch.dr6 & DR6_BREAKPOINTS) {
        v->exit.kind = EXIT_DEBUG;
        v->dbg.stop = (struct vcpu_stop){ .kind = VCPU_STOP_BREAKPOINT, .pc = v->exit.pc };
        return HV_SUCCESS;
    }
    if (run->debug.arch.dr6 & DR6_SINGLE_STEP) {
        v->exit.kind = EXIT_BUDGET;
        return HV_SUCCESS;
    }
    exit_internal(v, run->exit_reason, run->debug.arch.dr6);
    return HV_ERROR;
}


/* One KVM exit -> done (an exit for the client) or continue. */
static hv_return_t dispatch(struct vcpu *v, bool *done)
{
    struct kvm_run *run = ((struct kvm_vcpu *)v->be)->run;
    *done = true;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return kvm_exit_pio(v);
    case KVM_EXIT_MMIO:
        return kvm_exit_mmio(v);
    case KVM_EXIT_HLT:
        return exit_hlt(v, done);
    case KVM_EXIT_SHUTDOWN:
        v->exit.kind = EXIT_SHUTDOWN;
        return HV_SUCCESS;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        if (!(v->st.x86->vmx.cpu_based & X86_VMX_CPU_IRQ_WND)) {
            *done = false;
            return HV_SUCCESS;
        }
        v->exit.kind = EXIT_IRQ_WINDOW;
        return HV_SUCCESS;
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR: {
        bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;
        if (run->msr.reason == KVM_MSR_EXIT_REASON_FILTER && kvm_msr_native(v, run->msr.index, write)) {
            *done = false;
            return kvm_msr_complete_native(v);
        }
        return kvm_exit_msr(v, write);
    }
    case KVM_EXIT_DEBUG:
        if (run->debug.arch.exception == X86_EXC_DB)
            return exit_debug(v);
        if (run->debug.arch.exception == X86_EXC_BP) {
            v->exit.kind = EXIT_EXCEPTION;
            v->exit.pc = run->debug.arch.pc;
            v->exit.insn_len = 1;
            v->exit.u.exc = (struct exit_exception){ .vector = X86_EXC_BP, .type = X86_EVENT_SOFT_EXC };
            return HV_SUCCESS;
        }
        exit_internal(v, run->exit_reason, run->debug.arch.exception);
        return HV_ERROR;
    case KVM_EXIT_INTR:
        *done = false;
        return HV_SUCCESS;
    case KVM_EXIT_FAIL_ENTRY:
        exit_internal(v, run->exit_reason, run->fail_entry.hardware_entry_failure_reason);
        return HV_ILLEGAL_GUEST_STATE;
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && kvm_exit_fetch_fault(v))
            return HV_SUCCESS;
        exit_internal(v, run->exit_reason, run->internal.suberror);
        return HV_ERROR;
    default:
        exit_internal(v, run->exit_reason, 0);
        return HV_ERROR;
    }
}

static hv_return_t enter_once(struct vcpu *v, bool *done)
{
    struct kvm_vcpu *kv = v->be;
    *done = false;
    uint32_t valid_before = v->state_valid;
    kvm_xlat_flush(kv);
    struct kvm_vm *k = v->vm->be_data;
    kvm_gate_enter(k);
    int r = ioctl(kv->fd, KVM_RUN, 0);
    int err = errno;
    kvm_gate_leave(k);
    v->state_valid = 0;   /* the kernel holds the current state now */
    if (r < 0) {
        if (err == EINTR || err == EAGAIN)
            return HV_SUCCESS;   /* kick or deadline: the loop decides */
        exit_internal(v, 0, (uint64_t)err);
        if (err != EINVAL)
            return HV_ERROR;
        /* KVM refused the state loaded from the sync area: the struct keeps what the
         * client wrote, to be fixed and pushed again. */
        v->state_valid = valid_before;
        v->state_dirty |= valid_before & (SG_GPR | SG_SREGS | SG_EVENTS);
        kv->run->kvm_dirty_regs = 0;
        return HV_ILLEGAL_GUEST_STATE;
    }
    return dispatch(v, done);
}

static hv_return_t run_loop(struct vcpu *v, uint64_t deadline_ns)
{
    struct kvm_vcpu *kv = v->be;
    for (;;) {
        __atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (take_cancel(v)) {
            v->exit.kind = EXIT_CANCELED;
            return HV_SUCCESS;
        }
        if (deadline_passed(deadline_ns)) {
            v->exit.kind = EXIT_DEADLINE;
            return HV_SUCCESS;
        }
        hv_return_t ret = kvm_state_flush(v);
        if (ret == HV_SUCCESS)
            ret = kvm_events_before_entry(v);
        if (ret != HV_SUCCESS)
            return ret;
        if (irq_window_wanted(v)) {
            bool open;
            if ((ret = irq_window_open(v, &open)) != HV_SUCCESS)
                return ret;
            if (open) {
                v->st.x86->activity_state = X86_ACTIVITY_ACTIVE;
                v->exit.kind = EXIT_IRQ_WINDOW;
                v->exit.pc = v->st.x86->rip;
                return HV_SUCCESS;
            }
        }
        if (v->st.x86->activity_state == X86_ACTIVITY_HLT) {
            halt_wait(v, deadline_ns);
            continue;
        }
        bool done;
        ret = enter_once(v, &done);
        if (ret != HV_SUCCESS || done)
            return ret;
    }
}

hv_return_t kvm_vcpu_run(struct vcpu *v, uint64_t deadline_ns)
{
    hv_return_t ret = kvm_msr_filter_sync(v);
    if (ret != HV_SUCCESS)
        return ret;
    kvm_controls_check(v);
    bool timed = deadline_ns != BACKEND_NO_DEADLINE && !deadline_passed(deadline_ns);
    if (timed && (ret = deadline_arm(v, deadline_ns)) != HV_SUCCESS)
        return ret;
    ret = run_loop(v, deadline_ns);
    if (timed)
        deadline_disarm(v);
    return ret;
}
