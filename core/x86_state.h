/* Architectural state of one x86-64 vCPU, shared vocabulary of every layer.
 * The soft CPU executes on it directly; the KVM backend syncs it lazily to and
 * from the kernel. Hot fields first; offsets used by generated code are pinned. */
#ifndef ANYHV_CORE_X86_STATE_H
#define ANYHV_CORE_X86_STATE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General registers in hardware encoding order (ModRM reg numbers). */
enum x86_gpr {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
    X86_GPR_COUNT
};

/* Segment registers in VMCS order (also the Intel SDM's Sreg encoding for the first six). */
enum x86_seg_reg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_LDTR, X86_TR, X86_SEG_COUNT };

/* RFLAGS bits. */
enum x86_rflags {
    X86_FLAG_CF = 1u << 0, X86_FLAG_FIXED1 = 1u << 1, X86_FLAG_PF = 1u << 2, X86_FLAG_AF = 1u << 4,
    X86_FLAG_ZF = 1u << 6, X86_FLAG_SF = 1u << 7, X86_FLAG_TF = 1u << 8, X86_FLAG_IF = 1u << 9,
    X86_FLAG_DF = 1u << 10, X86_FLAG_OF = 1u << 11, X86_FLAG_IOPL = 3u << 12, X86_FLAG_NT = 1u << 14,
    X86_FLAG_RF = 1u << 16, X86_FLAG_VM = 1u << 17, X86_FLAG_AC = 1u << 18, X86_FLAG_VIF = 1u << 19,
    X86_FLAG_VIP = 1u << 20, X86_FLAG_ID = 1u << 21
};

/* Control register bits the core and backends name. */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_VME (1ull << 0)
#define X86_CR4_PVI (1ull << 1)
#define X86_CR4_TSD (1ull << 2)
#define X86_CR4_DE (1ull << 3)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_MCE (1ull << 6)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_PCE (1ull << 8)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP (1ull << 11)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_VMXE (1ull << 13)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_PCIDE (1ull << 17)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* VMX segment access-rights format (VMCS guest-state AR fields). */
#define X86_AR_TYPE_MASK 0xfu
#define X86_AR_S (1u << 4)
#define X86_AR_DPL_SHIFT 5
#define X86_AR_DPL_MASK (3u << 5)
#define X86_AR_P (1u << 7)
#define X86_AR_AVL (1u << 12)
#define X86_AR_L (1u << 13)
#define X86_AR_DB (1u << 14)
#define X86_AR_G (1u << 15)
#define X86_AR_UNUSABLE (1u << 16)

/* VMX control and event bits the backends act on (same values as hv_arch_vmx.h,
 * which only personality files include). */
#define X86_VMX_CPU_IRQ_WND (1u << 2)
#define X86_VMX_CPU_HLT (1u << 7)
#define X86_VMX_ENTRY_IA32E (1u << 9)
#define X86_VMX_INFO_VECTOR_MASK 0xffu
#define X86_VMX_INFO_TYPE_SHIFT 8
#define X86_VMX_INFO_TYPE_MASK (7u << 8)
#define X86_VMX_INFO_ERROR_VALID (1u << 11)
#define X86_VMX_INFO_VALID (1u << 31)
enum x86_vmx_event_type {
    X86_EVENT_EXT_IRQ = 0, X86_EVENT_NMI = 2, X86_EVENT_HARD_EXC = 3, X86_EVENT_SOFT_IRQ = 4,
    X86_EVENT_PRIV_SOFT_EXC = 5, X86_EVENT_SOFT_EXC = 6,
};
#define X86_EVENT_RESERVED 1u
#define X86_EVENT_OTHER 7u             /* pending MTF exit: anyhv offers no MTF */
#define X86_NMI_VECTOR 2u
#define X86_EXC_VECTOR_MAX 31u
#define X86_VMX_INFO_RESERVED 0x7ffff000u   /* bits 30:12 */

/* The VM-entry checks on the entry interruption-information field that both routes
 * make (SDM 26.2.1.3): with the valid bit set, a reserved type (1), an other-event
 * type (7, needs MTF), an NMI that is not vector 2, an exception (hardware or
 * software) above vector 31 or a reserved bit fails the entry (ANYHV_ERR_ILLEGAL_GUEST_STATE, HV_ERROR to the Intel client
 * from hv_vcpu_run), as it does on VMX and on KVM. */
static inline bool x86_entry_event_valid(uint32_t info)
{
    if (!(info & X86_VMX_INFO_VALID))
        return true;
    uint32_t type = (info & X86_VMX_INFO_TYPE_MASK) >> X86_VMX_INFO_TYPE_SHIFT;
    uint32_t vector = info & X86_VMX_INFO_VECTOR_MASK;
    if ((info & X86_VMX_INFO_RESERVED) || type == X86_EVENT_RESERVED || type == X86_EVENT_OTHER)
        return false;
    if (type == X86_EVENT_NMI && vector != X86_NMI_VECTOR)
        return false;
    return !((type == X86_EVENT_HARD_EXC || type == X86_EVENT_SOFT_EXC) && vector > X86_EXC_VECTOR_MAX);
}
#define X86_EXC_DB 1u
#define X86_EXC_BP 3u
/* VMX activity states. */
enum x86_activity { X86_ACTIVITY_ACTIVE = 0, X86_ACTIVITY_HLT = 1, X86_ACTIVITY_SHUTDOWN = 2, X86_ACTIVITY_WAIT_SIPI = 3 };

struct x86_segment {
    uint64_t base;
    uint32_t limit;        /* byte-granular (already scaled by G) */
    uint32_t ar;           /* VMX access rights, X86_AR_* */
    uint16_t selector;
    uint16_t pad[3];
};

struct x86_dtable {
    uint64_t base;
    uint32_t limit;
    uint32_t pad;
};

typedef struct { alignas(16) uint8_t b[16]; } x86_xmm_t;

/* x87/SSE state in FXSAVE terms; XSAVE images are produced from it. */
struct x86_fpu {
    uint8_t st[8][16];     /* ST0..7 / MM0..7 as 80-bit values in FXSAVE slots */
    uint16_t fcw, fsw;
    uint8_t ftw;           /* abridged tag word: 1 bit per register, 1 = valid */
    uint8_t pad0;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    x86_xmm_t xmm[16];
    x86_xmm_t ymm_hi[16];  /* upper halves of YMM when AVX state is kept */
};

/* AVX-512 state (XSAVE components 5-7; frontends/x86_64/avx512_*.c). ZMMn's low 256
 * bits are fpu.xmm[n] and fpu.ymm_hi[n]. */
struct x86_zmm {
    uint64_t k[8];                         /* opmask registers k0-k7 */
    alignas(16) uint8_t zmm_hi256[16][32]; /* bits 511:256 of ZMM0-15 */
    alignas(16) uint8_t hi16_zmm[16][64];  /* ZMM16-31 whole */
};

/* Model-specific registers kept in state (the rest go through the MSR layer). */
struct x86_msrs {
    uint64_t efer, pat, star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t tsc_aux, debugctl, apic_base, misc_enable, tsc;
};

/* The VMX controls a client sets through the VMCS view, honoured by every backend
 * that can (the soft CPU entirely; KVM where it can, see docs/differences.md).
 * Values use the VMX encodings of hv_arch_vmx.h (PIN_BASED_*, CPU_BASED_*, ...).
 * A new vCPU gets the defaults of core/x86/vmcs.c (x86_vmcs_reset): unconditional
 * I/O exiting, MSR exits for every MSR not made native, EPT and unrestricted guest
 * always on; HLT exiting off (a guest HLT then waits for an event or a
 * hv_vcpu_interrupt). entry_irq_info: its valid bit is cleared by the backend once
 * the event is injected. entry's VMENTRY_GUEST_IA32E follows EFER.LMA after every
 * exit, as VMX stores it. */
#define X86_VMX_INERT_COUNT 48
struct x86_vmx_controls {
    uint32_t pin_based, cpu_based, cpu_based2, entry, exit;
    uint32_t exc_bitmap;
    uint32_t pf_error_mask, pf_error_match;
    uint64_t cr0_mask, cr0_shadow, cr4_mask, cr4_shadow;
    uint32_t cr3_target_count;
    uint64_t cr3_target[4];
    uint32_t entry_irq_info, entry_exc_error, entry_instr_len;
    uint32_t tpr_threshold;
    uint64_t tsc_offset;
    uint64_t apic_access_gpa;
    uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap;
    uint64_t vpid;
    uint64_t eptp;
    uint64_t preemption_timer;
    /* VMCS fields that change nothing in anyhv (posted interrupts, PML, VMFUNC, MSR
     * load/store areas, link pointer, ...): kept so a read returns what was written.
     * core/x86/vmcs.c owns the index of each. */
    uint64_t inert[X86_VMX_INERT_COUNT];
};

/* Soft CPU only: the six arithmetic flags one byte each (0 or 1). While the soft
 * CPU runs they, not rflags, hold CF/PF/AF/ZF/SF/OF, so the IR can drop flag
 * computations nobody reads; the x86 frontend packs them into rflags whenever state
 * leaves the CPU (exit, exception, PUSHF) and remembers the packed value, so a
 * client write to rflags between runs is noticed and unpacked. */
struct x86_soft_flags {
    uint8_t cf, pf, af, zf, sf, of;
    uint8_t xm_deferred;             /* MXCSR flags of a 256-bit FP operation's lower lane,
                                      * committed with the upper lane's */
    uint8_t pad[1];
    uint64_t rflags_synced;          /* rflags as last packed by the frontend */
};

/* Soft CPU only: what segmentation allows outside 64-bit mode, derived from seg[]
 * by the x86 frontend (frontends/x86_64/seg_check.c) whenever segments may have
 * changed, so generated code checks an offset with two compares. An access of
 * `size` bytes at offset off through segment s is allowed iff lo <= off and
 * off + size - 1 <= hi for its kind (read or write); an empty range (lo > hi) makes
 * every access fault (null selector, write to read-only data or code). */
struct x86_seg_bounds {
    uint64_t rlo, rhi;               /* reads */
    uint64_t wlo, whi;               /* writes */
};
struct x86_soft_seg {
    struct x86_seg_bounds b[6];      /* ES CS SS DS FS GS */
    uint8_t valid;                   /* 0: recompute before the next block */
    uint8_t checked;                 /* some segment is not flat: emit limit checks */
    uint8_t pad[6];
};

struct x86_state {
    uint64_t gpr[X86_GPR_COUNT];     /* offset 0: hottest */
    uint64_t rip;
    uint64_t rflags;
    struct x86_segment seg[X86_SEG_COUNT];
    struct x86_dtable gdtr, idtr;
    uint64_t cr0, cr1, cr2, cr3, cr4, cr8;   /* cr1 is reserved; kept so the API can read back what it wrote */
    uint64_t xcr0;
    uint64_t dr[8];                  /* DR4/DR5 alias DR6/DR7 architecturally; kept for the API */
    struct x86_msrs msr;
    uint32_t activity_state;         /* VMX activity state: 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI */
    uint32_t interruptibility;       /* VMX interruptibility state bits */
    uint64_t pending_dbg;            /* VMX pending debug exceptions */
    uint64_t pdpte[4];               /* PAE PDPTEs as loaded on CR3 write */
    struct x86_vmx_controls vmx;
    struct x86_fpu fpu;
    struct x86_soft_flags soft;      /* soft CPU scratch (ignored by KVM) */
    uint16_t fpu_fcs, fpu_fds;       /* x87 FCS/FDS of the last non-control instruction (soft CPU;
                                      * FXSAVE64 images have no room for them); last so no offset moves */
    struct x86_soft_seg soft_seg;    /* soft CPU segment-limit bounds (ignored by KVM) */
    uint64_t soft_dbg_held;          /* soft CPU: the pending debug exceptions MOV SS / POP SS
                                      * hold over the next instruction; an event that
                                      * instruction raises keeps them (ignored by KVM) */
    struct x86_zmm zmm;              /* AVX-512 (last, so no hot offset moves) */
};

_Static_assert(offsetof(struct x86_state, gpr) == 0, "gpr pinned at 0 for generated code");
_Static_assert(offsetof(struct x86_state, rip) == 128, "rip pinned after gprs");
_Static_assert(offsetof(struct x86_state, rflags) == 136, "rflags pinned after rip");
_Static_assert(offsetof(struct x86_state, fpu) % 16 == 0, "fpu 16-byte aligned");

#endif /* ANYHV_CORE_X86_STATE_H */
