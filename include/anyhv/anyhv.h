/* anyhv extensions: what Apple's Hypervisor API lacks, all prefixed anyhv_.
 * Usable with either flavour; include after (or instead of) <Hypervisor/Hypervisor.h>. */
#ifndef ANYHV_ANYHV_H
#define ANYHV_ANYHV_H

#include <Hypervisor/hv_error.h>
#include <anyhv/export.h>
#include <stdbool.h>
#include <stdint.h>

ANYHV_BEGIN_DECLS

#define ANYHV_VERSION_MAJOR 0
#define ANYHV_VERSION_MINOR 1
#define ANYHV_VERSION_PATCH 0
#define ANYHV_VERSION ((ANYHV_VERSION_MAJOR << 16) | (ANYHV_VERSION_MINOR << 8) | ANYHV_VERSION_PATCH)

/*! Which route runs the guest. */
typedef enum anyhv_backend {
    ANYHV_BACKEND_AUTO = 0, /* KVM when the host virtualizes in hardware for this ISA, else soft */
    ANYHV_BACKEND_KVM = 1,  /* Linux KVM */
    ANYHV_BACKEND_SOFT = 2, /* anyhv's software CPU */
} anyhv_backend_t;

/*! Guest instruction set; each library serves one (libanyhv-x86_64, libanyhv-arm64). */
typedef enum anyhv_guest_arch {
    ANYHV_GUEST_ARCH_X86_64 = 0,
    ANYHV_GUEST_ARCH_ARM64 = 1,
} anyhv_guest_arch_t;

/*! Runtime version, ANYHV_VERSION layout. Compare with the compile-time ANYHV_VERSION. */
ANYHV_API uint32_t anyhv_version(void);
/*! Version as text, e.g. "0.1.0". */
ANYHV_API const char *anyhv_version_string(void);

/*! The guest ISA this library serves. */
ANYHV_API anyhv_guest_arch_t anyhv_guest_arch(void);

/*!
 * Choose the backend for the next hv_vm_create. Overrides ANYHV_BACKEND.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for an unknown value; HV_BUSY while a VM exists.
 * Thread-safe.
 */
ANYHV_API hv_return_t anyhv_set_backend(anyhv_backend_t backend);

/*!
 * The backend of the current VM, or, without a VM, the one hv_vm_create would pick
 * (ANYHV_BACKEND_KVM or ANYHV_BACKEND_SOFT; never AUTO).
 */
ANYHV_API anyhv_backend_t anyhv_get_backend(void);

/*! Name of anyhv_get_backend(): "kvm" or "soft". */
ANYHV_API const char *anyhv_backend_name(void);

/*!
 * Whether `backend` can run this library's guests on this host.
 * @param why  if not NULL, receives a static string explaining the answer.
 */
ANYHV_API bool anyhv_backend_available(anyhv_backend_t backend, const char **why);

/*!
 * @function anyhv_vcpu_get_instructions
 * @abstract Guest instructions the vCPU has retired so far (software route).
 * @param vcpu The vCPU handle (hv_vcpuid_t or hv_vcpu_t), from its owning thread.
 * @param count Receives the count.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle, another thread or NULL;
 *         HV_UNSUPPORTED on KVM, which does not count guest instructions.
 */
ANYHV_API hv_return_t anyhv_vcpu_get_instructions(uint64_t vcpu, uint64_t *count);

/*!
 * @function anyhv_vcpu_set_instruction_budget
 * @abstract Software route: every later hv_vcpu_run / hv_vcpu_run_until of this vCPU
 *           retires at most `count` guest instructions, then returns with a budget exit:
 *           on the Intel API exit reason VMX_REASON_VMX_TIMER_EXPIRED, on the Apple-silicon
 *           API HV_EXIT_REASON_CANCELED. The stop is exact (the instruction count grows by
 *           `count` unless another exit comes first) and independent of wall time, so runs
 *           in steps of a budget are reproducible. 0 removes the budget.
 * @param vcpu The vCPU handle (hv_vcpuid_t or hv_vcpu_t), from its owning thread.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle or another thread;
 *         HV_UNSUPPORTED on KVM for budgets above 1 (KVM counts no instructions; a budget
 *         of 1 is a single step through KVM_SET_GUEST_DEBUG).
 */
ANYHV_API hv_return_t anyhv_vcpu_set_instruction_budget(uint64_t vcpu, uint64_t count);

/*!
 * @function anyhv_vcpu_x86_cpuid
 * @abstract The CPUID values anyhv recommends a VMM return to its guest for (leaf,
 *           subleaf) on this vCPU: the model of the software x86 CPU, with every feature
 *           it implements and none it does not (docs/x86-frontend.md lists the bits).
 *           On the Intel API CPUID always exits to the client; a VMM answers the exit
 *           with these values, masked or extended as it likes (a host bit the model
 *           lacks makes the guest use an instruction the software CPU raises #UD for).
 * @discussion The fields that follow the vCPU's state are filled from it: leaf 1 EBX
 *           bits 31:24 (APIC ID = the vCPU id) and ECX bit 27 (OSXSAVE = CR4.OSXSAVE),
 *           leaf 0xD subleaves 0 and 1 EBX (XSAVE area size for the current XCR0).
 *           Leaves above the highest basic or extended leaf answer as the highest basic
 *           leaf, as Intel processors do. The same model is returned on KVM, where the
 *           guest's CPUID never exits (the kernel answers it).
 * @param vcpu The vCPU handle (hv_vcpuid_t), from its owning thread.
 * @param leaf EAX of the guest's CPUID. @param subleaf ECX of the guest's CPUID.
 * @param regs Receives EAX, EBX, ECX, EDX in that order.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle, another thread or NULL regs;
 *         HV_UNSUPPORTED in the arm64 library.
 */
ANYHV_API hv_return_t anyhv_vcpu_x86_cpuid(uint64_t vcpu, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/*!
 * @typedef anyhv_exec_stats_t
 * @abstract How the software route ran a vCPU's guest code so far: translation, the
 *           interpreter tier and the compiled (LLVM ORC) tier.
 */
typedef struct anyhv_exec_stats {
    uint64_t blocks_translated;   /* translation blocks built from guest code */
    uint64_t runs_interpreted;    /* block executions in the interpreter */
    uint64_t runs_compiled;       /* block executions in compiled code (chained included) */
    uint64_t blocks_compiled;     /* blocks given compiled code */
    uint64_t blocks_refused;      /* blocks the compiler could not take */
    uint64_t compile_units;       /* modules compiled (each holds a batch of blocks) */
    uint64_t compile_ns;          /* time spent compiling (on the compile thread) */
    uint64_t code_bytes;          /* size of the object code produced */
    uint32_t jit_mode;            /* 0 off, 1 on (tiered), 2 eager */
    uint32_t reserved;
} anyhv_exec_stats_t;

/*!
 * @function anyhv_vcpu_get_exec_stats
 * @abstract Execution statistics of the software route for one vCPU (see
 *           anyhv_exec_stats_t). The compiled tier follows ANYHV_JIT (off, on, eager).
 * @param vcpu The vCPU handle (hv_vcpuid_t or hv_vcpu_t), from its owning thread.
 * @param stats Receives the statistics.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle, another thread or NULL;
 *         HV_UNSUPPORTED on KVM.
 */
ANYHV_API hv_return_t anyhv_vcpu_get_exec_stats(uint64_t vcpu, anyhv_exec_stats_t *stats);

/*!
 * @function anyhv_set_deterministic
 * @abstract Deterministic mode (software route): every guest clock (the x86 TSC, the
 *           arm64 generic timer's counters, hv_vcpu_get_exec_time) is virtual time,
 *           1 ns per retired instruction plus idle time, and the VM's vCPUs run one at a
 *           time in a fixed rotation of 4096-instruction turns, so a run is a function of
 *           its inputs: the same instruction counts, exits and memory every time, SMP
 *           included. Also chosen by ANYHV_DETERMINISTIC=1 (the call wins). Create every
 *           vCPU before the first runs, in a fixed order (the rotation follows vCPU ids);
 *           a vCPU handling an exit keeps its turn, so keep running each vCPU or destroy
 *           it (docs/determinism.md).
 * @discussion Without a VM the choice applies to the next hv_vm_create; with one, it can
 *           change until a vCPU first runs.
 * @result HV_SUCCESS; HV_BUSY after a vCPU has run (unless unchanged); HV_UNSUPPORTED
 *         when enabling on KVM.
 */
ANYHV_API hv_return_t anyhv_set_deterministic(bool enable);

/*! Whether the current VM (or, without one, the next) runs in deterministic mode. */
ANYHV_API bool anyhv_is_deterministic(void);

/*!
 * @function anyhv_vcpu_idle
 * @abstract A vCPU waiting for an interrupt (after a WFI or HLT exit) lets its time pass.
 * @discussion In deterministic mode guest time moves only with retired instructions, so
 *           a VMM cannot wait on the host for a guest timer. Call this in the wait loop
 *           instead of sleeping, after looking at the devices: it credits the vCPU
 *           idle time towards its next timer expiry (the arm64 virtual timer, the Intel
 *           in-framework APIC timer) - while another vCPU may run, it gives the turn
 *           away and catches up with the time the others reached - and returns with the
 *           turn back, so the next look at the devices sees the same state every run.
 *           When every vCPU of the VM idles so, they all jump to the earliest of their
 *           timers. When none has a timer nothing is credited (0): only the VMM's own
 *           input can wake one; sleep on the host before looking again. max_ns bounds
 *           the credit (a WFE, which also ends on events: 0 for no bound); a bounded
 *           wait is not idle (the others do not jump). Outside deterministic mode it
 *           returns at once with 0. From the vCPU's owning thread, between runs.
 * @param vcpu The vCPU handle (hv_vcpuid_t or hv_vcpu_t).
 * @param max_ns At most this much virtual time (0: up to the timer).
 * @param idle_ns Receives the virtual nanoseconds credited (may be NULL).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle or another thread.
 */
ANYHV_API hv_return_t anyhv_vcpu_idle(uint64_t vcpu, uint64_t max_ns, uint64_t *idle_ns);

/*!
 * @function anyhv_vcpu_wait_turn
 * @abstract Deterministic mode: returns once the vCPU holds its turn in the rotation
 *           (at once otherwise). A VMM looks at shared device state between runs
 *           of a vCPU that gave its turn away (a WFI/HLT exit) only after this, so the
 *           other vCPUs are not running while it looks.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle or another thread.
 */
ANYHV_API hv_return_t anyhv_vcpu_wait_turn(uint64_t vcpu);

/*!
 * @function anyhv_vcpu_set_timer_deadline
 * @abstract Deterministic mode: the VMM's own device timer for this vCPU (a PIT, an
 *           HPET, a console poll), in the vCPU's virtual time (hv_vcpu_get_exec_time's
 *           clock, nanoseconds).
 * @discussion In deterministic mode guest time moves only with instructions, so a VMM
 *           cannot raise a device's interrupt from a host thread at a host-timed
 *           moment. With this deadline the next hv_vcpu_run stops at the instruction
 *           where the vCPU's virtual time reaches it (at once when it already has),
 *           with the budget exit: on the Intel API VMX_REASON_VMX_TIMER_EXPIRED, on the
 *           Apple-silicon API HV_EXIT_REASON_CANCELED. A vCPU halted inside the library
 *           (HLT with the in-framework APIC) idles up to it and returns there (it stays
 *           halted: the next run goes on waiting unless an interrupt came), and
 *           anyhv_vcpu_idle counts it among the vCPU's timers. One-shot: the exit at it
 *           clears it; 0 clears it too. Set it before each run from the vCPU's thread.
 * @param vcpu The vCPU handle (hv_vcpuid_t or hv_vcpu_t).
 * @param deadline_ns The virtual time to stop at; 0 for none.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a bad handle or another thread;
 *         HV_UNSUPPORTED outside deterministic mode (a VMM times its devices on the
 *         host there).
 */
ANYHV_API hv_return_t anyhv_vcpu_set_timer_deadline(uint64_t vcpu, uint64_t deadline_ns);

ANYHV_END_DECLS

#include <anyhv/debug.h>
#include <anyhv/record.h>
#include <anyhv/snapshot.h>

#endif /* ANYHV_ANYHV_H */
