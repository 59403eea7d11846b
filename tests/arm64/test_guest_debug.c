/* The guest's own debug exceptions on the software route, when the client does not
 * trap debug exceptions: software step and hardware breakpoints aimed at the guest's
 * EL1 (MDSCR_EL1.SS/MDE/KDE, DBGBVR/DBGBCR, PSTATE.D and SS) are taken through its
 * vectors with the architected syndromes, and stay silent when not enabled; so are
 * watchpoints (DBGWVR/DBGWCR) on loads and stores. */
#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define CODE_OFF 0x1000u
#define VBAR_OFF 0x4000u
#define VEC_BYTES 0x800u
#define HVC(imm) (0xd4000002u | ((uint32_t)(imm) << 5))
#define NOP 0xd503201fu
#define DONE_IMM 1u
#define VECTOR_IMM 0x3ffu
#define MDSCR_SS (1u << 0)
#define MDSCR_KDE (1u << 13)
#define MDSCR_MDE (1u << 15)
#define PSTATE_SS (1u << 21)
#define PSTATE_D (1u << 9)
#define EL1H_AIF 0x1c5u        /* EL1h, A, I, F masked, D clear */
#define EL0T_DAIF 0x3c0u
#define EC_BKPT_LOWER 0x30u
#define EC_BKPT_SAME 0x31u
#define EC_STEP_LOWER 0x32u
#define EC_STEP_SAME 0x33u
#define STEP_ISS (1u << 24 | 0x22u)
#define BCR_E 1u
#define BCR_PMC_EL1 (1u << 1)
#define BCR_BAS_ALL (0xfu << 5)
#define EC_WATCH_LOWER 0x34u
#define EC_WATCH_SAME 0x35u
#define WCR_LSC_LOAD (1u << 3)
#define WCR_LSC_STORE (2u << 3)
#define WCR_BAS_8 (0xffu << 5)
#define DATA_OFF 0x2000u
#define LDR_X1_X2 0xf9400041u   /* ldr x1, [x2] */
#define STR_X1_X3 0xf9000061u   /* str x1, [x3] */

static struct a64_vm vm;

static void setup(void)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    for (unsigned off = 0; off < VEC_BYTES; off += 4) {
        uint32_t w = HVC(VECTOR_IMM);
        memcpy(vm.mem + VBAR_OFF + off, &w, 4);
    }
    uint32_t code[3] = { NOP, NOP, HVC(DONE_IMM) };
    memcpy(vm.mem + CODE_OFF, code, sizeof(code));
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + VBAR_OFF);
    a64_set(&vm, HV_REG_PC, RAM_BASE + CODE_OFF);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

/* Runs; returns the HVC immediate that ended the run. */
static unsigned run(void)
{
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC, "ESR %#llx", (unsigned long long)esr);
    return ESR_ISS(esr);
}

TestSuite(arm64_guest_debug, .init = setup, .fini = teardown);

Test(arm64_guest_debug, step_at_el1_with_kde)
{
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_SS | MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF | PSTATE_SS);
    cr_assert_eq(run(), VECTOR_IMM, "the step exception went to the guest's vector");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (uint64_t)EC_STEP_SAME << 26 | 1u << 25 | STEP_ISS);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF + 4, "after the one stepped instruction");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_SPSR_EL1) & PSTATE_SS, 0, "SPSR.SS = 0: the step completed");
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), RAM_BASE + VBAR_OFF + 0x200 + 4, "current EL, SP_ELx vector");
}

Test(arm64_guest_debug, step_at_el1_needs_kde_and_d_clear)
{
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_SS);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF | PSTATE_SS);
    cr_expect_eq(run(), DONE_IMM, "KDE clear: no step exception at EL1");
    a64_set(&vm, HV_REG_PC, RAM_BASE + CODE_OFF);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_SS | MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF | PSTATE_D | PSTATE_SS);
    cr_expect_eq(run(), DONE_IMM, "PSTATE.D masks it");
}

Test(arm64_guest_debug, step_from_el0)
{
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_SS);   /* from EL0: KDE and D do not matter */
    a64_set(&vm, HV_REG_CPSR, EL0T_DAIF | PSTATE_SS);
    cr_assert_eq(run(), VECTOR_IMM);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (uint64_t)EC_STEP_LOWER << 26 | 1u << 25 | STEP_ISS);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF + 4);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), RAM_BASE + VBAR_OFF + 0x400 + 4, "lower EL vector");
}

Test(arm64_guest_debug, breakpoint_at_el1)
{
    a64_set_sys(&vm, HV_SYS_REG_DBGBVR0_EL1, RAM_BASE + CODE_OFF + 4);
    a64_set_sys(&vm, HV_SYS_REG_DBGBCR0_EL1, BCR_E | BCR_PMC_EL1 | BCR_BAS_ALL);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_MDE | MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF);
    cr_assert_eq(run(), VECTOR_IMM);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (uint64_t)EC_BKPT_SAME << 26 | 1u << 25 | 0x22u);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF + 4, "before the instruction");
}

Test(arm64_guest_debug, breakpoint_needs_mde)
{
    a64_set_sys(&vm, HV_SYS_REG_DBGBVR0_EL1, RAM_BASE + CODE_OFF + 4);
    a64_set_sys(&vm, HV_SYS_REG_DBGBCR0_EL1, BCR_E | BCR_PMC_EL1 | BCR_BAS_ALL);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF);
    cr_expect_eq(run(), DONE_IMM, "MDE clear: breakpoints are off");
}

Test(arm64_guest_debug, trapping_client_still_gets_them)
{
    cr_assert_eq(hv_vcpu_set_trap_debug_exceptions(vm.vcpu, true), HV_SUCCESS);
    a64_set_sys(&vm, HV_SYS_REG_DBGBVR0_EL1, RAM_BASE + CODE_OFF + 4);
    a64_set_sys(&vm, HV_SYS_REG_DBGBCR0_EL1, BCR_E | BCR_PMC_EL1 | BCR_BAS_ALL);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_MDE | MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_BKPT_LOWER, "the client's debugger sees it, EC 0x30");
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), RAM_BASE + CODE_OFF + 4);
}

/* ldr x1, [x2]; str x1, [x3]; hvc #1 with x2 = x3 = the data doubleword. */
static void watch_setup(uint32_t lsc)
{
    uint32_t code[3] = { LDR_X1_X2, STR_X1_X3, HVC(DONE_IMM) };
    memcpy(vm.mem + CODE_OFF, code, sizeof(code));
    a64_set(&vm, HV_REG_X2, RAM_BASE + DATA_OFF);
    a64_set(&vm, HV_REG_X3, RAM_BASE + DATA_OFF + 4);   /* overlaps the watched bytes */
    a64_set_sys(&vm, HV_SYS_REG_DBGWVR0_EL1, RAM_BASE + DATA_OFF);
    a64_set_sys(&vm, HV_SYS_REG_DBGWCR0_EL1, BCR_E | BCR_PMC_EL1 | lsc | WCR_BAS_8);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_MDE | MDSCR_KDE);
    a64_set(&vm, HV_REG_CPSR, EL1H_AIF);
}

Test(arm64_guest_debug, watchpoint_on_a_load)
{
    watch_setup(WCR_LSC_LOAD);
    cr_assert_eq(run(), VECTOR_IMM);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (uint64_t)EC_WATCH_SAME << 26 | 1u << 25 | 0x22u);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF, "the load did not happen");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_FAR_EL1), RAM_BASE + DATA_OFF);
}

Test(arm64_guest_debug, watchpoint_on_a_store_only)
{
    watch_setup(WCR_LSC_STORE);
    cr_assert_eq(run(), VECTOR_IMM, "the load passes, the store stops");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), (uint64_t)EC_WATCH_SAME << 26 | 1u << 25 | 1u << 6 | 0x22u,
                 "WnR");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF + 4);
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_FAR_EL1), RAM_BASE + DATA_OFF + 4);
}

Test(arm64_guest_debug, watchpoint_for_a_trapping_client)
{
    cr_assert_eq(hv_vcpu_set_trap_debug_exceptions(vm.vcpu, true), HV_SUCCESS);
    watch_setup(WCR_LSC_LOAD | WCR_LSC_STORE);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_WATCH_LOWER);
    cr_expect_eq(vm.exit->exception.virtual_address, RAM_BASE + DATA_OFF);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), RAM_BASE + CODE_OFF);
}

Test(arm64_guest_debug, watchpoint_needs_mde)
{
    watch_setup(WCR_LSC_LOAD | WCR_LSC_STORE);
    a64_set_sys(&vm, HV_SYS_REG_MDSCR_EL1, MDSCR_KDE);
    cr_expect_eq(run(), DONE_IMM);
}
