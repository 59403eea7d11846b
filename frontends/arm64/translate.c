/* translate.c - the arm64 soft frontend: block translation over the pattern-table
 * decoder, the mode key, events before each block (vtimer exit, IRQ/FIQ, PC
 * alignment and illegal-state checks) and the soft_frontend table itself. */
#include "frontends/arm64/a64_fe.h"

#include "core/vm.h"
#include "mmu/walk_a64.h"

#define PAGE_BYTES 4096u
#define VEC_IRQ 0x80u
#define VEC_FIQ 0x100u
#define CPACR_FPEN_SHIFT 20
#define MODE_EL0 1u
#define MODE_FP 2u
#define MODE_IL 4u
#define MODE_SP_ALIGN 8u
#define MODE_STEP 16u
#define MODE_BREAKPOINTS 32u
#define MODE_WATCHPOINTS 64u
#define SCTLR_SA (1ull << 3)
#define SCTLR_SA0 (1ull << 4)

static void fe_init(void)
{
    a64_decode_init();
    a64_helpers_register();
}

static uint64_t fe_get_pc(const struct soft_cpu *cpu)
{
    return ((const struct a64_state *)cpu->state)->pc;
}

static void fe_set_pc(struct soft_cpu *cpu, uint64_t pc)
{
    a64_st(cpu)->pc = pc;
}

/* FP/SIMD access allowed by CPACR_EL1.FPEN at this EL. */
static bool fp_enabled(const struct a64_state *st)
{
    unsigned fpen = (unsigned)(st->sys.cpacr_el1 >> CPACR_FPEN_SHIFT) & 3u;
    return a64_el(st) == 0 ? fpen == 3 : (fpen & 1) != 0;
}

/* SCTLR_EL1.SA (EL1) / SA0 (EL0): SP-based accesses check SP alignment. */
static bool sp_align(const struct a64_state *st)
{
    return (st->sys.sctlr_el1 & (a64_el(st) == 0 ? SCTLR_SA0 : SCTLR_SA)) != 0;
}

static uint32_t fe_mode_key(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    uint32_t key = (a64_el(st) == 0 ? MODE_EL0 : 0) | (fp_enabled(st) ? MODE_FP : 0) |
                   ((st->pstate & A64_PSTATE_IL) ? MODE_IL : 0) | (sp_align(st) ? MODE_SP_ALIGN : 0);
    if (a64_debug_idle(cpu))
        return key;
    return key | (a64_step_active(cpu) ? MODE_STEP : 0) | (a64_breakpoints_armed(cpu) ? MODE_BREAKPOINTS : 0) |
           (a64_watchpoints_armed(cpu) ? MODE_WATCHPOINTS : 0);
}

static void translate_one(struct a64_tc *t, uint32_t insn)
{
    const struct a64_pattern *p = a64_decode(insn);
    size_t before = t->b->count;
    if (p && p->trans && p->trans(t, insn))
        return;
    /* UNDEFINED: drop whatever a refusing translator emitted for this instruction. */
    t->b->count = (uint32_t)before;
    t->ended = false;
    a64_raise(t, A64_RAISE_UNDEF, 0);
}

static bool fe_translate(struct soft_cpu *cpu, struct ir_block *b)
{
    struct a64_state *st = cpu->state;
    uint64_t pc = st->pc;
    uint32_t words[SOFT_MAX_BLOCK_INSNS];
    unsigned max = cpu->max_insns && cpu->max_insns < SOFT_MAX_BLOCK_INSNS ? cpu->max_insns : SOFT_MAX_BLOCK_INSNS;
    if (a64_step_active(cpu))
        max = 1;   /* software step: one instruction, then the step exit */
    size_t to_page_end = PAGE_BYTES - (pc & (PAGE_BYTES - 1));
    size_t want = (size_t)max * 4 < to_page_end ? (size_t)max * 4 : to_page_end;
    size_t got = mmu_fetch_code(cpu, pc, words, want, true) / 4;
    if (got == 0)
        return false;
    struct a64_tc t = { .b = b, .cpu = cpu, .el = a64_el(st), .fp_enabled = fp_enabled(st),
                        .sp_align = sp_align(st), .breakpoints = a64_breakpoints_armed(cpu),
                        .watchpoints = a64_watchpoints_armed(cpu) };
    if (st->pstate & A64_PSTATE_IL) {
        /* Illegal execution state: the first instruction takes EC 0x0e. */
        ir_insn_start(b, pc, 4);
        t.pc = pc;
        a64_raise(&t, A64_RAISE_ILLEGAL, 0);
        return true;   /* a failed builder is the dispatcher's to report */
    }
    for (size_t i = 0; i < got && !t.ended; i++) {
        if (i > 0 && b->count >= IR_BLOCK_SOFT_LIMIT) {
            got = i;   /* end the block before this instruction */
            break;
        }
        t.pc = pc + 4 * i;
        ir_insn_start(b, t.pc, 4);
        if (t.breakpoints)
            ir_call(b, IR_VOID, a64_helper_id[A64_H_BREAKPOINT], ir_const(b, IR_I64, t.pc), ir_const(b, IR_I64, 0),
                    ir_const(b, IR_I64, 0));
        translate_one(&t, words[i]);
    }
    if (!t.ended)
        ir_jump(b, pc + 4 * got);
    return true;   /* a failed builder is the dispatcher's to report */
}

uint64_t a64_interrupt_lines(struct soft_cpu *cpu)
{
    struct vcpu *v = cpu->vcpu;
    const struct irqchip_ops *chip = v->vm->irqchip;
    unsigned lines = chip ? chip->lines(v) : 0;
    bool irq = v->ext.a64.pending_irq || (lines & IRQCHIP_LINE_IRQ);
    bool fiq = v->ext.a64.pending_fiq || (lines & IRQCHIP_LINE_FIQ);
    return (irq ? A64_PSTATE_I : 0) | (fiq ? A64_PSTATE_F : 0);
}

/* The virtual timer: with an in-framework GIC its output drives the timer PPI;
 * without one, it fires the VTIMER_ACTIVATED exit (false: stop for it). */
static bool vtimer_event(struct soft_cpu *cpu)
{
    struct vcpu *v = cpu->vcpu;
    const struct irqchip_ops *chip = v->vm->irqchip;
    if (chip) {
        chip->vtimer(v, a64_vtimer_due(cpu));
        return true;
    }
    if (v->ext.a64.vtimer_masked || !a64_vtimer_due(cpu))
        return true;
    v->exit = (struct anyhv_exit){ .kind = EXIT_VTIMER, .pc = a64_st(cpu)->pc, .icount = cpu->icount };
    cpu->stop = SOFT_STOP_EXIT;
    return false;
}

/* Before each block: the virtual timer, then interrupts PSTATE lets in. */
static bool fe_check_events(struct soft_cpu *cpu)
{
    struct a64_state *st = a64_st(cpu);
    if (!cpu->fe_data)
        cpu->fe_data = a64_fe_data_new();
    cpu->regime = a64_el(st) == 0;
    if (a64_debug_idle(cpu))
        ((struct a64_fe_data *)cpu->fe_data)->step_armed = false;   /* what a64_step_check does then */
    else if (!a64_step_check(cpu))
        return false;
    if (!vtimer_event(cpu))
        return false;
    uint64_t lines = a64_interrupt_lines(cpu);
    if ((lines & A64_PSTATE_F) && !(st->pstate & A64_PSTATE_F))
        a64_take_interrupt(cpu, VEC_FIQ);
    else if ((lines & A64_PSTATE_I) && !(st->pstate & A64_PSTATE_I))
        a64_take_interrupt(cpu, VEC_IRQ);
    if (st->pc & 3) {
        a64_take_exception(cpu, A64_EC_PC_ALIGN, 0, st->pc, true, st->pc);
    }
    cpu->regime = a64_el(st) == 0;
    return true;
}

/* A block ended with STOP: deliver an inline guard's fault (TRAP_IF), and keep the TLB
 * regime current after a system change. */
static void fe_stop(struct soft_cpu *cpu, uint32_t reason, uint64_t detail)
{
    if (reason == IR_STOP_EXCEPTION)
        a64_trap_stop(cpu, detail);
    cpu->regime = a64_el(a64_st(cpu)) == 0;
    cpu->stop = SOFT_RUN;
}

/* ---- chaining compiled blocks (soft.h plain_bits / events_quiet) -------------------- */

static bool inside(uint32_t off, uint32_t size, size_t lo, size_t len)
{
    return off >= lo && off + size <= lo + len;
}

/* General, SIMD and FP registers, FPCR/FPSR, the exclusive monitor, and PSTATE's NZCV:
 * nothing check_events or the mode key reads. */
static uint64_t fe_plain_bits(uint32_t off, uint32_t size)
{
    if (inside(off, size, offsetof(struct a64_state, x), offsetof(struct a64_state, pstate)) ||
        inside(off, size, offsetof(struct a64_state, fpcr), 2 * sizeof(uint64_t)) ||
        inside(off, size, offsetof(struct a64_state, v), sizeof(((struct a64_state *)0)->v)) ||
        inside(off, size, offsetof(struct a64_state, excl_addr), sizeof(struct a64_state) - offsetof(struct a64_state, excl_addr)))
        return ~0ull;
    if (off == offsetof(struct a64_state, pstate) && size == sizeof(uint64_t))
        return A64_PSTATE_N | A64_PSTATE_Z | A64_PSTATE_C | A64_PSTATE_V;
    return 0;
}

/* fe_check_events would do nothing now (a timer deadline that passes while compiled
 * blocks chain is seen at the next dispatcher visit, at most JIT_CHAIN_MAX blocks on). */
static bool fe_events_quiet(const struct soft_cpu *cpu)
{
    const struct a64_state *st = cpu->state;
    const struct vcpu *v = cpu->vcpu;
    if (!cpu->fe_data || (!a64_debug_idle(cpu) && a64_step_active(cpu)) || (st->pc & 3))
        return false;
    if ((v->ext.a64.pending_fiq && !(st->pstate & A64_PSTATE_F)) ||
        (v->ext.a64.pending_irq && !(st->pstate & A64_PSTATE_I)))
        return false;
    return v->ext.a64.vtimer_masked || !a64_vtimer_due((struct soft_cpu *)cpu);
}

static int32_t fe_pc_offset(uint32_t mode)
{
    (void)mode;
    return (int32_t)offsetof(struct a64_state, pc);
}

static void fe_sync_state(struct soft_cpu *cpu)
{
    (void)cpu;   /* arm64 keeps no lazy state */
}

const struct soft_frontend a64_soft_frontend = {
    .name = "arm64",
    .init = fe_init,
    .get_pc = fe_get_pc,
    .mode_key = fe_mode_key,
    .translate = fe_translate,
    .check_events = fe_check_events,
    .walk = a64_mmu_walk,
    .stage2_fault = a64_stage2_fault,
    .set_pc = fe_set_pc,
    .sync_state = fe_sync_state,
    .stop = fe_stop,
    .plain_bits = fe_plain_bits,
    .events_quiet = fe_events_quiet,
    .pc_offset = fe_pc_offset,
};
