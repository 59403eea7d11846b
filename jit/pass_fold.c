/* pass_fold.c - constant folding (placeholder until the pass lands). */
#include "jit/ir.h"

void ir_pass_const_fold(struct ir_block *b)
{
    (void)b;
}
