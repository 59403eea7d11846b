/* anyhv-run, Intel flavour: decoding the instruction behind an MMIO exit, as a VMM
 * on Hypervisor.framework must (the exit names the address, not the data). The guest's
 * code is read through its own page tables (4- or 5-level long mode, or paging off) from the
 * RAM the VMM mapped. Decoded forms are the ones device drivers use for registers:
 * MOV r/m,r (88/89), MOV r,r/m (8A/8B), MOV r/m,imm (C6/C7 /0), MOV with a moffs
 * (A0-A3) and MOVZX r,r/m8/16 (0F B6/B7), with legacy and REX prefixes. */
#include <string.h>

#include "x86_cpu.h"

#define MAX_INSN 15u
#define PAGE 4096ull
#define PTE_P 1ull
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_PG (1ull << 31)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define AR_L (1u << 13)
#define AR_D (1u << 14)
#define REX_W 8u
#define REX_R 4u

static const hv_x86_reg_t gprs[16] = {
    HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP, HV_X86_RSI, HV_X86_RDI,
    HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15,
};

static uint64_t rreg(hv_vcpuid_t vcpu, hv_x86_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_read_register(vcpu, r, &v);
    return v;
}

static uint64_t rvmcs(hv_vcpuid_t vcpu, uint32_t field)
{
    uint64_t v = 0;
    hv_vmx_vcpu_read_vmcs(vcpu, field, &v);
    return v;
}

static bool phys_u64(const uint8_t *ram, uint64_t ram_size, uint64_t gpa, uint64_t *out)
{
    if (gpa >= ram_size || ram_size - gpa < 8)
        return false;
    memcpy(out, ram + gpa, 8);
    return true;
}

/* Guest-virtual to guest-physical for a code fetch; false on a miss. */
static bool translate(hv_vcpuid_t vcpu, const uint8_t *ram, uint64_t ram_size, uint64_t va, uint64_t *gpa)
{
    if (!(rreg(vcpu, HV_X86_CR0) & CR0_PG)) {
        *gpa = va & 0xffffffffull;
        return true;
    }
    if (!(rvmcs(vcpu, VMCS_GUEST_IA32_EFER) & EFER_LMA))
        return false;   /* 32-bit paging: not needed by the guests anyhv-run boots */
    uint64_t table = rreg(vcpu, HV_X86_CR3) & PTE_ADDR;
    int top = (rreg(vcpu, HV_X86_CR4) & CR4_LA57) ? 4 : 3;   /* 5-level paging: one more */
    for (int level = top; level >= 0; level--) {
        uint64_t e;
        if (!phys_u64(ram, ram_size, table + ((va >> (12 + 9 * level)) & 511) * 8, &e) || !(e & PTE_P))
            return false;
        if (level == 0 || ((e & PTE_PS) && level <= 2)) {
            uint64_t span = 1ull << (12 + 9 * level);
            *gpa = (e & PTE_ADDR & ~(span - 1)) | (va & (span - 1));
            return true;
        }
        table = e & PTE_ADDR;
    }
    return false;
}

static unsigned fetch(hv_vcpuid_t vcpu, const uint8_t *ram, uint64_t ram_size, uint8_t *buf)
{
    uint64_t va = rvmcs(vcpu, VMCS_GUEST_CS_BASE) + rreg(vcpu, HV_X86_RIP);
    unsigned n = 0;
    while (n < MAX_INSN) {
        uint64_t gpa;
        if (!translate(vcpu, ram, ram_size, va + n, &gpa) || gpa >= ram_size)
            break;
        unsigned chunk = (unsigned)(PAGE - ((va + n) & (PAGE - 1)));
        chunk = chunk > MAX_INSN - n ? MAX_INSN - n : chunk;
        chunk = gpa + chunk > ram_size ? (unsigned)(ram_size - gpa) : chunk;
        memcpy(buf + n, ram + gpa, chunk);
        n += chunk;
    }
    return n;
}

/* Bytes of a memory ModRM operand after the ModRM byte itself; -1 for a register. */
static int modrm_tail(const uint8_t *p, unsigned avail, bool addr16)
{
    if (avail < 1)
        return -1;
    unsigned mod = p[0] >> 6, rm = p[0] & 7;
    if (mod == 3)
        return -1;
    if (addr16)
        return mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
    int n = 0;
    if (rm == 4) {
        if (avail < 2)
            return -1;
        n = 1;
        if (mod == 0 && (p[1] & 7) == 5)
            return n + 4;
    }
    if (mod == 0 && rm == 5)
        return n + 4;
    return n + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

bool x86_mmio_decode(hv_vcpuid_t vcpu, const uint8_t *ram, uint64_t ram_size, struct x86_mmio_insn *out)
{
    uint8_t b[MAX_INSN];
    unsigned n = fetch(vcpu, ram, ram_size, b), i = 0, rex = 0;
    uint32_t ar = (uint32_t)rvmcs(vcpu, VMCS_GUEST_CS_AR);
    bool long64 = (rvmcs(vcpu, VMCS_GUEST_IA32_EFER) & EFER_LMA) && (ar & AR_L);
    bool def32 = long64 || (ar & AR_D), opsize = false, adsize = false;
    for (; i < n; i++) {
        uint8_t c = b[i];
        if (c == 0x66) opsize = true;
        else if (c == 0x67) adsize = true;
        else if (c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 ||
                 c == 0x64 || c == 0x65) continue;
        else break;
    }
    if (long64 && i < n && (b[i] & 0xf0) == 0x40)
        rex = b[i++] & 0xf;
    if (i >= n)
        return false;
    memset(out, 0, sizeof(*out));
    unsigned wide = (rex & REX_W) ? 8 : (def32 != opsize) ? 4 : 2;
    bool addr16 = !long64 && (def32 == adsize);
    uint8_t op = b[i++];
    bool two = op == 0x0f;
    if (two) {
        if (i >= n)
            return false;
        op = b[i++];
    }
    if (!two && op >= 0xa0 && op <= 0xa3) {   /* MOV AL/eAX <-> moffs */
        unsigned moffs = long64 ? (adsize ? 4 : 8) : addr16 ? 2 : 4;
        out->size = (op & 1) ? wide : 1;
        out->write = op >= 0xa2;
        out->reg = (unsigned)HV_X86_RAX;
        out->len = i + moffs;
        return out->len <= n;
    }
    int tail = i < n ? modrm_tail(b + i, n - i, addr16) : -1;
    if (tail < 0)
        return false;
    unsigned modrm = b[i], reg = ((modrm >> 3) & 7) | ((rex & REX_R) ? 8 : 0);
    unsigned after = i + 1 + (unsigned)tail;
    if (two && (op == 0xb6 || op == 0xb7)) {
        out->size = op == 0xb6 ? 1 : 2;
        out->zero_extend = true;
        out->imm = wide;           /* destination width, for the completion */
    } else if (!two && (op == 0x88 || op == 0x89 || op == 0x8a || op == 0x8b)) {
        out->size = (op & 1) ? wide : 1;
        out->write = op <= 0x89;
    } else if (!two && (op == 0xc6 || op == 0xc7) && ((modrm >> 3) & 7) == 0) {
        out->size = op == 0xc6 ? 1 : wide;
        out->write = out->has_imm = true;
        unsigned isz = out->size == 1 ? 1 : out->size == 2 ? 2 : 4;
        if (after + isz > n)
            return false;
        uint32_t imm = 0;
        memcpy(&imm, b + after, isz);
        out->imm = isz == 4 ? (uint64_t)(int64_t)(int32_t)imm : imm;
        after += isz;
    } else {
        return false;
    }
    out->reg = (unsigned)gprs[reg];
    if (out->size == 1 && !rex && reg >= 4 && reg < 8)
        out->reg = (unsigned)gprs[reg - 4] | X86_MMIO_HIGH8;
    out->len = after;
    return after <= n;
}

uint64_t x86_mmio_store_value(hv_vcpuid_t vcpu, const struct x86_mmio_insn *in)
{
    if (in->has_imm)
        return in->imm;
    bool high = (in->reg & X86_MMIO_HIGH8) != 0;
    uint64_t v = rreg(vcpu, (hv_x86_reg_t)(in->reg & ~X86_MMIO_HIGH8));
    return high ? (v >> 8) & 0xff : v;
}

void x86_mmio_complete_load(hv_vcpuid_t vcpu, const struct x86_mmio_insn *in, uint64_t value)
{
    hv_x86_reg_t r = (hv_x86_reg_t)(in->reg & ~X86_MMIO_HIGH8);
    uint64_t old = rreg(vcpu, r);
    uint64_t mask = in->size == 8 ? ~0ull : (1ull << (8 * in->size)) - 1;
    value &= mask;
    uint64_t v;
    if (in->reg & X86_MMIO_HIGH8)
        v = (old & ~0xff00ull) | (value << 8);
    else if (in->zero_extend)
        v = in->imm == 2 ? (old & ~0xffffull) | value : value;   /* 32/64-bit destinations clear the rest */
    else if (in->size >= 4)
        v = value;                                              /* 32-bit results zero-extend */
    else
        v = (old & ~mask) | value;
    hv_vcpu_write_register(vcpu, r, v);
}
