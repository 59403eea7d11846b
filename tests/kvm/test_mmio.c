/* The MMIO/port guest against a client that emulates every access itself, as a
 * Hypervisor.framework VMM does: it decodes the MOV at RIP, performs it on a
 * 16-byte device, and advances RIP by VMCS_RO_VMEXIT_INSTR_LEN. The test holds the
 * exact exit sequence (reason, qualification, guest-physical address, instruction
 * length), what the device saw, and what the guest loaded. */
#include <string.h>

#include "kvm/client.h"
#include "support/backend.h"

#define MMIO_BASE 0x40000000u
#define RO_PAGE 0x100000u
#define PORT_DATA 0x3f8u
#define PORT_IMM 0x80u
#define EPTQ_R (1u << 0)
#define EPTQ_W (1u << 1)
#define EPTQ_PERM_R (1u << 3)
#define EPTQ_PERM_X (1u << 5)
#define IOQ_IN (1u << 3)
#define IOQ_STRING (1u << 4)
#define IOQ_REP (1u << 5)
#define IOQ_IMM (1u << 6)
#define IOQ(size, port) (((uint64_t)(size) - 1) | ((uint64_t)(port) << 16))
#define REX_W 0x8u
#define REX_R 0x4u

static struct client c;
static uint8_t device[16];

static void setup(void)
{
    client_vm_init(&c, "kvm_mmio");
    /* RO_PAGE: readable and executable only, so the guest's store must exit. */
    cr_assert_eq(hv_vm_protect(RO_PAGE, 4096, HV_MEMORY_READ | HV_MEMORY_EXEC), HV_SUCCESS);
    c.vcpu = client_vcpu_create();
    c.vcpu_live = true;
    client_long_mode(c.vcpu, CLIENT_LOAD_ADDR, client_symbol("kvm_mmio", "pml4"));
    memset(device, 0, sizeof(device));
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(kvm_mmio, .init = setup, .fini = teardown, .timeout = 60);

static const hv_x86_reg_t gpr_of[16] = {
    HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP, HV_X86_RSI, HV_X86_RDI,
    HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15,
};

/* The client's instruction emulator: MOV between a register or immediate and
 * memory (88/89/8a/8b/c6/c7, 66 and REX prefixes, ModRM with disp8/disp32). */
static unsigned emulate_mov(hv_vcpuid_t v, uint64_t gpa)
{
    const uint8_t *p = c.ram + rreg(v, HV_X86_RIP);
    unsigned i = 0, osize = 4;
    uint8_t rex = 0;
    if (p[i] == 0x66) {
        osize = 2;
        i++;
    }
    if ((p[i] & 0xf0) == 0x40)
        rex = p[i++] & 0xf;
    if (rex & REX_W)
        osize = 8;
    uint8_t op = p[i++], modrm = p[i++];
    unsigned mod = modrm >> 6, rm = modrm & 7, reg = ((modrm >> 3) & 7) | ((rex & REX_R) ? 8 : 0);
    if (mod != 3 && rm == 4)
        i++;                                   /* SIB */
    i += mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 5) ? 4 : 0;
    if (op == 0x88 || op == 0x8a || op == 0xc6)
        osize = 1;
    uint64_t off = gpa - MMIO_BASE;
    cr_assert_leq(off + osize, sizeof(device));
    uint64_t val = 0;
    if (op == 0x88 || op == 0x89) {
        val = rreg(v, gpr_of[reg]);
        memcpy(device + off, &val, osize);
    } else if (op == 0xc6 || op == 0xc7) {
        unsigned isize = osize == 8 ? 4 : osize;
        memcpy(&val, p + i, isize);
        i += isize;
        memcpy(device + off, &val, osize);
    } else {
        cr_assert(op == 0x8a || op == 0x8b, "client emulates MOV only, got opcode %#x", op);
        uint64_t old = rreg(v, gpr_of[reg]);
        memcpy(&val, device + off, osize);
        uint64_t keep = osize >= 4 ? 0 : ~((1ull << (8 * osize)) - 1);   /* 32-bit writes zero-extend */
        wreg(v, gpr_of[reg], (old & keep) | val);
    }
    return i;
}

struct expect {
    uint32_t reason;
    uint64_t qual;
    uint64_t gpa;
    unsigned len;
};

static const struct expect script[] = {
    { VMX_REASON_EPT_VIOLATION, EPTQ_W, MMIO_BASE + 0, 3 },    /* movb $0x11, (%rdi) */
    { VMX_REASON_EPT_VIOLATION, EPTQ_W, MMIO_BASE + 2, 6 },    /* movw $0x2222, 2(%rdi) */
    { VMX_REASON_EPT_VIOLATION, EPTQ_W, MMIO_BASE + 4, 7 },    /* movl $0x33333333, 4(%rdi) */
    { VMX_REASON_EPT_VIOLATION, EPTQ_W, MMIO_BASE + 8, 4 },    /* movq %rax, 8(%rdi) */
    { VMX_REASON_EPT_VIOLATION, EPTQ_R, MMIO_BASE + 0, 2 },    /* movb (%rdi), %al */
    { VMX_REASON_EPT_VIOLATION, EPTQ_R, MMIO_BASE + 2, 4 },    /* movw 2(%rdi), %ax */
    { VMX_REASON_EPT_VIOLATION, EPTQ_R, MMIO_BASE + 4, 3 },    /* movl 4(%rdi), %eax */
    { VMX_REASON_EPT_VIOLATION, EPTQ_R, MMIO_BASE + 8, 4 },    /* movq 8(%rdi), %rax */
    { VMX_REASON_IO, IOQ(1, PORT_IMM) | IOQ_IMM, 0, 2 },                       /* outb %al, $0x80 */
    { VMX_REASON_IO, IOQ(2, PORT_DATA), 0, 2 },                                /* outw %ax, %dx */
    { VMX_REASON_IO, IOQ(4, PORT_DATA), 0, 1 },                                /* outl %eax, %dx */
    { VMX_REASON_IO, IOQ(1, PORT_IMM) | IOQ_IMM | IOQ_IN, 0, 2 },              /* inb $0x80, %al */
    { VMX_REASON_IO, IOQ(2, PORT_DATA) | IOQ_IN, 0, 2 },                       /* inw %dx, %ax */
    { VMX_REASON_IO, IOQ(4, PORT_DATA) | IOQ_IN, 0, 1 },                       /* inl %dx, %eax */
    { VMX_REASON_IO, IOQ(1, PORT_DATA) | IOQ_STRING, 0, 1 },                   /* outsb */
    { VMX_REASON_IO, IOQ(1, PORT_DATA) | IOQ_STRING | IOQ_REP, 0, 2 },         /* rep outsb */
    { VMX_REASON_IO, IOQ(1, PORT_DATA) | IOQ_STRING | IOQ_IN, 0, 1 },          /* insb */
    { VMX_REASON_IO, IOQ(1, PORT_DATA) | IOQ_STRING | IOQ_REP | IOQ_IN, 0, 2 },/* rep insb */
    { VMX_REASON_EPT_VIOLATION, EPTQ_W | EPTQ_PERM_R | EPTQ_PERM_X, RO_PAGE, 11 }, /* movl $0x55, RO_PAGE */
    { VMX_REASON_HLT, 0, 0, 1 },
};
#define SCRIPT_LEN (sizeof(script) / sizeof(script[0]))

static uint8_t port_out_log[16];
static unsigned port_out_count;
static const uint8_t ins_data[] = { 'w', 'x', 'y', 'z' };
static unsigned ins_next;

static uint32_t port_in_value(uint16_t port, unsigned size)
{
    if (port == PORT_IMM)
        return 0xa5;
    return size == 2 ? 0xbeef : 0xdeadbeef;
}

/* The client's I/O emulation, from the qualification alone (plus RSI/RDI/RCX). */
static void emulate_io(hv_vcpuid_t v, uint64_t q)
{
    unsigned size = (unsigned)(q & 7) + 1;
    uint16_t port = (uint16_t)(q >> 16);
    bool in = q & IOQ_IN, string = q & IOQ_STRING, rep = q & IOQ_REP;
    if (!string) {
        if (in) {
            uint64_t rax = rreg(v, HV_X86_RAX), mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
            uint64_t keep = size == 4 ? 0 : rax & ~mask;
            wreg(v, HV_X86_RAX, keep | port_in_value(port, size));
        } else {
            uint64_t val = rreg(v, HV_X86_RAX);
            memcpy(port_out_log + port_out_count, &val, size);
            port_out_count += size;
        }
        return;
    }
    uint64_t count = rep ? rreg(v, HV_X86_RCX) : 1;
    hv_x86_reg_t ptr = in ? HV_X86_RDI : HV_X86_RSI;
    uint64_t addr = rreg(v, ptr);
    for (uint64_t n = 0; n < count; n++, addr += size) {
        if (in)
            c.ram[addr] = ins_data[ins_next++ % sizeof(ins_data)];
        else
            port_out_log[port_out_count++] = c.ram[addr];
    }
    wreg(v, ptr, addr);
    if (rep)
        wreg(v, HV_X86_RCX, 0);
}

Test(kvm_mmio, client_emulates_every_access)
{
    port_out_count = 0;
    ins_next = 0;
    for (size_t step = 0; step < SCRIPT_LEN; step++) {
        const struct expect *e = &script[step];
        uint32_t reason = client_run(c.vcpu);
        uint64_t q = rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC), len = rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
        cr_assert_eq(reason, e->reason, "step %zu: reason %u, expected %u", step, reason, e->reason);
        cr_assert_eq(len, e->len, "step %zu: instruction length %llu, expected %u", step,
                     (unsigned long long)len, e->len);
        if (reason == VMX_REASON_HLT)
            break;
        if (reason == VMX_REASON_EPT_VIOLATION) {
            uint64_t gpa = rvmcs(c.vcpu, VMCS_GUEST_PHYSICAL_ADDRESS);
            cr_assert_eq(gpa, e->gpa, "step %zu: gpa %#llx", step, (unsigned long long)gpa);
            cr_assert_eq(q & 0x3f, e->qual, "step %zu: qualification %#llx", step, (unsigned long long)q);
            if (gpa >= MMIO_BASE)
                cr_assert_eq(emulate_mov(c.vcpu, gpa), len, "step %zu: client decode agrees on length", step);
        } else {
            cr_assert_eq(q, e->qual, "step %zu: qualification %#llx, expected %#llx", step,
                         (unsigned long long)q, (unsigned long long)e->qual);
            emulate_io(c.vcpu, q);
        }
        client_skip(c.vcpu);
    }
    static const uint8_t want_device[16] = { 0x11, 0, 0x22, 0x22, 0x33, 0x33, 0x33, 0x33,
                                             0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44 };
    cr_expect_arr_eq(device, want_device, sizeof(device), "device contents after the stores");
    uint64_t results = client_symbol("kvm_mmio", "results"), dst = client_symbol("kvm_mmio", "dst");
    const uint8_t *r = c.ram + results;
    cr_expect_arr_eq(r, want_device, 16, "the guest loaded back what the device holds");
    cr_expect_eq(r[16], 0xa5);
    cr_expect_eq(r[18] | r[19] << 8, 0xbeef);
    cr_expect_eq((uint32_t)(r[20] | r[21] << 8 | r[22] << 16 | (uint32_t)r[23] << 24), 0xdeadbeefu);
    cr_expect_arr_eq(c.ram + dst, "wxyz", 4, "INSB and REP INSB stored the client's data");
    static const uint8_t want_out[] = { 0x5a, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89, 'A', 'B', 'C', 'D' };
    cr_expect_eq(port_out_count, sizeof(want_out));
    cr_expect_arr_eq(port_out_log, want_out, sizeof(want_out), "port writes seen by the client");
    cr_expect_eq(c.ram[RO_PAGE], 0, "the read-only page was not written");
}
