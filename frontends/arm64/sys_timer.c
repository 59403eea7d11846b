/* sys_timer.c - the generic timer as Apple's hypervisor presents it: a 24 MHz
 * counter (the host's monotonic clock), CNTVCT = counter - vtimer offset, and the
 * virtual timer condition that makes hv_vcpu_run return VTIMER_ACTIVATED. */
#include "frontends/arm64/a64_fe.h"

#include <time.h>

#include "core/vm.h"

#define NS_PER_SEC 1000000000ull
#define CNT_CTL_ENABLE 1ull
#define CNT_CTL_IMASK 2ull

/* The physical counter ticks at A64_CNTFRQ from the vCPU's guest time: the host's
 * CLOCK_MONOTONIC, or virtual time in deterministic mode (split to avoid overflow). */
uint64_t a64_host_counter(const struct soft_cpu *cpu)
{
    uint64_t ns = vcpu_guest_ns(cpu->vcpu, cpu->icount);
    uint64_t sec = ns / NS_PER_SEC, rem = ns % NS_PER_SEC;
    return sec * A64_CNTFRQ + rem * A64_CNTFRQ / NS_PER_SEC;
}

uint64_t a64_cntvct(struct soft_cpu *cpu)
{
    return a64_host_counter(cpu) - cpu->vcpu->ext.a64.vtimer_offset;
}

/* The timer asserts its interrupt: enabled, not masked by IMASK, condition met. */
bool a64_vtimer_firing(struct soft_cpu *cpu)
{
    const struct a64_state *st = a64_st(cpu);
    uint64_t ctl = st->sys.cntv_ctl_el0;
    if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) != CNT_CTL_ENABLE)
        return false;
    return a64_cntvct(cpu) >= st->sys.cntv_cval_el0;
}
