/* Hostile input on the run path: guest state KVM refuses comes back as an error the
 * client can fix, and random bytes run as real-mode guest code never crash the
 * library (every exit either has a length the client can skip, or ends the run).
 * ANYHV_FUZZ_ITERS sets the number of random images (a bounded slice by default). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm/client.h"
#include "support/backend.h"

#define FUZZ_ITERS_DEFAULT 6
#define FUZZ_CODE_BYTES 4096
#define FUZZ_MAX_EXITS 32
#define FUZZ_SLICE_NS 20000000ull

static struct client c;

static void setup(void)
{
    client_tiny_start(&c);
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(kvm_hostile, .init = setup, .fini = teardown, .timeout = 120);

Test(kvm_hostile, refused_guest_state_is_an_error_and_fixable)
{
    /* Long mode asked for without paging: no CPU can enter that state. */
    wvmcs(c.vcpu, VMCS_GUEST_IA32_EFER, 0x500);
    hv_return_t ret = hv_vcpu_run(c.vcpu);
    if (ret == HV_UNSUPPORTED)
        cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                     anyhv_backend_name());
    cr_expect_eq(ret, HV_ILLEGAL_GUEST_STATE, "refused state: %#x", (unsigned)ret);
    wvmcs(c.vcpu, VMCS_GUEST_IA32_EFER, 0);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT, "usable again once the client fixes the state");
}

/* Entry interruption information VM entry refuses (SDM 26.2.1.3), each on both routes:
 * the run fails with HV_ILLEGAL_GUEST_STATE, the field is left as written, and the
 * vCPU runs again once the client clears it. */
Test(kvm_hostile, refused_entry_events_fail_the_entry)
{
    static const uint32_t bad[] = {
        0x80000300u | 32u,    /* hardware exception, vector 32 */
        0x80000300u | 255u,   /* hardware exception, vector 255 */
        0x80000600u | 40u,    /* software exception, vector 40 */
        0x80000100u | 6u,     /* reserved type 1 */
        0x80000700u,          /* other event (MTF), not offered */
        0x80000200u | 3u,     /* NMI with a vector other than 2 */
        0x80001000u | 6u,     /* reserved bit 12 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, bad[i]);
        hv_return_t ret = hv_vcpu_run(c.vcpu);
        if (ret == HV_UNSUPPORTED)
            cr_skip_test("backend %s cannot run guest code", anyhv_backend_name());
        cr_expect_eq(ret, HV_ILLEGAL_GUEST_STATE, "info %#x: %#x", bad[i], (unsigned)ret);
        cr_expect_eq(rvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO), bad[i], "the field is left as written");
    }
    wvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, 0);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT, "usable again once the client clears it");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Run one image until an exit without a length, a refusal, or the exit budget. */
static void run_random(unsigned seed)
{
    srand(seed);
    for (unsigned i = 0; i < FUZZ_CODE_BYTES; i++)
        c.ram[TINY_HLT + i] = (uint8_t)rand();
    client_real_mode(c.vcpu, TINY_HLT);
    for (int n = 0; n < FUZZ_MAX_EXITS; n++) {
        hv_return_t ret = hv_vcpu_run_until(c.vcpu, now_ns() + FUZZ_SLICE_NS);
        if (ret == HV_UNSUPPORTED)
            cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                         anyhv_backend_name());
        cr_assert(ret == HV_SUCCESS || ret == HV_ERROR || ret == HV_ILLEGAL_GUEST_STATE,
                  "seed %u: documented result, got %#x", seed, (unsigned)ret);
        if (ret != HV_SUCCESS)
            return;
        uint32_t reason = (uint32_t)rvmcs(c.vcpu, VMCS_RO_EXIT_REASON) & 0xffff;
        uint64_t len = rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
        if (reason == VMX_REASON_TRIPLE_FAULT || reason == VMX_REASON_VMX_TIMER_EXPIRED)
            return;
        if (reason == VMX_REASON_IO || reason == VMX_REASON_EPT_VIOLATION || reason == VMX_REASON_RDMSR ||
            reason == VMX_REASON_WRMSR || reason == VMX_REASON_HLT) {
            if (len < 1 || len > 15)
                return;
            wreg(c.vcpu, HV_X86_RIP, rreg(c.vcpu, HV_X86_RIP) + len);   /* discard the access */
        }
    }
}

Test(kvm_hostile, random_real_mode_code)
{
    const char *env = getenv("ANYHV_FUZZ_ITERS");
    unsigned iters = env ? (unsigned)strtoul(env, NULL, 0) : FUZZ_ITERS_DEFAULT;
    for (unsigned seed = 1; seed <= iters; seed++)
        run_random(seed);
    /* The VM still answers. */
    memset(c.ram + TINY_HLT, 0xf4, 16);
    client_real_mode(c.vcpu, TINY_HLT);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT);
}
