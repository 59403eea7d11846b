/* Exits exactly as EL2 reports them, checked against what VMMs decode: HVC (EC
 * 0x16, imm16, pc past it), SMC (EC 0x17, pc on it), WFI/WFE (EC 0x01, TI), data
 * aborts with the ISV/SAS/SSE/SRT/SF/AR/WnR syndrome (and ISV = 0 for pairs and
 * writeback), system-register traps (EC 0x18 with the full ISS), BRK and debug
 * register accesses when the client traps them. */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define MMIO 0x09000000ull
/* MRS/MSR trap ISS: Op0 21:20, Op2 19:17, Op1 16:14, CRn 13:10, Rt 9:5, CRm 4:1, Dir 0. */
#define SYS_ISS(op0, op1, crn, crm, op2, rt, read) \
    (((op0) << 20) | ((op2) << 17) | ((op1) << 14) | ((crn) << 10) | ((rt) << 5) | ((crm) << 1) | (read))

static struct a64_vm vm;

static void setup(void)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    a64_load_guest(&vm, "exits", RAM_BASE);
    a64_set(&vm, HV_REG_PC, RAM_BASE);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

TestSuite(arm64_exits, .init = setup, .fini = teardown);

static uint64_t pc(void)
{
    return a64_reg(&vm, HV_REG_PC);
}

/* Run to the data abort of guest step n (1-based, see exits.S) after the first four. */
static uint64_t expect_dabt(uint64_t at)
{
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_DABT_LOWER, "EC %#x", ESR_EC(esr));
    cr_assert_eq(ESR_IL(esr), 1);
    cr_assert_eq(pc(), at, "pc on the access: %#llx", (unsigned long long)pc());
    cr_assert_eq(DABT_DFSC(esr), 0x07, "stage-2 translation fault, level 3");
    return esr;
}

Test(arm64_exits, every_exit_kind_in_order)
{
    uint64_t esr;
    /* 1: HVC #0x1234, pc already past it */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 0x1234);
    cr_expect_eq(ESR_IL(esr), 1);
    cr_expect_eq(pc(), RAM_BASE + 8);
    cr_expect_eq(a64_reg(&vm, HV_REG_X0), 0x1111);
    /* 2: SMC #0x42, pc on it; the VMM adds 4 */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_SMC);
    cr_expect_eq(ESR_ISS(esr), 0x42);
    cr_expect_eq(pc(), RAM_BASE + 8);
    a64_advance(&vm);
    /* 3, 4: WFI then WFE, pc on the instruction */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_WFX);
    cr_expect_eq(ESR_ISS(esr) & 1, 0, "WFI: TI = 0");
    cr_expect_eq(pc(), RAM_BASE + 12);
    a64_advance(&vm);
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_WFX);
    cr_expect_eq(ESR_ISS(esr) & 1, 1, "WFE: TI = 1");
    a64_advance(&vm);

    uint64_t at = RAM_BASE + 24;
    /* 5: ldr w3, [x2] */
    esr = expect_dabt(at);
    cr_expect_eq(vm.exit->exception.physical_address, MMIO);
    cr_expect_eq(vm.exit->exception.virtual_address, MMIO);
    cr_expect(DABT_ISV(esr));
    cr_expect_eq(DABT_SAS(esr), 2);
    cr_expect_eq(DABT_SRT(esr), 3);
    cr_expect_eq(DABT_SF(esr), 0);
    cr_expect_eq(DABT_SSE(esr), 0);
    cr_expect_eq(DABT_WNR(esr), 0);
    a64_set(&vm, HV_REG_X3, 0xfeedu);   /* the VMM emulates the read */
    a64_advance(&vm);
    /* 6: str x4, [x2, #8] */
    esr = expect_dabt(at += 4);
    cr_expect_eq(vm.exit->exception.physical_address, MMIO + 8);
    cr_expect(DABT_ISV(esr));
    cr_expect_eq(DABT_SAS(esr), 3);
    cr_expect_eq(DABT_SRT(esr), 4);
    cr_expect_eq(DABT_SF(esr), 1);
    cr_expect_eq(DABT_WNR(esr), 1);
    a64_advance(&vm);
    /* 7: ldrsh x5, [x2, #2] */
    esr = expect_dabt(at += 4);
    cr_expect_eq(vm.exit->exception.physical_address, MMIO + 2);
    cr_expect_eq(DABT_SAS(esr), 1);
    cr_expect_eq(DABT_SSE(esr), 1);
    cr_expect_eq(DABT_SF(esr), 1);
    cr_expect_eq(DABT_SRT(esr), 5);
    a64_advance(&vm);
    /* 8: ldrsb w6, [x2] */
    esr = expect_dabt(at += 4);
    cr_expect_eq(DABT_SAS(esr), 0);
    cr_expect_eq(DABT_SSE(esr), 1);
    cr_expect_eq(DABT_SF(esr), 0);
    cr_expect_eq(DABT_SRT(esr), 6);
    a64_advance(&vm);
    /* 9: strb wzr, [x2] */
    esr = expect_dabt(at += 4);
    cr_expect_eq(DABT_SRT(esr), 31);
    cr_expect_eq(DABT_WNR(esr), 1);
    a64_advance(&vm);
    /* 10: ldar x7, [x2] */
    esr = expect_dabt(at += 4);
    cr_expect(DABT_ISV(esr));
    cr_expect_eq(DABT_AR(esr), 1);
    cr_expect_eq(DABT_SRT(esr), 7);
    a64_advance(&vm);
    /* 11: stp: no valid syndrome */
    esr = expect_dabt(at += 4);
    cr_expect_eq(DABT_ISV(esr), 0);
    cr_expect_eq(DABT_WNR(esr), 1);
    a64_advance(&vm);
    /* 12: post-indexed load: writeback, no valid syndrome, base unchanged */
    esr = expect_dabt(at += 4);
    cr_expect_eq(DABT_ISV(esr), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), MMIO, "the faulting access did not write back");
    a64_advance(&vm);
    /* 13: mrs x9, pmcr_el0 (S3_3_C9_C12_0) */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_SYSREG);
    cr_expect_eq(ESR_ISS(esr), SYS_ISS(3u, 3u, 9u, 12u, 0u, 9u, 1u));
    cr_expect_eq(pc(), at += 4);
    a64_advance(&vm);
    /* 14: msr pmcr_el0, x10 */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_SYSREG);
    cr_expect_eq(ESR_ISS(esr), SYS_ISS(3u, 3u, 9u, 12u, 0u, 10u, 0u));
    a64_advance(&vm);
    /* 15: brk #7 with debug exceptions trapped: pc on the BRK */
    cr_assert_eq(hv_vcpu_set_trap_debug_exceptions(vm.vcpu, true), HV_SUCCESS);
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_BRK);
    cr_expect_eq(ESR_ISS(esr), 7);
    cr_expect_eq(pc(), at += 8);
    a64_advance(&vm);
    /* 16: mrs x11, dbgbvr0_el1 with debug register accesses trapped */
    cr_assert_eq(hv_vcpu_set_trap_debug_reg_accesses(vm.vcpu, true), HV_SUCCESS);
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_SYSREG);
    cr_expect_eq(ESR_ISS(esr), SYS_ISS(2u, 0u, 0u, 0u, 4u, 11u, 1u));
    a64_advance(&vm);
    /* 17: the end */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 0xffff);
    cr_expect_eq(a64_reg(&vm, HV_REG_X3), 0xfeed, "emulated MMIO read landed in x3");
}

Test(arm64_exits, brk_goes_to_the_guest_unless_trapped)
{
    /* Without trapping, BRK is the guest's own debug exception (EC 0x3c at EL1). */
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + 0x10000);
    a64_set(&vm, HV_REG_PC, RAM_BASE + 4 * 16);   /* the brk #7 */
    /* vector slot current-EL SPx sync: hvc #0x77 */
    uint32_t hvc77 = 0xd4000002u | (0x77u << 5);
    memcpy(vm.mem + 0x10000 + 0x200, &hvc77, 4);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 0x77);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (0x3cull << 26) | (1u << 25) | 7);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + 4 * 16);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_SPSR_EL1), 0x3c5);
}

/* What a VMM's debugger does: single-step with MDSCR_EL1.SS + PSTATE.SS, and a
 * hardware breakpoint in DBGBVR0/DBGBCR0, both with debug exceptions trapped. */
static const uint32_t counting[] = {
    0xd2800020u,   /* movz x0, #1 */
    0xd2800041u,   /* movz x1, #2 */
    0x8b010002u,   /* add x2, x0, x1 */
    0xd4000002u,   /* hvc #0 */
};
#define EC_BREAKPOINT_LOWER 0x30u
#define EC_STEP_LOWER 0x32u
#define PSTATE_SS (1ull << 21)
#define MDSCR_SS 1ull
#define DBGBCR_ENABLED_EL1_EL0_A64 0x1e7ull   /* E, PMC = 0b11, BAS = 0b1111 */

Test(arm64_exits, software_step_exits_after_each_instruction)
{
    memcpy(vm.mem + 0x2000, counting, sizeof(counting));
    cr_assert_eq(hv_vcpu_set_trap_debug_exceptions(vm.vcpu, true), HV_SUCCESS);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_SS);
    a64_set(&vm, HV_REG_PC, RAM_BASE + 0x2000);
    for (unsigned i = 1; i <= 3; i++) {
        a64_set(&vm, HV_REG_CPSR, 0x3c5 | PSTATE_SS);
        uint64_t esr = a64_run_exception(&vm);
        cr_assert_eq(ESR_EC(esr), EC_STEP_LOWER, "step %u: EC %#x", i, ESR_EC(esr));
        cr_expect_eq(ESR_ISS(esr), (1u << 24) | 0x22u, "ISV, IFSC debug");
        cr_expect_eq(pc(), RAM_BASE + 0x2000 + 4 * i, "one instruction per step");
        cr_expect_eq(a64_reg(&vm, HV_REG_CPSR) & PSTATE_SS, 0, "PSTATE.SS cleared: active-pending");
    }
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 3);
    /* Stepping off: the guest runs to its HVC. */
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, 0);
    cr_expect_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC);
}

Test(arm64_exits, hardware_breakpoint_exits_before_the_instruction)
{
    memcpy(vm.mem + 0x2000, counting, sizeof(counting));
    cr_assert_eq(hv_vcpu_set_trap_debug_exceptions(vm.vcpu, true), HV_SUCCESS);
    a64_set_sys(&vm, HV_SYS_REG_DBGBVR0_EL1, RAM_BASE + 0x2008);
    a64_set_sys(&vm, HV_SYS_REG_DBGBCR0_EL1, DBGBCR_ENABLED_EL1_EL0_A64);
    a64_set(&vm, HV_REG_PC, RAM_BASE + 0x2000);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_BREAKPOINT_LOWER, "EC %#x", ESR_EC(esr));
    cr_expect_eq(ESR_ISS(esr), 0x22u);
    cr_expect_eq(pc(), RAM_BASE + 0x2008, "stopped before the add");
    cr_expect_eq(a64_reg(&vm, HV_REG_X1), 2);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 0, "the add has not run");
    a64_set_sys(&vm, HV_SYS_REG_DBGBCR0_EL1, 0);
    cr_expect_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 3);
}

/* anyhv_vcpu_set_instruction_budget: each run retires exactly the budget, then
 * returns as canceled; the next run goes on from there. */
Test(arm64_exits, instruction_budget_stops_each_run_exactly)
{
    memcpy(vm.mem + 0x2000, counting, sizeof(counting));
    a64_set(&vm, HV_REG_PC, RAM_BASE + 0x2000);
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(vm.vcpu, 1), HV_SUCCESS);
    for (unsigned i = 1; i <= 3; i++) {
        uint64_t before = 0, after = 0;
        cr_assert_eq(anyhv_vcpu_get_instructions(vm.vcpu, &before), HV_SUCCESS);
        cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
        cr_assert_eq(vm.exit->reason, HV_EXIT_REASON_CANCELED, "run %u: reason %u", i, vm.exit->reason);
        cr_assert_eq(anyhv_vcpu_get_instructions(vm.vcpu, &after), HV_SUCCESS);
        cr_expect_eq(after - before, 1, "run %u: one instruction", i);
        cr_expect_eq(pc(), RAM_BASE + 0x2000 + 4 * i);
    }
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 3, "the ADD ran in the third run");
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(vm.vcpu, 0), HV_SUCCESS);
    cr_expect_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC, "no budget: on to the HVC");
}
