/* pass_forward.c - get/set forwarding (placeholder until the pass lands). */
#include "jit/ir.h"

void ir_pass_forward_state(struct ir_block *b)
{
    (void)b;
}
