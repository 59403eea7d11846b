/* clock.h - the VM clock: the one time base every guest-visible clock of a VM derives
 * from (the soft route's TSC, hv_tsc_clock(), the in-framework APIC timers, and
 * hv_vcpu_get_exec_time() in deterministic mode; otherwise exec time is measured with
 * the host counter at the end of this file, in the same host nanoseconds). By default it follows the host's monotonic time, counted from VM
 * creation; the guest sees it as a TSC running at a fixed advertised frequency, so
 * a guest calibrates the same TSC frequency on every boot and finds it agrees with
 * wall-clock timers a VMM emulates (PIT, PM timer, HPET).
 *
 * The source is chosen in one place, clock_now_ns_at(): in deterministic mode a vCPU's
 * time is a function of its retired instructions (core/determinism.c).
 *
 *     uint64_t t = clock_now_ns(&vm->clock, vcpu);      // VM nanoseconds
 *     uint64_t tsc = clock_ns_to_ticks(&vm->clock, t);  // the same instant in TSC ticks
 */
#ifndef ANYHV_CORE_CLOCK_H
#define ANYHV_CORE_CLOCK_H

#include <stdint.h>

struct vcpu;

/* The TSC frequency the guest is told about (CPUID leaves 0x15/0x16) and that the
 * VM clock ticks at: 1 GHz, so one tick is one nanosecond of VM time. */
#define CLOCK_TSC_HZ 1000000000ull
#define CLOCK_NS_PER_S 1000000000ull

enum clock_source {
    CLOCK_SOURCE_HOST = 0,   /* host CLOCK_MONOTONIC since VM creation (the default) */
};

struct vm_clock {
    enum clock_source source;
    uint64_t origin_ns;      /* host monotonic time at VM creation */
    uint64_t tsc_hz;         /* CLOCK_TSC_HZ */
};

/* Start the clock at 0 now (VM creation). */
void clock_init(struct vm_clock *c);

/* VM time in nanoseconds. `vcpu` is the vCPU asking (NULL from another thread or for
 * VM-wide readers); a source that is per-vCPU may use it. Monotonic. */
uint64_t clock_now_ns(const struct vm_clock *c, const struct vcpu *vcpu);

/* The same, for a vCPU that has retired `icount` instructions so far (the soft CPU's
 * count inside a run, which vcpu->icount only catches up with at the run's end). */
uint64_t clock_now_ns_at(const struct vm_clock *c, const struct vcpu *vcpu, uint64_t icount);

/* VM nanoseconds <-> TSC ticks at c->tsc_hz (exact 128-bit arithmetic). */
uint64_t clock_ns_to_ticks(const struct vm_clock *c, uint64_t ns);
uint64_t clock_ticks_to_ns(const struct vm_clock *c, uint64_t ticks);

/* The TSC tick count of the VM clock now: hv_tsc_clock(), and the base of every
 * soft-route vCPU's TSC (which adds its own offset). */
uint64_t clock_now_ticks(const struct vm_clock *c, const struct vcpu *vcpu);

/* The host CLOCK_MONOTONIC time at which the VM clock reaches vm_ns, for a halted
 * vCPU's wake-up; UINT64_MAX when the source cannot say (it never passes while halted). */
uint64_t clock_host_deadline_ns(const struct vm_clock *c, uint64_t vm_ns);

/* A cheap host counter for the time spent inside hv_vcpu_run (two reads a run, where
 * a clock_gettime pair cost a fifth of a client-visible exit): the TSC on x86-64 and
 * the generic timer's virtual count on arm64 when the kernel keeps time with that
 * counter (so it runs at a constant rate and agrees across CPUs), else host
 * CLOCK_MONOTONIC nanoseconds. Only differences of readings mean anything. */
uint64_t clock_host_ticks(void);
/* Choose the counter (once per process; clock_init does it, before any run). */
void clock_host_ticks_start(void);
/* A number of clock_host_ticks() ticks as nanoseconds. The TSC's rate is measured
 * against CLOCK_MONOTONIC from the first reading on and fixed once that span is long
 * enough to make it exact to a few parts per million; the error before that is at
 * most the skew of two clock readings. */
uint64_t clock_host_ticks_to_ns(uint64_t ticks);

#endif /* ANYHV_CORE_CLOCK_H */
