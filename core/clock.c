/* clock.c - the VM clock (see clock.h). */
#include "core/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/vm.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

void clock_init(struct vm_clock *c)
{
    clock_host_ticks_start();
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

/* ---- the host counter for exec time ------------------------------------------ */

/* Calibration span after which the TSC rate is fixed (100 ms: the two clock readings'
 * skew, well under a microsecond, is then below 10 parts per million). */
#define HOST_TICKS_FIX_NS 100000000ull
#define CLOCKSOURCE_PATH "/sys/devices/system/clocksource/clocksource0/current_clocksource"

static struct {
    pthread_once_t once;
    bool counter;            /* ticks are the hardware counter, not nanoseconds */
    uint64_t hz;             /* its known rate (arm64 CNTFRQ_EL0), 0: measured (TSC) */
    uint64_t t0, ns0;        /* a reading of both at start */
    pthread_mutex_t lock;    /* the measured rate, once fixed */
    uint64_t fixed_dt, fixed_dns;
} host = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t counter_read(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return host_monotonic_ns();
#endif
}

/* The kernel keeps time with the counter we would read. */
static bool kernel_uses_counter(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
    const char *want = "tsc";
#else
    const char *want = "arch_sys_counter";
#endif
    char name[64] = { 0 };
    FILE *f = fopen(CLOCKSOURCE_PATH, "r");
    if (!f)
        return false;
    bool ok = fgets(name, sizeof(name), f) != NULL;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    return ok && strcmp(name, want) == 0;
#else
    return false;
#endif
}

static void host_ticks_init(void)
{
    host.counter = kernel_uses_counter();
#if defined(__aarch64__)
    uint64_t frq;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
    host.hz = frq;
    host.counter = host.counter && frq != 0;
#endif
    host.ns0 = host_monotonic_ns();
    host.t0 = host.counter ? counter_read() : host.ns0;
}

void clock_host_ticks_start(void)
{
    pthread_once(&host.once, host_ticks_init);
}

uint64_t clock_host_ticks(void)
{
    return host.counter ? counter_read() : host_monotonic_ns();
}

uint64_t clock_host_ticks_to_ns(uint64_t ticks)
{
    pthread_once(&host.once, host_ticks_init);
    if (!host.counter)
        return ticks;
    if (host.hz)
        return (uint64_t)((unsigned __int128)ticks * CLOCK_NS_PER_S / host.hz);
    pthread_mutex_lock(&host.lock);
    uint64_t dt = host.fixed_dt, dns = host.fixed_dns;
    if (!dt) {
        dns = host_monotonic_ns() - host.ns0;
        dt = counter_read() - host.t0;
        if (dns >= HOST_TICKS_FIX_NS && dt) {
            host.fixed_dt = dt;
            host.fixed_dns = dns;
        }
    }
    pthread_mutex_unlock(&host.lock);
    return dt ? (uint64_t)((unsigned __int128)ticks * dns / dt) : 0;
}
