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

/* Block boundaries between clock reads while the timer is armed and not yet due: a
 * clock read each block was ~7% of a Linux boot on the interpreter. The deadline is
 * seen at most this many blocks late (microseconds); a register write is seen at once. */
#define VTIMER_POLL_BLOCKS 32u

bool a64_vtimer_due(struct soft_cpu *cpu)
{
    struct a64_fe_data *d = cpu->fe_data;
    const struct a64_state *st = a64_st(cpu);
    uint64_t ctl = st->sys.cntv_ctl_el0 & A64_CNT_CTL_WRITABLE;
    if (ctl != A64_CNT_CTL_ENABLE)
        return false;
    if (!d || cpu->vcpu->vm->det)
        return a64_vtimer_firing(cpu);   /* virtual time: exact, and as cheap */
    uint64_t cval = st->sys.cntv_cval_el0, off = cpu->vcpu->ext.a64.vtimer_offset;
    if (d->timer_quiet_left && d->timer_ctl == ctl && d->timer_cval == cval && d->timer_off == off) {
        d->timer_quiet_left--;
        return false;
    }
    bool firing = a64_vtimer_firing(cpu);
    d->timer_ctl = ctl;
    d->timer_cval = cval;
    d->timer_off = off;
    d->timer_quiet_left = firing ? 0 : VTIMER_POLL_BLOCKS;
    return firing;
}
