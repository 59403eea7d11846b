/* x86_guest.h - a tiny x86 machine for the soft-x86 tests, on the public Intel API:
 * 2 MiB of RAM at guest-physical 0, identity-mapped by 2 MiB pages (PML4 at
 * XG_PML4), flat 64-bit CPL0 segments or real mode, HLT exiting so a test ends
 * its guest with HLT, and every exception exiting through the exception bitmap. */
#ifndef ANYHV_TESTS_SOFT_X86_X86_GUEST_H
#define ANYHV_TESTS_SOFT_X86_X86_GUEST_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../support/x86_segments.h"   /* relative: some testers add no tests/ include path */

#define XG_RAM_SIZE (2u << 20)
#define XG_CODE 0x1000u
#define XG_DATA 0x10000u
#define XG_STACK_TOP 0x30000u
#define XG_IDT 0x80000u           /* 64-bit gates for vectors 0..31 */
#define XG_STUBS 0x81000u         /* vector v's handler: HLT at XG_STUBS + 16 * v */
#define XG_STUB_SIZE 16u
#define XG_GDT 0x82000u
#define XG_GDT_LIMIT 0x37u
#define XG_TSS 0x83000u
#define XG_KSTACK_TOP 0x40000u    /* TSS.RSP0: the handlers' stack when coming from CPL3 */
#define XG_SEL_KCODE 0x08u
#define XG_SEL_KDATA 0x10u
#define XG_SEL_UDATA 0x1bu
#define XG_SEL_UCODE 0x23u
#define XG_SEL_TSS 0x28u
#define XG_DESC_UDATA 0x00cff3000000ffffull
#define XG_DESC_UCODE64 0x00affb000000ffffull
#define XG_AR_UCODE64 0xa0fbu
#define XG_AR_UDATA 0xc0f3u
#define XG_VECTORS 32u
#define XG_GATE_INT64 0x8e00ull   /* P, DPL0, 64-bit interrupt gate */
#define XG_GATE_DPL3 0x6000ull    /* gate DPL 3: INT3 from CPL3 reaches #BP's handler */
#define XG_BP_VECTOR 3u
#define XG_DESC_CODE64 0x00af9b000000ffffull
#define XG_DESC_DATA 0x00cf93000000ffffull
#define XG_PML4 0x70000u
#define XG_PDPT 0x71000u
#define XG_PD 0x72000u
#define XG_PTE_P 1ull
#define XG_PTE_RW 2ull
#define XG_PTE_US 4ull
#define XG_PTE_PS 0x80ull
#define XG_CR0_PE 1ull
#define XG_CR0_ET 0x10ull
#define XG_CR0_NE 0x20ull
#define XG_CR0_PG (1ull << 31)
#define XG_CR4_PAE 0x20ull
#define XG_CR4_OSFXSR 0x200ull
#define XG_CR4_VMXE 0x2000ull
#define XG_EFER_LME 0x100ull
#define XG_EFER_LMA 0x400ull
#define XG_EFER_NXE 0x800ull
#define XG_AR_CODE64 0xa09bu      /* P, S, DPL0, code XR accessed, L, G */
#define XG_AR_DATA 0xc093u        /* P, S, DPL0, data RW accessed, DB, G */
#define XG_AR_CODE16 0x9bu        /* real mode code */
#define XG_AR_DATA16 0x93u
#define XG_AR_TSS64 0x8bu
#define XG_AR_LDT_UNUSABLE 0x10000u

struct xg {
    uint8_t *ram;
    hv_vcpuid_t vcpu;
};

static inline int xg_vmcs(struct xg *g, uint32_t field, uint64_t v)
{
    return hv_vmx_vcpu_write_vmcs(g->vcpu, field, v) == HV_SUCCESS ? 0 : -1;
}

static inline uint64_t xg_read_vmcs(struct xg *g, uint32_t field)
{
    uint64_t v = 0;
    hv_vmx_vcpu_read_vmcs(g->vcpu, field, &v);
    return v;
}

static inline int xg_ctrl(struct xg *g, uint32_t field, hv_vmx_capability_t cap, uint64_t want)
{
    uint64_t c = 0;
    if (hv_vmx_read_capability(cap, &c) != HV_SUCCESS)
        return -1;
    return xg_vmcs(g, field, (want | (c & 0xffffffffu)) & (c >> 32));
}

static inline int xg_seg(struct xg *g, unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    return test_write_segment(g->vcpu, i, sel, base, limit, ar) == HV_SUCCESS ? 0 : -1;
}

/* Create the VM (once per process), map RAM and make one vCPU with common controls. */
/* xg_create with VM options (HV_VM_ACCEL_APIC ...). */
static inline int xg_create_opts(struct xg *g, hv_vm_options_t options);
static inline int xg_create(struct xg *g)
{
    return xg_create_opts(g, HV_VM_DEFAULT);
}

static inline int xg_create_opts(struct xg *g, hv_vm_options_t options)
{
    memset(g, 0, sizeof(*g));
    g->ram = mmap(NULL, XG_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->ram == MAP_FAILED)
        return -1;
    if (hv_vm_create(options) != HV_SUCCESS)
        return -1;
    if (hv_vm_map(g->ram, 0, XG_RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS)
        return -1;
    if (hv_vcpu_create(&g->vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS)
        return -1;
    int r = xg_ctrl(g, VMCS_CTRL_PIN_BASED, HV_VMX_CAP_PINBASED, 0);
    r |= xg_ctrl(g, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_HLT | CPU_BASED_UNCOND_IO);
    r |= xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0xffffffffu);
    return r;
}

static inline void xg_destroy(struct xg *g)
{
    hv_vcpu_destroy(g->vcpu);
    hv_vm_unmap(0, XG_RAM_SIZE);
    hv_vm_destroy();
    munmap(g->ram, XG_RAM_SIZE);
}

/* GDT (null, 0x8 code64, 0x10 data) and an IDT whose handler for vector v is a
 * HLT at XG_STUBS + 16 * v, so a delivered exception ends the run at a known RIP. */
static inline void xg_tables(struct xg *g)
{
    uint64_t *gdt = (uint64_t *)(g->ram + XG_GDT), *idt = (uint64_t *)(g->ram + XG_IDT);
    gdt[0] = 0;
    gdt[1] = XG_DESC_CODE64;
    gdt[2] = XG_DESC_DATA;
    gdt[3] = XG_DESC_UDATA;
    gdt[4] = XG_DESC_UCODE64;
    gdt[5] = 0x67 | ((uint64_t)(XG_TSS & 0xffffff) << 16) | ((uint64_t)XG_AR_TSS64 << 40) |
             ((uint64_t)(XG_TSS >> 24) << 56);
    gdt[6] = 0;
    uint64_t rsp0 = XG_KSTACK_TOP;
    memset(g->ram + XG_TSS, 0, 0x68);
    memcpy(g->ram + XG_TSS + 4, &rsp0, 8);
    for (unsigned v = 0; v < XG_VECTORS; v++) {
        uint64_t h = XG_STUBS + XG_STUB_SIZE * v;
        g->ram[h] = 0xf4;
        uint64_t attr = XG_GATE_INT64 | (v == XG_BP_VECTOR ? XG_GATE_DPL3 : 0);
        idt[2 * v] = (h & 0xffff) | (0x8ull << 16) | (attr << 32) | (((h >> 16) & 0xffff) << 48);
        idt[2 * v + 1] = h >> 32;
    }
}

/* Flat 64-bit mode at CPL0 or CPL3 with the identity map; code at XG_CODE. */
static inline int xg_long_mode_cpl(struct xg *g, unsigned cpl)
{
    uint64_t *pml4 = (uint64_t *)(g->ram + XG_PML4), *pdpt = (uint64_t *)(g->ram + XG_PDPT);
    uint64_t *pd = (uint64_t *)(g->ram + XG_PD);
    pml4[0] = XG_PDPT | XG_PTE_P | XG_PTE_RW | XG_PTE_US;
    pdpt[0] = XG_PD | XG_PTE_P | XG_PTE_RW | XG_PTE_US;
    pd[0] = 0 | XG_PTE_P | XG_PTE_RW | XG_PTE_US | XG_PTE_PS;
    uint64_t cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE | XG_CR0_PG, cr4 = XG_CR4_PAE | XG_CR4_OSFXSR | XG_CR4_VMXE;
    int r = xg_vmcs(g, VMCS_GUEST_CR0, cr0) | xg_vmcs(g, VMCS_CTRL_CR0_SHADOW, cr0);
    r |= xg_vmcs(g, VMCS_GUEST_CR4, cr4) | xg_vmcs(g, VMCS_CTRL_CR4_SHADOW, cr4 & ~XG_CR4_VMXE);
    r |= xg_vmcs(g, VMCS_GUEST_CR3, XG_PML4);
    r |= xg_vmcs(g, VMCS_GUEST_IA32_EFER, XG_EFER_LME | XG_EFER_LMA | XG_EFER_NXE);
    uint64_t entry = 0;
    hv_vmx_vcpu_read_vmcs(g->vcpu, VMCS_CTRL_VMENTRY_CONTROLS, &entry);
    r |= xg_vmcs(g, VMCS_CTRL_VMENTRY_CONTROLS, entry | VMENTRY_GUEST_IA32E);
    bool user = cpl == 3;
    r |= xg_seg(g, 1, user ? XG_SEL_UCODE : XG_SEL_KCODE, 0, 0xffffffffu, user ? XG_AR_UCODE64 : XG_AR_CODE64);
    for (unsigned i = 0; i < 6; i++)
        if (i != 1)
            r |= xg_seg(g, i, user ? XG_SEL_UDATA : XG_SEL_KDATA, 0, 0xffffffffu, user ? XG_AR_UDATA : XG_AR_DATA);
    r |= xg_seg(g, 6, 0, 0, 0, XG_AR_LDT_UNUSABLE);
    r |= xg_seg(g, 7, XG_SEL_TSS, XG_TSS, 0x67, XG_AR_TSS64);
    xg_tables(g);
    r |= xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, XG_GDT_LIMIT);
    r |= xg_vmcs(g, VMCS_GUEST_IDTR_BASE, XG_IDT) | xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, XG_VECTORS * 16 - 1);
    r |= xg_vmcs(g, VMCS_GUEST_RFLAGS, 0x2) | xg_vmcs(g, VMCS_GUEST_RIP, XG_CODE);
    r |= xg_vmcs(g, VMCS_GUEST_RSP, XG_STACK_TOP);
    return r;
}

static inline int xg_long_mode(struct xg *g)
{
    return xg_long_mode_cpl(g, 0);
}

/* Flat 32-bit protected mode at CPL0 without paging; code at XG_CODE. */
#define XG_AR_CODE32 0xc09bu
static inline int xg_protected32(struct xg *g)
{
    xg_tables(g);
    int r = xg_vmcs(g, VMCS_GUEST_CR0, XG_CR0_PE | XG_CR0_ET | XG_CR0_NE);
    r |= xg_vmcs(g, VMCS_CTRL_CR0_SHADOW, XG_CR0_PE | XG_CR0_ET | XG_CR0_NE);
    r |= xg_vmcs(g, VMCS_GUEST_CR4, XG_CR4_OSFXSR | XG_CR4_VMXE) | xg_vmcs(g, VMCS_CTRL_CR4_SHADOW, XG_CR4_OSFXSR);
    r |= xg_vmcs(g, VMCS_GUEST_IA32_EFER, 0);
    uint64_t entry = 0;
    hv_vmx_vcpu_read_vmcs(g->vcpu, VMCS_CTRL_VMENTRY_CONTROLS, &entry);
    r |= xg_vmcs(g, VMCS_CTRL_VMENTRY_CONTROLS, entry & ~(uint64_t)VMENTRY_GUEST_IA32E);
    r |= xg_seg(g, 1, XG_SEL_KCODE, 0, 0xffffffffu, XG_AR_CODE32);
    for (unsigned i = 0; i < 6; i++)
        if (i != 1)
            r |= xg_seg(g, i, XG_SEL_KDATA, 0, 0xffffffffu, XG_AR_DATA);
    r |= xg_seg(g, 6, 0, 0, 0, XG_AR_LDT_UNUSABLE);
    r |= xg_seg(g, 7, XG_SEL_TSS, XG_TSS, 0x67, 0x8b);
    r |= xg_vmcs(g, VMCS_GUEST_RFLAGS, 0x2) | xg_vmcs(g, VMCS_GUEST_RIP, XG_CODE);
    r |= xg_vmcs(g, VMCS_GUEST_RSP, XG_STACK_TOP);
    return r;
}

/* Real mode, CS = DS = ES = SS = seg (base seg*16), IP = ip. */
static inline int xg_real_mode(struct xg *g, uint16_t seg, uint16_t ip)
{
    int r = xg_vmcs(g, VMCS_GUEST_CR0, XG_CR0_ET | XG_CR0_NE) | xg_vmcs(g, VMCS_CTRL_CR0_SHADOW, XG_CR0_ET | XG_CR0_NE);
    r |= xg_vmcs(g, VMCS_GUEST_CR4, XG_CR4_VMXE) | xg_vmcs(g, VMCS_CTRL_CR4_SHADOW, 0);
    r |= xg_vmcs(g, VMCS_GUEST_IA32_EFER, 0);
    uint64_t entry = 0;
    hv_vmx_vcpu_read_vmcs(g->vcpu, VMCS_CTRL_VMENTRY_CONTROLS, &entry);
    r |= xg_vmcs(g, VMCS_CTRL_VMENTRY_CONTROLS, entry & ~(uint64_t)VMENTRY_GUEST_IA32E);
    for (unsigned i = 0; i < 6; i++)
        r |= xg_seg(g, i, seg, (uint64_t)seg << 4, 0xffff, i == 1 ? XG_AR_CODE16 : XG_AR_DATA16);
    r |= xg_seg(g, 6, 0, 0, 0xffff, 0x82);
    r |= xg_seg(g, 7, 0, 0, 0xffff, 0x83);
    r |= xg_vmcs(g, VMCS_GUEST_IDTR_BASE, 0) | xg_vmcs(g, VMCS_GUEST_IDTR_LIMIT, 0x3ff);
    r |= xg_vmcs(g, VMCS_GUEST_RFLAGS, 0x2) | xg_vmcs(g, VMCS_GUEST_RIP, ip);
    r |= xg_vmcs(g, VMCS_GUEST_RSP, 0xfffe);
    return r;
}

/* Does the host virtualize in hardware (VT-x/SVM)? Without it this machine's KVM
 * is paravirtual (PVM) and cannot run guest mode switches. */
static inline bool xg_host_hw_virt(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strncmp(line, "flags", 5) == 0 && (strstr(line, " vmx") || strstr(line, " svm"));
    fclose(f);
    return found;
}

static inline uint64_t xg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t xg_reg(struct xg *g, hv_x86_reg_t r)
{
    uint64_t v = 0;
    hv_vcpu_read_register(g->vcpu, r, &v);
    return v;
}

static inline uint32_t xg_exit_reason(struct xg *g)
{
    return (uint32_t)xg_read_vmcs(g, VMCS_RO_EXIT_REASON) & 0xffff;
}

/* A run that a broken check ends after two seconds instead of hanging the suite. */
#define XG_RUN_DEADLINE_NS 2000000000ull
static inline hv_return_t xg_run_bounded(struct xg *g)
{
    return hv_vcpu_run_until(g->vcpu, xg_now_ns() + XG_RUN_DEADLINE_NS);
}

/* A legacy 8-byte segment descriptor: access byte (type, S, DPL, P) and the flags
 * nibble (AVL, L, D/B, G), as the SDM lays them out. */
static inline uint64_t xg_desc(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
    return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static inline uint32_t xg_read32(struct xg *g, uint64_t gpa)
{
    uint32_t v = 0;
    if (gpa + sizeof(v) <= XG_RAM_SIZE)
        memcpy(&v, g->ram + gpa, sizeof(v));
    return v;
}

#endif /* ANYHV_TESTS_SOFT_X86_X86_GUEST_H */
