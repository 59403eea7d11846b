/* sys_event.c - exception and interrupt delivery (SDM vol. 3A ch. 6): the real-mode
 * IVT, protected-mode 16/32-bit gates with privilege stack switches from the TSS,
 * long-mode 64-bit gates with IST; faults during delivery escalate to #DF and a
 * fault during #DF to a triple fault (an EXIT_SHUTDOWN). The VMX exception bitmap
 * is consulted first: a listed exception exits to the client instead, with the
 * IDT-vectoring information of the event that was being delivered. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "frontends/x86_64/x86_sys.h"

#define IDT_ERR_IDT 2u           /* error code: the selector indexes the IDT */
#define IDT_ERR_EXT 1u           /* error code: an external event caused it */
#define GATE_TASK 0x5u
#define GATE_INT16 0x6u
#define GATE_TRAP16 0x7u
#define GATE_INT32 0xeu          /* also the 64-bit interrupt gate */
#define GATE_TRAP32 0xfu
#define GATE_TRAP_BIT 0x1u
#define GATE_32_BIT 0x8u
#define TSS32_ESP0 4u
#define TSS16_SP0 2u
#define TSS64_RSP0 4u
#define TSS64_IST1 0x24u
#define TSS_TYPE_32 0x8u         /* bit of the TSS type that says 32/64-bit */
#define PF_BITMAP_BIT (1u << X86_V_PF)
#define FRAME_MAX_WORDS 10       /* from virtual-8086 mode: GS FS DS ES SS ESP EFLAGS CS EIP error */
#define EFLAGS_CLEAR_ON_DELIVERY (X86_FLAG_TF | X86_FLAG_NT | X86_FLAG_RF | X86_FLAG_VM)
#define INTR_BLOCK_NMI (1u << 3)   /* VMX interruptibility: blocking by NMI */

static bool is_contributory(unsigned v)
{
    return v == X86_V_DE || (v >= X86_V_TS && v <= X86_V_GP);
}

static bool has_error_code(unsigned v)
{
    return v == X86_V_DF || (v >= X86_V_TS && v <= X86_V_PF) || v == X86_V_AC;
}

static bool software_event(const struct x86_event *ev)
{
    return ev->type == X86_EV_SWINT || ev->type == X86_EV_SWEXC || ev->type == X86_EV_PRIVSW;
}

static uint32_t vectoring_info(const struct x86_event *ev, bool err_delivered)
{
    return IRQ_INFO_VALID | ((uint32_t)ev->type << 8) | ev->vector | (err_delivered ? IRQ_INFO_ERROR_VALID : 0);
}

/* Does the exception bitmap make this event an exit? (#PF also by error code.) */
static bool bitmap_exits(const struct x86_state *st, const struct x86_event *ev)
{
    if (ev->type != X86_EV_HWEXC && ev->type != X86_EV_SWEXC)
        return false;
    /* Entry refuses injected exceptions above 31 (x86_entry_event_valid); stay
     * defined for any vector all the same. */
    bool bit = ev->vector < 32 && ((st->vmx.exc_bitmap >> ev->vector) & 1);
    if (ev->vector != X86_V_PF)
        return bit;
    bool match = ((uint32_t)ev->err & st->vmx.pf_error_mask) == st->vmx.pf_error_match;
    return bit ? match : !match;
}

static bool pushes_error(const struct x86_state *st, const struct x86_event *ev)
{
    return ev->err != X86_NO_ERR && (st->cr0 & X86_CR0_PE);
}

/* INT1 (ICEBP) counts as external here and skips the gate DPL check (SDM INT n). */
static uint64_t ext_bit(const struct x86_event *ev)
{
    return software_event(ev) && ev->type != X86_EV_PRIVSW ? 0 : IDT_ERR_EXT;
}

static int fault(struct x86_fault *f, unsigned vector, uint64_t err)
{
    *f = (struct x86_fault){ .vector = vector, .err = (int64_t)err };
    return -1;
}

/* Write a frame of `n` words of `size` bytes ending just below sp; returns the new sp.
 * ss: the stack segment to check the frame against (NULL in long mode, where limits
 * do not apply); a frame outside it is #SS(0), or #SS(selector) on a stack switch. */
static int push_frame(struct soft_cpu *cpu, const struct x86_segment *ss, bool switched, uint64_t sp,
                      uint64_t sp_mask, const uint64_t *w, unsigned n, unsigned size, uint64_t *new_sp,
                      struct x86_fault *f)
{
    uint8_t buf[FRAME_MAX_WORDS * 8];
    uint64_t nsp = (sp - (uint64_t)n * size) & sp_mask, ss_base = ss ? ss->base : 0;
    if (ss && (nsp + (uint64_t)n * size - 1 > sp_mask ||
               !x86_seg_access_ok(x86_st(cpu), ss, nsp, n * size, true)))
        return fault(f, X86_V_SS, switched ? ss->selector & ~3u : 0);
    for (unsigned i = 0; i < n; i++)
        for (unsigned b = 0; b < size; b++)
            buf[i * size + b] = (uint8_t)(w[n - 1 - i] >> (8 * b));
    uint64_t lin = ss_base + nsp;
    if (!(x86_st(cpu)->msr.efer & X86_EFER_LMA))
        lin &= 0xffffffffull;
    if (x86_vmem_write(cpu, lin, buf, n * size, 0, f) != 0) {
        if (!f->stage2 && f->vector != X86_V_PF)
            f->vector = X86_V_SS;
        return -1;
    }
    *new_sp = nsp;
    return 0;
}

static int deliver_real(struct soft_cpu *cpu, const struct x86_event *ev, uint64_t ret_ip, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint32_t off = ev->vector * 4u;
    if (off + 3 > st->idtr.limit)
        return fault(f, X86_V_GP, X86_NO_ERR);
    uint32_t entry;
    if (x86_vmem_read(cpu, st->idtr.base + off, &entry, 4, MMU_READ, f) != 0)
        return -1;
    uint64_t w[3] = { x86_rflags_of(st) & 0xffff, st->seg[X86_CS].selector, ret_ip & 0xffff };
    uint64_t sp;
    if (push_frame(cpu, &st->seg[X86_SS], false, st->gpr[X86_RSP] & 0xffff, 0xffff, w, 3, 2, &sp, f) != 0)
        return -1;
    st->gpr[X86_RSP] = (st->gpr[X86_RSP] & ~0xffffull) | sp;
    x86_rflags_write(st, x86_rflags_of(st) & ~(uint64_t)(X86_FLAG_IF | X86_FLAG_TF | X86_FLAG_AC | X86_FLAG_RF));
    st->seg[X86_CS].selector = (uint16_t)(entry >> 16);
    st->seg[X86_CS].base = (uint64_t)(entry >> 16) << 4;
    st->rip = entry & 0xffff;
    return 0;
}

/* The target code segment of a gate: checks, and the new CPL. */
static int gate_target(struct soft_cpu *cpu, const struct x86_event *ev, uint16_t sel, bool long64,
                       struct x86_segment *cs, unsigned *new_cpl, struct x86_fault *f)
{
    unsigned cpl = x86_cpl(x86_st(cpu));
    if ((sel & ~3u) == 0)
        return fault(f, X86_V_GP, ext_bit(ev));
    uint64_t d[2];
    if (x86_read_descriptor(cpu, sel, d, 1, f) != 0) {
        f->err |= (int64_t)ext_bit(ev);
        return -1;
    }
    x86_seg_from_descriptor(cs, sel, d[0], 0);
    unsigned dpl = (cs->ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT;
    bool code = (cs->ar & X86_AR_S) && (cs->ar & 0x8u);
    if (!code || dpl > cpl || (long64 && (!(cs->ar & X86_AR_L) || (cs->ar & X86_AR_DB))))
        return fault(f, X86_V_GP, (sel & ~3u) | ext_bit(ev));
    if (!(cs->ar & X86_AR_P))
        return fault(f, X86_V_NP, (sel & ~3u) | ext_bit(ev));
    *new_cpl = (cs->ar & 0x4u) ? cpl : dpl;
    cs->selector = (uint16_t)((sel & ~3u) | *new_cpl);
    cs->ar |= 1u;
    return 0;
}

/* Read an IDT gate (8 or 16 bytes) with the limit, type, DPL and presence checks. */
static int read_gate(struct soft_cpu *cpu, const struct x86_event *ev, unsigned size, uint64_t g[2],
                     struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t err = ev->vector * 8u + IDT_ERR_IDT + ext_bit(ev);
    uint32_t off = ev->vector * size;
    if (off + size - 1 > st->idtr.limit)
        return fault(f, X86_V_GP, err);
    g[1] = 0;
    if (x86_vmem_read(cpu, st->idtr.base + off, g, size, MMU_READ, f) != 0)
        return -1;
    unsigned type = (unsigned)(g[0] >> 40) & 0x1f, dpl = (unsigned)(g[0] >> 45) & 3;
    bool ok = size == 16 ? (type == GATE_INT32 || type == GATE_TRAP32)
                         : (type == GATE_INT16 || type == GATE_TRAP16 || type == GATE_INT32 || type == GATE_TRAP32 ||
                            type == GATE_TASK);
    if (!ok)
        return fault(f, X86_V_GP, err);
    if (software_event(ev) && ev->type != X86_EV_PRIVSW && dpl < x86_cpl(st))
        return fault(f, X86_V_GP, err);
    if (!((g[0] >> 47) & 1))
        return fault(f, X86_V_NP, err);
    return 0;
}

static int tss_read(struct soft_cpu *cpu, uint32_t off, void *out, unsigned size, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    if (off + size - 1 > st->seg[X86_TR].limit)
        return fault(f, X86_V_TS, st->seg[X86_TR].selector & ~3u);
    return x86_vmem_read(cpu, st->seg[X86_TR].base + off, out, size, MMU_READ, f);
}

static void finish_transfer(struct x86_state *st, const struct x86_segment *cs, uint64_t ip, bool trap_gate)
{
    uint64_t fl = x86_rflags_of(st) & ~(uint64_t)EFLAGS_CLEAR_ON_DELIVERY;
    if (!trap_gate)
        fl &= ~(uint64_t)X86_FLAG_IF;
    x86_rflags_write(st, fl);
    st->seg[X86_CS] = *cs;
    st->rip = ip;
}

static int deliver_protected(struct soft_cpu *cpu, const struct x86_event *ev, uint64_t ret_ip, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t g[2];
    if (read_gate(cpu, ev, 8, g, f) != 0)
        return -1;
    unsigned type = (unsigned)(g[0] >> 40) & 0xf;
    if (type == GATE_TASK)
        return x86_task_gate_idt(cpu, g[0], f);   /* a task switch: the client does it */
    unsigned gsize = (type & GATE_32_BIT) ? 4 : 2;
    uint64_t ip = (g[0] & 0xffff) | (gsize == 4 ? ((g[0] >> 48) & 0xffff) << 16 : 0);
    struct x86_segment cs, ss = st->seg[X86_SS];
    unsigned new_cpl, cpl = x86_cpl(st);
    if (gate_target(cpu, ev, (uint16_t)(g[0] >> 16), false, &cs, &new_cpl, f) != 0)
        return -1;
    bool v86 = (st->rflags & X86_FLAG_VM) != 0;
    if (v86 && new_cpl != 0)   /* from virtual-8086 mode only to a CPL0 handler */
        return fault(f, X86_V_GP, ((g[0] >> 16) & ~3u) | ext_bit(ev));
    uint64_t w[FRAME_MAX_WORDS];
    unsigned n = 0;
    uint64_t sp = st->gpr[X86_RSP];
    if (new_cpl < cpl) {
        bool tss32 = (st->seg[X86_TR].ar & TSS_TYPE_32) != 0;
        uint32_t new_sp = 0;
        uint16_t new_ss = 0;
        unsigned stride = tss32 ? 8 : 4, base = tss32 ? TSS32_ESP0 : TSS16_SP0;
        if (tss_read(cpu, base + new_cpl * stride, &new_sp, tss32 ? 4 : 2, f) != 0 ||
            tss_read(cpu, base + new_cpl * stride + (tss32 ? 4 : 2), &new_ss, 2, f) != 0)
            return -1;
        uint64_t d[2];
        if ((new_ss & ~3u) == 0 || x86_read_descriptor(cpu, new_ss, d, 1, f) != 0)
            return fault(f, X86_V_TS, new_ss & ~3u);
        x86_seg_from_descriptor(&ss, new_ss, d[0], 0);
        if (v86) {
            static const unsigned saved[4] = { X86_GS, X86_FS, X86_DS, X86_ES };
            for (unsigned i = 0; i < 4; i++)
                w[n++] = st->seg[saved[i]].selector;
        }
        w[n++] = st->seg[X86_SS].selector;
        w[n++] = sp;
        sp = new_sp;
    }
    w[n++] = x86_rflags_of(st);
    w[n++] = st->seg[X86_CS].selector;
    w[n++] = ret_ip;
    if (pushes_error(st, ev))
        w[n++] = (uint64_t)ev->err;
    uint64_t mask = (ss.ar & X86_AR_DB) ? 0xffffffffull : 0xffffull, nsp;
    if (push_frame(cpu, &ss, new_cpl < cpl, sp & mask, mask, w, n, gsize, &nsp, f) != 0)
        return -1;
    st->seg[X86_SS] = ss;
    st->gpr[X86_RSP] = (mask == 0xffff) ? ((sp & ~0xffffull) | nsp) : nsp;
    if (v86) {   /* the handler starts with null data segments */
        static const unsigned nulled[4] = { X86_ES, X86_DS, X86_FS, X86_GS };
        for (unsigned i = 0; i < 4; i++)
            st->seg[nulled[i]] = (struct x86_segment){ .selector = 0, .ar = X86_AR_UNUSABLE };
    }
    finish_transfer(st, &cs, ip, type & GATE_TRAP_BIT);
    return 0;
}

static int deliver_long(struct soft_cpu *cpu, const struct x86_event *ev, uint64_t ret_ip, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t g[2];
    if (read_gate(cpu, ev, 16, g, f) != 0)
        return -1;
    uint64_t ip = (g[0] & 0xffff) | (((g[0] >> 48) & 0xffff) << 16) | ((g[1] & 0xffffffffull) << 32);
    unsigned ist = (unsigned)(g[0] >> 32) & 7, type = (unsigned)(g[0] >> 40) & 0xf;
    struct x86_segment cs;
    unsigned new_cpl, cpl = x86_cpl(st);
    if (gate_target(cpu, ev, (uint16_t)(g[0] >> 16), true, &cs, &new_cpl, f) != 0)
        return -1;
    uint64_t rsp = st->gpr[X86_RSP];
    if (ist && tss_read(cpu, TSS64_IST1 + (ist - 1) * 8, &rsp, 8, f) != 0)
        return -1;
    if (!ist && new_cpl < cpl && tss_read(cpu, TSS64_RSP0 + new_cpl * 8, &rsp, 8, f) != 0)
        return -1;
    rsp &= ~0xfull;
    uint64_t w[6] = { st->seg[X86_SS].selector, st->gpr[X86_RSP], x86_rflags_of(st), st->seg[X86_CS].selector,
                      ret_ip, (uint64_t)ev->err };
    unsigned n = ev->err != X86_NO_ERR ? 6 : 5;
    uint64_t nsp;
    if (push_frame(cpu, NULL, false, rsp, ~0ull, w, n, 8, &nsp, f) != 0)
        return -1;
    if (new_cpl < cpl) {
        st->seg[X86_SS] = (struct x86_segment){ .selector = (uint16_t)new_cpl,
                                                .ar = X86_AR_UNUSABLE | (new_cpl << X86_AR_DPL_SHIFT) };
    }
    st->gpr[X86_RSP] = nsp;
    finish_transfer(st, &cs, ip, type & GATE_TRAP_BIT);
    return 0;
}

static int deliver_one(struct soft_cpu *cpu, const struct x86_event *ev, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t ret_ip = st->rip + (software_event(ev) ? ev->insn_len : 0);
    if (!(st->cr0 & X86_CR0_PE))
        return deliver_real(cpu, ev, ret_ip & 0xffff, f);
    if (st->msr.efer & X86_EFER_LMA)
        return deliver_long(cpu, ev, ret_ip, f);
    return deliver_protected(cpu, ev, ret_ip & 0xffffffffull, f);
}

static enum soft_stop exit_exception(struct soft_cpu *cpu, const struct x86_event *ev, const struct x86_event *outer)
{
    const struct x86_state *st = x86_st(cpu);
    struct anyhv_exit *e = x86_exit_begin(cpu, EXIT_EXCEPTION, software_event(ev) ? ev->insn_len : 0);
    e->u.exc.vector = ev->vector;
    e->u.exc.type = ev->type;
    e->u.exc.error_valid = pushes_error(st, ev);
    e->u.exc.error = e->u.exc.error_valid ? (uint32_t)ev->err : 0;
    /* #PF: the linear address; #DB: the DR6 bits it would set (DR6 is unchanged). */
    bool qual = ev->type == X86_EV_HWEXC && (ev->vector == X86_V_PF || ev->vector == X86_V_DB);
    e->u.exc.fault_addr = qual ? ev->cr2 : 0;
    if (outer) {
        e->u.exc.idt_vectoring_info = vectoring_info(outer, pushes_error(st, outer));
        e->u.exc.idt_vectoring_error = pushes_error(st, outer) ? (uint32_t)outer->err : 0;
        if (software_event(outer))
            e->insn_len = outer->insn_len;
    }
    return SOFT_STOP_EXIT;
}

/* Fault-class exceptions push RF = 1 so the handler's IRET does not re-trigger an
 * instruction breakpoint; a #DB is a fault only for general detect (SDM 17.3.1.1). */
static bool pushes_rf(const struct x86_event *ev)
{
    if (ev->type != X86_EV_HWEXC)
        return false;
    if (ev->vector == X86_V_DB)
        return (ev->cr2 & X86_DR6_BD) != 0;
    return ev->vector != X86_V_NMI && ev->vector != X86_V_BP && ev->vector != X86_V_OF && ev->vector != X86_V_DF &&
           ev->vector != X86_V_MC;
}

static int deliver_with_rf(struct soft_cpu *cpu, const struct x86_event *ev, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t rf = st->rflags & X86_FLAG_RF;
    if (pushes_rf(ev))
        st->rflags |= X86_FLAG_RF;
    int r = deliver_one(cpu, ev, f);
    if (r != 0)
        st->rflags = (st->rflags & ~(uint64_t)X86_FLAG_RF) | rf;
    return r;
}

/* An event went through a task gate: exit with it as the IDT-vectoring information
 * (RIP still on the instruction; a software interrupt's length reported). */
static enum soft_stop exit_task_switch(struct soft_cpu *cpu, const struct x86_event *ev, uint16_t tss)
{
    const struct x86_state *st = x86_st(cpu);
    struct anyhv_exit *e = x86_exit_begin(cpu, EXIT_TASK_SWITCH, software_event(ev) ? ev->insn_len : 0);
    e->u.task.selector = tss;
    e->u.task.source = EXIT_TASK_IDT;
    e->u.task.idt_vectoring_info = vectoring_info(ev, pushes_error(st, ev));
    e->u.task.idt_vectoring_error = pushes_error(st, ev) ? (uint32_t)ev->err : 0;
    return SOFT_STOP_EXIT;
}

enum soft_stop x86_deliver(struct soft_cpu *cpu, const struct x86_event *event)
{
    struct x86_state *st = x86_st(cpu);
    struct x86_event cur = *event, outer;
    bool nested = false;
    x86_flags_pack(st);
    x86_seg_invalidate(st);
    /* An exception or software interrupt ends the instruction: its debug traps
     * (single-step, data breakpoints) are dropped; traps are delivered before it.
     * Those MOV SS held over this instruction stay pending and come at the
     * handler's first instruction (SDM vol. 3A 6.8.3). */
    if (cur.type != X86_EV_EXTINT && cur.type != X86_EV_NMI)
        st->pending_dbg = st->soft_dbg_held;
    st->soft_dbg_held = 0;
    if (cur.type == X86_EV_HWEXC && !has_error_code(cur.vector))
        cur.err = X86_NO_ERR;
    for (;;) {
        if (bitmap_exits(st, &cur))
            return exit_exception(cpu, &cur, nested ? &outer : NULL);
        struct x86_fault f;
        if (deliver_with_rf(cpu, &cur, &f) == 0) {
            if (cur.vector == X86_V_PF && cur.type == X86_EV_HWEXC)
                st->cr2 = cur.cr2;
            if (cur.vector == X86_V_DB && cur.type == X86_EV_HWEXC)
                x86_dbg_update_dr6(st, cur.cr2);
            /* An NMI handler runs with NMIs blocked until the next IRET (SDM vol. 3A
             * 6.7.1), which is what the NMI window waits for. */
            if (cur.type == X86_EV_NMI)
                st->interruptibility |= INTR_BLOCK_NMI;
            st->activity_state = 0;
            return SOFT_STOP_FAULT;
        }
        if (f.stage2) {
            x86_exit_ept(cpu, f.gva, f.gpa, f.access, false);
            return SOFT_STOP_EXIT;
        }
        if (f.task)
            return exit_task_switch(cpu, &cur, f.task_sel);
        if (cur.type == X86_EV_HWEXC && cur.vector == X86_V_DF) {
            x86_exit_begin(cpu, EXIT_SHUTDOWN, 0);
            return SOFT_STOP_EXIT;
        }
        struct x86_event next = { .vector = (uint8_t)f.vector, .type = X86_EV_HWEXC,
                                  .err = has_error_code(f.vector) ? f.err : X86_NO_ERR, .cr2 = f.cr2 };
        bool cur_exc = cur.type == X86_EV_HWEXC;
        bool benign_pair = !(cur_exc && (is_contributory(cur.vector) || cur.vector == X86_V_PF) &&
                             (is_contributory(next.vector) || (cur.vector == X86_V_PF && next.vector == X86_V_PF)));
        if (!benign_pair)
            next = (struct x86_event){ .vector = X86_V_DF, .type = X86_EV_HWEXC, .err = 0 };
        outer = cur;
        nested = true;
        cur = next;
    }
}

_Noreturn void x86_raise_event_now(struct soft_cpu *cpu, const struct x86_event *ev)
{
    enum soft_stop why = x86_deliver(cpu, ev);
    x86_flags_pack(x86_st(cpu));
    soft_unwind(cpu, why);
}

_Noreturn void x86_raise_now(struct soft_cpu *cpu, unsigned vector, int64_t err)
{
    struct x86_event ev = { .vector = (uint8_t)vector, .type = X86_EV_HWEXC, .err = err };
    x86_raise_event_now(cpu, &ev);
}
