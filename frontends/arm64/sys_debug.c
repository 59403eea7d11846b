/* sys_debug.c - software step (MDSCR_EL1.SS with PSTATE.SS, after one instruction)
 * and hardware breakpoints (DBGBCR<n>.E address matches, before the instruction).
 * With hv_vcpu_set_trap_debug_exceptions they exit to the client (EC 0x32 / 0x30), as
 * Apple's hypervisor does for debuggers in VMMs; otherwise they are the guest's own
 * and are taken to its EL1 (EC 0x32/0x33, 0x30/0x31) when the guest enabled them:
 * MDSCR_EL1.MDE for breakpoints, and from EL1 also MDSCR_EL1.KDE with PSTATE.D clear
 * (Arm ARM D2.4, "Enabling debug exceptions"; from EL0 they are always enabled). */
#include "frontends/arm64/a64_fe.h"

#include "core/vm.h"
#include "frontends/arm64/features.h"

#define MDSCR_SS (1ull << 0)
#define MDSCR_KDE (1ull << 13)
#define MDSCR_MDE (1ull << 15)
#define EC_BREAKPOINT_SAME 0x31u
#define EC_STEP_SAME 0x33u
#define DBGBCR_E (1ull << 0)
#define DBGBCR_PMC_SHIFT 1
#define DBGBCR_BT_SHIFT 20
#define DBGBCR_BT_MASK 0xfull
#define DBGBVR_MASK 0x000ffffffffffffcull   /* VA[52:2], sign-extended from bit 52 */
#define EC_BREAKPOINT_LOWER 0x30u
#define EC_STEP_LOWER 0x32u
#define ISS_STEP_ISV (1u << 24)
#define FSC_DEBUG 0x22u
#define PMC_EL1 1u
#define PMC_EL0 2u

static bool trapped(const struct soft_cpu *cpu)
{
    return cpu->vcpu->ext.a64.trap_debug_exceptions;
}

/* Debug exceptions targeting the guest's EL1 are enabled at the current EL. */
static bool guest_enabled(const struct a64_state *st)
{
    return a64_el(st) == 0 || ((st->sys.mdscr_el1 & MDSCR_KDE) && !(st->pstate & A64_PSTATE_D));
}

bool a64_step_active(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    return (st->sys.mdscr_el1 & MDSCR_SS) && (st->pstate & A64_PSTATE_SS) && (trapped(cpu) || guest_enabled(st));
}

/* An unlinked address-match breakpoint (BT = 0) enabled for the current EL. */
static bool bp_matches(const struct a64_state *st, unsigned n, uint64_t pc)
{
    uint64_t bcr = st->sys.dbgbcr[n];
    if (!(bcr & DBGBCR_E) || ((bcr >> DBGBCR_BT_SHIFT) & DBGBCR_BT_MASK) != 0)
        return false;
    unsigned pmc = (unsigned)(bcr >> DBGBCR_PMC_SHIFT) & 3u;
    if (!(pmc & (a64_el(st) == 0 ? PMC_EL0 : PMC_EL1)))
        return false;
    uint64_t bvr = st->sys.dbgbvr[n] & DBGBVR_MASK;
    if (bvr & (1ull << 52))
        bvr |= ~DBGBVR_MASK & ~3ull;
    return pc == bvr;
}

bool a64_breakpoints_armed(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    if (!trapped(cpu) && !((st->sys.mdscr_el1 & MDSCR_MDE) && guest_enabled(st)))
        return false;
    for (unsigned n = 0; n < A64_BREAKPOINTS; n++)
        if (st->sys.dbgbcr[n] & DBGBCR_E)
            return true;
    return false;
}

/* To the client when it traps debug exceptions, else to the guest's EL1 (the EC one
 * higher when taken from EL1 itself); preferred return = the state's pc. */
static void debug_exception(struct soft_cpu *cpu, uint32_t lower_ec, uint32_t iss);

static void debug_exit(struct soft_cpu *cpu, uint32_t ec, uint32_t iss)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    struct a64_state *st = a64_st(cpu);
    *e = (struct anyhv_exit){ .kind = EXIT_DEBUG, .pc = st->pc, .insn_len = 4, .icount = cpu->icount };
    e->u.exc.syndrome = ((uint64_t)ec << A64_ESR_EC_SHIFT) | A64_ESR_IL | iss;
    cpu->stop = SOFT_STOP_EXIT;
}

bool a64_step_check(struct soft_cpu *cpu)
{
    struct a64_fe_data *d = cpu->fe_data;
    if (!a64_step_active(cpu)) {
        if (d)
            d->step_armed = false;
        return true;
    }
    if (d && d->step_armed) {
        /* One instruction ran: active-pending, take the step exception. */
        d->step_armed = false;
        a64_st(cpu)->pstate &= ~A64_PSTATE_SS;
        debug_exception(cpu, EC_STEP_LOWER, ISS_STEP_ISV | FSC_DEBUG);
        if (cpu->stop == SOFT_STOP_EXIT)
            return false;
        cpu->stop = SOFT_RUN;   /* taken by the guest: go on at its vector */
        return true;
    }
    if (d)
        d->step_armed = true;
    return true;
}

ir_u128 a64_helper_breakpoint(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    uint64_t pc = (uint64_t)a;
    (void)b, (void)c;
    for (unsigned n = 0; n < A64_BREAKPOINTS; n++) {
        if (bp_matches(st, n, pc)) {
            st->pc = pc;
            debug_exception(cpu, EC_BREAKPOINT_LOWER, FSC_DEBUG);
            soft_unwind(cpu, cpu->stop == SOFT_STOP_EXIT ? SOFT_STOP_EXIT : SOFT_STOP_FAULT);
        }
    }
    return 0;
}

static void debug_exception(struct soft_cpu *cpu, uint32_t lower_ec, uint32_t iss)
{
    struct a64_state *st = a64_st(cpu);
    if (trapped(cpu)) {
        debug_exit(cpu, lower_ec, iss);
        return;
    }
    uint32_t ec = a64_el(st) == 0 ? lower_ec : (lower_ec == EC_STEP_LOWER ? EC_STEP_SAME : EC_BREAKPOINT_SAME);
    a64_take_exception(cpu, ec, iss, 0, false, st->pc);
    cpu->stop = SOFT_STOP_FAULT;
}
