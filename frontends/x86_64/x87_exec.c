/* x87_exec.c - the one helper every x87 instruction calls: the #NM/#MF checks, the
 * operand fetch (memory through the soft MMU, so faults are precise: nothing is
 * committed before the last access that can fault), stack overflow and underflow
 * with their masked responses, the arithmetic through fx80.h, and the status word
 * (exception flags, C0-C3, ES/B) and FIP/FDP/FOP bookkeeping. Environment and
 * control instructions are in x87_ctrl.c, the math in x87_math.c. */
#include <string.h>

#include "frontends/x86_64/x87_exec.h"

/* ---- operands and status ---- */

void x87_mem_read(struct x87 *x, void *buf, unsigned n)
{
    mmu_read_bytes(x->cpu, x->addr, buf, n, MMU_READ, X87_D_SEG(x->d));
}

void x87_mem_write(struct x87 *x, const void *buf, unsigned n)
{
    mmu_write_bytes(x->cpu, x->addr, buf, n, MMU_WRITE, X87_D_SEG(x->d));
}

static int64_t read_int(struct x87 *x, unsigned n)
{
    uint8_t b[8] = { 0 };
    x87_mem_read(x, b, n);
    uint64_t v;
    memcpy(&v, b, 8);
    unsigned sh = 64 - 8 * n;
    return (int64_t)(v << sh) >> sh;
}

/* Conversions of memory operands raise into their own flags (merge_conversion). */
static struct fx80_env *conv_env(struct x87 *x)
{
    x->conv = x->env;
    x->conv.flags = 0;
    return &x->conv;
}

/* A signalling NaN from memory stays signalling for the instructions that combine
 * it with ST(0) (FADD m32 ..., FCOM m64 ...): the QNaN-over-SNaN and larger-
 * significand rules are then fx80's, with the IE it raises. FLD keeps the converted
 * (quieted) value and the conversion's IE. */
static fx80 resignal(struct x87 *x, fx80 v)
{
    if (X87_D_OP(x->d) == X87_LD || !(x->conv.flags & FX80_IE) || fx80_classify(v) != FX80_CLASS_NAN)
        return v;
    x->conv.flags &= (uint8_t)~FX80_IE;
    return (fx80){ v.mant & ~FX80_QUIET_BIT, v.se };
}

/* The source operand: ST(sti) or the memory value as fx80 (conversions raise their
 * own IE/DE into x->env). *empty reports a register operand that is empty. */
static fx80 operand(struct x87 *x, bool *empty)
{
    uint8_t b[10];
    *empty = false;
    switch (X87_D_FMT(x->d)) {
    case X87_F_ST:
        *empty = x87_empty(x->f, X87_D_STI(x->d));
        return x87_get(x->f, X87_D_STI(x->d));
    case X87_F_F32: {
        uint32_t v;
        x87_mem_read(x, &v, 4);
        return resignal(x, fx80_from_f32(v, conv_env(x)));
    }
    case X87_F_F64: {
        uint64_t v;
        x87_mem_read(x, &v, 8);
        return resignal(x, fx80_from_f64(v, conv_env(x)));
    }
    case X87_F_F80:
        x87_mem_read(x, b, 10);
        return x87_read80(b);
    case X87_F_I16:
        return fx80_from_i64(read_int(x, 2));
    case X87_F_I32:
        return fx80_from_i64(read_int(x, 4));
    case X87_F_I64:
        return fx80_from_i64(read_int(x, 8));
    case X87_F_BCD:
        x87_mem_read(x, b, 10);
        return fx80_from_bcd(b, &x->env);
    default:
        return fx80_indefinite();
    }
}

/* Stack overflow or underflow: IE with SF, C1 = overflow. True when IE is masked
 * (the instruction goes on with the QNaN indefinite as its value). */
bool x87_stack_fault(struct x87 *x, bool overflow)
{
    x->env.flags |= FX80_IE;
    x->sf = true;
    x->c1 = overflow;
    return (x->env.masks & FX80_IE) != 0;
}

/* An unmasked invalid, denormal or divide-by-zero exception (or what fx80 reports)
 * leaves the destination and the stack untouched. */
bool x87_suppressed(const struct x87 *x)
{
    return x->env.no_result || (x->env.flags & ~x->env.masks & (FX80_IE | FX80_DE | FX80_ZE));
}

/* Commit the status of a data instruction: sticky flags, SF, C1 and the summary. */
void x87_commit_status(struct x87 *x)
{
    struct x86_fpu *f = x->f;
    f->fsw |= (uint16_t)(x->env.flags & X87_FSW_EXC);
    if (x->sf)
        f->fsw |= X87_FSW_SF;
    f->fsw = (uint16_t)((f->fsw & ~X87_FSW_C1) | (x->c1 ? X87_FSW_C1 : 0));
    x87_update_summary(f);
}

/* Condition codes C3, C2, C0 for a comparison result. */
static unsigned cc_of(enum fx80_cmp r)
{
    static const uint16_t cc[4] = {
        [FX80_GT] = 0, [FX80_LT] = X87_FSW_C0, [FX80_EQ] = X87_FSW_C3,
        [FX80_UNORDERED] = X87_FSW_C3 | X87_FSW_C2 | X87_FSW_C0,
    };
    return cc[r];
}

static void pops(struct x87 *x)
{
    unsigned fl = X87_D_FLAGS(x->d);
    if (fl & (X87_FL_POP | X87_FL_POP2))
        x87_pop(x->f);
    if (fl & X87_FL_POP2)
        x87_pop(x->f);
}

/* ---- arithmetic and compares ---- */

/* A memory operand's conversion flags join the instruction's: its denormal
 * exception yields to a NaN or unsupported value on either side (the SDM's
 * priorities: invalid operands and QNaN operands outrank DE); its SNaN IE stays. False when an unmasked IE or DE from it stops
 * the operation before anything is computed (FLD loads a denormal anyway:
 * de_stops false). */
static bool merge_conversion(struct x87 *x, fx80 a, fx80 b, bool de_stops)
{
    uint8_t conv = x->conv.flags;
    x->conv.flags = 0;
    enum fx80_class ka = fx80_classify(a), kb = fx80_classify(b);
    if (ka == FX80_CLASS_NAN || kb == FX80_CLASS_NAN || ka == FX80_CLASS_UNSUPPORTED || kb == FX80_CLASS_UNSUPPORTED)
        conv &= (uint8_t)~FX80_DE;
    x->env.flags |= conv;
    if (conv & ~x->env.masks & (de_stops ? FX80_IE | FX80_DE : FX80_IE)) {
        x->env.no_result = true;
        return false;
    }
    return true;
}

static fx80 arith(unsigned op, fx80 a, fx80 b, struct fx80_env *env)
{
    switch (op) {
    case X87_ADD: return fx80_add(a, b, env);
    case X87_MUL: return fx80_mul(a, b, env);
    case X87_SUB: return fx80_sub(a, b, env);
    case X87_SUBR: return fx80_sub(b, a, env);
    case X87_DIV: return fx80_div(a, b, env);
    default: return fx80_div(b, a, env);   /* X87_DIVR */
    }
}

/* FADD/FSUB/FMUL/FDIV and their R, P and I forms: ST(0) op operand, into ST(0) or ST(i). */
static void op_arith(struct x87 *x)
{
    bool e_src, e0 = x87_empty(x->f, 0);
    fx80 b = operand(x, &e_src), a = x87_get(x->f, 0), r;
    unsigned op = X87_D_OP(x->d);
    if ((op == X87_DIV && fx80_classify(b) == FX80_CLASS_ZERO) || (op == X87_DIVR && fx80_classify(a) == FX80_CLASS_ZERO))
        x->conv.flags &= (uint8_t)~FX80_DE;   /* a zero divisor's ZE outranks a denormal dividend (measured) */
    if (e0 || e_src) {
        if (!x87_stack_fault(x, false))
            goto done;
        r = fx80_indefinite();
    } else if (!merge_conversion(x, a, b, true)) {
        goto done;
    } else {
        r = arith(op, a, b, &x->env);
        x->c1 = x->env.round_up;
    }
    if (!x87_suppressed(x)) {
        x87_set(x->f, (X87_D_FLAGS(x->d) & X87_FL_DEST_STI) ? X87_D_STI(x->d) : 0, r);
        pops(x);
    }
done:
    x87_commit_status(x);
}

/* FCOM/FCOMP/FCOMPP/FICOM/FICOMP/FUCOM/FUCOMP/FUCOMPP and FTST (operand +0). The
 * condition codes are written even when IE is unmasked (only the pops are not). */
static void op_com(struct x87 *x)
{
    bool e_src = false, e0 = x87_empty(x->f, 0);
    fx80 b = X87_D_OP(x->d) == X87_TST ? (fx80){ 0, 0 } : operand(x, &e_src), a = x87_get(x->f, 0);
    unsigned cc;
    if (e0 || e_src) {
        x87_stack_fault(x, false);
        cc = cc_of(FX80_UNORDERED);
    } else {
        merge_conversion(x, a, b, true);
        cc = cc_of(fx80_compare(a, b, (X87_D_FLAGS(x->d) & X87_FL_QUIET) != 0, &x->env));
    }
    x87_set_cc(x->f, cc);
    if (!x87_suppressed(x))
        pops(x);
    x87_commit_status(x);
}

/* FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF from the comparison (written even when
 * IE is unmasked); OF, SF, AF cleared; C1 is left alone unless the stack faults. */
static void op_comi(struct x87 *x)
{
    bool e_src, e0 = x87_empty(x->f, 0);
    fx80 b = operand(x, &e_src);
    enum fx80_cmp r;
    x->c1 = (x->f->fsw & X87_FSW_C1) != 0;
    if (e0 || e_src) {
        x87_stack_fault(x, false);
        r = FX80_UNORDERED;
    } else {
        merge_conversion(x, x87_get(x->f, 0), b, true);
        r = fx80_compare(x87_get(x->f, 0), b, (X87_D_FLAGS(x->d) & X87_FL_QUIET) != 0, &x->env);
    }
    struct x86_soft_flags *fl = &x->st->soft;
    fl->zf = r == FX80_EQ || r == FX80_UNORDERED;
    fl->pf = r == FX80_UNORDERED;
    fl->cf = r == FX80_LT || r == FX80_UNORDERED;
    fl->of = fl->sf = fl->af = 0;
    if (!x87_suppressed(x))
        pops(x);
    x87_commit_status(x);
}

/* FXAM: the class of ST(0) (empty included) in C3/C2/C0, its sign in C1; never faults. */
static void op_xam(struct x87 *x)
{
    fx80 v = x87_get(x->f, 0);
    enum fx80_class k = x87_empty(x->f, 0) ? FX80_CLASS_EMPTY : fx80_classify(v);
    unsigned cc = ((k & 1u) ? X87_FSW_C0 : 0) | ((k & 2u) ? X87_FSW_C2 : 0) | ((k & 4u) ? X87_FSW_C3 : 0) |
                  ((v.se & FX80_SIGN) ? X87_FSW_C1 : 0);
    x87_set_cc(x->f, cc);
}

/* ---- loads and stores ---- */

/* Push with the stack checks: an empty source (underflow) outranks a full stack. */
static void push_checked(struct x87 *x, fx80 v, bool src_empty)
{
    if (src_empty || !x87_empty(x->f, 7)) {
        if (!x87_stack_fault(x, !src_empty))
            return;
        v = fx80_indefinite();
    } else {
        merge_conversion(x, v, v, false);   /* a stack fault outranks a denormal operand */
    }
    /* An unmasked DE does not stop a load: the value is exact in 80 bits. */
    if (!x->env.no_result && !(x->env.flags & ~x->env.masks & FX80_IE))
        x87_push(x->f, v);
}

/* FLD (m32/m64/m80/ST(i)), FILD (m16/m32/m64), FBLD. */
static void op_ld(struct x87 *x)
{
    bool empty;
    fx80 v = operand(x, &empty);
    push_checked(x, v, empty);
    x87_commit_status(x);
}

/* FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ. */
static void op_ldconst(struct x87 *x)
{
    push_checked(x, fx80_constant((enum fx80_const)X87_D_AUX(x->d), &x->env), false);
    x87_commit_status(x);
}

/* The stored bytes of ST(0) in the memory format; false when nothing is stored. */
static unsigned convert_out(struct x87 *x, fx80 v, uint8_t out[10])
{
    bool trunc = (X87_D_FLAGS(x->d) & X87_FL_TRUNC) != 0;
    int64_t i;
    switch (X87_D_FMT(x->d)) {
    case X87_F_F32: {
        uint32_t b = fx80_to_f32(v, &x->env);
        memcpy(out, &b, 4);
        return 4;
    }
    case X87_F_F64: {
        uint64_t b = fx80_to_f64(v, &x->env);
        memcpy(out, &b, 8);
        return 8;
    }
    case X87_F_F80:
        x87_write80(out, v);
        return 10;
    case X87_F_I16:
        i = fx80_to_int(v, 16, trunc, &x->env);
        memcpy(out, &i, 2);
        return 2;
    case X87_F_I32:
        i = fx80_to_int(v, 32, trunc, &x->env);
        memcpy(out, &i, 4);
        return 4;
    case X87_F_I64:
        i = fx80_to_int(v, 64, trunc, &x->env);
        memcpy(out, &i, 8);
        return 8;
    case X87_F_BCD:
        fx80_to_bcd(v, out, &x->env);
        return 10;
    default:
        return 0;
    }
}

/* FST/FSTP (m32/m64/m80/ST(i)), FIST/FISTP/FISTTP, FBSTP. Memory is written before
 * any state changes, so a fault on the store leaves the FPU as it was. */
static void op_st(struct x87 *x)
{
    fx80 v = x87_get(x->f, 0);
    if (x87_empty(x->f, 0) && (X87_D_FLAGS(x->d) & X87_FL_NCE)) {
        x87_pop(x->f);
        goto done;
    }
    if (x87_empty(x->f, 0)) {
        if (!x87_stack_fault(x, false))
            goto done;
        v = fx80_indefinite();
    }
    if (X87_D_FMT(x->d) == X87_F_ST) {
        x87_set(x->f, X87_D_STI(x->d), v);
        pops(x);
        goto done;
    }
    uint8_t out[10];
    unsigned n = convert_out(x, v, out);
    if (!x->sf)
        x->c1 = x->env.round_up;
    if (x87_suppressed(x))
        goto done;
    x87_mem_write(x, out, n);
    pops(x);
done:
    x87_commit_status(x);
}

/* FXCH: underflow turns the empty side(s) into the indefinite when masked. */
static void op_xch(struct x87 *x)
{
    unsigned i = X87_D_STI(x->d);
    fx80 a = x87_get(x->f, 0), b = x87_get(x->f, i);
    if (x87_empty(x->f, 0) || x87_empty(x->f, i)) {
        if (!x87_stack_fault(x, false))
            goto done;
        if (x87_empty(x->f, 0))
            a = fx80_indefinite();
        if (x87_empty(x->f, i))
            b = fx80_indefinite();
    }
    x87_set(x->f, 0, b);
    x87_set(x->f, i, a);
done:
    x87_commit_status(x);
}

/* FCMOVcc: B, E, BE, U, NB, NE, NBE, NU (the aux field). A stack fault writes the
 * indefinite whatever the condition; C1 is kept otherwise. */
static void op_fcmov(struct x87 *x)
{
    x->c1 = (x->f->fsw & X87_FSW_C1) != 0;
    const struct x86_soft_flags *fl = &x->st->soft;
    unsigned cc = X87_D_AUX(x->d);
    bool t;
    switch (cc & 3u) {
    case 0: t = fl->cf; break;
    case 1: t = fl->zf; break;
    case 2: t = fl->cf || fl->zf; break;
    default: t = fl->pf; break;
    }
    if (cc & 4u)
        t = !t;
    unsigned i = X87_D_STI(x->d);
    fx80 v = x87_get(x->f, i);
    if (x87_empty(x->f, 0) || x87_empty(x->f, i)) {
        if (!x87_stack_fault(x, false))
            goto done;
        v = fx80_indefinite();
        t = true;
    }
    if (t)
        x87_set(x->f, 0, v);
done:
    x87_commit_status(x);
}

/* ---- the helper ---- */

static void (*const exec[X87_OP_COUNT])(struct x87 *) = {
    [X87_ADD] = op_arith, [X87_MUL] = op_arith, [X87_SUB] = op_arith, [X87_SUBR] = op_arith,
    [X87_DIV] = op_arith, [X87_DIVR] = op_arith, [X87_COM] = op_com, [X87_TST] = op_com,
    [X87_COMI] = op_comi, [X87_XAM] = op_xam, [X87_LD] = op_ld, [X87_LDCONST] = op_ldconst,
    [X87_ST] = op_st, [X87_XCH] = op_xch, [X87_FCMOV] = op_fcmov,
    [X87_SQRT] = x87_op_unary, [X87_RNDINT] = x87_op_unary, [X87_F2XM1] = x87_op_unary,
    [X87_CHS] = x87_op_unary, [X87_ABS] = x87_op_unary, [X87_SIN] = x87_op_trig, [X87_COS] = x87_op_trig,
    [X87_PTAN] = x87_op_trig, [X87_SINCOS] = x87_op_trig, [X87_SCALE] = x87_op_binary,
    [X87_PREM] = x87_op_binary, [X87_PREM1] = x87_op_binary, [X87_PATAN] = x87_op_binary,
    [X87_YL2X] = x87_op_binary, [X87_YL2XP1] = x87_op_binary, [X87_XTRACT] = x87_op_xtract,
    [X87_FREE] = x87_op_stack, [X87_INCSTP] = x87_op_stack, [X87_DECSTP] = x87_op_stack,
    [X87_NOP] = x87_op_stack, [X87_WAIT] = x87_op_stack, [X87_LDCW] = x87_op_control,
    [X87_STCW] = x87_op_control, [X87_STSW] = x87_op_control, [X87_CLEX] = x87_op_control,
    [X87_INIT] = x87_op_control, [X87_LDENV] = x87_op_env, [X87_STENV] = x87_op_env,
    [X87_SAVE] = x87_op_env, [X87_RSTOR] = x87_op_env,
};

uint32_t x87_helper_id;

static ir_u128 h_x87(void *vcpu, ir_u128 d, ir_u128 addr, ir_u128 off)
{
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    struct x87 x = { .cpu = cpu, .st = st, .f = &st->fpu, .d = (uint64_t)d, .addr = (uint64_t)addr };
    unsigned op = X87_D_OP(x.d), fl = X87_D_FLAGS(x.d);
    if (op == X87_WAIT && (st->cr0 & X86_CR0_TS) && (st->cr0 & X86_CR0_MP))
        x86_raise_now(cpu, X86_V_NM, X86_NO_ERR);
    /* A pending unmasked exception is taken by the next waiting instruction. With
     * CR0.NE clear the PC-style FERR#/IRQ 13 path is not modelled: the exception
     * stays pending in FSW and the instruction runs (as with IGNNE# asserted). */
    if (!(fl & X87_FL_NOWAIT) && (st->fpu.fsw & X87_FSW_ES) && (st->cr0 & X86_CR0_NE))
        x86_raise_now(cpu, X86_V_MF, X86_NO_ERR);
    x.env = x87_env_of(x.f);
    if (op < X87_OP_COUNT && exec[op])
        exec[op](&x);
    if (!(fl & X87_FL_CONTROL)) {
        x.f->fop = (uint16_t)X87_D_FOP(x.d);
        x.f->fip = st->rip;
        st->fpu_fcs = st->seg[X86_CS].selector;
        if (x.d & X87_D_MEM) {
            x.f->fdp = (uint64_t)off;
            st->fpu_fds = st->seg[X87_D_SEG(x.d)].selector;
        }
    }
    return 0;
}

void x87_helpers_register(void)
{
    static const struct ir_helper h = {
        "x86_x87", h_x87, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM
    };
    x87_helper_id = ir_helper_register(&h);
}
