/* sys_timer.c - the generic timer as Apple's hypervisor presents it: a 24 MHz
 * counter (the host's monotonic clock), CNTVCT = counter - vtimer offset, and the
 * virtual timer condition that makes hv_vcpu_run return VTIMER_ACTIVATED. */
#include "frontends/arm64/a64_fe.h"

#include "core/a64_timer.h"
#include "core/vm.h"

uint64_t a64_host_counter(const struct soft_cpu *cpu)
{
    return a64_counter_now(cpu->vcpu, cpu->icount);
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
    if ((ctl & A64_CNT_CTL_WRITABLE) != A64_CNT_CTL_ENABLE)
        return false;
    return a64_cntvct(cpu) >= st->sys.cntv_cval_el0;
}
