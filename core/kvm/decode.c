/* KVM backend: what the instruction at the guest's RIP is, for exits whose
 * instruction has not retired (I/O, MMIO, MSR): its length for
 * VMCS_RO_VMEXIT_INSTR_LEN, REP/string/immediate-port facts for the I/O
 * qualification, and which state its completion by KVM could clobber. Bytes are
 * read from guest memory through the pmap, paging walked by KVM_TRANSLATE. */
#include "core/kvm/kvm.h"

#include <capstone/capstone.h>
#include <string.h>
#include <sys/ioctl.h>

#define X86_MAX_INSN_LEN 15u
#define GUEST_PAGE 4096ull
#define PREFIX_REP 0xf3u
#define PREFIX_REPNE 0xf2u
#define MODRM_REG(m) (((m) >> 3) & 7u)
#define REX_R (1u << 2)

enum cs_slot { CS_SLOT_16, CS_SLOT_32, CS_SLOT_64 };

static enum cs_slot mode_of(const struct kvm_sregs *s)
{
    if ((s->efer & X86_EFER_LMA) && s->cs.l)
        return CS_SLOT_64;
    if ((s->cr0 & X86_CR0_PE) && s->cs.db)
        return CS_SLOT_32;
    return CS_SLOT_16;
}

bool kvm_linear_to_phys(struct vcpu *v, const struct kvm_sregs *s, uint64_t linear, uint64_t *gpa)
{
    if (!(s->cr0 & X86_CR0_PG)) {
        *gpa = linear & 0xffffffffull;
        return true;
    }
    struct kvm_translation t = { .linear_address = linear };
    struct kvm_vcpu *kv = v->be;
    if (ioctl(kv->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
        return false;
    *gpa = t.physical_address;
    return true;
}

/* Copy up to `len` guest bytes at linear `la`; returns how many were readable. */
static size_t fetch(struct vcpu *v, const struct kvm_sregs *s, uint64_t la, uint8_t *out, size_t len)
{
    size_t got = 0;
    struct vm *vm = v->vm;
    pthread_mutex_lock(&vm->lock);
    while (got < len) {
        uint64_t gpa;
        if (!kvm_linear_to_phys(v, s, la + got, &gpa))
            break;
        const struct pmap_range *r = pmap_lookup(vm->spaces[0], gpa);
        if (!r)
            break;
        uint64_t in_page = GUEST_PAGE - (gpa & (GUEST_PAGE - 1));
        uint64_t in_range = r->gpa + r->size - gpa;
        size_t n = len - got;
        if (n > in_page)
            n = (size_t)in_page;
        if (n > in_range)
            n = (size_t)in_range;
        memcpy(out + got, r->host + (gpa - r->gpa), n);
        got += n;
    }
    pthread_mutex_unlock(&vm->lock);
    return got;
}

static csh handle_for(struct kvm_vcpu *kv, enum cs_slot slot)
{
    static const cs_mode modes[] = { [CS_SLOT_16] = CS_MODE_16, [CS_SLOT_32] = CS_MODE_32, [CS_SLOT_64] = CS_MODE_64 };
    if (!kv->cs[slot]) {
        csh h;
        if (cs_open(CS_ARCH_X86, modes[slot], &h) != CS_ERR_OK)
            return 0;
        cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
        kv->cs[slot] = (void *)(uintptr_t)h;
    }
    return (csh)(uintptr_t)kv->cs[slot];
}

void kvm_decode_close(struct kvm_vcpu *kv)
{
    for (int i = 0; i < 3; i++) {
        if (kv->cs[i]) {
            csh h = (csh)(uintptr_t)kv->cs[i];
            cs_close(&h);
            kv->cs[i] = NULL;
        }
    }
}

static bool is_string_opcode(uint8_t op)
{
    return (op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

static bool is_vector_reg(x86_reg r)
{
    return (r >= X86_REG_XMM0 && r <= X86_REG_XMM31) || (r >= X86_REG_YMM0 && r <= X86_REG_YMM31) ||
           (r >= X86_REG_ZMM0 && r <= X86_REG_ZMM31) || (r >= X86_REG_ST0 && r <= X86_REG_ST7) ||
           (r >= X86_REG_MM0 && r <= X86_REG_MM7) || (r >= X86_REG_K0 && r <= X86_REG_K7) ||
           r == X86_REG_FPSW;
}

static bool is_seg_reg(x86_reg r)
{
    return r == X86_REG_ES || r == X86_REG_SS || r == X86_REG_DS || r == X86_REG_FS || r == X86_REG_GS;
}

void kvm_decode_classify(const cs_insn *insn, struct kvm_insn *out)
{
    memset(out, 0, sizeof(*out));
    const cs_x86 *x = &insn->detail->x86;
    uint8_t op = x->opcode[0];
    out->len = (uint8_t)insn->size;
    out->string = x->opcode[1] == 0 && is_string_opcode(op);
    out->rep = out->string && (x->prefix[0] == PREFIX_REP || x->prefix[0] == PREFIX_REPNE);
    out->port_imm = op >= 0xe4 && op <= 0xe7;
    out->modrm_reg = (uint8_t)(MODRM_REG(x->modrm) | ((x->rex & REX_R) ? 8u : 0u));
    for (uint8_t i = 0; i < x->op_count; i++) {
        if (x->operands[i].type != X86_OP_REG)
            continue;
        if (is_vector_reg(x->operands[i].reg))
            out->writes_fpu = true;
        if (i == 0 && is_seg_reg(x->operands[i].reg))
            out->writes_sreg = true;
    }
    switch (insn->id) {
    case X86_INS_LDS: case X86_INS_LES: case X86_INS_LFS: case X86_INS_LGS: case X86_INS_LSS:
        out->writes_sreg = true;
        break;
    case X86_INS_FXRSTOR: case X86_INS_FXRSTOR64: case X86_INS_XRSTOR: case X86_INS_XRSTOR64:
    case X86_INS_FRSTOR: case X86_INS_FLDENV: case X86_INS_LDMXCSR: case X86_INS_VLDMXCSR:
        out->writes_fpu = true;
        break;
    default:
        break;
    }
}

cs_insn *kvm_disasm_at(struct vcpu *v, const struct kvm_sregs *s, uint64_t linear, size_t len, uint64_t address)
{
    uint8_t bytes[X86_MAX_INSN_LEN];
    if (len > sizeof(bytes))
        len = sizeof(bytes);
    size_t n = fetch(v, s, linear, bytes, len);
    csh h = handle_for(v->be, mode_of(s));
    if (!n || !h)
        return NULL;
    cs_insn *insn = NULL;
    size_t count = cs_disasm(h, bytes, n, address, 1, &insn);
    if (count != 1) {
        if (insn)
            cs_free(insn, count);
        return NULL;
    }
    return insn;
}

void kvm_disasm_free(cs_insn *insn)
{
    if (insn)
        cs_free(insn, 1);
}

bool kvm_decode_at_rip(struct vcpu *v, const struct kvm_regs *regs, const struct kvm_sregs *s, struct kvm_insn *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t la = mode_of(s) == CS_SLOT_64 ? regs->rip : ((s->cs.base + regs->rip) & 0xffffffffull);
    cs_insn *insn = kvm_disasm_at(v, s, la, X86_MAX_INSN_LEN, regs->rip);
    if (!insn)
        return false;
    kvm_decode_classify(insn, out);
    kvm_disasm_free(insn);
    return true;
}
