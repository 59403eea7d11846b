/* System registers as a VMM sees them without an in-framework GIC: every GIC
 * CPU-interface register (ICC_*_EL1) exits with EC 0x18 and the exact ISS for the
 * access direction it allows and is UNDEFINED in the other; the registers that share
 * its encoding space (ISR_EL1, RMR_EL1, RVBAR_EL1, VBAR_EL1) execute in the guest, and
 * the EL2/EL3 GIC registers are UNDEFINED at EL1. Also the timers' ISTATUS as
 * hv_vcpu_get_sys_reg() reports it before and after the deadline. */
#include <time.h>

#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define CODE_OFF 0x1000u
#define VBAR_OFF 0x4000u
#define VEC_BYTES 0x800u
#define HVC(imm) (0xd4000002u | ((uint32_t)(imm) << 5))
#define DONE_IMM 1u       /* the instruction ran: the HVC after it */
#define VECTOR_IMM 0x3ffu /* a guest exception: every vector is this HVC */
#define MRS 1u
#define MSR 0u
#define CNT_CTL_ENABLE 1u
#define CNT_CTL_IMASK 2u
#define CNT_CTL_ISTATUS 4u
#define CNTFRQ 24000000ull

/* MRS/MSR Xt, S<op0>_<op1>_C<n>_C<m>_<op2>. */
static uint32_t sysreg_insn(unsigned read, unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
                            unsigned rt)
{
    return 0xd5000000u | (read << 21) | (op0 << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt;
}

/* ESR_EL2 of a trapped MRS/MSR: EC 0x18, IL, ISS Op0/Op2/Op1/CRn/Rt/CRm/Dir. */
static uint64_t sysreg_esr(unsigned read, unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
                           unsigned rt)
{
    uint64_t iss = ((uint64_t)op0 << 20) | ((uint64_t)op2 << 17) | ((uint64_t)op1 << 14) | ((uint64_t)crn << 10) |
                   ((uint64_t)rt << 5) | ((uint64_t)crm << 1) | read;
    return (0x18ull << 26) | (1ull << 25) | iss;
}

enum outcome { TRAP, UNDEF, RUNS };
struct reg_case {
    const char *name;
    unsigned op0, op1, crn, crm, op2;
    enum outcome read, write;
};

#define ICC_RW(name, crn, crm, op2) { name, 3, 0, crn, crm, op2, TRAP, TRAP }
#define ICC_RO(name, crn, crm, op2) { name, 3, 0, crn, crm, op2, TRAP, UNDEF }
#define ICC_WO(name, crn, crm, op2) { name, 3, 0, crn, crm, op2, UNDEF, TRAP }
static const struct reg_case cases[] = {
    ICC_RW("ICC_PMR_EL1", 4, 6, 0),
    ICC_RO("ICC_IAR0_EL1", 12, 8, 0),
    ICC_WO("ICC_EOIR0_EL1", 12, 8, 1),
    ICC_RO("ICC_HPPIR0_EL1", 12, 8, 2),
    ICC_RW("ICC_BPR0_EL1", 12, 8, 3),
    ICC_RW("ICC_AP0R0_EL1", 12, 8, 4),
    ICC_RW("ICC_AP0R1_EL1", 12, 8, 5),
    ICC_RW("ICC_AP0R2_EL1", 12, 8, 6),
    ICC_RW("ICC_AP0R3_EL1", 12, 8, 7),
    ICC_RW("ICC_AP1R0_EL1", 12, 9, 0),
    ICC_RW("ICC_AP1R1_EL1", 12, 9, 1),
    ICC_RW("ICC_AP1R2_EL1", 12, 9, 2),
    ICC_RW("ICC_AP1R3_EL1", 12, 9, 3),
    ICC_WO("ICC_DIR_EL1", 12, 11, 1),
    ICC_RO("ICC_RPR_EL1", 12, 11, 3),
    ICC_WO("ICC_SGI1R_EL1", 12, 11, 5),
    ICC_WO("ICC_ASGI1R_EL1", 12, 11, 6),
    ICC_WO("ICC_SGI0R_EL1", 12, 11, 7),
    ICC_RO("ICC_IAR1_EL1", 12, 12, 0),
    ICC_WO("ICC_EOIR1_EL1", 12, 12, 1),
    ICC_RO("ICC_HPPIR1_EL1", 12, 12, 2),
    ICC_RW("ICC_BPR1_EL1", 12, 12, 3),
    ICC_RW("ICC_CTLR_EL1", 12, 12, 4),
    ICC_RW("ICC_SRE_EL1", 12, 12, 5),
    ICC_RW("ICC_IGRPEN0_EL1", 12, 12, 6),
    ICC_RW("ICC_IGRPEN1_EL1", 12, 12, 7),
    /* Neighbours in CRn 12 that the guest runs itself. */
    { "VBAR_EL1", 3, 0, 12, 0, 0, RUNS, RUNS },
    { "RVBAR_EL1", 3, 0, 12, 0, 1, RUNS, UNDEF },
    { "RMR_EL1", 3, 0, 12, 0, 2, RUNS, RUNS },
    { "ISR_EL1", 3, 0, 12, 1, 0, RUNS, UNDEF },
    /* PMR's neighbour and unallocated CRn 12 encodings. */
    { "S3_0_C4_C6_1", 3, 0, 4, 6, 1, UNDEF, UNDEF },
    { "S3_0_C12_C10_0", 3, 0, 12, 10, 0, UNDEF, UNDEF },
    { "S3_0_C12_C11_0", 3, 0, 12, 11, 0, UNDEF, UNDEF },
    /* EL2 and EL3 GIC registers do not exist for an EL1 guest. */
    { "ICC_SRE_EL2", 3, 4, 12, 9, 5, UNDEF, UNDEF },
    { "ICH_HCR_EL2", 3, 4, 12, 11, 0, UNDEF, UNDEF },
    { "ICH_VTR_EL2", 3, 4, 12, 11, 1, UNDEF, UNDEF },
    { "ICC_CTLR_EL3", 3, 6, 12, 12, 4, UNDEF, UNDEF },
    { "ICC_SRE_EL3", 3, 6, 12, 12, 5, UNDEF, UNDEF },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct a64_vm vm;

static void setup(void)
{
    a64_vm_setup(&vm, RAM_BASE, RAM_SIZE);
    for (unsigned off = 0; off < VEC_BYTES; off += 4) {
        uint32_t w = HVC(VECTOR_IMM);
        memcpy(vm.mem + VBAR_OFF + off, &w, 4);
    }
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + VBAR_OFF);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

/* Run one instruction followed by HVC #DONE_IMM at EL1h; returns the exit syndrome. */
static uint64_t run_one(uint32_t insn)
{
    uint32_t code[2] = { insn, HVC(DONE_IMM) };
    memcpy(vm.mem + CODE_OFF, code, sizeof(code));
    a64_set(&vm, HV_REG_PC, RAM_BASE + CODE_OFF);
    a64_set(&vm, HV_REG_CPSR, 0x3c5);
    a64_set_sys(&vm, HV_SYS_REG_VBAR_EL1, RAM_BASE + VBAR_OFF);
    return a64_run_exception(&vm);
}

static void check_case(const struct reg_case *c, unsigned dir, unsigned rt)
{
    enum outcome want = dir == MRS ? c->read : c->write;
    const char *what = dir == MRS ? "read" : "write";
    uint64_t esr = run_one(sysreg_insn(dir, c->op0, c->op1, c->crn, c->crm, c->op2, rt));
    uint64_t pc = a64_reg(&vm, HV_REG_PC);
    switch (want) {
    case TRAP:
        cr_expect_eq(esr, sysreg_esr(dir, c->op0, c->op1, c->crn, c->crm, c->op2, rt),
                     "%s %s: ESR %#llx", c->name, what, (unsigned long long)esr);
        cr_expect_eq(pc, RAM_BASE + CODE_OFF, "%s %s: pc stays on the instruction", c->name, what);
        break;
    case UNDEF:
        cr_expect_eq(esr, (uint64_t)0x16 << 26 | 1u << 25 | VECTOR_IMM, "%s %s: taken by the guest", c->name, what);
        cr_expect_eq(ESR_EC(a64_sys(&vm, HV_SYS_REG_ESR_EL1)), EC_UNKNOWN, "%s %s: UNDEFINED", c->name, what);
        cr_expect_eq(a64_sys(&vm, HV_SYS_REG_ELR_EL1), RAM_BASE + CODE_OFF, "%s %s", c->name, what);
        break;
    case RUNS:
        cr_expect_eq(esr, (uint64_t)0x16 << 26 | 1u << 25 | DONE_IMM, "%s %s: runs in the guest (ESR %#llx)",
                     c->name, what, (unsigned long long)esr);
        break;
    }
}

TestSuite(arm64_sysreg_traps, .init = setup, .fini = teardown);

Test(arm64_sysreg_traps, every_gic_register_and_its_neighbours)
{
    for (unsigned i = 0; i < NCASES; i++) {
        check_case(&cases[i], MRS, i % 31);
        check_case(&cases[i], MSR, (i + 7) % 31);
    }
}

/* The two syndromes VMMs were seen to expect, as literals. */
Test(arm64_sysreg_traps, icc_pmr_syndromes)
{
    cr_assert_eq(run_one(0xd5384600u), 0x6230100dull, "mrs x0, ICC_PMR_EL1");
    cr_assert_eq(run_one(0xd5184601u), 0x6230102cull, "msr ICC_PMR_EL1, x1");
}

Test(arm64_sysreg_traps, isr_el1_shows_the_pending_irq)
{
    uint32_t mrs_isr_x2 = sysreg_insn(MRS, 3, 0, 12, 1, 0, 2);
    run_one(mrs_isr_x2);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 0, "nothing pending");
    cr_assert_eq(hv_vcpu_set_pending_interrupt(vm.vcpu, HV_INTERRUPT_TYPE_IRQ, true), HV_SUCCESS);
    run_one(mrs_isr_x2);   /* PSTATE.I is set: the IRQ stays pending, ISR shows it */
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 1u << 7, "ISR_EL1.I");
    cr_assert_eq(hv_vcpu_set_pending_interrupt(vm.vcpu, HV_INTERRUPT_TYPE_FIQ, true), HV_SUCCESS);
    run_one(mrs_isr_x2);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), 1u << 6, "ISR_EL1.F");
}

Test(arm64_sysreg_traps, rmr_el1_reads_aarch64)
{
    run_one(sysreg_insn(MRS, 3, 0, 12, 0, 2, 3));
    cr_expect_eq(a64_reg(&vm, HV_REG_X3) & 1u, 1u, "RMR_EL1.AA64");
}

static uint64_t guest_counter(void)
{
    run_one(0xd53be041u);   /* mrs x1, cntvct_el0 */
    return a64_reg(&vm, HV_REG_X1);
}

static uint64_t ctl_now(hv_sys_reg_t reg)
{
    return a64_sys(&vm, reg);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

Test(arm64_sysreg_traps, cntv_ctl_istatus_before_and_after_the_deadline)
{
    uint64_t now = guest_counter();
    uint64_t deadline = now + CNTFRQ / 5;   /* 200 ms ahead */
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, deadline);
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE | CNT_CTL_IMASK);
    uint64_t before = ctl_now(HV_SYS_REG_CNTV_CTL_EL0);
    if (guest_counter() < deadline)   /* guard against a host that stalled 200 ms */
        cr_expect_eq(before, CNT_CTL_ENABLE | CNT_CTL_IMASK, "before the deadline: no ISTATUS");
    while (guest_counter() < deadline)
        sleep_ms(20);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTV_CTL_EL0), CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS,
                 "after the deadline: ISTATUS, whatever IMASK says");
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_IMASK);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTV_CTL_EL0), CNT_CTL_IMASK, "disabled: no ISTATUS");
    /* The guest reads the same bits; a written ISTATUS is ignored. */
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE | CNT_CTL_IMASK);
    run_one(0xd53be322u);   /* mrs x2, cntv_ctl_el0 */
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS);
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, UINT64_MAX);
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS);
    run_one(0xd53be322u);
    cr_expect_eq(a64_reg(&vm, HV_REG_X2), CNT_CTL_ENABLE | CNT_CTL_IMASK, "ISTATUS is computed, not stored");
}

Test(arm64_sysreg_traps, cntv_ctl_istatus_follows_the_offset)
{
    uint64_t now = guest_counter();
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, now + 100 * CNTFRQ);   /* 100 s ahead */
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTV_CTL_EL0) & CNT_CTL_ISTATUS, 0);
    uint64_t off = 0;
    cr_assert_eq(hv_vcpu_get_vtimer_offset(vm.vcpu, &off), HV_SUCCESS);
    /* Moving the virtual counter 200 s forward passes the compare value. */
    cr_assert_eq(hv_vcpu_set_vtimer_offset(vm.vcpu, off - 200 * CNTFRQ), HV_SUCCESS);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTV_CTL_EL0) & CNT_CTL_ISTATUS, CNT_CTL_ISTATUS);
    cr_assert_eq(hv_vcpu_set_vtimer_offset(vm.vcpu, off), HV_SUCCESS);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTV_CTL_EL0) & CNT_CTL_ISTATUS, 0);
}

Test(arm64_sysreg_traps, cntp_ctl_istatus_follows_the_physical_counter)
{
    a64_set_sys(&vm, HV_SYS_REG_CNTP_CVAL_EL0, UINT64_MAX);
    a64_set_sys(&vm, HV_SYS_REG_CNTP_CTL_EL0, CNT_CTL_ENABLE | CNT_CTL_ISTATUS);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTP_CTL_EL0), CNT_CTL_ENABLE);
    a64_set_sys(&vm, HV_SYS_REG_CNTP_CVAL_EL0, 0);
    cr_expect_eq(ctl_now(HV_SYS_REG_CNTP_CTL_EL0), CNT_CTL_ENABLE | CNT_CTL_ISTATUS);
}
