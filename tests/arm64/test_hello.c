/* The PL011 hello guest, driven the way an arm64 VMM drives it: data aborts on the
 * UART are decoded from the ESR (ISV, SAS, SRT, WnR), emulated, and skipped; the
 * final HVC #0 reports the guest's checksum in x0. */
#include "a64_test.h"

#define RAM_BASE 0x3ff00000ull        /* stack below the image, image at 0x40000000 */
#define RAM_SIZE 0x200000ull
#define IMAGE_BASE 0x40000000ull
#define PL011_DR 0x09000000ull
#define MAX_EXITS 1000

static uint32_t checksum(const char *s)
{
    uint32_t sum = 0;
    for (; *s; s++)
        sum = sum * 31u + (uint8_t)*s;
    return sum & 0x7fffffff;
}

Test(arm64_hello, pl011_output_through_data_aborts)
{
    struct a64_vm vm;
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    a64_load_guest(&vm, "hello", IMAGE_BASE);
    a64_set(&vm, HV_REG_PC, IMAGE_BASE);
    char out[64] = { 0 };
    size_t len = 0;
    for (int i = 0; i < MAX_EXITS; i++) {
        uint64_t esr = a64_run_exception(&vm);
        if (ESR_EC(esr) == EC_HVC) {
            cr_expect_eq(ESR_ISS(esr), 0, "HVC #0");
            break;
        }
        cr_assert_eq(ESR_EC(esr), EC_DABT_LOWER, "unexpected EC %#x at pc %#llx", ESR_EC(esr),
                     (unsigned long long)a64_reg(&vm, HV_REG_PC));
        cr_assert_eq(vm.exit->exception.physical_address, PL011_DR);
        cr_assert(DABT_ISV(esr), "single-register store has a valid syndrome");
        cr_assert(DABT_WNR(esr));
        cr_expect_eq(DABT_SAS(esr), 2, "32-bit store");
        cr_expect_eq(DABT_SF(esr), 0);
        unsigned srt = DABT_SRT(esr);
        uint64_t v = srt == 31 ? 0 : a64_reg(&vm, HV_REG_X0 + srt);
        cr_assert_lt(len, sizeof(out) - 1);
        out[len++] = (char)v;
        a64_advance(&vm);
    }
    cr_expect_str_eq(out, "hello from arm64\n");
    cr_expect_eq(a64_reg(&vm, HV_REG_X0), checksum("hello from arm64\n"));
    a64_vm_teardown(&vm);
}
