/* The backend-neutral exit record: what stopped a vCPU, with decoded details.
 * Backends (KVM, soft) fill it; each personality renders it once, in its own
 * terms (VMCS exit fields for the Intel API, hv_vcpu_exit_t/ESR for arm64). */
#ifndef ANYHV_CORE_EXIT_H
#define ANYHV_CORE_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_KIND_LIST(X)                                                       \
    X(NONE,        "none")         /* no exit yet */                            \
    X(MMIO,        "mmio")         /* guest-physical access outside/against stage 2 */ \
    X(PIO,         "pio")          /* x86 IN/OUT/INS/OUTS */                    \
    X(HLT,         "hlt")          /* x86 HLT, arm64 WFI/WFE */                 \
    X(HYPERCALL,   "hypercall")    /* arm64 HVC, x86 VMCALL */                  \
    X(SMC,         "smc")          /* arm64 SMC */                              \
    X(MSR_READ,    "rdmsr")        /* x86 RDMSR of a non-native MSR */          \
    X(MSR_WRITE,   "wrmsr")        /* x86 WRMSR of a non-native MSR */          \
    X(CPUID,       "cpuid")        /* x86 CPUID */                              \
    X(SYSREG,      "sysreg")       /* arm64 trapped MRS/MSR */                  \
    X(CR_ACCESS,   "cr-access")    /* x86 MOV CR exiting */                     \
    X(DR_ACCESS,   "dr-access")    /* x86 MOV DR exiting */                     \
    X(RDTSC,       "rdtsc")        /* x86 RDTSC(P) exiting */                   \
    X(RDPMC,       "rdpmc")        /* x86 RDPMC exiting */                      \
    X(INVLPG,      "invlpg")       /* x86 INVLPG exiting */                     \
    X(EXCEPTION,   "exception")    /* guest exception the client asked to see */\
    X(SHUTDOWN,    "shutdown")     /* x86 triple fault */                       \
    X(IRQ_WINDOW,  "irq-window")   /* x86 interrupt window open */              \
    X(NMI_WINDOW,  "nmi-window")   /* x86 NMI window open */                    \
    X(EXT_IRQ,     "ext-irq")      /* x86: the run was interrupted from outside */ \
    X(CANCELED,    "canceled")     /* hv_vcpus_exit / hv_vcpu_interrupt */      \
    X(VTIMER,      "vtimer")       /* arm64 virtual timer fired */              \
    X(DEADLINE,    "deadline")     /* hv_vcpu_run_until deadline passed */      \
    X(BUDGET,      "budget")       /* instruction budget reached */             \
    X(DEBUG,       "debug")        /* breakpoint / single step stop */          \
    X(TASK_SWITCH, "task-switch")  /* x86 task switch attempted (VMX: always exits) */ \
    X(XSETBV,      "xsetbv")       /* x86 XSETBV (VMX: always exits) */         \
    X(RDRAND,      "rdrand")       /* x86 RDRAND exiting: u.reg.gpr, u.reg.value = size */ \
    X(RDSEED,      "rdseed")       /* x86 RDSEED exiting: the same */ \
    X(INTERNAL,    "internal")     /* backend could not continue (detail in .internal) */

enum exit_kind {
#define X(name, text) EXIT_##name,
    EXIT_KIND_LIST(X)
#undef X
    EXIT_KIND_COUNT
};

const char *exit_kind_name(enum exit_kind kind);

/* exit.u.internal.code of an EXIT_INTERNAL that means "VM entry refused this guest
 * state": the personality returns ANYHV_ERR_ILLEGAL_GUEST_STATE (HV_ERROR to Intel clients), as the KVM route does. */
#define EXIT_INTERNAL_BAD_GUEST_STATE 0x8601u

/* Permission bits used in mem.perms (the page's stage-2 permissions). */
enum exit_mem_perm { EXIT_PERM_R = 1u << 0, EXIT_PERM_W = 1u << 1, EXIT_PERM_X = 1u << 2 };

struct exit_mem {
    uint64_t gpa;          /* guest-physical address of the access */
    uint64_t gva;          /* guest-virtual address, when gva_valid */
    uint64_t data;         /* value stored (write) */
    uint8_t size;          /* bytes: 1, 2, 4, 8 (16 for arm64 Q loads, syndrome invalid) */
    uint8_t reg;           /* transfer register (x86: ModRM reg; arm64: Rt) */
    uint8_t perms;         /* exit_mem_perm of the page, 0 when unmapped */
    bool write;
    bool fetch;            /* instruction fetch */
    bool gva_valid;
    bool syndrome_valid;   /* arm64 ISV: single-register access the VMM can emulate */
    bool sign_extend;      /* arm64 SSE */
    bool reg64;            /* arm64 SF: Rt is 64-bit */
    bool acq_rel;          /* arm64 AR */
    bool s1ptw;            /* arm64: fault on a stage-1 table walk */
    bool page_walk;        /* x86: fault during a guest page-table walk */
};

struct exit_pio {
    uint16_t port;
    uint8_t size;          /* 1, 2, 4 */
    bool in;
    bool string;           /* INS/OUTS */
    bool rep;
    bool imm;              /* port given as an immediate operand */
    uint64_t data;         /* value written by OUT */
};

struct exit_exception {
    uint8_t vector;        /* x86 vector; arm64: unused */
    uint8_t type;          /* x86 interruption type (IRQ_INFO_* >> 8) */
    bool error_valid;
    uint32_t error;
    uint64_t fault_addr;   /* x86 CR2 for #PF; arm64 FAR */
    uint64_t syndrome;     /* arm64 ESR (EC/IL/ISS) as EL2 would report it */
    uint32_t idt_vectoring_info;  /* x86: event being delivered when this arose */
    uint32_t idt_vectoring_error;
};

/* x86 task switch (VMX exit reason 9): the client performs the switch. */
enum exit_task_source { EXIT_TASK_CALL = 0, EXIT_TASK_IRET = 1, EXIT_TASK_JMP = 2, EXIT_TASK_IDT = 3 };
struct exit_task {
    uint16_t selector;     /* the new task's TSS selector */
    uint8_t source;        /* enum exit_task_source */
    uint32_t idt_vectoring_info;  /* source IDT: the event that went through the task gate */
    uint32_t idt_vectoring_error;
};

struct exit_reg_access {
    uint32_t index;        /* MSR index, CR/DR number, or arm64 sysreg encoding */
    uint8_t gpr;           /* register operand */
    bool write;            /* to the MSR/CR/DR/sysreg */
    uint64_t value;        /* value written */
    uint64_t qualification;/* x86 exit qualification as VMX defines it, when the
                            * backend computed it (CR/DR access) */
};

struct anyhv_exit {
    enum exit_kind kind;
    uint64_t pc;           /* guest PC/RIP of the instruction involved */
    uint8_t insn_len;      /* its length in bytes, 0 when not applicable */
    uint64_t icount;       /* instructions retired so far (soft route) */
    union {
        struct exit_mem mem;
        struct exit_pio pio;
        struct exit_exception exc;
        struct exit_reg_access reg;
        struct exit_task task;
        uint32_t imm;               /* HYPERCALL/SMC immediate */
        struct { uint32_t code; uint64_t detail; } internal;
    } u;
};

#endif /* ANYHV_CORE_EXIT_H */
