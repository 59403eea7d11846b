/* anyhv-run, Intel flavour: builds the 64-bit environment the guest starts in
 * (GDT, TSS, IDT with reporting stubs, identity page tables) and the vCPU state and
 * VMX controls, using only hv_* calls and the capability idiom real clients use. */
#include <string.h>

#include "x86_machine.h"

/* Descriptor bits (SDM vol. 3A, 3.4.5 and 7.2.3). */
#define DESC_TYPE_CODE_XR 0xau
#define DESC_TYPE_DATA_RW 0x2u
#define DESC_TYPE_TSS64_AVAIL 0x9u
#define DESC_TYPE_TSS64_BUSY 0xbu
#define DESC_TYPE_TSS32_AVAIL 0x9u   /* the same type values name the 32-bit TSS outside long mode */
#define DESC_TYPE_TSS32_BUSY 0xbu
#define DESC_TYPE_INTR_GATE64 0xeu
#define DESC_TYPE_INTR_GATE32 0xeu
#define DESC_ACCESSED 0x1u
#define DESC_S (1u << 4)
#define DESC_DPL(n) ((uint32_t)(n) << 5)
#define DESC_P (1u << 7)
#define DESC_L (1u << 13)        /* in the VMX access-rights layout */
#define DESC_DB (1u << 14)
#define DESC_G (1u << 15)
#define VMX_AR_UNUSABLE (1u << 16)

/* Page-table entry bits. */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PAGE_2M (2ull << 20)
#define PT_ENTRIES 512u

/* Control register and flag bits. */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_VMXE (1ull << 13)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define RFLAGS_FIXED1 (1ull << 1)
#define RFLAGS_IOPL3 (3ull << 12)

_Static_assert(X86M_GUEST_CR0 == (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG), "CR0 bits");
_Static_assert(X86M_GUEST_CR4 == (CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE) && X86M_GUEST_CR4_VMXE == CR4_VMXE,
               "CR4 bits");
_Static_assert(X86M_GUEST_EFER == (EFER_LME | EFER_LMA), "EFER bits");
_Static_assert(X86M_GUEST32_CR0 == (CR0_PE | CR0_MP | CR0_ET | CR0_NE) &&
               X86M_GUEST32_CR4 == (CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE), "32-bit CR bits");
_Static_assert(X86M_GUEST_RFLAGS == RFLAGS_FIXED1 && X86M_GUEST_RFLAGS_USER == (RFLAGS_FIXED1 | RFLAGS_IOPL3),
               "RFLAGS bits");

#define TSS_SIZE (X86M_TSS_LIMIT + 1u)   /* 104 bytes in both the 32-bit and 64-bit formats */
#define TSS64_RSP0 4u
#define TSS64_IST1 36u
#define IDT_IST1 1ull   /* every stub runs on IST1: a fault on a bad stack is still reported */
#define TSS64_IOPB 102u
#define TSS32_ESP0 4u
#define TSS32_SS0 8u
#define TSS32_IOPB 102u
#define IDT_VECTORS 256u
#define STUB_SIZE 8u
#define SEG_LIMIT_FLAT 0xffffffffu

/* Opcodes of the exception stub: mov al, vector; out 0xf5, al; hlt; jmp back to hlt. */
#define OP_MOV_AL_IMM8 0xb0u
#define OP_OUT_IMM8_AL 0xe6u
#define OP_HLT 0xf4u
#define OP_JMP_REL8 0xebu
#define OP_NOP 0x90u

static void put64(uint8_t *ram, uint64_t at, uint64_t v)
{
    memcpy(ram + at, &v, sizeof(v));
}

/* A legacy-format code/data descriptor from the VMX access-rights value. */
static uint64_t seg_desc(uint32_t base, uint32_t limit, uint32_t ar)
{
    uint64_t d = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16);
    d |= (uint64_t)(ar & 0xffu) << 40;
    d |= (uint64_t)((limit >> 16) & 0xfu) << 48;
    d |= (uint64_t)((ar >> 12) & 0xfu) << 52;
    d |= (uint64_t)(base >> 24) << 56;
    return d;
}

#define AR_KCODE (DESC_TYPE_CODE_XR | DESC_ACCESSED | DESC_S | DESC_DPL(0) | DESC_P | DESC_L | DESC_G)
#define AR_KDATA (DESC_TYPE_DATA_RW | DESC_ACCESSED | DESC_S | DESC_DPL(0) | DESC_P | DESC_DB | DESC_G)
#define AR_UCODE (DESC_TYPE_CODE_XR | DESC_ACCESSED | DESC_S | DESC_DPL(3) | DESC_P | DESC_L | DESC_G)
#define AR_UDATA (DESC_TYPE_DATA_RW | DESC_ACCESSED | DESC_S | DESC_DPL(3) | DESC_P | DESC_DB | DESC_G)
#define AR_TSS (DESC_TYPE_TSS64_BUSY | DESC_P)
/* 32-bit code segments: D=1, no L. */
#define AR_KCODE32 (DESC_TYPE_CODE_XR | DESC_ACCESSED | DESC_S | DESC_DPL(0) | DESC_P | DESC_DB | DESC_G)
#define AR_UCODE32 (DESC_TYPE_CODE_XR | DESC_ACCESSED | DESC_S | DESC_DPL(3) | DESC_P | DESC_DB | DESC_G)
#define AR_TSS32 (DESC_TYPE_TSS32_BUSY | DESC_P)

static void build_gdt(uint8_t *ram, enum x86m_mode mode)
{
    const bool m64 = mode == X86M_MODE_LONG64;
    uint64_t gdt[7] = { 0 };
    gdt[X86M_SEL_KCODE >> 3] = seg_desc(0, 0xfffff, m64 ? AR_KCODE : AR_KCODE32);
    gdt[X86M_SEL_KDATA >> 3] = seg_desc(0, 0xfffff, AR_KDATA);
    gdt[X86M_SEL_UDATA >> 3] = seg_desc(0, 0xfffff, AR_UDATA);
    gdt[X86M_SEL_UCODE >> 3] = seg_desc(0, 0xfffff, m64 ? AR_UCODE : AR_UCODE32);
    /* The TSS, marked available in memory (in 64-bit mode a 16-byte descriptor). */
    gdt[X86M_SEL_TSS >> 3] =
        seg_desc(X86M_TSS_BASE, TSS_SIZE - 1, (m64 ? DESC_TYPE_TSS64_AVAIL : DESC_TYPE_TSS32_AVAIL) | DESC_P);
    gdt[(X86M_SEL_TSS >> 3) + 1] = 0;
    memcpy(ram + X86M_GDT_BASE, gdt, sizeof(gdt));

    memset(ram + X86M_TSS_BASE, 0, TSS_SIZE);
    uint16_t iopb = TSS_SIZE;   /* no I/O bitmap: IOPL 3 decides */
    if (m64) {
        put64(ram, X86M_TSS_BASE + TSS64_RSP0, X86M_KSTACK_TOP);
        put64(ram, X86M_TSS_BASE + TSS64_IST1, X86M_KSTACK_TOP);
        memcpy(ram + X86M_TSS_BASE + TSS64_IOPB, &iopb, sizeof(iopb));
    } else {
        const uint32_t esp0 = X86M_KSTACK_TOP;
        const uint16_t ss0 = X86M_SEL_KDATA;
        memcpy(ram + X86M_TSS_BASE + TSS32_ESP0, &esp0, sizeof(esp0));
        memcpy(ram + X86M_TSS_BASE + TSS32_SS0, &ss0, sizeof(ss0));
        memcpy(ram + X86M_TSS_BASE + TSS32_IOPB, &iopb, sizeof(iopb));
    }
}

/* 64-bit gates run every stub on IST1; 32-bit gates have no IST, so a CPL0 fault
 * reports from the stack it happened on. */
static void build_idt(uint8_t *ram, enum x86m_mode mode)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint64_t h = X86M_STUB_BASE + v * STUB_SIZE;
        uint8_t *s = ram + h;
        const uint8_t stub[STUB_SIZE] = { OP_MOV_AL_IMM8, (uint8_t)v, OP_OUT_IMM8_AL, X86M_FAULT_PORT, OP_HLT,
                                          OP_JMP_REL8, (uint8_t)-3, OP_NOP };
        memcpy(s, stub, sizeof(stub));
        if (mode == X86M_MODE_LONG64) {
            uint64_t lo = (h & 0xffffu) | ((uint64_t)X86M_SEL_KCODE << 16) | (IDT_IST1 << 32) |
                          ((uint64_t)(DESC_TYPE_INTR_GATE64 | DESC_DPL(0) | DESC_P) << 40) | ((h >> 16) & 0xffffu) << 48;
            put64(ram, X86M_IDT_BASE + v * 16, lo);
            put64(ram, X86M_IDT_BASE + v * 16 + 8, h >> 32);
        } else {
            uint64_t g = (h & 0xffffu) | ((uint64_t)X86M_SEL_KCODE << 16) |
                         ((uint64_t)(DESC_TYPE_INTR_GATE32 | DESC_DPL(0) | DESC_P) << 40) | ((h >> 16) & 0xffffu) << 48;
            put64(ram, X86M_IDT_BASE + v * 8, g);
        }
    }
}

static void build_page_tables(uint8_t *ram)
{
    memset(ram + X86M_PML4_BASE, 0, 3 * 4096);
    put64(ram, X86M_PML4_BASE, X86M_PDPT_BASE | PTE_P | PTE_RW | PTE_US);
    put64(ram, X86M_PDPT_BASE, X86M_PD_BASE | PTE_P | PTE_RW | PTE_US);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        put64(ram, X86M_PD_BASE + i * 8, i * PAGE_2M | PTE_P | PTE_RW | PTE_US | PTE_PS);
}

void x86m_build_tables(uint8_t *ram, enum x86m_mode mode)
{
    build_gdt(ram, mode);
    build_idt(ram, mode);
    if (mode == X86M_MODE_LONG64)
        build_page_tables(ram);
}

/* (want | allowed-0) & allowed-1, the idiom of Hypervisor.framework clients. */
static hv_return_t set_ctrl(hv_vcpuid_t vcpu, uint32_t field, hv_vmx_capability_t cap, uint64_t want)
{
    uint64_t c = 0;
    hv_return_t r = hv_vmx_read_capability(cap, &c);
    if (r != HV_SUCCESS)
        return r;
    return hv_vmx_vcpu_write_vmcs(vcpu, field, (want | (c & 0xffffffffu)) & (c >> 32));
}

struct seg_setup { uint32_t sel, base, limit, ar; uint32_t f_sel, f_base, f_limit, f_ar; };

static hv_return_t write_segments(hv_vcpuid_t vcpu, enum x86m_cpl cpl, enum x86m_mode mode)
{
    const bool user = cpl == X86M_CPL3, m64 = mode == X86M_MODE_LONG64;
    const uint32_t code_sel = user ? X86M_SEL_UCODE : X86M_SEL_KCODE;
    const uint32_t code_ar = m64 ? (user ? AR_UCODE : AR_KCODE) : (user ? AR_UCODE32 : AR_KCODE32);
    const uint32_t data_sel = user ? X86M_SEL_UDATA : X86M_SEL_KDATA, data_ar = user ? AR_UDATA : AR_KDATA;
    const struct seg_setup segs[] = {
        { code_sel, 0, SEG_LIMIT_FLAT, code_ar, VMCS_GUEST_CS, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR },
        { data_sel, 0, SEG_LIMIT_FLAT, data_ar, VMCS_GUEST_SS, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
        { data_sel, 0, SEG_LIMIT_FLAT, data_ar, VMCS_GUEST_DS, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
        { data_sel, 0, SEG_LIMIT_FLAT, data_ar, VMCS_GUEST_ES, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
        { data_sel, 0, SEG_LIMIT_FLAT, data_ar, VMCS_GUEST_FS, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
        { data_sel, 0, SEG_LIMIT_FLAT, data_ar, VMCS_GUEST_GS, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
        { X86M_SEL_TSS, X86M_TSS_BASE, TSS_SIZE - 1, m64 ? AR_TSS : AR_TSS32, VMCS_GUEST_TR, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR },
        { 0, 0, 0, VMX_AR_UNUSABLE, VMCS_GUEST_LDTR, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR },
    };
    hv_return_t r = HV_SUCCESS;
    for (unsigned i = 0; i < sizeof(segs) / sizeof(segs[0]) && r == HV_SUCCESS; i++) {
        const struct seg_setup *s = &segs[i];
        r = hv_vmx_vcpu_write_vmcs(vcpu, s->f_sel, s->sel);
        if (r == HV_SUCCESS)
            r = hv_vmx_vcpu_write_vmcs(vcpu, s->f_base, s->base);
        if (r == HV_SUCCESS)
            r = hv_vmx_vcpu_write_vmcs(vcpu, s->f_limit, s->limit);
        if (r == HV_SUCCESS)
            r = hv_vmx_vcpu_write_vmcs(vcpu, s->f_ar, s->ar);
    }
    return r;
}

hv_return_t x86m_setup_vcpu(hv_vcpuid_t vcpu, uint64_t entry, uint64_t rsp, enum x86m_cpl cpl, enum x86m_mode mode)
{
    const bool m64 = mode == X86M_MODE_LONG64;
    const uint64_t cr0 = m64 ? X86M_GUEST_CR0 : X86M_GUEST32_CR0, cr4 = m64 ? X86M_GUEST_CR4 : X86M_GUEST32_CR4;
    const struct { uint32_t field; uint64_t value; } state[] = {
        { VMCS_GUEST_CR0, cr0 },           { VMCS_CTRL_CR0_SHADOW, cr0 },
        { VMCS_GUEST_CR4, cr4 },           { VMCS_CTRL_CR4_SHADOW, cr4 & ~X86M_GUEST_CR4_VMXE },
        { VMCS_GUEST_CR3, m64 ? X86M_PML4_BASE : 0 },
        { VMCS_GUEST_IA32_EFER, m64 ? X86M_GUEST_EFER : 0 },
        { VMCS_GUEST_GDTR_BASE, X86M_GDT_BASE }, { VMCS_GUEST_GDTR_LIMIT, X86M_GDT_LIMIT },
        { VMCS_GUEST_IDTR_BASE, X86M_IDT_BASE }, { VMCS_GUEST_IDTR_LIMIT, m64 ? X86M_IDT_LIMIT : X86M_IDT32_LIMIT },
        { VMCS_GUEST_RFLAGS, cpl == X86M_CPL3 ? X86M_GUEST_RFLAGS_USER : X86M_GUEST_RFLAGS },
        { VMCS_GUEST_RIP, entry },         { VMCS_GUEST_RSP, rsp },
        { VMCS_GUEST_ACTIVITY_STATE, 0 },  { VMCS_GUEST_INTERRUPTIBILITY, 0 },
        { VMCS_CTRL_EXC_BITMAP, 0 },
    };
    hv_return_t r = set_ctrl(vcpu, VMCS_CTRL_PIN_BASED, HV_VMX_CAP_PINBASED, 0);
    if (r == HV_SUCCESS)
        r = set_ctrl(vcpu, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_HLT | CPU_BASED_UNCOND_IO);
    if (r == HV_SUCCESS)
        r = set_ctrl(vcpu, VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2, CPU_BASED2_INVPCID);
    if (r == HV_SUCCESS)
        r = set_ctrl(vcpu, VMCS_CTRL_VMENTRY_CONTROLS, HV_VMX_CAP_ENTRY,
                     (m64 ? VMENTRY_GUEST_IA32E : 0) | VMENTRY_LOAD_EFER);
    if (r == HV_SUCCESS)
        r = set_ctrl(vcpu, VMCS_CTRL_VMEXIT_CONTROLS, HV_VMX_CAP_EXIT, 0);
    if (r == HV_SUCCESS)
        r = write_segments(vcpu, cpl, mode);
    for (unsigned i = 0; i < sizeof(state) / sizeof(state[0]) && r == HV_SUCCESS; i++)
        r = hv_vmx_vcpu_write_vmcs(vcpu, state[i].field, state[i].value);
    return r;
}

bool x86m_vector_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 ||
           vector == 30;
}

const char *x86m_vector_name(unsigned vector)
{
    static const char *const names[] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
                                         "#TS", "#NP", "#SS", "#GP", "#PF", "reserved", "#MF", "#AC", "#MC",
                                         "#XM", "#VE", "#CP" };
    return vector < sizeof(names) / sizeof(names[0]) ? names[vector] : "interrupt";
}

const char *x86m_exit_name(uint32_t reason)
{
    static const struct { uint32_t reason; const char *name; } names[] = {
        { VMX_REASON_EXC_NMI, "exception" }, { VMX_REASON_IRQ, "irq" },
        { VMX_REASON_TRIPLE_FAULT, "triple-fault" }, { VMX_REASON_IRQ_WND, "irq-window" },
        { VMX_REASON_CPUID, "cpuid" }, { VMX_REASON_HLT, "hlt" }, { VMX_REASON_RDTSC, "rdtsc" },
        { VMX_REASON_MOV_CR, "mov-cr" }, { VMX_REASON_IO, "io" }, { VMX_REASON_RDMSR, "rdmsr" },
        { VMX_REASON_WRMSR, "wrmsr" }, { VMX_REASON_EPT_VIOLATION, "ept-violation" },
        { VMX_REASON_VMENTRY_GUEST, "bad-guest-state" }, { VMX_REASON_XSETBV, "xsetbv" },
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].reason == reason)
            return names[i].name;
    return "other";
}
