/* test_cs_d.c - the default operand size follows CS.D in every combination of
 * CS.D x CR0.PE x unrestricted guest, on every backend: `B8 44 33 22 11` is
 * `mov eax, 0x11223344` as 32-bit code and `mov ax, 0x3344` (then `and dl, [bx+di]`)
 * as 16-bit code. VMX runs a real-mode guest (CR0.PE=0, allowed by unrestricted
 * guest) whose CS access rights have D=1 as 32-bit code; so must anyhv. anyhv's VMX
 * always has unrestricted guest (HV_VMX_CAP_PROCBASED2 demands it): a client that
 * tries to clear it is refused and the guest runs as with it. */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"

#define CODE_AT 0x1000u
#define RAX_BEFORE 0xaaaabbbbccccddddull
#define IMM32 0x11223344ull
#define AR_D (1u << 14)
#define AR_REAL_CODE 0x93u     /* what the client used: type 3, as VMX allows in real mode */
#define AR_PROT_CODE 0x9bu     /* execute/read, accessed */

static const uint8_t code[] = { 0xb8, 0x44, 0x33, 0x22, 0x11, 0xf4, 0xf4, 0xf4 };

static void require_route(bool real_mode)
{
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (real_mode && be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (no VT-x/SVM): it does not run real-mode guests");
}

static uint64_t run_case(bool cs_d, bool pe, bool unrestricted)
{
    require_route(!pe);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    memcpy(g.ram + CODE_AT, code, sizeof(code));
    cr_assert_eq(xg_real_mode(&g, 0, CODE_AT), 0);
    uint64_t cr0 = XG_CR0_ET | XG_CR0_NE | (pe ? XG_CR0_PE : 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR0, cr0) | xg_vmcs(&g, VMCS_CTRL_CR0_SHADOW, cr0), 0);
    uint32_t ar = (pe ? AR_PROT_CODE : AR_REAL_CODE) | (cs_d ? AR_D : 0);
    cr_assert_eq(xg_seg(&g, 1, 0, 0, 0xffff, ar), 0);
    uint64_t ctl2 = xg_read_vmcs(&g, VMCS_CTRL_CPU_BASED2);
    cr_assert(ctl2 & CPU_BASED2_UNRESTRICTED, "a new vCPU has unrestricted guest");
    if (!unrestricted) {
        hv_return_t r = hv_vmx_vcpu_write_vmcs(g.vcpu, VMCS_CTRL_CPU_BASED2, ctl2 & ~(uint64_t)CPU_BASED2_UNRESTRICTED);
        cr_expect_eq(r, HV_BAD_ARGUMENT, "clearing unrestricted guest is refused (the capability demands it)");
        cr_expect(xg_read_vmcs(&g, VMCS_CTRL_CPU_BASED2) & CPU_BASED2_UNRESTRICTED, "and it stays set");
    }
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, RAX_BEFORE);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    uint64_t rax = xg_reg(&g, HV_X86_RAX);
    uint64_t rip = xg_reg(&g, HV_X86_RIP);
    xg_destroy(&g);
    /* 32-bit code: MOV is 5 bytes and zero-extends; 16-bit: MOV (3) + AND (2). */
    cr_expect_eq(rip, CODE_AT + 5, "HLT at +5 in both sizes, rip %#llx", (unsigned long long)rip);
    return rax;
}

static void expect_size(bool cs_d, bool pe, bool unrestricted)
{
    uint64_t rax = run_case(cs_d, pe, unrestricted);
    uint64_t want = cs_d ? IMM32 : (RAX_BEFORE & ~0xffffull) | (IMM32 & 0xffff);
    cr_expect_eq(rax, want, "CS.D=%d CR0.PE=%d unrestricted=%d: rax %#llx, want %#llx (%s-bit code)", cs_d, pe,
                 unrestricted, (unsigned long long)rax, (unsigned long long)want, cs_d ? "32" : "16");
}

Test(soft_x86_cs_d, real_mode_d0_unrestricted) { expect_size(false, false, true); }
Test(soft_x86_cs_d, real_mode_d1_unrestricted) { expect_size(true, false, true); }
Test(soft_x86_cs_d, protected_d0_unrestricted) { expect_size(false, true, true); }
Test(soft_x86_cs_d, protected_d1_unrestricted) { expect_size(true, true, true); }
Test(soft_x86_cs_d, real_mode_d0_restricted_refused) { expect_size(false, false, false); }
Test(soft_x86_cs_d, real_mode_d1_restricted_refused) { expect_size(true, false, false); }
Test(soft_x86_cs_d, protected_d0_restricted_refused) { expect_size(false, true, false); }
Test(soft_x86_cs_d, protected_d1_restricted_refused) { expect_size(true, true, false); }
