/* The shared MSR table: every slot is found by its index, and the MSRs the KVM route
 * moves by KVM_GET/SET_MSRS are exactly the table's SG_MSRS slots. */
#include <criterion/criterion.h>

#include "core/kvm/kvm.h"
#include "core/x86_msrs.h"

Test(x86_msrs, every_slot_found_by_index)
{
    for (unsigned i = 0; i < x86_msr_slot_count; i++)
        cr_expect_eq(x86_msr_slot(x86_msr_slots[i].index), &x86_msr_slots[i], "MSR %#x",
                     x86_msr_slots[i].index);
    cr_expect_null(x86_msr_slot(0xdeadbeef));
}

Test(x86_msrs, kvm_state_msrs_are_the_msr_group)
{
    unsigned n = 0;
    for (unsigned i = 0; i < x86_msr_slot_count; i++)
        n += x86_msr_slots[i].group == SG_MSRS;
    cr_expect_eq(n, KVM_STATE_MSR_COUNT);
    struct x86_state st = { 0 };
    st.msr.lstar = 0x1234;
    bool seen = false;
    for (unsigned i = 0; i < KVM_STATE_MSR_COUNT; i++)
        if (kvm_state_msr_index(i) == X86_MSR_LSTAR)
            seen = *kvm_state_msr_field(&st, i) == 0x1234;
    cr_expect(seen, "LSTAR travels with its field");
}
