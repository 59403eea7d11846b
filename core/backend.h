/* The backend interface: a table of operations behind which KVM and the soft CPU
 * sit. Personalities (core/x86, core/arm64) call only these; they never talk to
 * KVM or the software CPU directly. */
#ifndef ANYHV_CORE_BACKEND_H
#define ANYHV_CORE_BACKEND_H

#include <Hypervisor/hv_error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

enum backend_kind { BACKEND_AUTO = 0, BACKEND_KVM = 1, BACKEND_SOFT = 2 };
enum guest_arch { GUEST_X86_64 = 0, GUEST_ARM64 = 1 };

/* Groups of guest state synced lazily between a backend and the state struct. */
enum state_group {
    SG_GPR = 1u << 0,      /* general registers, PC/RIP, flags/PSTATE */
    SG_SREGS = 1u << 1,    /* x86 segments, descriptor tables, control registers, EFER */
    SG_FPU = 1u << 2,      /* x87/SSE/AVX, or arm64 V registers, FPCR/FPSR */
    SG_MSRS = 1u << 3,     /* x86 MSRs kept in state */
    SG_DEBUG = 1u << 4,    /* debug registers */
    SG_EVENTS = 1u << 5,   /* x86 interruptibility/activity/pending events */
    SG_SYSREGS = 1u << 6,  /* arm64 system registers */
    SG_XCR = 1u << 7,      /* x86 XCR0 */
    SG_ALL = 0xffu,
};

/* A backend's "the guest state cannot be entered". The Apple-silicon flavour names this
 * value HV_ILLEGAL_GUEST_STATE; the Intel flavour has no such code, and its personality
 * returns HV_ERROR instead (see hv_vcpu_vmx_status). */
#define ANYHV_ERR_ILLEGAL_GUEST_STATE ((hv_return_t)0xfae94004)

/* Deadline passed to vcpu_run: CLOCK_MONOTONIC nanoseconds, or this for none. */
#define BACKEND_NO_DEADLINE UINT64_MAX

struct backend_ops {
    const char *name;
    enum backend_kind kind;
    /* anyhv_vcpu_set_breakpoint: how many the backend can hold (debug registers on KVM). */
    uint32_t max_breakpoints;
    /* anyhv_vcpu_set_instruction_budget: the largest budget it can stop at exactly
     * (KVM: 1, a single step; soft: any). */
    uint64_t max_budget;

    hv_return_t (*vm_create)(struct vm *vm);
    void (*vm_destroy)(struct vm *vm);

    /* Called with the VM lock held after the space's pmap already reflects the change,
     * so a backend re-reads the affected guest-physical window from the pmap. Before
     * returning, no vCPU may still use a stale translation of that window. */
    hv_return_t (*map)(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size);
    hv_return_t (*unmap)(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size);
    hv_return_t (*protect)(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size);

    hv_return_t (*vcpu_create)(struct vcpu *vcpu);
    void (*vcpu_destroy)(struct vcpu *vcpu);
    /* Switch the vCPU to another address space (Intel hv_vcpu_set_space). */
    hv_return_t (*vcpu_set_space)(struct vcpu *vcpu, uint32_t space);

    /* Run until the next exit the client must see; fills vcpu->exit. */
    hv_return_t (*vcpu_run)(struct vcpu *vcpu, uint64_t deadline_ns);
    /* Load the given groups from the backend into the state struct / push dirty ones back. */
    hv_return_t (*state_get)(struct vcpu *vcpu, uint32_t groups);
    hv_return_t (*state_put)(struct vcpu *vcpu, uint32_t groups);
    /* From any thread: make a running (or the next) vcpu_run return CANCELED/EXT_IRQ. */
    void (*cancel)(struct vcpu *vcpu);
    void (*invalidate_tlb)(struct vcpu *vcpu);
    /* Optional (NULL: HV_UNSUPPORTED): copy out up to max live TLB entries
     * (struct anyhv_tlb_entry), *count = how many are live. Owning thread, between runs. */
    hv_return_t (*tlb_dump)(struct vcpu *vcpu, void *entries, uint32_t max, uint32_t *count);
    /* Optional: the state struct and vcpu->icount were replaced wholesale (snapshot
     * restore, VM lock held, vCPU stopped): drop whatever was derived from the old ones. */
    void (*state_restored)(struct vcpu *vcpu);
    /* Optional: the vCPU waits inside the backend for an event (x86 HLT without HLT
     * exiting); deterministic mode then gives its turn away. */
    bool (*idle)(struct vcpu *vcpu);
    /* Optional (NULL: anyhv_vm_fork says HV_UNSUPPORTED): in the child of a fork, the
     * only thread left; make the VM runnable without the parent's other threads. */
    void (*fork_child)(struct vm *vm);
    /* Optional, with fork_child: before the fork, the backend's own threads stop where
     * they hold no lock (the child would find it taken forever); after it, in the
     * parent, they go on. */
    void (*fork_prepare)(struct vm *vm);
    void (*fork_parent)(struct vm *vm);
};

extern const struct backend_ops kvm_backend_ops;
extern const struct backend_ops soft_backend_ops;

/* Can this backend run guests of `arch` here? HV_SUCCESS, HV_NO_DEVICE (no usable
 * /dev/kvm) or HV_UNSUPPORTED (ISA or feature); `why`, if not NULL, gets words. */
hv_return_t kvm_backend_check(enum guest_arch arch, const char **why);
hv_return_t soft_backend_check(enum guest_arch arch, const char **why);
/* anyhv_vcpu_get_exec_stats on the software route (owning thread). */
struct anyhv_exec_stats;
void soft_exec_stats(struct vcpu *vcpu, struct anyhv_exec_stats *out);
/* True when the host virtualizes in hardware (VT-x/SVM flags, arm64 EL2),
 * as opposed to an emulated KVM such as PVM. */
bool kvm_host_has_hw_virt(void);

/* Backend choice for a new VM: the extension call, else ANYHV_BACKEND, else auto. */
const struct backend_ops *backend_choose(enum guest_arch arch, hv_return_t *err);
const struct backend_ops *backend_by_kind(enum backend_kind kind);
/* Record the extension call's choice (BACKEND_AUTO clears it). */
void backend_request(enum backend_kind kind);
/* What hv_vm_create would use now (KVM or SOFT, never AUTO). */
enum backend_kind backend_resolve(enum guest_arch arch);
const char *backend_kind_name(enum backend_kind kind);

#endif /* ANYHV_CORE_BACKEND_H */
