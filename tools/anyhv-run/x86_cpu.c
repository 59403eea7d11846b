/* anyhv-run, Intel flavour: what the guest learns about its CPU. CPUID is answered
 * from one model that advertises what anyhv's software CPU implements (no AVX,
 * XSAVE, MONITOR/MWAIT, RDRAND, PCID, SMAP/SMEP, MTRRs or MCE; a TSC at the VM
 * clock's 1 GHz, with the 100 MHz crystal that is also the APIC timer's clock), and
 * RDMSR/WRMSR exits are answered: the MSRs the library keeps are made native, a few
 * informational ones read as constants, writes to inert ones are dropped, and
 * everything else raises #GP as on a CPU without that MSR. */
#include <string.h>

#include "x86_cpu.h"

#define CPUID_MAX_BASIC 0x16u
#define CPUID_MAX_EXT 0x80000008u
#define CPUID_HYPERVISOR_BASE 0x40000000u
/* Family 6, model 0x3a, stepping 9: a generic Intel core without model quirks we emulate. */
#define CPUID_SIGNATURE 0x000306a9u
#define CLFLUSH_LINE_QWORDS (8u << 8)
#define APIC_ID_SHIFT 24

/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV CLFSH MMX FXSR SSE SSE2. */
#define L1_EDX ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |  \
                (1u << 9) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 19) | (1u << 23) | (1u << 24) |         \
                (1u << 25) | (1u << 26))
/* Leaf 1 ECX: SSE3 SSSE3 CX16 SSE4.1 SSE4.2 x2APIC MOVBE POPCNT TSC-deadline hypervisor. */
#define L1_ECX ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 21) | (1u << 22) |       \
                (1u << 23) | (1u << 24) | (1u << 31))
/* 0x80000001: ECX LAHF, LZCNT, PREFETCHW; EDX SYSCALL, NX, RDTSCP, LM. */
#define X1_ECX ((1u << 0) | (1u << 5) | (1u << 8))
#define X1_EDX ((1u << 11) | (1u << 20) | (1u << 27) | (1u << 29))
#define X7_EDX_INVARIANT_TSC (1u << 8)
#define X8_ADDRESS_SIZES 0x3027u   /* 39 physical, 48 linear address bits */
/* Leaf 7: TSC_ADJUST (EBX bit 1); IA32_ARCH_CAPABILITIES present (EDX bit 29). */
#define L7_EBX_TSC_ADJUST (1u << 1)
#define L7_EDX_ARCH_CAPABILITIES (1u << 29)
/* IA32_ARCH_CAPABILITIES of a CPU that does not speculate: not affected by RDCL,
 * SSB, MDS, TAA, the MMIO stale-data family, BHI, PBRSB, GDS, RFDS or ITS; L1D flush
 * on VM entry not needed; no machine check on page-size change. */
#define ARCH_CAP_NOT_AFFECTED                                                                          \
    ((1ull << 0) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) | (1ull << 13) | \
     (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | (1ull << 26) | (1ull << 27) | (1ull << 62))
/* Leaf 0x15: TSC = crystal * 10 / 1; crystal 100 MHz (= the APIC timer clock). */
#define TSC_CRYSTAL_HZ 100000000u
#define TSC_RATIO_NUM 10u
#define TSC_RATIO_DEN 1u
#define TSC_MHZ 1000u
#define BUS_MHZ 100u

static void brand(uint32_t leaf, uint32_t out[4])
{
    static const char name[48] = "anyhv software CPU";
    memcpy(out, name + 16 * (leaf - 0x80000002u), 16);
}

void x86cpu_cpuid(uint32_t leaf, uint32_t sub, uint32_t apic_id, uint32_t out[4])
{
    memset(out, 0, 4 * sizeof(out[0]));
    switch (leaf) {
    case 0:
        out[0] = CPUID_MAX_BASIC;
        memcpy(&out[1], "Genu", 4);
        memcpy(&out[3], "ineI", 4);
        memcpy(&out[2], "ntel", 4);
        return;
    case 1:
        out[0] = CPUID_SIGNATURE;
        out[1] = CLFLUSH_LINE_QWORDS | (apic_id << APIC_ID_SHIFT);
        out[2] = L1_ECX;
        out[3] = L1_EDX;
        return;
    case 7:
        if (sub == 0) {
            out[1] = L7_EBX_TSC_ADJUST;
            out[3] = L7_EDX_ARCH_CAPABILITIES;
        }
        return;
    case 0x15:
        out[0] = TSC_RATIO_DEN;
        out[1] = TSC_RATIO_NUM;
        out[2] = TSC_CRYSTAL_HZ;
        return;
    case 0x16:
        out[0] = TSC_MHZ;
        out[1] = TSC_MHZ;
        out[2] = BUS_MHZ;
        return;
    case CPUID_HYPERVISOR_BASE:
        out[0] = CPUID_HYPERVISOR_BASE;
        return;
    case 0x80000000u:
        out[0] = CPUID_MAX_EXT;
        return;
    case 0x80000001u:
        out[2] = X1_ECX;
        out[3] = X1_EDX;
        return;
    case 0x80000002u: case 0x80000003u: case 0x80000004u:
        brand(leaf, out);
        return;
    case 0x80000007u:
        out[3] = X7_EDX_INVARIANT_TSC;
        return;
    case 0x80000008u:
        out[0] = X8_ADDRESS_SIZES;
        return;
    default:
        return;   /* reserved leaves and features not offered read as zero */
    }
}

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

void x86cpu_handle_cpuid(hv_vcpuid_t vcpu, uint32_t apic_id)
{
    uint32_t r[4];
    x86cpu_cpuid((uint32_t)rreg(vcpu, HV_X86_RAX), (uint32_t)rreg(vcpu, HV_X86_RCX), apic_id, r);
    hv_vcpu_write_register(vcpu, HV_X86_RAX, r[0]);
    hv_vcpu_write_register(vcpu, HV_X86_RBX, r[1]);
    hv_vcpu_write_register(vcpu, HV_X86_RCX, r[2]);
    hv_vcpu_write_register(vcpu, HV_X86_RDX, r[3]);
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
