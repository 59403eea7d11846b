/* test_cpu_features.c - the soft CPU keeps its CPUID model's promises about CR4 (soft
 * route): a CR4 bit whose feature the model lacks (SMAP, PKE) is #GP on MOV to CR4,
 * one it has (UMIP, FSGSBASE) is taken; with CR4.UMIP, SGDT/SIDT/SLDT/STR/
 * SMSW are #GP(0) at CPL3 and still work at CPL0; CR4.PCIDE and CR3 PCIDs; INVPCID. */
#include <criterion/criterion.h>

#include <anyhv/anyhv.h>

#include "soft_x86/x86_guest.h"

#define CR4_UMIP (1ull << 11)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)
#define V_GP 13u
#define INT3 0xcc
#define V_BP 3

static void soft_guest(struct xg *g, unsigned cpl)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode_cpl(g, cpl), 0);
}

/* Run code at XG_CODE, which ends in INT3 (#BP reaches its stub from CPL3 too); the
 * vector it stopped in, or -1 when it reached the INT3. */
static int run(struct xg *g, const uint8_t *code, unsigned len)
{
    memcpy(g->ram + XG_CODE, code, len);
    g->ram[XG_CODE + len] = INT3;
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    cr_assert(rip >= XG_STUBS && rip < XG_STUBS + XG_STUB_SIZE * XG_VECTORS, "stopped at %#llx",
              (unsigned long long)rip);
    int v = (int)((rip - XG_STUBS) / XG_STUB_SIZE);
    return v == V_BP ? -1 : v;
}

/* mov rax, cr4; or rax, rcx; mov cr4, rax */
static const uint8_t set_cr4[] = { 0x0f, 0x20, 0xe0, 0x48, 0x09, 0xc8, 0x0f, 0x22, 0xe0 };

Test(soft_x86_cpu_features, cr4_bits_follow_the_model)
{
    static const struct { uint64_t bit; bool taken; } cases[] = {
        { CR4_SMAP, false }, { CR4_PKE, false }, { CR4_UMIP, true }, { CR4_FSGSBASE, true },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xg g;
        soft_guest(&g, 0);
        hv_vcpu_write_register(g.vcpu, HV_X86_RCX, cases[i].bit);
        int v = run(&g, set_cr4, sizeof(set_cr4));
        cr_assert_eq(v, cases[i].taken ? -1 : (int)V_GP, "CR4 bit %#llx: vector %d",
                     (unsigned long long)cases[i].bit, v);
        uint64_t cr4 = xg_read_vmcs(&g, VMCS_GUEST_CR4);
        cr_assert_eq((cr4 & cases[i].bit) != 0, cases[i].taken);
        xg_destroy(&g);
    }
}

Test(soft_x86_cpu_features, umip)
{
    static const struct { const char *name; uint8_t code[8]; unsigned len; } forms[] = {
        { "sgdt [rsp-16]", { 0x0f, 0x01, 0x44, 0x24, 0xf0 }, 5 },
        { "sidt [rsp-16]", { 0x0f, 0x01, 0x4c, 0x24, 0xf0 }, 5 },
        { "sldt eax", { 0x0f, 0x00, 0xc0 }, 3 },
        { "str eax", { 0x0f, 0x00, 0xc8 }, 3 },
        { "smsw eax", { 0x0f, 0x01, 0xe0 }, 3 },
    };
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        for (unsigned cpl = 0; cpl <= 3; cpl += 3)
            for (unsigned umip = 0; umip < 2; umip++) {
                struct xg g;
                soft_guest(&g, cpl);
                uint64_t cr4 = xg_read_vmcs(&g, VMCS_GUEST_CR4);
                cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR4, umip ? cr4 | CR4_UMIP : cr4), 0);
                int v = run(&g, forms[i].code, forms[i].len);
                int want = umip && cpl == 3 ? (int)V_GP : -1;
                cr_assert_eq(v, want, "%s at CPL%u, UMIP %u: vector %d", forms[i].name, cpl, umip, v);
                xg_destroy(&g);
            }
}

#define CR4_PCIDE (1ull << 17)
#define CR3_NOFLUSH (1ull << 63)

/* CR4.PCIDE: only with CR3[11:0] = 0 (IA-32e mode); then CR3 keeps a PCID in bits
 * 11:0 and bit 63 of a MOV to CR3 is a hint that is not stored. */
Test(soft_x86_cpu_features, pcid)
{
    /* mov rax, cr3; or rax, rdx; mov cr3, rax; mov rax, cr4; or rax, rcx; mov cr4, rax;
     * mov rax, cr3; or rax, rsi; mov cr3, rax; mov rbx, cr3 */
    static const uint8_t code[] = { 0x0f, 0x20, 0xd8, 0x48, 0x09, 0xd0, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xe0,
                                    0x48, 0x09, 0xc8, 0x0f, 0x22, 0xe0, 0x0f, 0x20, 0xd8, 0x48, 0x09, 0xf0,
                                    0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xdb };
    for (unsigned low = 0; low < 2; low++) {
        struct xg g;
        soft_guest(&g, 0);
        hv_vcpu_write_register(g.vcpu, HV_X86_RCX, CR4_PCIDE);
        hv_vcpu_write_register(g.vcpu, HV_X86_RDX, low ? 0x8 : 0);   /* CR3.PWT before PCIDE */
        hv_vcpu_write_register(g.vcpu, HV_X86_RSI, CR3_NOFLUSH | 5);
        int v = run(&g, code, sizeof(code));
        if (low) {
            cr_assert_eq(v, (int)V_GP, "PCIDE with CR3[11:0] != 0: vector %d", v);
        } else {
            cr_assert_eq(v, -1, "vector %d", v);
            cr_assert_eq(xg_reg(&g, HV_X86_RBX), XG_PML4 | 5u, "CR3 %#llx",
                         (unsigned long long)xg_reg(&g, HV_X86_RBX));
        }
        xg_destroy(&g);
    }
}

/* INVPCID: #UD without VMX's "enable INVPCID", #GP(0) above CPL0 and for the
 * descriptor and type rules, else it runs (every type). */
Test(soft_x86_cpu_features, invpcid)
{
    static const uint8_t code[] = { 0x66, 0x0f, 0x38, 0x82, 0x06 };   /* invpcid rax, [rsi] */
    static const struct { unsigned cpl; bool enable; uint64_t type, d0, d1; int want; } cases[] = {
        { 0, false, 0, 0, 0, 6 },  { 0, true, 0, 0, 0x1000, -1 }, { 0, true, 1, 0, 0, -1 },
        { 0, true, 2, 0, 0, -1 },  { 0, true, 3, 0, 0, -1 },      { 0, true, 4, 0, 0, (int)V_GP },
        { 0, true, 2, 1ull << 12, 0, (int)V_GP },                  { 0, true, 0, 0, 1ull << 60, (int)V_GP },
        { 0, true, 1, 7, 0, (int)V_GP },                           { 3, true, 2, 0, 0, (int)V_GP },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xg g;
        soft_guest(&g, cases[i].cpl);
        cr_assert_eq(xg_ctrl(&g, VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2,
                             cases[i].enable ? CPU_BASED2_INVPCID : 0), 0);
        uint64_t desc[2] = { cases[i].d0, cases[i].d1 };
        memcpy(g.ram + XG_DATA, desc, sizeof(desc));
        hv_vcpu_write_register(g.vcpu, HV_X86_RAX, cases[i].type);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSI, XG_DATA);
        int v = run(&g, code, sizeof(code));
        cr_assert_eq(v, cases[i].want, "case %u: vector %d, want %d", i, v, cases[i].want);
        xg_destroy(&g);
    }
}

/* IA32_MISC_ENABLE has Fast-Strings Enable set from reset while the model advertises
 * ERMS or FSRM: Linux clears ERMS when it finds the bit clear and keeps FSRM, a pair
 * no processor has, and 6.1's memmove then overruns short copies (the boot dies). */
#define MSR_MISC_ENABLE 0x1a0u
#define MISC_FAST_STRINGS 1ull
#define L7_EBX_ERMS (1u << 9)
#define L7_EDX_FSRM (1u << 4)
Test(soft_x86_cpu_features, fast_strings_enabled_at_reset)
{
    static const uint8_t code[] = { 0xb9, 0xa0, 0x01, 0x00, 0x00, 0x0f, 0x32 };   /* mov ecx, 0x1a0; rdmsr */
    struct xg g;
    soft_guest(&g, 0);
    uint32_t r[4];
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 7, 0, r), HV_SUCCESS);
    cr_expect(!(r[3] & L7_EDX_FSRM) || (r[1] & L7_EBX_ERMS), "FSRM without ERMS");
    cr_assert_eq(hv_vcpu_enable_native_msr(g.vcpu, MSR_MISC_ENABLE, true), HV_SUCCESS);
    cr_assert_eq(run(&g, code, sizeof(code)), -1);
    cr_expect(xg_reg(&g, HV_X86_RAX) & MISC_FAST_STRINGS, "IA32_MISC_ENABLE %#llx",
              (unsigned long long)xg_reg(&g, HV_X86_RAX));
    xg_destroy(&g);
}
