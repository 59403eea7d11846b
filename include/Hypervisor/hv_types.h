/* hv_types.h - Intel flavour: the scalar types and option constants of the Intel
 * Hypervisor API: capabilities, address spaces, VM and vCPU options, memory and MSR
 * permissions, port-I/O notifier flags and message, vCPU ids and guest/host addresses,
 * and the enumerations of the in-framework interrupt controllers (hv_intr.h). */
#ifndef ANYHV_HYPERVISOR_HV_TYPES_H
#define ANYHV_HYPERVISOR_HV_TYPES_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_X86

ANYHV_BEGIN_DECLS

/* Capability ids for hv_capability(). */
typedef uint64_t hv_capability_t;
enum {
    HV_CAP_VCPUMAX = 0,       /* maximum number of vCPUs */
    HV_CAP_ADDRSPACEMAX = 1,  /* maximum number of guest address spaces */
};

/* A guest address space; HV_VM_SPACE_DEFAULT always exists while the VM does. */
typedef unsigned hv_vm_space_t;
enum {
    HV_VM_SPACE_DEFAULT = 0,
};

/* Options for hv_vm_create(). The MITIGATION bits pick host side-channel mitigations
 * on macOS (with HV_VM_SPECIFY_MITIGATIONS); anyhv accepts and ignores them. With
 * HV_VM_ACCEL_APIC the framework emulates a local APIC per vCPU, an IOAPIC and a pair
 * of 8259s itself (hv_intr.h and the hv_vcpu_apic_* / hv_vm_ioapic_* / hv_vm_atpic_*
 * calls of hv.h). */
typedef uint64_t hv_vm_options_t;
enum {
    HV_VM_DEFAULT = 0,
    HV_VM_SPECIFY_MITIGATIONS = 1 << 0,
    HV_VM_MITIGATION_A_ENABLE = 1 << 1,
    HV_VM_MITIGATION_B_ENABLE = 1 << 2,
    HV_VM_MITIGATION_C_ENABLE = 1 << 3,
    HV_VM_MITIGATION_D_ENABLE = 1 << 4,
    HV_VM_MITIGATION_E_ENABLE = 1 << 6,
    HV_VM_ACCEL_APIC = 1 << 10,
};

/* Options for hv_vcpu_create(). */
typedef uint64_t hv_vcpu_options_t;
enum {
    HV_VCPU_DEFAULT = 0,
    HV_VCPU_ACCEL_RDPMC = 1 << 0,   /* let the guest run RDPMC natively */
    HV_VCPU_TSC_RELATIVE = 1 << 1,  /* the guest TSC is offset from the host's */
};

/* Guest-physical memory permissions for hv_vm_map() / hv_vm_protect(), combined with |. */
typedef uint64_t hv_memory_flags_t;
enum {
    HV_MEMORY_READ = 1 << 0,
    HV_MEMORY_WRITE = 1 << 1,
    HV_MEMORY_EXEC = 1 << 2,
    HV_MEMORY_UEXEC = 1 << 3,          /* user-mode execute (mode-based EPT execute control) */
    HV_MEMORY_MAXPROT = 1 << 4,        /* the MAXPROT_* bits below cap later hv_vm_protect() */
    HV_MEMORY_MAXPROT_READ = 1 << 5,
    HV_MEMORY_MAXPROT_WRITE = 1 << 6,
    HV_MEMORY_MAXPROT_EXEC = 1 << 7,
    HV_MEMORY_MAXPROT_UEXEC = 1 << 8,
};

/* Guest access to a managed MSR, for hv_vcpu_set_msr_access(). */
typedef uint32_t hv_msr_flags_t;
enum {
    HV_MSR_NONE = 0,
    HV_MSR_READ = 1 << 0,
    HV_MSR_WRITE = 1 << 1,
};

/* Mach types the port-I/O notifier calls use. Linux has no Mach; anyhv declares
 * layout-compatible stand-ins unless the client already has them and defines
 * ANYHV_HAVE_MACH_TYPES. */
#ifndef ANYHV_HAVE_MACH_TYPES
typedef unsigned int mach_port_t;
typedef struct {
    unsigned int msgh_bits;
    unsigned int msgh_size;
    mach_port_t msgh_remote_port;
    mach_port_t msgh_local_port;
    mach_port_t msgh_voucher_port;
    int msgh_id;
} mach_msg_header_t;
typedef struct {
    unsigned int msgh_trailer_type;
    unsigned int msgh_trailer_size;
} mach_msg_trailer_t;
#endif

/* Matching options of a port-I/O notifier (hv_vm_add_pio_notifier()); the kHV_ION_*
 * names are the kernel's spelling of the same bits. */
enum {
    kHV_ION_NONE = 0,
    kHV_ION_ANY_VALUE = 1u << 1,
    kHV_ION_ANY_SIZE = 1u << 2,
    kHV_ION_EXIT_FULL = 1u << 3,
};
typedef uint32_t hv_ion_flags_t;
enum {
    HV_ION_NONE = kHV_ION_NONE,
    HV_ION_ANY_VALUE = kHV_ION_ANY_VALUE,   /* match any written value */
    HV_ION_ANY_SIZE = kHV_ION_ANY_SIZE,     /* match any access size */
    HV_ION_EXIT_FULL = kHV_ION_EXIT_FULL,   /* exit to the client when the queue is full */
};

/* The message a port-I/O notifier sends: which port, how wide, what value. */
typedef struct {
    mach_msg_header_t header;
    uint64_t addr;
    uint64_t size;
    uint64_t value;
    mach_msg_trailer_t trailer;
} hv_ion_message_t;

/* A vCPU id, as returned by hv_vcpu_create(). */
typedef unsigned hv_vcpuid_t;

/* An address in the calling process. */
typedef const void *hv_uvaddr_t;

/* A guest-physical address. */
typedef uint64_t hv_gpaddr_t;

/* What hv_vcpu_exit_info() says an exit carries beyond the VMCS exit fields. */
typedef uint32_t hv_vm_exitinfo_t;
enum {
    HV_VM_EXITINFO_VMX = 1,               /* an ordinary VMX exit: read the VMCS */
    HV_VM_EXITINFO_INIT_AP = 2,           /* the guest sent INIT: hv_vcpu_exit_init_ap() */
    HV_VM_EXITINFO_STARTUP_AP = 3,        /* the guest sent SIPI: hv_vcpu_exit_startup_ap() */
    HV_VM_EXITINFO_IOAPIC_EOI = 4,        /* EOI of a level vector: hv_vcpu_exit_ioapic_eoi() */
    HV_VM_EXITINFO_INJECT_EXCP = 5,       /* fault the APIC raised: hv_vcpu_exit_inject_excp() */
    HV_VM_EXITINFO_SMI = 6,               /* the guest sent an SMI IPI */
    HV_VM_EXITINFO_APIC_ACCESS_READ = 7,  /* hv_vcpu_exit_apic_access_read() has the value */
};

/* Behaviour switches of the in-framework local APIC (hv_vcpu_apic_ctrl()). */
typedef uint64_t hv_apic_ctrl_t;
enum {
    HV_APIC_CTRL_DEFAULT = 0,
    HV_APIC_CTRL_EOI_ICR_TPR = 1 << 0,  /* EOI/ICR/TPR MSRs usable in xAPIC mode too */
    HV_APIC_CTRL_GUEST_IDLE = 1 << 1,   /* an MSR that idles the vCPU */
    HV_APIC_CTRL_NO_TIMER = 1 << 2,     /* the client runs the APIC timer itself */
    HV_APIC_CTRL_IOAPIC_EOI = 1 << 3,   /* EOIs meant for the IOAPIC exit to the client */
};

/* Local vector table entries hv_vcpu_apic_trigger_lvt() can fire. */
typedef uint32_t hv_apic_lvt_flavor_t;
enum {
    HV_APIC_LVT_FLAVOR_TIMER = 1,
};

/* Trigger mode of an interrupt sent with hv_vm_lapic_set_intr(). */
typedef uint32_t hv_apic_intr_trigger_t;
enum {
    HV_APIC_EDGE_TRIGGER = 0,
    HV_APIC_EDGE_TRIGGER_AEOI = 1,  /* edge, and the APIC ends it without a guest EOI */
    HV_APIC_LEVEL_TRIGGER = 2,
};

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_TYPES_H */
