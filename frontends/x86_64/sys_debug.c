/* sys_debug.c - debug exceptions (SDM vol. 3B ch. 17) and the alignment check:
 * TF single-step, DR0-DR3 instruction and data breakpoints with DR6/DR7 and RF,
 * general detect, and #AC. Everything here is emitted or run only while the mode
 * key arms it (X86_MK_TF, X86_MK_DBG, X86_MK_AC), so code that does not debug or
 * check alignment pays nothing. Debug traps are collected in the VMX pending debug
 * exceptions field (x86_state.pending_dbg) and delivered at the next instruction
 * boundary (x86_dbg_deliver_pending, from check_events); with #DB in the exception
 * bitmap they exit with the DR6 bits as the qualification and DR6 unchanged. */
#include "frontends/x86_64/x86_sys.h"

#define DR7_ENABLE_MASK 0xffu        /* L0 G0 .. L3 G3 */
#define DR7_GD (1ull << 13)
#define DR7_RW_SHIFT 16
#define DR7_LEN_SHIFT 18
#define DR7_FIELD_BITS 4
#define DR7_RW_EXEC 0u
#define DR7_RW_WRITE 1u
#define DR7_RW_IO 2u
#define DR7_RW_ACCESS 3u
#define DBG_DATA_WRITE (1u << 8)
#define DBG_SIZE_MASK 0xffu
#define BP_COUNT 4u
#define ALIGN_MAX 8u

static uint64_t u64_of(ir_u128 v) { return (uint64_t)v; }

static bool bp_enabled(uint64_t dr7, unsigned i)
{
    return (dr7 >> (2 * i)) & 3u;
}

static unsigned bp_rw(uint64_t dr7, unsigned i)
{
    return (unsigned)(dr7 >> (DR7_RW_SHIFT + DR7_FIELD_BITS * i)) & 3u;
}

/* LEN encoding: 00 one byte, 01 two, 11 four, 10 eight. */
static uint64_t bp_len(uint64_t dr7, unsigned i)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 };
    return len[(dr7 >> (DR7_LEN_SHIFT + DR7_FIELD_BITS * i)) & 3u];
}

bool x86_dbg_armed(const struct x86_state *st)
{
    return (st->dr[7] & DR7_ENABLE_MASK) || (st->rflags & X86_FLAG_RF);
}

bool x86_ac_armed(const struct x86_state *st)
{
    return (st->cr0 & X86_CR0_AM) && (st->rflags & X86_FLAG_AC) && x86_cpl(st) == 3;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* Before each instruction while armed: RF suppresses instruction breakpoints for one
 * instruction and is cleared once that check is done; otherwise an enabled execute
 * breakpoint at this linear address is a fault (RF pushed as 0, RIP on it). */
static ir_u128 h_dbg_insn(void *vcpu, ir_u128 pc, ir_u128 unused1, ir_u128 unused2)
{
    (void)unused1;
    (void)unused2;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    if (st->rflags & X86_FLAG_RF) {
        st->rflags &= ~(uint64_t)X86_FLAG_RF;
        return 0;
    }
    uint64_t dr7 = st->dr[7], hits = 0;
    for (unsigned i = 0; i < BP_COUNT; i++)
        if (bp_enabled(dr7, i) && bp_rw(dr7, i) == DR7_RW_EXEC && st->dr[i] == u64_of(pc))
            hits |= 1ull << i;
    if (!hits)
        return 0;
    struct x86_event ev = { .vector = X86_V_DB, .type = X86_EV_HWEXC, .err = X86_NO_ERR, .cr2 = hits };
    x86_raise_event_now(cpu, &ev);
}

/* After each data access while armed: record the data breakpoints it hit; the #DB
 * is a trap taken at the end of the instruction (several hits set several bits). */
static ir_u128 h_dbg_data(void *vcpu, ir_u128 lin, ir_u128 how, ir_u128 unused)
{
    (void)unused;
    struct x86_state *st = x86_st((struct soft_cpu *)vcpu);
    uint64_t dr7 = st->dr[7], a = u64_of(lin), n = (uint64_t)how & DBG_SIZE_MASK;
    bool write = ((uint64_t)how & DBG_DATA_WRITE) != 0;
    for (unsigned i = 0; i < BP_COUNT; i++) {
        unsigned rw = bp_rw(dr7, i);
        if (!bp_enabled(dr7, i) || !(rw == DR7_RW_ACCESS || (rw == DR7_RW_WRITE && write)))
            continue;
        uint64_t len = bp_len(dr7, i), start = st->dr[i] & ~(len - 1);
        if (a < start + len && start < a + n)
            st->pending_dbg |= (1ull << i) | X86_PENDING_DBG_ENABLED;
    }
    return 0;
}

static const struct ir_helper dbg_helpers[2] = {
    { "x86_dbg_insn", h_dbg_insn, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT },
    { "x86_dbg_data", h_dbg_data, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE },
};
static uint32_t dbg_insn_id, dbg_data_id;

void x86_debug_helpers_register(void)
{
    dbg_insn_id = ir_helper_register(&dbg_helpers[0]);
    dbg_data_id = ir_helper_register(&dbg_helpers[1]);
}

/* ---- lifter side ---------------------------------------------------------------------- */

void x86_dbg_insn_start(struct x86_ctx *c)
{
    if (c->mode & X86_MK_DBG)
        x86_call(c, IR_I64, dbg_insn_id, ir_const(c->b, IR_I64, c->pc), ir_const(c->b, IR_I64, 0),
                 ir_const(c->b, IR_I64, 0));
}

void x86_dbg_data_access(struct x86_ctx *c, ir_val linear, unsigned size, bool write)
{
    if (!(c->mode & X86_MK_DBG))
        return;
    uint64_t how = size | (write ? DBG_DATA_WRITE : 0);
    ir_call(c->b, IR_I64, dbg_data_id, x86_resize(c, linear, 8, false), ir_const(c->b, IR_I64, how),
            ir_const(c->b, IR_I64, 0));
}

/* The instruction completed with TF set at its start: a single-step trap is pending. */
void x86_dbg_step_mark(struct x86_ctx *c)
{
    if (!(c->mode & X86_MK_TF))
        return;
    uint32_t off = (uint32_t)offsetof(struct x86_state, pending_dbg);
    ir_val v = ir_get(c->b, IR_I64, off);
    ir_set(c->b, off, ir_binop(c->b, IR_OR, v, ir_const(c->b, IR_I64, X86_PENDING_DBG_BS)));
}

/* #AC(0): a misaligned 2/4/8-byte data access while armed. (16-byte and 10-byte
 * operands are not checked: SSE alignment is its own #GP, x87 is not modelled.) */
void x86_align_guard(struct x86_ctx *c, ir_val linear, unsigned size)
{
    if (!(c->mode & X86_MK_AC) || size < 2 || size > ALIGN_MAX)
        return;
    struct ir_block *B = c->b;
    ir_val low = ir_binop(B, IR_AND, x86_resize(c, linear, 8, false), ir_const(B, IR_I64, size - 1));
    ir_trap_if(B, ir_binop(B, IR_NE, low, ir_const(B, IR_I64, 0)), X86_V_AC);
}

/* ---- delivery ------------------------------------------------------------------------- */

/* DR6 after a #DB with these B0-B3/BD/BS bits: the processor clears B0-B3 and sets
 * what this exception found; the other status bits are sticky. */
void x86_dbg_update_dr6(struct x86_state *st, uint64_t bits)
{
    st->dr[6] = ((st->dr[6] & ~(uint64_t)X86_DR6_B_MASK) | (bits & X86_DR6_STATUS_MASK) | X86_DR6_FIXED1) &
                ~(uint64_t)X86_DR6_FIXED0;
    st->dr[7] &= ~DR7_GD;
}

/* At an instruction boundary: the debug traps the last instruction left pending
 * (single-step, data breakpoints). Returns false when the dispatcher must stop. */
bool x86_dbg_deliver_pending(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t bits = st->pending_dbg & X86_DR6_STATUS_MASK;
    st->pending_dbg = 0;
    if (!bits)
        return true;
    struct x86_event ev = { .vector = X86_V_DB, .type = X86_EV_HWEXC, .err = X86_NO_ERR, .cr2 = bits };
    enum soft_stop s = x86_deliver(cpu, &ev);
    if (s == SOFT_STOP_FAULT)
        return true;
    x86_flags_pack(st);
    cpu->stop = s;
    return false;
}

/* MOV DR with DR7.GD set: a #DB fault with BD, RIP on the MOV (after the VMX
 * MOV-DR exit, which has priority, and before the access). */
void x86_dbg_general_detect(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    if (!(st->dr[7] & DR7_GD))
        return;
    struct x86_event ev = { .vector = X86_V_DB, .type = X86_EV_HWEXC, .err = X86_NO_ERR, .cr2 = X86_DR6_BD };
    x86_raise_event_now(cpu, &ev);
}

/* MOV to DR6/DR7: reserved bits forced (DR6 bits 4-11 and 16-31 read as 1, bit 12
 * as 0; DR7 bit 10 as 1, bits 11, 12, 14, 15 as 0); bits 63:32 set is #GP(0). */
int x86_dbg_write(struct x86_state *st, unsigned dr, uint64_t v)
{
    if (dr >= 6 && (v >> 32))
        return -1;
    if (dr == 6)
        v = (v | X86_DR6_FIXED1) & ~(uint64_t)X86_DR6_FIXED0;
    else if (dr == 7)
        v = (v | X86_DR7_FIXED1) & ~(uint64_t)X86_DR7_FIXED0;
    st->dr[dr] = v;
    return 0;
}
