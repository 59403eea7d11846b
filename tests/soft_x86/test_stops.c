/* test_stops.c - anyhv's own stops on the Intel API, on both routes: a breakpoint
 * (anyhv_vcpu_set_breakpoint; KVM: a debug register through KVM_SET_GUEST_DEBUG) stops
 * before its instruction with exit reason MTF, and a budget of one (KVM: a single step)
 * runs exactly one instruction, whatever the route. */
#include <criterion/criterion.h>
#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define INC_RAX_LEN 3u
/* inc rax; inc rax; inc rax; inc rax; hlt */
static const uint8_t code[] = { 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0, 0xf4 };

Test(soft_x86_stops, breakpoint_then_single_steps_on_every_route)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    memcpy(g.ram + XG_CODE, code, sizeof(code));
    cr_assert_eq(xg_long_mode(&g), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 0);
    uint64_t bp = XG_CODE + 2 * INC_RAX_LEN;
    cr_assert_eq(anyhv_vcpu_set_breakpoint(g.vcpu, bp, true), HV_SUCCESS);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_MTF, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), bp);
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 2, "stopped before the third INC");
    anyhv_stop_t stop;
    cr_assert_eq(anyhv_vcpu_get_stop(g.vcpu, &stop), HV_SUCCESS);
    cr_expect_eq(stop.kind, ANYHV_STOP_BREAKPOINT);
    cr_expect_eq(stop.pc, bp);

    cr_assert_eq(anyhv_vcpu_set_breakpoint(g.vcpu, bp, false), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, 1), HV_SUCCESS);
    for (unsigned step = 1; step <= 2; step++) {
        cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
        cr_expect_eq(xg_exit_reason(&g), VMX_REASON_VMX_TIMER_EXPIRED, "step %u: exit reason %u", step,
                     xg_exit_reason(&g));
        cr_expect_eq(xg_reg(&g, HV_X86_RIP), bp + step * INC_RAX_LEN, "step %u", step);
        cr_expect_eq(xg_reg(&g, HV_X86_RAX), 2 + step, "step %u", step);
        cr_assert_eq(anyhv_vcpu_get_stop(g.vcpu, &stop), HV_SUCCESS);
        cr_expect_eq(stop.kind, ANYHV_STOP_BUDGET);
    }
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(g.vcpu, 0), HV_SUCCESS);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_HLT);
    xg_destroy(&g);
}
