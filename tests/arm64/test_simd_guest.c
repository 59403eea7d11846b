/* A C guest compiled with AdvSIMD allowed: what clang emits for vectorized loops,
 * reductions, byte ops, float loops, struct copies, by-element FMLA (4x4
 * matrix product), SQXTN and FRINTM runs, and the vector results
 * equal the scalar ones. An unexpected exception names the instruction. */
#include "a64_test.h"

#define RAM_BASE 0x3ff00000ull
#define RAM_SIZE 0x200000ull
#define IMAGE_BASE 0x40000000ull

Test(arm64_simd_guest, vector_loops_match_scalar_loops)
{
    struct a64_vm vm;
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    a64_load_guest(&vm, "simd", IMAGE_BASE);
    a64_set(&vm, HV_REG_PC, IMAGE_BASE);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    if (ESR_ISS(esr) == 2) {
        uint64_t elr = a64_reg(&vm, HV_REG_X1);
        uint32_t word = 0;
        if (elr >= RAM_BASE && elr + 4 <= RAM_BASE + RAM_SIZE)
            memcpy(&word, vm.mem + (elr - RAM_BASE), 4);
        cr_assert_fail("guest exception ESR_EL1 %#llx at %#llx: instruction %08x",
                       (unsigned long long)a64_reg(&vm, HV_REG_X0), (unsigned long long)elr, word);
    }
    cr_expect_eq(ESR_ISS(esr), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X0), 0, "check %llu differs", (unsigned long long)a64_reg(&vm, HV_REG_X0));
    a64_vm_teardown(&vm);
}

/* FPCR.RMode flipped by MSR inside a loop (nearest, +inf, nearest, +inf): each
 * iteration's exact FMUL (1*3) and inexact FDIV (1/3) round and flag under that
 * iteration's FPCR, whether the block ran under the default FPCR (host FP
 * instructions on the soft route) or not. FPSR is cleared at the top of each one. */
Test(arm64_simd_guest, fpcr_rounding_flipped_in_a_loop)
{
    /* adr x2, data; fmov d0, #1.0; fmov d1, #3.0; mov x3, #4; mov x4, #0
     * 1: msr fpsr, xzr; fmul d4, d0, d1; mrs x5, fpsr; str x5, [x2], #8
     *    fdiv d2, d0, d1; mrs x5, fpsr; str x5, [x2], #8; str d2, [x2], #8
     *    eor x4, x4, #0x400000 (RMode RN <-> RP); msr fpcr, x4; subs x3, x3, #1; b.ne 1b
     *    hvc #0; data at +0x80 */
    static const uint32_t code[] = { 0x10000402, 0x1e6e1000, 0x1e611001, 0xd2800083, 0xd2800004, 0xd51b443f,
                                     0x1e610804, 0xd53b4425, 0xf8008445, 0x1e611802, 0xd53b4425, 0xf8008445,
                                     0xfc008442, 0xd26a0084, 0xd51b4404, 0xf1000463, 0x54fffea1, 0xd4000002 };
    const uint64_t data = 0x80;
    const uint64_t fpsr_ixc = 0x10, third[2] = { 0x3fd5555555555555ull, 0x3fd5555555555556ull };
    struct a64_vm vm;
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    memcpy(vm.mem + (IMAGE_BASE - RAM_BASE), code, sizeof(code));
    memset(vm.mem + (IMAGE_BASE - RAM_BASE) + data, 0xcc, 96);
    a64_set_sys(&vm, HV_SYS_REG_CPACR_EL1, 3ull << 20);   /* FPEN: FP/SIMD at EL1 */
    a64_set(&vm, HV_REG_FPCR, 0);
    a64_set(&vm, HV_REG_PC, IMAGE_BASE);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC, "ESR %#llx at %#llx", (unsigned long long)esr,
                 (unsigned long long)a64_reg(&vm, HV_REG_PC));
    for (unsigned i = 0; i < 4; i++) {
        uint64_t w[3];
        memcpy(w, vm.mem + (IMAGE_BASE - RAM_BASE) + data + 24 * i, sizeof(w));
        cr_expect_eq(w[0], 0, "iteration %u: FPSR after the exact FMUL %#llx", i, (unsigned long long)w[0]);
        cr_expect_eq(w[1], fpsr_ixc, "iteration %u: FPSR after FDIV %#llx", i, (unsigned long long)w[1]);
        cr_expect_eq(w[2], third[i & 1], "iteration %u: 1/3 = %#llx", i, (unsigned long long)w[2]);
    }
    cr_expect_eq(a64_reg(&vm, HV_REG_FPCR), 0, "FPCR at the end");
    a64_vm_teardown(&vm);
}
