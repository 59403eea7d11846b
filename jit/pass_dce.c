/* pass_dce.c - dead code elimination: an instruction stays if it has an effect
 * (state write, memory, may fault, ordering, exit, an impure helper) or a live
 * instruction uses its value. Also ir_optimize, the pass pipeline. */
#include <stdlib.h>

#include "jit/ir.h"

static bool is_root(const struct ir_insn *in)
{
    uint32_t eff = ir_op_info[in->op].effects;
    if (in->op == IR_CALL) {
        const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
        return !h || h->flags != IR_HELPER_PURE;
    }
    return (eff & ~(uint32_t)IR_EFF_READ_STATE) != 0;
}

void ir_pass_dead_code(struct ir_block *b)
{
    uint8_t *live = calloc(b->count + 1, 1);
    if (!live)
        return;
    for (uint32_t i = b->count; i > 0; i--) {
        struct ir_insn *in = &b->insns[i - 1];
        if (in->dead)
            continue;
        if (!live[i] && !is_root(in))
            continue;
        live[i] = 1;
        for (unsigned k = 0; k < 3; k++)
            if (in->arg[k])
                live[in->arg[k]] = 1;
    }
    for (uint32_t i = 1; i <= b->count; i++)
        if (!live[i])
            b->insns[i - 1].dead = 1;
    free(live);
}

void ir_optimize(struct ir_block *b, const uint32_t *flag_offsets, size_t n)
{
    if (b->failed)
        return;
    /* Forwarding exposes constants, folding exposes dead values; flags are a subset
     * of all state writes, so the general dead-write rule covers them. */
    (void)flag_offsets;
    (void)n;
    ir_pass_forward_state(b);
    ir_pass_const_fold(b);
    ir_pass_dead_sets(b);
    ir_pass_dead_code(b);
}
