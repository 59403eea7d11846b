/* test_modes.c - whole guests through the x86 modes on every backend: the
 * soft_modes guest (real -> protected -> long mode, #DE/#PF/#GP handlers, IST, a
 * CPL3 round trip by IRETQ/SYSCALL/SYSRETQ and a DPL3 gate) must print the same
 * step letters on each route; and a real-mode client in the style of hvdos (IDT
 * limit 0, INT 21h) must see #GP exit with the INT 21h in the IDT-vectoring info. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "support/backend.h"
#include "x86_guest.h"

#define MODES_BASE 0x8000u
#define DEBUG_PORT 0xe9u
#define MAX_EXITS 200
#define IOQ_PORT_SHIFT 16
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

static size_t load_guest(struct xg *g, const char *name, uint64_t base)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/x86_64/%s.bin", ANYHV_GUEST_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "guest %s missing", path);
    size_t n = fread(g->ram + base, 1, XG_RAM_SIZE - base, f);
    fclose(f);
    return n;
}

/* Run until HLT; port writes to the debug port are collected. Returns the last reason. */
static uint32_t run_collect(struct xg *g, char *out, size_t outlen)
{
    size_t n = 0;
    for (int i = 0; i < MAX_EXITS; i++) {
        cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
        uint32_t reason = xg_exit_reason(g);
        if (reason != VMX_REASON_IO) {
            out[n] = 0;
            return reason;
        }
        uint64_t q = xg_read_vmcs(g, VMCS_RO_EXIT_QUALIFIC);
        if (((q >> IOQ_PORT_SHIFT) & 0xffff) == DEBUG_PORT && n + 1 < outlen)
            out[n++] = (char)xg_reg(g, HV_X86_RAX);
        uint64_t len = xg_read_vmcs(g, VMCS_RO_VMEXIT_INSTR_LEN);
        hv_vcpu_write_register(g->vcpu, HV_X86_RIP, xg_reg(g, HV_X86_RIP) + len);
    }
    out[n] = 0;
    return ~0u;
}

/* Real-mode guests need a KVM that virtualizes in hardware: a paravirtual KVM
 * (PVM, no VT-x/SVM) runs guest kernel code in an emulator that does not do mode
 * switches, and was seen never returning from such a run. */
static void require_real_mode_route(void)
{
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (no VT-x/SVM): no real-mode guests there");
}

Test(soft_x86_modes, real_protected_long_and_back_to_user)
{
    require_real_mode_route();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    load_guest(&g, "soft_modes", MODES_BASE);
    cr_assert_eq(xg_real_mode(&g, 0, MODES_BASE), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    const uint32_t msrs[] = { MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_FMASK };
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(hv_vcpu_enable_native_msr(g.vcpu, msrs[i], true), HV_SUCCESS);
    char out[64];
    uint32_t reason = run_collect(&g, out, sizeof(out));
    cr_expect_str_eq(out, "RPDLFGIUS\n", "guest printed \"%s\"", out);
    cr_expect_eq(reason, VMX_REASON_HLT, "last exit reason %u", reason);
    xg_destroy(&g);
}

/* hvdos: real mode, IDT limit 0, every exception exiting; INT 21h must come back
 * as #GP with the software interrupt in the IDT-vectoring information and the INT's
 * length as the instruction length. */
Test(soft_x86_modes, hvdos_int21_vectoring_info)
{
    require_real_mode_route();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    static const uint8_t code[] = { 0xb4, 0x09, 0xcd, 0x21, 0xf4 };   /* mov ah,9; int 21h; hlt */
    memcpy(g.ram + 0x1000 + 0x100, code, sizeof(code));
    cr_assert_eq(xg_real_mode(&g, 0x100, 0x100), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_IDTR_LIMIT, 0), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0xffffffffu), 0);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_EXC_NMI);
    uint64_t vec = xg_read_vmcs(&g, VMCS_RO_IDT_VECTOR_INFO);
    cr_expect(vec & IRQ_INFO_VALID, "IDT-vectoring info valid");
    cr_expect_eq(vec & 0xff, 0x21);
    cr_expect_eq(vec & IRQ_INFO_TYPE_MASK, IRQ_INFO_SOFT_IRQ);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xff, 13, "#GP");
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN), 2);
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), 0x102, "RIP on the INT");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX) & 0xff00, 0x0900, "MOV before it retired");
    xg_destroy(&g);
}

/* Instructions that each lift to hundreds of IR operations (16-bit ENTER with nesting
 * level 31 pushes 32 words through SS): a block of them must be split, not overflow the
 * IR (random real-mode code once did). 63 ENTERs (a block holds 64), then HLT. */
#define HEAVY_SEG 0x1000u
#define HEAVY_IP 0x100u
#define HEAVY_ENTERS 63u
#define ENTER_LEVEL 31u
#define ENTER_PUSH_BYTES ((ENTER_LEVEL + 1u) * 2u)   /* BP, 30 outer frame pointers, the new frame */
#define HEAVY_SP 0xfff0u
#define HEAVY_BP 0x8000u

Test(soft_x86_modes, heavy_block_of_nested_enters)
{
    require_real_mode_route();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    const uint8_t enter[4] = { 0xc8, 0x00, 0x00, ENTER_LEVEL };   /* enter 0, 31 */
    uint8_t *code = g.ram + ((uint64_t)HEAVY_SEG << 4) + HEAVY_IP;
    for (unsigned i = 0; i < HEAVY_ENTERS; i++)
        memcpy(code + 4 * i, enter, sizeof(enter));
    code[4 * HEAVY_ENTERS] = 0xf4;   /* hlt */
    cr_assert_eq(xg_real_mode(&g, HEAVY_SEG, HEAVY_IP), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, HEAVY_SP);
    hv_vcpu_write_register(g.vcpu, HV_X86_RBP, HEAVY_BP);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), HEAVY_IP + 4 * HEAVY_ENTERS, "RIP on the HLT");
    uint64_t sp = HEAVY_SP - HEAVY_ENTERS * ENTER_PUSH_BYTES;
    cr_expect_eq(xg_reg(&g, HV_X86_RSP) & 0xffff, sp, "SP %#llx, wanted %#llx",
                 (unsigned long long)xg_reg(&g, HV_X86_RSP), (unsigned long long)sp);
    cr_expect_eq(xg_reg(&g, HV_X86_RBP) & 0xffff, sp + ENTER_PUSH_BYTES - 2, "BP is the last frame");
    xg_destroy(&g);
}

/* Code running up to the last byte of guest RAM (the end of the identity map): the
 * block ends at the page end and the next fetch is a #PF at the first byte beyond it,
 * delivered to the handler (a HLT) - not an internal error: a block covers exactly
 * the bytes it was built from. */
#define RAM_END_NOPS 16u
#define PF_VECTOR 14u

Test(soft_x86_modes, code_up_to_the_end_of_ram)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    uint64_t start = XG_RAM_SIZE - RAM_END_NOPS;
    memset(g.ram + start, 0x90, RAM_END_NOPS);   /* nop x 16 */
    cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, start);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * PF_VECTOR, "in the #PF handler");
    cr_expect_eq(xg_reg(&g, HV_X86_CR2), XG_RAM_SIZE, "CR2 %#llx", (unsigned long long)xg_reg(&g, HV_X86_CR2));
    uint64_t frame[2];   /* error code, RIP */
    memcpy(frame, g.ram + xg_reg(&g, HV_X86_RSP), sizeof(frame));
    cr_expect_eq(frame[1], XG_RAM_SIZE, "every NOP retired; stacked RIP %#llx", (unsigned long long)frame[1]);
    xg_destroy(&g);
}
