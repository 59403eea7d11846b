/* ir_verify.c - structural and type checks of one IR block: operand counts,
 * use-before-def, per-op type rules, a pc before anything that can fault or exit,
 * and exactly one terminator at the end. Frontends run it in debug builds and tests. */
#include "jit/ir.h"

#include <stdarg.h>
#include <stdio.h>

struct vctx {
    const struct ir_block *b;
    char *err;
    size_t errlen;
};

static bool fail(struct vctx *c, uint32_t idx, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "v%u: ", idx + 1);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return false;
}

static bool type_ok(unsigned t)
{
    return t == IR_I1 || t == IR_I8 || t == IR_I16 || t == IR_I32 || t == IR_I64 || t == IR_I128;
}

static bool mem_size_ok(uint64_t flags)
{
    unsigned s = flags & IR_MEM_SIZE_MASK;
    return s == 1 || s == 2 || s == 4 || s == 8 || s == 16;
}

static unsigned ty(const struct ir_block *b, ir_val v)
{
    return v ? b->insns[v - 1].type : IR_VOID;
}

/* Operands: defined earlier, alive, carrying a value; unused slots empty. */
static bool check_operands(struct vctx *c, uint32_t i)
{
    const struct ir_insn *in = &c->b->insns[i];
    unsigned nargs = ir_op_info[in->op].nargs;
    for (unsigned k = 0; k < 3; k++) {
        ir_val a = in->arg[k];
        if (k >= nargs) {
            if (a)
                return fail(c, i, "operand %u given to %s, which takes %u", k, ir_op_info[in->op].name, nargs);
            continue;
        }
        if (!a) {
            if (in->op == IR_CALL)
                continue;   /* helper arguments are optional */
            return fail(c, i, "operand %u of %s missing", k, ir_op_info[in->op].name);
        }
        if (a > i)
            return fail(c, i, "operand v%u used before its definition", a);
        if (c->b->insns[a - 1].dead)
            return fail(c, i, "operand v%u was removed", a);
        if (!type_ok(c->b->insns[a - 1].type))
            return fail(c, i, "operand v%u has no value", a);
    }
    return true;
}

static bool check_arith(struct vctx *c, uint32_t i, const struct ir_insn *in)
{
    const struct ir_block *b = c->b;
    unsigned t0 = ty(b, in->arg[0]), t1 = ty(b, in->arg[1]);
    switch (in->op) {
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_UMULH: case IR_SMULH: case IR_UDIV: case IR_SDIV:
    case IR_UREM: case IR_SREM: case IR_AND: case IR_OR: case IR_XOR:
        if (t0 != t1 || in->type != t0)
            return fail(c, i, "%s operands must share the result type", ir_op_info[in->op].name);
        return true;
    case IR_EQ: case IR_NE: case IR_ULT: case IR_ULE: case IR_SLT: case IR_SLE:
        if (t0 != t1 || in->type != IR_I1)
            return fail(c, i, "comparison of different types");
        return true;
    case IR_SHL: case IR_LSHR: case IR_ASHR: case IR_ROTL: case IR_ROTR:
    case IR_NOT: case IR_NEG: case IR_CLZ: case IR_CTZ: case IR_POPCNT: case IR_BITREV:
        if (in->type != t0)
            return fail(c, i, "result type differs from operand");
        return true;
    case IR_BSWAP:
        if (in->type != t0 || t0 < IR_I16)
            return fail(c, i, "bswap needs a type of 16 bits or more");
        return true;
    default:
        return true;
    }
}

/* Integer vectors: i128 operands (a shift's count excepted), a lane width of 8, 16,
 * 32 or 64 bits in imm (VSHUF: byte indexes there instead; VTBL: bytes only), an
 * i128 result but for VMSB, whose result holds a bit per lane. */
static bool check_vector(struct vctx *c, uint32_t i, const struct ir_insn *in)
{
    const struct ir_block *b = c->b;
    unsigned t0 = ty(b, in->arg[0]), t1 = ty(b, in->arg[1]);
    bool shift = in->op == IR_VSHL || in->op == IR_VLSHR || in->op == IR_VASHR;
    if (t0 != IR_I128 || (ir_op_info[in->op].nargs > 1 && !shift && t1 != IR_I128))
        return fail(c, i, "%s takes i128 vectors", ir_op_info[in->op].name);
    if (in->op == IR_VSHUF)
        return true;
    if (in->imm != 8 && in->imm != 16 && in->imm != 32 && in->imm != 64)
        return fail(c, i, "%s lane width %llu is not 8, 16, 32 or 64", ir_op_info[in->op].name,
                    (unsigned long long)in->imm);
    if (in->op == IR_VTBL && in->imm != 8)
        return fail(c, i, "vtbl works on bytes");
    if (in->op == IR_VMSB ? in->type < 128u / in->imm : in->type != IR_I128)
        return fail(c, i, "%s has a result type too narrow", ir_op_info[in->op].name);
    return true;
}

static bool check_values(struct vctx *c, uint32_t i, const struct ir_insn *in)
{
    const struct ir_block *b = c->b;
    unsigned t0 = ty(b, in->arg[0]), t1 = ty(b, in->arg[1]), t2 = ty(b, in->arg[2]);
    switch (in->op) {
    case IR_CONST:
    case IR_GET:
        return true;
    case IR_SELECT:
        if (t0 != IR_I1 || t1 != t2 || in->type != t1)
            return fail(c, i, "select needs an i1 condition and two values of the result type");
        return true;
    case IR_ZEXT: case IR_SEXT:
        if (in->type <= t0)
            return fail(c, i, "extension must widen");
        return true;
    case IR_TRUNC:
        if (in->type >= t0)
            return fail(c, i, "trunc must narrow");
        return true;
    case IR_EXTRACT:
        if (in->imm >= t0 || in->imm + in->type > t0)
            return fail(c, i, "extract of bits beyond the operand");
        return true;
    case IR_INSERT:
        if (in->imm >= t0 || in->imm + t1 > t0 || in->type != t0)
            return fail(c, i, "insert of bits beyond the operand");
        return true;
    default:
        return ir_op_is_vector(in->op) ? check_vector(c, i, in) : check_arith(c, i, in);
    }
}

static bool check_memory(struct vctx *c, uint32_t i, const struct ir_insn *in)
{
    const struct ir_block *b = c->b;
    unsigned t0 = ty(b, in->arg[0]), t1 = ty(b, in->arg[1]), t2 = ty(b, in->arg[2]);
    unsigned bits = (unsigned)(in->imm & IR_MEM_SIZE_MASK) * 8;
    if (!mem_size_ok(in->imm))
        return fail(c, i, "access size must be 1, 2, 4, 8 or 16 bytes");
    if (t0 != IR_I64)
        return fail(c, i, "addresses are i64");
    switch (in->op) {
    case IR_LOAD:
        if (bits > in->type)
            return fail(c, i, "load wider than its result");
        return true;
    case IR_STORE:
        if (bits > t1)
            return fail(c, i, "store wider than its value");
        return true;
    case IR_CMPXCHG:
        if (t1 != t2 || in->type != t1 || bits != t1)
            return fail(c, i, "cmpxchg values must match the access size");
        return true;
    case IR_ATOMIC_RMW:
        if (in->type != t1 || bits != t1 || in->imm2 > IR_RMW_UMIN)
            return fail(c, i, "bad atomic rmw");
        return true;
    default:
        return true;
    }
}

static bool check_control(struct vctx *c, uint32_t i, const struct ir_insn *in)
{
    const struct ir_block *b = c->b;
    switch (in->op) {
    case IR_EXIT_IF: case IR_BRANCH: case IR_TRAP_IF:
        if (ty(b, in->arg[0]) != IR_I1)
            return fail(c, i, "branch condition must be i1");
        return true;
    case IR_JUMP_IND:
        if (ty(b, in->arg[0]) != IR_I64)
            return fail(c, i, "indirect target must be i64");
        return true;
    case IR_STOP:
        if (in->imm < IR_STOP_EXCEPTION || in->imm > IR_STOP_HALT)
            return fail(c, i, "unknown stop reason %llu", (unsigned long long)in->imm);
        return true;
    case IR_CALL:
        if (!ir_helper_get((uint32_t)in->imm))
            return fail(c, i, "call of unregistered helper %llu", (unsigned long long)in->imm);
        return true;
    case IR_INSN_START:
        if (in->imm2 == 0)
            return fail(c, i, "instruction of length 0");
        return true;
    default:
        return true;
    }
}

static bool check_one(struct vctx *c, uint32_t i, bool *seen_start)
{
    const struct ir_insn *in = &c->b->insns[i];
    if (in->op >= IR_OP_COUNT)
        return fail(c, i, "unknown op %u", in->op);
    const struct ir_op_info *oi = &ir_op_info[in->op];
    if (!check_operands(c, i))
        return false;
    if (oi->result == IR_RES_NONE ? in->type != IR_VOID
                                  : (!type_ok(in->type) && !(in->op == IR_CALL && in->type == IR_VOID)))
        return fail(c, i, "%s has a bad result type %u", oi->name, in->type);
    if (in->op == IR_INSN_START)
        *seen_start = true;
    if ((oi->effects & (IR_EFF_MAY_FAULT | IR_EFF_EXIT | IR_EFF_CALL)) && !*seen_start)
        return fail(c, i, "%s before the first insn_start", oi->name);
    if (oi->effects & (IR_EFF_MEM_READ | IR_EFF_MEM_WRITE))
        return check_memory(c, i, in);
    if (oi->effects & (IR_EFF_EXIT | IR_EFF_CALL | IR_EFF_ORDER))
        return check_control(c, i, in);
    return check_values(c, i, in);
}

bool ir_verify(const struct ir_block *b, char *err, size_t errlen)
{
    struct vctx c = { b, err, errlen };
    if (err && errlen)
        err[0] = 0;
    if (b->failed)
        return fail(&c, b->count, "block building failed (out of memory or too long)");
    bool seen_start = false;
    uint32_t last = UINT32_MAX;
    for (uint32_t i = 0; i < b->count; i++) {
        if (b->insns[i].dead)
            continue;
        if (last != UINT32_MAX && (ir_op_info[b->insns[last].op].effects & IR_EFF_TERM))
            return fail(&c, i, "instruction after the terminator");
        if (!check_one(&c, i, &seen_start))
            return false;
        last = i;
    }
    if (last == UINT32_MAX || !(ir_op_info[b->insns[last].op].effects & IR_EFF_TERM))
        return fail(&c, b->count, "block does not end with a terminator");
    return true;
}
