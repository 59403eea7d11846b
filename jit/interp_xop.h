/* interp_xop.h - what the interpreter dispatches on past enum interp_op: the forms
 * that step over the marker after them or work on the low word only. Private to the
 * interpreter and its native form (interp.c, interp_x64.c). */
#ifndef ANYHV_JIT_INTERP_XOP_H
#define ANYHV_JIT_INTERP_XOP_H

#include "jit/interp.h"

enum interp_xop {
    XI_BASE = IX_OP_COUNT - 1,
    XI_SET64_NEXT,
    XI_SET_NEXT,
    XI_STORE_NEXT,
    XI_EQ64,
    XI_NE64,
    XI_ULT64,
    XI_ULE64,
    XI_SLT64,
    XI_SLE64,
    XI_SHL64,
    XI_LSHR64,
    XI_ASHR64,
    XI_MOV64,
    XI_MASK64,
    XI_EXTRACT64,
    XI_NOT64,
    XI_SELECT64,
    XI_INSERT64,
    XI_INSERT64X4,
    XI_COUNT
};

struct ictx;
/* One dispatch entry run out of line: 0 to go on, else what interp_run returns
 * (1 a block exit, 2 a stop). */
typedef int (*interp_step_fn)(struct ictx *c, const struct interp_insn *in);
/* Every xop's handler, and how many instructions it steps over. */
extern const interp_step_fn interp_outline[XI_COUNT];
extern const uint8_t interp_steps[XI_COUNT];

#endif /* ANYHV_JIT_INTERP_XOP_H */
