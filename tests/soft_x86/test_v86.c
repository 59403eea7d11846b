/* test_v86.c - virtual-8086 mode: IRETD at CPL0 with VM set enters it (segments
 * selector * 16), INT n goes to a CPL0 handler on the TSS stack with GS/FS/DS/ES
 * pushed and nulled, IRETD returns, I/O goes through the TSS bitmap whatever IOPL,
 * and with IOPL < 3 CLI, PUSHF and INT n are #GP(0). Soft route only (this host's
 * KVM, PVM, runs no 32-bit kernel code). CR4.VME/PVI are not modelled. */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"

#define KCODE 0x3000u
#define IDT32 0x85000u
#define SEL_KCODE32 0x08u
#define SEL_KDATA 0x10u
#define SEL_TSS 0x28u
#define GDT_LIMIT 0x2fu
#define AR_TSS32_BUSY 0x8bu
#define TSS_LIMIT 0x88u            /* 0x68 bytes, then a 32-byte I/O bitmap */
#define TSS_IOMAP 0x68u
#define V86_CS 0x0200u
#define V86_IP 0x0010u
#define V86_SS 0x0300u
#define V86_SP 0xfffeu
#define RFLAGS_VM 0x20000ull
#define RFLAGS_IOPL3 0x3000ull
#define INT_VECTOR 0x40u
#define GP_VECTOR 13u
#define HANDLER_INT (KCODE + 0x10u)
#define HANDLER_GP (KCODE + 0x20u)
#define V86_FRAME_WORDS 9

static uint64_t int_gate(uint32_t off, unsigned dpl)
{
    return (off & 0xffffull) | ((uint64_t)SEL_KCODE32 << 16) | ((uint64_t)(0x8e | (dpl << 5)) << 40) |
           ((uint64_t)(off >> 16) << 48);
}

/* CPL0 32-bit kernel with IRETD at KCODE and a v86 IRET frame on its stack. */
static void setup(struct xg *g, const uint8_t *code, size_t len, uint64_t v86_flags)
{
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (PVM): no 32-bit kernel code (docs/differences.md)");
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_protected32(g), 0);
    uint64_t *gdt = (uint64_t *)(g->ram + XG_GDT);
    memset(gdt, 0, GDT_LIMIT + 1);
    gdt[SEL_KCODE32 / 8] = xg_desc(0, 0xfffff, 0x9b, 0xc);
    gdt[SEL_KDATA / 8] = xg_desc(0, 0xfffff, 0x93, 0xc);
    gdt[SEL_TSS / 8] = xg_desc(XG_TSS, TSS_LIMIT, AR_TSS32_BUSY, 0);
    memset(g->ram + XG_TSS, 0, TSS_LIMIT + 1);
    uint32_t esp0 = XG_KSTACK_TOP, ss0 = SEL_KDATA;
    uint16_t iomap = TSS_IOMAP;
    memcpy(g->ram + XG_TSS + 4, &esp0, 4);
    memcpy(g->ram + XG_TSS + 8, &ss0, 4);
    memcpy(g->ram + XG_TSS + 0x66, &iomap, 2);
    g->ram[XG_TSS + TSS_IOMAP + 0x81 / 8] = 1u << (0x81 % 8);   /* port 0x81 denied */
    memset(g->ram + IDT32, 0, 0x800);
    uint64_t gi = int_gate(HANDLER_INT, 3), gg = int_gate(HANDLER_GP, 0);
    memcpy(g->ram + IDT32 + 8 * INT_VECTOR, &gi, 8);
    memcpy(g->ram + IDT32 + 8 * GP_VECTOR, &gg, 8);
    g->ram[KCODE] = 0xcf;          /* iretd */
    g->ram[HANDLER_INT] = 0xf4;    /* hlt */
    g->ram[HANDLER_INT + 1] = 0xcf;
    g->ram[HANDLER_GP] = 0xf4;
    int r = xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, GDT_LIMIT);
    r |= xg_vmcs(g, VMCS_GUEST_IDTR_BASE, IDT32) | xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, 0x100 * 8 - 1);
    r |= xg_seg(g, 7, SEL_TSS, XG_TSS, TSS_LIMIT, AR_TSS32_BUSY);
    r |= xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0);
    cr_assert_eq(r, 0);
    uint32_t frame[V86_FRAME_WORDS] = { V86_IP, V86_CS, (uint32_t)(0x2 | RFLAGS_VM | v86_flags), V86_SP, V86_SS,
                                        0x0400, 0x0500, 0x0600, 0x0700 };
    uint64_t sp = XG_STACK_TOP - sizeof(frame);
    memcpy(g->ram + sp, frame, sizeof(frame));
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, sp);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, KCODE);
    memcpy(g->ram + ((uint64_t)V86_CS << 4) + V86_IP, code, len);
}

Test(soft_x86_v86, int_to_ring0_and_back_io_bitmap)
{
    static const uint8_t code[] = {
        0xa1, 0x04, 0x00,              /* mov ax, [4]      +0: DS = 0x500, linear 0x5004 */
        0xcd, INT_VECTOR,              /* int 0x40         +3 */
        0xfa,                          /* cli              +5: IOPL 3 allows it */
        0xe6, 0x80,                    /* out 0x80, al     +6: allowed by the bitmap */
        0xe6, 0x81,                    /* out 0x81, al     +8: denied: #GP(0) */
    };
    struct xg g;
    setup(&g, code, sizeof(code), RFLAGS_IOPL3);
    memcpy(g.ram + 0x5004, "\x34\x12", 2);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), HANDLER_INT, "INT n reached the CPL0 handler");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX) & 0xffff, 0x1234, "v86 addressing: DS * 16 + offset");
    cr_expect_eq(xg_reg(&g, HV_X86_RFLAGS) & RFLAGS_VM, 0, "VM clear in the handler");
    cr_expect_eq(xg_reg(&g, HV_X86_CS), SEL_KCODE32);
    cr_expect_eq(xg_reg(&g, HV_X86_SS), SEL_KDATA, "stack from TSS.SS0");
    uint64_t sp = xg_reg(&g, HV_X86_RSP);
    cr_assert_eq(sp, XG_KSTACK_TOP - 4 * V86_FRAME_WORDS, "ESP %#llx", (unsigned long long)sp);
    static const uint32_t want[V86_FRAME_WORDS] = { V86_IP + 5, V86_CS, 0, V86_SP, V86_SS,
                                                    0x0400, 0x0500, 0x0600, 0x0700 };
    for (unsigned i = 0; i < V86_FRAME_WORDS; i++)
        if (i != 2)
            cr_expect_eq(xg_read32(&g, sp + 4 * i), want[i], "frame dword %u: %#x", i, xg_read32(&g, sp + 4 * i));
    cr_expect(xg_read32(&g, sp + 8) & RFLAGS_VM, "VM set in the stacked EFLAGS");
    cr_expect_eq(xg_reg(&g, HV_X86_DS), 0, "DS nulled");
    cr_expect_eq(xg_reg(&g, HV_X86_ES), 0, "ES nulled");
    cr_expect_eq(xg_reg(&g, HV_X86_FS), 0, "FS nulled");
    cr_expect_eq(xg_reg(&g, HV_X86_GS), 0, "GS nulled");
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, HANDLER_INT + 1);   /* iretd */
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_IO, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), V86_IP + 6, "back in v86 mode at the OUT");
    cr_expect(xg_reg(&g, HV_X86_RFLAGS) & RFLAGS_VM);
    cr_expect_eq(xg_reg(&g, HV_X86_DS), 0x0500, "DS restored");
    cr_expect_eq(xg_reg(&g, HV_X86_RFLAGS) & 0x200, 0, "CLI ran (IOPL 3)");
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, V86_IP + 8);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), HANDLER_GP, "the denied port is #GP");
    sp = xg_reg(&g, HV_X86_RSP);
    cr_expect_eq(xg_read32(&g, sp), 0, "error code 0");
    cr_expect_eq(xg_read32(&g, sp + 4), V86_IP + 8, "stacked EIP on the OUT");
    xg_destroy(&g);
}

static void expect_iopl_gp(const uint8_t *code, size_t len, const char *what)
{
    struct xg g;
    setup(&g, code, len, 0);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "%s: exit reason %u", what, xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), HANDLER_GP, "%s: #GP", what);
    uint64_t sp = xg_reg(&g, HV_X86_RSP);
    cr_expect_eq(xg_read32(&g, sp), 0, "%s: error code 0", what);
    cr_expect_eq(xg_read32(&g, sp + 4), V86_IP, "%s: stacked EIP on it", what);
    xg_destroy(&g);
}

Test(soft_x86_v86, iopl_sensitive_instructions_fault_below_iopl3)
{
    static const uint8_t cli[] = { 0xfa }, sti[] = { 0xfb }, pushf[] = { 0x9c }, popf[] = { 0x9d };
    static const uint8_t intn[] = { 0xcd, INT_VECTOR }, iret[] = { 0xcf };
    expect_iopl_gp(cli, sizeof(cli), "CLI");
    expect_iopl_gp(sti, sizeof(sti), "STI");
    expect_iopl_gp(pushf, sizeof(pushf), "PUSHF");
    expect_iopl_gp(popf, sizeof(popf), "POPF");
    expect_iopl_gp(intn, sizeof(intn), "INT n");
    expect_iopl_gp(iret, sizeof(iret), "IRET");
}
