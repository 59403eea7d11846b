/* test_random_code.c - random bytes as guest code, in real mode, 64-bit CPL0,
 * 64-bit CPL3 and 32-bit protected mode (there with a 4 KiB data segment, and at
 * times TF or armed debug registers): every run must come back with an exit (exceptions through the
 * exception bitmap, port I/O, HLT, triple fault, or the instruction budget for code
 * that loops), never a crash, hang or host access outside guest RAM (run it under
 * ASan: -DANYHV_SANITIZE=ON). The VM must stay usable from one case to the next.
 * Runs end by instruction budget, not wall time, so a case runs the same every time.
 * Cases: ANYHV_FUZZ_ITERS, else ANYHV_TEST_SLICE, else a bounded slice. */
#include <criterion/criterion.h>
#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "support/cases.h"
#include "x86_guest.h"

#define DEFAULT_CASES 400
#define MODES 4
#define MODE_PROT32 3
#define SEL_SMALL_DATA 0x38u             /* GDT index 7: data, limit 0xfff */
#define DESC_SMALL_DATA 0x0040930000000fffull
#define RANDOM_GDT_LIMIT 0x3fu
#define RFLAGS_TF 0x100ull
#define DR7_ARMED 0x000d0515ull          /* L0 exec, L1 write 2 bytes, L2 access 1 byte */
#define CODE_BYTES 256
#define EXITS_PER_CASE 8
#define RUN_INSNS 20000u              /* a looping case's run ends after this many instructions */
#define REAL_SEG 0x100u
#define REAL_IP 0x100u

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Exits that let the guest go on after the client steps over the instruction. */
static bool resumable(uint32_t reason)
{
    return reason == VMX_REASON_IO || reason == VMX_REASON_CPUID || reason == VMX_REASON_RDMSR ||
           reason == VMX_REASON_WRMSR || reason == VMX_REASON_VMCALL;
}

static bool known_reason(uint32_t reason)
{
    switch (reason) {
    case VMX_REASON_EXC_NMI: case VMX_REASON_TRIPLE_FAULT: case VMX_REASON_HLT: case VMX_REASON_IO:
    case VMX_REASON_CPUID: case VMX_REASON_RDMSR: case VMX_REASON_WRMSR: case VMX_REASON_VMCALL:
    case VMX_REASON_EPT_VIOLATION: case VMX_REASON_VMX_TIMER_EXPIRED: case VMX_REASON_MOV_CR:
    case VMX_REASON_RDTSC: case VMX_REASON_INVLPG: case VMX_REASON_MOV_DR: case VMX_REASON_IRQ:
    case VMX_REASON_TASK:
        return true;
    default:
        return false;
    }
}

static void run_case(struct xg *g, uint64_t *seed, unsigned index)
{
    unsigned mode = index % MODES;
    uint64_t code = mode == 0 ? ((uint64_t)REAL_SEG << 4) + REAL_IP : XG_CODE + (index % 64) * 0x1000u;
    for (unsigned i = 0; i < CODE_BYTES; i += 8) {
        uint64_t v = rng_next(seed);
        memcpy(g->ram + code + i, &v, 8);
    }
    int r = mode == 0 ? xg_real_mode(g, REAL_SEG, REAL_IP)
            : mode == MODE_PROT32 ? xg_protected32(g)
                                  : xg_long_mode_cpl(g, mode == 1 ? 0 : 3);
    cr_assert_eq(r, 0);
    if (mode == MODE_PROT32) {
        /* Segment loads find the 64-bit GDT plus a small data segment; DS starts small. */
        memcpy(g->ram + XG_GDT + SEL_SMALL_DATA, &(uint64_t){ DESC_SMALL_DATA }, 8);
        r = xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, RANDOM_GDT_LIMIT);
        r |= xg_seg(g, 3, SEL_SMALL_DATA, 0, 0xfff, XG_AR_DATA & ~0x8000u);
        r |= xg_vmcs(g, VMCS_GUEST_RFLAGS, 0x2 | ((index & 4) ? RFLAGS_TF : 0));
        r |= xg_vmcs(g, VMCS_GUEST_DR7, (index & 8) ? DR7_ARMED : 0x400);
        cr_assert_eq(r, 0);
        for (unsigned i = 0; i < 3; i++)
            hv_vcpu_write_register(g->vcpu, (hv_x86_reg_t)(HV_X86_DR0 + i), code + (rng_next(seed) % CODE_BYTES));
    }
    if (mode != 0)
        hv_vcpu_write_register(g->vcpu, HV_X86_RIP, code);
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0xffffffffu), 0);
    for (int i = 0; i < 16; i++)
        hv_vcpu_write_register(g->vcpu, (hv_x86_reg_t)(HV_X86_RAX + i), rng_next(seed));
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, mode == 0 ? 0xfff0 : XG_STACK_TOP);
    for (int e = 0; e < EXITS_PER_CASE; e++) {
        hv_return_t ret = xg_run_bounded(g);   /* the deadline only guards against a hang */
        cr_assert_eq(ret, HV_SUCCESS, "case %u: hv_vcpu_run_until returned %#x", index, (unsigned)ret);
        uint32_t reason = xg_exit_reason(g);
        cr_assert(known_reason(reason), "case %u: unexpected exit reason %u", index, reason);
        if (!resumable(reason))
            break;
        uint64_t len = xg_read_vmcs(g, VMCS_RO_VMEXIT_INSTR_LEN);
        cr_assert(len >= 1 && len <= 15, "case %u: instruction length %llu", index, (unsigned long long)len);
        hv_vcpu_write_register(g->vcpu, HV_X86_RIP, xg_reg(g, HV_X86_RIP) + len);
    }
}

/* The bound is for `make stress` (ANYHV_FUZZ_ITERS=10000 under ASan on a busy host);
 * in `make test` the slice ends in seconds and ctest's own limit applies. */
Test(soft_x86_random, random_bytes_end_in_exits, .timeout = 900)
{
    test_require_backend();
    const char *env = getenv("ANYHV_BACKEND");
    if (!env || strcmp(env, "soft") != 0)
        cr_skip_test("random code runs on the soft route only (KVM would run it in the host's kernel emulator)");
    unsigned cases = test_case_count(DEFAULT_CASES);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, RUN_INSNS), HV_SUCCESS);
    uint64_t seed = 0x243f6a8885a308d3ull;
    for (unsigned i = 0; i < cases; i++)
        run_case(&g, &seed, i);
    xg_destroy(&g);
}
