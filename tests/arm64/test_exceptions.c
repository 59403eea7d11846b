/* Exception entry and return through VBAR_EL1: ESR_EL1/FAR_EL1/ELR_EL1/SPSR_EL1 as
 * the architecture defines them, the vector offsets for the current EL (SPx) and
 * the lower EL, an IRQ asserted with hv_vcpu_set_pending_interrupt, ERET to EL0 and
 * what EL0 may not do. The guest (exceptions.S) reports each entry with HVC #1. */
#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define ESR(ec, iss) (((uint64_t)(ec) << 26) | (1ull << 25) | (iss))
#define VEC_CUR_SPX_SYNC 0x200u
#define VEC_CUR_SPX_IRQ 0x280u
#define VEC_LOWER_SYNC 0x400u
#define EC_SVC 0x15u
#define EC_PC_ALIGN 0x22u
#define EC_DABT_CUR 0x25u
#define DFSC_ALIGNMENT 0x21u

static struct a64_vm vm;

struct entry {
    uint64_t esr, far, elr, spsr, vector;
};

/* Run to the next handler report (HVC #1) and read what the handler saw. */
static struct entry next_entry(void)
{
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC, "EC %#x pc %#llx", ESR_EC(esr), (unsigned long long)a64_reg(&vm, HV_REG_PC));
    cr_assert_eq(ESR_ISS(esr), 1);
    return (struct entry){ a64_reg(&vm, HV_REG_X20), a64_reg(&vm, HV_REG_X21), a64_reg(&vm, HV_REG_X22),
                           a64_reg(&vm, HV_REG_X23), a64_reg(&vm, HV_REG_X24) };
}

Test(arm64_exceptions, entry_and_return)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    a64_load_guest(&vm, "exceptions", RAM_BASE);
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    uint64_t svc_pc = RAM_BASE + 12;

    /* 1: SVC #0x55 at EL1h: ELR is the next instruction, SPSR the PSTATE before. */
    struct entry e = next_entry();
    cr_expect_eq(e.vector, VEC_CUR_SPX_SYNC);
    cr_expect_eq(e.esr, ESR(EC_SVC, 0x55));
    cr_expect_eq(e.elr, svc_pc + 4);
    cr_expect_eq(e.spsr, 0x3c5);
    uint64_t cpsr = a64_reg(&vm, HV_REG_CPSR);
    cr_expect_eq(cpsr & 0x3cf, 0x3c5, "handler runs at EL1h with DAIF masked");

    /* 2: UDF #0: EC 0, ELR on the instruction; the "kernel" skips it. */
    e = next_entry();
    cr_expect_eq(e.esr, ESR(EC_UNKNOWN, 0));
    cr_expect_eq(e.elr, svc_pc + 4);
    a64_set_sys(&vm, HV_SYS_REG_ELR_EL1, e.elr + 4);

    /* 3: misaligned LDXR: alignment fault, DFSC 0x21, FAR = the address. */
    e = next_entry();
    cr_expect_eq(e.esr, ESR(EC_DABT_CUR, DFSC_ALIGNMENT));
    cr_expect_eq(e.far & 0xf, 1, "FAR %#llx", (unsigned long long)e.far);
    a64_set_sys(&vm, HV_SYS_REG_ELR_EL1, e.elr + 4);

    /* 4: BR to pc+2: PC alignment fault with FAR = ELR = the bad pc. */
    e = next_entry();
    cr_expect_eq(e.esr, ESR(EC_PC_ALIGN, 0));
    cr_expect_eq(e.far, e.elr);
    cr_expect_eq(e.elr & 3, 2);
    a64_set_sys(&vm, HV_SYS_REG_ELR_EL1, e.elr - 2);

    /* 5: an IRQ, pending for this run, taken when the guest unmasks I. */
    cr_assert_eq(hv_vcpu_set_pending_interrupt(vm.vcpu, HV_INTERRUPT_TYPE_IRQ, true), HV_SUCCESS);
    e = next_entry();
    cr_expect_eq(e.vector, VEC_CUR_SPX_IRQ);
    cr_expect_eq(e.spsr & 0x80, 0, "I was clear when the IRQ was taken");
    bool pending = true;
    cr_expect_eq(hv_vcpu_get_pending_interrupt(vm.vcpu, HV_INTERRUPT_TYPE_IRQ, &pending), HV_SUCCESS);
    cr_expect_not(pending, "the line is asserted for one run only");

    /* 7: SVC #1 from EL0 after the ERET: lower-EL vector, SPSR says EL0t. */
    e = next_entry();
    cr_expect_eq(e.vector, VEC_LOWER_SYNC);
    cr_expect_eq(e.esr, ESR(EC_SVC, 1));
    cr_expect_eq(e.spsr & 0xf, 0, "from EL0t");

    /* 8, 9: MRS of an EL1 register and HVC are UNDEFINED at EL0. */
    e = next_entry();
    cr_expect_eq(e.vector, VEC_LOWER_SYNC);
    cr_expect_eq(e.esr, ESR(EC_UNKNOWN, 0));
    a64_set_sys(&vm, HV_SYS_REG_ELR_EL1, e.elr + 4);
    e = next_entry();
    cr_expect_eq(e.esr, ESR(EC_UNKNOWN, 0));
    a64_set_sys(&vm, HV_SYS_REG_ELR_EL1, e.elr + 4);

    /* 10: the end */
    e = next_entry();
    cr_expect_eq(e.esr, ESR(EC_SVC, 0xfe));
    a64_vm_teardown(&vm);
}

Test(arm64_exceptions, sp_is_banked_by_mode)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    /* EL1h uses SP_EL1; switching CPSR to EL1t brings SP_EL0 in. */
    a64_set_sys(&vm, HV_SYS_REG_SP_EL0, 0x1000);
    a64_set_sys(&vm, HV_SYS_REG_SP_EL1, 0x2000);
    uint32_t code[] = {
        0x910003e0u,   /* mov x0, sp */
        0xd50041bfu,   /* msr spsel, #1 */
        0x910003e1u,   /* mov x1, sp */
        0xd4000002u,   /* hvc #0 */
    };
    memcpy(vm.mem, code, sizeof(code));
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    a64_set(&vm, HV_REG_CPSR, 0x3c4);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(a64_reg(&vm, HV_REG_X0), 0x1000, "EL1t runs on SP_EL0");
    cr_expect_eq(a64_reg(&vm, HV_REG_X1), 0x2000, "SPSel=1 selects SP_EL1");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_SP_EL0), 0x1000);
    a64_vm_teardown(&vm);
}

/* The system registers translated EL1 code reads inline (no helper): values and the
 * UNDEFINED read of SP_EL0 while SP_EL0 is the selected stack. */
Test(arm64_exceptions, inline_system_register_reads)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    a64_set_sys(&vm, HV_SYS_REG_SP_EL0, 0x1234);
    a64_set_sys(&vm, HV_SYS_REG_TPIDR_EL1, 0xabcd0000ull);
    uint32_t code[] = {
        0xd5384102u,   /* mrs x2, sp_el0 */
        0xd538d083u,   /* mrs x3, tpidr_el1 */
        0xd53b4204u,   /* mrs x4, nzcv */
        0xd53b4225u,   /* mrs x5, daif */
        0xd5384246u,   /* mrs x6, currentel */
        0xd4000002u,   /* hvc #0 */
    };
    uint32_t vec = 0xd4000022u;   /* hvc #1 at VBAR + 0x000 (current EL, SP_EL0) */
    memcpy(vm.mem, code, sizeof(code));
    memcpy(vm.mem + 0x1000, &vec, 4);
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + 0x1000);
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    a64_set(&vm, HV_REG_CPSR, 0x600003c5u);   /* Z, C, DAIF masked, EL1h */
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 0);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 0x1234);
    cr_expect_eq(a64_reg(&vm, HV_REG_X3), 0xabcd0000ull);
    cr_expect_eq(a64_reg(&vm, HV_REG_X4), 0x60000000u);
    cr_expect_eq(a64_reg(&vm, HV_REG_X5), 0x3c0u);
    cr_expect_eq(a64_reg(&vm, HV_REG_X6), 4u, "CurrentEL = EL1");
    /* EL1t: SP_EL0 is the stack in use, MRS SP_EL0 is UNDEFINED (EC 0), ELR on it. */
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    a64_set(&vm, HV_REG_CPSR, 0x3c4u);
    esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 1, "taken to the vector");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), ESR(0u, 0));
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE);
    a64_vm_teardown(&vm);
}

Test(arm64_exceptions, sp_alignment_check_follows_sctlr_sa)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    uint32_t code[] = {
        0xf94003e0u,   /* ldr x0, [sp] */
        0xd4000002u,   /* hvc #0 */
    };
    uint32_t vec = 0xd4000022u;   /* hvc #1 at VBAR + 0x200 */
    memcpy(vm.mem, code, sizeof(code));
    memcpy(vm.mem + 0x1000 + VEC_CUR_SPX_SYNC, &vec, 4);
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + 0x1000);
    a64_set_sys(&vm, HV_SYS_REG_SP_EL1, RAM_BASE + 0x8008);   /* 8-aligned, not 16 */
    /* SA clear: the load runs. */
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    uint64_t esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 0);
    /* SA set: SP alignment fault, EC 0x26, ELR on the load. */
    a64_set_sys(&vm, HV_SYS_REG_SCTLR_EL1, a64_sys(&vm, HV_SYS_REG_SCTLR_EL1) | (1u << 3));
    a64_set(&vm, HV_REG_PC, RAM_BASE);
    esr = a64_run_exception(&vm);
    cr_assert_eq(ESR_EC(esr), EC_HVC);
    cr_expect_eq(ESR_ISS(esr), 1, "taken to the vector");
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ESR_EL1), ESR(0x26u, 0));
    cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE);
    a64_vm_teardown(&vm);
}
