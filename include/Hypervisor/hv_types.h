/* hv_types.h - Intel flavour: the scalar types and option constants of the Intel
 * Hypervisor API: capabilities, address spaces, VM and vCPU options, memory and MSR
 * permissions, vCPU ids and guest/host addresses. */
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

/* Options for hv_vm_create(). */
typedef uint64_t hv_vm_options_t;
enum {
    HV_VM_DEFAULT = 0,
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
};

/* Guest access to a managed MSR, for hv_vcpu_set_msr_access(). */
typedef uint32_t hv_msr_flags_t;
enum {
    HV_MSR_NONE = 0,
    HV_MSR_READ = 1 << 0,
    HV_MSR_WRITE = 1 << 1,
};

/* A vCPU id, as returned by hv_vcpu_create(). */
typedef unsigned hv_vcpuid_t;

/* An address in the calling process. */
typedef const void *hv_uvaddr_t;

/* A guest-physical address. */
typedef uint64_t hv_gpaddr_t;

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_TYPES_H */
