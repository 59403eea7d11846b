/* pass_fold.c - constant folding and the algebraic identities frontends produce
 * most (x+0, x&~0, shifts by 0, x^x ...), plus constant branch conditions. Pure ops
 * on constants are evaluated by the interpreter's own code (interp_eval_pure), so a
 * folded block always computes what the unfolded one would. */
#include <stdlib.h>

#include "jit/interp.h"

struct fold {
    struct ir_block *b;
    ir_val *repl;          /* value -> the value that replaces it (0: itself) */
};

static bool is_const(const struct ir_block *b, ir_val v, ir_u128 *out)
{
    const struct ir_insn *in = &b->insns[v - 1];
    if (in->op != IR_CONST)
        return false;
    *out = (ir_u128)in->imm | ((ir_u128)in->imm2 << 64);
    return true;
}

static ir_u128 all_ones(unsigned w)
{
    return w >= 128 ? ~(ir_u128)0 : (((ir_u128)1 << w) - 1);
}

static void make_const(struct ir_insn *in, ir_u128 v)
{
    in->op = IR_CONST;
    in->arg[0] = in->arg[1] = in->arg[2] = 0;
    in->imm = (uint64_t)v;
    in->imm2 = (uint64_t)(v >> 64);
}

static void replace(struct fold *f, uint32_t idx, ir_val with)
{
    f->repl[idx + 1] = with;
    f->b->insns[idx].dead = 1;
}

/* An identity with one constant operand; true if the instruction was rewritten. */
static bool identity(struct fold *f, uint32_t idx)
{
    struct ir_insn *in = &f->b->insns[idx];
    ir_val x = in->arg[0], y = in->arg[1];
    ir_u128 k;
    bool ky = y && is_const(f->b, y, &k);
    if (x && x == y) {
        switch (in->op) {
        case IR_SUB: case IR_XOR: make_const(in, 0); return true;
        case IR_AND: case IR_OR: replace(f, idx, x); return true;
        case IR_EQ: case IR_ULE: case IR_SLE: make_const(in, 1); return true;
        case IR_NE: case IR_ULT: case IR_SLT: make_const(in, 0); return true;
        default: break;
        }
    }
    if (!ky) {
        ir_u128 kx;
        if (x && is_const(f->b, x, &kx) && kx == 0 &&
            (in->op == IR_ADD || in->op == IR_OR || in->op == IR_XOR)) {
            replace(f, idx, y);
            return true;
        }
        return false;
    }
    switch (in->op) {
    case IR_ADD: case IR_SUB: case IR_OR: case IR_XOR:
    case IR_SHL: case IR_LSHR: case IR_ASHR: case IR_ROTL: case IR_ROTR:
        if (k == 0) {
            replace(f, idx, x);
            return true;
        }
        return false;
    case IR_MUL: case IR_UDIV: case IR_SDIV:
        if (k == 1) {
            replace(f, idx, x);
            return true;
        }
        if (k == 0 && in->op == IR_MUL) {
            make_const(in, 0);
            return true;
        }
        return false;
    case IR_AND:
        if (k == 0) {
            make_const(in, 0);
            return true;
        }
        if (k == all_ones(in->type)) {
            replace(f, idx, x);
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* The value v if it is "zext i128 of an i64", else 0. */
static ir_val zext64_source(const struct ir_block *b, ir_val v)
{
    const struct ir_insn *in = &b->insns[v - 1];
    return (in->op == IR_ZEXT && in->type == IR_I128 && ir_type_of(b, in->arg[0]) == IR_I64) ? in->arg[0] : 0;
}

/* A removed instruction before idx, to recycle as a new constant: one an earlier
 * pass removed after rewriting its uses, not one this pass still maps (repl). */
static uint32_t free_slot_before(const struct fold *f, uint32_t idx)
{
    const struct ir_block *b = f->b;
    for (uint32_t j = idx; j > 0; j--)
        if (b->insns[j - 1].dead && !f->repl[j] && b->insns[j - 1].op != IR_INSN_START &&
            !(ir_op_info[b->insns[j - 1].op].effects & IR_EFF_TERM))
            return j - 1;
    return UINT32_MAX;
}

/* Rotates written as a 128-bit funnel, the way an A64 lifter writes ROR:
 *   extract.i64 (or (shl (zext a), 64), (zext a)), k   ==   rotr a, k
 * The 128-bit forms are the interpreter's slow path; the rotate is one fast op. */
static bool funnel_rotate(struct fold *f, uint32_t idx)
{
    struct ir_block *b = f->b;
    struct ir_insn *in = &b->insns[idx];
    if (in->op != IR_EXTRACT || in->type != IR_I64 || in->imm == 0 || in->imm >= 64)
        return false;
    const struct ir_insn *o = &b->insns[in->arg[0] - 1];
    if (o->op != IR_OR || o->type != IR_I128)
        return false;
    for (unsigned side = 0; side < 2; side++) {
        const struct ir_insn *sh = &b->insns[o->arg[side] - 1];
        ir_u128 k;
        if (sh->op != IR_SHL || !is_const(b, sh->arg[1], &k) || k != 64)
            continue;
        ir_val hi = zext64_source(b, sh->arg[0]), lo = zext64_source(b, o->arg[!side]);
        if (!hi || hi != lo)
            continue;
        uint32_t slot = free_slot_before(f, idx);
        if (slot == UINT32_MAX)
            return false;
        struct ir_insn *c = &b->insns[slot];
        *c = (struct ir_insn){ .op = IR_CONST, .type = IR_I64, .imm = in->imm };
        in->op = IR_ROTR;
        in->arg[0] = hi;
        in->arg[1] = slot + 1;
        in->imm = 0;
        return true;
    }
    return false;
}

/* Branches on constants: a never-taken side exit goes, an always-taken one becomes
 * the terminator (the rest of the block is unreachable). */
static void fold_control(struct fold *f, uint32_t idx)
{
    struct ir_block *b = f->b;
    struct ir_insn *in = &b->insns[idx];
    ir_u128 k;
    if (!in->arg[0] || !is_const(b, in->arg[0], &k))
        return;
    if (in->op == IR_TRAP_IF) {
        if (!(k & 1))
            in->dead = 1;   /* a guard that can never fire */
        return;
    }
    if (in->op == IR_BRANCH) {
        in->op = IR_JUMP;
        in->imm = (k & 1) ? in->imm : in->imm2;
        in->imm2 = 0;
        in->arg[0] = 0;
    } else if (in->op == IR_EXIT_IF) {
        if (!(k & 1)) {
            in->dead = 1;
            return;
        }
        in->op = IR_JUMP;
        in->arg[0] = 0;
        for (uint32_t j = idx + 1; j < b->count; j++)
            b->insns[j].dead = 1;
    }
}

void ir_pass_const_fold(struct ir_block *b)
{
    struct fold f = { b, calloc(b->count + 1, sizeof(ir_val)) };
    if (!f.repl)
        return;
    for (uint32_t i = 0; i < b->count; i++) {
        struct ir_insn *in = &b->insns[i];
        if (in->dead)
            continue;
        bool all_const = true;
        ir_u128 args[3] = { 0, 0, 0 };
        for (unsigned k = 0; k < 3; k++) {
            ir_val a = in->arg[k];
            if (!a)
                continue;
            if (f.repl[a])
                a = in->arg[k] = f.repl[a];
            all_const &= is_const(b, a, &args[k]);
        }
        uint32_t eff = ir_op_info[in->op].effects;
        if (eff == IR_EFF_NONE && in->op != IR_CONST) {
            ir_u128 v;
            if (all_const && ir_op_info[in->op].nargs && interp_eval_pure(b, in, args, &v))
                make_const(in, v);
            else if (in->op == IR_SELECT && in->arg[0] && is_const(b, in->arg[0], &args[0]))
                replace(&f, i, (args[0] & 1) ? in->arg[1] : in->arg[2]);
            else if (!funnel_rotate(&f, i))
                identity(&f, i);
        } else if (in->op == IR_EXIT_IF || in->op == IR_BRANCH || in->op == IR_TRAP_IF) {
            fold_control(&f, i);
        }
    }
    free(f.repl);
}
