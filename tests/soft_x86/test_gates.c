/* test_gates.c - call gates and task switches in 32-bit protected mode. A CPL3
 * far CALL through a DPL3 32-bit call gate reaches CPL0 on the TSS's inner stack
 * with its two parameters copied, and RETF 8 goes back to CPL3 (the DPL0 data
 * segment left in ES becomes null). Task switches are VM exits (reason 9) with the
 * TSS selector and source in the qualification: JMP to a TSS, CALL through a task
 * gate, INT n and a double fault through IDT task gates (with the IDT-vectoring
 * information), IRET with NT = 1; a busy TSS is #GP before any exit. Soft route
 * only: this host's KVM (PVM) runs no 32-bit kernel code, and KVM performs task
 * switches in the kernel (docs/differences.md). */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"

#define CODE 0x1000u
#define KCODE 0x3000u
#define IDT32 0x85000u
#define TSS_NEW 0x84000u
#define SEL_KCODE32 0x08u
#define SEL_KDATA 0x10u
#define SEL_UDATA 0x1bu
#define SEL_UCODE32 0x23u
#define SEL_TSS 0x28u
#define SEL_GATE 0x33u            /* call gate, DPL3, RPL3 */
#define SEL_TSS_NEW 0x38u         /* available 32-bit TSS */
#define SEL_TASK_GATE 0x40u
#define SEL_TSS_BUSY 0x48u
#define GDT_LIMIT 0x4fu
#define AR_UCODE32 0xc0fbu
#define AR_UDATA32 0xc0f3u
#define AR_TSS32_BUSY 0x8bu
#define GP_VECTOR 13u
#define DF_VECTOR 8u
#define RFLAGS_NT 0x4000ull
#define TASKQ_SOURCE_SHIFT 30
#define SRC_CALL 0u
#define SRC_IRET 1u
#define SRC_JMP 2u
#define SRC_IDT 3u
#define INT_VECTOR 0x30u

static uint64_t gate_desc(uint16_t sel, uint32_t off, uint32_t access, unsigned params)
{
    return (off & 0xffffull) | ((uint64_t)sel << 16) | ((uint64_t)params << 32) | ((uint64_t)access << 40) |
           ((uint64_t)(off >> 16) << 48);
}

static void setup(struct xg *g, const uint8_t *code, size_t len)
{
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0)
        cr_skip_test("KVM performs task switches in the kernel (no exit) and this host's KVM (PVM) runs no "
                     "32-bit kernel code (docs/differences.md)");
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_protected32(g), 0);
    uint64_t *gdt = (uint64_t *)(g->ram + XG_GDT);
    memset(gdt, 0, GDT_LIMIT + 1);
    gdt[SEL_KCODE32 / 8] = xg_desc(0, 0xfffff, 0x9b, 0xc);
    gdt[SEL_KDATA / 8] = xg_desc(0, 0xfffff, 0x93, 0xc);
    gdt[SEL_UDATA / 8] = xg_desc(0, 0xfffff, 0xf3, 0xc);
    gdt[SEL_UCODE32 / 8] = xg_desc(0, 0xfffff, 0xfb, 0xc);
    gdt[SEL_TSS / 8] = xg_desc(XG_TSS, 0x67, AR_TSS32_BUSY, 0);
    gdt[SEL_GATE / 8] = gate_desc(SEL_KCODE32, KCODE, 0xec, 2);
    gdt[SEL_TSS_NEW / 8] = xg_desc(TSS_NEW, 0x67, 0x89, 0);
    gdt[SEL_TASK_GATE / 8] = gate_desc(SEL_TSS_NEW, 0, 0x85, 0);
    gdt[SEL_TSS_BUSY / 8] = xg_desc(TSS_NEW, 0x67, 0x8b, 0);
    memset(g->ram + XG_TSS, 0, 0x68);
    uint32_t esp0 = XG_KSTACK_TOP, ss0 = SEL_KDATA;
    memcpy(g->ram + XG_TSS + 4, &esp0, 4);
    memcpy(g->ram + XG_TSS + 8, &ss0, 4);
    int r = xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, GDT_LIMIT);
    r |= xg_vmcs(g, VMCS_GUEST_IDTR_BASE, IDT32) | xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, 0x100 * 8 - 1);
    r |= xg_seg(g, 7, SEL_TSS, XG_TSS, 0x67, AR_TSS32_BUSY);
    cr_assert_eq(r, 0);
    memset(g->ram + IDT32, 0, 0x800);
    memcpy(g->ram + CODE, code, len);
}

Test(soft_x86_gates, call_gate_to_ring0_with_parameters_and_back)
{
    static const uint8_t user[] = {
        0x68, 0x11, 0x11, 0x11, 0x11,               /* push 0x11111111             +0  */
        0x68, 0x22, 0x22, 0x22, 0x22,               /* push 0x22222222             +5  */
        0x9a, 0x00, 0x00, 0x00, 0x00, SEL_GATE, 0,  /* call far SEL_GATE:0         +10 */
        0xf4,                                       /* hlt: #GP at CPL3            +17 */
    };
    static const uint8_t kernel[] = { 0xf4, 0xca, 0x08, 0x00 };   /* hlt; retf 8 */
    struct xg g;
    setup(&g, user, sizeof(user));
    memcpy(g.ram + KCODE, kernel, sizeof(kernel));
    int r = xg_seg(&g, 1, SEL_UCODE32, 0, 0xffffffffu, AR_UCODE32);
    for (unsigned s = 0; s < 6; s++)
        if (s != 1)
            r |= xg_seg(&g, s, SEL_UDATA, 0, 0xffffffffu, AR_UDATA32);
    r |= xg_seg(&g, 0, SEL_KDATA, 0, 0xffffffffu, XG_AR_DATA);   /* ES: DPL0, nulled on the way out */
    cr_assert_eq(r, 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 1u << GP_VECTOR), 0);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), KCODE, "in the gate's target");
    cr_expect_eq(xg_reg(&g, HV_X86_CS), SEL_KCODE32, "CS %#llx", (unsigned long long)xg_reg(&g, HV_X86_CS));
    cr_expect_eq(xg_reg(&g, HV_X86_SS), SEL_KDATA, "SS from TSS.SS0");
    uint64_t sp = xg_reg(&g, HV_X86_RSP);
    cr_assert_eq(sp, XG_KSTACK_TOP - 24, "ESP %#llx: TSS.ESP0 less 6 dwords", (unsigned long long)sp);
    static const uint32_t want[6] = { CODE + 17, SEL_UCODE32, 0x22222222, 0x11111111, XG_STACK_TOP - 8, SEL_UDATA };
    for (unsigned i = 0; i < 6; i++)
        cr_expect_eq(xg_read32(&g, sp + 4 * i), want[i], "inner stack dword %u: %#x", i, xg_read32(&g, sp + 4 * i));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, KCODE + 1);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_EXC_NMI, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xff, GP_VECTOR);
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), CODE + 17, "back at CPL3 after the CALL");
    cr_expect_eq(xg_reg(&g, HV_X86_CS), SEL_UCODE32);
    cr_expect_eq(xg_reg(&g, HV_X86_SS), SEL_UDATA);
    cr_expect_eq(xg_reg(&g, HV_X86_RSP), XG_STACK_TOP, "RETF 8 dropped the parameters");
    cr_expect_eq(xg_reg(&g, HV_X86_ES), 0, "ES (DPL0) nulled on the return to CPL3");
    cr_expect_eq(xg_reg(&g, HV_X86_DS), SEL_UDATA, "DS (DPL3) kept");
    xg_destroy(&g);
}

/* IA-32e mode: a 64-bit call gate (16 bytes) from CPL3 64-bit code to the CPL0 code
 * segment; the new RSP comes from TSS.RSP0, SS becomes null, the frame is four
 * quadwords; RETFQ goes back to CPL3. */
#define SEL_GATE64 0x3bu             /* GDT index 7 (and 8), RPL3 */
#define GDT64_LIMIT 0x47u
Test(soft_x86_gates, call_gate_64_to_ring0_and_back)
{
    static const uint8_t user[] = {
        0x48, 0xff, 0x1c, 0x25, 0x00, 0x00, 0x01, 0x00,   /* call far [0x10000] (m16:64)  +0 */
        0xf4,                                             /* hlt: #GP at CPL3              +8 */
    };
    static const uint8_t kernel[] = { 0xf4, 0x48, 0xcb };  /* hlt; retfq */
    struct xg g;
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM (PVM) does not run kernel code entered through a call gate");
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
    uint64_t *gdt = (uint64_t *)(g.ram + XG_GDT);
    gdt[7] = gate_desc(XG_SEL_KCODE, (uint32_t)KCODE, 0xec, 0);
    gdt[8] = 0;   /* offset bits 63:32 and a zero type field */
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_GDTR_LIMIT, GDT64_LIMIT), 0);
    uint64_t ptr[2] = { 0, SEL_GATE64 };
    memcpy(g.ram + 0x10000, ptr, 10);
    memcpy(g.ram + 0x100000, user, sizeof(user));
    memcpy(g.ram + KCODE, kernel, sizeof(kernel));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, 0x100000);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), KCODE, "in the gate's target");
    cr_expect_eq(xg_reg(&g, HV_X86_CS), XG_SEL_KCODE);
    cr_expect_eq(xg_reg(&g, HV_X86_SS), 0, "SS null at the new CPL");
    uint64_t sp = xg_reg(&g, HV_X86_RSP), w[4];
    cr_assert_eq(sp, XG_KSTACK_TOP - 32, "RSP %#llx", (unsigned long long)sp);
    memcpy(w, g.ram + sp, sizeof(w));
    cr_expect_eq(w[0], 0x100008, "return RIP");
    cr_expect_eq(w[1], XG_SEL_UCODE);
    cr_expect_eq(w[2], XG_STACK_TOP, "old RSP");
    cr_expect_eq(w[3], XG_SEL_UDATA, "old SS");
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, KCODE + 1);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT);
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * GP_VECTOR, "the CPL3 HLT's #GP");
    uint64_t rip = 0;
    memcpy(&rip, g.ram + xg_reg(&g, HV_X86_RSP) + 8, 8);
    cr_expect_eq(rip, 0x100008, "RETFQ went back to CPL3 after the CALL");
    xg_destroy(&g);
}

static void expect_task_exit(struct xg *g, uint16_t sel, unsigned source, unsigned len, uint64_t rip)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_TASK, "exit reason %u", xg_exit_reason(g));
    uint64_t q = xg_read_vmcs(g, VMCS_RO_EXIT_QUALIFIC);
    cr_expect_eq(q & 0xffff, sel, "TSS selector %#llx", (unsigned long long)(q & 0xffff));
    cr_expect_eq(q >> TASKQ_SOURCE_SHIFT, source, "source %llu", (unsigned long long)(q >> TASKQ_SOURCE_SHIFT));
    cr_expect_eq(xg_read_vmcs(g, VMCS_RO_VMEXIT_INSTR_LEN), len, "instruction length");
    cr_expect_eq(xg_reg(g, HV_X86_RIP), rip, "RIP %#llx: the instruction has not retired",
                 (unsigned long long)xg_reg(g, HV_X86_RIP));
}

Test(soft_x86_gates, jmp_to_a_tss_exits)
{
    static const uint8_t code[] = { 0xea, 0x00, 0x00, 0x00, 0x00, SEL_TSS_NEW, 0 };
    struct xg g;
    setup(&g, code, sizeof(code));
    expect_task_exit(&g, SEL_TSS_NEW, SRC_JMP, sizeof(code), CODE);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_IDT_VECTOR_INFO) & IRQ_INFO_VALID, 0, "no IDT-vectoring information");
    xg_destroy(&g);
}

Test(soft_x86_gates, call_through_a_task_gate_exits)
{
    static const uint8_t code[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, SEL_TASK_GATE, 0 };
    struct xg g;
    setup(&g, code, sizeof(code));
    expect_task_exit(&g, SEL_TSS_NEW, SRC_CALL, sizeof(code), CODE);
    xg_destroy(&g);
}

Test(soft_x86_gates, busy_tss_is_gp_before_any_exit)
{
    static const uint8_t code[] = { 0xea, 0x00, 0x00, 0x00, 0x00, SEL_TSS_BUSY, 0 };
    struct xg g;
    setup(&g, code, sizeof(code));
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 1u << GP_VECTOR), 0);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_EXC_NMI, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xff, GP_VECTOR);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_ERROR), SEL_TSS_BUSY, "#GP(TSS selector)");
    xg_destroy(&g);
}

Test(soft_x86_gates, int_through_an_idt_task_gate_exits_with_vectoring_info)
{
    static const uint8_t code[] = { 0xcd, INT_VECTOR };
    struct xg g;
    setup(&g, code, sizeof(code));
    uint64_t gate = gate_desc(SEL_TSS_NEW, 0, 0x85, 0);
    memcpy(g.ram + IDT32 + 8 * INT_VECTOR, &gate, 8);
    expect_task_exit(&g, SEL_TSS_NEW, SRC_IDT, sizeof(code), CODE);
    uint64_t vec = xg_read_vmcs(&g, VMCS_RO_IDT_VECTOR_INFO);
    cr_expect(vec & IRQ_INFO_VALID, "IDT-vectoring information valid");
    cr_expect_eq(vec & 0xff, INT_VECTOR);
    cr_expect_eq(vec & IRQ_INFO_TYPE_MASK, IRQ_INFO_SOFT_IRQ);
    xg_destroy(&g);
}

Test(soft_x86_gates, iret_with_nt_exits)
{
    static const uint8_t code[] = { 0xcf };
    struct xg g;
    setup(&g, code, sizeof(code));
    uint16_t link = SEL_TSS_BUSY;
    memcpy(g.ram + XG_TSS, &link, 2);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_NT);
    expect_task_exit(&g, SEL_TSS_BUSY, SRC_IRET, sizeof(code), CODE);
    xg_destroy(&g);
}

/* #GP whose gate is not present: #NP on top of #GP is a double fault, whose IDT
 * entry is a task gate: the exit carries #DF (error code 0) as the vectoring event. */
Test(soft_x86_gates, double_fault_task_gate_exits)
{
    static const uint8_t code[] = { 0x2e, 0xa3, 0x00, 0x00, 0x01, 0x00 };   /* mov cs:[0x10000], eax */
    struct xg g;
    setup(&g, code, sizeof(code));
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    uint64_t df = gate_desc(SEL_TSS_NEW, 0, 0x85, 0), gp = gate_desc(SEL_KCODE32, KCODE, 0x0e, 0);
    memcpy(g.ram + IDT32 + 8 * DF_VECTOR, &df, 8);
    memcpy(g.ram + IDT32 + 8 * GP_VECTOR, &gp, 8);
    expect_task_exit(&g, SEL_TSS_NEW, SRC_IDT, 0, CODE);
    uint64_t vec = xg_read_vmcs(&g, VMCS_RO_IDT_VECTOR_INFO);
    cr_expect(vec & IRQ_INFO_VALID, "IDT-vectoring information valid");
    cr_expect_eq(vec & 0xff, DF_VECTOR);
    cr_expect_eq(vec & IRQ_INFO_TYPE_MASK, IRQ_INFO_HARD_EXC);
    cr_expect(vec & IRQ_INFO_ERROR_VALID, "#DF pushes an error code");
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_IDT_VECTOR_ERROR), 0);
    xg_destroy(&g);
}
