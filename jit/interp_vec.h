/* interp_vec.h - the interpreter's integer vector ops (ir_ops.def, "Integer
 * vectors"): one pure function per op on the operands' values, its lane width (imm)
 * and imm2. interp.c calls them from its dispatch; they are the ops' reference. */
#ifndef ANYHV_JIT_INTERP_VEC_H
#define ANYHV_JIT_INTERP_VEC_H

#include "jit/ir.h"

#define IR_OP(name, result, nargs, effects)
#define IR_VOP(name, result, nargs) ir_u128 ivec_##name(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2);
#include "jit/ir_ops.def"
#undef IR_VOP
#undef IR_OP

#endif /* ANYHV_JIT_INTERP_VEC_H */
