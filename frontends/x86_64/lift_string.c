/* lift_string.c - string instructions (SDM vol. 2: MOVS, STOS, LODS, SCAS, CMPS)
 * with REP/REPE/REPNE. A REP instruction runs one iteration per pass through its
 * block and loops back to itself, so every iteration is interruptible and every
 * fault leaves rCX/rSI/rDI exactly as the architecture says. */
#include "frontends/x86_64/x86_fe.h"

enum str_kind { STR_MOVS, STR_STOS, STR_LODS, STR_SCAS, STR_CMPS };

static const struct { uint16_t op; uint8_t kind, size; } str_table[] = {
    { X86_I_MOVSB, STR_MOVS, 1 }, { X86_I_MOVSW, STR_MOVS, 2 }, { X86_I_MOVSD, STR_MOVS, 4 },
    { X86_I_MOVSQ, STR_MOVS, 8 }, { X86_I_STOSB, STR_STOS, 1 }, { X86_I_STOSW, STR_STOS, 2 },
    { X86_I_STOSD, STR_STOS, 4 }, { X86_I_STOSQ, STR_STOS, 8 }, { X86_I_LODSB, STR_LODS, 1 },
    { X86_I_LODSW, STR_LODS, 2 }, { X86_I_LODSD, STR_LODS, 4 }, { X86_I_LODSQ, STR_LODS, 8 },
    { X86_I_SCASB, STR_SCAS, 1 }, { X86_I_SCASW, STR_SCAS, 2 }, { X86_I_SCASD, STR_SCAS, 4 },
    { X86_I_SCASQ, STR_SCAS, 8 }, { X86_I_CMPSB, STR_CMPS, 1 }, { X86_I_CMPSW, STR_CMPS, 2 },
    { X86_I_CMPSD, STR_CMPS, 4 }, { X86_I_CMPSQ, STR_CMPS, 8 },
};

/* The source segment: DS unless the rSI operand carries an override. */
static unsigned source_segment(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_MEM && in->o[i].mem.base.num == X86_RSI && in->o[i].mem.seg_override)
            return in->o[i].mem.seg;
    return X86_DS;
}

static bool has_xmm(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_REG && in->o[i].reg.cls == X86_RC_XMM)
            return true;
    return false;
}

/* +size or -size by RFLAGS.DF, at the address size. */
static ir_val step(struct x86_ctx *c, unsigned size)
{
    unsigned as = c->in->addr_size;
    ir_val df = ir_extract(c->b, IR_I1, ir_get(c->b, IR_I64, X86_OFF_RFLAGS), X86_FLAG_DF_BIT);
    return ir_select(c->b, df, x86_const(c, as, (uint64_t)-(int64_t)size), x86_const(c, as, size));
}

static ir_val str_addr(struct x86_ctx *c, unsigned seg, unsigned reg)
{
    return x86_linear(c, seg, x86_resize(c, x86_get_gpr(c, reg, c->in->addr_size), 8, false));
}

static void advance(struct x86_ctx *c, unsigned reg, ir_val d)
{
    unsigned as = c->in->addr_size;
    x86_set_gpr(c, reg, as, ir_binop(c->b, IR_ADD, x86_get_gpr(c, reg, as), d));
}

static void one_iteration(struct x86_ctx *c, enum str_kind k, unsigned size)
{
    unsigned src_seg = source_segment(c->in);
    ir_val d = step(c, size);
    ir_val v, m;
    switch (k) {
    case STR_MOVS:
        v = x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg);
        x86_store(c, str_addr(c, X86_ES, X86_RDI), v, size, X86_ES);
        advance(c, X86_RSI, d);
        advance(c, X86_RDI, d);
        break;
    case STR_STOS:
        x86_store(c, str_addr(c, X86_ES, X86_RDI), x86_get_gpr(c, X86_RAX, size), size, X86_ES);
        advance(c, X86_RDI, d);
        break;
    case STR_LODS:
        x86_set_gpr(c, X86_RAX, size, x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg));
        advance(c, X86_RSI, d);
        break;
    case STR_SCAS:
        v = x86_get_gpr(c, X86_RAX, size);
        m = x86_load(c, str_addr(c, X86_ES, X86_RDI), size, X86_ES);
        x86_flags_sub(c, v, m, ir_binop(c->b, IR_SUB, v, m), IR_NONE);
        advance(c, X86_RDI, d);
        break;
    case STR_CMPS:
        v = x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg);
        m = x86_load(c, str_addr(c, X86_ES, X86_RDI), size, X86_ES);
        x86_flags_sub(c, v, m, ir_binop(c->b, IR_SUB, v, m), IR_NONE);
        advance(c, X86_RSI, d);
        advance(c, X86_RDI, d);
        break;
    }
}

bool lift_string(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    if (has_xmm(in))   /* SSE MOVSD and CMPSD (predicate imm8 above 7) share the ids */
        return in->op == X86_I_MOVSD ? lift_movss_movsd_sse(c) : lift_sse_op(c);
    unsigned i = 0;
    while (i < sizeof(str_table) / sizeof(str_table[0]) && str_table[i].op != in->op)
        i++;
    enum str_kind k = (enum str_kind)str_table[i].kind;
    unsigned size = str_table[i].size;
    bool rep = (in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
    if (!rep) {
        one_iteration(c, k, size);
        return true;
    }
    struct ir_block *B = c->b;
    unsigned as = in->addr_size;
    x86_dbg_step_mark(c);   /* a single step also ends with rCX already 0 */
    ir_val done = x86_is_zero(c, x86_get_gpr(c, X86_RCX, as));
    ir_set(B, X86_OFF_RIP, ir_select(B, done, ir_const(B, IR_I64, c->next_ip & x86_ip_mask(c)),
                                     ir_const(B, IR_I64, c->ip)));
    ir_exit_if(B, done, c->next_pc);
    one_iteration(c, k, size);
    ir_val cnt = ir_binop(B, IR_SUB, x86_get_gpr(c, X86_RCX, as), x86_const(c, as, 1));
    x86_set_gpr(c, X86_RCX, as, cnt);
    ir_val again = ir_binop(B, IR_NE, cnt, x86_const(c, as, 0));
    if (k == STR_SCAS || k == STR_CMPS) {
        ir_val zf = x86_get_flag(c, X86_OFF_FLAG(zf));
        if (in->prefixes & X86_PFX_REPNE)
            zf = ir_binop(B, IR_XOR, zf, ir_const(B, IR_I1, 1));
        again = ir_binop(B, IR_AND, again, zf);
    }
    x86_branch_ip(c, again, c->ip);
    return true;
}
