/* Private state of the KVM backend: the VM and vCPU file descriptors, the memory
 * slots mirrored from the guest-physical map, and the internal interfaces of the
 * backend's files (state sync, run loop, the "not retired" rule, MSRs, events). */
#ifndef ANYHV_CORE_KVM_KVM_H
#define ANYHV_CORE_KVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/kvm/kvm_probe.h"
#include "core/vm.h"

#define KVM_MAX_SLOTS 256u
#define KVM_XLAT_ENTRIES 4u

struct kvm_slot {
    bool used;
    uint64_t gpa, size;
    uint64_t host;
    uint32_t flags;        /* KVM_MEM_READONLY */
};

/* MSR filter ranges: low (0..0x1fff) and high (0xc0000000..0xc0001fff) MSRs. */
#define KVM_MSR_RANGE_SPAN 0x2000u
#define KVM_MSR_HIGH_BASE 0xc0000000u
#define KVM_MSR_BITMAP_BYTES (KVM_MSR_RANGE_SPAN / 8u)

struct kvm_vm {
    int sys_fd;            /* /dev/kvm */
    int vm_fd;
    int run_size;          /* mmap size of struct kvm_run */
    struct kvm_slot slots[KVM_MAX_SLOTS];
    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, given to every vCPU */
    bool user_msr;              /* KVM_CAP_X86_USER_SPACE_MSR enabled */
    /* Installed MSR filter: [read/write][low/high] allow bitmaps. */
    uint8_t msr_allow[2][2][KVM_MSR_BITMAP_BYTES];
    bool msr_filter_set;
    uint64_t msr_policy_sig;    /* signature of the vCPUs' policies the filter was built from */
    /* KVM keeps a vCPU until the VM dies and refuses an id it has seen, so each
     * hv_vcpu_create gets the next unused KVM id (under vm->lock), below max_vcpu_id. */
    uint32_t next_vcpu_id;
    uint32_t max_vcpu_id;
    /* gate.c: slot updates wait until no vCPU is inside KVM_RUN. */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_cond;
    bool gate_closed;
    uint32_t in_run;
};

/* The MSRs kept in struct x86_msrs and synced with KVM_GET/SET_MSRS. */
#define KVM_STATE_MSR_COUNT 14u

struct kvm_vcpu {
    int fd;
    struct kvm_run *run;
    int wake_fd;               /* eventfd: wakes a halted vCPU on hv_vcpu_interrupt */
    bool timer_ok;             /* `timer` created (deadline of hv_vcpu_run_until) */
    timer_t timer;
    pid_t tid;                 /* owning thread, for the deadline signal */
    struct kvm_sregs sregs;    /* last segment state seen in or given to KVM */
    bool sregs_known;
    uint64_t msr_seen[KVM_STATE_MSR_COUNT];  /* values last read from / written to KVM */
    bool msr_known[KVM_STATE_MSR_COUNT];
    struct kvm_guest_debug guest_debug;  /* KVM_SET_GUEST_DEBUG in force (events.c) */
    void *cs[3];               /* Capstone handles per mode (16/32/64-bit), opened lazily */
    bool sync;                 /* REGS/SREGS/EVENTS through kvm_run's sync area (KVM_CAP_SYNC_REGS) */
    bool controls_warned;      /* controls.c said which controls KVM cannot honour */
    /* Linear -> physical page translations made since the last KVM_RUN (decoding an
     * exit looks at the same one or two code pages many times). */
    struct kvm_xlat { uint64_t lin, phys; bool valid; } xlat[KVM_XLAT_ENTRIES];
    unsigned xlat_next;
    uint64_t controls_sig;
};

/* Debug registers KVM_SET_GUEST_DEBUG offers for anyhv's breakpoints. */
#define KVM_HW_BREAKPOINTS 4u

/* Guest address arithmetic shared by the decoding files. */
#define KVM_ADDR32_MASK 0xffffffffull
#define KVM_ADDR16_MASK 0xffffull

static inline bool kvm_long_mode(const struct kvm_sregs *s)
{
    return (s->efer & X86_EFER_LMA) && s->cs.l;
}

/* Address-size mask of the code segment's default address size. */
static inline uint64_t kvm_addr_mask(const struct kvm_sregs *s)
{
    return kvm_long_mode(s) ? ~0ull : s->cs.db ? KVM_ADDR32_MASK : KVM_ADDR16_MASK;
}

/* Linear address of CS:RIP. */
static inline uint64_t kvm_rip_linear(const struct kvm_sregs *s, uint64_t rip)
{
    return kvm_long_mode(s) ? rip : (s->cs.base + rip) & KVM_ADDR32_MASK;
}


/* Re-create the memory slots covering [gpa, gpa+size) from the space-0 pmap. */
hv_return_t kvm_slots_sync(struct vm *vm, uint64_t gpa, uint64_t size);

/* sync.c: the kernel's REGS/SREGS/EVENTS, through kvm_run's sync area when the
 * kernel has KVM_CAP_SYNC_REGS (writes land at the next KVM_RUN), else by ioctl. */
hv_return_t kvm_sync_init(struct vcpu *vcpu, bool available);
hv_return_t kvm_regs_get(struct vcpu *vcpu, struct kvm_regs *out);
hv_return_t kvm_regs_set(struct vcpu *vcpu, const struct kvm_regs *in);
hv_return_t kvm_sregs_get(struct vcpu *vcpu, struct kvm_sregs *out);
hv_return_t kvm_sregs_set(struct vcpu *vcpu, const struct kvm_sregs *in);
hv_return_t kvm_events_get(struct vcpu *vcpu, struct kvm_vcpu_events *out);
hv_return_t kvm_events_set(struct vcpu *vcpu, const struct kvm_vcpu_events *in);
/* Push pending sync-area writes before an ioctl that needs them in the kernel. */
hv_return_t kvm_sync_flush(struct vcpu *vcpu);

/* state.c: struct x86_state <-> KVM, per state group. */
hv_return_t kvm_state_get(struct vcpu *vcpu, uint32_t groups);
hv_return_t kvm_state_put(struct vcpu *vcpu, uint32_t groups);
/* Push every dirty group before KVM_RUN. */
hv_return_t kvm_state_flush(struct vcpu *vcpu);
/* Struct copies from kernel structs already in hand (saves a GET ioctl). */
void kvm_state_take_regs(struct vcpu *vcpu, const struct kvm_regs *regs);
void kvm_state_take_sregs(struct vcpu *vcpu, const struct kvm_sregs *sregs);

/* decode.c: the instruction at the guest's RIP, read through the pmap. */
struct kvm_insn {
    uint8_t len;           /* 0: could not fetch or decode */
    bool rep;              /* REP/REPE/REPNE prefix on a string instruction */
    bool string;           /* INS/OUTS/MOVS/STOS/LODS/CMPS/SCAS */
    bool port_imm;         /* IN/OUT with an 8-bit immediate port */
    bool writes_fpu;       /* writes an x87/SSE/AVX register */
    bool writes_sreg;      /* loads a segment register */
    uint8_t modrm_reg;     /* ModRM.reg extended by REX.R */
};
bool kvm_decode_at_rip(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs,
                       struct kvm_insn *out);
/* Capstone access for retired.c (cs_insn is Capstone's; NULL when unreadable). */
struct cs_insn;
struct cs_insn *kvm_disasm_at(struct vcpu *vcpu, const struct kvm_sregs *sregs, uint64_t linear, size_t len,
                              uint64_t address);
void kvm_disasm_free(struct cs_insn *insn);
void kvm_decode_classify(const struct cs_insn *insn, struct kvm_insn *out);

/* retired.c: the exit's instruction when KVM already retired it (RIP is past it):
 * found by matching the exit against the encodings that end at RIP; `pre` gets the
 * registers as they were before it. */
struct kvm_retired_exit {
    bool pio;              /* OUT/OUTS, else an MMIO store */
    uint16_t port;
    uint8_t size;
    uint64_t gpa;
    uint64_t data;
};
bool kvm_decode_retired(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs,
                        const struct kvm_retired_exit *e, struct kvm_insn *out, struct kvm_regs *pre);

/* The linear address of the memory operand of the instruction at RIP that
 * reaches `gpa` (for VMCS_RO_GUEST_LIN_ADDR); false when none does. */
bool kvm_insn_mem_linear(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs,
                         uint64_t gpa, uint64_t *linear);

/* Guest linear -> physical through the vCPU's current paging (KVM_TRANSLATE). */
bool kvm_linear_to_phys(struct vcpu *vcpu, const struct kvm_sregs *sregs, uint64_t linear, uint64_t *gpa);
/* Forget cached translations (before KVM_RUN, and when CR3/CR0/CR4 change). */
void kvm_xlat_flush(struct kvm_vcpu *kv);
void kvm_decode_close(struct kvm_vcpu *kv);

/* pending.c: KVM exits that leave an instruction half done (I/O, MMIO, RDMSR/WRMSR)
 * become exits whose instruction has not retired. Fills vcpu->exit. */
hv_return_t kvm_exit_pio(struct vcpu *vcpu);
hv_return_t kvm_exit_mmio(struct vcpu *vcpu);
hv_return_t kvm_exit_msr(struct vcpu *vcpu, bool write);
/* KVM could not fetch an instruction (outside every slot): an EPT fetch violation if so. */
bool kvm_exit_fetch_fault(struct vcpu *vcpu);

/* msr.c: user-space MSR exits and the filter that decides which MSRs exit. */
hv_return_t kvm_msr_vm_init(struct vm *vm);
/* Install the filter matching the vCPUs' native MSRs, if it changed. */
hv_return_t kvm_msr_filter_sync(struct vcpu *vcpu);
/* Whether this vCPU lets the guest access `msr` natively (read or write). */
bool kvm_msr_native(struct vcpu *vcpu, uint32_t msr, bool write);
/* Complete a guest RDMSR/WRMSR of a native MSR inside the library. */
hv_return_t kvm_msr_complete_native(struct vcpu *vcpu);
/* The MSR indexes of the KVM_STATE_MSR_COUNT state MSRs and their fields. */
uint32_t kvm_state_msr_index(unsigned i);
uint64_t *kvm_state_msr_field(struct x86_state *st, unsigned i);

/* events.c: VM-entry event injection, interrupt window, exception-bitmap intercepts. */
hv_return_t kvm_events_before_entry(struct vcpu *vcpu);

/* controls.c: say once (stderr) which VMX controls KVM cannot honour. */
void kvm_controls_check(struct vcpu *vcpu);

/* run.c: the kick signal that makes KVM_RUN return in the vCPU's thread. */
int kvm_kick_signal(void);
/* gate.c */
void kvm_gate_init(struct kvm_vm *k);
void kvm_gate_destroy(struct kvm_vm *k);
void kvm_gate_enter(struct kvm_vm *k);
void kvm_gate_leave(struct kvm_vm *k);
void kvm_gate_close(struct vm *vm);
void kvm_gate_open(struct vm *vm);

#endif /* ANYHV_CORE_KVM_KVM_H */
