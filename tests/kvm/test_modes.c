/* The mode-switching guest (real -> protected -> long mode with paging) on the run
 * path: its output through port 0x3f8, the exact exit sequence (I/O per byte,
 * RDMSR/WRMSR of EFER emulated by the client, HLT with RIP on the HLT), and the
 * state it ends in (EFER.LMA, the IA-32e entry control VMX stores on exit). */
#include <string.h>

#include "kvm/client.h"
#include "support/backend.h"

#define COM1 0x3f8u
#define MSR_EFER 0xc0000080u
#define EFER_LMA 0x400u
#define IOQ_PORT_SHIFT 16
#define IOQ_IN (1u << 3)
#define MAX_EXITS 64

static struct client c;

static void setup(void)
{
    client_vm_init(&c, "kvm_modes");
    c.vcpu = client_vcpu_create();
    c.vcpu_live = true;
    client_real_mode(c.vcpu, CLIENT_LOAD_ADDR);
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(kvm_modes, .init = setup, .fini = teardown, .timeout = 60);

/* The client's side of RDMSR/WRMSR: EFER lives in the VMCS guest-state area. */
static void emulate_msr(hv_vcpuid_t v, uint32_t reason)
{
    uint32_t msr = (uint32_t)rreg(v, HV_X86_RCX);
    cr_assert_eq(msr, MSR_EFER, "only EFER is accessed, got %#x", msr);
    if (reason == VMX_REASON_RDMSR) {
        uint64_t efer = rvmcs(v, VMCS_GUEST_IA32_EFER);
        wreg(v, HV_X86_RAX, efer & 0xffffffffu);
        wreg(v, HV_X86_RDX, efer >> 32);
    } else {
        uint64_t efer = (rreg(v, HV_X86_RDX) << 32) | (rreg(v, HV_X86_RAX) & 0xffffffffu);
        wvmcs(v, VMCS_GUEST_IA32_EFER, efer);
    }
    cr_assert_eq(rvmcs(v, VMCS_RO_VMEXIT_INSTR_LEN), 2, "RDMSR/WRMSR are 2 bytes");
    client_skip(v);
}

Test(kvm_modes, prints_in_each_mode_and_halts)
{
    char out[64] = { 0 };
    size_t n = 0;
    char seq[MAX_EXITS + 1] = { 0 };
    size_t exits = 0;
    for (;;) {
        cr_assert_lt(exits, MAX_EXITS, "too many exits; so far: %s", seq);
        uint32_t reason = client_run(c.vcpu);
        if (reason == VMX_REASON_IO) {
            uint64_t q = rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC);
            cr_assert_eq(q >> IOQ_PORT_SHIFT, COM1);
            cr_assert_eq(q & (IOQ_IN | 7u), 0, "1-byte OUT, qualification %#llx", (unsigned long long)q);
            cr_assert_eq(rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN), 1, "OUT DX, AL is one byte");
            cr_assert_lt(n, sizeof(out) - 1);
            out[n++] = (char)(rreg(c.vcpu, HV_X86_RAX) & 0xff);
            client_skip(c.vcpu);
            seq[exits++] = 'o';
        } else if (reason == VMX_REASON_RDMSR || reason == VMX_REASON_WRMSR) {
            emulate_msr(c.vcpu, reason);
            seq[exits++] = reason == VMX_REASON_RDMSR ? 'r' : 'w';
        } else {
            cr_assert_eq(reason, VMX_REASON_HLT, "unexpected exit %u after: %s", reason, seq);
            seq[exits++] = 'h';
            break;
        }
    }
    cr_expect_str_eq(out, "real\nprot\nlong\n");
    cr_expect_str_eq(seq, "ooooo" "ooooo" "rw" "ooooo" "h");
    /* HLT exits leave RIP on the HLT (0xf4). */
    uint64_t rip = rreg(c.vcpu, HV_X86_RIP);
    cr_expect_eq(c.ram[rip], 0xf4, "RIP %#llx is on the HLT", (unsigned long long)rip);
    cr_expect(rvmcs(c.vcpu, VMCS_GUEST_IA32_EFER) & EFER_LMA, "long mode active");
    cr_expect(rvmcs(c.vcpu, VMCS_CTRL_VMENTRY_CONTROLS) & VMENTRY_GUEST_IA32E,
              "VMX stores EFER.LMA in the IA-32e-mode-guest control on exit");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_CS), 0x18, "64-bit code selector");
}
