/* pass_flags.c - dead flag elimination (placeholder until the pass lands). */
#include "jit/ir.h"

void ir_pass_dead_flags(struct ir_block *b, const uint32_t *flag_offsets, size_t n)
{
    (void)b;
    (void)flag_offsets;
    (void)n;
}
