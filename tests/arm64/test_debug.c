/* The debugging extensions on the Apple-silicon API (include/anyhv/debug.h), software
 * route: a breakpoint stops before its instruction with a breakpoint syndrome (EC 0x30);
 * read and write watchpoints stop before the access (EC 0x34, WnR, FAR), the memory not
 * yet written; anyhv_vcpu_get_stop says which and where; a budget of one is one
 * instruction. Guest: smp_race.S, run by one vCPU. */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000ull
#define SHARED (RAM_BASE + 0x10000ull)
#define MMIO 0x09000000ull
#define LDR_COUNTER (RAM_BASE + 0xc)   /* smp_race.S: the racy load */
#define STR_COUNTER (RAM_BASE + 0x20)  /* ... and the store */
#define EC_BREAKPOINT_LOWER 0x30u
#define EC_WATCHPOINT_LOWER 0x34u
#define FSC_DEBUG 0x22u

static struct a64_vm vm;

static void setup(void)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("breakpoints and watchpoints are the software route's");
    a64_load_guest(&vm, "smp_race", RAM_BASE);
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    a64_set(&vm, HV_REG_X0, 0);
    a64_set(&vm, HV_REG_X1, SHARED);
    a64_set(&vm, HV_REG_X2, MMIO);
    a64_set(&vm, HV_REG_X3, 1000);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

TestSuite(arm64_debug, .init = setup, .fini = teardown);

static uint32_t counter(void)
{
    uint32_t v;
    memcpy(&v, vm.mem + (SHARED - RAM_BASE), 4);
    return v;
}

Test(arm64_debug, breakpoint_stops_before_its_instruction)
{
    cr_assert_eq(anyhv_vcpu_set_breakpoint(vm.vcpu, STR_COUNTER, true), HV_SUCCESS);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_BREAKPOINT_LOWER, "EC %#x", ESR_EC(esr));
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), STR_COUNTER);
    cr_expect_eq(counter(), 0, "the store has not run");
    anyhv_stop_t stop;
    cr_assert_eq(anyhv_vcpu_get_stop(vm.vcpu, &stop), HV_SUCCESS);
    cr_expect_eq(stop.kind, ANYHV_STOP_BREAKPOINT);
    cr_expect_eq(stop.pc, STR_COUNTER);
    uint64_t before = 0, after = 0;
    anyhv_vcpu_get_instructions(vm.vcpu, &before);
    /* Step over it: one instruction with the breakpoint lifted. */
    cr_assert_eq(anyhv_vcpu_set_breakpoint(vm.vcpu, STR_COUNTER, false), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(vm.vcpu, 1), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
    cr_expect_eq(vm.exit->reason, HV_EXIT_REASON_CANCELED);
    anyhv_vcpu_get_instructions(vm.vcpu, &after);
    cr_expect_eq(after - before, 1);
    cr_expect_eq(counter(), 1, "the store ran");
    cr_assert_eq(anyhv_vcpu_get_stop(vm.vcpu, &stop), HV_SUCCESS);
    cr_expect_eq(stop.kind, ANYHV_STOP_BUDGET);
}

Test(arm64_debug, watchpoints_stop_before_the_access)
{
    cr_assert_eq(anyhv_vcpu_set_watchpoint(vm.vcpu, SHARED + 2, 1, ANYHV_WATCH_READ, true), HV_SUCCESS);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_WATCHPOINT_LOWER, "EC %#x", ESR_EC(esr));
    cr_expect_eq(DABT_WNR(esr), 0);
    cr_expect_eq(DABT_DFSC(esr), FSC_DEBUG);
    cr_expect_eq(vm.exit->exception.virtual_address, SHARED);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), LDR_COUNTER);
    anyhv_stop_t stop;
    cr_assert_eq(anyhv_vcpu_get_stop(vm.vcpu, &stop), HV_SUCCESS);
    cr_expect_eq(stop.kind, ANYHV_STOP_WATCHPOINT);
    cr_expect_eq(stop.address, SHARED);
    cr_expect_eq(stop.size, 4);
    cr_expect_not(stop.write);

    cr_assert_eq(anyhv_vcpu_set_watchpoint(vm.vcpu, SHARED + 2, 1, ANYHV_WATCH_READ, false), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_set_watchpoint(vm.vcpu, SHARED, 4, ANYHV_WATCH_WRITE, true), HV_SUCCESS);
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_WATCHPOINT_LOWER);
    cr_expect_eq(DABT_WNR(esr), 1);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), STR_COUNTER);
    cr_expect_eq(counter(), 0, "stopped before the store");
    cr_assert_eq(anyhv_vcpu_get_stop(vm.vcpu, &stop), HV_SUCCESS);
    cr_expect(stop.write);
}

Test(arm64_debug, breakpoint_inside_hot_cached_code)
{
    /* The loop's blocks are translated, cached and linked first; a breakpoint then set in
     * the middle of one must still stop exactly there. */
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(vm.vcpu, 5000), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
    cr_assert_eq(vm.exit->reason, HV_EXIT_REASON_EXCEPTION, "an MMIO report comes first");
    a64_advance(&vm);
    cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
    a64_advance(&vm);
    uint32_t before = counter();
    cr_assert_eq(anyhv_vcpu_set_instruction_budget(vm.vcpu, 0), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_set_breakpoint(vm.vcpu, STR_COUNTER, true), HV_SUCCESS);
    uint64_t esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_BREAKPOINT_LOWER, "EC %#x", ESR_EC(esr));
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), STR_COUNTER);
    cr_expect_eq(counter(), before, "stopped before the store of this iteration");
    /* Again from the breakpoint itself: it stops at once (debuggers step over it). */
    esr = a64_run_exception(&vm);
    cr_expect_eq(ESR_EC(esr), EC_BREAKPOINT_LOWER);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), STR_COUNTER);
}
