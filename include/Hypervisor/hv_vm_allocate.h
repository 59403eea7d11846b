/* hv_vm_allocate.h - both flavours: allocating anonymous host memory meant to be
 * mapped into a guest with hv_vm_map(), and freeing it again. */
#ifndef ANYHV_HYPERVISOR_HV_VM_ALLOCATE_H
#define ANYHV_HYPERVISOR_HV_VM_ALLOCATE_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_ARM64
#include <Hypervisor/hv_vm_types.h>
#include <arm64/hv/hv_kern_types.h>
#else
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#endif

ANYHV_BEGIN_DECLS

/* Flags for hv_vm_allocate(). */
typedef uint64_t hv_allocate_flags_t;
enum {
    HV_ALLOCATE_DEFAULT = 0,
};

/*!
 * @function hv_vm_allocate
 * @abstract Allocates zeroed, page-aligned, readable and writable anonymous memory
 *           suitable for hv_vm_map().
 * @param uvap Receives the address.
 * @param size Bytes to allocate, a multiple of the host page size.
 * @param flags HV_ALLOCATE_DEFAULT.
 * @result HV_SUCCESS, HV_BAD_ARGUMENT, or HV_NO_RESOURCES.
 * @discussion Any thread. Free the memory with hv_vm_deallocate().
 */
ANYHV_API hv_return_t hv_vm_allocate(void **uvap, size_t size, hv_allocate_flags_t flags);

/*!
 * @function hv_vm_deallocate
 * @abstract Frees memory returned by hv_vm_allocate().
 * @param uva The address hv_vm_allocate() returned. @param size The size allocated.
 * @discussion Any thread; unmap the memory from the guest first.
 */
ANYHV_API hv_return_t hv_vm_deallocate(void *uva, size_t size);

ANYHV_END_DECLS

#endif /* ANYHV_HYPERVISOR_HV_VM_ALLOCATE_H */
