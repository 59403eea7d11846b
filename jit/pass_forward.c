/* pass_forward.c - guest-state get/set forwarding inside a block: a GET of state the
 * block already set (or got) with the same offset and width uses that value, and a
 * SET of the value the state is known to hold is dropped. Nothing moves, so state
 * stays precise wherever the block can fault or exit. Helpers that write state
 * forget everything known. */
#include <stdlib.h>

#include "jit/ir.h"

#define FWD_MAX_KNOWN 64u

struct known {
    uint32_t off, bytes;
    uint8_t type;
    ir_val value;
};

struct fwd {
    struct known k[FWD_MAX_KNOWN];
    uint32_t n;
};

static uint32_t bytes_of(unsigned type)
{
    return type <= 8 ? 1u : type / 8u;
}

static bool overlaps(const struct known *k, uint32_t off, uint32_t bytes)
{
    return off < k->off + k->bytes && k->off < off + bytes;
}

static void forget_range(struct fwd *f, uint32_t off, uint32_t bytes)
{
    for (uint32_t i = 0; i < f->n;)
        if (overlaps(&f->k[i], off, bytes))
            f->k[i] = f->k[--f->n];
        else
            i++;
}

static struct known *find(struct fwd *f, uint32_t off, unsigned type)
{
    for (uint32_t i = 0; i < f->n; i++)
        if (f->k[i].off == off && f->k[i].type == type)
            return &f->k[i];
    return NULL;
}

static void remember(struct fwd *f, uint32_t off, unsigned type, ir_val v)
{
    if (f->n == FWD_MAX_KNOWN)
        f->k[0] = f->k[--f->n];   /* forget one; correctness never depends on it */
    f->k[f->n++] = (struct known){ off, bytes_of(type), (uint8_t)type, v };
}

static bool writes_state(const struct ir_insn *in)
{
    if (in->op != IR_CALL)
        return false;
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
    return !h || (h->flags & IR_HELPER_WRITES_STATE);
}

void ir_pass_forward_state(struct ir_block *b)
{
    struct fwd f = { .n = 0 };
    ir_val *repl = calloc(b->count + 1, sizeof(ir_val));
    if (!repl)
        return;
    for (uint32_t i = 0; i < b->count; i++) {
        struct ir_insn *in = &b->insns[i];
        if (in->dead)
            continue;
        for (unsigned k = 0; k < 3; k++)
            if (in->arg[k] && repl[in->arg[k]])
                in->arg[k] = repl[in->arg[k]];
        uint32_t off = (uint32_t)in->imm;
        if (in->op == IR_GET) {
            struct known *k = find(&f, off, in->type);
            if (k) {
                repl[i + 1] = k->value;
                in->dead = 1;
            } else {
                remember(&f, off, in->type, i + 1);
            }
        } else if (in->op == IR_SET) {
            unsigned type = b->insns[in->arg[0] - 1].type;
            struct known *k = find(&f, off, type);
            /* The state already holds this value - unless it came from an i1 GET,
             * which reads bit 0 of a byte the SET would normalise to 0/1. */
            if (k && k->value == in->arg[0] && !(type == IR_I1 && b->insns[k->value - 1].op == IR_GET)) {
                in->dead = 1;
                continue;
            }
            forget_range(&f, off, bytes_of(type));
            remember(&f, off, type, in->arg[0]);
        } else if (writes_state(in)) {
            f.n = 0;
        }
    }
    free(repl);
}
