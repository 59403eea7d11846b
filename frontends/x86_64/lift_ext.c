/* lift_ext.c - the general-purpose extensions (BMI1, BMI2, ADX) and the legacy
 * instructions that were holes: decimal adjust (DAA/DAS/AAA/AAS/AAM/AAD), SALC,
 * ARPL. Operands come in Capstone's order, which for the VEX-encoded ones is
 * (ModRM.reg, VEX.vvvv, ModRM.rm) for ANDN/MULX/PDEP/PEXT and (reg, rm, vvvv) for
 * BEXTR/BZHI/SARX/SHLX/SHRX; BLSI/BLSMSK/BLSR write vvvv from rm.
 * Flags the SDM leaves undefined: BMI1/BMI2 AF and PF (and SF for BEXTR) are 0;
 * the decimal adjusts follow the SDM's pseudo-code with OF/AF/CF 0 where undefined
 * (AAM/AAD), and for AAA/AAS set SF/ZF/PF from AL; docs/x86-frontend.md says which
 * of these the host CPU agrees with. */
#include "frontends/x86_64/x86_fe.h"

#define BCD_RESULT_FLAGS_SHIFT 16
enum bcd_op { BCD_DAA, BCD_DAS, BCD_AAA, BCD_AAS, BCD_AAM, BCD_AAD, BITS_PDEP, BITS_PEXT };

/* Pure helper: the decimal adjusts (a = AX | CF << 16 | AF << 17, b = imm8) return
 * AX | flags << 16 (bit 0 CF, 1 AF, 2 "#DE"); PDEP/PEXT return the deposit/extract. */
#define BCD_CF 1u
#define BCD_AF 2u
#define BCD_DE 4u
static uint64_t bcd(unsigned op, unsigned ax, bool cf, bool af, unsigned imm)
{
    unsigned al = ax & 0xff, ah = (ax >> 8) & 0xff, f = 0;
    switch (op) {
    case BCD_DAA: case BCD_DAS: {
        unsigned old = al;
        bool up = op == BCD_DAA;
        if ((al & 0xf) > 9 || af) {
            /* DAA's carry out of this step is overwritten below; DAS keeps its borrow. */
            f |= BCD_AF | (!up && (cf || al < 6) ? BCD_CF : 0);
            al = (up ? al + 6 : al - 6) & 0xff;
        }
        if (old > 0x99 || cf) {
            al = (up ? al + 0x60 : al - 0x60) & 0xff;
            f |= BCD_CF;
        }
        break;
    }
    case BCD_AAA: case BCD_AAS:
        if ((al & 0xf) > 9 || af) {
            ax = op == BCD_AAA ? ax + 0x106 : ax - 6 - 0x100;
            al = ax & 0xff, ah = (ax >> 8) & 0xff;
            f |= BCD_AF | BCD_CF;
        }
        al &= 0xf;
        break;
    case BCD_AAM:
        if (!imm)
            return (uint64_t)BCD_DE << BCD_RESULT_FLAGS_SHIFT;
        ah = al / imm, al = al % imm;
        break;
    default:   /* AAD */
        al = (al + ah * imm) & 0xff, ah = 0;
        break;
    }
    return al | (ah << 8) | ((uint64_t)f << BCD_RESULT_FLAGS_SHIFT);
}

static uint64_t pdep(uint64_t src, uint64_t mask)
{
    uint64_t r = 0;
    for (uint64_t bit = 1; mask; bit <<= 1, mask &= mask - 1)
        if (src & bit)
            r |= mask & -mask;
    return r;
}

static uint64_t pext(uint64_t src, uint64_t mask)
{
    uint64_t r = 0;
    for (uint64_t bit = 1; mask; bit <<= 1, mask &= mask - 1)
        if (src & mask & -mask)
            r |= bit;
    return r;
}

static ir_u128 h_bits(void *cpu, ir_u128 a, ir_u128 b, ir_u128 how)
{
    (void)cpu;
    unsigned op = (unsigned)how;
    if (op == BITS_PDEP)
        return pdep((uint64_t)a, (uint64_t)b);
    if (op == BITS_PEXT)
        return pext((uint64_t)a, (uint64_t)b);
    unsigned ax = (unsigned)a & 0xffff;
    return bcd(op, ax, (a >> 16) & 1, (a >> 17) & 1, (unsigned)b & 0xff);
}

const struct ir_helper x86_bits_helper = { "x86_bits", h_bits, IR_HELPER_PURE };

static ir_val call_bits(struct x86_ctx *c, unsigned op, ir_val a, ir_val b)
{
    return ir_call(c->b, IR_I64, x86_helper[X86_H_BITS], x86_resize(c, a, 8, false), x86_resize(c, b, 8, false),
                   ir_const(c->b, IR_I64, op));
}

static ir_val f0(struct x86_ctx *c)
{
    return ir_const(c->b, IR_I1, 0);
}

/* CF, ZF, SF from the result; OF, AF, PF 0 (the BMI rule). */
static void bmi_flags(struct x86_ctx *c, ir_val cf, ir_val res, bool sf)
{
    x86_set_flags(c, cf, f0(c), f0(c), x86_is_zero(c, res), sf ? x86_msb(c, res) : f0(c), f0(c));
}

bool lift_andn(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    ir_val r = ir_binop(c->b, IR_AND, ir_unop(c->b, IR_NOT, x86_read_op_sized(c, 1, size)),
                        x86_read_op_sized(c, 2, size));
    x86_write_op(c, 0, r);
    bmi_flags(c, f0(c), r, true);
    return true;
}

/* BEXTR: start = control bits 7:0, length = bits 15:8, both saturating at the width. */
bool lift_bextr(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size;
    ir_val src = x86_resize(c, x86_read_op_sized(c, 1, size), 8, false);
    ir_val ctl = x86_resize(c, x86_read_op_sized(c, 2, size), 8, false);
    ir_val start = ir_binop(B, IR_AND, ctl, ir_const(B, IR_I64, 0xff));
    ir_val len = ir_binop(B, IR_AND, ir_binop(B, IR_LSHR, ctl, ir_const(B, IR_I64, 8)), ir_const(B, IR_I64, 0xff));
    ir_val shifted = ir_binop(B, IR_LSHR, src, start);   /* IR: a count >= 64 gives 0 */
    ir_val mask = ir_binop(B, IR_SUB, ir_binop(B, IR_SHL, ir_const(B, IR_I64, 1), len), ir_const(B, IR_I64, 1));
    ir_val full = ir_binop(B, IR_ULE, ir_const(B, IR_I64, 64), len);
    ir_val r = ir_select(B, full, shifted, ir_binop(B, IR_AND, shifted, mask));
    r = x86_resize(c, r, size, false);
    x86_write_op(c, 0, r);
    bmi_flags(c, f0(c), r, false);
    return true;
}

bool lift_blsi_blsmsk_blsr(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size, op = c->in->op;
    ir_val src = x86_read_op_sized(c, 1, size);
    ir_val zero = x86_is_zero(c, src), r;
    ir_val m1 = ir_binop(B, IR_SUB, src, x86_const(c, size, 1));
    if (op == X86_I_BLSI)
        r = ir_binop(B, IR_AND, ir_unop(B, IR_NEG, src), src);
    else if (op == X86_I_BLSMSK)
        r = ir_binop(B, IR_XOR, m1, src);
    else
        r = ir_binop(B, IR_AND, m1, src);
    x86_write_op(c, 0, r);
    ir_val cf = op == X86_I_BLSI ? ir_binop(B, IR_XOR, zero, ir_const(B, IR_I1, 1)) : zero;
    bmi_flags(c, cf, r, true);
    return true;
}

/* BZHI: n = index bits 7:0; n >= width keeps the source and sets CF. */
bool lift_bzhi(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size;
    ir_val src = x86_resize(c, x86_read_op_sized(c, 1, size), 8, false);
    ir_val n = ir_binop(B, IR_AND, x86_resize(c, x86_read_op_sized(c, 2, size), 8, false), ir_const(B, IR_I64, 0xff));
    ir_val big = ir_binop(B, IR_ULE, ir_const(B, IR_I64, size * 8), n);
    ir_val mask = ir_binop(B, IR_SUB, ir_binop(B, IR_SHL, ir_const(B, IR_I64, 1), n), ir_const(B, IR_I64, 1));
    ir_val r = x86_resize(c, ir_select(B, big, src, ir_binop(B, IR_AND, src, mask)), size, false);
    x86_write_op(c, 0, r);
    bmi_flags(c, big, r, true);
    return true;
}

/* MULX hi, lo, src: rDX * src unsigned; lo is written first, so hi wins when both
 * name the same register. No flags. */
bool lift_mulx(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    enum ir_type wide = size == 8 ? IR_I128 : IR_I64;
    ir_val a = ir_cast(c->b, IR_ZEXT, wide, x86_get_gpr(c, X86_RDX, size));
    ir_val b = ir_cast(c->b, IR_ZEXT, wide, x86_read_op_sized(c, 2, size));
    ir_val p = ir_binop(c->b, IR_MUL, a, b);
    x86_write_op(c, 1, x86_resize(c, p, size, false));
    x86_write_op(c, 0, ir_extract(c->b, x86_type(size), p, size * 8));
    return true;
}

bool lift_pdep_pext(struct x86_ctx *c)
{
    unsigned size = c->in->o[0].size;
    ir_val r = call_bits(c, c->in->op == X86_I_PDEP ? BITS_PDEP : BITS_PEXT, x86_read_op_sized(c, 1, size),
                         x86_read_op_sized(c, 2, size));
    x86_write_op(c, 0, x86_resize(c, r, size, false));
    return true;
}

/* RORX by imm8, SARX/SHLX/SHRX by a register: counts masked to 5 or 6 bits; no flags. */
bool lift_rorx_shiftx(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size, op = c->in->op;
    ir_val src = x86_read_op_sized(c, 1, size);
    ir_val n = c->in->o[2].kind == X86_OPND_IMM ? x86_const(c, size, c->in->o[2].imm)
                                                : x86_read_op_sized(c, 2, size);
    n = ir_binop(B, IR_AND, n, x86_const(c, size, size * 8 - 1));
    enum ir_op k = op == X86_I_RORX ? IR_ROTR : op == X86_I_SARX ? IR_ASHR : op == X86_I_SHLX ? IR_SHL : IR_LSHR;
    x86_write_op(c, 0, ir_binop(B, k, src, n));
    return true;
}

/* ADCX uses and sets only CF, ADOX only OF. */
bool lift_adcx_adox(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    unsigned size = c->in->o[0].size;
    bool x = c->in->op == X86_I_ADCX;
    uint32_t off = x ? X86_OFF_FLAG(cf) : X86_OFF_FLAG(of);
    ir_val a = x86_read_op_sized(c, 0, size), b = x86_read_op_sized(c, 1, size);
    ir_val cin = x86_get_flag(c, off);
    ir_val r = ir_binop(B, IR_ADD, ir_binop(B, IR_ADD, a, b), ir_cast(B, IR_ZEXT, x86_type(size), cin));
    ir_val carry = ir_binop(B, IR_OR, ir_binop(B, IR_ULT, r, a), ir_binop(B, IR_AND, cin, ir_binop(B, IR_EQ, r, a)));
    x86_write_op(c, 0, r);
    ir_set(B, off, ir_cast(B, IR_ZEXT, IR_I8, carry));
    return true;
}

/* DAA/DAS/AAA/AAS/AAM/AAD (not in 64-bit mode: Capstone does not decode them there). */
bool lift_decimal_adjust(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    static const uint8_t kind[X86_I_COUNT] = { [X86_I_DAA] = BCD_DAA, [X86_I_DAS] = BCD_DAS, [X86_I_AAA] = BCD_AAA,
                                               [X86_I_AAS] = BCD_AAS, [X86_I_AAM] = BCD_AAM, [X86_I_AAD] = BCD_AAD };
    unsigned op = kind[c->in->op];
    unsigned imm = c->in->nops && c->in->o[0].kind == X86_OPND_IMM ? (unsigned)c->in->o[0].imm & 0xff
                   : c->in->len >= 2 ? c->in->bytes[c->in->len - 1] : 10;
    if (op == BCD_AAM && imm == 0) {
        x86_raise(c, X86_V_DE, X86_NO_ERR);
        return true;
    }
    ir_val ax = x86_resize(c, x86_get_gpr(c, X86_RAX, 2), 8, false);
    ir_val cf = ir_cast(B, IR_ZEXT, IR_I64, x86_get_flag(c, X86_OFF_FLAG(cf)));
    ir_val af = ir_cast(B, IR_ZEXT, IR_I64, x86_get_flag(c, X86_OFF_FLAG(af)));
    ir_val in = ir_binop(B, IR_OR, ax, ir_binop(B, IR_OR, ir_binop(B, IR_SHL, cf, ir_const(B, IR_I64, 16)),
                                                 ir_binop(B, IR_SHL, af, ir_const(B, IR_I64, 17))));
    ir_val r = call_bits(c, op, in, ir_const(B, IR_I64, imm));
    bool byte_only = op == BCD_DAA || op == BCD_DAS;
    x86_set_gpr(c, X86_RAX, byte_only ? 1 : 2, x86_resize(c, r, byte_only ? 1 : 2, false));
    ir_val al = ir_extract(B, IR_I8, r, 0);
    ir_val rcf = ir_extract(B, IR_I1, r, BCD_RESULT_FLAGS_SHIFT);
    ir_val raf = ir_extract(B, IR_I1, r, BCD_RESULT_FLAGS_SHIFT + 1);
    if (op == BCD_AAM || op == BCD_AAD)
        x86_set_flags(c, f0(c), x86_parity(c, al), f0(c), x86_is_zero(c, al), x86_msb(c, al), f0(c));
    else if (op == BCD_AAA || op == BCD_AAS)
        x86_set_flags(c, rcf, x86_parity(c, al), raf, x86_is_zero(c, al), x86_msb(c, al), f0(c));
    else
        x86_set_flags(c, rcf, x86_parity(c, al), raf, x86_is_zero(c, al), x86_msb(c, al), f0(c));
    return true;
}

/* SALC: AL = CF ? 0xFF : 0 (undocumented, outside 64-bit mode). */
bool lift_salc(struct x86_ctx *c)
{
    ir_val cf = x86_get_flag(c, X86_OFF_FLAG(cf));
    x86_set_gpr(c, X86_RAX, 1, ir_select(c->b, cf, x86_const(c, 1, 0xff), x86_const(c, 1, 0)));
    return true;
}

/* ARPL r/m16, r16: raise the destination selector's RPL to the source's (ZF = 1),
 * else ZF = 0. Protected mode only (#UD in real and virtual-8086 mode). */
bool lift_arpl(struct x86_ctx *c)
{
    struct ir_block *B = c->b;
    if (!(c->mode & X86_MK_PE) || (c->mode & X86_MK_VM86)) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return true;
    }
    ir_val d = x86_read_op_sized(c, 0, 2), s = x86_read_op_sized(c, 1, 2);
    ir_val drpl = ir_binop(B, IR_AND, d, ir_const(B, IR_I16, 3)), srpl = ir_binop(B, IR_AND, s, ir_const(B, IR_I16, 3));
    ir_val lower = ir_binop(B, IR_ULT, drpl, srpl);
    ir_val nd = ir_binop(B, IR_OR, ir_binop(B, IR_AND, d, ir_const(B, IR_I16, 0xfffc)), srpl);
    x86_write_op(c, 0, ir_select(B, lower, nd, d));
    x86_set_flags(c, IR_NONE, IR_NONE, IR_NONE, lower, IR_NONE, IR_NONE);
    return true;
}
