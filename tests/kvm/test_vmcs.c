/* The VMCS view without running: control defaults consistent with the VMX
 * capabilities under (want | allowed0) & allowed1, field widths and the high half
 * of 64-bit fields, read-only exit fields, host fields, unknown encodings, and the
 * register and VMCS views of the same guest state agreeing. Backend-neutral. */
#include <string.h>

#include "kvm/client.h"
#include "support/backend.h"

static struct client c;

static void setup(void)
{
    client_vm_init(&c, NULL);
    cr_assert_eq(hv_vcpu_create(&c.vcpu, HV_VCPU_DEFAULT), HV_SUCCESS);
    c.vcpu_live = true;
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(vmcs, .init = setup, .fini = teardown);

static const struct {
    uint32_t field;
    hv_vmx_capability_t cap, true_cap;
} controls[] = {
    { VMCS_CTRL_PIN_BASED, HV_VMX_CAP_PINBASED, HV_VMX_CAP_TRUE_PINBASED },
    { VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, HV_VMX_CAP_TRUE_PROCBASED },
    { VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2, HV_VMX_CAP_PROCBASED2 },
    { VMCS_CTRL_VMENTRY_CONTROLS, HV_VMX_CAP_ENTRY, HV_VMX_CAP_TRUE_ENTRY },
    { VMCS_CTRL_VMEXIT_CONTROLS, HV_VMX_CAP_EXIT, HV_VMX_CAP_TRUE_EXIT },
};

Test(vmcs, defaults_agree_with_capabilities)
{
    for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
        uint64_t def = rvmcs(c.vcpu, controls[i].field);
        for (int t = 0; t < 2; t++) {
            uint64_t cap;
            cr_assert_eq(hv_vmx_read_capability(t ? controls[i].true_cap : controls[i].cap, &cap), HV_SUCCESS);
            uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
            cr_expect_eq(allowed0 & ~allowed1, 0, "field %#x: a bit required but not allowed", controls[i].field);
            cr_expect_eq(def & ~(uint64_t)allowed1, 0, "field %#x default %#llx has a bit not allowed",
                         controls[i].field, (unsigned long long)def);
            if (!t)
                cr_expect_eq(def & allowed0, allowed0, "field %#x default lacks a required bit", controls[i].field);
        }
    }
    /* The client idiom: read, OR in HLT exiting, write back, read again. */
    uint64_t cpu = rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED);
    cr_expect_eq(cpu & CPU_BASED_HLT, 0, "HLT exiting is off by default");
    wvmcs(c.vcpu, VMCS_CTRL_CPU_BASED, cap_ctrl(HV_VMX_CAP_PROCBASED, cpu | CPU_BASED_HLT));
    cr_expect_eq(rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED), cpu | CPU_BASED_HLT);
    cr_expect(rvmcs(c.vcpu, VMCS_CTRL_CPU_BASED2) & CPU_BASED2_UNRESTRICTED, "unrestricted guest is implied");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_LINK_POINTER), ~0ull, "no VMCS link");
}

Test(vmcs, capabilities)
{
    uint64_t v;
    cr_expect_eq(hv_vmx_read_capability(HV_VMX_CAP_CR4_FIXED0, &v), HV_SUCCESS);
    cr_expect_eq(v & 0x2000, 0x2000, "CR4.VMXE fixed to 1");
    cr_expect_eq(hv_vmx_read_capability(HV_VMX_CAP_CR0_FIXED0, &v), HV_SUCCESS);
    cr_expect_eq(v & 0x20, 0x20, "CR0.NE fixed to 1");
    cr_expect_eq(hv_vmx_read_capability(HV_VMX_CAP_BASIC, &v), HV_SUCCESS);
    cr_expect(v & (1ull << 55), "TRUE_* capabilities advertised");
    cr_expect_eq(hv_vmx_read_capability((hv_vmx_capability_t)99, &v), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_read_capability(HV_VMX_CAP_PINBASED, NULL), HV_BAD_ARGUMENT);
}

Test(vmcs, widths_and_high_halves)
{
    wvmcs(c.vcpu, VMCS_GUEST_ES, 0x12345678);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_ES), 0x5678, "16-bit field truncates");
    wvmcs(c.vcpu, VMCS_CTRL_EXC_BITMAP, 0x1ffffffffull);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_CTRL_EXC_BITMAP), 0xffffffffull, "32-bit field truncates");
    wvmcs(c.vcpu, VMCS_GUEST_IA32_PAT, 0x0102030405060708ull);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_IA32_PAT + 1), 0x01020304, "high access reads the upper half");
    wvmcs(c.vcpu, VMCS_GUEST_IA32_PAT + 1, 0x0a0b0c0d);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_IA32_PAT), 0x0a0b0c0d05060708ull, "high access writes the upper half");
    wvmcs(c.vcpu, VMCS_CTRL_CR0_MASK, 0x8000000000000021ull);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_CTRL_CR0_MASK), 0x8000000000000021ull, "natural width keeps 64 bits");
}

Test(vmcs, read_only_host_and_unknown_fields)
{
    uint64_t v;
    cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, VMCS_RO_EXIT_REASON, 1), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, VMCS_RO_EXIT_QUALIFIC, 1), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, VMCS_GUEST_PHYSICAL_ADDRESS, 1), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, VMCS_RO_EXIT_REASON, &v), HV_SUCCESS);
    cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, VMCS_HOST_RIP, 0x1234), HV_SUCCESS, "host state: ignored");
    cr_expect_eq(rvmcs(c.vcpu, VMCS_HOST_RIP), 0);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, 0x1234, &v), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, VMCS_MAX, &v), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, VMCS_CTRL_PIN_BASED + 1, &v), HV_BAD_ARGUMENT,
                 "only 64-bit fields have a high half");
    cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, 0xffffffffu, 0), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, VMCS_GUEST_RIP, NULL), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu + 7, VMCS_GUEST_RIP, &v), HV_BAD_ARGUMENT);
}

Test(vmcs, register_and_vmcs_views_agree)
{
    wreg(c.vcpu, HV_X86_RIP, 0x1234);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_RIP), 0x1234);
    wvmcs(c.vcpu, VMCS_GUEST_RSP, 0x5678);
    cr_expect_eq(rreg(c.vcpu, HV_X86_RSP), 0x5678);
    wvmcs(c.vcpu, VMCS_GUEST_CR0, 0x80000031);
    cr_expect_eq(rreg(c.vcpu, HV_X86_CR0), 0x80000031);
    wreg(c.vcpu, HV_X86_TSS_AR, 0x8b);
    cr_expect_eq(rvmcs(c.vcpu, VMCS_GUEST_TR_AR), 0x8b);
    wvmcs(c.vcpu, VMCS_GUEST_GDTR_BASE, 0xfffff000);
    cr_expect_eq(rreg(c.vcpu, HV_X86_GDT_BASE), 0xfffff000);
    wvmcs(c.vcpu, VMCS_GUEST_DR7, 0x401);
    cr_expect_eq(rreg(c.vcpu, HV_X86_DR7), 0x401);
    wvmcs(c.vcpu, VMCS_GUEST_IA32_EFER, 0x500);
    uint64_t efer = 0;
    cr_expect_eq(hv_vcpu_read_msr(c.vcpu, 0xc0000080, &efer), HV_SUCCESS);
    cr_expect_eq(efer, 0x500, "EFER: one value behind the VMCS field and the MSR");
    wvmcs(c.vcpu, VMCS_GUEST_SYSENTER_EIP, 0xabc);
    uint64_t eip = 0;
    cr_expect_eq(hv_vcpu_read_msr(c.vcpu, 0x176, &eip), HV_SUCCESS);
    cr_expect_eq(eip, 0xabc);
}

/* Every VMCS field encoding Apple's header names is part of the view: readable, and
 * writable unless it is read-only exit information (the 0x4400/0x6400/0x2400 groups
 * and the VM-instruction error). */
static bool read_only_field(uint64_t enc)
{
    return (enc >= 0x4400 && enc < 0x4800) || (enc >= 0x6400 && enc < 0x6800) || enc == 0x2400;
}

Test(vmcs, every_named_field_is_in_the_view)
{
    static const struct {
        const char *name;
        unsigned long long value;
    } names[] = {
#define NAME(n, v) { #n, (unsigned long long)(v) },
#include "headers/names_x86.inc"
#undef NAME
    };
    unsigned fields = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strncmp(names[i].name, "VMCS_", 5) != 0 || names[i].value >= VMCS_MAX)
            continue;
        uint64_t enc = names[i].value, v = 0;
        cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, (uint32_t)enc, &v), HV_SUCCESS, "read %s", names[i].name);
        hv_return_t w = hv_vmx_vcpu_write_vmcs(c.vcpu, (uint32_t)enc, v);
        cr_expect_eq(w, read_only_field(enc) ? HV_BAD_ARGUMENT : HV_SUCCESS, "write %s", names[i].name);
        fields++;
    }
    cr_expect_geq(fields, 150, "the fact sheet names %u fields", fields);
}

/* The fields newer SDKs name (SGX ENCLV exiting, PKRS, supervisor CET and shadow-stack
 * state) are in the view like the rest: guest and control fields keep what is written,
 * host fields accept writes and read 0. */
Test(vmcs, newer_sdk_fields_are_in_the_view)
{
    static const uint32_t kept[] = { VMCS_CTRL_ENCLV_EXITING_BITMAP, VMCS_GUEST_IA32_PKRS, VMCS_GUEST_IA32_S_CET,
                                     VMCS_GUEST_SSP, VMCS_GUEST_IA32_INTR_SSP_TABLE_ADDR };
    static const uint32_t host[] = { VMCS_HOST_IA32_PKRS, VMCS_HOST_IA32_S_CET, VMCS_HOST_SSP,
                                     VMCS_HOST_IA32_INTR_SSP_TABLE_ADDR };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        uint64_t want = 0x1234567800000000ull | (i << 4), v = 0;
        cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, kept[i], want), HV_SUCCESS, "write %#x", kept[i]);
        cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, kept[i], &v), HV_SUCCESS, "read %#x", kept[i]);
        cr_expect_eq(v, want, "field %#x keeps its value", kept[i]);
    }
    for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
        uint64_t v = 1;
        cr_expect_eq(hv_vmx_vcpu_write_vmcs(c.vcpu, host[i], 0x1000), HV_SUCCESS, "write %#x", host[i]);
        cr_expect_eq(hv_vmx_vcpu_read_vmcs(c.vcpu, host[i], &v), HV_SUCCESS, "read %#x", host[i]);
        cr_expect_eq(v, 0, "host field %#x reads 0", host[i]);
    }
}
