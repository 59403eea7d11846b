/* test_paging.c - reserved bits in x86 paging structures (SDM vol. 3A 4.7): a present
 * entry with a reserved bit set is a #PF whose error code has P and RSVD, in 4-level,
 * PAE and 32-bit paging: address bits at or above MAXPHYADDR (the software CPU's is
 * 39: core/x86_cpuid.h, leaf 0x80000008), the reserved fields of 1-GiB and 2-MiB (and
 * PSE-36 4-MiB) entries, PS in a PML4E, XD without EFER.NXE, PAE PDPTE reserved bits;
 * MOV to CR3 with reserved bits (long mode) or a PDPTE with reserved bits (PAE) is
 * #GP(0). Each case also maps the same address without the bad bit, which must work.
 * Guests at CPL0 with every exception going to an IDT stub (x86_guest.h). */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"

#define CODE 0x1000u
#define PF_VECTOR 14u
#define GP_VECTOR 13u
#define PT 0x73000u               /* a 4-KiB page table for PD[2] */
#define PT_UPPER 0x74000u         /* a page directory for PDPT[2] */
#define PAE_PDPT 0x75000u         /* 32-byte aligned PAE PDPT */
#define PAE_PD 0x76000u
#define PD32 0x77000u             /* 32-bit paging page directory */
#define VA_1G 0x40000000ull       /* PDPT[1] */
#define VA_2M 0x200000ull         /* PD[1] */
#define VA_4K 0x400000ull         /* PD[2] -> PT[0] */
#define VA_UPPER 0x80000000ull    /* PDPT[2] -> PT_UPPER[0] */
#define VA_PML4_1 0x8000000000ull /* PML4[1] */
#define TARGET 0x5000u            /* what the good mappings point at */
#define PTE_XD (1ull << 63)
#define PF_P 0x1u
#define PF_W 0x2u
#define PF_RSVD 0x8u
#define PF_I 0x10u
#define MAXPHYADDR 39u
#define CR4_PSE 0x10ull
#define PAE_PDE_2M (XG_PTE_P | XG_PTE_RW | XG_PTE_PS)

enum access { READ, WRITE, FETCH };

static uint64_t *table(struct xg *g, uint64_t gpa)
{
    return (uint64_t *)(g->ram + gpa);
}

/* The soft route's MAXPHYADDR is its model's; KVM's is the host processor's, and
 * this host's KVM (PVM) emulates kernel code, so kernel-mode cases need hardware. */
static void require_route(bool model_specific)
{
    const char *be = getenv("ANYHV_BACKEND");
    bool kvm = be && strcmp(be, "kvm") == 0;
    if (kvm && model_specific)
        cr_skip_test("MAXPHYADDR is the host processor's on the KVM route (the soft CPU's is %u)", MAXPHYADDR);
    if (kvm && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (no VT-x/SVM): kernel-mode paging faults are emulated there");
}

static void setup(struct xg *g, enum access kind)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode(g), 0);
    static const uint8_t access_code[][3] = {
        [READ] = { 0x48, 0x8b, 0x03 },    /* mov rax, [rbx] */
        [WRITE] = { 0x48, 0x89, 0x03 },   /* mov [rbx], rax */
        [FETCH] = { 0xff, 0xe3, 0x90 },   /* jmp rbx */
    };
    memcpy(g->ram + CODE, access_code[kind], 3);
    g->ram[CODE + 3] = 0xf4;
    g->ram[TARGET] = 0xf4;   /* a fetch that works halts there */
    table(g, XG_PD)[2] = PT | XG_PTE_P | XG_PTE_RW;
    table(g, XG_PDPT)[2] = PT_UPPER | XG_PTE_P | XG_PTE_RW;
}

/* Run the access at va: HLT at the end (no fault), or the #PF/#GP stub; returns the
 * vector (0: none) and the error code. */
static unsigned run_access(struct xg *g, uint64_t va, uint64_t *err)
{
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, CODE);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, va);
    hv_vcpu_invalidate_tlb(g->vcpu);
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_HLT, "access at %#llx: exit reason %u", (unsigned long long)va,
                 xg_exit_reason(g));
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    *err = 0;
    for (unsigned v = 0; v < XG_VECTORS; v++)
        if (rip == XG_STUBS + XG_STUB_SIZE * v) {
            memcpy(err, g->ram + xg_reg(g, HV_X86_RSP), 8);
            return v;
        }
    return 0;
}

/* The access faults with #PF, P and RSVD (plus W or I as the access has them) and
 * CR2 = va. */
static void expect_rsvd(struct xg *g, uint64_t va, enum access kind, const char *what)
{
    uint64_t err;
    unsigned v = run_access(g, va, &err);
    uint64_t want = PF_P | PF_RSVD | (kind == WRITE ? PF_W : 0) | (kind == FETCH ? PF_I : 0);
    cr_expect_eq(v, PF_VECTOR, "%s: vector %u, wanted #PF", what, v);
    cr_expect_eq(err, want, "%s: error code %#llx, wanted %#llx", what, (unsigned long long)err,
                 (unsigned long long)want);
    if (v == PF_VECTOR)
        cr_expect_eq(xg_reg(g, HV_X86_CR2), va, "%s: CR2 %#llx", what, (unsigned long long)xg_reg(g, HV_X86_CR2));
}

static void expect_ok(struct xg *g, uint64_t va, const char *what)
{
    uint64_t err;
    unsigned v = run_access(g, va, &err);
    cr_expect_eq(v, 0, "%s: vector %u (error %#llx), wanted no fault", what, v, (unsigned long long)err);
}

/* Entries whose reserved fields are set, next to the same entries without. */
struct rsvd_case {
    const char *what;
    uint64_t *slot;
    uint64_t good, bad;
    uint64_t va;
};

static void run_cases(struct xg *g, const struct rsvd_case *c, unsigned n, enum access kind)
{
    for (unsigned i = 0; i < n; i++) {
        *c[i].slot = c[i].good;
        expect_ok(g, c[i].va, c[i].what);
        *c[i].slot = c[i].bad;
        expect_rsvd(g, c[i].va, kind, c[i].what);
        *c[i].slot = c[i].good;
    }
}

Test(soft_x86_paging, large_page_fields_and_ps_in_pml4e)
{
    require_route(false);
    static const enum access kinds[] = { READ, WRITE, FETCH };
    for (unsigned k = 0; k < 3; k++) {
        struct xg g;
        setup(&g, kinds[k]);
        uint64_t *pdpt = table(&g, XG_PDPT), *pd = table(&g, XG_PD), *pml4 = table(&g, XG_PML4);
        const uint64_t page1g = XG_PTE_P | XG_PTE_RW | XG_PTE_PS, page2m = XG_PTE_P | XG_PTE_RW | XG_PTE_PS;
        const struct rsvd_case cases[] = {
            { "1-GiB page, bit 13", &pdpt[1], page1g, page1g | (1ull << 13), VA_1G + TARGET },
            { "1-GiB page, bit 29", &pdpt[1], page1g, page1g | (1ull << 29), VA_1G + TARGET },
            { "2-MiB page, bit 13", &pd[1], page2m, page2m | (1ull << 13), VA_2M + TARGET },
            { "2-MiB page, bit 20", &pd[1], page2m, page2m | (1ull << 20), VA_2M + TARGET },
            { "PS in a PML4E", &pml4[1], XG_PDPT | XG_PTE_P | XG_PTE_RW,
              XG_PDPT | XG_PTE_P | XG_PTE_RW | XG_PTE_PS, VA_PML4_1 + TARGET },
        };
        run_cases(&g, cases, sizeof(cases) / sizeof(cases[0]), kinds[k]);
        xg_destroy(&g);
    }
}

Test(soft_x86_paging, address_bits_above_maxphyaddr)
{
    require_route(true);
    struct xg g;
    setup(&g, READ);
    uint64_t *pt = table(&g, PT), *pdpt = table(&g, XG_PDPT), *upper = table(&g, PT_UPPER);
    const uint64_t pte = TARGET | XG_PTE_P | XG_PTE_RW;
    const struct rsvd_case cases[] = {
        { "PTE, bit MAXPHYADDR", &pt[0], pte, pte | (1ull << MAXPHYADDR), VA_4K },
        { "PTE, bit 51", &pt[0], pte, pte | (1ull << 51), VA_4K },
        { "PDE of a table, bit 45", &table(&g, XG_PD)[2], PT | XG_PTE_P | XG_PTE_RW,
          PT | XG_PTE_P | XG_PTE_RW | (1ull << 45), VA_4K },
        { "1-GiB page, bit 40", &pdpt[1], XG_PTE_P | XG_PTE_PS, XG_PTE_P | XG_PTE_PS | (1ull << 40), VA_1G },
    };
    run_cases(&g, cases, sizeof(cases) / sizeof(cases[0]), READ);
    /* Bits 62:52 are ignored in 4-level paging: not reserved. */
    upper[0] = PT | XG_PTE_P | XG_PTE_RW | (0x7ffull << 52);
    pt[0] = pte | (0x7ffull << 52);
    expect_ok(&g, VA_UPPER, "PDE and PTE with bits 62:52 set");
    xg_destroy(&g);
}

/* XD is reserved while EFER.NXE is clear, at every level. */
Test(soft_x86_paging, xd_without_nxe)
{
    require_route(false);
    struct xg g;
    setup(&g, READ);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_IA32_EFER, XG_EFER_LME | XG_EFER_LMA), 0);
    uint64_t *pt = table(&g, PT);
    const uint64_t pte = TARGET | XG_PTE_P | XG_PTE_RW;
    const struct rsvd_case cases[] = {
        { "PTE with XD", &pt[0], pte, pte | PTE_XD, VA_4K },
        { "PDE with XD", &table(&g, XG_PD)[2], PT | XG_PTE_P | XG_PTE_RW, PT | XG_PTE_P | XG_PTE_RW | PTE_XD, VA_4K },
    };
    pt[0] = pte;
    run_cases(&g, cases, sizeof(cases) / sizeof(cases[0]), READ);
    xg_destroy(&g);
}

/* MOV to CR3 in long mode with a bit at or above MAXPHYADDR: #GP(0). */
Test(soft_x86_paging, mov_cr3_above_maxphyaddr)
{
    require_route(true);
    struct xg g;
    setup(&g, READ);
    static const uint8_t code[] = { 0x0f, 0x22, 0xd8 };   /* mov cr3, rax */
    memcpy(g.ram + CODE, code, sizeof(code));
    g.ram[CODE + sizeof(code)] = 0xf4;
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, XG_PML4 | (1ull << MAXPHYADDR));
    uint64_t err;
    cr_expect_eq(run_access(&g, 0, &err), GP_VECTOR, "MOV CR3 with bit %u set", MAXPHYADDR);
    cr_expect_eq(err, 0);
    cr_expect_eq(xg_reg(&g, HV_X86_CR3), XG_PML4, "CR3 unchanged");
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, XG_PML4);
    cr_expect_eq(run_access(&g, 0, &err), 0, "MOV CR3 with a good value");
    xg_destroy(&g);
}

/* 32-bit protected mode with PAE paging: PDPTE[0] maps the first 2 MiB (2-MiB PDE),
 * PDPTE[1] covers 1 GiB up. */
static void pae_setup(struct xg *g, uint64_t pdpte1)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_protected32(g), 0);
    uint64_t *pdpt = table(g, PAE_PDPT), *pd = table(g, PAE_PD);
    pdpt[0] = PAE_PD | XG_PTE_P;
    pdpt[1] = pdpte1;
    pd[0] = PAE_PDE_2M;
    pd[1] = 0;
    uint64_t cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE | XG_CR0_PG, cr4 = XG_CR4_PAE | XG_CR4_OSFXSR | XG_CR4_VMXE;
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR0, cr0) | xg_vmcs(g, VMCS_CTRL_CR0_SHADOW, cr0), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, cr4) | xg_vmcs(g, VMCS_CTRL_CR4_SHADOW, cr4 & ~XG_CR4_VMXE), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR3, PAE_PDPT), 0);
}

/* A 32-bit guest's IDT: the stubs through 32-bit interrupt gates at XG_IDT + 0x800,
 * into a 32-bit code segment. */
static void idt32(struct xg *g)
{
    uint64_t *gdt = (uint64_t *)(g->ram + XG_GDT);
    gdt[XG_SEL_KCODE / 8] = xg_desc(0, 0xfffff, 0x9b, 0xc);   /* 32-bit code for the handlers */
    uint32_t *idt = (uint32_t *)(g->ram + XG_IDT + 0x800);
    for (unsigned v = 0; v < XG_VECTORS; v++) {
        uint32_t h = XG_STUBS + XG_STUB_SIZE * v;
        idt[2 * v] = (h & 0xffff) | (XG_SEL_KCODE << 16);
        idt[2 * v + 1] = (h & 0xffff0000u) | 0x8e00u;
    }
    int r = xg_vmcs(g, VMCS_GUEST_IDTR_BASE, XG_IDT + 0x800) | xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, 8 * XG_VECTORS - 1);
    r |= xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, XG_GDT_LIMIT);
    cr_assert_eq(r, 0);
}

static unsigned run32(struct xg *g, const uint8_t *code, size_t len, uint32_t ebx, uint32_t *err)
{
    memcpy(g->ram + CODE, code, len);
    g->ram[CODE + len] = 0xf4;
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, ebx);
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(g));
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    *err = 0;
    for (unsigned v = 0; v < XG_VECTORS; v++)
        if (rip == XG_STUBS + XG_STUB_SIZE * v) {
            memcpy(err, g->ram + xg_reg(g, HV_X86_RSP), 4);
            return v;
        }
    return 0;
}

Test(soft_x86_paging, pae_pdpte_reserved_bits)
{
    require_route(true);
    static const uint8_t load[] = { 0x8b, 0x03 };   /* mov eax, [ebx] */
    static const struct { const char *what; uint64_t bits; } bad[] = {
        { "bit 1 (RW)", 1ull << 1 }, { "bit 2 (US)", 1ull << 2 }, { "bit 5", 1ull << 5 },
        { "bit 8", 1ull << 8 }, { "bit MAXPHYADDR", 1ull << MAXPHYADDR }, { "bit 63 (XD)", PTE_XD },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xg g;
        /* Read at walk time (docs/x86-frontend.md): a bad PDPTE in place faults. */
        pae_setup(&g, PAE_PD | XG_PTE_P | bad[i].bits);
        idt32(&g);
        table(&g, PAE_PD)[0] = PAE_PDE_2M;
        uint32_t err;
        unsigned v = run32(&g, load, sizeof(load), (uint32_t)VA_1G, &err);
        cr_expect_eq(v, PF_VECTOR, "PDPTE %s: vector %u", bad[i].what, v);
        cr_expect_eq(err, PF_P | PF_RSVD, "PDPTE %s: error %#x", bad[i].what, err);
        /* MOV to CR3 loading it: #GP(0), CR3 unchanged. */
        static const uint8_t mov_cr3[] = { 0x0f, 0x22, 0xd8 };   /* mov cr3, eax */
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
        hv_vcpu_write_register(g.vcpu, HV_X86_RAX, PAE_PDPT);
        v = run32(&g, mov_cr3, sizeof(mov_cr3), 0, &err);
        cr_expect_eq(v, GP_VECTOR, "MOV CR3 with PDPTE %s: vector %u", bad[i].what, v);
        xg_destroy(&g);
    }
    struct xg g;
    pae_setup(&g, PAE_PD | XG_PTE_P);
    idt32(&g);
    uint32_t err;
    cr_expect_eq(run32(&g, load, sizeof(load), (uint32_t)VA_1G + TARGET, &err), 0, "a good PDPTE");
    xg_destroy(&g);
}

/* 32-bit paging with PSE: a 4-MiB PDE's bit 21 is reserved, and so are its PSE-36
 * address bits at or above MAXPHYADDR (PDE bit 20 = address bit 39). */
Test(soft_x86_paging, pse_4m_reserved_bits)
{
    require_route(true);
    static const uint8_t load[] = { 0x8b, 0x03 };
    const uint32_t big = XG_PTE_P | XG_PTE_RW | XG_PTE_PS;
    static const struct { const char *what; uint32_t bits; bool rsvd; } cases[] = {
        { "none", 0, false }, { "bit 21", 1u << 21, true }, { "bit 20 (address bit 39)", 1u << 20, true },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xg g;
        test_require_backend();
        cr_assert_eq(xg_create(&g), 0);
        cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
        cr_assert_eq(xg_protected32(&g), 0);
        idt32(&g);
        uint32_t *pd = (uint32_t *)(g.ram + PD32);
        memset(pd, 0, 4096);
        pd[0] = big;
        pd[1] = big | cases[i].bits;   /* VA 4 MiB up -> PA 0 */
        uint64_t cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE | XG_CR0_PG, cr4 = CR4_PSE | XG_CR4_OSFXSR | XG_CR4_VMXE;
        cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR0, cr0) | xg_vmcs(&g, VMCS_CTRL_CR0_SHADOW, cr0), 0);
        cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR4, cr4) | xg_vmcs(&g, VMCS_CTRL_CR4_SHADOW, cr4 & ~XG_CR4_VMXE), 0);
        cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR3, PD32), 0);
        uint32_t err;
        unsigned v = run32(&g, load, sizeof(load), (4u << 20) + TARGET, &err);
        if (cases[i].rsvd) {
            cr_expect_eq(v, PF_VECTOR, "4-MiB PDE %s: vector %u", cases[i].what, v);
            cr_expect_eq(err, PF_P | PF_RSVD, "4-MiB PDE %s: error %#x", cases[i].what, err);
        } else {
            cr_expect_eq(v, 0, "4-MiB PDE %s: vector %u", cases[i].what, v);
        }
        xg_destroy(&g);
    }
}
