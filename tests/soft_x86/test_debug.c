/* test_debug.c - debug exceptions and #AC in a flat 64-bit guest: TF single-step
 * (counted over a loop, POPF and MOV SS interactions), DR0-DR3 instruction and data
 * breakpoints with their DR6 bits and RF, general detect, DR4 with CR4.DE, the
 * alignment check; on every backend at CPL3 (which the KVM route runs natively even
 * where it emulates kernel code), through IDT handlers that are HLT stubs. The
 * client plays the handler's IRET (registers from the stacked frame) to go on.
 * Then the VMX view on the soft route: #DB and #AC in the exception bitmap exit
 * with the DR6 bits in the qualification and DR6 unchanged. */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"


#define CODE 0x100000u
#define DB_VECTOR 1u
#define GP_VECTOR 13u
#define UD_VECTOR 6u
#define AC_VECTOR 17u
#define RFLAGS_TF 0x100ull
#define RFLAGS_RF 0x10000ull
#define RFLAGS_AC 0x40000ull
#define CR0_AM 0x40000ull
#define CR4_DE 0x8ull
#define DR6_INIT 0xffff0ff0ull
#define DR6_BS 0x4000ull
#define DR6_BD 0x2000ull
#define DR7_INIT 0x400ull
#define DR7_GD 0x2000ull
#define DR7_L(i) (1ull << (2 * (i)))
#define DR7_RW(i, rw) ((uint64_t)(rw) << (16 + 4 * (i)))
#define DR7_LEN(i, len) ((uint64_t)(len) << (18 + 4 * (i)))
#define RW_EXEC 0u
#define RW_WRITE 1u
#define RW_ACCESS 3u
#define LEN_1 0u
#define LEN_4 3u
#define MAX_STEPS 32
#define FRAME_RIP 0
#define FRAME_RFLAGS 2
#define FRAME_RSP 3

static uint64_t stub(unsigned vector)
{
    return XG_STUBS + XG_STUB_SIZE * (uint64_t)vector;
}

static void setup(struct xg *g, unsigned cpl, const uint8_t *code, size_t len)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode_cpl(g, cpl), 0);
    memcpy(g->ram + CODE, code, len);
    g->ram[CODE + len] = 0xf4;   /* HLT: #GP at CPL3, an exit at CPL0 */
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, CODE);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, XG_DATA);
    hv_vcpu_write_register(g->vcpu, HV_X86_DR6, DR6_INIT);
    hv_vcpu_write_register(g->vcpu, HV_X86_DR7, DR7_INIT);
}

/* Kernel-mode cases need a KVM that runs guest kernel code in hardware. */
static void require_kernel_route(void)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (no VT-x/SVM): CPL0 debug-register code is emulated there");
}

/* This host's KVM (PVM) runs CPL3 code natively but neither loads the guest's DR0-DR3/DR7
 * nor holds a single-step trap over the instruction after MOV SS (docs/differences.md). */
static void require_pvm_debug(const char *what)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (PVM): %s (docs/differences.md)", what);
}

/* Run until the guest halts; the HLT must be the handler stub of `vector`. */
static void run_to_stub(struct xg *g, unsigned vector, const char *what)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    uint32_t reason = xg_exit_reason(g);
    cr_assert_eq(reason, VMX_REASON_HLT, "%s: exit reason %u, wanted HLT in a handler", what, reason);
    cr_assert_eq(xg_reg(g, HV_X86_RIP), stub(vector), "%s: RIP %#llx, wanted the handler of vector %u", what,
                 (unsigned long long)xg_reg(g, HV_X86_RIP), vector);
}

/* Word i of the interrupt frame (after the error code, if any). */
static uint64_t frame(struct xg *g, unsigned i, bool err)
{
    uint64_t sp = xg_reg(g, HV_X86_RSP) + (err ? 8 : 0) + 8ull * i, v = 0;
    cr_assert(sp + 8 <= XG_RAM_SIZE);
    memcpy(&v, g->ram + sp, 8);
    return v;
}

/* The handler's IRETQ back to CPL3, done by the client. */
static void resume_user(struct xg *g, uint64_t rflags_or)
{
    uint64_t rip = frame(g, FRAME_RIP, false), fl = frame(g, FRAME_RFLAGS, false), sp = frame(g, FRAME_RSP, false);
    cr_assert_eq(xg_long_mode_cpl(g, 3), 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, rip);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, fl | rflags_or);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, sp);
}

/* TF over mov ecx,5 / dec ecx / jnz: one #DB after every instruction, each with
 * DR6.BS, the stacked RIP the next instruction and TF still set in the image; the
 * HLT after the loop is a #GP (a fault: no single-step trap, RF pushed as 1). */
Test(soft_x86_debug, single_step_counts_a_loop)
{
    static const uint8_t code[] = { 0xb9, 0x05, 0x00, 0x00, 0x00, 0xff, 0xc9, 0x75, 0xfc };
    static const uint8_t want[] = { 5, 7, 5, 7, 5, 7, 5, 7, 5, 7, 9 };
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_TF);
    unsigned steps = 0;
    for (; steps < MAX_STEPS; steps++) {
        cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
        cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT);
        if (xg_reg(&g, HV_X86_RIP) != stub(DB_VECTOR))
            break;
        cr_assert_lt(steps, sizeof(want), "more single steps than instructions");
        cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + want[steps], "step %u: stacked RIP %#llx", steps,
                     (unsigned long long)frame(&g, FRAME_RIP, false));
        cr_expect(frame(&g, FRAME_RFLAGS, false) & RFLAGS_TF, "step %u: TF in the stacked RFLAGS", steps);
        cr_expect(xg_reg(&g, HV_X86_DR6) & DR6_BS, "step %u: DR6 %#llx without BS", steps,
                  (unsigned long long)xg_reg(&g, HV_X86_DR6));
        cr_expect_eq(xg_reg(&g, HV_X86_RFLAGS) & RFLAGS_TF, 0, "TF cleared in the handler");
        resume_user(&g, 0);
    }
    cr_expect_eq(steps, sizeof(want), "%u single-step traps, wanted %zu", steps, sizeof(want));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), stub(GP_VECTOR), "the HLT at CPL3 ends in #GP");
    cr_expect_eq(frame(&g, FRAME_RIP, true), CODE + sizeof(code));
    cr_expect(frame(&g, FRAME_RFLAGS, true) & RFLAGS_RF, "a fault pushes RF = 1");
    xg_destroy(&g);
}

/* POPF that sets TF: no trap after the POPF itself, the first after the next one.
 * POPF that clears TF: a trap after it (TF was set when it started), none later. */
Test(soft_x86_debug, popf_and_tf)
{
    static const uint8_t code[] = {
        0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d,   /* pushfq; or [rsp], TF; popfq  +0  */
        0x90, 0x90,                                                   /* nop; nop                     +10 */
        0x9c, 0x48, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, 0x9d,   /* pushfq; and [rsp], ~TF; popfq +12 */
        0x90,                                                         /* nop                          +22 */
    };
    static const uint8_t want[] = { 11, 12, 13, 21, 22 };
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    for (unsigned i = 0; i < sizeof(want); i++) {
        run_to_stub(&g, DB_VECTOR, "single step");
        cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + want[i], "trap %u: stacked RIP %#llx", i,
                     (unsigned long long)frame(&g, FRAME_RIP, false));
        resume_user(&g, 0);
    }
    run_to_stub(&g, GP_VECTOR, "no trap after the last NOP: the HLT's #GP");
    cr_expect_eq(frame(&g, FRAME_RIP, true), CODE + sizeof(code));
    xg_destroy(&g);
}

/* INT3 under TF: the #BP handler is entered with TF clear and no single-step trap;
 * its IRET restores TF and the next instruction traps. */
Test(soft_x86_debug, software_interrupt_takes_no_single_step_trap)
{
    static const uint8_t code[] = { 0xcc, 0x90 };   /* int3; nop */
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_TF);
    run_to_stub(&g, 3, "INT3");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 1);
    cr_expect(frame(&g, FRAME_RFLAGS, false) & RFLAGS_TF, "TF in the stacked RFLAGS");
    cr_expect_eq(xg_reg(&g, HV_X86_DR6) & DR6_BS, 0, "no single-step trap for INT3");
    resume_user(&g, 0);
    run_to_stub(&g, DB_VECTOR, "after the NOP");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 2);
    xg_destroy(&g);
}

/* MOV SS holds the single-step trap over the next instruction. */
Test(soft_x86_debug, mov_ss_defers_the_trap_by_one_instruction)
{
    static const uint8_t code[] = { 0x8e, 0xd0, 0x90, 0x90 };   /* mov ss, eax; nop; nop */
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    require_pvm_debug("the single-step trap comes right after MOV SS");
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, XG_SEL_UDATA);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_TF);
    run_to_stub(&g, DB_VECTOR, "after MOV SS and the NOP");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 3, "trap after the NOP, not after MOV SS: stacked RIP %#llx",
                 (unsigned long long)frame(&g, FRAME_RIP, false));
    resume_user(&g, 0);
    run_to_stub(&g, DB_VECTOR, "after the second NOP");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 4);
    xg_destroy(&g);
}

/* An execute breakpoint is a fault before the instruction (B0, RF pushed 0); RF set
 * by the handler lets the instruction run once. */
Test(soft_x86_debug, instruction_breakpoint_and_rf)
{
    static const uint8_t code[] = { 0x90, 0x48, 0xff, 0xc0, 0x90 };   /* nop; inc rax; nop */
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    require_pvm_debug("guest DR0-DR3 breakpoints never fire");
    hv_vcpu_write_register(g.vcpu, HV_X86_DR0, CODE + 1);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_L(0) | DR7_RW(0, RW_EXEC) | DR7_LEN(0, LEN_1));
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 0);
    run_to_stub(&g, DB_VECTOR, "breakpoint on INC");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 1, "a fault: RIP on the instruction");
    cr_expect_eq(frame(&g, FRAME_RFLAGS, false) & RFLAGS_RF, 0, "instruction breakpoints push RF = 0");
    cr_expect_eq(xg_reg(&g, HV_X86_DR6) & 0xf, 1, "DR6 %#llx: B0", (unsigned long long)xg_reg(&g, HV_X86_DR6));
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 0, "INC not executed");
    resume_user(&g, RFLAGS_RF);
    run_to_stub(&g, GP_VECTOR, "the HLT after it");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 1, "INC executed once under RF");
    cr_expect_eq(frame(&g, FRAME_RFLAGS, true) & RFLAGS_RF, RFLAGS_RF, "#GP (a fault) pushes RF = 1");
    xg_destroy(&g);
}

/* Data breakpoints are traps after the access: DR1 on writes of 4 bytes at XG_DATA,
 * DR2 on any access of XG_DATA+0x100. A read of DR1's bytes does not hit; MOVSB
 * hits both, setting B1 and B2. */
Test(soft_x86_debug, data_breakpoints_set_their_b_bits)
{
    static const uint8_t code[] = {
        0x8b, 0x0b,                                 /* mov ecx, [rbx]        +0  */
        0x88, 0x43, 0x02,                           /* mov [rbx+2], al       +2  */
        0x8b, 0x83, 0x00, 0x01, 0x00, 0x00,         /* mov eax, [rbx+0x100]  +5  */
        0xa4,                                       /* movsb                 +11 */
    };
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    require_pvm_debug("guest DR0-DR3 breakpoints never fire");
    hv_vcpu_write_register(g.vcpu, HV_X86_DR1, XG_DATA);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR2, XG_DATA + 0x100);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN_4) |
                                                   DR7_L(2) | DR7_RW(2, RW_ACCESS) | DR7_LEN(2, LEN_1));
    hv_vcpu_write_register(g.vcpu, HV_X86_RSI, XG_DATA + 0x100);
    hv_vcpu_write_register(g.vcpu, HV_X86_RDI, XG_DATA + 1);
    static const struct { unsigned rip; uint64_t b; } hits[] = { { 5, 2 }, { 11, 4 }, { 12, 6 } };
    for (unsigned i = 0; i < 3; i++) {
        run_to_stub(&g, DB_VECTOR, "data breakpoint");
        cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + hits[i].rip, "hit %u: stacked RIP %#llx", i,
                     (unsigned long long)frame(&g, FRAME_RIP, false));
        cr_expect_eq(xg_reg(&g, HV_X86_DR6) & 0xf, hits[i].b, "hit %u: DR6 %#llx", i,
                     (unsigned long long)xg_reg(&g, HV_X86_DR6));
        resume_user(&g, 0);
    }
    run_to_stub(&g, GP_VECTOR, "the HLT after them");
    xg_destroy(&g);
}

/* ICEBP (INT1) at CPL3 reaches the DPL0 #DB gate (no DPL check) as a trap, DR6
 * without breakpoint bits. */
Test(soft_x86_debug, icebp_skips_the_gate_dpl_check)
{
    static const uint8_t code[] = { 0xf1 };
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    run_to_stub(&g, DB_VECTOR, "INT1");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE + 1, "stacked RIP after the INT1");
    cr_expect_eq(xg_reg(&g, HV_X86_DR6) & (0xf | DR6_BS | DR6_BD), 0, "DR6 %#llx",
                 (unsigned long long)xg_reg(&g, HV_X86_DR6));
    xg_destroy(&g);
}

/* CR0.AM, RFLAGS.AC and CPL 3: a misaligned dword load is #AC(0) before it runs;
 * aligned ones and bytes are not. */
Test(soft_x86_debug, alignment_check)
{
    static const uint8_t code[] = {
        0x8b, 0x03,                     /* mov eax, [rbx]      +0 */
        0x66, 0x8b, 0x4b, 0x02,         /* mov cx, [rbx+2]     +2 */
        0x8a, 0x53, 0x03,               /* mov dl, [rbx+3]     +6 */
        0x8b, 0x73, 0x01,               /* mov esi, [rbx+1]    +9 */
    };
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_CR0, xg_reg(&g, HV_X86_CR0) | CR0_AM);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_AC);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSI, 0x5a5a);
    run_to_stub(&g, AC_VECTOR, "misaligned dword");
    cr_expect_eq(frame(&g, FRAME_RIP, true), CODE + 9, "#AC on the misaligned load");
    cr_expect_eq(frame(&g, 0, false), 0, "error code 0");
    cr_expect_eq(xg_reg(&g, HV_X86_RSI), 0x5a5a, "the load did not happen");
    /* The same code without EFLAGS.AC runs to the HLT. */
    cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_CR0, xg_reg(&g, HV_X86_CR0) | CR0_AM);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE);
    run_to_stub(&g, GP_VECTOR, "no alignment check without AC");
    xg_destroy(&g);
}

/* DR7.GD: MOV from DR0 is a #DB fault with DR6.BD, and GD is clear in the handler. */
Test(soft_x86_debug, general_detect)
{
    static const uint8_t code[] = { 0x0f, 0x21, 0xc0 };   /* mov rax, dr0 */
    struct xg g;
    setup(&g, 0, code, sizeof(code));
    require_kernel_route();
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_GD);
    run_to_stub(&g, DB_VECTOR, "general detect");
    cr_expect_eq(frame(&g, FRAME_RIP, false), CODE, "a fault: RIP on the MOV");
    cr_expect(xg_reg(&g, HV_X86_DR6) & DR6_BD, "DR6 %#llx: BD", (unsigned long long)xg_reg(&g, HV_X86_DR6));
    cr_expect_eq(xg_reg(&g, HV_X86_DR7) & DR7_GD, 0, "GD cleared on entry to the handler");
    xg_destroy(&g);
}

/* DR4 is DR6 while CR4.DE is clear and #UD once it is set. */
Test(soft_x86_debug, dr4_aliases_dr6_unless_cr4_de)
{
    static const uint8_t code[] = { 0x0f, 0x21, 0xe0 };   /* mov rax, dr4 */
    struct xg g;
    setup(&g, 0, code, sizeof(code));
    require_kernel_route();
    hv_vcpu_write_register(g.vcpu, HV_X86_DR6, DR6_INIT | 0x2);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_HLT);
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), DR6_INIT | 0x2, "DR4 read DR6");
    cr_assert_eq(xg_long_mode_cpl(&g, 0), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_CR4, xg_reg(&g, HV_X86_CR4) | CR4_DE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE);
    run_to_stub(&g, UD_VECTOR, "DR4 with CR4.DE");
    xg_destroy(&g);
}

/* ---- VMX view (soft route: KVM does not honour the exception bitmap) ---------------- */

static void require_soft(void)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0)
        cr_skip_test("KVM does not honour exception-bitmap exits other than #BP (docs/differences.md)");
}

static void expect_exception_exit(struct xg *g, unsigned vector, uint64_t qual, uint64_t rip)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_EXC_NMI, "exit reason %u", xg_exit_reason(g));
    uint64_t info = xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_INFO);
    cr_expect_eq(info & 0xff, vector, "vector %llu", (unsigned long long)(info & 0xff));
    cr_expect_eq(info & IRQ_INFO_TYPE_MASK, IRQ_INFO_HARD_EXC);
    cr_expect_eq(xg_read_vmcs(g, VMCS_RO_EXIT_QUALIFIC), qual, "qualification %#llx",
                 (unsigned long long)xg_read_vmcs(g, VMCS_RO_EXIT_QUALIFIC));
    cr_expect_eq(xg_reg(g, HV_X86_RIP), rip, "RIP %#llx", (unsigned long long)xg_reg(g, HV_X86_RIP));
}

Test(soft_x86_debug, vmx_db_exits_carry_dr6_bits_in_the_qualification)
{
    static const uint8_t code[] = { 0x90, 0x88, 0x03, 0x90 };   /* nop; mov [rbx], al; nop */
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    require_soft();
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 1u << DB_VECTOR), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_TF);
    expect_exception_exit(&g, DB_VECTOR, DR6_BS, CODE + 1);
    cr_expect_eq(xg_reg(&g, HV_X86_DR6), DR6_INIT, "DR6 unchanged by a #DB exit");
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR3, XG_DATA);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_L(3) | DR7_RW(3, RW_WRITE) | DR7_LEN(3, LEN_1));
    expect_exception_exit(&g, DB_VECTOR, 0x8, CODE + 3);
    cr_expect_eq(xg_reg(&g, HV_X86_DR6), DR6_INIT, "DR6 unchanged by a #DB exit");
    /* An execute breakpoint: a fault, RIP on the instruction, B0 in the qualification. */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR0, CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_L(0) | DR7_RW(0, RW_EXEC) | DR7_LEN(0, LEN_1));
    expect_exception_exit(&g, DB_VECTOR, 0x1, CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_DR7, DR7_INIT | DR7_L(3) | DR7_RW(3, RW_WRITE) | DR7_LEN(3, LEN_1));
    /* Both at once: one #DB with B3 and BS. */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE + 1);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_TF);
    expect_exception_exit(&g, DB_VECTOR, DR6_BS | 0x8, CODE + 3);
    xg_destroy(&g);
}

Test(soft_x86_debug, vmx_ac_exits_with_error_code_zero)
{
    static const uint8_t code[] = { 0x8b, 0x43, 0x02 };   /* mov eax, [rbx+2] */
    struct xg g;
    setup(&g, 3, code, sizeof(code));
    require_soft();
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 1u << AC_VECTOR), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_CR0, xg_reg(&g, HV_X86_CR0) | CR0_AM);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2 | RFLAGS_AC);
    expect_exception_exit(&g, AC_VECTOR, 0, CODE);
    cr_expect(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_INFO) & IRQ_INFO_ERROR_VALID);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_ERROR), 0);
    xg_destroy(&g);
}
