/* sys_regs.c - MRS/MSR and SYS for EL0/EL1: which system registers the soft CPU
 * implements (plain state fields in one table, special registers by code), the
 * EL0 access rules, traps to EL1 (EC 0x18), and the registers a VMM emulates on
 * Apple's hypervisor, which exit to the client with EC 0x18 and the full ISS. */
#include "frontends/arm64/a64_fe.h"

#include <stddef.h>

#include "core/vm.h"
#include "frontends/arm64/features.h"

#define SR(op0, op1, crn, crm, op2) ((uint32_t)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))
#define SR_OP0(id) (((id) >> 14) & 3u)
#define SR_OP1(id) (((id) >> 11) & 7u)
#define SR_CRN(id) (((id) >> 7) & 15u)
#define SR_CRM(id) (((id) >> 3) & 15u)
#define SR_OP2(id) ((id)&7u)

/* SCTLR_EL1 bits that open EL0 access. */
#define SCTLR_UMA (1ull << 9)
#define SCTLR_DZE (1ull << 14)
#define SCTLR_UCT (1ull << 15)
#define SCTLR_UCI (1ull << 26)
/* CNTKCTL_EL1 EL0 access bits. */
#define CNTKCTL_EL0PCTEN (1ull << 0)
#define CNTKCTL_EL0VCTEN (1ull << 1)
#define CNTKCTL_EL0VTEN (1ull << 8)
/* ISS of EC 0x18. */
#define ISS_SYS_READ 1u
#define DCZVA_BYTES 64u
#define RMR_AA64 1ull   /* RMR_EL1.AA64: AArch64 is the only state */
#define PAR_F 1ull

enum acc { EL1_RW, EL1_RO, EL0_RW, EL0_RO_EL1_RW };

struct plain_reg {
    uint32_t id;
    uint16_t offset;
    uint8_t access;
};

#define F(member) (uint16_t)offsetof(struct a64_state, sys.member)
static const struct plain_reg plain_regs[] = {
    { SR(3, 0, 1, 0, 0), F(sctlr_el1), EL1_RW },
    { SR(3, 0, 1, 0, 1), F(actlr_el1), EL1_RW },
    { SR(3, 0, 1, 0, 2), F(cpacr_el1), EL1_RW },
    { SR(3, 0, 2, 0, 0), F(ttbr0_el1), EL1_RW },
    { SR(3, 0, 2, 0, 1), F(ttbr1_el1), EL1_RW },
    { SR(3, 0, 2, 0, 2), F(tcr_el1), EL1_RW },
    { SR(3, 0, 4, 0, 0), F(spsr_el1), EL1_RW },
    { SR(3, 0, 4, 0, 1), F(elr_el1), EL1_RW },
    { SR(3, 0, 5, 1, 0), F(afsr0_el1), EL1_RW },
    { SR(3, 0, 5, 1, 1), F(afsr1_el1), EL1_RW },
    { SR(3, 0, 5, 2, 0), F(esr_el1), EL1_RW },
    { SR(3, 0, 6, 0, 0), F(far_el1), EL1_RW },
    { SR(3, 0, 7, 4, 0), F(par_el1), EL1_RW },
    { SR(3, 0, 10, 2, 0), F(mair_el1), EL1_RW },
    { SR(3, 0, 10, 3, 0), F(amair_el1), EL1_RW },
    { SR(3, 0, 12, 0, 0), F(vbar_el1), EL1_RW },
    { SR(3, 0, 13, 0, 1), F(contextidr_el1), EL1_RW },
    { SR(3, 0, 13, 0, 4), F(tpidr_el1), EL1_RW },
    { SR(3, 0, 14, 1, 0), F(cntkctl_el1), EL1_RW },
    { SR(3, 2, 0, 0, 0), F(csselr_el1), EL1_RW },
    { SR(3, 3, 13, 0, 2), F(tpidr_el0), EL0_RW },
    { SR(3, 3, 13, 0, 3), F(tpidrro_el0), EL0_RO_EL1_RW },
    { SR(3, 0, 0, 0, 0), F(midr_el1), EL1_RO },
    { SR(3, 0, 0, 0, 5), F(mpidr_el1), EL1_RO },
    { SR(3, 0, 0, 4, 0), F(id_aa64pfr0_el1), EL1_RO },
    { SR(3, 0, 0, 4, 1), F(id_aa64pfr1_el1), EL1_RO },
    { SR(3, 0, 0, 5, 0), F(id_aa64dfr0_el1), EL1_RO },
    { SR(3, 0, 0, 5, 1), F(id_aa64dfr1_el1), EL1_RO },
    { SR(3, 0, 0, 6, 0), F(id_aa64isar0_el1), EL1_RO },
    { SR(3, 0, 0, 6, 1), F(id_aa64isar1_el1), EL1_RO },
    { SR(3, 0, 0, 7, 0), F(id_aa64mmfr0_el1), EL1_RO },
    { SR(3, 0, 0, 7, 1), F(id_aa64mmfr1_el1), EL1_RO },
    { SR(3, 0, 0, 7, 2), F(id_aa64mmfr2_el1), EL1_RO },
    /* Debug registers, unless the client traps debug register accesses. */
    { SR(2, 0, 0, 2, 0), F(mdccint_el1), EL1_RW },
    { SR(2, 0, 0, 2, 2), F(mdscr_el1), EL1_RW },
};
#undef F

static bool is_debug_reg(uint32_t id)
{
    return SR_OP0(id) == 2 && SR_OP1(id) == 0 && (SR_CRN(id) == 0 || SR_CRN(id) == 1);
}

/* DBGBVR/BCR/WVR/WCR<n>: op0 2, op1 0, CRn 0, CRm n, op2 4..7. */
static uint64_t *dbg_slot(struct a64_state *st, uint32_t id)
{
    if (SR_OP0(id) != 2 || SR_OP1(id) != 0 || SR_CRN(id) != 0 || SR_OP2(id) < 4)
        return NULL;
    unsigned n = SR_CRM(id);
    switch (SR_OP2(id)) {
    case 4: return &st->sys.dbgbvr[n];
    case 5: return &st->sys.dbgbcr[n];
    case 6: return &st->sys.dbgwvr[n];
    default: return &st->sys.dbgwcr[n];
    }
}

static const struct plain_reg *find_plain(uint32_t id)
{
    for (size_t i = 0; i < sizeof(plain_regs) / sizeof(plain_regs[0]); i++)
        if (plain_regs[i].id == id)
            return &plain_regs[i];
    return NULL;
}

static uint64_t *field(struct a64_state *st, uint16_t off)
{
    return (uint64_t *)((uint8_t *)st + off);
}

static uint32_t trap_iss(uint32_t id, unsigned rt, bool read)
{
    return (SR_OP0(id) << 20) | (SR_OP2(id) << 17) | (SR_OP1(id) << 14) | (SR_CRN(id) << 10) | (rt << 5) |
           (SR_CRM(id) << 1) | (read ? ISS_SYS_READ : 0);
}

static _Noreturn void undefined(struct soft_cpu *cpu, uint64_t pc)
{
    a64_take_exception(cpu, A64_EC_UNKNOWN, 0, 0, false, pc);
    soft_unwind(cpu, SOFT_STOP_FAULT);
}

static _Noreturn void trap_el1(struct soft_cpu *cpu, uint32_t id, unsigned rt, bool read, uint64_t pc)
{
    a64_take_exception(cpu, A64_EC_SYS64, trap_iss(id, rt, read), 0, false, pc);
    soft_unwind(cpu, SOFT_STOP_FAULT);
}

/* A register the VMM emulates: exit with EC 0x18; the VMM advances pc. */
static _Noreturn void trap_client(struct soft_cpu *cpu, uint32_t id, unsigned rt, bool read, uint64_t value,
                                  uint64_t pc)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    e->kind = EXIT_SYSREG;
    e->pc = pc;
    e->insn_len = 4;
    e->u.reg.index = id;
    e->u.reg.gpr = (uint8_t)rt;
    e->u.reg.write = !read;
    e->u.reg.value = value;
    a64_st(cpu)->pc = pc;
    soft_unwind(cpu, SOFT_STOP_EXIT);
}

/* Registers that exist but that Apple's hypervisor hands to the VMM: the PMU, the
 * OS lock and debug comms, the EL1 physical timer. (The GIC CPU interface is the
 * table below: exact encodings, not a range, since ISR_EL1 and RMR_EL1 share CRn 12.) */
static bool client_emulated(uint32_t id)
{
    unsigned op0 = SR_OP0(id), op1 = SR_OP1(id), crn = SR_CRN(id);
    if (op0 == 3 && crn == 9)
        return true;   /* PMU */
    if (op0 == 3 && op1 == 3 && crn == 14 && SR_CRM(id) == 2)
        return true;   /* CNTP_TVAL/CTL/CVAL_EL0 */
    if (op0 == 2)
        return true;   /* OSLAR/OSLSR/OSDLR, DBGPRCR, MDCCSR, DBGDTR... */
    return false;
}

/* The GIC CPU-interface registers of EL1 (ICC_*_EL1) and the way each may be
 * accessed; the other direction is UNDEFINED (Arm GIC v3 spec, 12.2). */
enum icc_dir { ICC_RW, ICC_RO, ICC_WO };
static const struct {
    uint32_t id;
    uint8_t dir;
} icc_regs[] = {
    { SR(3, 0, 4, 6, 0), ICC_RW },    /* ICC_PMR_EL1 */
    { SR(3, 0, 12, 8, 0), ICC_RO },   /* ICC_IAR0_EL1 */
    { SR(3, 0, 12, 8, 1), ICC_WO },   /* ICC_EOIR0_EL1 */
    { SR(3, 0, 12, 8, 2), ICC_RO },   /* ICC_HPPIR0_EL1 */
    { SR(3, 0, 12, 8, 3), ICC_RW },   /* ICC_BPR0_EL1 */
    { SR(3, 0, 12, 8, 4), ICC_RW },   /* ICC_AP0R0_EL1 .. AP0R3 */
    { SR(3, 0, 12, 8, 5), ICC_RW },
    { SR(3, 0, 12, 8, 6), ICC_RW },
    { SR(3, 0, 12, 8, 7), ICC_RW },
    { SR(3, 0, 12, 9, 0), ICC_RW },   /* ICC_AP1R0_EL1 .. AP1R3 */
    { SR(3, 0, 12, 9, 1), ICC_RW },
    { SR(3, 0, 12, 9, 2), ICC_RW },
    { SR(3, 0, 12, 9, 3), ICC_RW },
    { SR(3, 0, 12, 11, 1), ICC_WO },  /* ICC_DIR_EL1 */
    { SR(3, 0, 12, 11, 3), ICC_RO },  /* ICC_RPR_EL1 */
    { SR(3, 0, 12, 11, 5), ICC_WO },  /* ICC_SGI1R_EL1 */
    { SR(3, 0, 12, 11, 6), ICC_WO },  /* ICC_ASGI1R_EL1 */
    { SR(3, 0, 12, 11, 7), ICC_WO },  /* ICC_SGI0R_EL1 */
    { SR(3, 0, 12, 12, 0), ICC_RO },  /* ICC_IAR1_EL1 */
    { SR(3, 0, 12, 12, 1), ICC_WO },  /* ICC_EOIR1_EL1 */
    { SR(3, 0, 12, 12, 2), ICC_RO },  /* ICC_HPPIR1_EL1 */
    { SR(3, 0, 12, 12, 3), ICC_RW },  /* ICC_BPR1_EL1 */
    { SR(3, 0, 12, 12, 4), ICC_RW },  /* ICC_CTLR_EL1 */
    { SR(3, 0, 12, 12, 5), ICC_RW },  /* ICC_SRE_EL1 */
    { SR(3, 0, 12, 12, 6), ICC_RW },  /* ICC_IGRPEN0_EL1 */
    { SR(3, 0, 12, 12, 7), ICC_RW },  /* ICC_IGRPEN1_EL1 */
};

/* Direction rule of an ICC register, or -1 when id is not one. */
static int icc_dir(uint32_t id)
{
    for (size_t i = 0; i < sizeof(icc_regs) / sizeof(icc_regs[0]); i++)
        if (icc_regs[i].id == id)
            return icc_regs[i].dir;
    return -1;
}

/* An ICC access at EL1: UNDEFINED in the wrong direction, handled by the VM's
 * in-framework GIC when it has one, else an exit to the VMM. Returns the value read. */
static uint64_t icc_access(struct soft_cpu *cpu, uint32_t id, int dir, unsigned rt, bool read, uint64_t value,
                           uint64_t pc)
{
    if ((read && dir == ICC_WO) || (!read && dir == ICC_RO))
        undefined(cpu, pc);
    const struct irqchip_ops *chip = cpu->vcpu->vm->irqchip;
    if (chip && chip->sysreg(cpu->vcpu, id, !read, &value))
        return value;   /* MSR ends its block, so a newly deliverable interrupt is seen next */
    trap_client(cpu, id, rt, read, value, pc);
}

/* RAZ ID space: op0 3, op1 0, CRn 0, CRm 1..7 (AArch32 and unallocated IDs). */
static bool raz_id(uint32_t id)
{
    return SR_OP0(id) == 3 && SR_OP1(id) == 0 && SR_CRN(id) == 0 && SR_CRM(id) >= 1;
}

static uint64_t timer_ctl(struct soft_cpu *cpu)
{
    struct a64_state *st = a64_st(cpu);
    return a64_timer_ctl(st->sys.cntv_ctl_el0, a64_cntvct(cpu), st->sys.cntv_cval_el0);
}

/* EL0 may access: returns false when the access must trap (EC 0x18) or is UNDEFINED. */
static bool el0_allowed(struct a64_state *st, uint32_t id, bool read, bool *undef)
{
    uint64_t sctlr = st->sys.sctlr_el1, kctl = st->sys.cntkctl_el1;
    *undef = false;
    switch (id) {
    case SR(3, 3, 4, 2, 0):   /* NZCV */
    case SR(3, 3, 4, 4, 0):   /* FPCR */
    case SR(3, 3, 4, 4, 1):   /* FPSR */
    case SR(3, 3, 13, 0, 2):  /* TPIDR_EL0 */
        return true;
    case SR(3, 3, 13, 0, 3):  /* TPIDRRO_EL0 */
        *undef = !read;
        return read;
    case SR(3, 3, 4, 2, 1):   /* DAIF */
        return (sctlr & SCTLR_UMA) != 0;
    case SR(3, 3, 0, 0, 1):   /* CTR_EL0 */
        *undef = !read;
        return read && (sctlr & SCTLR_UCT);
    case SR(3, 3, 0, 0, 7):   /* DCZID_EL0 */
        *undef = !read;
        return read;
    case SR(3, 3, 14, 0, 0):  /* CNTFRQ_EL0 */
        *undef = !read;
        return read && (kctl & (CNTKCTL_EL0PCTEN | CNTKCTL_EL0VCTEN));
    case SR(3, 3, 14, 0, 1):  /* CNTPCT_EL0 */
        *undef = !read;
        return read && (kctl & CNTKCTL_EL0PCTEN);
    case SR(3, 3, 14, 0, 2):  /* CNTVCT_EL0 */
        *undef = !read;
        return read && (kctl & CNTKCTL_EL0VCTEN);
    case SR(3, 3, 14, 3, 0):  /* CNTV_TVAL/CTL/CVAL_EL0 */
    case SR(3, 3, 14, 3, 1):
    case SR(3, 3, 14, 3, 2):
        return (kctl & CNTKCTL_EL0VTEN) != 0;
    default:
        *undef = true;
        return false;
    }
}

/* Common access check; returns only when the access proceeds in the soft CPU. */
static void check_access(struct soft_cpu *cpu, uint32_t id, unsigned rt, bool read, uint64_t value, uint64_t pc)
{
    struct a64_state *st = a64_st(cpu);
    if (a64_el(st) == 0) {
        bool undef;
        if (!el0_allowed(st, id, read, &undef)) {
            if (undef)
                undefined(cpu, pc);
            trap_el1(cpu, id, rt, read, pc);
        }
    }
    if (is_debug_reg(id) && cpu->vcpu->ext.a64.trap_debug_reg_accesses)
        trap_client(cpu, id, rt, read, value, pc);
    bool fp = id == SR(3, 3, 4, 4, 0) || id == SR(3, 3, 4, 4, 1);
    if (fp && !(a64_el(st) == 0 ? ((st->sys.cpacr_el1 >> 20) & 3) == 3 : ((st->sys.cpacr_el1 >> 20) & 1))) {
        a64_take_exception(cpu, A64_EC_FP, 0x1e00000u, 0, false, pc);
        soft_unwind(cpu, SOFT_STOP_FAULT);
    }
}

/* Registers read by code rather than from one field; false when unknown. */
static bool read_special(struct soft_cpu *cpu, uint32_t id, uint64_t *out)
{
    struct a64_state *st = a64_st(cpu);
    uint64_t v;
    switch (id) {
    case SR(3, 3, 4, 2, 0): *out = st->pstate & A64_NZCV_MASK; return true;
    case SR(3, 3, 4, 2, 1): *out = st->pstate & (A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F); return true;
    case SR(3, 0, 4, 2, 0): *out = (st->pstate & A64_PSTATE_M_MASK) == A64_PSTATE_EL1H; return true;
    case SR(3, 0, 4, 2, 2): *out = (uint64_t)a64_el(st) << 2; return true;
    case SR(3, 3, 4, 4, 0): *out = st->fpcr; return true;
    case SR(3, 3, 4, 4, 1): *out = st->fpsr; return true;
    case SR(3, 0, 4, 1, 0): *out = *a64_sp_el(st, 0); return true;  /* only reachable with SPSel = 1 */
    case SR(3, 0, 0, 0, 6): *out = 0; return true;                 /* REVIDR_EL1 */
    case SR(3, 1, 0, 0, 7): *out = 0; return true;                 /* AIDR_EL1 */
    case SR(3, 1, 0, 0, 1): *out = a64_id_value(A64_ID_CLIDR); return true;
    case SR(3, 3, 0, 0, 1): *out = a64_id_value(A64_ID_CTR); return true;
    case SR(3, 3, 0, 0, 7): *out = a64_id_value(A64_ID_DCZID); return true;
    case SR(3, 1, 0, 0, 0): *out = a64_ccsidr(st->sys.csselr_el1); return true;
    case SR(3, 3, 14, 0, 0): *out = A64_CNTFRQ; return true;
    case SR(3, 3, 14, 0, 1): *out = a64_host_counter(cpu); return true;
    case SR(3, 3, 14, 0, 2): *out = a64_cntvct(cpu); return true;
    case SR(3, 3, 14, 3, 1): *out = timer_ctl(cpu); return true;
    case SR(3, 0, 12, 1, 0): *out = a64_interrupt_lines(cpu); return true;   /* ISR_EL1 */
    case SR(3, 0, 12, 0, 1): *out = 0; return true;                           /* RVBAR_EL1 */
    case SR(3, 0, 12, 0, 2): *out = RMR_AA64; return true;                    /* RMR_EL1 */
    case SR(3, 3, 14, 3, 2): *out = st->sys.cntv_cval_el0; return true;
    case SR(3, 3, 2, 4, 0):   /* RNDR */
    case SR(3, 3, 2, 4, 1):   /* RNDRRS: the same generator, reseeded as often as RNDR */
        /* The vCPU's generator (vcpu_random: seeded in deterministic mode, the host's
         * otherwise) never fails: NZCV = 0000. */
        *out = vcpu_random(cpu->vcpu, cpu->icount);
        st->pstate &= ~(uint64_t)A64_NZCV_MASK;
        return true;
    case SR(3, 3, 14, 3, 0):
        v = st->sys.cntv_cval_el0 - a64_cntvct(cpu);
        *out = (uint64_t)(int64_t)(int32_t)(uint32_t)v & 0xffffffffull;
        return true;
    default:
        return false;
    }
}

static bool write_special(struct soft_cpu *cpu, uint32_t id, uint64_t v)
{
    struct a64_state *st = a64_st(cpu);
    uint64_t daif = A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F;
    switch (id) {
    case SR(3, 3, 4, 2, 0): st->pstate = (st->pstate & ~A64_NZCV_MASK) | (v & A64_NZCV_MASK); return true;
    case SR(3, 3, 4, 2, 1): st->pstate = (st->pstate & ~daif) | (v & daif); return true;
    case SR(3, 0, 4, 2, 0):
        a64_set_mode(st, (st->pstate & ~A64_PSTATE_M_MASK) | ((v & 1) ? A64_PSTATE_EL1H : A64_PSTATE_EL1T));
        return true;
    case SR(3, 3, 4, 4, 0): st->fpcr = v & A64_FPCR_WRITABLE; return true;
    case SR(3, 3, 4, 4, 1): st->fpsr = v & A64_FPSR_WRITABLE; return true;
    case SR(3, 0, 4, 1, 0): *a64_sp_el(st, 0) = v; return true;
    case SR(3, 3, 14, 3, 1): st->sys.cntv_ctl_el0 = v & A64_CNT_CTL_WRITABLE; return true;
    case SR(3, 3, 14, 3, 2): st->sys.cntv_cval_el0 = v; return true;
    case SR(3, 0, 12, 0, 2): return true;   /* RMR_EL1: AArch64 only, no warm reset request */
    case SR(3, 3, 14, 3, 0): st->sys.cntv_cval_el0 = a64_cntvct(cpu) + (uint64_t)(int64_t)(int32_t)v; return true;
    default:
        return false;
    }
}

/* SP_EL0 is accessible only while SP_EL1 is selected. */
static bool sp_el0_blocked(struct a64_state *st, uint32_t id)
{
    return id == SR(3, 0, 4, 1, 0) && (st->pstate & A64_PSTATE_M_MASK) != A64_PSTATE_EL1H;
}

/* MRS that translated EL1 code does inline: registers that are storage (a plain
 * field, PSTATE bits, the current EL) with no trap, side effect or time in them. The
 * kernel reads SP_EL0 (`current`) and TPIDR_EL1 (per-CPU data) all the time; a helper
 * call there would cost a call and leave the block unchainable. IR_NONE otherwise. */
ir_val a64_mrs_inline(struct a64_tc *t, uint32_t id)
{
    struct ir_block *b = t->b;
    if (t->el == 0 || is_debug_reg(id))
        return IR_NONE;
    const struct plain_reg *p = find_plain(id);
    if (p)
        return ir_get(b, IR_I64, p->offset);
    uint64_t daif = A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F;
    switch (id) {
    case SR(3, 3, 4, 2, 0):   /* NZCV */
        return ir_binop(b, IR_AND, ir_get(b, IR_I64, A64_OFF_PSTATE), ir_const(b, IR_I64, A64_NZCV_MASK));
    case SR(3, 3, 4, 2, 1):   /* DAIF */
        return ir_binop(b, IR_AND, ir_get(b, IR_I64, A64_OFF_PSTATE), ir_const(b, IR_I64, daif));
    case SR(3, 0, 4, 2, 2):   /* CurrentEL */
        return ir_const(b, IR_I64, (uint64_t)t->el << 2);
    case SR(3, 0, 4, 1, 0): { /* SP_EL0: UNDEFINED unless SP_EL1 is selected (sp_el0_blocked) */
        ir_val m = ir_binop(b, IR_AND, ir_get(b, IR_I64, A64_OFF_PSTATE), ir_const(b, IR_I64, A64_PSTATE_M_MASK));
        ir_trap_if(b, ir_binop(b, IR_NE, m, ir_const(b, IR_I64, A64_PSTATE_EL1H)), A64_RAISE_UNDEF);
        return ir_get(b, IR_I64, (uint32_t)offsetof(struct a64_state, sys.sp_el0));
    }
    default:
        return IR_NONE;
    }
}

/* Whether the MRS helper only reads state for id (it may still fault): all but the
 * random numbers (they clear NZCV) and the GIC CPU interface (IAR acknowledges). */
bool a64_mrs_reads_only(uint32_t id)
{
    return id != SR(3, 3, 2, 4, 0) && id != SR(3, 3, 2, 4, 1) && icc_dir(id) < 0;
}

ir_u128 a64_helper_mrs(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    uint32_t id = (uint32_t)a & 0xffffu;
    unsigned rt = (unsigned)(a >> 16) & 31u;
    uint64_t pc = (uint64_t)b, v;
    (void)c;
    check_access(cpu, id, rt, true, 0, pc);
    const struct plain_reg *p = find_plain(id);
    if (p)
        return *field(st, p->offset);
    uint64_t *dbg = dbg_slot(st, id);
    if (dbg)
        return *dbg;
    if (sp_el0_blocked(st, id))
        undefined(cpu, pc);
    if (read_special(cpu, id, &v))
        return v;
    if (raz_id(id))
        return 0;
    int dir = icc_dir(id);
    if (dir >= 0)
        return icc_access(cpu, id, dir, rt, true, 0, pc);
    if (client_emulated(id))
        trap_client(cpu, id, rt, true, 0, pc);
    undefined(cpu, pc);
}

ir_u128 a64_helper_msr(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    uint32_t id = (uint32_t)a & 0xffffu;
    unsigned rt = (unsigned)(a >> 16) & 31u;
    uint64_t v = (uint64_t)b, pc = (uint64_t)c;
    check_access(cpu, id, rt, false, v, pc);
    const struct plain_reg *p = find_plain(id);
    if (p && p->access != EL1_RO) {
        uint64_t old = *field(st, p->offset);
        *field(st, p->offset) = v;
        a64_sysreg_written(cpu, id, old, v);
        return 0;
    }
    uint64_t *dbg = dbg_slot(st, id);
    if (dbg) {
        *dbg = v;
        return 0;
    }
    if (p || sp_el0_blocked(st, id))
        undefined(cpu, pc);
    if (write_special(cpu, id, v))
        return 0;
    int dir = icc_dir(id);
    if (dir >= 0) {
        icc_access(cpu, id, dir, rt, false, v, pc);
        return 0;
    }
    if (client_emulated(id))
        trap_client(cpu, id, rt, false, v, pc);
    undefined(cpu, pc);
}

/* MSR (immediate): SPSel, DAIFSet, DAIFClr. Packed op1 << 8 | op2 << 4 | CRm. */
ir_u128 a64_helper_msr_imm(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    unsigned op1 = (unsigned)(a >> 8) & 7u, op2 = (unsigned)(a >> 4) & 7u, crm = (unsigned)a & 15u;
    uint64_t pc = (uint64_t)b;
    (void)c;
    uint64_t daif = (uint64_t)crm << 6;
    if (op1 == 0 && op2 == 5) {
        if (a64_el(st) == 0)
            undefined(cpu, pc);
        a64_set_mode(st, (st->pstate & ~A64_PSTATE_M_MASK) | ((crm & 1) ? A64_PSTATE_EL1H : A64_PSTATE_EL1T));
        return 0;
    }
    if (op1 == 3 && (op2 == 6 || op2 == 7)) {
        if (a64_el(st) == 0 && !(st->sys.sctlr_el1 & SCTLR_UMA))
            trap_el1(cpu, SR(0, op1, 4, crm, op2), 31, false, pc);
        st->pstate = op2 == 6 ? (st->pstate | daif) : (st->pstate & ~daif);
        return 0;
    }
    undefined(cpu, pc);
}

/* ---- SYS: cache maintenance, address translation, TLB maintenance ---- */
static void dc_zva(struct soft_cpu *cpu, uint64_t va)
{
    uint64_t base = va & ~(uint64_t)(DCZVA_BYTES - 1);
    for (unsigned i = 0; i < DCZVA_BYTES; i += 8)
        mmu_write(cpu, base + i, 0, 8, MMU_WRITE | (a64_el(a64_st(cpu)) == 0 ? MMU_USER : 0), A64_INFO_CM);
}

ir_u128 a64_helper_sys(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = opaque;
    struct a64_state *st = a64_st(cpu);
    uint32_t id = (uint32_t)a & 0xffffu;
    unsigned rt = (unsigned)(a >> 16) & 31u;
    uint64_t v = (uint64_t)b, pc = (uint64_t)c;
    unsigned op1 = SR_OP1(id), crn = SR_CRN(id), crm = SR_CRM(id), op2 = SR_OP2(id);
    bool el0 = a64_el(st) == 0;
    if (crn == 7 && op1 == 3) {
        /* EL0-capable cache operations: DC ZVA, DC CVAC/CVAU/CVAP/CIVAC, IC IVAU. */
        bool zva = crm == 4 && op2 == 1;
        bool known = zva || (op2 == 1 && (crm == 10 || crm == 11 || crm == 12 || crm == 14 || crm == 5));
        if (!known)
            undefined(cpu, pc);
        if (el0 && !(st->sys.sctlr_el1 & (zva ? SCTLR_DZE : SCTLR_UCI)))
            trap_el1(cpu, id, rt, false, pc);
        if (zva)
            dc_zva(cpu, v);
        return 0;   /* caches are coherent here; code writes invalidate translations */
    }
    if (el0 || op1 != 0)
        undefined(cpu, pc);
    if (crn == 7) {
        if ((crm == 1 || crm == 5) && op2 == 0)
            return 0;                        /* IC IALLUIS / IALLU */
        if ((crm == 6 && (op2 == 1 || op2 == 2)) || ((crm == 10 || crm == 14) && op2 == 2))
            return 0;                        /* DC IVAC / ISW / CSW / CISW */
        if (crm == 8 && op2 <= 3) {
            a64_at(cpu, v, op2);             /* AT S1E1R/W, S1E0R/W */
            return 0;
        }
        undefined(cpu, pc);
    }
    if (crn == 8 && (crm == 3 || crm == 7)) {
        if (!a64_tlbi(cpu, op2, v, crm == 3))
            undefined(cpu, pc);
        return 0;
    }
    undefined(cpu, pc);
}
