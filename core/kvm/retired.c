/* KVM backend: exits whose instruction KVM already retired. KVM's instruction
 * emulator finishes an MMIO store, and (where it emulates the guest, e.g. real
 * mode without unrestricted guest, or a paravirtual KVM's CPL0) an OUT/OUTS, before
 * it exits to user space; RIP is then past the instruction and string registers
 * have moved. VMX reports those exits before the instruction. This file finds the
 * instruction that ends at RIP and matches the exit (kind, size, port or address,
 * data), preferring the shortest such encoding (bytes before an instruction, such
 * as an immediate full of 0x4x, often decode as redundant REX prefixes), and
 * computes the registers as they were before it. Ambiguity left: a prefix that
 * changes neither size, address nor data (a segment override that adds a zero
 * base, REX.R naming a register equal to the other) is not counted in the length. */
#include "core/kvm/kvm.h"

#include <capstone/capstone.h>
#include <string.h>

#define X86_MAX_INSN_LEN 15u
#define PREFIX_OPSIZE 0x66u
#define PREFIX_REP 0xf3u
#define PREFIX_REPNE 0xf2u
#define OP_OUTS_B 0x6eu
#define OP_OUTS_V 0x6fu
#define OP_OUT_IMM_B 0xe6u
#define OP_OUT_IMM_V 0xe7u
#define OP_OUT_DX_B 0xeeu
#define OP_OUT_DX_V 0xefu
#define OP_MOVS_B 0xa4u
#define OP_MOVS_V 0xa5u
#define OP_STOS_B 0xaau
#define OP_STOS_V 0xabu

/* Where a Capstone register lives in kvm_regs: byte offset and width. */
struct reg_loc {
    uint16_t off;
    uint8_t size;
    uint8_t shift;   /* 8 for AH/BH/CH/DH */
};

#define R64(n, m) [X86_REG_##n] = { offsetof(struct kvm_regs, m), 8, 0 }
#define R32(n, m) [X86_REG_##n] = { offsetof(struct kvm_regs, m), 4, 0 }
#define R16(n, m) [X86_REG_##n] = { offsetof(struct kvm_regs, m), 2, 0 }
#define R8(n, m) [X86_REG_##n] = { offsetof(struct kvm_regs, m), 1, 0 }
#define R8H(n, m) [X86_REG_##n] = { offsetof(struct kvm_regs, m), 1, 8 }
#define RFAM(q, d, w, b, m) R64(q, m), R32(d, m), R16(w, m), R8(b, m)

static const struct reg_loc reg_locs[X86_REG_ENDING] = {
    RFAM(RAX, EAX, AX, AL, rax), RFAM(RBX, EBX, BX, BL, rbx), RFAM(RCX, ECX, CX, CL, rcx),
    RFAM(RDX, EDX, DX, DL, rdx), RFAM(RSI, ESI, SI, SIL, rsi), RFAM(RDI, EDI, DI, DIL, rdi),
    RFAM(RSP, ESP, SP, SPL, rsp), RFAM(RBP, EBP, BP, BPL, rbp), RFAM(R8, R8D, R8W, R8B, r8),
    RFAM(R9, R9D, R9W, R9B, r9), RFAM(R10, R10D, R10W, R10B, r10), RFAM(R11, R11D, R11W, R11B, r11),
    RFAM(R12, R12D, R12W, R12B, r12), RFAM(R13, R13D, R13W, R13B, r13), RFAM(R14, R14D, R14W, R14B, r14),
    RFAM(R15, R15D, R15W, R15B, r15), R8H(AH, rax), R8H(BH, rbx), R8H(CH, rcx), R8H(DH, rdx),
    R64(RIP, rip), R32(EIP, rip), R16(IP, rip),
};

static bool reg_value(const struct kvm_regs *r, x86_reg reg, uint64_t *out)
{
    if (reg <= X86_REG_INVALID || reg >= X86_REG_ENDING || !reg_locs[reg].size)
        return false;
    const struct reg_loc *l = &reg_locs[reg];
    uint64_t v;
    memcpy(&v, (const uint8_t *)r + l->off, sizeof(v));
    v >>= l->shift;
    *out = l->size == 8 ? v : v & ((1ull << (8 * l->size)) - 1);
    return true;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

struct ctx {
    struct vcpu *v;
    const struct kvm_regs *regs;     /* after the instruction */
    const struct kvm_sregs *sregs;
    const struct kvm_retired_exit *e;
    bool lm64;
    uint64_t addr_mask;
};

static uint64_t seg_base(const struct ctx *c, x86_reg seg, x86_reg base)
{
    const struct kvm_sregs *s = c->sregs;
    if (seg == X86_REG_FS)
        return s->fs.base;
    if (seg == X86_REG_GS)
        return s->gs.base;
    if (c->lm64)
        return 0;
    if (seg == X86_REG_ES)
        return s->es.base;
    if (seg == X86_REG_CS)
        return s->cs.base;
    if (seg == X86_REG_SS || (seg == X86_REG_INVALID && (base == X86_REG_ESP || base == X86_REG_EBP ||
                                                         base == X86_REG_SP || base == X86_REG_BP)))
        return s->ss.base;
    return s->ds.base;
}

/* Guest-physical address of an explicit memory operand, evaluated after the
 * instruction (RIP-relative operands use the RIP that ends the instruction). */
static bool mem_gpa(const struct ctx *c, const cs_x86_op *op, uint64_t *gpa)
{
    uint64_t base = 0, index = 0;
    if (op->mem.base != X86_REG_INVALID && !reg_value(c->regs, op->mem.base, &base))
        return false;
    if (op->mem.index != X86_REG_INVALID && !reg_value(c->regs, op->mem.index, &index))
        return false;
    uint64_t ea = (base + index * (uint64_t)op->mem.scale + (uint64_t)op->mem.disp) & c->addr_mask;
    return kvm_linear_to_phys(c->v, c->sregs, seg_base(c, op->mem.segment, op->mem.base) + ea, gpa);
}

static unsigned opsize(const struct ctx *c, const cs_x86 *x, bool byte_op)
{
    if (byte_op)
        return 1;
    bool default16 = !c->lm64 && !c->sregs->cs.db;
    bool o16 = x->prefix[2] == PREFIX_OPSIZE;
    if (c->lm64 && (x->rex & 0x8))
        return 8;
    return (default16 != o16) ? 2 : 4;
}

static int64_t string_step(const struct ctx *c, unsigned size)
{
    return (c->regs->rflags & X86_FLAG_DF) ? -(int64_t)size : (int64_t)size;
}

/* An OUT/OUTS of the exit's port, size and data ending here; fills `pre`. */
static bool match_out(const struct ctx *c, const cs_insn *insn, unsigned k, struct kvm_regs *pre)
{
    const cs_x86 *x = &insn->detail->x86;
    uint8_t op = x->opcode[0];
    uint64_t dx = c->regs->rdx & 0xffff;
    unsigned size = opsize(c, x, !(op & 1));
    if (size == 8)
        size = 4;
    if (x->opcode[1] != 0 || size != c->e->size)
        return false;
    bool rep = x->prefix[0] == PREFIX_REP || x->prefix[0] == PREFIX_REPNE;
    if (op == OP_OUT_IMM_B || op == OP_OUT_IMM_V) {
        if (x->op_count < 1 || x->operands[0].type != X86_OP_IMM || (uint16_t)x->operands[0].imm != c->e->port)
            return false;
    } else if (op == OP_OUT_DX_B || op == OP_OUT_DX_V || op == OP_OUTS_B || op == OP_OUTS_V) {
        if (dx != c->e->port)
            return false;
    } else {
        return false;
    }
    *pre = *c->regs;
    pre->rip -= k;
    if (op == OP_OUTS_B || op == OP_OUTS_V) {
        pre->rsi -= (uint64_t)string_step(c, size);
        if (rep)
            pre->rcx += 1;
    } else if ((c->regs->rax & size_mask(size)) != (c->e->data & size_mask(size))) {
        return false;
    }
    return true;
}

/* A store of the exit's size and data to the exit's address ending here. */
static bool match_store(const struct ctx *c, const cs_insn *insn, unsigned k, struct kvm_regs *pre)
{
    const cs_x86 *x = &insn->detail->x86;
    uint8_t op = x->opcode[0];
    *pre = *c->regs;
    pre->rip -= k;
    if (x->opcode[1] == 0 && (op == OP_STOS_B || op == OP_STOS_V || op == OP_MOVS_B || op == OP_MOVS_V)) {
        unsigned size = opsize(c, x, !(op & 1));
        if (size != c->e->size)
            return false;
        int64_t step = string_step(c, size);
        pre->rdi -= (uint64_t)step;
        if (op == OP_MOVS_B || op == OP_MOVS_V)
            pre->rsi -= (uint64_t)step;
        if (x->prefix[0] == PREFIX_REP || x->prefix[0] == PREFIX_REPNE)
            pre->rcx += 1;
        return true;
    }
    const cs_x86_op *mem = NULL, *src = NULL;
    for (uint8_t i = 0; i < x->op_count; i++) {
        const cs_x86_op *o = &x->operands[i];
        if (o->type == X86_OP_MEM && (o->access & CS_AC_WRITE))
            mem = o;
        else if (o->type == X86_OP_REG || o->type == X86_OP_IMM)
            src = o;
    }
    uint64_t gpa;
    if (!mem || mem->size != c->e->size || !mem_gpa(c, mem, &gpa) || gpa != c->e->gpa)
        return false;
    if (src && insn->id == X86_INS_MOV) {
        uint64_t val = 0;
        if (src->type == X86_OP_IMM)
            val = (uint64_t)src->imm;
        else if (!reg_value(c->regs, src->reg, &val))
            return false;
        if ((val & size_mask(c->e->size)) != (c->e->data & size_mask(c->e->size)))
            return false;
    }
    return true;
}

bool kvm_decode_retired(struct vcpu *v, const struct kvm_regs *regs, const struct kvm_sregs *sregs,
                        const struct kvm_retired_exit *e, struct kvm_insn *out, struct kvm_regs *pre)
{
    struct ctx c = { .v = v, .regs = regs, .sregs = sregs, .e = e };
    c.lm64 = (sregs->efer & X86_EFER_LMA) && sregs->cs.l;
    c.addr_mask = c.lm64 ? ~0ull : sregs->cs.db ? 0xffffffffull : 0xffffull;
    uint64_t end = c.lm64 ? regs->rip : ((sregs->cs.base + regs->rip) & 0xffffffffull);
    /* A REP OUTS that has more elements to go stays on its instruction. */
    if (e->pio && kvm_decode_at_rip(v, regs, sregs, out) && out->string && out->rep) {
        cs_insn *insn = kvm_disasm_at(v, sregs, end, X86_MAX_INSN_LEN, regs->rip);
        bool ok = insn && match_out(&c, insn, 0, pre);
        kvm_disasm_free(insn);
        if (ok)
            return true;
    }
    for (unsigned k = 1; k <= X86_MAX_INSN_LEN; k++) {
        if (regs->rip < k)
            continue;
        cs_insn *insn = kvm_disasm_at(v, sregs, end - k, k, regs->rip - k);
        if (!insn || insn->size != k) {
            kvm_disasm_free(insn);
            continue;
        }
        bool ok = e->pio ? match_out(&c, insn, k, pre) : match_store(&c, insn, k, pre);
        if (ok)
            kvm_decode_classify(insn, out);
        kvm_disasm_free(insn);
        if (ok)
            return true;
    }
    return false;
}
