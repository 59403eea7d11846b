/* pass_flags.c - dead state-write elimination, aimed at x86 flags: a SET whose bytes
 * are all written again later in the block, with no read of them (GET, a helper
 * reading state) and nothing that can fault or exit in between, is never observed
 * and goes; DCE then drops the flag computation feeding it. Every point where the
 * block can leave (fault, side exit, terminator, helper that may fault) sees exactly
 * the architectural state, so flags stay precise there. */
#include <stdlib.h>
#include <string.h>

#include "jit/ir.h"

#define DEAD_MAX_RANGES 64u

struct covered {
    uint32_t off[DEAD_MAX_RANGES], bytes[DEAD_MAX_RANGES];
    uint32_t n;
};

static uint32_t bytes_of(unsigned type)
{
    return type <= 8 ? 1u : type / 8u;
}

/* [off, off+bytes) lies inside one recorded range. Writes of one field always use
 * the same offset and width in practice, so one range suffices. */
static bool is_covered(const struct covered *c, uint32_t off, uint32_t bytes)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (off >= c->off[i] && off + bytes <= c->off[i] + c->bytes[i])
            return true;
    return false;
}

static void uncover(struct covered *c, uint32_t off, uint32_t bytes)
{
    for (uint32_t i = 0; i < c->n;) {
        if (off < c->off[i] + c->bytes[i] && c->off[i] < off + bytes) {
            c->off[i] = c->off[--c->n];
            c->bytes[i] = c->bytes[c->n];
        } else {
            i++;
        }
    }
}

static void cover(struct covered *c, uint32_t off, uint32_t bytes)
{
    if (c->n < DEAD_MAX_RANGES) {
        c->off[c->n] = off;
        c->bytes[c->n++] = bytes;
    }
}

/* Whether execution may leave the block here or the state may be read wholesale. */
static bool is_barrier(const struct ir_insn *in)
{
    uint32_t eff = ir_op_info[in->op].effects;
    if (in->op == IR_CALL) {
        const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
        return !h || (h->flags & (IR_HELPER_READS_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM));
    }
    return (eff & (IR_EFF_MAY_FAULT | IR_EFF_EXIT | IR_EFF_TERM)) != 0;
}

static bool selected(uint32_t off, const uint32_t *offs, size_t n)
{
    if (!offs)
        return true;
    for (size_t i = 0; i < n; i++)
        if (offs[i] == off)
            return true;
    return false;
}

static void dead_sets(struct ir_block *b, const uint32_t *offs, size_t n)
{
    struct covered c = { .n = 0 };
    for (uint32_t i = b->count; i > 0; i--) {
        struct ir_insn *in = &b->insns[i - 1];
        if (in->dead)
            continue;
        if (is_barrier(in)) {
            c.n = 0;
        } else if (in->op == IR_GET) {
            uncover(&c, (uint32_t)in->imm, bytes_of(in->type));
        } else if (in->op == IR_SET) {
            uint32_t off = (uint32_t)in->imm, bytes = bytes_of(b->insns[in->arg[0] - 1].type);
            if (!selected(off, offs, n))
                continue;
            if (is_covered(&c, off, bytes))
                in->dead = 1;
            else
                cover(&c, off, bytes);
        }
    }
}

void ir_pass_dead_flags(struct ir_block *b, const uint32_t *flag_offsets, size_t n)
{
    if (flag_offsets && n)
        dead_sets(b, flag_offsets, n);
}

void ir_pass_dead_sets(struct ir_block *b)
{
    dead_sets(b, NULL, 0);
}
