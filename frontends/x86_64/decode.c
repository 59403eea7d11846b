/* decode.c - Capstone behind a thin adapter: bytes in, our struct x86_dinsn out.
 * Capstone is only the decoder (detail mode, one handle per code size and thread);
 * meaning lives in the lifters. Ids Capstone knows but x86_ops.def does not list
 * decode as invalid, which the translator turns into #UD. */
#include <capstone/capstone.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_evex.h"

/* Capstone id -> our op (filled from x86_ops.def on first use). */
static uint16_t op_of_cs[X86_INS_ENDING];
static const char *const op_names[X86_I_COUNT] = {
    [X86_I_INVALID] = "invalid",
#define X86_OP(name, csid, lifter) [X86_I_##name] = #name,
#include "frontends/x86_64/x86_ops.def"
#undef X86_OP
};

static void op_table_init(void)
{
#define X86_OP(name, csid, lifter)   \
    if ((csid) != X86_OWN_DECODE)    \
        op_of_cs[csid] = X86_I_##name;
#include "frontends/x86_64/x86_ops.def"
#undef X86_OP
}

const char *x86_op_name(unsigned op)
{
    return op < X86_I_COUNT ? op_names[op] : "?";
}

/* Capstone register -> our class and number. */
#define GPR(n) { X86_RC_GPR, n }
static const struct x86_regref reg_map[X86_REG_ENDING] = {
    [X86_REG_AL] = GPR(X86_RAX), [X86_REG_CL] = GPR(X86_RCX), [X86_REG_DL] = GPR(X86_RDX),
    [X86_REG_BL] = GPR(X86_RBX), [X86_REG_SPL] = GPR(X86_RSP), [X86_REG_BPL] = GPR(X86_RBP),
    [X86_REG_SIL] = GPR(X86_RSI), [X86_REG_DIL] = GPR(X86_RDI),
    [X86_REG_AH] = { X86_RC_GPR8H, 0 }, [X86_REG_CH] = { X86_RC_GPR8H, 1 },
    [X86_REG_DH] = { X86_RC_GPR8H, 2 }, [X86_REG_BH] = { X86_RC_GPR8H, 3 },
    [X86_REG_AX] = GPR(X86_RAX), [X86_REG_CX] = GPR(X86_RCX), [X86_REG_DX] = GPR(X86_RDX),
    [X86_REG_BX] = GPR(X86_RBX), [X86_REG_SP] = GPR(X86_RSP), [X86_REG_BP] = GPR(X86_RBP),
    [X86_REG_SI] = GPR(X86_RSI), [X86_REG_DI] = GPR(X86_RDI),
    [X86_REG_EAX] = GPR(X86_RAX), [X86_REG_ECX] = GPR(X86_RCX), [X86_REG_EDX] = GPR(X86_RDX),
    [X86_REG_EBX] = GPR(X86_RBX), [X86_REG_ESP] = GPR(X86_RSP), [X86_REG_EBP] = GPR(X86_RBP),
    [X86_REG_ESI] = GPR(X86_RSI), [X86_REG_EDI] = GPR(X86_RDI),
    [X86_REG_RAX] = GPR(X86_RAX), [X86_REG_RCX] = GPR(X86_RCX), [X86_REG_RDX] = GPR(X86_RDX),
    [X86_REG_RBX] = GPR(X86_RBX), [X86_REG_RSP] = GPR(X86_RSP), [X86_REG_RBP] = GPR(X86_RBP),
    [X86_REG_RSI] = GPR(X86_RSI), [X86_REG_RDI] = GPR(X86_RDI),
    [X86_REG_R8] = GPR(8), [X86_REG_R9] = GPR(9), [X86_REG_R10] = GPR(10), [X86_REG_R11] = GPR(11),
    [X86_REG_R12] = GPR(12), [X86_REG_R13] = GPR(13), [X86_REG_R14] = GPR(14), [X86_REG_R15] = GPR(15),
    [X86_REG_R8B] = GPR(8), [X86_REG_R9B] = GPR(9), [X86_REG_R10B] = GPR(10), [X86_REG_R11B] = GPR(11),
    [X86_REG_R12B] = GPR(12), [X86_REG_R13B] = GPR(13), [X86_REG_R14B] = GPR(14), [X86_REG_R15B] = GPR(15),
    [X86_REG_R8W] = GPR(8), [X86_REG_R9W] = GPR(9), [X86_REG_R10W] = GPR(10), [X86_REG_R11W] = GPR(11),
    [X86_REG_R12W] = GPR(12), [X86_REG_R13W] = GPR(13), [X86_REG_R14W] = GPR(14), [X86_REG_R15W] = GPR(15),
    [X86_REG_R8D] = GPR(8), [X86_REG_R9D] = GPR(9), [X86_REG_R10D] = GPR(10), [X86_REG_R11D] = GPR(11),
    [X86_REG_R12D] = GPR(12), [X86_REG_R13D] = GPR(13), [X86_REG_R14D] = GPR(14), [X86_REG_R15D] = GPR(15),
    [X86_REG_ES] = { X86_RC_SEG, X86_ES }, [X86_REG_CS] = { X86_RC_SEG, X86_CS },
    [X86_REG_SS] = { X86_RC_SEG, X86_SS }, [X86_REG_DS] = { X86_RC_SEG, X86_DS },
    [X86_REG_FS] = { X86_RC_SEG, X86_FS }, [X86_REG_GS] = { X86_RC_SEG, X86_GS },
    [X86_REG_RIP] = { X86_RC_RIP, 0 }, [X86_REG_EIP] = { X86_RC_RIP, 0 }, [X86_REG_IP] = { X86_RC_RIP, 0 },
    [X86_REG_CR0] = { X86_RC_CR, 0 }, [X86_REG_CR1] = { X86_RC_CR, 1 }, [X86_REG_CR2] = { X86_RC_CR, 2 },
    [X86_REG_CR3] = { X86_RC_CR, 3 }, [X86_REG_CR4] = { X86_RC_CR, 4 }, [X86_REG_CR5] = { X86_RC_CR, 5 },
    [X86_REG_CR6] = { X86_RC_CR, 6 }, [X86_REG_CR7] = { X86_RC_CR, 7 }, [X86_REG_CR8] = { X86_RC_CR, 8 },
    [X86_REG_DR0] = { X86_RC_DR, 0 }, [X86_REG_DR1] = { X86_RC_DR, 1 }, [X86_REG_DR2] = { X86_RC_DR, 2 },
    [X86_REG_DR3] = { X86_RC_DR, 3 }, [X86_REG_DR4] = { X86_RC_DR, 4 }, [X86_REG_DR5] = { X86_RC_DR, 5 },
    [X86_REG_DR6] = { X86_RC_DR, 6 }, [X86_REG_DR7] = { X86_RC_DR, 7 },
    [X86_REG_XMM0] = { X86_RC_XMM, 0 }, [X86_REG_XMM1] = { X86_RC_XMM, 1 }, [X86_REG_XMM2] = { X86_RC_XMM, 2 },
    [X86_REG_XMM3] = { X86_RC_XMM, 3 }, [X86_REG_XMM4] = { X86_RC_XMM, 4 }, [X86_REG_XMM5] = { X86_RC_XMM, 5 },
    [X86_REG_XMM6] = { X86_RC_XMM, 6 }, [X86_REG_XMM7] = { X86_RC_XMM, 7 }, [X86_REG_XMM8] = { X86_RC_XMM, 8 },
    [X86_REG_XMM9] = { X86_RC_XMM, 9 }, [X86_REG_XMM10] = { X86_RC_XMM, 10 },
    [X86_REG_XMM11] = { X86_RC_XMM, 11 }, [X86_REG_XMM12] = { X86_RC_XMM, 12 },
    [X86_REG_XMM13] = { X86_RC_XMM, 13 }, [X86_REG_XMM14] = { X86_RC_XMM, 14 },
    [X86_REG_XMM15] = { X86_RC_XMM, 15 },
    [X86_REG_ST0] = { X86_RC_ST, 0 }, [X86_REG_ST1] = { X86_RC_ST, 1 }, [X86_REG_ST2] = { X86_RC_ST, 2 },
    [X86_REG_ST3] = { X86_RC_ST, 3 }, [X86_REG_ST4] = { X86_RC_ST, 4 }, [X86_REG_ST5] = { X86_RC_ST, 5 },
    [X86_REG_ST6] = { X86_RC_ST, 6 }, [X86_REG_ST7] = { X86_RC_ST, 7 },
    [X86_REG_MM0] = { X86_RC_MMX, 0 }, [X86_REG_MM1] = { X86_RC_MMX, 1 }, [X86_REG_MM2] = { X86_RC_MMX, 2 },
    [X86_REG_MM3] = { X86_RC_MMX, 3 }, [X86_REG_MM4] = { X86_RC_MMX, 4 }, [X86_REG_MM5] = { X86_RC_MMX, 5 },
    [X86_REG_MM6] = { X86_RC_MMX, 6 }, [X86_REG_MM7] = { X86_RC_MMX, 7 },
    [X86_REG_YMM0] = { X86_RC_YMM, 0 }, [X86_REG_YMM1] = { X86_RC_YMM, 1 }, [X86_REG_YMM2] = { X86_RC_YMM, 2 },
    [X86_REG_YMM3] = { X86_RC_YMM, 3 }, [X86_REG_YMM4] = { X86_RC_YMM, 4 }, [X86_REG_YMM5] = { X86_RC_YMM, 5 },
    [X86_REG_YMM6] = { X86_RC_YMM, 6 }, [X86_REG_YMM7] = { X86_RC_YMM, 7 }, [X86_REG_YMM8] = { X86_RC_YMM, 8 },
    [X86_REG_YMM9] = { X86_RC_YMM, 9 }, [X86_REG_YMM10] = { X86_RC_YMM, 10 },
    [X86_REG_YMM11] = { X86_RC_YMM, 11 }, [X86_REG_YMM12] = { X86_RC_YMM, 12 },
    [X86_REG_YMM13] = { X86_RC_YMM, 13 }, [X86_REG_YMM14] = { X86_RC_YMM, 14 },
    [X86_REG_YMM15] = { X86_RC_YMM, 15 },
};

static const cs_mode cs_mode_of[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };

/* One handle per code size and thread: Capstone handles are not shared across
 * threads, and each vCPU runs on its own. They live in a per-thread block that a
 * pthread key closes when the thread exits (threads that run a vCPU for a while and
 * end are common: one leaked set per thread adds up). */
struct cs_thread {
    csh handle[3];
    cs_insn *insn[3];
};

static pthread_key_t cs_key;
static _Thread_local struct cs_thread *tl_cs;

static void cs_thread_free(void *arg)
{
    struct cs_thread *t = arg;
    for (int i = 0; i < 3; i++) {
        if (t->insn[i])
            cs_free(t->insn[i], 1);
        if (t->handle[i])
            cs_close(&t->handle[i]);
    }
    free(t);
    tl_cs = NULL;
}

static void decode_once(void)
{
    op_table_init();
    pthread_key_create(&cs_key, cs_thread_free);
}

static cs_insn *handle_for(enum x86_code_size mode, csh *h)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, decode_once);
    if (!tl_cs) {
        struct cs_thread *t = calloc(1, sizeof(*t));
        if (!t || pthread_setspecific(cs_key, t) != 0) {
            free(t);
            return NULL;
        }
        tl_cs = t;
    }
    if (!tl_cs->handle[mode]) {
        csh nh;
        if (cs_open(CS_ARCH_X86, cs_mode_of[mode], &nh) != CS_ERR_OK)
            return NULL;
        cs_option(nh, CS_OPT_DETAIL, CS_OPT_ON);
        cs_insn *ins = cs_malloc(nh);
        if (!ins) {
            cs_close(&nh);
            return NULL;
        }
        tl_cs->handle[mode] = nh;
        tl_cs->insn[mode] = ins;
    }
    *h = tl_cs->handle[mode];
    return tl_cs->insn[mode];
}

static bool map_reg(unsigned csreg, struct x86_regref *out)
{
    if (csreg == X86_REG_INVALID || csreg >= X86_REG_ENDING || reg_map[csreg].cls == X86_RC_NONE)
        return false;
    *out = reg_map[csreg];
    return true;
}

static bool uses_stack_base(const struct x86_regref *base)
{
    return base->cls == X86_RC_GPR && (base->num == X86_RSP || base->num == X86_RBP);
}

static bool map_operand(const cs_x86_op *src, struct x86_operand *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->size = src->size;
    switch (src->type) {
    case X86_OP_REG:
        dst->kind = X86_OPND_REG;
        return map_reg(src->reg, &dst->reg);
    case X86_OP_IMM:
        dst->kind = X86_OPND_IMM;
        dst->imm = (uint64_t)src->imm;
        return true;
    case X86_OP_MEM:
        dst->kind = X86_OPND_MEM;
        if (src->mem.base != X86_REG_INVALID && !map_reg(src->mem.base, &dst->mem.base))
            return false;
        if (src->mem.index != X86_REG_INVALID && !map_reg(src->mem.index, &dst->mem.index))
            return false;
        dst->mem.scale = (uint8_t)src->mem.scale;
        dst->mem.disp = src->mem.disp;
        if (src->mem.segment != X86_REG_INVALID) {
            struct x86_regref s;
            if (!map_reg(src->mem.segment, &s) || s.cls != X86_RC_SEG)
                return false;
            dst->mem.seg = s.num;
            dst->mem.seg_override = true;
        } else {
            dst->mem.seg = uses_stack_base(&dst->mem.base) ? X86_SS : X86_DS;
        }
        return true;
    default:
        return false;
    }
}

/* Prefixes from the raw bytes: Capstone 4.0.2 loses 66h in some orders (66 F2 ..),
 * so the legacy prefixes are scanned here and REX taken from Capstone. In 64-bit
 * code a REX byte followed by a legacy prefix is ignored (Capstone reports no REX
 * then), so REX bytes do not end the scan. */
#define REX_FIRST 0x40u
#define REX_LAST 0x4fu
static uint8_t prefixes_of(enum x86_code_size mode, const cs_x86 *d, const uint8_t *bytes, unsigned len)
{
    uint8_t p = 0;
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = bytes[i];
        if (mode == X86_CODE64 && b >= REX_FIRST && b <= REX_LAST)
            continue;
        if (b == 0xf0)
            p |= X86_PFX_LOCK;
        else if (b == 0xf3)
            p = (uint8_t)((p & ~X86_PFX_REPNE) | X86_PFX_REP);
        else if (b == 0xf2)
            p = (uint8_t)((p & ~X86_PFX_REP) | X86_PFX_REPNE);
        else if (b == 0x66)
            p |= X86_PFX_OPSIZE;
        else if (b == 0x67)
            p |= X86_PFX_ADDRSIZE;
        else if (b != 0x26 && b != 0x2e && b != 0x36 && b != 0x3e && b != 0x64 && b != 0x65)
            break;
    }
    if (d->rex & 0x8)
        p |= X86_PFX_REX_W;
    return p;
}

/* Operand size when operand 0 does not say it (string ops, PUSHF ...). */
static uint8_t default_op_size(enum x86_code_size mode, uint8_t pfx)
{
    if (pfx & X86_PFX_REX_W)
        return 8;
    bool big = mode != X86_CODE16;
    if (pfx & X86_PFX_OPSIZE)
        big = !big;
    return big ? 4 : 2;
}

/* Where Capstone 4.0.2 disagrees with the SDM: the short XCHG (90+r) with both
 * 66h and 67h, 66h combined with F2h/F3h on integer instructions, 90 with REX.B
 * (XCHG r8, not NOP), and MOVSXD without REX.W. */
#define OPC_XCHG_SHORT_FIRST 0x91
#define OPC_XCHG_SHORT_LAST 0x97
static void fix_capstone_sizes(enum x86_code_size mode, struct x86_dinsn *in, uint8_t rex)
{
    if (in->op == X86_I_XCHG && in->opcode[0] >= OPC_XCHG_SHORT_FIRST && in->opcode[0] <= OPC_XCHG_SHORT_LAST &&
        in->nops == 2) {
        uint8_t size = default_op_size(mode, in->prefixes);
        in->o[0].size = in->o[1].size = size;
    }
    /* 66h next to F2h/F3h: Capstone drops the 66h from GPR operand sizes. */
    bool rep = (in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
    if (mode != X86_CODE16 && rep && (in->prefixes & X86_PFX_OPSIZE) && !(in->prefixes & X86_PFX_REX_W) &&
        in->op != X86_I_CRC32)   /* CRC32's destination is r32/r64 whatever 66h says */
        for (unsigned i = 0; i < in->nops; i++)
            if (((in->o[i].kind == X86_OPND_REG && in->o[i].reg.cls == X86_RC_GPR) ||
                 in->o[i].kind == X86_OPND_MEM) && in->o[i].size == 4)
                in->o[i].size = 2;
    /* 90 with REX.B is XCHG rAX, r8 (Capstone says NOP). */
    if (in->op == X86_I_NOP && in->opcode[0] == 0x90 && (rex & 1) && in->nops == 0) {
        uint8_t size = default_op_size(mode, in->prefixes);
        in->op = X86_I_XCHG;
        in->nops = 2;
        in->o[0] = (struct x86_operand){ .kind = X86_OPND_REG, .size = size, .reg = { X86_RC_GPR, 8 } };
        in->o[1] = (struct x86_operand){ .kind = X86_OPND_REG, .size = size, .reg = { X86_RC_GPR, X86_RAX } };
    }
    /* F3 0F BC/BD are TZCNT/LZCNT; Capstone reports BSF/BSR outside 64-bit mode. */
    if ((in->op == X86_I_BSF || in->op == X86_I_BSR) && (in->prefixes & X86_PFX_REP))
        in->op = in->op == X86_I_BSF ? X86_I_TZCNT : X86_I_LZCNT;
    /* COMISS/COMISD read m32/m64; Capstone 4.0.2 says xmmword (UCOMISx are right). */
    if ((in->op == X86_I_COMISS || in->op == X86_I_COMISD) && in->nops == 2 && in->o[1].kind == X86_OPND_MEM)
        in->o[1].size = in->op == X86_I_COMISS ? 4 : 8;
    /* F3 0F C7 /7 with a register is RDPID (Capstone 4.0.2 says RDSEED): r64 in
     * 64-bit mode, r32 elsewhere. */
    if (in->op == X86_I_RDSEED && (in->prefixes & X86_PFX_REP) && in->nops == 1) {
        in->op = X86_I_RDPID;
        in->o[0].size = mode == X86_CODE64 ? 8 : 4;
    }
    /* MOVSXD without REX.W has a 32-bit (or 16-bit) destination: a plain move. */
    if (in->op == X86_I_MOVSXD && !(in->prefixes & X86_PFX_REX_W) && in->nops == 2)
        in->o[0].size = default_op_size(mode, in->prefixes);
}

/* SSE mandatory prefixes: Capstone 4.0.2 decodes e.g. F2 0F 29 as MOVAPS, which the
 * processor rejects (#UD). The effective prefix is the last of F2/F3, else 66. */
enum { MP_ANY = 0, MP_NONE, MP_66, MP_F3, MP_F2 };
static const uint8_t mandatory_prefix[X86_I_COUNT] = {
#define P(op, mp) [X86_I_##op] = mp,
    P(MOVAPS, MP_NONE) P(MOVUPS, MP_NONE) P(MOVNTPS, MP_NONE) P(XORPS, MP_NONE) P(ANDPS, MP_NONE)
    P(ANDNPS, MP_NONE) P(ORPS, MP_NONE) P(ADDPS, MP_NONE) P(SUBPS, MP_NONE) P(MULPS, MP_NONE)
    P(DIVPS, MP_NONE) P(MOVMSKPS, MP_NONE) P(UCOMISS, MP_NONE) P(COMISS, MP_NONE)
    P(MOVAPD, MP_66) P(MOVUPD, MP_66) P(MOVDQA, MP_66) P(MOVNTDQ, MP_66) P(MOVNTPD, MP_66) P(XORPD, MP_66)
    P(ANDPD, MP_66) P(ANDNPD, MP_66) P(ORPD, MP_66) P(ADDPD, MP_66) P(SUBPD, MP_66) P(MULPD, MP_66)
    P(DIVPD, MP_66) P(MOVMSKPD, MP_66) P(UCOMISD, MP_66) P(COMISD, MP_66) P(PSHUFD, MP_66)
    P(PSLLDQ, MP_66) P(PSRLDQ, MP_66) P(PUNPCKLQDQ, MP_66) P(PUNPCKHQDQ, MP_66)
    P(MOVDQU, MP_F3) P(MOVSS, MP_F3) P(ADDSS, MP_F3) P(SUBSS, MP_F3) P(MULSS, MP_F3) P(DIVSS, MP_F3)
    P(MINSS, MP_F3) P(MAXSS, MP_F3) P(SQRTSS, MP_F3) P(CVTSS2SD, MP_F3) P(CVTSI2SS, MP_F3) P(CVTTSS2SI, MP_F3)
    P(ADDSD, MP_F2) P(SUBSD, MP_F2) P(MULSD, MP_F2) P(DIVSD, MP_F2) P(MINSD, MP_F2) P(MAXSD, MP_F2)
    P(SQRTSD, MP_F2) P(CVTSD2SS, MP_F2) P(CVTSI2SD, MP_F2) P(CVTTSD2SI, MP_F2)
    P(CVTSS2SI, MP_F3) P(CVTSD2SI, MP_F2) P(SHUFPS, MP_NONE) P(PSHUFLW, MP_F2) P(PSHUFHW, MP_F3)
    P(UNPCKLPS, MP_NONE) P(UNPCKHPS, MP_NONE) P(UNPCKLPD, MP_66) P(UNPCKHPD, MP_66) P(MOVLPS, MP_NONE)
    P(MOVHPS, MP_NONE) P(MOVLPD, MP_66) P(MOVHPD, MP_66) P(MOVHLPS, MP_NONE) P(MOVLHPS, MP_NONE)
    P(CMPEQPS, MP_NONE) P(CMPLTPS, MP_NONE) P(CMPLEPS, MP_NONE) P(CMPUNORDPS, MP_NONE) P(CMPNEQPS, MP_NONE)
    P(CMPNLTPS, MP_NONE) P(CMPNLEPS, MP_NONE) P(CMPORDPS, MP_NONE) P(CMPEQPD, MP_66) P(CMPLTPD, MP_66)
    P(CMPLEPD, MP_66) P(CMPUNORDPD, MP_66) P(CMPNEQPD, MP_66) P(CMPNLTPD, MP_66) P(CMPNLEPD, MP_66)
    P(CMPORDPD, MP_66) P(CMPEQSS, MP_F3) P(CMPLTSS, MP_F3) P(CMPLESS, MP_F3) P(CMPUNORDSS, MP_F3)
    P(CMPNEQSS, MP_F3) P(CMPNLTSS, MP_F3) P(CMPNLESS, MP_F3) P(CMPORDSS, MP_F3) P(CMPEQSD, MP_F2)
    P(CMPLTSD, MP_F2) P(CMPLESD, MP_F2) P(CMPUNORDSD, MP_F2) P(CMPNEQSD, MP_F2) P(CMPNLTSD, MP_F2)
    P(CMPNLESD, MP_F2) P(CMPORDSD, MP_F2) P(CMPPS, MP_NONE) P(CMPPD, MP_66) P(CMPSS, MP_F3) P(MINPS, MP_NONE)
    P(MAXPS, MP_NONE) P(MINPD, MP_66) P(MAXPD, MP_66) P(SQRTPS, MP_NONE) P(SQRTPD, MP_66) P(CVTDQ2PS, MP_NONE)
    P(CVTPS2DQ, MP_66) P(CVTTPS2DQ, MP_F3) P(CVTDQ2PD, MP_F3) P(CVTPD2DQ, MP_F2) P(CVTTPD2DQ, MP_66)
    P(CVTPS2PD, MP_NONE) P(CVTPD2PS, MP_66) P(MOVSHDUP, MP_F3) P(MOVSLDUP, MP_F3) P(MOVDDUP, MP_F2)
    P(HADDPS, MP_F2) P(HADDPD, MP_66) P(HSUBPS, MP_F2) P(HSUBPD, MP_66) P(ADDSUBPS, MP_F2) P(ADDSUBPD, MP_66)
    P(PADDSB, MP_66) P(PADDSW, MP_66) P(PSUBSB, MP_66) P(PSUBSW, MP_66) P(PADDUSB, MP_66) P(PADDUSW, MP_66)
    P(PSUBUSB, MP_66) P(PSUBUSW, MP_66) P(PMINSB, MP_66) P(PMINSW, MP_66) P(PMINSD, MP_66) P(PMAXSB, MP_66)
    P(PMAXSW, MP_66) P(PMAXSD, MP_66) P(PMINUW, MP_66) P(PMINUD, MP_66) P(PMAXUW, MP_66) P(PMAXUD, MP_66)
    P(PMULLD, MP_66) P(PMULHW, MP_66) P(PMULHUW, MP_66) P(PMULHRSW, MP_66) P(PCMPEQQ, MP_66) P(PCMPGTQ, MP_66)
    P(PAVGB, MP_66) P(PAVGW, MP_66) P(PSIGNB, MP_66) P(PSIGNW, MP_66) P(PSIGND, MP_66) P(PABSB, MP_66)
    P(PABSW, MP_66) P(PABSD, MP_66) P(PHADDW, MP_66) P(PHADDD, MP_66) P(PHADDSW, MP_66) P(PHSUBW, MP_66)
    P(PHSUBD, MP_66) P(PHSUBSW, MP_66) P(PACKSSWB, MP_66) P(PACKSSDW, MP_66) P(PACKUSWB, MP_66)
    P(PACKUSDW, MP_66) P(PSHUFB, MP_66) P(PMULUDQ, MP_66) P(PMULDQ, MP_66) P(PMADDWD, MP_66)
    P(PMADDUBSW, MP_66) P(PSADBW, MP_66) P(ROUNDPS, MP_66) P(ROUNDPD, MP_66) P(ROUNDSS, MP_66)
    P(ROUNDSD, MP_66) P(SHUFPD, MP_66) P(INSERTPS, MP_66) P(PALIGNR, MP_66) P(PBLENDW, MP_66)
    P(BLENDPS, MP_66) P(BLENDPD, MP_66) P(PBLENDVB, MP_66) P(BLENDVPS, MP_66) P(BLENDVPD, MP_66)
    P(PTEST, MP_66) P(PMOVZXBW, MP_66) P(PMOVSXBW, MP_66) P(PMOVZXBD, MP_66) P(PMOVSXBD, MP_66)
    P(PMOVZXBQ, MP_66) P(PMOVSXBQ, MP_66) P(PMOVZXWD, MP_66) P(PMOVSXWD, MP_66) P(PMOVZXWQ, MP_66)
    P(PMOVSXWQ, MP_66) P(PMOVZXDQ, MP_66) P(PMOVSXDQ, MP_66) P(PEXTRB, MP_66) P(PEXTRW, MP_66)
    P(PEXTRD, MP_66) P(PEXTRQ, MP_66) P(EXTRACTPS, MP_66) P(PINSRB, MP_66) P(PINSRW, MP_66) P(PINSRD, MP_66)
    P(PINSRQ, MP_66) P(LDDQU, MP_F2) P(MOVNTDQA, MP_66)
    P(DPPS, MP_66) P(DPPD, MP_66) P(MPSADBW, MP_66) P(PHMINPOSUW, MP_66)
    /* SSE4.2 */
    P(CRC32, MP_F2) P(PCMPESTRI, MP_66) P(PCMPESTRM, MP_66) P(PCMPISTRI, MP_66) P(PCMPISTRM, MP_66)
    P(LDMXCSR, MP_NONE) P(STMXCSR, MP_NONE) P(FXSAVE, MP_NONE) P(FXSAVE64, MP_NONE) P(FXRSTOR, MP_NONE)
    P(FXRSTOR64, MP_NONE)
    P(PSHUFW, MP_NONE) P(MOVNTQ, MP_NONE) P(MOVQ2DQ, MP_F3) P(MOVDQ2Q, MP_F2) P(MASKMOVQ, MP_NONE)
    P(CVTPI2PS, MP_NONE) P(CVTPI2PD, MP_66) P(CVTPS2PI, MP_NONE) P(CVTTPS2PI, MP_NONE) P(CVTPD2PI, MP_66)
    P(CVTTPD2PI, MP_66) P(EMMS, MP_NONE) P(MASKMOVDQU, MP_66)
    P(AESENC, MP_66) P(AESENCLAST, MP_66) P(AESDEC, MP_66) P(AESDECLAST, MP_66) P(AESIMC, MP_66)
    P(AESKEYGENASSIST, MP_66) P(PCLMULQDQ, MP_66) P(SHA1RNDS4, MP_NONE) P(SHA1NEXTE, MP_NONE)
    P(SHA1MSG1, MP_NONE) P(SHA1MSG2, MP_NONE) P(SHA256RNDS2, MP_NONE) P(SHA256MSG1, MP_NONE)
    P(SHA256MSG2, MP_NONE) P(RCPPS, MP_NONE) P(RCPSS, MP_F3) P(RSQRTPS, MP_NONE) P(RSQRTSS, MP_F3)
#undef P
};

/* The ids only MMX forms have: their table entry stands even with MMX operands. */
static bool mmx_only_id(unsigned op)
{
    return op == X86_I_PSHUFW || op == X86_I_MOVNTQ || op == X86_I_MOVQ2DQ || op == X86_I_MOVDQ2Q ||
           op == X86_I_MASKMOVQ || op == X86_I_CVTPI2PS || op == X86_I_CVTPI2PD || op == X86_I_CVTPS2PI ||
           op == X86_I_CVTTPS2PI || op == X86_I_CVTPD2PI || op == X86_I_CVTTPD2PI || op == X86_I_EMMS;
}

static bool mandatory_prefix_ok(const struct x86_dinsn *in)
{
    unsigned want = mandatory_prefix[in->op];
    /* An SSE id on MMX registers is the form without a mandatory prefix. */
    for (unsigned i = 0; i < in->nops && want != MP_ANY && !mmx_only_id(in->op); i++)
        if (in->o[i].kind == X86_OPND_REG && in->o[i].reg.cls == X86_RC_MMX)
            want = MP_NONE;
    unsigned have = (in->prefixes & X86_PFX_REP) ? MP_F3 : (in->prefixes & X86_PFX_REPNE) ? MP_F2
                    : (in->prefixes & X86_PFX_OPSIZE) ? MP_66 : MP_NONE;
    if (want == MP_ANY)
        return true;
    return want == have;
}

#define VEX3 0xc4u
#define VEX2 0xc5u
#define EVEX 0x62u

static bool legacy_prefix(uint8_t b)
{
    return b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x66 || b == 0x67 || b == 0x26 || b == 0x2e || b == 0x36 ||
           b == 0x3e || b == 0x64 || b == 0x65;
}

static bool rex_byte(enum x86_code_size mode, uint8_t b)
{
    return mode == X86_CODE64 && b >= REX_FIRST && b <= REX_LAST;
}

/* A REX byte counts only right before the opcode (or its 0F escape); one anywhere
 * else among the prefixes is ignored (SDM vol. 2A 2.2.1). Capstone 4.0.2 drops the
 * mandatory prefix or fails when two REX bytes follow each other (66 43 4D 41 0F 51 is
 * SQRTPD xmm0, xmm10; it says SQRTPS), so the ignored ones are left out of what it
 * decodes: out holds the rest, and the count left out is returned (0: nothing). */
static unsigned drop_ignored_rex(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint8_t *out)
{
    unsigned i = 0, k = 0;
    while (i < n && (legacy_prefix(bytes[i]) || rex_byte(mode, bytes[i]))) {
        bool ignored = rex_byte(mode, bytes[i]) && i + 1 < n &&
                       (legacy_prefix(bytes[i + 1]) || rex_byte(mode, bytes[i + 1]));
        if (!ignored)
            out[k++] = bytes[i];
        i++;
    }
    if (k == i)
        return 0;
    memcpy(out + k, bytes + i, n - i);
    return i - k;
}

/* Forms Capstone 4.0.2 rejects, rewritten to an equivalent it decodes (same length,
 * same operands), or false when there is none:
 * - 0F 18..1F with a register operand (hint NOPs: Capstone takes only some of them)
 *   and 0F 0D with any operand (PREFETCHW's row: /1 is decoded, the rest are hints
 *   too on parts with PREFETCHW) become 0F 19, a NOP with the same ModRM;
 * - F2 before 66 on 0F 38 F0/F1 (CRC32 with a 16-bit source) becomes 66 before F2. */
#define OPC_HINT_FIRST 0x18u
#define OPC_HINT_LAST 0x1fu
#define OPC_PREFETCH_ROW 0x0du
#define OPC_HINT_NOP 0x19u
#define OPC_VBROADCASTI128 0x5au
#define OPC_VBROADCASTF128 0x1au
static bool rewrite_for_capstone(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint8_t *out)
{
    unsigned i = 0;
    bool f2_before_66 = false, seen_f2 = false;
    while (i < n && i < X86_MAX_INSN_LEN &&
           (legacy_prefix(bytes[i]) || (mode == X86_CODE64 && bytes[i] >= REX_FIRST && bytes[i] <= REX_LAST))) {
        seen_f2 |= bytes[i] == 0xf2;
        f2_before_66 |= seen_f2 && bytes[i] == 0x66;
        i++;
    }
    if (i + 3 > n)
        return false;
    memcpy(out, bytes, n < X86_MAX_INSN_LEN ? n : X86_MAX_INSN_LEN);
    uint8_t op = bytes[i + 1], modrm = bytes[i + 2];
    if (bytes[i] == 0x0f && ((op >= OPC_HINT_FIRST && op <= OPC_HINT_LAST && (modrm >> 6) == 3) ||
                             (op == OPC_PREFETCH_ROW && (modrm >> 6) != 3))) {
        out[i + 1] = OPC_HINT_NOP;
        return true;
    }
    /* VBROADCASTI128 (C4 mmmmm=0F38 W0 L1 pp=66, opcode 5A, memory) becomes
     * VBROADCASTF128 (1A): the same operation. */
    if (mode == X86_CODE64 && bytes[i] == VEX3 && i + 5 <= n && (bytes[i + 1] & 0x1f) == 2 &&
        (bytes[i + 2] & 0x87) == 0x05 && bytes[i + 3] == OPC_VBROADCASTI128 && (bytes[i + 4] >> 6) != 3) {
        out[i + 3] = OPC_VBROADCASTF128;
        return true;
    }
    if (f2_before_66 && i + 4 <= n && bytes[i] == 0x0f && bytes[i + 1] == 0x38 && (bytes[i + 2] & 0xfe) == 0xf0) {
        unsigned k = 0;
        for (unsigned j = 0; j < i; j++)   /* the other prefixes in order, F2 last */
            if (bytes[j] != 0xf2)
                out[k++] = bytes[j];
        out[k++] = 0xf2;
        return k == i;
    }
    return false;
}

/* VCMPPS/PD/SS/SD: Capstone names each of the 32 predicates as its own id
 * (vcmpeq_osps ...) and gives the predicate as avx_cc; they become one op each with
 * the predicate as a trailing imm8 operand, as the generic encoding has it. */
static bool vcmp_form(const char *mnemonic, unsigned avx_cc, struct x86_dinsn *out)
{
    size_t n = strlen(mnemonic);
    if (strncmp(mnemonic, "vcmp", 4) != 0 || n < 6 || out->nops >= X86_MAX_OPERANDS)
        return true;
    const char *t = mnemonic + n - 2;
    out->op = !strcmp(t, "ps") ? X86_I_VCMPPS : !strcmp(t, "pd") ? X86_I_VCMPPD : !strcmp(t, "ss") ? X86_I_VCMPSS
                                                                                                   : X86_I_VCMPSD;
    if (out->nops && out->o[out->nops - 1].kind == X86_OPND_IMM)
        return true;   /* the generic form kept its imm8 */
    out->o[out->nops++] = (struct x86_operand){ .kind = X86_OPND_IMM, .size = 1, .imm = avx_cc - 1 };
    return true;
}

bool x86_decode(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint64_t ip, struct x86_dinsn *out)
{
    int evex = x86_decode_evex(mode, bytes, n, out, NULL);   /* EVEX and VEX opmask forms: ours */
    if (evex >= 0)
        return evex == 1;
    csh h;
    cs_insn *ins = handle_for(mode, &h);
    if (!ins)
        return false;
    const uint8_t *orig = bytes;
    unsigned m = n < X86_MAX_INSN_LEN ? n : X86_MAX_INSN_LEN;
    uint8_t plain[X86_MAX_INSN_LEN];
    /* Capstone sees the instruction without its ignored REX bytes, at the address
     * after them, so that relative targets still count from the instruction's end. */
    unsigned dropped = drop_ignored_rex(mode, bytes, m, plain);
    if (dropped)
        bytes = plain, n = m - dropped, ip += dropped;
    const uint8_t *code = bytes;
    size_t size = n;
    uint64_t addr = ip;
    uint8_t fixed[X86_MAX_INSN_LEN];
    bool ok = cs_disasm_iter(h, &code, &size, &addr, ins);
    /* F2 66 0F 38 F0/F1 with memory: Capstone says MOVBE (its 66 form), but F2 makes it
     * CRC32. */
    if (ok && ins->id == X86_INS_MOVBE && memchr(ins->bytes, 0xf2, ins->size))
        ok = false;
    if (!ok) {
        unsigned k = n < X86_MAX_INSN_LEN ? n : X86_MAX_INSN_LEN;
        if (!rewrite_for_capstone(mode, bytes, k, fixed))
            return false;
        code = fixed, size = k, addr = ip;
        if (!cs_disasm_iter(h, &code, &size, &addr, ins))
            return false;
    }
    if (ins->size + dropped > X86_MAX_INSN_LEN)
        return false;
    const cs_x86 *d = &ins->detail->x86;
    memset(out, 0, sizeof(*out));
    out->cs_id = (uint16_t)ins->id;
    out->op = ins->id < X86_INS_ENDING ? op_of_cs[ins->id] : X86_I_INVALID;
    out->len = (uint8_t)(ins->size + dropped);
    memcpy(out->bytes, orig, out->len);   /* as the guest has them */
    out->addr_size = d->addr_size;
    out->prefixes = prefixes_of(mode, d, ins->bytes, ins->size);
    memcpy(out->opcode, d->opcode, sizeof(out->opcode));
    out->modrm = d->modrm;
    if (d->op_count > X86_MAX_OPERANDS)
        return false;
    out->nops = d->op_count;
    for (unsigned i = 0; i < d->op_count; i++)
        if (!map_operand(&d->operands[i], &out->o[i]))
            return false;
    fix_capstone_sizes(mode, out, d->rex);
    out->vex = d->opcode[0] == VEX3 || d->opcode[0] == VEX2;
    /* 66h, F2h, F3h or LOCK before a VEX prefix is #UD (Capstone accepts the first three). */
    if (out->vex && (out->prefixes & (X86_PFX_OPSIZE | X86_PFX_REP | X86_PFX_REPNE | X86_PFX_LOCK)))
        return false;
    if (d->opcode[0] == EVEX && ins->id != X86_INS_BOUND)
        return false;   /* EVEX forms are decode_evex.c's; one it did not claim is #UD */
    if (out->vex && d->avx_cc != X86_AVX_CC_INVALID && !vcmp_form(ins->mnemonic, d->avx_cc, out))
        return false;
    out->op_size = out->nops && out->o[0].size ? out->o[0].size : default_op_size(mode, out->prefixes);
    return out->op != X86_I_INVALID && out->len > 0 && mandatory_prefix_ok(out);
}

void x86_disasm(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint64_t ip, char *out, unsigned outlen)
{
    csh h;
    cs_insn *ins = handle_for(mode, &h);
    if (outlen)
        out[0] = 0;
    if (!ins || !outlen)
        return;
    const uint8_t *code = bytes;
    size_t size = n;
    uint64_t addr = ip;
    if (cs_disasm_iter(h, &code, &size, &addr, ins))
        snprintf(out, outlen, "%s %s", ins->mnemonic, ins->op_str);
}
