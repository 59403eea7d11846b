/* x87_math.c - the x87 instructions that compute on the register stack alone:
 * FSQRT/FRNDINT/F2XM1/FCHS/FABS on ST(0), the trigonometric group (with C2 for an
 * operand out of range and the extra push of FPTAN/FSINCOS), the ST(0)/ST(1) pairs
 * (FSCALE, FPREM/FPREM1 with their quotient bits, FPATAN/FYL2X/FYL2XP1 which pop)
 * and FXTRACT. The values come from fx80.h. */
#include "frontends/x86_64/x87_exec.h"

static void set_c2(struct x86_fpu *f, bool on)
{
    f->fsw = (uint16_t)((f->fsw & ~X87_FSW_C2) | (on ? X87_FSW_C2 : 0));
}

void x87_op_unary(struct x87 *x)
{
    unsigned op = X87_D_OP(x->d);
    fx80 a = x87_get(x->f, 0), r;
    if (x87_empty(x->f, 0)) {
        if (x87_stack_fault(x, false))
            x87_set(x->f, 0, fx80_indefinite());
        x87_commit_status(x);
        return;
    }
    switch (op) {
    case X87_SQRT: r = fx80_sqrt(a, &x->env); break;
    case X87_RNDINT: r = fx80_round_int(a, &x->env); break;
    case X87_F2XM1: r = fx80_exp2m1(a, &x->env); break;
    case X87_CHS: r = (fx80){ a.mant, (uint16_t)(a.se ^ FX80_SIGN) }; break;
    default: r = (fx80){ a.mant, (uint16_t)(a.se & ~FX80_SIGN) }; break;   /* X87_ABS */
    }
    x->c1 = x->env.round_up;
    if (!x87_suppressed(x))
        x87_set(x->f, 0, r);
    x87_commit_status(x);
}

/* FSIN, FCOS, FPTAN (ST(0) = tan, push 1), FSINCOS (ST(0) = sin, push cos). */
void x87_op_trig(struct x87 *x)
{
    unsigned op = X87_D_OP(x->d);
    bool pushes = op == X87_PTAN || op == X87_SINCOS;
    bool under = x87_empty(x->f, 0), over = !under && pushes && !x87_empty(x->f, 7);
    if (under || over) {
        if (x87_stack_fault(x, over)) {
            x87_set(x->f, 0, fx80_indefinite());
            if (pushes)
                x87_push(x->f, fx80_indefinite());
        }
        set_c2(x->f, false);
        x87_commit_status(x);
        return;
    }
    fx80 a = x87_get(x->f, 0), r, r2 = { 0, 0 };
    bool oor = false;
    switch (op) {
    case X87_SIN: r = fx80_sin(a, &oor, &x->env); break;
    case X87_COS: r = fx80_cos(a, &oor, &x->env); break;
    case X87_PTAN:
        r = fx80_tan(a, &oor, &x->env);
        /* 1.0 is pushed after a value; a NaN result is pushed twice (measured). */
        r2 = fx80_classify(r) == FX80_CLASS_NAN ? r : fx80_constant(FX80_ONE, &x->env);
        break;
    default:   /* X87_SINCOS */
        r = fx80_sin(a, &oor, &x->env);
        if (!oor)
            r2 = fx80_cos(a, &oor, &x->env);
        break;
    }
    x->c1 = x->env.round_up;
    if (!oor && !x87_suppressed(x)) {
        x87_set(x->f, 0, r);
        if (pushes)
            x87_push(x->f, r2);
    }
    set_c2(x->f, oor);
    x87_commit_status(x);
}

/* Quotient bits of FPREM/FPREM1: C0 = Q2, C3 = Q1, C1 = Q0; C2 = incomplete. */
static void prem_cc(struct x87 *x, unsigned q, bool partial)
{
    x87_set_cc(x->f, ((q & 4u) ? X87_FSW_C0 : 0) | ((q & 2u) ? X87_FSW_C3 : 0) | (partial ? X87_FSW_C2 : 0));
    x->c1 = (q & 1u) != 0;
}

void x87_op_binary(struct x87 *x)
{
    unsigned op = X87_D_OP(x->d);
    bool to_st1 = op == X87_PATAN || op == X87_YL2X || op == X87_YL2XP1;
    fx80 a = x87_get(x->f, 0), b = x87_get(x->f, 1), r;
    unsigned q = 0;
    bool partial = false;
    if (x87_empty(x->f, 0) || x87_empty(x->f, 1)) {
        x87_stack_fault(x, false);
        r = fx80_indefinite();
    } else {
        switch (op) {
        case X87_SCALE: r = fx80_scale(a, b, &x->env); break;
        case X87_PREM: r = fx80_rem(a, b, false, &q, &partial, &x->env); break;
        case X87_PREM1: r = fx80_rem(a, b, true, &q, &partial, &x->env); break;
        case X87_PATAN: r = fx80_atan2(b, a, &x->env); break;
        case X87_YL2X: r = fx80_ylog2x(b, a, &x->env); break;
        default: r = fx80_ylog2xp1(b, a, &x->env); break;   /* X87_YL2XP1 */
        }
        x->c1 = x->env.round_up;
    }
    if (op == X87_PREM || op == X87_PREM1) {
        if (fx80_classify(r) != FX80_CLASS_NAN && !x87_suppressed(x))
            prem_cc(x, q, partial);
        else   /* no quotient (NaN, invalid, stack fault): C0 and C3 stay, C2 = C1 = 0 */
            set_c2(x->f, false);
    }
    if (x87_suppressed(x))
        goto done;
    x87_set(x->f, to_st1 ? 1 : 0, r);
    if (to_st1)
        x87_pop(x->f);
done:
    x87_commit_status(x);
}

/* FXTRACT: ST(0) = exponent, then push the significand. */
void x87_op_xtract(struct x87 *x)
{
    bool under = x87_empty(x->f, 0), over = !under && !x87_empty(x->f, 7);
    fx80 e = fx80_indefinite(), s = fx80_indefinite();
    if (under || over) {
        if (!x87_stack_fault(x, over))
            goto done;
    } else {
        fx80_xtract(x87_get(x->f, 0), &e, &s, &x->env);
        x->c1 = x->env.round_up;
    }
    if (!x87_suppressed(x)) {
        x87_set(x->f, 0, e);
        x87_push(x->f, s);
    }
done:
    x87_commit_status(x);
}
