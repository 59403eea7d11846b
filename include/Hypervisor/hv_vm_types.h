/* hv_vm_types.h - Apple-silicon flavour: types of the VM-level API: the VM
 * configuration object, intermediate physical addresses (guest-physical addresses)
 * and the memory permissions of hv_vm_map() / hv_vm_protect(). */
#ifndef ANYHV_HYPERVISOR_HV_VM_TYPES_H
#define ANYHV_HYPERVISOR_HV_VM_TYPES_H

#include <Hypervisor/hv_base.h>
#include <arm64/hv/hv_kern_types.h>

#if ANYHV_HV_ARM64

#include <os/object.h>

ANYHV_BEGIN_DECLS

/* Configuration for hv_vm_create(): an os_object, release with os_release().
 * NULL stands for the default configuration. */
typedef struct hv_vm_config_s *hv_vm_config_t;

/* An intermediate physical address: a guest-physical address of the VM. */
typedef uint64_t hv_ipa_t;

/* Guest-physical memory permissions: HV_MEMORY_READ / WRITE / EXEC (hv_kern_types.h). */
typedef uint64_t hv_memory_flags_t;

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VM_TYPES_H */
