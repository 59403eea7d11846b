/* prog_bits.c - which bits of a state field a block's writes can change, followed
 * through the forms frontends build flag updates from. The dispatcher uses it to tell
 * plain writes (chaining stays safe), the compiled tier to keep a field's unchanging
 * bits out of loop-carried values. */
#include "jit/interp.h"

#include <stdlib.h>

/* Selects nested this deep give up (each one walks both sides). Chains of INSERT and
 * AND/OR are followed in a loop: a block updating the flags ten times has forty
 * inserts in a row, and a depth bound on those made every third CCMP unchainable. */
#define PROG_BITS_SELECT_DEPTH 8u

static uint64_t changed(const struct interp_prog *p, const uint32_t *def, uint32_t slot, uint64_t off, unsigned w,
                        unsigned depth, uint32_t below)
{
    uint64_t bits = 0;
    /* Each def lies before its use, so the walk goes strictly back and ends (checked:
     * a program that broke the rule would make it loop). */
    for (;;) {
        if (!def[slot] || def[slot] >= below)
            return ~0ull;
        below = def[slot];
        const struct interp_insn *d = &p->code[def[slot] - 1];
        switch (d->op) {
        case IR_GET:
        case IX_GET64:
            return d->imm == off && d->w == w ? bits : ~0ull;
        case IR_INSERT: {
            unsigned fw = (unsigned)d->imm2;
            if (d->imm >= 64)
                return ~0ull;
            bits |= (fw >= 64 ? ~0ull : (1ull << fw) - 1) << d->imm;
            slot = d->a;
            break;
        }
        case IR_SELECT:
            if (depth >= PROG_BITS_SELECT_DEPTH)
                return ~0ull;
            return bits | changed(p, def, d->b, off, w, depth + 1, below) |
                   changed(p, def, d->c, off, w, depth + 1, below);
        case IR_AND:
        case IX_AND64:
        case IR_OR:
        case IX_OR64: {
            bool and = d->op == IR_AND || d->op == IX_AND64;
            uint32_t var = p->is_const[d->b] ? d->a : d->b, k = p->is_const[d->b] ? d->b : d->a;
            if (!p->is_const[k])
                return ~0ull;
            uint64_t kv = (uint64_t)p->vals[k];
            bits |= and ? ~kv : kv;
            slot = var;
            break;
        }
        default:
            return ~0ull;
        }
    }
}

uint64_t interp_changed_bits(const struct interp_prog *p, const uint32_t *def, uint32_t slot, uint64_t off,
                             unsigned w)
{
    return changed(p, def, slot, off, w, 0, UINT32_MAX);
}

uint32_t *interp_defs(const struct interp_prog *p)
{
    uint32_t *def = calloc(p->nvals ? p->nvals : 1, sizeof(*def));
    if (!def)
        return NULL;
    for (uint32_t i = 0; i < p->count; i++)
        if (p->code[i].dst)
            def[p->code[i].dst] = i + 1;
    return def;
}
