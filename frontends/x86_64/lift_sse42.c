/* lift_sse42.c - SSE4.2: CRC32 (F2 0F 38 F0/F1, every source size) and the packed
 * string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM. The meaning lives in
 * sse_str.c; here are the operand sizes and the calls. */
#include "frontends/x86_64/x86_sse.h"

#define OPC_CRC32_BYTE 0xf0u   /* F2 0F 38 F0: r/m8 source; F1: r/m16/32/64 */

bool x86_sse_unaligned_ok(unsigned op)
{
    return op == X86_I_PCMPESTRI || op == X86_I_PCMPESTRM || op == X86_I_PCMPISTRI || op == X86_I_PCMPISTRM;
}

/* The opcode byte after 0F 38 (Capstone keeps the escape bytes in opcode[]). */
static unsigned map38_opcode(const struct x86_dinsn *in)
{
    return in->opcode[0] == 0x0f && in->opcode[1] == 0x38 ? in->opcode[2] : in->opcode[0];
}

/* CRC32: sizes from the encoding, not from Capstone (whose 66h fix-up would also
 * shrink the destination): the destination is 64-bit with REX.W, else 32-bit; the
 * source is a byte for F0, else 16 (the 16-bit operand size), 32 or 64 (REX.W) bits.
 * Flags unchanged. (Capstone 4.0.2 does not decode CRC32 in 16-bit code: #UD there.) */
bool lift_crc32(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    bool rexw = (in->prefixes & X86_PFX_REX_W) != 0;
    unsigned dsize = rexw ? 8 : 4, ssize;
    if (map38_opcode(in) == OPC_CRC32_BYTE)
        ssize = 1;
    else
        ssize = rexw ? 8 : ((c->code == X86_CODE16) != ((in->prefixes & X86_PFX_OPSIZE) != 0)) ? 2 : 4;
    ir_val src = x86_resize(c, x86_read_op_sized(c, 1, ssize), 16, false);
    ir_val crc = x86_resize(c, x86_get_gpr(c, in->o[0].reg.num, 4), 16, false);
    ir_val r = ir_call(c->b, IR_I128, x86_helper[X86_H_SSE], crc, src,
                       ir_const(c->b, IR_I128, X86_SSE_CRC32 | (ssize << 8)));
    x86_set_gpr(c, in->o[0].reg.num, dsize, x86_resize(c, r, dsize, false));
    return true;
}

/* PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM xmm1, xmm2/m128 (unaligned), imm8. */
bool lift_pcmpstr(struct x86_ctx *c)
{
    if (!x86_sse_allowed(c))
        return true;
    unsigned op = c->in->op, form = 0;
    if (op == X86_I_PCMPESTRI || op == X86_I_PCMPESTRM)
        form |= X86_PCMPSTR_EXPLICIT;
    if (op == X86_I_PCMPESTRM || op == X86_I_PCMPISTRM)
        form |= X86_PCMPSTR_MASK;
    if (c->in->prefixes & X86_PFX_REX_W)
        form |= X86_PCMPSTR_REXW;
    unsigned how = ((unsigned)c->in->o[2].imm & 0xff) | (form << 8);
    ir_val a = x86_sse_read128(c, 0), b = x86_sse_read128(c, 1);
    ir_call(c->b, IR_I64, x86_helper[X86_H_PCMPSTR], a, b, ir_const(c->b, IR_I128, how));
    return true;
}
