/* sys_gate.c - far CALL and JMP through call gates (SDM vol. 3A 5.8.3-5.8.6, vol. 2
 * CALL/JMP): 16- and 32-bit gates with the switch to an inner stack taken from the
 * TSS and the parameter copy, 64-bit gates in IA-32e mode. Every check and every
 * memory access comes before any state changes, so a fault leaves the instruction
 * unexecuted. The return to the outer level is far RET (sys_far.c). */
#include <string.h>

#include "frontends/x86_64/x86_sys.h"

#define GATE_CALL16 0x4u
#define GATE_CALL32 0xcu             /* the 64-bit call gate in IA-32e mode */
#define GATE_PARAMS_MASK 0x1fu
#define DESC_CODE 0x8u
#define DESC_CONFORMING 0x4u
#define DESC_WRITABLE 0x2u
#define SEL_RPL 3u
#define TSS32_ESP0 4u
#define TSS16_SP0 2u
#define TSS64_RSP0 4u
#define TSS_TYPE_32 0x8u
#define GATE64_UPPER_TYPE_MASK 0x1f00u   /* bits 12:8 of the gate's upper dword: must be 0 */
#define MAX_FRAME_WORDS (4 + GATE_PARAMS_MASK)

struct gate {
    uint16_t sel;            /* the gate's own selector (error codes) */
    uint16_t target;         /* code segment selector */
    uint64_t offset;
    unsigned size;           /* 2, 4 or 8: the gate's operand size */
    unsigned params;         /* words to copy on a privilege change (16/32-bit gates) */
};

static _Noreturn void fail(struct soft_cpu *cpu, unsigned vector, int64_t err)
{
    x86_raise_now(cpu, vector, err);
}

static void check(struct soft_cpu *cpu, int r, const struct x86_fault *f)
{
    if (r != 0)
        x86_fault_now(cpu, f);
}

static unsigned dpl_of(uint32_t ar)
{
    return (ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT;
}

/* The gate's fields, after its type, privilege and presence checks. */
static struct gate read_gate(struct soft_cpu *cpu, uint16_t sel, uint64_t lo)
{
    const struct x86_state *st = x86_st(cpu);
    bool ia32e = (st->msr.efer & X86_EFER_LMA) != 0;
    unsigned type = (unsigned)(lo >> 40) & 0xf, dpl = (unsigned)(lo >> 45) & 3;
    uint16_t err = sel & ~SEL_RPL;
    if (dpl < x86_cpl(st) || dpl < (sel & SEL_RPL))
        fail(cpu, X86_V_GP, err);
    if (!((lo >> 47) & 1))
        fail(cpu, X86_V_NP, err);
    struct gate g = { .sel = sel, .target = (uint16_t)(lo >> 16), .offset = (lo & 0xffff) };
    if (ia32e) {
        if (type != GATE_CALL32)
            fail(cpu, X86_V_GP, err);
        uint64_t d[2];
        struct x86_fault f;
        check(cpu, x86_read_descriptor(cpu, sel, d, 2, &f), &f);
        if (d[1] & GATE64_UPPER_TYPE_MASK)
            fail(cpu, X86_V_GP, err);
        g.offset |= ((lo >> 48) << 16) | ((d[1] & 0xffffffffull) << 32);
        g.size = 8;
        return g;
    }
    g.size = type == GATE_CALL32 ? 4 : 2;
    if (g.size == 4)
        g.offset |= (lo >> 48) << 16;
    g.params = (unsigned)(lo >> 32) & GATE_PARAMS_MASK;
    return g;
}

/* The target code segment: checks, and the CPL the transfer runs at. */
static struct x86_segment target_code(struct soft_cpu *cpu, const struct gate *g, bool call, unsigned *new_cpl)
{
    const struct x86_state *st = x86_st(cpu);
    unsigned cpl = x86_cpl(st);
    if ((g->target & ~SEL_RPL) == 0)
        fail(cpu, X86_V_GP, 0);
    uint64_t d[2];
    struct x86_fault f;
    check(cpu, x86_read_descriptor(cpu, g->target, d, 1, &f), &f);
    struct x86_segment cs;
    x86_seg_from_descriptor(&cs, g->target, d[0], 0);
    uint16_t err = g->target & ~SEL_RPL;
    unsigned dpl = dpl_of(cs.ar);
    bool code = (cs.ar & X86_AR_S) && (cs.ar & DESC_CODE), conforming = (cs.ar & DESC_CONFORMING) != 0;
    bool l64 = (cs.ar & X86_AR_L) && !(cs.ar & X86_AR_DB);
    if (!code || dpl > cpl || (!call && !conforming && dpl != cpl) || (g->size == 8 && !l64))
        fail(cpu, X86_V_GP, err);
    if (!(cs.ar & X86_AR_P))
        fail(cpu, X86_V_NP, err);
    *new_cpl = conforming ? cpl : dpl;
    cs.selector = (uint16_t)((g->target & ~SEL_RPL) | *new_cpl);
    cs.ar |= 1u;
    if (g->size != 8 && (g->offset > cs.limit))
        fail(cpu, X86_V_GP, 0);
    return cs;
}

/* Little-endian words, first pushed first, written below sp on one stack. */
static void store_frame(struct soft_cpu *cpu, const struct x86_segment *ss, uint64_t sp, uint64_t mask,
                        const uint64_t *w, unsigned n, unsigned size, bool switched)
{
    uint8_t buf[MAX_FRAME_WORDS * 8];
    const struct x86_state *st = x86_st(cpu);
    uint64_t nsp = (sp - (uint64_t)n * size) & mask;
    if (size != 8 && !x86_seg_access_ok(st, ss, nsp, n * size, true))
        fail(cpu, X86_V_SS, switched ? ss->selector & ~SEL_RPL : 0);
    for (unsigned i = 0; i < n; i++)
        for (unsigned b = 0; b < size; b++)
            buf[i * size + b] = (uint8_t)(w[n - 1 - i] >> (8 * b));
    uint64_t lin = (size == 8 ? 0 : ss->base) + nsp;
    if (!(st->msr.efer & X86_EFER_LMA))
        lin &= 0xffffffffull;
    struct x86_fault f;
    if (x86_vmem_write(cpu, lin, buf, n * size, 0, &f) != 0) {
        if (!f.stage2 && f.vector != X86_V_PF)
            f = (struct x86_fault){ .vector = X86_V_SS, .err = switched ? ss->selector & ~SEL_RPL : 0 };
        x86_fault_now(cpu, &f);
    }
}

/* The inner stack for new_cpl from the TSS, checked as SDM CALL says (#TS, #SS). */
static struct x86_segment inner_stack(struct soft_cpu *cpu, unsigned new_cpl, unsigned gsize, uint64_t *sp)
{
    const struct x86_state *st = x86_st(cpu);
    const struct x86_segment *tr = &st->seg[X86_TR];
    uint16_t tss_err = tr->selector & ~SEL_RPL;
    struct x86_fault f;
    if (gsize == 8) {
        uint32_t off = TSS64_RSP0 + 8 * new_cpl;
        if (off + 7 > tr->limit)
            fail(cpu, X86_V_TS, tss_err);
        check(cpu, x86_vmem_read(cpu, tr->base + off, sp, 8, MMU_READ, &f), &f);
        return (struct x86_segment){ .selector = (uint16_t)new_cpl,
                                     .ar = X86_AR_UNUSABLE | (new_cpl << X86_AR_DPL_SHIFT) };
    }
    bool tss32 = (tr->ar & TSS_TYPE_32) != 0;
    unsigned stride = tss32 ? 8 : 4, wsize = tss32 ? 4 : 2;
    uint32_t off = (tss32 ? TSS32_ESP0 : TSS16_SP0) + stride * new_cpl;
    if (off + wsize + 1 > tr->limit)
        fail(cpu, X86_V_TS, tss_err);
    uint64_t v = 0;
    uint16_t ss_sel = 0;
    check(cpu, x86_vmem_read(cpu, (tr->base + off) & 0xffffffffull, &v, wsize, MMU_READ, &f), &f);
    check(cpu, x86_vmem_read(cpu, (tr->base + off + wsize) & 0xffffffffull, &ss_sel, 2, MMU_READ, &f), &f);
    uint16_t err = ss_sel & ~SEL_RPL;
    if (err == 0)
        fail(cpu, X86_V_TS, 0);
    uint64_t d[2];
    if (x86_read_descriptor(cpu, ss_sel, d, 1, &f) != 0)
        fail(cpu, X86_V_TS, err);
    struct x86_segment ss;
    x86_seg_from_descriptor(&ss, ss_sel, d[0], 0);
    bool data_rw = (ss.ar & X86_AR_S) && !(ss.ar & DESC_CODE) && (ss.ar & DESC_WRITABLE);
    if ((ss_sel & SEL_RPL) != new_cpl || dpl_of(ss.ar) != new_cpl || !data_rw)
        fail(cpu, X86_V_TS, err);
    if (!(ss.ar & X86_AR_P))
        fail(cpu, X86_V_SS, err);
    ss.ar |= 1u;
    *sp = v;
    return ss;
}

/* CALL to an inner level: new stack from the TSS, then old SS:SP, the parameters
 * copied from the old stack, CS:IP. */
static void call_inner(struct soft_cpu *cpu, const struct gate *g, unsigned new_cpl, uint64_t ret_ip)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t new_sp = 0, w[MAX_FRAME_WORDS];
    struct x86_segment ss = inner_stack(cpu, new_cpl, g->size, &new_sp);
    unsigned n = 0, sz = g->size;
    bool old32 = (st->seg[X86_SS].ar & X86_AR_DB) != 0;
    uint64_t old_mask = x86_code_size_of(st) == X86_CODE64 ? ~0ull : old32 ? 0xffffffffull : 0xffffull;
    uint64_t old_sp = st->gpr[X86_RSP] & old_mask;
    w[n++] = st->seg[X86_SS].selector;
    w[n++] = old_sp;
    for (unsigned i = g->params; i > 0; i--) {
        uint64_t off = (old_sp + (uint64_t)(i - 1) * sz) & old_mask, v = 0;
        if (!x86_seg_access_ok(st, &st->seg[X86_SS], off, sz, false))
            fail(cpu, X86_V_SS, 0);
        struct x86_fault f;
        check(cpu, x86_vmem_read(cpu, (st->seg[X86_SS].base + off) & 0xffffffffull, &v, sz, 0, &f), &f);
        w[n++] = v;
    }
    w[n++] = st->seg[X86_CS].selector;
    w[n++] = ret_ip;
    uint64_t mask = sz == 8 ? ~0ull : (ss.ar & X86_AR_DB) ? 0xffffffffull : 0xffffull;
    if (sz == 8)
        new_sp &= ~0xfull;   /* 64-bit: the new RSP is 16-byte aligned */
    store_frame(cpu, &ss, new_sp, mask, w, n, sz, true);
    st->seg[X86_SS] = ss;
    uint64_t nsp = (new_sp - (uint64_t)n * sz) & mask;
    st->gpr[X86_RSP] = mask == 0xffff ? ((st->gpr[X86_RSP] & ~0xffffull) | nsp) : nsp;
}

void x86_far_call_gate(struct soft_cpu *cpu, uint16_t sel, uint64_t lo, bool call, unsigned len)
{
    struct x86_state *st = x86_st(cpu);
    struct gate g = read_gate(cpu, sel, lo);
    unsigned cpl = x86_cpl(st), new_cpl;
    struct x86_segment cs = target_code(cpu, &g, call, &new_cpl);
    uint64_t ip_mask = x86_code_size_of(st) == X86_CODE64 ? ~0ull : 0xffffffffull;
    uint64_t ret_ip = (st->rip + len) & ip_mask;
    if (call && new_cpl < cpl) {
        call_inner(cpu, &g, new_cpl, ret_ip);
    } else if (call) {
        uint64_t w[2] = { st->seg[X86_CS].selector, ret_ip };
        bool s32 = (st->seg[X86_SS].ar & X86_AR_DB) != 0;
        uint64_t mask = g.size == 8 ? ~0ull : s32 ? 0xffffffffull : 0xffffull;
        uint64_t sp = st->gpr[X86_RSP] & mask;
        store_frame(cpu, &st->seg[X86_SS], sp, mask, w, 2, g.size, false);
        uint64_t nsp = (sp - 2ull * g.size) & mask;
        st->gpr[X86_RSP] = mask == 0xffff ? ((st->gpr[X86_RSP] & ~0xffffull) | nsp) : nsp;
    }
    st->seg[X86_CS] = cs;
    st->rip = g.size == 2 ? g.offset & 0xffff : g.offset;
}
