/* The virtual timer as Apple's API presents it: VTIMER_ACTIVATED when it fires
 * unmasked, automatic masking until the VMM clears it, the guest taking the IRQ the
 * VMM injects, CNTVCT = counter - vtimer offset, and hv_vcpus_exit from another
 * thread ending a run with CANCELED. */
#include <pthread.h>
#include <unistd.h>

#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define VBAR_OFF 0x800u
#define VEC_CUR_SPX_IRQ 0x280u
#define CNT_CTL_ENABLE 1u

static const uint32_t spin[] = {
    0xd50342ffu,   /* 0x000: msr daifclr, #2 */
    0x14000000u,   /* 0x004: b . */
};
static const uint32_t irq_handler[] = {
    0xd51be33fu,   /* msr cntv_ctl_el0, xzr */
    0xd4000062u,   /* hvc #3 */
};
static const uint32_t read_counter[] = {
    0xd53be041u,   /* 0x100: mrs x1, cntvct_el0 */
    0xd4000002u,   /* 0x104: hvc #0 */
};

static struct a64_vm vm;

static void setup(void)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    memcpy(vm.mem, spin, sizeof(spin));
    memcpy(vm.mem + 0x100, read_counter, sizeof(read_counter));
    memcpy(vm.mem + VBAR_OFF + VEC_CUR_SPX_IRQ, irq_handler, sizeof(irq_handler));
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + VBAR_OFF);
    a64_set(&vm, HV_REG_PC, RAM_BASE);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

TestSuite(arm64_vtimer, .init = setup, .fini = teardown);

Test(arm64_vtimer, fires_masks_and_is_delivered_as_an_irq)
{
    bool masked = true;
    cr_assert_eq(hv_vcpu_get_vtimer_mask(vm.vcpu, &masked), HV_SUCCESS);
    cr_assert_not(masked, "a new vCPU's vtimer is unmasked");
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, 0);            /* already due */
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE);
    cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
    cr_assert_eq(vm.exit->reason, HV_EXIT_REASON_VTIMER_ACTIVATED);
    cr_assert_eq(hv_vcpu_get_vtimer_mask(vm.vcpu, &masked), HV_SUCCESS);
    cr_assert(masked, "the timer is masked until the VMM unmasks it");
    /* The VMM injects the IRQ; the guest's handler turns the timer off. */
    cr_assert_eq(hv_vcpu_set_pending_interrupt(vm.vcpu, HV_INTERRUPT_TYPE_IRQ, true), HV_SUCCESS);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 3, "the IRQ vector ran");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0) & CNT_CTL_ENABLE, 0);
    cr_assert_eq(hv_vcpu_set_vtimer_mask(vm.vcpu, false), HV_SUCCESS);
}

Test(arm64_vtimer, counter_follows_the_offset)
{
    a64_set(&vm, HV_REG_PC, RAM_BASE + 0x100);
    cr_assert_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC);
    uint64_t c0 = a64_reg(&vm, HV_REG_X1);
    cr_assert_gt(c0, 0);
    cr_assert_eq(hv_vcpu_set_vtimer_offset(vm.vcpu, c0), HV_SUCCESS);
    uint64_t off = 0;
    cr_assert_eq(hv_vcpu_get_vtimer_offset(vm.vcpu, &off), HV_SUCCESS);
    cr_assert_eq(off, c0);
    a64_set(&vm, HV_REG_PC, RAM_BASE + 0x100);
    cr_assert_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC);
    uint64_t c1 = a64_reg(&vm, HV_REG_X1);
    /* c1 = counter - c0: the time since the first read, far below c0 itself. */
    cr_expect_lt(c1, c0, "c0 %llu c1 %llu", (unsigned long long)c0, (unsigned long long)c1);
}

static void *cancel_later(void *arg)
{
    hv_vcpu_t id = *(hv_vcpu_t *)arg;
    usleep(20000);
    hv_vcpus_exit(&id, 1);
    return NULL;
}

Test(arm64_vtimer, masked_timer_does_not_exit_and_vcpus_exit_cancels)
{
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, 0);
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE);
    cr_assert_eq(hv_vcpu_set_vtimer_mask(vm.vcpu, true), HV_SUCCESS);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &vm.vcpu);
    cr_assert_eq(hv_vcpu_run(vm.vcpu), HV_SUCCESS);
    pthread_join(t, NULL);
    cr_expect_eq(vm.exit->reason, HV_EXIT_REASON_CANCELED);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC), RAM_BASE + 4, "spinning on the b .");
}
