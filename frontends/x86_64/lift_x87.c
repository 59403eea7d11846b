/* lift_x87.c - the x87 instructions (escape opcodes D8-DF and FWAIT): decoded from
 * the escape byte and ModRM with the SDM's opcode map as tables (Capstone only
 * validates and finds the memory operand), lifted as one call to the x87 helper
 * (x87_exec.c) carrying the operation, operand format, flags, the memory operand's
 * linear address and offset. CR0.EM or CR0.TS give #NM (pinned by the mode key);
 * FWAIT's TS+MP check and every #MF are made at run time by the helper.
 * Register forms use ST(0) and ST(i) = rm; arithmetic is always ST(0) op operand
 * (ModRM.reg 4/5/6/7 = ST(0)-x, x-ST(0), ST(0)/x, x/ST(0)) with the destination
 * being ST(i) in the DC/DE register forms. The reserved aliases the processors
 * accept (FCOM2, FCOMP3/5, FXCH4/7, FSTP1/8/9, FFREEP) are decoded too. */
#include "frontends/x86_64/x87.h"

#define ESC_FIRST 0xd8u
#define FWAIT_BYTE 0x9bu
#define MODRM_REG(m) (((m) >> 3) & 7u)
#define MODRM_RM(m) ((m) & 7u)
#define MODRM_IS_REG(m) ((m) >= 0xc0u)
#define REX_FIRST 0x40u
#define REX_LAST 0x4fu

struct x87_form {
    uint8_t op;      /* enum x87_op */
    uint8_t fmt;     /* enum x87_fmt */
    uint8_t flags;   /* X87_FL_* */
    uint8_t aux;     /* FCMOVcc condition / constant index */
};

#define F(o, f, fl) { X87_##o, X87_F_##f, fl, 0 }
#define FA(o, f, fl, a) { X87_##o, X87_F_##f, fl, a }
#define NONE { 0, 0, 0, 0 }
#define SPECIAL { X87_OP_COUNT, 0, 0, 0 }   /* decided by the whole ModRM byte */
#define POP X87_FL_POP
#define STI X87_FL_DEST_STI
#define Q X87_FL_QUIET
#define NW (X87_FL_NOWAIT | X87_FL_CONTROL)
#define CTL X87_FL_CONTROL
#define ARITH(f, fl) { F(ADD, f, fl), F(MUL, f, fl), F(COM, f, 0), F(COM, f, POP), F(SUB, f, fl), F(SUBR, f, fl), \
                       F(DIV, f, fl), F(DIVR, f, fl) }

/* Memory forms, [escape - D8][ModRM.reg]. */
static const struct x87_form mem_forms[8][8] = {
    ARITH(F32, 0),
    { F(LD, F32, 0), NONE, F(ST, F32, 0), F(ST, F32, POP), F(LDENV, ENV, CTL), F(LDCW, M16, CTL),
      F(STENV, ENV, NW), F(STCW, M16, NW) },
    ARITH(I32, 0),
    { F(LD, I32, 0), F(ST, I32, POP | X87_FL_TRUNC), F(ST, I32, 0), F(ST, I32, POP), NONE, F(LD, F80, 0), NONE,
      F(ST, F80, POP) },
    ARITH(F64, 0),
    { F(LD, F64, 0), F(ST, I64, POP | X87_FL_TRUNC), F(ST, F64, 0), F(ST, F64, POP), F(RSTOR, SAVE, CTL), NONE,
      F(SAVE, SAVE, NW), F(STSW, M16, NW) },
    ARITH(I16, 0),
    { F(LD, I16, 0), F(ST, I16, POP | X87_FL_TRUNC), F(ST, I16, 0), F(ST, I16, POP), F(LD, BCD, 0), F(LD, I64, 0),
      F(ST, BCD, POP), F(ST, I64, POP) },
};

/* Register forms, [escape - D8][ModRM.reg], operand ST(rm). */
static const struct x87_form reg_forms[8][8] = {
    ARITH(ST, 0),
    { F(LD, ST, 0), F(XCH, ST, 0), SPECIAL, F(ST, ST, POP | X87_FL_NCE), SPECIAL, SPECIAL, SPECIAL, SPECIAL },
    { FA(FCMOV, ST, 0, 0), FA(FCMOV, ST, 0, 1), FA(FCMOV, ST, 0, 2), FA(FCMOV, ST, 0, 3), NONE, SPECIAL, NONE,
      NONE },
    { FA(FCMOV, ST, 0, 4), FA(FCMOV, ST, 0, 5), FA(FCMOV, ST, 0, 6), FA(FCMOV, ST, 0, 7), SPECIAL,
      F(COMI, ST, Q), F(COMI, ST, 0), NONE },
    { F(ADD, ST, STI), F(MUL, ST, STI), F(COM, ST, 0), F(COM, ST, POP), F(SUB, ST, STI), F(SUBR, ST, STI),
      F(DIV, ST, STI), F(DIVR, ST, STI) },
    { F(FREE, ST, 0), F(XCH, ST, 0), F(ST, ST, 0), F(ST, ST, POP), F(COM, ST, Q), F(COM, ST, Q | POP), NONE, NONE },
    { F(ADD, ST, STI | POP), F(MUL, ST, STI | POP), F(COM, ST, POP), SPECIAL, F(SUB, ST, STI | POP),
      F(SUBR, ST, STI | POP), F(DIV, ST, STI | POP), F(DIVR, ST, STI | POP) },
    { F(FREE, ST, POP), F(XCH, ST, 0), F(ST, ST, POP), F(ST, ST, POP), SPECIAL, F(COMI, ST, Q | POP),
      F(COMI, ST, POP), NONE },
};

/* Whole-ModRM register encodings. */
static const struct {
    uint8_t esc, modrm;
    struct x87_form form;
} specials[] = {
    { 0xd9, 0xd0, F(NOP, NONE, 0) },
    { 0xd9, 0xe0, F(CHS, NONE, 0) }, { 0xd9, 0xe1, F(ABS, NONE, 0) },
    { 0xd9, 0xe4, F(TST, NONE, 0) }, { 0xd9, 0xe5, F(XAM, NONE, 0) },
    { 0xd9, 0xe8, FA(LDCONST, NONE, 0, FX80_ONE) }, { 0xd9, 0xe9, FA(LDCONST, NONE, 0, FX80_L2T) },
    { 0xd9, 0xea, FA(LDCONST, NONE, 0, FX80_L2E) }, { 0xd9, 0xeb, FA(LDCONST, NONE, 0, FX80_PI) },
    { 0xd9, 0xec, FA(LDCONST, NONE, 0, FX80_LG2) }, { 0xd9, 0xed, FA(LDCONST, NONE, 0, FX80_LN2) },
    { 0xd9, 0xee, FA(LDCONST, NONE, 0, FX80_ZERO) },
    { 0xd9, 0xf0, F(F2XM1, NONE, 0) }, { 0xd9, 0xf1, F(YL2X, NONE, 0) }, { 0xd9, 0xf2, F(PTAN, NONE, 0) },
    { 0xd9, 0xf3, F(PATAN, NONE, 0) }, { 0xd9, 0xf4, F(XTRACT, NONE, 0) }, { 0xd9, 0xf5, F(PREM1, NONE, 0) },
    { 0xd9, 0xf6, F(DECSTP, NONE, 0) }, { 0xd9, 0xf7, F(INCSTP, NONE, 0) }, { 0xd9, 0xf8, F(PREM, NONE, 0) },
    { 0xd9, 0xf9, F(YL2XP1, NONE, 0) }, { 0xd9, 0xfa, F(SQRT, NONE, 0) }, { 0xd9, 0xfb, F(SINCOS, NONE, 0) },
    { 0xd9, 0xfc, F(RNDINT, NONE, 0) }, { 0xd9, 0xfd, F(SCALE, NONE, 0) }, { 0xd9, 0xfe, F(SIN, NONE, 0) },
    { 0xd9, 0xff, F(COS, NONE, 0) },
    { 0xda, 0xe9, FA(COM, ST, Q | X87_FL_POP2, 0) },   /* FUCOMPP: ST(0) with ST(1) */
    { 0xdb, 0xe0, F(NOP, NONE, NW) }, { 0xdb, 0xe1, F(NOP, NONE, NW) },   /* FNENI, FNDISI: 8087 only */
    { 0xdb, 0xe2, F(CLEX, NONE, NW) }, { 0xdb, 0xe3, F(INIT, NONE, NW) },
    { 0xdb, 0xe4, F(NOP, NONE, NW) },                                    /* FNSETPM: 287 only */
    { 0xde, 0xd9, FA(COM, ST, X87_FL_POP2, 0) },       /* FCOMPP */
    { 0xdf, 0xe0, F(STSW, AX, NW) },
};

static struct x87_form lookup(uint8_t esc, uint8_t modrm, unsigned *sti)
{
    *sti = MODRM_RM(modrm);
    if (!MODRM_IS_REG(modrm))
        return mem_forms[esc - ESC_FIRST][MODRM_REG(modrm)];
    struct x87_form f = reg_forms[esc - ESC_FIRST][MODRM_REG(modrm)];
    if (f.op != X87_OP_COUNT)
        return f;
    for (unsigned i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
        if (specials[i].esc == esc && specials[i].modrm == modrm) {
            /* FUCOMPP and FCOMPP compare with ST(1); the rest take no register. */
            *sti = specials[i].form.fmt == X87_F_ST ? 1 : 0;
            return specials[i].form;
        }
    return (struct x87_form)NONE;
}

/* The legacy prefixes: operand/address size, REPNE/REP, LOCK, segment overrides. */
static const uint8_t legacy_prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 };

static bool is_legacy_prefix(uint8_t b)
{
    for (unsigned i = 0; i < sizeof(legacy_prefixes); i++)
        if (legacy_prefixes[i] == b)
            return true;
    return false;
}

/* Offset of the escape byte (or FWAIT) past the legacy and REX prefixes. */
static unsigned opcode_offset(const struct x86_ctx *c)
{
    const uint8_t *p = c->in->bytes;
    unsigned i = 0;
    while (i + 1 < c->in->len &&
           (is_legacy_prefix(p[i]) || (c->code == X86_CODE64 && p[i] >= REX_FIRST && p[i] <= REX_LAST)))
        i++;
    return i;
}

#define X87_SAVE_REGS_BYTES 80u   /* FNSAVE/FRSTOR: eight 10-byte registers after the environment */

static const struct x86_operand *mem_operand(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_MEM)
            return &in->o[i];
    return NULL;
}

/* Bytes and direction of the memory operand, for the segment, alignment and data
 * breakpoint checks every data access gets (seg_check.c, sys_debug.c). */
static unsigned mem_bytes(uint64_t desc, bool *write)
{
    static const uint8_t size[] = { [X87_F_F32] = 4, [X87_F_F64] = 8, [X87_F_F80] = 10, [X87_F_I16] = 2,
                                    [X87_F_I32] = 4, [X87_F_I64] = 8, [X87_F_BCD] = 10, [X87_F_M16] = 2 };
    unsigned op = X87_D_OP(desc), fmt = X87_D_FMT(desc);
    bool o16 = (desc & X87_D_OPSIZE16) != 0;
    *write = op == X87_ST || op == X87_STCW || op == X87_STSW || op == X87_STENV || op == X87_SAVE;
    if (fmt == X87_F_ENV)
        return x87_env_size(o16);
    if (fmt == X87_F_SAVE)
        return x87_env_size(o16) + X87_SAVE_REGS_BYTES;
    return fmt < sizeof(size) ? size[fmt] : 0;
}

static void emit(struct x86_ctx *c, uint64_t desc, const struct x86_operand *m)
{
    ir_val lin = ir_const(c->b, IR_I64, 0), off = lin;
    bool write = false;
    unsigned bytes = 0;
    if (m) {
        off = x86_ea(c, m);
        lin = x86_linear(c, m->mem.seg, off);
        desc |= X87_D_MEM;
        bytes = mem_bytes(desc, &write);
        if (bytes)
            x86_mem_guard(c, lin, bytes, write);
    }
    x86_call(c, IR_I64, x87_helper_id, ir_const(c->b, IR_I64, desc), lin, off);
    if (bytes)
        x86_dbg_data_access(c, lin, bytes, write);
}

bool lift_x87(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    unsigned at = opcode_offset(c);
    if (in->bytes[at] == FWAIT_BYTE) {
        emit(c, X87_DESC(X87_WAIT, X87_F_NONE, 0, X87_FL_CONTROL, 0, 0), NULL);
        if (at + 1 >= in->len)
            return true;
        at++;   /* a WAIT Capstone folded into the next instruction (FSTSW ...) */
    }
    uint8_t esc = in->bytes[at];
    if (esc < ESC_FIRST || at + 1 >= in->len)
        return false;
    uint8_t modrm = in->bytes[at + 1];
    unsigned sti;
    struct x87_form f = lookup(esc, modrm, &sti);
    if (f.op == X87_INVALID)
        return false;
    if (c->mode & (X86_MK_EM | X86_MK_TS)) {
        x86_raise(c, X86_V_NM, X86_NO_ERR);
        return true;
    }
    const struct x86_operand *m = MODRM_IS_REG(modrm) ? NULL : mem_operand(in);
    if (!MODRM_IS_REG(modrm) && !m)
        return false;
    bool o16 = (c->code == X86_CODE16) != ((in->prefixes & X86_PFX_OPSIZE) != 0);
    uint64_t desc = X87_DESC(f.op, f.fmt, sti, f.flags, m ? m->mem.seg : 0, f.aux) |
                    X87_DESC_FOP(((unsigned)(esc & 7u) << 8) | modrm) | (o16 ? X87_D_OPSIZE16 : 0);
    emit(c, desc, m);
    return true;
}
