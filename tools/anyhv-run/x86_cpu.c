/* anyhv-run, Intel flavour: what the guest learns about its CPU. CPUID exits are
 * answered as x86_cpuid_vmm.c builds the leaves (anyhv's model, or the host's masked
 * by it, plus this VMM's platform: APIC, x2APIC, TSC-deadline, a TSC at the VM
 * clock's 1 GHz with the 100 MHz crystal that is also the APIC timer's clock),
 * XSETBV exits take what the model's leaf 0xD allows, and RDMSR/WRMSR exits are
 * answered: the MSRs the library keeps are made native, a few informational ones read
 * as constants, writes to inert ones are dropped, and everything else raises #GP as on
 * a CPU without that MSR. */
#include <string.h>

#include "x86_cpu.h"

/* IA32_ARCH_CAPABILITIES of a CPU that does not speculate: not affected by RDCL,
 * SSB, MDS, TAA, the MMIO stale-data family, BHI, PBRSB, GDS, RFDS or ITS; L1D flush
 * on VM entry not needed; no machine check on page-size change. */
#define ARCH_CAP_NOT_AFFECTED                                                                          \
    ((1ull << 0) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) | (1ull << 13) | \
     (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | (1ull << 26) | (1ull << 27) | (1ull << 62))

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

void x86cpu_skip(hv_vcpuid_t vcpu)
{
    hv_vcpu_write_register(vcpu, HV_X86_RIP, rreg(vcpu, HV_X86_RIP) + rvmcs(vcpu, VMCS_RO_VMEXIT_INSTR_LEN));
}

void x86cpu_inject_gp(hv_vcpuid_t vcpu)
{
    hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO,
                           IRQ_INFO_VALID | IRQ_INFO_HARD_EXC | IRQ_INFO_ERROR_VALID | X86CPU_VECTOR_GP);
    hv_vmx_vcpu_write_vmcs(vcpu, VMCS_CTRL_VMENTRY_EXC_ERROR, 0);
}

void x86cpu_handle_cpuid(hv_vcpuid_t vcpu, enum x86cpu_cpuid_mode mode, uint32_t apic_id)
{
    uint32_t r[4];
    x86cpu_cpuid(vcpu, mode, (uint32_t)rreg(vcpu, HV_X86_RAX), (uint32_t)rreg(vcpu, HV_X86_RCX), apic_id, r);
    hv_vcpu_write_register(vcpu, HV_X86_RAX, r[0]);
    hv_vcpu_write_register(vcpu, HV_X86_RBX, r[1]);
    hv_vcpu_write_register(vcpu, HV_X86_RCX, r[2]);
    hv_vcpu_write_register(vcpu, HV_X86_RDX, r[3]);
    x86cpu_skip(vcpu);
}

/* XSETBV (the guest has passed the #UD and CPL checks): XCR0 takes a value the model
 * allows (x87 set, AVX only with SSE, the AVX-512 components all together and only
 * with AVX, nothing CPUID leaf 0xD lacks); any other index or value is #GP(0), as the
 * SDM has it. */
#define CPUID_LEAF_XSAVE 0xdu
#define XCR0_X87 0x1ull
#define XCR0_SSE 0x2ull
#define XCR0_AVX 0x4ull
#define XCR0_AVX512 0xe0ull
void x86cpu_xsetbv(hv_vcpuid_t vcpu)
{
    uint32_t r[4] = { 0 };
    anyhv_vcpu_x86_cpuid(vcpu, CPUID_LEAF_XSAVE, 0, r);
    uint64_t supported = r[0] | (uint64_t)r[3] << 32;
    uint64_t v = (rreg(vcpu, HV_X86_RAX) & 0xffffffffu) | (rreg(vcpu, HV_X86_RDX) << 32);
    uint64_t zmm = v & XCR0_AVX512;
    bool ok = (uint32_t)rreg(vcpu, HV_X86_RCX) == 0 && (v & XCR0_X87) && !(v & ~supported) &&
              (!(v & XCR0_AVX) || (v & XCR0_SSE)) && (!zmm || (zmm == XCR0_AVX512 && (v & XCR0_AVX)));
    if (!ok) {
        x86cpu_inject_gp(vcpu);
        return;
    }
    hv_vcpu_write_register(vcpu, HV_X86_XCR0, v);
    x86cpu_skip(vcpu);
}

/* MSRs the library keeps in the vCPU's state: the guest uses them without exits. */
static const uint32_t native_msrs[] = {
    HV_MSR_IA32_TSC, HV_MSR_IA32_SYSENTER_CS, HV_MSR_IA32_SYSENTER_ESP, HV_MSR_IA32_SYSENTER_EIP,
    HV_MSR_IA32_EFER, HV_MSR_IA32_STAR, HV_MSR_IA32_LSTAR, HV_MSR_IA32_CSTAR, HV_MSR_IA32_FMASK,
    HV_MSR_IA32_FS_BASE, HV_MSR_IA32_GS_BASE, HV_MSR_IA32_KERNEL_GS_BASE, HV_MSR_IA32_TSC_AUX,
    X86CPU_MSR_PAT, X86CPU_MSR_MISC_ENABLE,
};

void x86cpu_native_msrs(hv_vcpuid_t vcpu)
{
    for (size_t i = 0; i < sizeof(native_msrs) / sizeof(native_msrs[0]); i++)
        hv_vcpu_enable_native_msr(vcpu, native_msrs[i], true);
}

/* Read-only constants: platform info (max non-turbo ratio 10 x 100 MHz), no MTRRs,
 * no machine-check banks. */
static const struct { uint32_t msr; uint64_t value; } const_msrs[] = {
    { 0xceu, 10u << 8 },   /* MSR_PLATFORM_INFO */
    { 0xfeu, 0 },          /* IA32_MTRRCAP */
    { 0x179u, 0 },         /* IA32_MCG_CAP */
    { 0x17au, 0 },         /* IA32_MCG_STATUS */
    { 0x8bu, 0 },          /* IA32_BIOS_SIGN_ID (microcode revision) */
    { 0x10au, ARCH_CAP_NOT_AFFECTED },   /* IA32_ARCH_CAPABILITIES */
};
/* Writes that have no effect here but that a CPU accepts. */
static const uint32_t inert_msrs[] = { 0x8bu /* microcode update trigger */, 0x79u, 0x17au };

void x86cpu_rdmsr(hv_vcpuid_t vcpu)
{
    uint32_t msr = (uint32_t)rreg(vcpu, HV_X86_RCX);
    for (size_t i = 0; i < sizeof(const_msrs) / sizeof(const_msrs[0]); i++) {
        if (const_msrs[i].msr == msr) {
            hv_vcpu_write_register(vcpu, HV_X86_RAX, (uint32_t)const_msrs[i].value);
            hv_vcpu_write_register(vcpu, HV_X86_RDX, const_msrs[i].value >> 32);
            x86cpu_skip(vcpu);
            return;
        }
    }
    x86cpu_inject_gp(vcpu);
}

void x86cpu_wrmsr(hv_vcpuid_t vcpu)
{
    uint32_t msr = (uint32_t)rreg(vcpu, HV_X86_RCX);
    for (size_t i = 0; i < sizeof(inert_msrs) / sizeof(inert_msrs[0]); i++) {
        if (inert_msrs[i] == msr) {
            x86cpu_skip(vcpu);
            return;
        }
    }
    x86cpu_inject_gp(vcpu);
}

/* IA32_TSC_ADJUST: reads what was written; a write moves the TSC by the difference. */
void x86cpu_tsc_adjust_read(hv_vcpuid_t vcpu, const uint64_t *adjust)
{
    hv_vcpu_write_register(vcpu, HV_X86_RAX, (uint32_t)*adjust);
    hv_vcpu_write_register(vcpu, HV_X86_RDX, *adjust >> 32);
    x86cpu_skip(vcpu);
}

void x86cpu_tsc_adjust_write(hv_vcpuid_t vcpu, uint64_t *adjust)
{
    uint64_t value = (rreg(vcpu, HV_X86_RDX) << 32) | (uint32_t)rreg(vcpu, HV_X86_RAX), tsc = 0;
    hv_vcpu_read_msr(vcpu, HV_MSR_IA32_TSC, &tsc);
    hv_vcpu_write_msr(vcpu, HV_MSR_IA32_TSC, tsc + (value - *adjust));
    *adjust = value;
    x86cpu_skip(vcpu);
}
