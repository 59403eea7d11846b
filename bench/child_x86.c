/* anyhv-bench-x86_64: runs one bench guest once through the Intel-flavour hv_* API on
 * the backend named on the command line and prints "run SECONDS VALUE ICOUNT EXITS".
 * A separate process because each process links one flavour of the API. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "child.h"
#include "../tools/anyhv-run/x86_machine.h"

#define EPT_QUAL_READ (1u << 0)
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE_AVX 0x7ull

/* The vector workloads use AVX2: CR4.OSXSAVE and XCR0 enable the AVX state, as an OS
 * does. A backend that cannot leaves them off and those guests fault (#UD). */
static void enable_avx(hv_vcpuid_t vcpu)
{
    uint64_t cr4 = 0;
    if (hv_vmx_vcpu_read_vmcs(vcpu, VMCS_GUEST_CR4, &cr4) != HV_SUCCESS)
        return;
    if (hv_vmx_vcpu_write_vmcs(vcpu, VMCS_GUEST_CR4, cr4 | CR4_OSXSAVE) != HV_SUCCESS)
        return;
    uint64_t shadow = 0;
    if (hv_vmx_vcpu_read_vmcs(vcpu, VMCS_CTRL_CR4_SHADOW, &shadow) == HV_SUCCESS)
        hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_CR4_SHADOW, shadow | CR4_OSXSAVE);
    hv_vcpu_write_register(vcpu, HV_X86_XCR0, XCR0_X87_SSE_AVX);
}

static int run_guest(hv_vcpuid_t vcpu, const uint8_t *ram, uint64_t *exits, double *seconds, uint64_t *value)
{
    double t0 = bench_now();
    for (;;) {
        uint64_t reason = 0, gpa = 0, q = 0, rip = 0;
        if (hv_vcpu_run(vcpu) != HV_SUCCESS)
            return printf("error hv_vcpu_run failed\n"), 1;
        hv_vmx_vcpu_read_vmcs(vcpu, VMCS_RO_EXIT_REASON, &reason);
        reason &= X86M_EXIT_REASON_MASK;
        if (reason == VMX_REASON_IRQ)
            continue;
        if (reason != VMX_REASON_EPT_VIOLATION)
            return printf("error unexpected exit reason %" PRIu64 "\n", reason), 1;
        hv_vmx_vcpu_read_vmcs(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS, &gpa);
        if (gpa == BENCH_X86_EXIT) {
            *seconds = bench_now() - t0;
            memcpy(value, ram + BENCH_X86_RESULT, sizeof(*value));
            return 0;
        }
        if (gpa != BENCH_X86_DEVICE)
            return printf("error guest access to 0x%" PRIx64 " outside RAM\n", gpa), 1;
        hv_vmx_vcpu_read_vmcs(vcpu, VMCS_RO_EXIT_QUALIFIC, &q);
        if (q & EPT_QUAL_READ)   /* "mov (%rdi),%eax": the device reads as 0 */
            hv_vcpu_write_register(vcpu, HV_X86_RAX, 0);
        hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip);
        hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + BENCH_X86_DEVICE_INSN_LEN);
        ++*exits;
    }
}

int main(int argc, char **argv)
{
    uint8_t *ram = NULL;
    uint64_t entry = 0, exits = 0, value = 0;
    double seconds = 0;
    hv_vcpuid_t vcpu;
    if (!child_start(argc, argv, 0, &ram, &entry))
        return 1;
    x86m_build_tables(ram, X86M_MODE_LONG64);
    if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS ||
        hv_vm_map(ram, 0, BENCH_RAM_BYTES, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS ||
        hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS)
        return printf("error cannot create the VM\n"), 1;
    hv_return_t r = x86m_setup_vcpu(vcpu, entry, BENCH_RAM_BYTES, X86M_CPL3, X86M_MODE_LONG64);
    if (r != HV_SUCCESS)
        return printf("error vCPU set-up failed (0x%x)\n", (unsigned)r), 1;
    enable_avx(vcpu);
    if (run_guest(vcpu, ram, &exits, &seconds, &value))
        return 1;
    child_report(vcpu, seconds, value, exits);
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy();
    return 0;
}
