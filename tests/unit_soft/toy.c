/* toy.c - the toy ISA's frontend: decode, lift to IR, identity stage 1 with a
 * faulting window, exceptions through a handler register. Exercises every hook
 * of struct soft_frontend the way a real frontend does. */
#include "toy.h"

#include <stddef.h>
#include <string.h>

#define GPR_OFF(i) ((uint32_t)(offsetof(struct x86_state, gpr) + 8u * (i)))
#define PC_OFF ((uint32_t)offsetof(struct x86_state, rip))
#define TOY_MAX_LEN 12u

static uint32_t helper_double;

static struct x86_state *st(const struct soft_cpu *cpu)
{
    return cpu->state;
}

static uint64_t toy_get_pc(const struct soft_cpu *cpu)
{
    return st(cpu)->rip;
}

static void toy_set_pc(struct soft_cpu *cpu, uint64_t pc)
{
    st(cpu)->rip = pc;
}

static uint32_t toy_mode_key(const struct soft_cpu *cpu)
{
    (void)cpu;
    return 0;
}

/* Deliver an exception at the current instruction: handler in r15. */
static void toy_raise(struct soft_cpu *cpu, uint64_t pc, enum toy_cause cause)
{
    struct x86_state *s = st(cpu);
    s->gpr[14] = pc;
    s->gpr[13] = cause;
    s->rip = s->gpr[15];
    cpu->stop = SOFT_STOP_FAULT;
}

static ir_u128 toy_helper_double(void *opaque, ir_u128 a, ir_u128 b, ir_u128 c)
{
    (void)b;
    (void)c;
    struct soft_cpu *cpu = opaque;
    if ((uint64_t)a == TOY_HELPER_FAULT) {
        toy_raise(cpu, cpu->insn_pc, TOY_CAUSE_HELPER);
        soft_unwind(cpu, SOFT_STOP_FAULT);
    }
    return a * 2;
}

static void toy_init(void)
{
    helper_double = ir_helper_register(
        &(struct ir_helper){ "toy_double", toy_helper_double, IR_HELPER_MAY_FAULT });
}

static bool toy_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct mmu_entry *out)
{
    if (va >= TOY_VA_FAULT_BASE) {
        if (!(access & MMU_PROBE))
            toy_raise(cpu, cpu->insn_open ? cpu->insn_pc : st(cpu)->rip, TOY_CAUSE_PAGE);
        return false;
    }
    out->gpage = va & MMU_PAGE_MASK;
    out->perms = MMU_READ | MMU_WRITE | MMU_FETCH;
    return true;
}

static ir_val addr_of(struct ir_block *b, unsigned rs, int8_t imm)
{
    ir_val base = ir_get(b, IR_I64, GPR_OFF(rs & 15));
    return ir_binop(b, IR_ADD, base, ir_const(b, IR_I64, (uint64_t)(int64_t)imm));
}

/* Lift one instruction; returns false when it ends the block. */
static bool lift(struct ir_block *b, const uint8_t *p, uint64_t pc, unsigned len)
{
    unsigned rd = p[1] & 15, rs = p[2] & 15;
    int8_t imm = (int8_t)p[3];
    uint64_t next = pc + len;
    ir_insn_start(b, pc, len);
    switch (p[0]) {
    case TOY_HALT:
        ir_set(b, PC_OFF, ir_const(b, IR_I64, next));
        ir_stop(b, IR_STOP_HALT, 0);
        return false;
    case TOY_MOVI: {
        uint64_t v = 0;
        memcpy(&v, p + 4, 8);
        ir_set(b, GPR_OFF(rd), ir_const(b, IR_I64, v));
        return true;
    }
    case TOY_ADD:
        ir_set(b, GPR_OFF(rd), ir_binop(b, IR_ADD, ir_get(b, IR_I64, GPR_OFF(rd)), ir_get(b, IR_I64, GPR_OFF(rs))));
        return true;
    case TOY_ADDI:
        ir_set(b, GPR_OFF(rd), addr_of(b, rd, imm));
        return true;
    case TOY_LD:
        ir_set(b, GPR_OFF(rd), ir_load(b, IR_I64, addr_of(b, rs, imm), IR_MEM(8), 0));
        return true;
    case TOY_LDB:
        ir_set(b, GPR_OFF(rd), ir_load(b, IR_I64, addr_of(b, rs, imm), IR_MEM(1), 0));
        return true;
    case TOY_ST:
        ir_store(b, addr_of(b, rs, imm), ir_get(b, IR_I64, GPR_OFF(rd)), IR_MEM(8), 0);
        return true;
    case TOY_STB:
        ir_store(b, addr_of(b, rs, imm), ir_cast(b, IR_TRUNC, IR_I8, ir_get(b, IR_I64, GPR_OFF(rd))), IR_MEM(1), 0);
        return true;
    case TOY_JNZ: {
        ir_val c = ir_binop(b, IR_NE, ir_get(b, IR_I64, GPR_OFF(rd)), ir_const(b, IR_I64, 0));
        ir_branch(b, c, next + (uint64_t)((int64_t)imm * 4), next);
        return false;
    }
    case TOY_JMP:
        ir_jump(b, next + (uint64_t)((int64_t)imm * 4));
        return false;
    case TOY_OUT:
        ir_set(b, PC_OFF, ir_const(b, IR_I64, next));
        ir_stop(b, IR_STOP_EXIT, ((uint64_t)(uint8_t)imm << 8) | rd);
        return false;
    case TOY_CAS: {
        ir_val old = ir_cmpxchg(b, ir_get(b, IR_I64, GPR_OFF(rs)), ir_get(b, IR_I64, GPR_OFF(0)),
                                ir_get(b, IR_I64, GPR_OFF(rd)), IR_MEM(8), 0);
        ir_set(b, GPR_OFF(0), old);
        return true;
    }
    case TOY_XADD:
        ir_set(b, GPR_OFF(rd), ir_atomic_rmw(b, IR_RMW_ADD, ir_get(b, IR_I64, GPR_OFF(rs)),
                                             ir_get(b, IR_I64, GPR_OFF(rd)), IR_MEM(8)));
        return true;
    case TOY_HELP:
        ir_set(b, GPR_OFF(rd), ir_call(b, IR_I64, helper_double, ir_get(b, IR_I64, GPR_OFF(rd)), 0, 0));
        return true;
    default:
        ir_set(b, PC_OFF, ir_const(b, IR_I64, pc));
        ir_stop(b, IR_STOP_EXCEPTION, TOY_CAUSE_UD);
        return false;
    }
}

static bool toy_translate(struct soft_cpu *cpu, struct ir_block *b)
{
    uint64_t pc = b->guest_pc;
    for (uint32_t n = 0; n < cpu->max_insns; n++) {
        uint8_t buf[TOY_MAX_LEN] = { 0 };
        size_t got = mmu_fetch_code(cpu, pc, buf, 4, false);
        unsigned len = (got >= 1 && buf[0] == TOY_MOVI) ? 12u : 4u;
        if (got >= 4 && len > 4)
            got += mmu_fetch_code(cpu, pc + 4, buf + 4, len - 4, false);
        if (got < len) {
            if (n == 0) {
                mmu_fetch_code(cpu, pc, buf, len, true);   /* delivers the fetch fault */
                return false;
            }
            ir_jump(b, pc);
            return true;
        }
        if (!lift(b, buf, pc, len))
            return true;
        pc += len;
        /* End blocks at page boundaries, as real frontends do. */
        if ((pc & ~MMU_PAGE_MASK) == 0)
            break;
    }
    ir_jump(b, pc);
    return true;
}

static bool toy_check_events(struct soft_cpu *cpu)
{
    (void)cpu;
    return true;
}

/* Nothing between blocks looks at the toy's state: every bit is plain, events are
 * always quiet and the pc lives in rip as is, so its compiled blocks chain and form
 * regions as a real frontend's do. */
static uint64_t toy_plain_bits(uint32_t offset, uint32_t size)
{
    (void)offset;
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static bool toy_events_quiet(const struct soft_cpu *cpu)
{
    (void)cpu;
    return true;
}

static int32_t toy_pc_offset(uint32_t mode)
{
    (void)mode;
    return (int32_t)offsetof(struct x86_state, rip);
}

static void toy_stop(struct soft_cpu *cpu, uint32_t reason, uint64_t detail)
{
    struct x86_state *s = st(cpu);
    struct anyhv_exit *x = &cpu->vcpu->exit;
    switch (reason) {
    case IR_STOP_EXIT:
        memset(x, 0, sizeof(*x));
        x->kind = EXIT_PIO;
        x->pc = cpu->insn_pc;
        x->icount = cpu->icount;
        x->u.pio.port = (uint16_t)(detail >> 8);
        x->u.pio.size = 8;
        x->u.pio.data = s->gpr[detail & 15];
        cpu->stop = SOFT_STOP_EXIT;
        return;
    case IR_STOP_HALT:
        cpu->halted = true;
        cpu->stop = SOFT_RUN;
        return;
    case IR_STOP_EXCEPTION:
        toy_raise(cpu, s->rip, (enum toy_cause)detail);
        return;
    default:
        cpu->stop = SOFT_RUN;
        return;
    }
}

const struct soft_frontend toy_frontend = {
    .name = "toy",
    .init = toy_init,
    .get_pc = toy_get_pc,
    .mode_key = toy_mode_key,
    .translate = toy_translate,
    .check_events = toy_check_events,
    .walk = toy_walk,
    .stage2_fault = NULL,
    .set_pc = toy_set_pc,
    .sync_state = NULL,
    .stop = toy_stop,
    .plain_bits = toy_plain_bits,
    .events_quiet = toy_events_quiet,
    .pc_offset = toy_pc_offset,
};
