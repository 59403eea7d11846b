/* sys_debug.c - software step (MDSCR_EL1.SS with PSTATE.SS, after one instruction)
 * hardware breakpoints (DBGBCR<n>.E address matches, before the instruction) and
 * watchpoints (DBGWCR<n>.E, before the data access; loads, stores, pairs, exclusives
 * and atomics of the general and FP/SIMD registers, not LD1-4/ST1-4 or DC ZVA).
 * With hv_vcpu_set_trap_debug_exceptions they exit to the client (EC 0x32 / 0x30), as
 * Apple's hypervisor does for debuggers in VMMs; otherwise they are the guest's own
 * and are taken to its EL1 (EC 0x32/0x33, 0x30/0x31) when the guest enabled them:
 * MDSCR_EL1.MDE for breakpoints, and from EL1 also MDSCR_EL1.KDE with PSTATE.D clear
 * (Arm ARM D2.4, "Enabling debug exceptions"; from EL0 they are always enabled). */
#include "frontends/arm64/a64_fe.h"

#include "core/vm.h"
#include "frontends/arm64/features.h"

#define MDSCR_SS A64_MDSCR_SS
#define MDSCR_KDE (1ull << 13)
#define MDSCR_MDE A64_MDSCR_MDE
#define EC_BREAKPOINT_SAME 0x31u
#define EC_WATCHPOINT_LOWER 0x34u
#define EC_WATCHPOINT_SAME 0x35u
#define ISS_WNR (1u << 6)
#define DBGWCR_E (1ull << 0)
#define DBGWCR_PAC_SHIFT 1
#define DBGWCR_LSC_LOAD (1ull << 3)
#define DBGWCR_LSC_STORE (1ull << 4)
#define DBGWCR_BAS_SHIFT 5
#define DBGWCR_MASK_SHIFT 24
#define DBGWVR_DWORD ~7ull
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
 * higher when taken from EL1 itself); preferred return = the state's pc; FAR = far
 * for watchpoints. */
static void debug_exception(struct soft_cpu *cpu, uint32_t lower_ec, uint32_t iss, bool far_valid, uint64_t far);

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
        debug_exception(cpu, EC_STEP_LOWER, ISS_STEP_ISV | FSC_DEBUG, false, 0);
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
            debug_exception(cpu, EC_BREAKPOINT_LOWER, FSC_DEBUG, false, 0);
            soft_unwind(cpu, cpu->stop == SOFT_STOP_EXIT ? SOFT_STOP_EXIT : SOFT_STOP_FAULT);
        }
    }
    return 0;
}

static void debug_exception(struct soft_cpu *cpu, uint32_t lower_ec, uint32_t iss, bool far_valid, uint64_t far)
{
    struct a64_state *st = a64_st(cpu);
    if (trapped(cpu)) {
        debug_exit(cpu, lower_ec, iss);
        cpu->vcpu->exit.u.exc.fault_addr = far;
        return;
    }
    /* The same-EL classes are the lower-EL ones plus one (0x30/0x31, 0x32/0x33, 0x34/0x35). */
    uint32_t ec = a64_el(st) == 0 ? lower_ec : lower_ec + 1;
    a64_take_exception(cpu, ec, iss, far, far_valid, st->pc);
    cpu->stop = SOFT_STOP_FAULT;
}

bool a64_watchpoints_armed(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    if (!trapped(cpu) && !((st->sys.mdscr_el1 & MDSCR_MDE) && guest_enabled(st)))
        return false;
    for (unsigned n = 0; n < A64_WATCHPOINTS; n++)
        if (st->sys.dbgwcr[n] & DBGWCR_E)
            return true;
    return false;
}

/* Watchpoint n covers a byte of [addr, addr + size) for this access: enabled for the
 * EL (PAC) and the direction (LSC), and either the MASK-sized aligned range around
 * DBGWVR or the bytes BAS selects in DBGWVR's doubleword. */
static bool wp_matches(const struct a64_state *st, unsigned n, uint64_t addr, unsigned size, bool write)
{
    uint64_t wcr = st->sys.dbgwcr[n];
    unsigned pac = (unsigned)(wcr >> DBGWCR_PAC_SHIFT) & 3u;
    if (!(wcr & DBGWCR_E) || !(pac & (a64_el(st) == 0 ? PMC_EL0 : PMC_EL1)) ||
        !(wcr & (write ? DBGWCR_LSC_STORE : DBGWCR_LSC_LOAD)))
        return false;
    uint64_t wvr = st->sys.dbgwvr[n] & DBGBVR_MASK;
    if (wvr & (1ull << 52))
        wvr |= ~DBGBVR_MASK & ~3ull;
    unsigned mask = (unsigned)(wcr >> DBGWCR_MASK_SHIFT) & 31u;
    if (mask >= 3) {
        uint64_t lo = wvr & ~((1ull << mask) - 1);
        return addr < lo + (1ull << mask) && lo < addr + size;
    }
    uint64_t dword = wvr & DBGWVR_DWORD;
    unsigned bas = (unsigned)(wcr >> DBGWCR_BAS_SHIFT) & 0xffu;
    for (unsigned i = 0; i < 8; i++)
        if (((bas >> i) & 1u) && dword + i >= addr && dword + i - addr < size)
            return true;
    return false;
}

ir_u128 a64_helper_watchpoint(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    uint64_t addr = (uint64_t)a, pc = (uint64_t)c;
    unsigned size = (unsigned)b & 0xffu;
    bool write = ((unsigned)b >> 8) & 1u;
    for (unsigned n = 0; n < A64_WATCHPOINTS; n++) {
        if (wp_matches(st, n, addr, size, write)) {
            st->pc = pc;   /* the access has not happened: the instruction is re-run */
            debug_exception(cpu, EC_WATCHPOINT_LOWER, FSC_DEBUG | (write ? ISS_WNR : 0), true, addr);
            soft_unwind(cpu, cpu->stop == SOFT_STOP_EXIT ? SOFT_STOP_EXIT : SOFT_STOP_FAULT);
        }
    }
    return 0;
}
