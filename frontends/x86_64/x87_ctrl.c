/* x87_ctrl.c - the x87 instructions that manage the unit rather than compute:
 * FFREE/FFREEP, FINCSTP/FDECSTP, FNOP/FWAIT, the control and status words (FLDCW,
 * FNSTCW, FNSTSW, FNCLEX, FNINIT) and the environment and full-state images
 * (FLDENV, FNSTENV, FNSAVE, FRSTOR; layouts in x87_env.c). */
#include <string.h>

#include "frontends/x86_64/x87_exec.h"

#define ST_IMAGE_BYTES 10u
#define NREGS 8u
#define SAVE_MAX (28u + NREGS * ST_IMAGE_BYTES)

void x87_op_stack(struct x87 *x)
{
    switch (X87_D_OP(x->d)) {
    case X87_FREE:
        x87_free(x->f, X87_D_STI(x->d));
        if (X87_D_FLAGS(x->d) & X87_FL_POP)
            x87_pop(x->f);
        x87_commit_status(x);   /* C1 = 0, as the processor leaves it */
        break;
    case X87_INCSTP:
        x87_rotate(x->f, 1);
        x87_commit_status(x);
        break;
    case X87_DECSTP:
        x87_rotate(x->f, -1);
        x87_commit_status(x);
        break;
    default:   /* FNOP, FWAIT: the pending-exception check was all */
        break;
    }
}

void x87_op_control(struct x87 *x)
{
    struct x86_fpu *f = x->f;
    uint16_t v;
    switch (X87_D_OP(x->d)) {
    case X87_LDCW:
        x87_mem_read(x, &v, 2);
        f->fcw = (uint16_t)((v & X87_FCW_WRITABLE) | X87_FCW_RESERVED1);
        x87_update_summary(f);
        break;
    case X87_STCW:
        x87_mem_write(x, &f->fcw, 2);
        break;
    case X87_STSW:
        if (X87_D_FMT(x->d) == X87_F_AX)
            x->st->gpr[X86_RAX] = (x->st->gpr[X86_RAX] & ~0xffffull) | f->fsw;
        else
            x87_mem_write(x, &f->fsw, 2);
        break;
    case X87_CLEX:
        f->fsw &= (uint16_t)~(X87_FSW_EXC | X87_FSW_SF | X87_FSW_ES | X87_FSW_B);
        break;
    default:   /* X87_INIT */
        x87_init(x->st);
        break;
    }
}

void x87_op_env(struct x87 *x)
{
    bool o16 = (x->d & X87_D_OPSIZE16) != 0;
    unsigned env = x87_env_size(o16), total = env + NREGS * ST_IMAGE_BYTES;
    uint8_t buf[SAVE_MAX];
    switch (X87_D_OP(x->d)) {
    case X87_STENV:
        x87_env_store(x->st, o16, buf);
        x87_mem_write(x, buf, env);
        x->f->fcw |= X87_FCW_MASKS;   /* FNSTENV masks every exception after storing */
        x87_update_summary(x->f);
        break;
    case X87_LDENV:
        x87_mem_read(x, buf, env);
        x87_env_load(x->st, o16, buf);
        break;
    case X87_SAVE:
        x87_env_store(x->st, o16, buf);
        for (unsigned i = 0; i < NREGS; i++)
            x87_write80(buf + env + ST_IMAGE_BYTES * i, x87_get(x->f, i));
        x87_mem_write(x, buf, total);
        x87_init(x->st);
        break;
    default:   /* X87_RSTOR */
        x87_mem_read(x, buf, total);
        x87_env_load(x->st, o16, buf);
        for (unsigned i = 0; i < NREGS; i++) {
            memset(x->f->st[i], 0, sizeof(x->f->st[i]));
            x87_write80(x->f->st[i], x87_read80(buf + env + ST_IMAGE_BYTES * i));
        }
        break;
    }
}
