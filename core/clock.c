/* clock.c - the VM clock (see clock.h). */
#include "core/clock.h"

#include "core/vm.h"

void clock_init(struct vm_clock *c)
{
    c->source = CLOCK_SOURCE_HOST;
    c->origin_ns = host_monotonic_ns();
    c->tsc_hz = CLOCK_TSC_HZ;
}

/* The one place the time source is chosen. In deterministic mode (core/determinism.c)
 * a vCPU's time is a function of the instructions it retired (vcpu_guest_ns), so every
 * clock derived from here - the soft route's TSC, the APIC timers, exec time - repeats
 * exactly from run to run; VM-wide readers (no vCPU) keep host time. */
uint64_t clock_now_ns_at(const struct vm_clock *c, const struct vcpu *vcpu, uint64_t icount)
{
    if (vcpu && vcpu->vm->det)
        return vcpu_guest_ns(vcpu, icount);
    switch (c->source) {
    case CLOCK_SOURCE_HOST:
    default:
        return host_monotonic_ns() - c->origin_ns;
    }
}

uint64_t clock_now_ns(const struct vm_clock *c, const struct vcpu *vcpu)
{
    return clock_now_ns_at(c, vcpu, vcpu ? vcpu->icount : 0);
}

uint64_t clock_ns_to_ticks(const struct vm_clock *c, uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * c->tsc_hz / CLOCK_NS_PER_S);
}

uint64_t clock_ticks_to_ns(const struct vm_clock *c, uint64_t ticks)
{
    return (uint64_t)((unsigned __int128)ticks * CLOCK_NS_PER_S / c->tsc_hz);
}

uint64_t clock_now_ticks(const struct vm_clock *c, const struct vcpu *vcpu)
{
    return clock_ns_to_ticks(c, clock_now_ns(c, vcpu));
}

uint64_t clock_host_deadline_ns(const struct vm_clock *c, uint64_t vm_ns)
{
    switch (c->source) {
    case CLOCK_SOURCE_HOST:
    default:
        return vm_ns > UINT64_MAX - c->origin_ns ? UINT64_MAX : c->origin_ns + vm_ns;
    }
}
