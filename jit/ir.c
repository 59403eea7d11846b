/* ir.c - the op table generated from ir_ops.def and the block builder. Builders
 * append; nothing here checks meaning (ir_verify.c does), but an allocation failure
 * marks the block failed so a frontend can give up cleanly. */
#include "jit/ir.h"

#include <stdlib.h>
#include <string.h>

const struct ir_op_info ir_op_info[IR_OP_COUNT] = {
#define IR_OP(name, result, nargs, effects) [IR_##name] = { #name, result, nargs, effects },
#include "jit/ir_ops.def"
#undef IR_OP
};

bool ir_op_is_vector(unsigned op)
{
    switch (op) {
#define IR_OP(name, result, nargs, effects)
#define IR_VOP(name, result, nargs) case IR_##name:
#include "jit/ir_ops.def"
#undef IR_VOP
#undef IR_OP
        return true;
    default:
        return false;
    }
}

#define IR_BLOCK_INITIAL_CAPACITY 64u

void ir_block_init(struct ir_block *b, uint64_t guest_pc)
{
    memset(b, 0, sizeof(*b));
    b->guest_pc = guest_pc;
}

void ir_block_reset(struct ir_block *b, uint64_t guest_pc)
{
    struct ir_insn *keep = b->insns;
    uint32_t cap = b->capacity;
    ir_block_init(b, guest_pc);
    b->insns = keep;
    b->capacity = cap;
}

void ir_block_free(struct ir_block *b)
{
    free(b->insns);
    memset(b, 0, sizeof(*b));
}

static bool ir_grow(struct ir_block *b)
{
    uint32_t cap = b->capacity ? b->capacity * 2 : IR_BLOCK_INITIAL_CAPACITY;
    if (cap > IR_MAX_INSNS)
        cap = IR_MAX_INSNS;
    if (cap <= b->count)
        return false;
    struct ir_insn *n = realloc(b->insns, (size_t)cap * sizeof(*n));
    if (!n)
        return false;
    b->insns = n;
    b->capacity = cap;
    return true;
}

static enum ir_type result_type(const struct ir_block *b, enum ir_op op, enum ir_type given, ir_val a0)
{
    switch (ir_op_info[op].result) {
    case IR_RES_NONE: return IR_VOID;
    case IR_RES_BOOL: return IR_I1;
    case IR_RES_ARG0: return (a0 && a0 <= b->count) ? ir_type_of(b, a0) : IR_VOID;
    case IR_RES_EXPL: return given;
    }
    return IR_VOID;
}

ir_val ir_emit(struct ir_block *b, enum ir_op op, enum ir_type type, ir_val a0, ir_val a1, ir_val a2,
               uint64_t imm, uint64_t imm2)
{
    if (b->failed || (unsigned)op >= IR_OP_COUNT)
        goto fail;
    if (b->count == b->capacity && !ir_grow(b))
        goto fail;
    struct ir_insn *in = &b->insns[b->count++];
    in->op = (uint16_t)op;
    in->type = (uint8_t)result_type(b, op, type, a0);
    in->dead = 0;
    in->arg[0] = a0;
    in->arg[1] = a1;
    in->arg[2] = a2;
    in->imm = imm;
    in->imm2 = imm2;
    if (op == IR_INSN_START) {
        b->guest_insns++;
        if (imm + imm2 > b->guest_pc + b->guest_bytes)
            b->guest_bytes = (uint32_t)(imm + imm2 - b->guest_pc);
    }
    return b->count;
fail:
    b->failed = true;
    return IR_NONE;
}

ir_val ir_const(struct ir_block *b, enum ir_type t, uint64_t v)
{
    if (t < IR_I64)
        v &= (1ull << t) - 1;
    return ir_emit(b, IR_CONST, t, 0, 0, 0, v, 0);
}

ir_val ir_const128(struct ir_block *b, ir_u128 v)
{
    return ir_emit(b, IR_CONST, IR_I128, 0, 0, 0, (uint64_t)v, (uint64_t)(v >> 64));
}

ir_val ir_get(struct ir_block *b, enum ir_type t, uint32_t offset)
{
    return ir_emit(b, IR_GET, t, 0, 0, 0, offset, 0);
}

void ir_set(struct ir_block *b, uint32_t offset, ir_val v)
{
    ir_emit(b, IR_SET, IR_VOID, v, 0, 0, offset, 0);
}

ir_val ir_binop(struct ir_block *b, enum ir_op op, ir_val x, ir_val y)
{
    return ir_emit(b, op, IR_VOID, x, y, 0, 0, 0);
}

ir_val ir_unop(struct ir_block *b, enum ir_op op, ir_val x)
{
    return ir_emit(b, op, IR_VOID, x, 0, 0, 0, 0);
}

ir_val ir_select(struct ir_block *b, ir_val c, ir_val x, ir_val y)
{
    enum ir_type t = (x && x <= b->count) ? ir_type_of(b, x) : IR_VOID;
    return ir_emit(b, IR_SELECT, t, c, x, y, 0, 0);
}

ir_val ir_cast(struct ir_block *b, enum ir_op op, enum ir_type t, ir_val x)
{
    return ir_emit(b, op, t, x, 0, 0, 0, 0);
}

ir_val ir_extract(struct ir_block *b, enum ir_type t, ir_val x, unsigned lsb)
{
    return ir_emit(b, IR_EXTRACT, t, x, 0, 0, lsb, 0);
}

ir_val ir_insert(struct ir_block *b, ir_val x, ir_val field, unsigned lsb)
{
    return ir_emit(b, IR_INSERT, IR_VOID, x, field, 0, lsb, 0);
}

ir_val ir_load(struct ir_block *b, enum ir_type t, ir_val addr, uint64_t memflags, uint64_t info)
{
    return ir_emit(b, IR_LOAD, t, addr, 0, 0, memflags, info);
}

void ir_store(struct ir_block *b, ir_val addr, ir_val v, uint64_t memflags, uint64_t info)
{
    ir_emit(b, IR_STORE, IR_VOID, addr, v, 0, memflags, info);
}

ir_val ir_cmpxchg(struct ir_block *b, ir_val addr, ir_val expected, ir_val desired, uint64_t memflags,
                  uint64_t info)
{
    /* The result type follows the compared value (operand 1), not the address. */
    enum ir_type t = (expected && expected <= b->count) ? ir_type_of(b, expected) : IR_VOID;
    ir_val v = ir_emit(b, IR_CMPXCHG, IR_VOID, addr, expected, desired, memflags, info);
    if (v)
        ir_insn_of(b, v)->type = (uint8_t)t;
    return v;
}

ir_val ir_atomic_rmw(struct ir_block *b, enum ir_rmw_kind k, ir_val addr, ir_val operand, uint64_t memflags)
{
    enum ir_type t = (operand && operand <= b->count) ? ir_type_of(b, operand) : IR_VOID;
    ir_val v = ir_emit(b, IR_ATOMIC_RMW, IR_VOID, addr, operand, 0, memflags, (uint64_t)k);
    if (v)
        ir_insn_of(b, v)->type = (uint8_t)t;
    return v;
}

void ir_fence(struct ir_block *b)
{
    ir_emit(b, IR_FENCE, IR_VOID, 0, 0, 0, 0, 0);
}

ir_val ir_call(struct ir_block *b, enum ir_type ret, uint32_t helper, ir_val a0, ir_val a1, ir_val a2)
{
    return ir_emit(b, IR_CALL, ret, a0, a1, a2, helper, 0);
}

void ir_insn_start(struct ir_block *b, uint64_t pc, unsigned length)
{
    ir_emit(b, IR_INSN_START, IR_VOID, 0, 0, 0, pc, length);
}

void ir_exit_if(struct ir_block *b, ir_val cond, uint64_t target_pc)
{
    ir_emit(b, IR_EXIT_IF, IR_VOID, cond, 0, 0, target_pc, 0);
}

void ir_trap_if(struct ir_block *b, ir_val cond, uint64_t detail)
{
    ir_emit(b, IR_TRAP_IF, IR_VOID, cond, 0, 0, detail, 0);
}

void ir_jump(struct ir_block *b, uint64_t target_pc)
{
    ir_emit(b, IR_JUMP, IR_VOID, 0, 0, 0, target_pc, 0);
}

void ir_jump_ind(struct ir_block *b, ir_val target_pc)
{
    ir_emit(b, IR_JUMP_IND, IR_VOID, target_pc, 0, 0, 0, 0);
}

void ir_branch(struct ir_block *b, ir_val cond, uint64_t taken_pc, uint64_t not_taken_pc)
{
    ir_emit(b, IR_BRANCH, IR_VOID, cond, 0, 0, taken_pc, not_taken_pc);
}

void ir_stop(struct ir_block *b, enum ir_stop_reason reason, uint64_t detail)
{
    ir_emit(b, IR_STOP, IR_VOID, 0, 0, 0, (uint64_t)reason, detail);
}

bool ir_block_terminated(const struct ir_block *b)
{
    for (uint32_t i = b->count; i > 0; i--) {
        const struct ir_insn *in = &b->insns[i - 1];
        if (!in->dead)
            return (ir_op_info[in->op].effects & IR_EFF_TERM) != 0;
    }
    return false;
}
