/* test_budget.c - anyhv_vcpu_set_instruction_budget on the Intel API: a run stops after
 * exactly the budgeted number of instructions (exit reason VMX_REASON_VMX_TIMER_EXPIRED),
 * wherever in a block that falls, and resumes from there; KVM refuses it. */
#include <criterion/criterion.h>
#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define LOOP_CODE 0x100000u
#define LOOP_COUNT 5000u
#define LOOP_INSNS 3u
#define BUDGET 1001u   /* not a multiple of 3: the stops fall inside the loop body */
#define GP_VECTOR 13u

/* 1: inc rax; cmp rax, rcx; jne 1b; hlt (at CPL3: #GP, whose handler is a HLT) */
static const uint8_t loop[] = { 0x48, 0xff, 0xc0, 0x48, 0x39, 0xc8, 0x75, 0xf8, 0xf4 };
static const uint8_t insn_offset[LOOP_INSNS] = { 0, 3, 6 };

static bool on_kvm(void)
{
    const char *be = getenv("ANYHV_BACKEND");
    return be && strcmp(be, "kvm") == 0;
}

Test(soft_x86_budget, runs_stop_after_exactly_the_budget)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    memcpy(g.ram + LOOP_CODE, loop, sizeof(loop));
    cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);   /* exceptions go to the guest's handlers */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, LOOP_CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RCX, LOOP_COUNT);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    if (on_kvm()) {
        cr_expect_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, BUDGET), HV_UNSUPPORTED);
        xg_destroy(&g);
        return;
    }
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, BUDGET), HV_SUCCESS);
    uint64_t before = 0, after = 0;
    for (unsigned run = 1; run <= 3; run++) {
        cr_assert_eq(anyhv_vcpu_get_instructions(g.vcpu, &before), HV_SUCCESS);
        cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
        cr_assert_eq(xg_exit_reason(&g), VMX_REASON_VMX_TIMER_EXPIRED, "run %u: exit reason %u", run,
                     xg_exit_reason(&g));
        cr_assert_eq(anyhv_vcpu_get_instructions(g.vcpu, &after), HV_SUCCESS);
        cr_expect_eq(after - before, BUDGET, "run %u retired %llu", run, (unsigned long long)(after - before));
        /* After n instructions: n / 3 whole iterations, and the INC of the next one
         * when the stop is past it; RIP on the next instruction. */
        uint64_t n = (uint64_t)run * BUDGET;
        cr_expect_eq(xg_reg(&g, HV_X86_RAX), n / LOOP_INSNS + (n % LOOP_INSNS ? 1 : 0), "run %u: rax %llu", run,
                     (unsigned long long)xg_reg(&g, HV_X86_RAX));
        cr_expect_eq(xg_reg(&g, HV_X86_RIP), LOOP_CODE + insn_offset[n % LOOP_INSNS], "run %u: rip", run);
    }
    /* Budget removed: the loop runs to its end, and the HLT's #GP handler exits. */
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, 0), HV_SUCCESS);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * GP_VECTOR, "in the #GP handler");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), LOOP_COUNT);
    cr_expect_eq(anyhv_vcpu_set_instruction_budget(~0ull, 1), HV_BAD_ARGUMENT, "bad handle");
    xg_destroy(&g);
}
