/* test_clock.c - one VM clock: the guest's TSC, hv_tsc_clock() and
 * hv_vcpu_get_exec_time() derive from it. A guest RDTSC lands between two
 * hv_tsc_clock() readings around the run (plus the vCPU's offset); the clock follows
 * host time (a host sleep of S ns moves it by at least S ticks at the advertised
 * 1 GHz: bounds only, nothing timed); hv_vcpu_set_tsc_relative and hv_vm_sync_tsc
 * move the guest TSC by what they say. The soft route only for the TSC parts (on KVM
 * the kernel keeps the TSC: those calls answer HV_UNSUPPORTED, checked too). In
 * deterministic mode the clock is virtual: hv_tsc_clock() reads the owner's vCPU time
 * (retired instructions at 1 ns each) from its thread and the VM's from any other,
 * and no host sleep moves either. */
#include <criterion/criterion.h>
#include <anyhv/anyhv.h>
#include <pthread.h>

#include "support/backend.h"
#include "x86_guest.h"

#define SLEEP_NS 20000000ull
#define TICKS_PER_NS 1ull          /* the advertised TSC frequency is 1 GHz */
#define BIG_OFFSET 0x100000000000ull

/* rdtsc; hlt */
static const uint8_t rdtsc_hlt[] = { 0x0f, 0x31, 0xf4 };

static void setup_guest(struct xg *g)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_long_mode(g), 0);
    memcpy(g->ram + XG_CODE, rdtsc_hlt, sizeof(rdtsc_hlt));
}

static bool soft_route(void)
{
    return strcmp(anyhv_backend_name(), "soft") == 0;
}

/* Run from XG_CODE to the HLT; the TSC the guest read, with the clock around it. */
static uint64_t guest_tsc(struct xg *g, uint64_t *before, uint64_t *after)
{
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, XG_CODE);
    *before = hv_tsc_clock();
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    *after = hv_tsc_clock();
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_HLT);
    return (xg_reg(g, HV_X86_RDX) << 32) | (uint32_t)xg_reg(g, HV_X86_RAX);
}

Test(soft_x86_clock, hv_tsc_clock_follows_host_time)
{
    struct xg g;
    setup_guest(&g);
    uint64_t t0 = hv_tsc_clock();
    struct timespec ts = { 0, (long)SLEEP_NS };
    nanosleep(&ts, NULL);
    uint64_t t1 = hv_tsc_clock();
    cr_expect_geq(t1 - t0, SLEEP_NS * TICKS_PER_NS, "clock moved %llu ticks over a %llu ns sleep",
                  (unsigned long long)(t1 - t0), (unsigned long long)SLEEP_NS);
    uint64_t exec = 0;
    cr_assert_eq(hv_vcpu_get_exec_time(g.vcpu, &exec), HV_SUCCESS);
    uint64_t before, after;
    guest_tsc(&g, &before, &after);
    uint64_t exec2 = 0;
    cr_assert_eq(hv_vcpu_get_exec_time(g.vcpu, &exec2), HV_SUCCESS);
    cr_expect_leq(exec2 - exec, (after - before) / TICKS_PER_NS, "exec time within the run's clock span");
    xg_destroy(&g);
}

Test(soft_x86_clock, guest_tsc_is_the_vm_clock_plus_offset)
{
    struct xg g;
    setup_guest(&g);
    if (!soft_route()) {
        cr_expect_eq(hv_vcpu_set_tsc_relative(g.vcpu, 0), HV_UNSUPPORTED, "KVM keeps the TSC itself");
        xg_destroy(&g);
        cr_skip_test("the guest TSC is the kernel's on %s", anyhv_backend_name());
    }
    uint64_t before, after;
    uint64_t tsc = guest_tsc(&g, &before, &after);
    cr_expect(tsc >= before && tsc <= after, "fresh vCPU: TSC %llu within [%llu, %llu]", (unsigned long long)tsc,
              (unsigned long long)before, (unsigned long long)after);

    cr_assert_eq(hv_vcpu_set_tsc_relative(g.vcpu, (int64_t)BIG_OFFSET), HV_SUCCESS);
    tsc = guest_tsc(&g, &before, &after);
    cr_expect(tsc >= before + BIG_OFFSET && tsc <= after + BIG_OFFSET, "relative: TSC %llu", (unsigned long long)tsc);
    uint64_t msr = 0;
    uint64_t c0 = hv_tsc_clock();
    cr_assert_eq(hv_vcpu_read_msr(g.vcpu, HV_MSR_IA32_TSC, &msr), HV_SUCCESS);
    uint64_t c1 = hv_tsc_clock();
    cr_expect(msr >= c0 + BIG_OFFSET && msr <= c1 + BIG_OFFSET, "the TSC MSR reads the same clock");

    uint64_t s0 = hv_tsc_clock();
    cr_assert_eq(hv_vm_sync_tsc(0), HV_SUCCESS);
    uint64_t s1 = hv_tsc_clock();
    tsc = guest_tsc(&g, &before, &after);
    cr_expect(tsc >= before - s1 && tsc <= after - s0, "after hv_vm_sync_tsc(0) the TSC counts from 0: %llu",
              (unsigned long long)tsc);
    cr_expect_lt(tsc, BIG_OFFSET, "the offset is gone");
    xg_destroy(&g);
}

static void *read_clock(void *out)
{
    *(uint64_t *)out = hv_tsc_clock();
    return NULL;
}

/* hv_tsc_clock() read by a thread that owns no vCPU. */
static uint64_t clock_elsewhere(void)
{
    pthread_t t;
    uint64_t ticks = 0;
    cr_assert_eq(pthread_create(&t, NULL, read_clock, &ticks), 0);
    pthread_join(t, NULL);
    return ticks;
}

Test(soft_x86_clock, deterministic_mode_keeps_host_time_out_of_hv_tsc_clock)
{
    test_require_backend();
    if (!soft_route())
        cr_skip_test("deterministic mode is the software route's");
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    struct xg g;
    setup_guest(&g);
    uint64_t before, after;
    uint64_t tsc = guest_tsc(&g, &before, &after);
    uint64_t insns = 0;
    cr_assert_eq(anyhv_vcpu_get_instructions(g.vcpu, &insns), HV_SUCCESS);
    cr_expect_eq(after, insns * TICKS_PER_NS, "the owner reads its vCPU's time: %llu ticks after %llu instructions",
                 (unsigned long long)after, (unsigned long long)insns);
    cr_expect(tsc >= before && tsc <= after, "the guest's TSC %llu within [%llu, %llu]", (unsigned long long)tsc,
              (unsigned long long)before, (unsigned long long)after);
    struct timespec ts = { 0, (long)SLEEP_NS };
    nanosleep(&ts, NULL);
    cr_expect_eq(hv_tsc_clock(), after, "a host sleep does not move the clock");
    cr_expect_eq(clock_elsewhere(), after, "another thread reads the VM's time (the furthest vCPU's)");

    /* hv_vm_sync_tsc reads the same virtual clock: the next RDTSC, the run's first
     * instruction, reads exactly the value set. */
    cr_assert_eq(hv_vm_sync_tsc(0), HV_SUCCESS);
    tsc = guest_tsc(&g, &before, &after);
    cr_expect_eq(tsc, 0, "after hv_vm_sync_tsc(0) the first RDTSC reads 0, not %#llx", (unsigned long long)tsc);
    xg_destroy(&g);
    anyhv_set_deterministic(false);
}
