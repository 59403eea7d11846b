/* host_guard.c - the soft route never lets a guest access fault the host process.
 * hv_vm_map checks the host range when it is mapped (core/host_range.c), but a client
 * may unmap or mprotect that memory afterwards without telling us. Every host access
 * on behalf of a guest happens on the vCPU's thread inside an execution period, so a
 * SIGSEGV/SIGBUS there whose address lies in a host range of the vCPU's stage 2 is
 * the guest touching memory the client took away: the handler ends the run with an
 * internal exit (SOFT_INTERNAL_HOST_FAULT, detail = guest-physical address;
 * hv_vcpu_run returns HV_ERROR) by unwinding to the dispatcher, exactly as a guest
 * fault does. Any other fault goes to the handler that was installed before ours (or
 * the default action), so anyhv's own bugs still crash loudly. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "core/soft/soft_internal.h"
#include "mmu/access.h"

/* The vCPU executing on this thread (initial-exec: read twice per period). */
static _Thread_local struct soft_vcpu *guarded __attribute__((tls_model("initial-exec")));
static struct sigaction previous[2];              /* SIGSEGV, SIGBUS */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static struct sigaction *previous_for(int sig)
{
    return &previous[sig == SIGBUS];
}

/* Is addr inside a host range the vCPU's stage 2 maps? Gives its guest-physical address. */
static bool guest_host_address(struct soft_vcpu *sv, uintptr_t addr, uint64_t *gpa)
{
    const struct pmap *pm = mmu_stage2(&sv->cpu);
    for (size_t i = 0; pm && i < pm->count; i++) {
        const struct pmap_range *r = &pm->ranges[i];
        uintptr_t lo = (uintptr_t)r->host;
        if (addr >= lo && addr - lo < r->size) {
            *gpa = r->gpa + (addr - lo);
            return true;
        }
    }
    return false;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = previous_for(sig);
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uc);
    } else if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
        /* Put the default action back: the faulting instruction runs again and the
         * process ends with the signal it would have had without us. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
    } else {
        old->sa_handler(sig);
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct soft_vcpu *sv = guarded;
    uint64_t gpa;
    if (!sv || !sv->cpu.unwind || !guest_host_address(sv, (uintptr_t)si->si_addr, &gpa)) {
        chain(sig, si, uc);
        return;
    }
    struct soft_cpu *cpu = &sv->cpu;
    if (cpu->insn_open)
        cpu->fe->set_pc(cpu, cpu->insn_pc);   /* at the instruction, as a guest fault */
    soft_internal_exit(cpu, SOFT_INTERNAL_HOST_FAULT, gpa);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    longjmp(*cpu->unwind, 1);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous[0]);
    sigaction(SIGBUS, &sa, &previous[1]);
}

void soft_guard_install(void)
{
    pthread_once(&install_once, install);
}

void soft_guard_enter(struct soft_vcpu *sv)
{
    guarded = sv;
}

void soft_guard_leave(void)
{
    guarded = NULL;
}
