/* x87_exec.h - what the x87 helper's parts share: the state of one executing
 * instruction and the operand/status steps (x87_exec.c), used by the math
 * (x87_math.c) and control/environment (x87_ctrl.c) instructions. */
#ifndef ANYHV_FRONTENDS_X86_64_X87_EXEC_H
#define ANYHV_FRONTENDS_X86_64_X87_EXEC_H

#include "frontends/x86_64/x87.h"

struct x87 {
    struct soft_cpu *cpu;
    struct x86_state *st;
    struct x86_fpu *f;
    uint64_t d;                      /* descriptor (x87.h X87_D_*) */
    uint64_t addr;                   /* linear address of the memory operand */
    struct fx80_env env;             /* from FCW; collects the raised flags */
    struct fx80_env conv;            /* a memory operand's conversion, merged after the NaN check */
    bool sf;                         /* stack fault */
    bool c1;                         /* C1 to commit */
};

void x87_mem_read(struct x87 *x, void *buf, unsigned n);
void x87_mem_write(struct x87 *x, const void *buf, unsigned n);
bool x87_stack_fault(struct x87 *x, bool overflow);
bool x87_suppressed(const struct x87 *x);
void x87_commit_status(struct x87 *x);

/* x87_math.c */
void x87_op_unary(struct x87 *x);        /* FSQRT FRNDINT F2XM1 FCHS FABS */
void x87_op_trig(struct x87 *x);         /* FSIN FCOS FPTAN FSINCOS */
void x87_op_binary(struct x87 *x);       /* FSCALE FPREM FPREM1 FPATAN FYL2X FYL2XP1 */
void x87_op_xtract(struct x87 *x);
/* x87_ctrl.c */
void x87_op_stack(struct x87 *x);        /* FFREE FFREEP FINCSTP FDECSTP FNOP FWAIT */
void x87_op_control(struct x87 *x);      /* FLDCW FNSTCW FNSTSW FNCLEX FNINIT */
void x87_op_env(struct x87 *x);          /* FLDENV FNSTENV FNSAVE FRSTOR */

#endif /* ANYHV_FRONTENDS_X86_64_X87_EXEC_H */
