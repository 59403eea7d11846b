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
