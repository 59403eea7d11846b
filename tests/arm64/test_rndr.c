/* test_rndr.c - RNDR and RNDRRS on the software route: advertised in
 * ID_AA64ISAR0_EL1.RNDR (guest MRS and the client's feature register agree), NZCV = 0000
 * (success), two reads differ; in deterministic mode the values are a function of the
 * seed (ANYHV_DETERMINISTIC_SEED): the same in every run, others with another seed;
 * otherwise they come from the host and two runs differ. */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define ISAR0_RNDR_SHIFT 60
#define NZCV_ALL 0xf0000000ull

/* msr nzcv, x3; mrs x0, rndr; mrs x1, rndrrs; mrs x2, nzcv; mrs x4, id_aa64isar0_el1; hvc #0 */
static const uint32_t code[] = { 0xd51b4203, 0xd53b2400, 0xd53b2421, 0xd53b4202, 0xd5380604, 0xd4000002 };

struct draws {
    uint64_t rndr, rndrrs, nzcv, isar0, feature;
};

static struct draws run(bool deterministic, const char *seed)
{
    struct a64_vm vm;
    struct draws d;
    if (seed)
        setenv("ANYHV_DETERMINISTIC_SEED", seed, 1);
    else
        unsetenv("ANYHV_DETERMINISTIC_SEED");
    cr_assert_eq(anyhv_set_deterministic(deterministic), HV_SUCCESS);
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    memcpy(vm.mem, code, sizeof(code));
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    a64_set(&vm, HV_REG_CPSR, 0x3c5);
    a64_set(&vm, HV_REG_X3, NZCV_ALL);
    cr_assert_eq(ESR_EC(a64_run_exception(&vm)), EC_HVC);
    d = (struct draws){ a64_reg(&vm, HV_REG_X0), a64_reg(&vm, HV_REG_X1), a64_reg(&vm, HV_REG_X2),
                        a64_reg(&vm, HV_REG_X4), 0 };
    hv_vcpu_config_t config = hv_vcpu_config_create();
    cr_assert_eq(hv_vcpu_config_get_feature_reg(config, HV_FEATURE_REG_ID_AA64ISAR0_EL1, &d.feature), HV_SUCCESS);
    os_release(config);
    a64_vm_teardown(&vm);
    anyhv_set_deterministic(false);
    unsetenv("ANYHV_DETERMINISTIC_SEED");
    return d;
}

static void require_soft(void)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("the software route's generator (KVM runs the host CPU's RNDR, if it has one)");
}

Test(arm64_rndr, advertised_flags_and_host_randomness)
{
    require_soft();
    struct draws a = run(false, NULL), b = run(false, NULL);
    cr_expect_eq(a.isar0 >> ISAR0_RNDR_SHIFT & 0xf, 1, "ID_AA64ISAR0_EL1.RNDR = 1 (isar0 %#llx)",
                 (unsigned long long)a.isar0);
    cr_expect_eq(a.feature, a.isar0, "the client's feature register is what the guest reads");
    cr_expect_eq(a.nzcv, 0, "success: NZCV = 0000 (got %#llx)", (unsigned long long)a.nzcv);
    cr_expect_neq(a.rndr, a.rndrrs, "two reads differ");
    cr_expect(a.rndr != b.rndr && a.rndrrs != b.rndrrs, "host randomness: another run draws others");
}

Test(arm64_rndr, deterministic_mode_draws_from_the_seed)
{
    require_soft();
    struct draws a = run(true, NULL), b = run(true, NULL), c = run(true, "12345");
    cr_expect_eq(a.nzcv, 0);
    cr_expect(a.rndr == b.rndr && a.rndrrs == b.rndrrs, "the same draws in two runs");
    cr_expect_neq(a.rndr, a.rndrrs);
    cr_expect(a.rndr != c.rndr && a.rndrrs != c.rndrrs, "another seed, other draws");
}
