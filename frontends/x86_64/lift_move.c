/* lift_move.c - data transfer and flag-register instructions (SDM vol. 2: MOV,
 * MOVZX, MOVSX, MOVSXD, LEA, CBW/CWDE/CDQE, CWD/CDQ/CQO, SETcc, CMOVcc, XLAT,
 * LAHF/SAHF, CLC/STC/CMC, CLD/STD, NOP, fences). MOV to or from segment, control
 * and debug registers is a system instruction and goes to lift_system.c. */
#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_sys.h"

static bool is_sys_reg(const struct x86_operand *o)
{
    return o->kind == X86_OPND_REG &&
           (o->reg.cls == X86_RC_SEG || o->reg.cls == X86_RC_CR || o->reg.cls == X86_RC_DR);
}

bool lift_mov(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    if (is_sys_reg(&in->o[0]) || is_sys_reg(&in->o[1]))
        return lift_mov_sys(c);
    if (in->o[0].reg.cls == X86_RC_XMM || in->o[1].reg.cls == X86_RC_XMM)
        return false;
    x86_write_op(c, 0, x86_read_op_sized(c, 1, in->o[0].size));
    return true;
}

bool lift_movzx_movsx(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    ir_val v = x86_read_op(c, 1);
    x86_write_op(c, 0, x86_resize(c, v, in->o[0].size, in->op != X86_I_MOVZX));
    return true;
}

bool lift_lea(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    if (in->o[1].kind != X86_OPND_MEM)
        return false;
    x86_write_op(c, 0, x86_resize(c, x86_ea(c, &in->o[1]), in->o[0].size, false));
    return true;
}

/* Effective operand size from the prefixes (66h, REX.W) and the code size; used
 * where Capstone's choice of mnemonic is not reliable under odd prefix orders. */
static unsigned effective_op_size(const struct x86_ctx *c)
{
    if (c->in->prefixes & X86_PFX_REX_W)
        return 8;
    bool big = c->code != X86_CODE16;
    if (c->in->prefixes & X86_PFX_OPSIZE)
        big = !big;
    return big ? 4 : 2;
}

/* Sign-extend the lower half of the accumulator into the whole (CBW/CWDE/CDQE by
 * operand size). */
bool lift_cbw_cwde_cdqe(struct x86_ctx *c)
{
    unsigned size = effective_op_size(c);
    ir_val half = x86_get_gpr(c, X86_RAX, size / 2);
    x86_set_gpr(c, X86_RAX, size, x86_resize(c, half, size, true));
    return true;
}

/* Sign of the accumulator into all of DX/EDX/RDX (CWD/CDQ/CQO by operand size). */
bool lift_cwd_cdq_cqo(struct x86_ctx *c)
{
    unsigned size = effective_op_size(c);
    ir_val a = x86_get_gpr(c, X86_RAX, size);
    x86_set_gpr(c, X86_RDX, size, ir_binop(c->b, IR_ASHR, a, x86_const(c, size, size * 8 - 1)));
    return true;
}

bool lift_setcc(struct x86_ctx *c)
{
    ir_val v = x86_cond(c, c->in->op - X86_I_SETO);
    x86_write_op(c, 0, ir_cast(c->b, IR_ZEXT, IR_I8, v));
    return true;
}

/* CMOVcc with a 32-bit destination writes (and zero-extends) even when false. */
bool lift_cmovcc(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    ir_val cond = x86_cond(c, c->in->op - X86_I_CMOVO);
    ir_val src = x86_read_op_sized(c, 1, size);
    ir_val dst = x86_read_op_sized(c, 0, size);
    x86_write_op(c, 0, ir_select(c->b, cond, src, dst));
    return true;
}

bool lift_xlat(struct x86_ctx *c)
{
    const struct x86_operand *o = &c->in->o[0];
    unsigned as = c->in->addr_size;
    ir_val off = ir_binop(c->b, IR_ADD, x86_get_gpr(c, X86_RBX, as),
                          x86_resize(c, x86_get_gpr(c, X86_RAX, 1), as, false));
    unsigned seg = o->kind == X86_OPND_MEM ? o->mem.seg : X86_DS;
    ir_val v = x86_load(c, x86_linear(c, seg, x86_resize(c, off, 8, false)), 1, seg);
    x86_set_gpr(c, X86_RAX, 1, v);
    return true;
}

/* AH <-> SF:ZF:0:AF:0:PF:1:CF */
bool lift_lahf_sahf(struct x86_ctx *c)
{
    static const struct { uint32_t off; unsigned bit; } map[] = {
        { X86_OFF_FLAG(cf), 0 }, { X86_OFF_FLAG(pf), 2 }, { X86_OFF_FLAG(af), 4 },
        { X86_OFF_FLAG(zf), 6 }, { X86_OFF_FLAG(sf), 7 },
    };
    struct x86_regref ah = { X86_RC_GPR8H, X86_RAX };
    if (c->in->op == X86_I_LAHF) {
        ir_val v = ir_const(c->b, IR_I8, X86_FLAG_FIXED1);
        for (unsigned i = 0; i < 5; i++)
            v = ir_insert(c->b, v, x86_get_flag(c, map[i].off), map[i].bit);
        x86_set_reg(c, ah, 1, v);
        return true;
    }
    ir_val v = x86_get_reg(c, ah, 1);
    for (unsigned i = 0; i < 5; i++)
        ir_set(c->b, map[i].off, ir_cast(c->b, IR_ZEXT, IR_I8, ir_extract(c->b, IR_I1, v, map[i].bit)));
    return true;
}

bool lift_clc_stc_cmc(struct x86_ctx *c)
{
    ir_val v;
    if (c->in->op == X86_I_CMC)
        v = ir_binop(c->b, IR_XOR, x86_get_flag(c, X86_OFF_FLAG(cf)), ir_const(c->b, IR_I1, 1));
    else
        v = ir_const(c->b, IR_I1, c->in->op == X86_I_STC);
    x86_set_flags(c, v, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE);
    return true;
}

bool lift_cld_std(struct x86_ctx *c)
{
    ir_val fl = ir_get(c->b, IR_I64, X86_OFF_RFLAGS);
    ir_val df = ir_const(c->b, IR_I1, c->in->op == X86_I_STD);
    ir_set(c->b, X86_OFF_RFLAGS, ir_insert(c->b, fl, df, X86_FLAG_DF_BIT));
    return true;
}

bool lift_nop(struct x86_ctx *c)
{
    (void)c;
    return true;
}

bool lift_fence(struct x86_ctx *c)
{
    ir_fence(c->b);
    return true;
}
