/* The run path with small real-mode guests (tests/guests/x86_64/kvm_tiny.S):
 * registers, fpstate and MSRs surviving a run; HLT with and without HLT exiting;
 * hv_vcpu_interrupt before and during a run; the run_until deadline; RDMSR exits
 * and native MSRs; interrupt-window exits and VM-entry injection; triple fault;
 * #BP in the exception bitmap. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm/client.h"
#include "support/backend.h"
#include "support/x86_vendor.h"
#include <criterion/redirect.h>

#define MSR_LSTAR 0xc0000082u
#define MSR_STAR 0xc0000081u
#define MSR_CSTAR 0xc0000083u
#define MSR_FMASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
#define RFLAGS_IF 0x200u
#define IRQ_VECTOR 0x20u
#define PORT_IMM 0x80u
#define PORT_HANDLER 0x81u
#define NS_PER_MS 1000000ull

static struct client c;

static void setup(void)
{
    client_tiny_start(&c);
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(kvm_run, .init = setup, .fini = teardown, .timeout = 60);

static const struct {
    hv_x86_reg_t reg;
    uint64_t value;
} reg_values[] = {
    { HV_X86_RAX, 0x1111111111111111ull }, { HV_X86_RCX, 0x2222222222222222ull },
    { HV_X86_RDX, 0x3333333333333333ull }, { HV_X86_RBX, 0x4444444444444444ull },
    { HV_X86_RSI, 0x5555555555555555ull }, { HV_X86_RDI, 0x6666666666666666ull },
    { HV_X86_RSP, 0x6ff0 }, { HV_X86_RBP, 0x7777777777777777ull },
    { HV_X86_R8, 0x8888888888888888ull }, { HV_X86_R9, 0x9999999999999999ull },
    { HV_X86_R10, 0xaaaaaaaaaaaaaaaaull }, { HV_X86_R11, 0xbbbbbbbbbbbbbbbbull },
    { HV_X86_R12, 0xccccccccccccccccull }, { HV_X86_R13, 0xddddddddddddddddull },
    { HV_X86_R14, 0xeeeeeeeeeeeeeeeeull }, { HV_X86_R15, 0x0f0f0f0f0f0f0f0full },
    { HV_X86_RFLAGS, 0x2 | 0x1 | 0x40 | 0x800 }, /* fixed, CF, ZF, OF */
    { HV_X86_DS, 0x10 }, { HV_X86_ES, 0x20 }, { HV_X86_FS, 0x30 }, { HV_X86_GS, 0x40 },
    { HV_X86_GDT_BASE, 0x1000 }, { HV_X86_GDT_LIMIT, 0x7f }, { HV_X86_IDT_BASE, 0x2000 },
    { HV_X86_IDT_LIMIT, 0x3ff }, { HV_X86_CR2, 0xdeadb000 }, { HV_X86_CR3, 0x5000 },
    { HV_X86_DR0, 0x1000 }, { HV_X86_DR1, 0x2000 }, { HV_X86_DR2, 0x3000 }, { HV_X86_DR3, 0x4000 },
    { HV_X86_DR7, 0x400 }, { HV_X86_XCR0, 1 },
    { HV_X86_LDTR, 0 }, { HV_X86_LDT_BASE, 0x3000 }, { HV_X86_LDT_LIMIT, 0x7f }, { HV_X86_LDT_AR, 0x82 },
    { HV_X86_TR, 0 }, { HV_X86_TSS_BASE, 0x4000 }, { HV_X86_TSS_LIMIT, 0x67 }, { HV_X86_TSS_AR, 0x8b },
    { HV_X86_CR0, 0x30 }, { HV_X86_CR1, 0 }, { HV_X86_CR4, 0x2000 | 0x200 }, { HV_X86_DR6, 0xffff0ff1 },
    { HV_X86_DR4, 0x5000 }, { HV_X86_DR5, 0x6000 },
};

Test(kvm_run, registers_survive_a_run)
{
    for (size_t i = 0; i < sizeof(reg_values) / sizeof(reg_values[0]); i++)
        wreg(c.vcpu, reg_values[i].reg, reg_values[i].value);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT);
    for (size_t i = 0; i < sizeof(reg_values) / sizeof(reg_values[0]); i++)
        cr_expect_eq(rreg(c.vcpu, reg_values[i].reg), reg_values[i].value, "register %d after the run: %#llx",
                     (int)reg_values[i].reg, (unsigned long long)rreg(c.vcpu, reg_values[i].reg));
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY_HLT, "HLT exit: RIP on the HLT");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN), 1);
}

Test(kvm_run, tpr_survives_a_run)
{
    wreg(c.vcpu, HV_X86_TPR, 5);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT);
    uint64_t tpr = rreg(c.vcpu, HV_X86_TPR);
    if (tpr != 5 && anyhv_get_backend() == ANYHV_BACKEND_KVM)
        cr_skip_test("host limit: this host's KVM does not keep CR8 (TPR) across KVM_RUN without an in-kernel "
                     "APIC (raw KVM shows it too); docs/differences.md");
    cr_expect_eq(tpr, 5);
}

#define FX_FCW 0
#define FX_MXCSR 24
#define FX_XMM0 160
#define FX_SIZE 512

Test(kvm_run, fpstate_survives_a_run)
{
    uint8_t img[4096] __attribute__((aligned(64))) = { 0 };
    cr_assert_eq(hv_vcpu_read_fpstate(c.vcpu, img, sizeof(img)), HV_SUCCESS);
    uint16_t fcw = 0x27f;
    uint32_t mxcsr = 0x1f80 | 0x6000;   /* round toward zero */
    memcpy(img + FX_FCW, &fcw, 2);
    memcpy(img + FX_MXCSR, &mxcsr, 4);
    for (int i = 0; i < 16 * 16; i++)
        img[FX_XMM0 + i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(hv_vcpu_write_fpstate(c.vcpu, img, sizeof(img)), HV_SUCCESS);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT);
    uint8_t back[4096] __attribute__((aligned(64))) = { 0 };
    cr_assert_eq(hv_vcpu_read_fpstate(c.vcpu, back, sizeof(back)), HV_SUCCESS);
    cr_expect_arr_eq(back + FX_FCW, img + FX_FCW, 2, "FCW");
    cr_expect_arr_eq(back + FX_MXCSR, img + FX_MXCSR, 4, "MXCSR");
    cr_expect_arr_eq(back + FX_XMM0, img + FX_XMM0, 16 * 16, "XMM0-15");
}

#define XCR0_X87_SSE_AVX 7u
#define XSAVE_HEADER 512
#define XSAVE_YMM_HI 576
#define CR4_OSFXSR_OSXSAVE_VMXE (0x200u | 0x40000u | 0x2000u)

Test(kvm_run, avx_state_survives_a_run)
{
    wreg(c.vcpu, HV_X86_CR4, CR4_OSFXSR_OSXSAVE_VMXE);
    wreg(c.vcpu, HV_X86_XCR0, XCR0_X87_SSE_AVX);
    uint8_t img[4096] __attribute__((aligned(64))) = { 0 };
    cr_assert_eq(hv_vcpu_read_fpstate(c.vcpu, img, sizeof(img)), HV_SUCCESS);
    uint64_t bv = XCR0_X87_SSE_AVX;
    memcpy(img + XSAVE_HEADER, &bv, sizeof(bv));
    for (int i = 0; i < 16 * 16; i++)
        img[XSAVE_YMM_HI + i] = (uint8_t)(255 - i);
    cr_assert_eq(hv_vcpu_write_fpstate(c.vcpu, img, sizeof(img)), HV_SUCCESS);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT);
    cr_expect_eq(rreg(c.vcpu, HV_X86_XCR0), XCR0_X87_SSE_AVX);
    uint8_t back[4096] __attribute__((aligned(64))) = { 0 };
    cr_assert_eq(hv_vcpu_read_fpstate(c.vcpu, back, sizeof(back)), HV_SUCCESS);
    cr_expect_arr_eq(back + XSAVE_YMM_HI, img + XSAVE_YMM_HI, 16 * 16, "upper halves of YMM0-15");
}

static const struct {
    uint32_t msr;
    uint64_t value;
} msr_values[] = {
    { MSR_LSTAR, 0xffffffff81000000ull }, { MSR_STAR, 0x0023001000000000ull },
    { MSR_CSTAR, 0xffffffff81000100ull }, { MSR_FMASK, 0x47700 },
    { MSR_KERNEL_GS_BASE, 0xffff888000000000ull }, { MSR_SYSENTER_CS, 0x10 },
    { MSR_SYSENTER_ESP, 0xffffc90000000000ull }, { MSR_SYSENTER_EIP, 0xffffffff81000200ull },
};

/* On the KVM route of an AMD host, KVM keeps bits 63:32 of IA32_SYSENTER_ESP/EIP only
 * for a guest whose CPUID vendor is Intel, and the guest's CPUID is the host's there
 * (docs/vendor-differences.md, KVM_SYSENTER_MSRS_32BIT): those two compare bits 31:0. */
static uint64_t msr_compared_bits(uint32_t msr)
{
    const char *be = getenv("ANYHV_BACKEND");
    bool kvm = be && strcmp(be, "kvm") == 0;
    if (kvm && (msr == MSR_SYSENTER_ESP || msr == MSR_SYSENTER_EIP) &&
        x86_vendor_differs(X86_VDIFF_KVM_SYSENTER_MSRS_32BIT))
        return UINT32_MAX;
    return UINT64_MAX;
}

Test(kvm_run, msrs_survive_a_run)
{
    for (size_t i = 0; i < sizeof(msr_values) / sizeof(msr_values[0]); i++)
        cr_assert_eq(hv_vcpu_write_msr(c.vcpu, msr_values[i].msr, msr_values[i].value), HV_SUCCESS);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT);
    for (size_t i = 0; i < sizeof(msr_values) / sizeof(msr_values[0]); i++) {
        uint64_t v = 0, mask = msr_compared_bits(msr_values[i].msr);
        cr_assert_eq(hv_vcpu_read_msr(c.vcpu, msr_values[i].msr, &v), HV_SUCCESS);
        cr_expect_eq(v & mask, msr_values[i].value & mask, "MSR %#x after the run: %#llx (bits compared %#llx)",
                     msr_values[i].msr, (unsigned long long)v, (unsigned long long)mask);
    }
}

struct kicker {
    hv_vcpuid_t vcpu;
    hv_return_t ret;
};

static void *kick_later(void *arg)
{
    struct kicker *k = arg;
    usleep(50000);   /* let the vCPU get into the guest; correctness does not depend on it */
    k->ret = hv_vcpu_interrupt(&k->vcpu, 1);
    return NULL;
}

/* Run while another thread calls hv_vcpu_interrupt; returns the exit reason. */
static uint32_t run_kicked(void)
{
    struct kicker k = { .vcpu = c.vcpu, .ret = HV_ERROR };
    pthread_t t;
    pthread_create(&t, NULL, kick_later, &k);
    hv_return_t ret = hv_vcpu_run(c.vcpu);
    pthread_join(t, NULL);
    if (ret == HV_UNSUPPORTED)
        cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                     anyhv_backend_name());
    cr_assert_eq(ret, HV_SUCCESS);
    cr_assert_eq(k.ret, HV_SUCCESS);
    return (uint32_t)rvmcs(c.vcpu, VMCS_RO_EXIT_REASON) & 0xffff;
}

Test(kvm_run, hlt_without_hlt_exiting_waits_for_an_interrupt)
{
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED) & ~(uint64_t)CPU_BASED_HLT);
    cr_expect_eq(run_kicked(), VMX_REASON_IRQ, "hv_vcpu_interrupt ends the wait as an external-interrupt exit");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_ACTIVITY_STATE), 1, "the vCPU is in the HLT activity state");
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY_HLT + 1, "in the HLT state RIP is past the HLT");
}

Test(kvm_run, interrupt_stops_a_spinning_guest)
{
    wreg(c.vcpu, HV_X86_RIP, TINY_SPIN);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO);
    client_skip(c.vcpu);
    cr_expect_eq(run_kicked(), VMX_REASON_IRQ);
    uint64_t rip = rreg(c.vcpu, HV_X86_RIP);
    cr_expect(rip >= TINY_SPIN + 2 && rip < TINY_SPIN + 4, "stopped in the spin loop, RIP %#llx",
              (unsigned long long)rip);
}

Test(kvm_run, interrupt_before_run_exits_at_once)
{
    cr_assert_eq(hv_vcpu_interrupt(&c.vcpu, 1), HV_SUCCESS);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_IRQ);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY_HLT, "no guest instruction ran");
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT, "the request was consumed");
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

Test(kvm_run, run_until_deadline)
{
    wreg(c.vcpu, HV_X86_RIP, TINY_SPIN);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO);
    client_skip(c.vcpu);
    uint64_t deadline = now_ns() + 20 * NS_PER_MS;
    hv_return_t ret = hv_vcpu_run_until(c.vcpu, deadline);
    cr_assert_eq(ret, HV_SUCCESS);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_REASON) & 0xffff, VMX_REASON_VMX_TIMER_EXPIRED);
    cr_expect_geq(now_ns(), deadline, "returned no earlier than the deadline");
    uint64_t t = 0;
    cr_expect_eq(hv_vcpu_get_exec_time(c.vcpu, &t), HV_SUCCESS);
    cr_expect_gt(t, 0);
    /* A deadline already past: no guest instruction runs. */
    uint64_t rip = rreg(c.vcpu, HV_X86_RIP);
    cr_assert_eq(hv_vcpu_run_until(c.vcpu, 1), HV_SUCCESS);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_REASON) & 0xffff, VMX_REASON_VMX_TIMER_EXPIRED);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), rip);
}

Test(kvm_run, rdmsr_exits_unless_native)
{
    wreg(c.vcpu, HV_X86_RIP, TINY_RDMSR);
    wreg(c.vcpu, HV_X86_RCX, MSR_LSTAR);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_RDMSR);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY_RDMSR, "RDMSR exit: RIP on the RDMSR");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN), 2);
    wreg(c.vcpu, HV_X86_RAX, 0x42);
    wreg(c.vcpu, HV_X86_RDX, 0);
    client_skip(c.vcpu);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RAX) & 0xff, 0x42, "the guest got the client's value");

    /* Native: the guest reads the MSR itself. */
    cr_assert_eq(hv_vcpu_write_msr(c.vcpu, MSR_LSTAR, 0x77), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_enable_native_msr(c.vcpu, MSR_LSTAR, true), HV_SUCCESS);
    wreg(c.vcpu, HV_X86_RIP, TINY_RDMSR);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO, "no RDMSR exit for a native MSR");
    cr_expect_eq(rreg(c.vcpu, HV_X86_RAX) & 0xff, 0x77);

    /* Native on this vCPU only (another vCPU keeps LSTAR exiting): still no exit here. */
    hv_vcpuid_t other;
    cr_assert_eq(hv_vcpu_create(&other, HV_VCPU_DEFAULT), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_write_msr(c.vcpu, MSR_LSTAR, 0x78), HV_SUCCESS);
    wreg(c.vcpu, HV_X86_RIP, TINY_RDMSR);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_IO, "native MSRs are per vCPU");
    cr_expect_eq(rreg(c.vcpu, HV_X86_RAX) & 0xff, 0x78);
    cr_assert_eq(hv_vcpu_destroy(other), HV_SUCCESS);
}

Test(kvm_run, irq_window_then_injection)
{
    /* Real-mode IVT entry 0x20 -> 0000:irq_handler. */
    uint16_t ivt[2] = { TINY_IRQ_HANDLER, 0 };
    memcpy(c.ram + IRQ_VECTOR * 4, ivt, sizeof(ivt));
    wreg(c.vcpu, HV_X86_RIP, TINY_IRQ_WINDOW);
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED) | CPU_BASED_IRQ_WND);
    uint32_t reason = client_run(c.vcpu);
    cr_assert_eq(reason, VMX_REASON_IRQ_WND, "reason %u", reason);
    cr_expect(rreg(c.vcpu, HV_X86_RFLAGS) & RFLAGS_IF, "window opens with IF set");
    uint64_t rip = rreg(c.vcpu, HV_X86_RIP);
    cr_expect(rip > TINY_IRQ_WINDOW && rip <= TINY_IRQ_WINDOW + 2, "after STI, RIP %#llx", (unsigned long long)rip);
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED) & ~(uint64_t)CPU_BASED_IRQ_WND);
    wvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | IRQ_VECTOR);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO, "the handler runs first");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC) >> 16, PORT_HANDLER);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO) & IRQ_INFO_VALID, 0, "valid bit cleared once delivered");
    client_skip(c.vcpu);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT, "IRET back to the interrupted code");
}

/* Long-mode entries of kvm_tiny64 (real-mode INT is done by KVM's emulator on hosts
 * that emulate real mode, without the IDT-limit check and the #BP intercept). */
enum tiny64_entry { TINY64_UD2 = 0x8000, TINY64_BREAKPOINT = 0x8010 };

static void load_tiny64(uint64_t rip)
{
    client_vm_fini(&c);
    client_vm_init(&c, "kvm_tiny64");
    c.vcpu = client_vcpu_create();
    c.vcpu_live = true;
    client_long_mode(c.vcpu, rip, client_symbol("kvm_tiny64", "pml4"));
}

Test(kvm_run, triple_fault)
{
    load_tiny64(TINY64_UD2);
    wvmcs(c.vcpu, VMCS_GUEST_IDTR_LIMIT, 0);
    uint32_t reason = client_run(c.vcpu);
    cr_expect_eq(reason, VMX_REASON_TRIPLE_FAULT, "reason %u", reason);
}

Test(kvm_run, breakpoint_in_exception_bitmap)
{
    load_tiny64(TINY64_BREAKPOINT);
    wvmcs(c.vcpu, VMCS_CTRL_EXC_BITMAP, 1u << 3);
    if (client_kvm_emulated() && hv_vcpu_run(c.vcpu) == HV_ERROR)
        cr_skip_test("host limit: this host's KVM emulates CPL0 code and fails on INT3 under the #BP intercept "
                     "(KVM_EXIT_INTERNAL_ERROR, emulation); docs/differences.md");
    wreg(c.vcpu, HV_X86_RIP, TINY64_BREAKPOINT);
    uint32_t reason = client_run(c.vcpu);
    cr_assert_eq(reason, VMX_REASON_EXC_NMI, "reason %u", reason);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_VMEXIT_IRQ_INFO), IRQ_INFO_VALID | IRQ_INFO_SOFT_EXC | 3);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY64_BREAKPOINT, "RIP on the INT3");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_VMEXIT_INSTR_LEN), 1);
}

Test(kvm_run, unhonoured_controls_are_named_on_stderr)
{
    cr_redirect_stderr();
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED) | CPU_BASED_RDTSC);
    wvmcs(c.vcpu, VMCS_CTRL_EXC_BITMAP, 1u << 13);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_HLT, "the run goes ahead");
    fflush(stderr);
    char buf[1024] = { 0 };
    size_t n = fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stderr());
    buf[n] = 0;
    if (anyhv_get_backend() == ANYHV_BACKEND_KVM) {
        cr_expect(strstr(buf, "RDTSC exiting") != NULL, "stderr: %s", buf);
        cr_expect(strstr(buf, "exception bitmap 0x2000") != NULL, "stderr: %s", buf);
    } else {
        cr_expect_eq(n, 0, "a backend that honours the controls says nothing: %s", buf);
    }
}

/* Inject `info` at entry on the HLT entry; the real-mode handler at `vector` reports
 * through port 0x81 and returns to the HLT. */
static void inject_and_expect_handler(uint32_t info, uint8_t vector)
{
    uint16_t ivt[2] = { TINY_IRQ_HANDLER, 0 };
    memcpy(c.ram + vector * 4u, ivt, sizeof(ivt));
    wvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, info);
    uint32_t reason = client_run(c.vcpu);
    cr_assert_eq(reason, VMX_REASON_IO, "the handler of vector %u runs first (reason %u)", vector, reason);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC) >> 16, PORT_HANDLER);
    client_skip(c.vcpu);
    cr_expect_eq(client_run(c.vcpu), VMX_REASON_HLT, "IRET back to the HLT");
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), TINY_HLT);
}

Test(kvm_run, inject_hardware_exception)
{
    inject_and_expect_handler(IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | 6, 6);   /* #UD */
}

Test(kvm_run, inject_nmi)
{
    inject_and_expect_handler(IRQ_INFO_VALID | IRQ_INFO_NMI | 2, 2);
}

Test(kvm_run, inject_ignores_interrupt_flag)
{
    /* VM-entry injection delivers even with RFLAGS.IF = 0 (the VMM checked). */
    wreg(c.vcpu, HV_X86_RFLAGS, 0x2);
    inject_and_expect_handler(IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | IRQ_VECTOR, IRQ_VECTOR);
}

Test(kvm_run, halted_vcpu_until_deadline_then_woken_by_injection)
{
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED) & ~(uint64_t)CPU_BASED_HLT);
    hv_return_t ret = hv_vcpu_run_until(c.vcpu, now_ns() + 20 * NS_PER_MS);
    if (ret == HV_UNSUPPORTED)
        cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                     anyhv_backend_name());
    cr_assert_eq(ret, HV_SUCCESS);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_REASON) & 0xffff, VMX_REASON_VMX_TIMER_EXPIRED);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_ACTIVITY_STATE), 1, "still halted");
    uint16_t ivt[2] = { TINY_IRQ_HANDLER, 0 };
    memcpy(c.ram + IRQ_VECTOR * 4, ivt, sizeof(ivt));
    wvmcs(c.vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, IRQ_INFO_VALID | IRQ_INFO_EXT_IRQ | IRQ_VECTOR);
    cr_assert_eq(client_run(c.vcpu), VMX_REASON_IO, "the injected interrupt wakes the vCPU");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC) >> 16, PORT_HANDLER);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_ACTIVITY_STATE), 0, "active again");
}

#define UNMAPPED_PAGE 0x20000u
#define EPTQ_FETCH (1u << 2)

Test(kvm_run, fetch_from_unmapped_memory)
{
    cr_assert_eq(hv_vm_unmap(UNMAPPED_PAGE, 4096), HV_SUCCESS);
    wvmcs(c.vcpu, VMCS_GUEST_CS_BASE, UNMAPPED_PAGE);
    wreg(c.vcpu, HV_X86_RIP, 0);
    uint32_t reason = client_run(c.vcpu);
    cr_assert_eq(reason, VMX_REASON_EPT_VIOLATION, "reason %u", reason);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_PHYSICAL_ADDRESS), UNMAPPED_PAGE);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC) & 0x3f, EPTQ_FETCH, "fetch, page not mapped");
    cr_expect_eq(rreg(c.vcpu, HV_X86_RIP), 0, "RIP on the instruction that could not be fetched");
}
