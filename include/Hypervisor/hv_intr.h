/* hv_intr.h - Intel flavour: saved state of the in-framework interrupt controllers
 * (a local APIC per vCPU, the IOAPIC, the two 8259s), as hv_vcpu_apic_get_state(),
 * hv_vm_ioapic_get_state() and hv_vm_atpic_get_state() hand it out and the matching
 * put_state calls take it back. Layouts are Apple's; each *_ext_t carries a version
 * that the caller sets to the matching *_STATE_EXT_VER first. */
#ifndef ANYHV_HYPERVISOR_HV_INTR_H
#define ANYHV_HYPERVISOR_HV_INTR_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_X86

ANYHV_BEGIN_DECLS

/* Where a vCPU is in the INIT / startup-IPI sequence. Four bytes wide, as in Apple's
 * header (which fixes the underlying type to uint32_t). */
#ifdef __cplusplus
enum hv_boot_state : uint32_t {
#else
enum hv_boot_state {
#endif
    HV_BS_INIT = 0,     /* held in wait-for-SIPI after INIT */
    HV_BS_SIPI = 1,     /* a startup IPI arrived; the vCPU starts at its vector */
    HV_BS_RUNNING = 2,  /* running normally */
};

/* One local APIC. The arrays of 8 words are the 256-bit vector registers, word n
 * holding vectors 32n..32n+31; icr[0] is the low word. lvt[] holds, on anyhv, timer,
 * thermal, performance counter, LINT0, LINT1, error, CMCI (Apple does not document
 * the order; state saved by macOS is not meant to be loaded here). */
struct hv_apic_state {
    uint64_t apic_gpa;        /* guest-physical base of the xAPIC page (IA32_APIC_BASE) */
    uint64_t apic_controls;   /* hv_apic_ctrl_t set with hv_vcpu_apic_ctrl() */
    uint64_t tsc_deadline;    /* IA32_TSC_DEADLINE */
    uint32_t apic_id;
    uint32_t ver;
    uint32_t tpr;
    uint32_t apr;
    uint32_t ldr;
    uint32_t dfr;
    uint32_t svr;
    uint32_t isr[8];
    uint32_t tmr[8];
    uint32_t irr[8];
    uint32_t esr;             /* error status the guest can read */
    uint32_t lvt[7];
    uint32_t icr[2];
    uint32_t icr_timer;       /* timer initial count */
    uint32_t dcr_timer;       /* timer divide configuration */
    uint32_t ccr_timer;       /* timer current count */
    uint32_t esr_pending;     /* errors collected since the last ESR write */
    enum hv_boot_state boot_state;
    uint32_t aeoi[8];         /* vectors that end without a guest EOI */
};

#define HV_APIC_STATE_EXT_VER (100)

typedef struct {
    uint32_t version;         /* HV_APIC_STATE_EXT_VER */
    struct hv_apic_state state;
} hv_apic_state_ext_t;

/* One 8259 (ATPIC). */
struct hv_atpic_state {
    bool ready;               /* initialisation sequence finished */
    uint8_t icw_num;          /* next ICW expected (0 when none) */
    uint8_t rd_cmd_reg;       /* what a read of the command port returns: IRR or ISR */
    bool aeoi;                /* automatic end of interrupt */
    bool poll;                /* poll command pending */
    bool rotate;              /* rotate priorities on automatic EOI */
    bool sfn;                 /* special fully nested mode */
    uint8_t irq_base;         /* vector of IRQ 0 (ICW2) */
    uint8_t request;          /* interrupt request register */
    uint8_t service;          /* in-service register */
    uint8_t mask;             /* interrupt mask register */
    bool smm;                 /* special mask mode */
    uint8_t last_request;     /* input levels last seen, for edge detection */
    uint8_t lowprio;          /* the lowest-priority IRQ */
    bool intr_raised;         /* the INT output is asserted */
    uint8_t elc;              /* edge/level control (ELCR) */
};

#define HV_ATPIC_STATE_EXT_VER (100)

typedef struct {
    uint32_t version;         /* HV_ATPIC_STATE_EXT_VER */
    struct hv_atpic_state state;
} hv_atpic_state_ext_t;

/* The IOAPIC. */
struct hv_ioapic_state {
    uint64_t rtbl[32];        /* redirection table, one 64-bit entry per pin */
    uint32_t irr;             /* input levels of the pins */
    uint32_t ioa_id;          /* IOAPIC id register */
    uint32_t ioregsel;        /* register select (the index register's value) */
};

#define HV_IOAPIC_STATE_EXT_VER (100)

typedef struct {
    uint32_t version;         /* HV_IOAPIC_STATE_EXT_VER */
    struct hv_ioapic_state state;
} hv_ioapic_state_ext_t;

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_INTR_H */
