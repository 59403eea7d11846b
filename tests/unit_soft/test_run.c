/* The soft backend's run loop end to end, on the toy frontend: a loop that exits to
 * the client, MMIO exits that do not retire, guest faults delivered and resumed,
 * helper faults, the instruction budget, cancel from another thread, and HLT
 * waiting without spinning until a cancel wakes it. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "toy_fixture.h"

TestSuite(run, .init = setup, .fini = teardown);

Test(run, without_a_frontend_run_is_unsupported)
{
    soft_frontend_register(GUEST_X86_64, NULL);
    backend_request(BACKEND_SOFT);
    struct vm_params p = { .arch = GUEST_ARM64, .ipa_bits = 36, .granule = 4096 };
    cr_assert_eq(vm_create(&p), HV_SUCCESS);
    if (soft_frontend_for(GUEST_ARM64))
        cr_skip_test("this build links an arm64 frontend");
    uint32_t id;
    struct vcpu *v;
    cr_assert_eq(vcpu_create(GUEST_ARM64, &id), HV_SUCCESS);
    cr_assert_eq(vcpu_get_owned(id, &v), HV_SUCCESS);
    cr_expect_eq(vcpu_run(v, BACKEND_NO_DEADLINE), HV_UNSUPPORTED);
    const char *why = NULL;
    soft_backend_check(GUEST_ARM64, &why);
    cr_expect(why && strstr(why, "HV_UNSUPPORTED"), "the reason says so: %s", why ? why : "(none)");
    vcpu_destroy(id);
    vm_destroy();
}

Test(run, a_loop_runs_to_an_exit_with_exact_counts)
{
    start();
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 1, 10);
    p = toy_movi(p, 2, 0);
    p = toy_emit(p, TOY_ADD, 2, 1, 0);     /* loop: r2 += r1 */
    p = toy_emit(p, TOY_ADDI, 1, 0, -1);
    p = toy_emit(p, TOY_JNZ, 1, 0, -3);
    uint64_t out_pc = CODE + (uint64_t)(p - (t.ram + CODE));
    toy_emit(p, TOY_OUT, 2, 0, 7);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_PIO, "exit %s", exit_kind_name(x->kind));
    cr_expect_eq(x->u.pio.port, 7);
    cr_expect_eq(x->u.pio.data, 55);
    cr_expect_eq(x->pc, out_pc);
    cr_expect_eq(toy_regs(&t)->rip, out_pc + 4, "OUT retired");
    cr_expect_eq(t.vcpu->icount, 2 + 10 * 3 + 1);
    cr_expect_eq(x->icount, 2 + 10 * 3 + 1);

    /* Running again continues after the exit. */
    toy_emit(t.ram + out_pc + 4, TOY_OUT, 1, 0, 8);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(x->kind, EXIT_PIO);
    cr_expect_eq(x->u.pio.port, 8);
    cr_expect_eq(t.vcpu->icount, 2 + 10 * 3 + 2);
}

Test(run, mmio_exits_before_the_access_retires)
{
    start();
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 3, 0x100000);          /* beyond RAM: no stage-2 mapping */
    p = toy_movi(p, 4, 0x1111);
    uint64_t ld_pc = CODE + 24;
    p = toy_emit(p, TOY_LD, 4, 3, 8);
    toy_emit(p, TOY_OUT, 4, 0, 1);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_MMIO, "exit %s", exit_kind_name(x->kind));
    cr_expect_eq(x->u.mem.gpa, 0x100008);
    cr_expect_eq(x->u.mem.gva, 0x100008);
    cr_expect_not(x->u.mem.write);
    cr_expect_eq(x->u.mem.perms, 0);
    cr_expect_eq(x->pc, ld_pc);
    cr_expect_eq(x->insn_len, 4);
    cr_expect_eq(toy_regs(&t)->rip, ld_pc, "the load has not retired");
    cr_expect_eq(toy_regs(&t)->gpr[4], 0x1111, "nor written its register");
    cr_expect_eq(t.vcpu->icount, 2);
    /* The client emulates it and moves on. */
    toy_regs(&t)->gpr[4] = 0xfeed;
    toy_regs(&t)->rip = ld_pc + 4;
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(x->kind, EXIT_PIO);
    cr_expect_eq(x->u.pio.data, 0xfeed);
}

Test(run, mmio_store_exit_is_a_write_with_page_perms)
{
    start();
    cr_assert_eq(vm_protect(0, 0x8000, 0x1000, PMAP_READ), HV_SUCCESS);
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 3, 0x8010);
    p = toy_emit(p, TOY_LD, 4, 3, 0);      /* reading is allowed */
    p = toy_emit(p, TOY_ST, 4, 3, 0);      /* writing is not */
    toy_emit(p, TOY_OUT, 4, 0, 1);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_MMIO, "exit %s", exit_kind_name(x->kind));
    cr_expect(x->u.mem.write);
    cr_expect_eq(x->u.mem.gpa, 0x8010);
    cr_expect_eq(x->u.mem.perms, PMAP_READ);
    cr_expect_eq(x->pc, CODE + 16);
}

Test(run, guest_page_fault_is_delivered_and_resumed)
{
    start();
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 3, TOY_VA_FAULT_BASE);
    p = toy_movi(p, 5, 1);
    p = toy_emit(p, TOY_ADDI, 5, 0, 1);
    p = toy_emit(p, TOY_LD, 4, 3, 0);      /* faults in the toy's stage 1 */
    toy_emit(p, TOY_OUT, 5, 0, 1);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    struct anyhv_exit *x = &t.vcpu->exit;
    cr_assert_eq(x->kind, EXIT_PIO);
    cr_expect_eq(x->u.pio.port, 0xe, "the handler ran");
    cr_expect_eq(x->u.pio.data, TOY_CAUSE_PAGE);
    cr_expect_eq(toy_regs(&t)->gpr[14], CODE + 28, "the fault names the load");
    cr_expect_eq(toy_regs(&t)->gpr[5], 2, "the instruction before the fault completed");
    cr_expect_eq(t.vcpu->icount, 3 + 1, "three retired, the load did not, then the handler's OUT");
}

Test(run, fetch_fault_and_undefined_instruction)
{
    start();
    toy_regs(&t)->rip = TOY_VA_FAULT_BASE + 0x40;
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.kind, EXIT_PIO);
    cr_expect_eq(t.vcpu->exit.u.pio.data, TOY_CAUSE_PAGE);
    cr_expect_eq(toy_regs(&t)->gpr[14], TOY_VA_FAULT_BASE + 0x40);

    t.ram[CODE] = 0x7f;   /* not an instruction */
    toy_regs(&t)->rip = CODE;
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.u.pio.data, TOY_CAUSE_UD);
    cr_expect_eq(toy_regs(&t)->gpr[14], CODE);
}

Test(run, helper_fault_unwinds_precisely)
{
    start();
    uint8_t *p = t.ram + CODE;
    p = toy_movi(p, 6, 21);
    p = toy_emit(p, TOY_HELP, 6, 0, 0);
    p = toy_movi(p, 7, TOY_HELPER_FAULT);
    p = toy_emit(p, TOY_HELP, 7, 0, 0);
    toy_emit(p, TOY_OUT, 6, 0, 1);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.u.pio.data, TOY_CAUSE_HELPER);
    cr_expect_eq(toy_regs(&t)->gpr[6], 42);
    cr_expect_eq(toy_regs(&t)->gpr[7], TOY_HELPER_FAULT, "the faulting helper wrote nothing");
    cr_expect_eq(toy_regs(&t)->gpr[14], CODE + 28);
}

static void write_spin_loop(void)
{
    uint8_t *p = t.ram + CODE;
    p = toy_emit(p, TOY_ADDI, 1, 0, 1);
    toy_emit(p, TOY_JMP, 0, 0, -2);
}

Test(run, budget_stops_at_the_exact_instruction)
{
    start();
    write_spin_loop();
    t.vcpu->insn_budget = 1001;   /* what anyhv_vcpu_set_instruction_budget sets: per run */
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_assert_eq(t.vcpu->exit.kind, EXIT_BUDGET, "exit %s", exit_kind_name(t.vcpu->exit.kind));
    cr_expect_eq(t.vcpu->icount, 1001);
    cr_expect_eq(toy_regs(&t)->gpr[1], 501);
    cr_expect_eq(toy_regs(&t)->rip, CODE + 4, "stopped after an ADDI, before its JMP");
    t.vcpu->insn_budget = 300;
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(t.vcpu->icount, 1301);
    cr_expect_eq(toy_regs(&t)->gpr[1], 651);
}

Test(run, deadline_ends_a_spinning_run)
{
    start();
    write_spin_loop();
    cr_assert_eq(vcpu_run(t.vcpu, host_monotonic_ns() + 20 * 1000000ull), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.kind, EXIT_DEADLINE);
    cr_expect_gt(toy_regs(&t)->gpr[1], 0);
}

struct runner {
    struct toy_vm *t;
    _Atomic int phase;      /* 1: vCPU created, 2: run returned */
    enum exit_kind kind;
    hv_return_t ret;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    toy_vcpu_create(r->t);
    toy_regs(r->t)->rip = CODE;
    atomic_store(&r->phase, 1);
    r->ret = vcpu_run(r->t->vcpu, BACKEND_NO_DEADLINE);
    r->kind = r->t->vcpu->exit.kind;
    atomic_store(&r->phase, 2);
    /* The vCPU belongs to this thread: destroy it here. */
    vcpu_destroy(r->t->id);
    r->t->vcpu = NULL;
    return NULL;
}

static void run_on_thread_and_cancel(unsigned settle_ms, bool expect_blocked)
{
    struct runner r = { .t = &t };
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, runner_main, &r), 0);
    while (atomic_load(&r.phase) < 1)
        sleep_ms(1);
    sleep_ms(settle_ms);
    if (expect_blocked)
        cr_expect_eq(atomic_load(&r.phase), 1, "a halted vCPU waits for an event");
    uint64_t id = t.id;
    cr_assert_eq(vcpu_cancel(&id, 1), HV_SUCCESS);
    pthread_join(th, NULL);
    cr_expect_eq(r.ret, HV_SUCCESS);
    cr_expect_eq(r.kind, EXIT_CANCELED, "exit %s", exit_kind_name(r.kind));
}

Test(run, cancel_from_another_thread_stops_a_spinning_vcpu)
{
    toy_vm_create(&t, RAM);
    write_spin_loop();
    run_on_thread_and_cancel(20, false);
}

Test(run, halt_waits_until_a_cancel_wakes_it)
{
    toy_vm_create(&t, RAM);
    toy_emit(t.ram + CODE, TOY_HALT, 0, 0, 0);
    run_on_thread_and_cancel(50, true);
}

Test(run, cancel_before_run_returns_at_once)
{
    start();
    write_spin_loop();
    uint64_t id = t.id;
    cr_assert_eq(vcpu_cancel(&id, 1), HV_SUCCESS);
    cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.kind, EXIT_CANCELED);
    cr_expect_eq(t.vcpu->icount, 0);
}

Test(run, halt_with_a_deadline_returns_at_the_deadline)
{
    start();
    toy_emit(t.ram + CODE, TOY_HALT, 0, 0, 0);
    cr_assert_eq(vcpu_run(t.vcpu, host_monotonic_ns() + 10 * 1000000ull), HV_SUCCESS);
    cr_expect_eq(t.vcpu->exit.kind, EXIT_DEADLINE);
    cr_expect_eq(toy_regs(&t)->rip, CODE + 4);
    cr_expect_eq(t.vcpu->icount, 1, "HLT retired");
}
