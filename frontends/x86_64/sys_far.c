/* sys_far.c - far control transfers (SDM vol. 2 JMP/CALL/RET far, IRET, SYSCALL,
 * SYSRET, SYSENTER, SYSEXIT) in real, protected, compatibility and 64-bit mode.
 * Every memory access comes before any state changes, so a fault leaves the
 * instruction unexecuted. Call gates are in sys_gate.c; task switches exit to the
 * client (sys_task.c); IRET to virtual-8086 mode is not implemented: #GP. */
#include "frontends/x86_64/x86_sys.h"

#define AR_CODE_XR_ACCESSED 0xbu
#define AR_DATA_RW_ACCESSED 0x3u
#define GATE_CALL16 0x4u
#define GATE_CALL32 0xcu
#define DESC_CODE 0x8u
#define DESC_CONFORMING 0x4u
#define SEL_RPL 3u
#define FLAT_LIMIT 0xffffffffu
#define STAR_SYSCALL_CS_SHIFT 32
#define STAR_SYSRET_CS_SHIFT 48
#define IRET_MODIFIABLE                                                                                     \
    (X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_TF | X86_FLAG_DF |     \
     X86_FLAG_OF | X86_FLAG_NT | X86_FLAG_RF | X86_FLAG_AC | X86_FLAG_ID | X86_FLAG_VIF | X86_FLAG_VIP)
#define INTR_BLOCK_NMI (1u << 3)
#define V86_LIMIT 0xffffu
#define V86_AR (0x3u | X86_AR_S | (3u << X86_AR_DPL_SHIFT) | X86_AR_P)
/* What IRET may change in virtual-8086 mode (IOPL 3): not IOPL, VM, VIF, VIP. */
#define V86_IRET_MASK(size)                                                                                  \
    (((size) == 2 ? 0xffffull : ~0ull) & (IRET_MODIFIABLE | X86_FLAG_IF) & ~(uint64_t)(X86_FLAG_VIF | X86_FLAG_VIP))
/* The EFLAGS an IRET to virtual-8086 mode loads (CPL0: all of them). */
#define IRET_TO_V86_FLAGS (IRET_MODIFIABLE | X86_FLAG_IF | X86_FLAG_IOPL)

static _Noreturn void fail(struct soft_cpu *cpu, unsigned vector, int64_t err)
{
    x86_raise_now(cpu, vector, err);
}

static void check(struct soft_cpu *cpu, int r, const struct x86_fault *f)
{
    if (r != 0)
        x86_fault_now(cpu, f);
}

static struct x86_segment flat(uint16_t sel, unsigned dpl, bool code, bool l64)
{
    struct x86_segment s = { .base = 0, .limit = FLAT_LIMIT, .selector = sel };
    s.ar = (code ? AR_CODE_XR_ACCESSED : AR_DATA_RW_ACCESSED) | X86_AR_S | (dpl << X86_AR_DPL_SHIFT) | X86_AR_P |
           X86_AR_G | (l64 ? X86_AR_L : X86_AR_DB);
    return s;
}

static uint64_t stack_mask(const struct x86_state *st)
{
    if (x86_code_size_of(st) == X86_CODE64)
        return ~0ull;
    return (st->seg[X86_SS].ar & X86_AR_DB) ? 0xffffffffull : 0xffffull;
}

static uint64_t stack_linear(const struct x86_state *st, uint64_t sp)
{
    uint64_t lin = (x86_code_size_of(st) == X86_CODE64 ? 0 : st->seg[X86_SS].base) + sp;
    return (st->msr.efer & X86_EFER_LMA) ? lin : (lin & 0xffffffffull);
}

/* Read n stack words of `size` bytes from sp upwards. */
static void read_stack(struct soft_cpu *cpu, uint64_t sp, unsigned size, uint64_t *w, unsigned n)
{
    const struct x86_state *st = x86_st(cpu);
    uint64_t mask = stack_mask(st);
    struct x86_fault f;
    for (unsigned i = 0; i < n; i++) {
        w[i] = 0;
        uint64_t off = (sp + (uint64_t)i * size) & mask;
        if (!x86_seg_access_ok(st, &st->seg[X86_SS], off, size, false))
            fail(cpu, X86_V_SS, 0);
        if (x86_vmem_read(cpu, stack_linear(st, (sp + (uint64_t)i * size) & mask), &w[i], size, 0, &f) != 0) {
            if (!f.stage2 && f.vector != X86_V_PF)
                f.vector = X86_V_SS;
            x86_fault_now(cpu, &f);
        }
    }
}

/* Push words (first pushed first) and return the new sp; nothing is written on a fault. */
static uint64_t push_words(struct soft_cpu *cpu, const uint64_t *w, unsigned n, unsigned size)
{
    const struct x86_state *st = x86_st(cpu);
    uint64_t mask = stack_mask(st);
    uint64_t sp = (st->gpr[X86_RSP] - (uint64_t)n * size) & mask;
    uint8_t buf[64];
    for (unsigned i = 0; i < n; i++)
        for (unsigned b = 0; b < size; b++)
            buf[i * size + b] = (uint8_t)(w[n - 1 - i] >> (8 * b));
    struct x86_fault f;
    if (!x86_seg_access_ok(st, &st->seg[X86_SS], sp, n * size, true))
        fail(cpu, X86_V_SS, 0);
    check(cpu, x86_vmem_write(cpu, stack_linear(st, sp), buf, n * size, 0, &f), &f);
    return sp;
}

static void set_sp(struct x86_state *st, uint64_t sp)
{
    uint64_t mask = stack_mask(st);
    st->gpr[X86_RSP] = (st->gpr[X86_RSP] & ~mask) | (sp & mask);
}

/* A code segment for a far JMP/CALL/RET/IRET in protected mode. */
static struct x86_segment code_segment(struct soft_cpu *cpu, uint16_t sel, unsigned rpl_as_cpl, bool ret)
{
    struct x86_state *st = x86_st(cpu);
    unsigned cpl = x86_cpl(st);
    if ((sel & ~SEL_RPL) == 0)
        fail(cpu, X86_V_GP, 0);
    uint64_t d[2];
    struct x86_fault f;
    check(cpu, x86_read_descriptor(cpu, sel, d, 1, &f), &f);
    struct x86_segment cs;
    x86_seg_from_descriptor(&cs, sel, d[0], 0);
    unsigned dpl = (cs.ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT, rpl = sel & SEL_RPL;
    bool code = (cs.ar & X86_AR_S) && (cs.ar & DESC_CODE);
    bool conforming = (cs.ar & DESC_CONFORMING) != 0;
    bool ok = code && (ret ? (rpl >= cpl && (conforming ? dpl <= rpl : dpl == rpl))
                           : (conforming ? dpl <= cpl : (rpl <= cpl && dpl == cpl)));
    if (!ok)
        fail(cpu, X86_V_GP, sel & ~SEL_RPL);
    if (!(cs.ar & X86_AR_P))
        fail(cpu, X86_V_NP, sel & ~SEL_RPL);
    cs.selector = (uint16_t)((sel & ~SEL_RPL) | rpl_as_cpl);
    cs.ar |= 1u;
    return cs;
}

static bool protected_mode(const struct x86_state *st)
{
    return (st->cr0 & X86_CR0_PE) && !(st->rflags & X86_FLAG_VM);
}

/* A far JMP/CALL whose selector names a system descriptor: through a call gate
 * (done here, and the caller returns), to a task (an exit), else #GP(selector). */
static bool system_target(struct soft_cpu *cpu, uint16_t sel, bool call, unsigned len)
{
    if ((sel & ~SEL_RPL) == 0)
        return false;   /* code_segment raises #GP(0) */
    uint64_t d[2];
    struct x86_fault f;
    check(cpu, x86_read_descriptor(cpu, sel, d, 1, &f), &f);
    if ((d[0] >> 44) & 1)
        return false;   /* a code or data segment: code_segment checks it */
    unsigned type = (unsigned)(d[0] >> 40) & 0xf;
    if (type == GATE_CALL16 || type == GATE_CALL32) {
        x86_far_call_gate(cpu, sel, d[0], call, len);
        return true;
    }
    if (x86_is_task_descriptor(d[0]))
        x86_task_far(cpu, sel, d[0], call, len);
    fail(cpu, X86_V_GP, sel & ~SEL_RPL);
}

void x86_far_jmp_call(struct soft_cpu *cpu, uint16_t sel, uint64_t offset, unsigned size, bool call, unsigned len)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t ret_ip = st->rip + len;
    uint64_t omask = size == 8 ? ~0ull : size == 4 ? 0xffffffffull : 0xffffull;
    struct x86_segment cs;
    if (!protected_mode(st)) {
        cs = st->seg[X86_CS];
        cs.selector = sel;
        cs.base = (uint64_t)sel << 4;
    } else {
        if (system_target(cpu, sel, call, len))
            return;   /* through a call gate */
        cs = code_segment(cpu, sel, x86_cpl(st), false);
        bool to64 = (st->msr.efer & X86_EFER_LMA) && (cs.ar & X86_AR_L);
        if (!to64 && (offset & omask) > cs.limit)
            fail(cpu, X86_V_GP, 0);
    }
    if (call) {
        uint64_t w[2] = { st->seg[X86_CS].selector, ret_ip & omask };
        set_sp(st, push_words(cpu, w, 2, size));
    }
    st->seg[X86_CS] = cs;
    st->rip = offset & omask;
}

/* Data segments the outer level may not see become null (SDM RET/IRET). */
static void null_inaccessible(struct x86_state *st)
{
    static const unsigned segs[4] = { X86_ES, X86_DS, X86_FS, X86_GS };
    unsigned cpl = x86_cpl(st);
    for (unsigned i = 0; i < 4; i++) {
        struct x86_segment *s = &st->seg[segs[i]];
        unsigned dpl = (s->ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT;
        bool conf_code = (s->ar & DESC_CODE) && (s->ar & DESC_CONFORMING);
        if (!(s->ar & X86_AR_UNUSABLE) && !conf_code && dpl < cpl) {
            s->selector = 0;
            s->ar = X86_AR_UNUSABLE;
        }
    }
}

/* Return to an outer level: load SS from the popped selector. */
static void load_outer_ss(struct soft_cpu *cpu, uint16_t ss_sel, uint64_t sp, unsigned new_cpl, bool to64)
{
    struct x86_state *st = x86_st(cpu);
    if ((ss_sel & ~SEL_RPL) == 0 && to64 && new_cpl < 3) {
        st->seg[X86_SS] = (struct x86_segment){ .selector = ss_sel,
                                                .ar = X86_AR_UNUSABLE | (new_cpl << X86_AR_DPL_SHIFT) };
    } else {
        struct x86_fault f;
        check(cpu, x86_load_seg_cpl(cpu, X86_SS, ss_sel, new_cpl, &f), &f);
    }
    st->gpr[X86_RSP] = sp;
}

void x86_far_ret(struct soft_cpu *cpu, unsigned size, uint64_t pop_bytes)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t sp = st->gpr[X86_RSP], w[4];
    uint64_t omask = size == 8 ? ~0ull : size == 4 ? 0xffffffffull : 0xffffull;
    read_stack(cpu, sp, size, w, 2);
    uint16_t sel = (uint16_t)w[1];
    if (!protected_mode(st)) {
        st->seg[X86_CS].selector = sel;
        st->seg[X86_CS].base = (uint64_t)sel << 4;
        st->rip = w[0] & omask;
        set_sp(st, sp + 2 * size + pop_bytes);
        return;
    }
    unsigned cpl = x86_cpl(st), rpl = sel & SEL_RPL;
    struct x86_segment cs = code_segment(cpu, sel, rpl, true);
    bool long64 = (st->msr.efer & X86_EFER_LMA) != 0;
    if (rpl > cpl) {
        read_stack(cpu, sp + 2 * size + pop_bytes, size, w + 2, 2);
        load_outer_ss(cpu, (uint16_t)w[3], w[2] + pop_bytes, rpl, long64 && (cs.ar & X86_AR_L));
        st->seg[X86_CS] = cs;
        null_inaccessible(st);
    } else {
        st->seg[X86_CS] = cs;
        set_sp(st, sp + 2 * size + pop_bytes);
    }
    st->rip = w[0] & omask;
}

static void iret_flags(struct x86_state *st, uint64_t v, unsigned size, unsigned cpl)
{
    uint64_t old = x86_rflags_of(st);
    unsigned iopl = (unsigned)((old & X86_FLAG_IOPL) >> 12);
    uint64_t mask = IRET_MODIFIABLE;
    if (cpl == 0)
        mask |= X86_FLAG_IOPL;
    if (cpl <= iopl)
        mask |= X86_FLAG_IF;
    if (size == 2)
        mask &= 0xffff;
    x86_rflags_write(st, (old & ~mask) | (v & mask));
}

/* IRETD at CPL0 with VM set in the popped EFLAGS: the rest of the frame (ESP, SS,
 * ES, DS, FS, GS) is read first, then every segment is loaded the virtual-8086 way
 * (base = selector * 16, limit 64 KiB, DPL 3) and CPL becomes 3. */
static void iret_to_v86(struct soft_cpu *cpu, uint64_t sp, uint64_t *w)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t rest[6];
    read_stack(cpu, sp + 12, 4, rest, 6);
    if (w[0] >> 16)
        fail(cpu, X86_V_GP, 0);
    static const unsigned segs[6] = { X86_CS, X86_SS, X86_ES, X86_DS, X86_FS, X86_GS };
    uint16_t sel[6] = { (uint16_t)w[1], (uint16_t)rest[1], (uint16_t)rest[2], (uint16_t)rest[3], (uint16_t)rest[4],
                        (uint16_t)rest[5] };
    x86_rflags_write(st, (w[2] & IRET_TO_V86_FLAGS) | X86_FLAG_VM);
    for (unsigned i = 0; i < 6; i++)
        st->seg[segs[i]] = (struct x86_segment){ .selector = sel[i], .base = (uint64_t)sel[i] << 4,
                                                 .limit = V86_LIMIT, .ar = V86_AR };
    st->gpr[X86_RSP] = (uint32_t)rest[0];
    st->rip = w[0];
}

void x86_iret(struct soft_cpu *cpu, unsigned size, unsigned len)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t sp = st->gpr[X86_RSP], w[5];
    uint64_t omask = size == 8 ? ~0ull : size == 4 ? 0xffffffffull : 0xffffull;
    bool long64 = (st->msr.efer & X86_EFER_LMA) != 0;
    bool from64 = x86_code_size_of(st) == X86_CODE64;
    st->interruptibility &= ~(uint32_t)INTR_BLOCK_NMI;
    read_stack(cpu, sp, size, w, 3);
    if (!protected_mode(st)) {
        bool v86 = (st->rflags & X86_FLAG_VM) != 0;
        if (v86 && (st->rflags & X86_FLAG_IOPL) != X86_FLAG_IOPL)
            fail(cpu, X86_V_GP, 0);   /* IOPL-sensitive in virtual-8086 mode */
        st->seg[X86_CS].selector = (uint16_t)w[1];
        st->seg[X86_CS].base = (w[1] & 0xffff) << 4;
        st->rip = w[0] & omask;
        if (v86)   /* IOPL, VM, VIF and VIP stay */
            x86_rflags_write(st, (x86_rflags_of(st) & ~(uint64_t)V86_IRET_MASK(size)) |
                                     (w[2] & V86_IRET_MASK(size)));
        else
            iret_flags(st, w[2], size, 0);
        set_sp(st, sp + 3 * size);
        return;
    }
    if ((st->rflags & X86_FLAG_NT) && !long64)
        x86_task_iret(cpu, len);      /* a task return: the client switches (sys_task.c) */
    unsigned cpl = x86_cpl(st), rpl = (unsigned)w[1] & SEL_RPL;
    if (!long64 && size == 4 && (w[2] & X86_FLAG_VM) && cpl == 0) {
        iret_to_v86(cpu, sp, w);
        return;
    }
    struct x86_segment cs = code_segment(cpu, (uint16_t)w[1], rpl, true);
    bool outer = rpl > cpl || from64;
    if (outer)
        read_stack(cpu, sp + 3 * size, size, w + 3, 2);
    /* SS is the last thing that can fault: load it before committing the rest. */
    if (outer)
        load_outer_ss(cpu, (uint16_t)w[4], w[3] & omask, rpl, long64 && (cs.ar & X86_AR_L));
    else
        set_sp(st, sp + 3 * size);
    iret_flags(st, w[2], size, cpl);
    st->seg[X86_CS] = cs;
    if (rpl > cpl)
        null_inaccessible(st);
    st->rip = w[0] & omask;
}

void x86_syscall(struct soft_cpu *cpu, unsigned len)
{
    struct x86_state *st = x86_st(cpu);
    if (!(st->msr.efer & X86_EFER_SCE))
        fail(cpu, X86_V_UD, X86_NO_ERR);
    uint16_t sel = (uint16_t)(st->msr.star >> STAR_SYSCALL_CS_SHIFT) & ~SEL_RPL;
    uint64_t next = st->rip + len, fl = x86_rflags_of(st);
    bool long64 = (st->msr.efer & X86_EFER_LMA) != 0;
    if (long64) {
        st->gpr[X86_RCX] = next;
        st->gpr[X86_R11] = fl & ~(uint64_t)X86_FLAG_RF;
        st->rip = x86_code_size_of(st) == X86_CODE64 ? st->msr.lstar : st->msr.cstar;
        x86_rflags_write(st, fl & ~st->msr.sfmask & ~(uint64_t)X86_FLAG_RF);
    } else {
        st->gpr[X86_RCX] = (uint32_t)next;
        st->rip = (uint32_t)st->msr.star;
        x86_rflags_write(st, fl & ~(uint64_t)(X86_FLAG_VM | X86_FLAG_IF | X86_FLAG_RF));
    }
    st->seg[X86_CS] = flat(sel, 0, true, long64);
    st->seg[X86_SS] = flat((uint16_t)(sel + 8), 0, false, false);
}

void x86_sysret(struct soft_cpu *cpu, unsigned size)
{
    struct x86_state *st = x86_st(cpu);
    if (!(st->msr.efer & X86_EFER_SCE))
        fail(cpu, X86_V_UD, X86_NO_ERR);
    uint16_t base = (uint16_t)(st->msr.star >> STAR_SYSRET_CS_SHIFT);
    bool long64 = (st->msr.efer & X86_EFER_LMA) != 0;
    bool to64 = size == 8;
    if (to64 && (uint64_t)((int64_t)(st->gpr[X86_RCX] << 16) >> 16) != st->gpr[X86_RCX])
        fail(cpu, X86_V_GP, 0);
    if (long64)
        x86_rflags_write(st, (st->gpr[X86_R11] & ~(uint64_t)(X86_FLAG_RF | X86_FLAG_VM)));
    else
        x86_rflags_write(st, x86_rflags_of(st) | X86_FLAG_IF);
    st->rip = to64 ? st->gpr[X86_RCX] : (uint32_t)st->gpr[X86_RCX];
    st->seg[X86_CS] = flat((uint16_t)((to64 ? base + 16 : base) | 3), 3, true, to64);
    st->seg[X86_SS] = flat((uint16_t)((base + 8) | 3), 3, false, false);
}

void x86_sysenter(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    uint16_t sel = (uint16_t)st->msr.sysenter_cs & ~SEL_RPL;
    if (!(st->cr0 & X86_CR0_PE) || sel == 0)
        fail(cpu, X86_V_GP, 0);
    bool long64 = (st->msr.efer & X86_EFER_LMA) != 0;
    x86_rflags_write(st, x86_rflags_of(st) & ~(uint64_t)(X86_FLAG_VM | X86_FLAG_IF | X86_FLAG_RF));
    st->seg[X86_CS] = flat(sel, 0, true, long64);
    st->seg[X86_SS] = flat((uint16_t)(sel + 8), 0, false, false);
    st->rip = long64 ? st->msr.sysenter_eip : (uint32_t)st->msr.sysenter_eip;
    st->gpr[X86_RSP] = long64 ? st->msr.sysenter_esp : (uint32_t)st->msr.sysenter_esp;
}

void x86_sysexit(struct soft_cpu *cpu, unsigned size)
{
    struct x86_state *st = x86_st(cpu);
    uint16_t sel = (uint16_t)st->msr.sysenter_cs & ~SEL_RPL;
    if (!(st->cr0 & X86_CR0_PE) || sel == 0)
        fail(cpu, X86_V_GP, 0);
    bool to64 = size == 8;
    st->seg[X86_CS] = flat((uint16_t)((sel + (to64 ? 32 : 16)) | 3), 3, true, to64);
    st->seg[X86_SS] = flat((uint16_t)((sel + (to64 ? 40 : 24)) | 3), 3, false, false);
    st->rip = to64 ? st->gpr[X86_RDX] : (uint32_t)st->gpr[X86_RDX];
    st->gpr[X86_RSP] = to64 ? st->gpr[X86_RCX] : (uint32_t)st->gpr[X86_RCX];
}
