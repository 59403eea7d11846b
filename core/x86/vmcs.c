/* The VMCS view of the Intel API, backend-neutral: one table from every VMCS field
 * encoding to where the value lives (struct x86_state guest state and VMX
 * controls, the read-only exit fields of struct vcpu_x86_ext, or nowhere for host
 * state), with its state group; the control defaults of a fresh vCPU; and the VMX
 * capability values, consistent with those defaults under (want | allowed0) & allowed1. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/vmcs.h"
#include "core/x86/x86.h"

/* VMCS encoding layout (Intel SDM vol. 3, appendix B): bit 0 access type (high half
 * of a 64-bit field), bits 11:10 type, bits 14:13 width. */
#define VMCS_ENC_HIGH 1u
#define VMCS_ENC_WIDTH_SHIFT 13
#define VMCS_ENC_WIDTH_MASK 3u
enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };

enum vmcs_home {
    VH_STATE,   /* struct x86_state (guest state and x86_vmx_controls) */
    VH_EXIT,    /* struct vcpu_x86_ext: read-only exit information */
    VH_HOST,    /* host state: the hypervisor's own; reads 0, writes ignored */
    VH_ZERO,    /* read-only, always 0 (VM-instruction error) */
};

struct vmcs_field {
    uint32_t enc;
    uint16_t offset;
    uint8_t size;       /* bytes of storage */
    uint8_t group;      /* state group to load before read / mark after write */
    uint8_t home;       /* enum vmcs_home */
};

#define STATE(e, member, grp) { e, offsetof(struct x86_state, member), sizeof(((struct x86_state *)0)->member), grp, VH_STATE }
#define CTRL(e, member) STATE(e, vmx.member, 0)
#define INERT(e, idx) STATE(e, vmx.inert[idx], 0)
#define EXITF(e, member) { e, offsetof(struct vcpu_x86_ext, member), sizeof(((struct vcpu_x86_ext *)0)->member), 0, VH_EXIT }
#define HOST(e) { e, 0, 8, 0, VH_HOST }
#define SEG(sel, lim, ar, base, r) STATE(sel, seg[r].selector, SG_SREGS), STATE(lim, seg[r].limit, SG_SREGS), \
                                   STATE(ar, seg[r].ar, SG_SREGS), STATE(base, seg[r].base, SG_SREGS)

/* Indexes into x86_vmx_controls.inert. */
enum vmcs_inert {
    IN_POSTED_VEC, IN_EPTP_INDEX, IN_INT_STATUS, IN_PML_INDEX, IN_EXIT_MSR_STORE, IN_EXIT_MSR_LOAD,
    IN_ENTRY_MSR_LOAD, IN_EXEC_VMCS, IN_PML_ADDR, IN_VAPIC, IN_POSTED_DESC, IN_VMFUNC, IN_EOI0,
    IN_EOI1, IN_EOI2, IN_EOI3, IN_EPTP_LIST, IN_VMREAD_BM, IN_VMWRITE_BM, IN_VE_INFO, IN_XSS_BM,
    IN_ENCLS_BM, IN_SPP, IN_TSC_MULT, IN_LINK, IN_PERF_GLOBAL, IN_BNDCFGS, IN_RTIT, IN_CR3_COUNT,
    IN_EXIT_STORE_COUNT, IN_EXIT_LOAD_COUNT, IN_ENTRY_LOAD_COUNT, IN_PLE_GAP, IN_PLE_WINDOW, IN_SMBASE,
    IN_ENCLV_BM, IN_PKRS, IN_S_CET, IN_SSP, IN_INTR_SSP_TABLE,
    IN_COUNT
};
_Static_assert(IN_COUNT <= X86_VMX_INERT_COUNT, "x86_vmx_controls.inert holds every inert field");

static const struct vmcs_field fields[] = {
    /* 16-bit */
    CTRL(VMCS_VPID, vpid),
    INERT(VMCS_CTRL_POSTED_INT_N_VECTOR, IN_POSTED_VEC),
    INERT(VMCS_CTRL_EPTP_INDEX, IN_EPTP_INDEX),
    STATE(VMCS_GUEST_ES, seg[X86_ES].selector, SG_SREGS),
    STATE(VMCS_GUEST_CS, seg[X86_CS].selector, SG_SREGS),
    STATE(VMCS_GUEST_SS, seg[X86_SS].selector, SG_SREGS),
    STATE(VMCS_GUEST_DS, seg[X86_DS].selector, SG_SREGS),
    STATE(VMCS_GUEST_FS, seg[X86_FS].selector, SG_SREGS),
    STATE(VMCS_GUEST_GS, seg[X86_GS].selector, SG_SREGS),
    STATE(VMCS_GUEST_LDTR, seg[X86_LDTR].selector, SG_SREGS),
    STATE(VMCS_GUEST_TR, seg[X86_TR].selector, SG_SREGS),
    INERT(VMCS_GUEST_INT_STATUS, IN_INT_STATUS),
    INERT(VMCS_GUESTPML_INDEX, IN_PML_INDEX),
    HOST(VMCS_HOST_ES), HOST(VMCS_HOST_CS), HOST(VMCS_HOST_SS), HOST(VMCS_HOST_DS),
    HOST(VMCS_HOST_FS), HOST(VMCS_HOST_GS), HOST(VMCS_HOST_TR),
    /* 64-bit */
    CTRL(VMCS_CTRL_IO_BITMAP_A, io_bitmap_a),
    CTRL(VMCS_CTRL_IO_BITMAP_B, io_bitmap_b),
    CTRL(VMCS_CTRL_MSR_BITMAPS, msr_bitmap),
    INERT(VMCS_CTRL_VMEXIT_MSR_STORE_ADDR, IN_EXIT_MSR_STORE),
    INERT(VMCS_CTRL_VMEXIT_MSR_LOAD_ADDR, IN_EXIT_MSR_LOAD),
    INERT(VMCS_CTRL_VMENTRY_MSR_LOAD_ADDR, IN_ENTRY_MSR_LOAD),
    INERT(VMCS_CTRL_EXECUTIVE_VMCS_PTR, IN_EXEC_VMCS),
    INERT(VMCS_CTRL_PML_ADDR, IN_PML_ADDR),
    CTRL(VMCS_CTRL_TSC_OFFSET, tsc_offset),
    INERT(VMCS_CTRL_VIRTUAL_APIC, IN_VAPIC),
    CTRL(VMCS_CTRL_APIC_ACCESS, apic_access_gpa),
    INERT(VMCS_CTRL_POSTED_INT_DESC_ADDR, IN_POSTED_DESC),
    INERT(VMCS_CTRL_VMFUNC_CTRL, IN_VMFUNC),
    CTRL(VMCS_CTRL_EPTP, eptp),
    INERT(VMCS_CTRL_EOI_EXIT_BITMAP_0, IN_EOI0),
    INERT(VMCS_CTRL_EOI_EXIT_BITMAP_1, IN_EOI1),
    INERT(VMCS_CTRL_EOI_EXIT_BITMAP_2, IN_EOI2),
    INERT(VMCS_CTRL_EOI_EXIT_BITMAP_3, IN_EOI3),
    INERT(VMCS_CTRL_EPTP_LIST_ADDR, IN_EPTP_LIST),
    INERT(VMCS_CTRL_VMREAD_BITMAP_ADDR, IN_VMREAD_BM),
    INERT(VMCS_CTRL_VMWRITE_BITMAP_ADDR, IN_VMWRITE_BM),
    INERT(VMCS_CTRL_VIRT_EXC_INFO_ADDR, IN_VE_INFO),
    INERT(VMCS_CTRL_XSS_EXITING_BITMAP, IN_XSS_BM),
    INERT(VMCS_CTRL_ENCLS_EXITING_BITMAP, IN_ENCLS_BM),
    INERT(VMCS_CTRL_SPP_TABLE, IN_SPP),
    INERT(VMCS_CTRL_TSC_MULTIPLIER, IN_TSC_MULT),
    INERT(VMCS_CTRL_ENCLV_EXITING_BITMAP, IN_ENCLV_BM),
    EXITF(VMCS_GUEST_PHYSICAL_ADDRESS, exit_gpa),
    INERT(VMCS_GUEST_LINK_POINTER, IN_LINK),
    STATE(VMCS_GUEST_IA32_DEBUGCTL, msr.debugctl, SG_MSRS),
    STATE(VMCS_GUEST_IA32_PAT, msr.pat, SG_MSRS),
    STATE(VMCS_GUEST_IA32_EFER, msr.efer, SG_SREGS),
    INERT(VMCS_GUEST_IA32_PERF_GLOBAL_CTRL, IN_PERF_GLOBAL),
    STATE(VMCS_GUEST_PDPTE0, pdpte[0], 0),
    STATE(VMCS_GUEST_PDPTE1, pdpte[1], 0),
    STATE(VMCS_GUEST_PDPTE2, pdpte[2], 0),
    STATE(VMCS_GUEST_PDPTE3, pdpte[3], 0),
    INERT(VMCS_GUEST_IA32_BNDCFGS, IN_BNDCFGS),
    INERT(VMCS_GUEST_IA32_RTIT_CTL, IN_RTIT),
    INERT(VMCS_GUEST_IA32_PKRS, IN_PKRS),
    HOST(VMCS_HOST_IA32_PAT), HOST(VMCS_HOST_IA32_EFER), HOST(VMCS_HOST_IA32_PERF_GLOBAL_CTRL),
    HOST(VMCS_HOST_IA32_PKRS),
    /* 32-bit */
    CTRL(VMCS_CTRL_PIN_BASED, pin_based),
    CTRL(VMCS_CTRL_CPU_BASED, cpu_based),
    CTRL(VMCS_CTRL_EXC_BITMAP, exc_bitmap),
    CTRL(VMCS_CTRL_PF_ERROR_MASK, pf_error_mask),
    CTRL(VMCS_CTRL_PF_ERROR_MATCH, pf_error_match),
    CTRL(VMCS_CTRL_CR3_COUNT, cr3_target_count),
    CTRL(VMCS_CTRL_VMEXIT_CONTROLS, exit),
    INERT(VMCS_CTRL_VMEXIT_MSR_STORE_COUNT, IN_EXIT_STORE_COUNT),
    INERT(VMCS_CTRL_VMEXIT_MSR_LOAD_COUNT, IN_EXIT_LOAD_COUNT),
    /* Loading EFER makes the IA-32e-mode-guest bit current (VMX stores EFER.LMA there on exit). */
    STATE(VMCS_CTRL_VMENTRY_CONTROLS, vmx.entry, SG_SREGS),
    INERT(VMCS_CTRL_VMENTRY_MSR_LOAD_COUNT, IN_ENTRY_LOAD_COUNT),
    CTRL(VMCS_CTRL_VMENTRY_IRQ_INFO, entry_irq_info),
    CTRL(VMCS_CTRL_VMENTRY_EXC_ERROR, entry_exc_error),
    CTRL(VMCS_CTRL_VMENTRY_INSTR_LEN, entry_instr_len),
    CTRL(VMCS_CTRL_TPR_THRESHOLD, tpr_threshold),
    CTRL(VMCS_CTRL_CPU_BASED2, cpu_based2),
    INERT(VMCS_CTRL_PLE_GAP, IN_PLE_GAP),
    INERT(VMCS_CTRL_PLE_WINDOW, IN_PLE_WINDOW),
    { VMCS_RO_INSTR_ERROR, 0, 4, 0, VH_ZERO },
    EXITF(VMCS_RO_EXIT_REASON, exit_reason),
    EXITF(VMCS_RO_VMEXIT_IRQ_INFO, exit_irq_info),
    EXITF(VMCS_RO_VMEXIT_IRQ_ERROR, exit_irq_error),
    EXITF(VMCS_RO_IDT_VECTOR_INFO, idt_vectoring_info),
    EXITF(VMCS_RO_IDT_VECTOR_ERROR, idt_vectoring_error),
    EXITF(VMCS_RO_VMEXIT_INSTR_LEN, exit_instr_len),
    EXITF(VMCS_RO_VMX_INSTR_INFO, exit_instr_info),
    STATE(VMCS_GUEST_ES_LIMIT, seg[X86_ES].limit, SG_SREGS),
    STATE(VMCS_GUEST_CS_LIMIT, seg[X86_CS].limit, SG_SREGS),
    STATE(VMCS_GUEST_SS_LIMIT, seg[X86_SS].limit, SG_SREGS),
    STATE(VMCS_GUEST_DS_LIMIT, seg[X86_DS].limit, SG_SREGS),
    STATE(VMCS_GUEST_FS_LIMIT, seg[X86_FS].limit, SG_SREGS),
    STATE(VMCS_GUEST_GS_LIMIT, seg[X86_GS].limit, SG_SREGS),
    STATE(VMCS_GUEST_LDTR_LIMIT, seg[X86_LDTR].limit, SG_SREGS),
    STATE(VMCS_GUEST_TR_LIMIT, seg[X86_TR].limit, SG_SREGS),
    STATE(VMCS_GUEST_GDTR_LIMIT, gdtr.limit, SG_SREGS),
    STATE(VMCS_GUEST_IDTR_LIMIT, idtr.limit, SG_SREGS),
    STATE(VMCS_GUEST_ES_AR, seg[X86_ES].ar, SG_SREGS),
    STATE(VMCS_GUEST_CS_AR, seg[X86_CS].ar, SG_SREGS),
    STATE(VMCS_GUEST_SS_AR, seg[X86_SS].ar, SG_SREGS),
    STATE(VMCS_GUEST_DS_AR, seg[X86_DS].ar, SG_SREGS),
    STATE(VMCS_GUEST_FS_AR, seg[X86_FS].ar, SG_SREGS),
    STATE(VMCS_GUEST_GS_AR, seg[X86_GS].ar, SG_SREGS),
    STATE(VMCS_GUEST_LDTR_AR, seg[X86_LDTR].ar, SG_SREGS),
    STATE(VMCS_GUEST_TR_AR, seg[X86_TR].ar, SG_SREGS),
    STATE(VMCS_GUEST_INTERRUPTIBILITY, interruptibility, SG_EVENTS),
    STATE(VMCS_GUEST_ACTIVITY_STATE, activity_state, 0),
    INERT(VMCS_GUEST_SMBASE, IN_SMBASE),
    STATE(VMCS_GUEST_IA32_SYSENTER_CS, msr.sysenter_cs, SG_MSRS),
    CTRL(VMCS_GUEST_VMX_TIMER_VALUE, preemption_timer),
    HOST(VMCS_HOST_IA32_SYSENTER_CS),
    /* natural width */
    CTRL(VMCS_CTRL_CR0_MASK, cr0_mask),
    CTRL(VMCS_CTRL_CR4_MASK, cr4_mask),
    CTRL(VMCS_CTRL_CR0_SHADOW, cr0_shadow),
    CTRL(VMCS_CTRL_CR4_SHADOW, cr4_shadow),
    CTRL(VMCS_CTRL_CR3_VALUE0, cr3_target[0]),
    CTRL(VMCS_CTRL_CR3_VALUE1, cr3_target[1]),
    CTRL(VMCS_CTRL_CR3_VALUE2, cr3_target[2]),
    CTRL(VMCS_CTRL_CR3_VALUE3, cr3_target[3]),
    EXITF(VMCS_RO_EXIT_QUALIFIC, exit_qualification),
    EXITF(VMCS_RO_IO_RCX, io_rcx),
    EXITF(VMCS_RO_IO_RSI, io_rsi),
    EXITF(VMCS_RO_IO_RDI, io_rdi),
    EXITF(VMCS_RO_IO_RIP, io_rip),
    EXITF(VMCS_RO_GUEST_LIN_ADDR, exit_gla),
    STATE(VMCS_GUEST_CR0, cr0, SG_SREGS),
    STATE(VMCS_GUEST_CR3, cr3, SG_SREGS),
    STATE(VMCS_GUEST_CR4, cr4, SG_SREGS),
    STATE(VMCS_GUEST_ES_BASE, seg[X86_ES].base, SG_SREGS),
    STATE(VMCS_GUEST_CS_BASE, seg[X86_CS].base, SG_SREGS),
    STATE(VMCS_GUEST_SS_BASE, seg[X86_SS].base, SG_SREGS),
    STATE(VMCS_GUEST_DS_BASE, seg[X86_DS].base, SG_SREGS),
    STATE(VMCS_GUEST_FS_BASE, seg[X86_FS].base, SG_SREGS),
    STATE(VMCS_GUEST_GS_BASE, seg[X86_GS].base, SG_SREGS),
    STATE(VMCS_GUEST_LDTR_BASE, seg[X86_LDTR].base, SG_SREGS),
    STATE(VMCS_GUEST_TR_BASE, seg[X86_TR].base, SG_SREGS),
    STATE(VMCS_GUEST_GDTR_BASE, gdtr.base, SG_SREGS),
    STATE(VMCS_GUEST_IDTR_BASE, idtr.base, SG_SREGS),
    STATE(VMCS_GUEST_DR7, dr[7], SG_DEBUG),
    STATE(VMCS_GUEST_RSP, gpr[X86_RSP], SG_GPR),
    STATE(VMCS_GUEST_RIP, rip, SG_GPR),
    STATE(VMCS_GUEST_RFLAGS, rflags, SG_GPR),
    STATE(VMCS_GUEST_DEBUG_EXC, pending_dbg, 0),
    STATE(VMCS_GUEST_SYSENTER_ESP, msr.sysenter_esp, SG_MSRS),
    STATE(VMCS_GUEST_SYSENTER_EIP, msr.sysenter_eip, SG_MSRS),
    /* CET state: stored and read back; the guest has no CET (CPUID does not offer it). */
    INERT(VMCS_GUEST_IA32_S_CET, IN_S_CET),
    INERT(VMCS_GUEST_SSP, IN_SSP),
    INERT(VMCS_GUEST_IA32_INTR_SSP_TABLE_ADDR, IN_INTR_SSP_TABLE),
    HOST(VMCS_HOST_IA32_S_CET), HOST(VMCS_HOST_SSP), HOST(VMCS_HOST_IA32_INTR_SSP_TABLE_ADDR),
    HOST(VMCS_HOST_CR0), HOST(VMCS_HOST_CR3), HOST(VMCS_HOST_CR4), HOST(VMCS_HOST_FS_BASE),
    HOST(VMCS_HOST_GS_BASE), HOST(VMCS_HOST_TR_BASE), HOST(VMCS_HOST_GDTR_BASE), HOST(VMCS_HOST_IDTR_BASE),
    HOST(VMCS_HOST_IA32_SYSENTER_ESP), HOST(VMCS_HOST_IA32_SYSENTER_EIP), HOST(VMCS_HOST_RSP),
    HOST(VMCS_HOST_RIP),
};

#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

/* Encodings are sparse in 0..VMCS_MAX; a direct index built when the library loads
 * keeps lookups O(1) (every VMCS read and write comes here). */
static uint8_t field_index[VMCS_MAX / 2 + 1];

__attribute__((constructor)) static void index_build(void)
{
    _Static_assert(FIELD_COUNT < 255, "index fits a byte");
    for (uint32_t i = 0; i < FIELD_COUNT; i++)
        field_index[fields[i].enc / 2] = (uint8_t)(i + 1);
}

static const struct vmcs_field *field_find(uint32_t enc)
{
    if (enc >= VMCS_MAX || (enc & VMCS_ENC_HIGH))
        return NULL;
    uint8_t i = field_index[enc / 2];
    return i ? &fields[i - 1] : NULL;
}

static enum vmcs_width enc_width(uint32_t enc)
{
    return (enum vmcs_width)((enc >> VMCS_ENC_WIDTH_SHIFT) & VMCS_ENC_WIDTH_MASK);
}

static uint64_t width_mask(enum vmcs_width w)
{
    switch (w) {
    case VMCS_W16: return 0xffffull;
    case VMCS_W32: return 0xffffffffull;
    default: return ~0ull;
    }
}

bool x86_vmcs_field_known(uint32_t enc)
{
    if (enc_width(enc) == VMCS_W64 && (enc & VMCS_ENC_HIGH))
        enc &= ~VMCS_ENC_HIGH;
    return field_find(enc) != NULL;
}

static void *field_ptr(struct vcpu *v, const struct vmcs_field *f)
{
    uint8_t *base = f->home == VH_STATE ? (uint8_t *)v->st.x86 : (uint8_t *)&v->ext.x86;
    return base + f->offset;
}

static inline __attribute__((always_inline)) uint64_t field_get(struct vcpu *v, const struct vmcs_field *f)
{
    if (f->home == VH_HOST || f->home == VH_ZERO)
        return 0;
    return x86_load_le(field_ptr(v, f), f->size);
}

hv_return_t x86_vmcs_read(struct vcpu *v, uint32_t enc, uint64_t *value)
{
    bool high = enc_width(enc) == VMCS_W64 && (enc & VMCS_ENC_HIGH);
    const struct vmcs_field *f = field_find(high ? enc & ~VMCS_ENC_HIGH : enc);
    if (!f || !value)
        return HV_BAD_ARGUMENT;
    hv_return_t ret = vcpu_state_load(v, f->group);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t val = field_get(v, f) & width_mask(enc_width(f->enc));
    *value = high ? val >> 32 : val;
    return HV_SUCCESS;
}

hv_return_t x86_vmcs_write(struct vcpu *v, uint32_t enc, uint64_t value)
{
    bool high = enc_width(enc) == VMCS_W64 && (enc & VMCS_ENC_HIGH);
    const struct vmcs_field *f = field_find(high ? enc & ~VMCS_ENC_HIGH : enc);
    if (!f)
        return HV_BAD_ARGUMENT;
    if (f->home == VH_EXIT || f->home == VH_ZERO)
        return HV_BAD_ARGUMENT;   /* read-only exit information, as VMWRITE refuses it */
    if (f->home == VH_HOST)
        return HV_SUCCESS;        /* the host state is the hypervisor's own */
    hv_return_t ret = vcpu_state_load(v, f->group);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t val = value & width_mask(enc_width(f->enc));
    if (high)
        val = (field_get(v, f) & 0xffffffffull) | (value << 32);
    x86_store_le(field_ptr(v, f), val, f->size);
    x86_state_written(v->st.x86, f->offset, f->group);
    vcpu_state_touch(v, f->group);
    return HV_SUCCESS;
}

/* --- capabilities -------------------------------------------------------------
 * allowed-0 (bits that must be 1) and allowed-1 (bits that may be 1). Reserved
 * bits that VMX requires to be 1 are in allowed-0, as on hardware. Beyond those,
 * anyhv's VMX always exits on I/O (unconditional I/O exiting), always governs MSR
 * access by its MSR bitmap (hv_vcpu_enable_native_msr), always uses EPT and
 * unrestricted guest, and always exits on external interrupts and NMIs
 * (hv_vcpu_interrupt). CR3 load/store exiting and I/O bitmaps are not forced. */
#define PIN_RESERVED1 0x16u
#define PIN_ALLOWED0 (PIN_RESERVED1 | PIN_BASED_INTR | PIN_BASED_NMI)
#define PIN_ALLOWED1 (PIN_ALLOWED0 | PIN_BASED_VIRTUAL_NMI)

#define CPU_RESERVED1 0x04006172u   /* bits 1, 4-6, 8, 13, 14, 26 */
#define CPU_ALLOWED0 (CPU_RESERVED1 | CPU_BASED_UNCOND_IO | CPU_BASED_MSR_BITMAPS | CPU_BASED_SECONDARY_CTLS)
#define CPU_ALLOWED1                                                                                   \
    (CPU_ALLOWED0 | CPU_BASED_IRQ_WND | CPU_BASED_TSC_OFFSET | CPU_BASED_HLT | CPU_BASED_INVLPG |       \
     CPU_BASED_MWAIT | CPU_BASED_RDPMC | CPU_BASED_RDTSC | CPU_BASED_CR3_LOAD | CPU_BASED_CR3_STORE |  \
     CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE | CPU_BASED_TPR_SHADOW | CPU_BASED_VIRTUAL_NMI_WND |      \
     CPU_BASED_MOV_DR | CPU_BASED_MTF | CPU_BASED_MONITOR | CPU_BASED_PAUSE)

#define CPU2_ALLOWED0 (CPU_BASED2_EPT | CPU_BASED2_UNRESTRICTED)
#define CPU2_ALLOWED1                                                                                  \
    (CPU2_ALLOWED0 | CPU_BASED2_DESC_TABLE | CPU_BASED2_RDTSCP | CPU_BASED2_VPID | CPU_BASED2_WBINVD |  \
     CPU_BASED2_RDRAND | CPU_BASED2_INVPCID | CPU_BASED2_RDSEED | CPU_BASED2_XSAVES_XRSTORS)

#define ENTRY_RESERVED1 0x11ffu      /* bits 0-8, 12 (bit 2 is load-debug-controls) */
#define ENTRY_ALLOWED0 ENTRY_RESERVED1
#define ENTRY_ALLOWED1 (ENTRY_ALLOWED0 | VMENTRY_GUEST_IA32E | VMENTRY_LOAD_IA32_PAT | VMENTRY_LOAD_EFER)
#define ENTRY_TRUE_ALLOWED0 (ENTRY_ALLOWED0 & ~VMENTRY_LOAD_DBG_CONTROLS)

#define EXIT_RESERVED1 0x36dffu      /* bits 0-8, 10, 11, 13, 14, 16, 17 (bit 2 is save-debug-controls) */
#define EXIT_ALLOWED0 (EXIT_RESERVED1 | VMEXIT_HOST_IA32E)
#define EXIT_ALLOWED1                                                                                  \
    (EXIT_ALLOWED0 | VMEXIT_ACK_INTR | VMEXIT_SAVE_IA32_PAT | VMEXIT_LOAD_IA32_PAT | VMEXIT_SAVE_EFER |  \
     VMEXIT_LOAD_EFER)
#define EXIT_TRUE_ALLOWED0 (EXIT_ALLOWED0 & ~VMEXIT_SAVE_DBG_CONTROLS)

/* IA32_VMX_BASIC: revision 1, 4 KiB region, write-back VMCS memory, TRUE_*
 * capabilities present. Bit 54 (INS/OUTS instruction information) stays clear:
 * VMCS_RO_VMX_INSTR_INFO is not filled for I/O exits. */
#define BASIC_REVISION 1ull
#define BASIC_REGION_SIZE (4096ull << 32)
#define BASIC_MEMTYPE_WB (6ull << 50)
#define BASIC_TRUE_CTLS (1ull << 55)
/* IA32_VMX_MISC: EFER.LMA stored in the IA-32e-mode-guest control, HLT activity
 * state, four CR3 targets. */
#define MISC_STORE_LMA (1ull << 5)
#define MISC_ACTIVITY_HLT (1ull << 6)
#define MISC_CR3_TARGETS (4ull << 16)
/* CR0 must have PE, NE, PG (PE and PG exempt under unrestricted guest); CR4 VMXE. */
#define CR0_FIXED0 (X86_CR0_PE | X86_CR0_NE | X86_CR0_PG)
#define CR0_FIXED1 0xffffffffull
#define CR4_FIXED0 X86_CR4_VMXE
#define CR4_FIXED1                                                                                     \
    (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE |  \
     X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP | X86_CR4_VMXE |    \
     X86_CR4_FSGSBASE | X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_SMAP)
/* Highest field index used in an encoding (bits 9:1), from VMCS_CTRL_TSC_MULTIPLIER. */
#define VMCS_ENUM_MAX_INDEX ((uint64_t)((VMCS_CTRL_TSC_MULTIPLIER >> 1) & 0x1ff) << 1)
/* EPT: 4-level walk, WB, 2 MiB and 1 GiB pages, INVEPT single/all; INVVPID kinds. */
#define EPT_CAPS 0x6134040ull
#define VPID_CAPS ((1ull << 32) | (0xfull << 40))

#define PAIR(a0, a1) (((uint64_t)(a1) << 32) | (uint32_t)(a0))

static const struct {
    uint32_t cap;
    uint64_t value;
} caps[] = {
    { HV_VMX_CAP_PINBASED, PAIR(PIN_ALLOWED0, PIN_ALLOWED1) },
    { HV_VMX_CAP_PROCBASED, PAIR(CPU_ALLOWED0, CPU_ALLOWED1) },
    { HV_VMX_CAP_PROCBASED2, PAIR(CPU2_ALLOWED0, CPU2_ALLOWED1) },
    { HV_VMX_CAP_ENTRY, PAIR(ENTRY_ALLOWED0, ENTRY_ALLOWED1) },
    { HV_VMX_CAP_EXIT, PAIR(EXIT_ALLOWED0, EXIT_ALLOWED1) },
    { HV_VMX_CAP_BASIC, BASIC_REVISION | BASIC_REGION_SIZE | BASIC_MEMTYPE_WB | BASIC_TRUE_CTLS },
    { HV_VMX_CAP_TRUE_PINBASED, PAIR(PIN_ALLOWED0, PIN_ALLOWED1) },
    { HV_VMX_CAP_TRUE_PROCBASED, PAIR(CPU_ALLOWED0, CPU_ALLOWED1) },
    { HV_VMX_CAP_TRUE_ENTRY, PAIR(ENTRY_TRUE_ALLOWED0, ENTRY_ALLOWED1) },
    { HV_VMX_CAP_TRUE_EXIT, PAIR(EXIT_TRUE_ALLOWED0, EXIT_ALLOWED1) },
    { HV_VMX_CAP_MISC, MISC_STORE_LMA | MISC_ACTIVITY_HLT | MISC_CR3_TARGETS },
    { HV_VMX_CAP_CR0_FIXED0, CR0_FIXED0 },
    { HV_VMX_CAP_CR0_FIXED1, CR0_FIXED1 },
    { HV_VMX_CAP_CR4_FIXED0, CR4_FIXED0 },
    { HV_VMX_CAP_CR4_FIXED1, CR4_FIXED1 },
    { HV_VMX_CAP_VMCS_ENUM, VMCS_ENUM_MAX_INDEX },
    { HV_VMX_CAP_EPT_VPID_CAP, EPT_CAPS | VPID_CAPS },
    { HV_VMX_CAP_PREEMPTION_TIMER, 0 },   /* no VMX-preemption timer offered */
};

hv_return_t x86_vmx_capability(uint32_t cap, uint64_t *value)
{
    if (!value)
        return HV_BAD_ARGUMENT;
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        if (caps[i].cap == cap) {
            *value = caps[i].value;
            return HV_SUCCESS;
        }
    }
    return HV_BAD_ARGUMENT;
}

#define VMCS_LINK_POINTER_NONE (~0ull)

void x86_vmcs_reset(struct x86_state *st)
{
    struct x86_vmx_controls *c = &st->vmx;
    memset(c, 0, sizeof(*c));
    /* The minimum each capability demands: runnable as is, and a client's
     * (want | allowed0) & allowed1 only adds to it. */
    c->pin_based = PIN_ALLOWED0;
    c->cpu_based = CPU_ALLOWED0;
    c->cpu_based2 = CPU2_ALLOWED0;
    c->entry = ENTRY_ALLOWED0;
    c->exit = EXIT_ALLOWED0;
    c->inert[IN_LINK] = VMCS_LINK_POINTER_NONE;
}
