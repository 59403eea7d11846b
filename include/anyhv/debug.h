/* anyhv debugging extensions: what a debugger (anyhv-run's gdb stub, or any client)
 * needs beyond Apple's API. Guest-virtual translation and stop reports work on every
 * backend, breakpoints on both (KVM: four, in debug registers); watchpoints and the TLB
 * view are the software route's. Single-stepping is anyhv_vcpu_set_instruction_budget(1)
 * (KVM: KVM_GUESTDBG_SINGLESTEP).
 * Included by <anyhv/anyhv.h>. */
#ifndef ANYHV_DEBUG_H
#define ANYHV_DEBUG_H

#include <Hypervisor/hv_error.h>
#include <anyhv/export.h>
#include <stdbool.h>
#include <stdint.h>

ANYHV_BEGIN_DECLS

/* Most breakpoints and watchpoints one vCPU holds at a time. */
#define ANYHV_MAX_BREAKPOINTS 64u
#define ANYHV_MAX_WATCHPOINTS 16u

/*!
 * @function anyhv_vcpu_translate
 * @abstract The guest-physical address of a guest-virtual address, through the guest's
 *           own page tables as the vCPU's state sets them now (x86: CR0/CR3/CR4/EFER,
 *           linear addresses; arm64: SCTLR_EL1/TCR_EL1/TTBR0/1_EL1). With paging off the
 *           address is returned unchanged. A debugger's walk: it neither sets accessed or
 *           dirty bits nor checks privilege, and tables are read through stage 2 only.
 * @param vcpu The vCPU, from its owning thread.
 * @param gva  The guest-virtual (x86: linear) address.
 * @param gpa  Receives the guest-physical address.
 * @result HV_SUCCESS; HV_FAULT when gva is not mapped (or a table is not in guest RAM);
 *         HV_BAD_ARGUMENT for a bad handle, another thread or NULL.
 */
ANYHV_API hv_return_t anyhv_vcpu_translate(uint64_t vcpu, uint64_t gva, uint64_t *gpa);

/*!
 * @function anyhv_vcpu_set_breakpoint
 * @abstract Stop the vCPU before it executes the instruction at guest-virtual `pc`
 *           (x86: the linear address CS.base + RIP). The guest sees nothing: no memory is
 *           patched; the software route uses no debug register, KVM uses DR0-DR3 through
 *           KVM_SET_GUEST_DEBUG (the guest's own are not in effect meanwhile). A run that starts on a
 *           breakpoint stops at once (a debugger steps over it with the budget). The stop
 *           is an exit of kind ANYHV_STOP_BREAKPOINT (anyhv_vcpu_get_stop): on the Intel
 *           API exit reason VMX_REASON_MTF, on the Apple-silicon API an exception exit
 *           with a breakpoint syndrome (EC 0x30).
 * @param enable true adds the breakpoint (adding one twice is fine), false removes it.
 * @result HV_SUCCESS; HV_NO_RESOURCES past ANYHV_MAX_BREAKPOINTS (KVM: past four);
 *         HV_BAD_ARGUMENT for a bad handle or another thread.
 */
ANYHV_API hv_return_t anyhv_vcpu_set_breakpoint(uint64_t vcpu, uint64_t pc, bool enable);

/*! What a watchpoint watches. */
typedef enum anyhv_watch_kind {
    ANYHV_WATCH_WRITE = 1,
    ANYHV_WATCH_READ = 2,
    ANYHV_WATCH_ACCESS = 3,   /* read or write */
} anyhv_watch_kind_t;

/*!
 * @function anyhv_vcpu_set_watchpoint
 * @abstract Software route: stop the vCPU before an instruction's data access (of the
 *           given kind) to any byte of guest-virtual [gva, gva+len) happens. The access has
 *           not been made and the instruction has not retired (state at its start, as an
 *           arm64 watchpoint exception leaves it); a debugger that wants x86's trap
 *           semantics steps the instruction with the watchpoint removed. Instruction
 *           fetches and the CPU's own table walks do not trigger. The stop is an exit of
 *           kind ANYHV_STOP_WATCHPOINT: VMX_REASON_MTF on the Intel API, an exception exit
 *           with a watchpoint syndrome (EC 0x34, WnR, FAR) on the Apple-silicon API.
 * @param enable true adds (an identical watchpoint twice is one), false removes the
 *           watchpoint with exactly these gva, len and kind.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for len 0, a range that wraps, an unknown kind, a
 *         bad handle or another thread; HV_NO_RESOURCES past ANYHV_MAX_WATCHPOINTS;
 *         HV_UNSUPPORTED on KVM.
 */
ANYHV_API hv_return_t anyhv_vcpu_set_watchpoint(uint64_t vcpu, uint64_t gva, uint64_t len, anyhv_watch_kind_t kind,
                                               bool enable);

/*! Why the vCPU's last run stopped, as far as anyhv's own stops go. */
typedef enum anyhv_stop_kind {
    ANYHV_STOP_NONE = 0,        /* an ordinary exit (or none yet): see Apple's exit fields */
    ANYHV_STOP_BUDGET = 1,      /* the instruction budget ran out (single-step, --max-insns) */
    ANYHV_STOP_BREAKPOINT = 2,  /* anyhv_vcpu_set_breakpoint */
    ANYHV_STOP_WATCHPOINT = 3,  /* anyhv_vcpu_set_watchpoint */
} anyhv_stop_kind_t;

typedef struct anyhv_stop {
    anyhv_stop_kind_t kind;
    uint64_t pc;            /* guest-virtual pc the vCPU stopped at */
    uint64_t address;       /* WATCHPOINT: first byte of the access */
    uint32_t size;          /* WATCHPOINT: bytes of the access */
    bool write;             /* WATCHPOINT: the access writes */
    uint64_t instructions;  /* instructions retired when it stopped */
} anyhv_stop_t;

/*!
 * @function anyhv_vcpu_get_stop
 * @abstract Whether the last hv_vcpu_run / hv_vcpu_run_until stopped for one of anyhv's
 *           own reasons (budget, breakpoint, watchpoint), and where.
 * @result HV_SUCCESS (kind ANYHV_STOP_NONE for any other exit, on KVM as well);
 *         HV_BAD_ARGUMENT for a bad handle, another thread or NULL.
 */
ANYHV_API hv_return_t anyhv_vcpu_get_stop(uint64_t vcpu, anyhv_stop_t *stop);

/*! One entry of the software TLB (anyhv_vcpu_get_tlb). */
typedef struct anyhv_tlb_entry {
    uint64_t gva;        /* guest-virtual page */
    uint64_t gpa;        /* guest-physical page */
    uint32_t perms;      /* 1 read, 2 write, 4 execute, as cached (write withheld on code pages) */
    uint32_t regime;     /* 0 privileged (x86 CPL0-2, arm64 EL1), 1 user */
    uint32_t asid;       /* arm64 ASID, 0xffffffff for global entries (and on x86) */
} anyhv_tlb_entry_t;

/*!
 * @function anyhv_vcpu_get_tlb
 * @abstract Software route: the translations the vCPU's TLB holds now, for inspection.
 * @param entries Receives up to `max` entries (may be NULL when max is 0).
 * @param count   Receives how many entries the TLB holds (may exceed max).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle, another thread, or NULL count;
 *         HV_UNSUPPORTED on KVM.
 */
ANYHV_API hv_return_t anyhv_vcpu_get_tlb(uint64_t vcpu, anyhv_tlb_entry_t *entries, uint32_t max, uint32_t *count);

ANYHV_END_DECLS

#endif /* ANYHV_DEBUG_H */
