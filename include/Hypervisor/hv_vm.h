/* hv_vm.h - Apple-silicon flavour: creating and destroying the VM of the process and
 * mapping host memory into its intermediate physical address space. */
#ifndef ANYHV_HYPERVISOR_HV_VM_H
#define ANYHV_HYPERVISOR_HV_VM_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vm_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_vm_get_max_vcpu_count
 * @abstract Returns how many vCPUs a VM may have.
 * @param max_vcpu_count Receives the count.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread; no VM is needed.
 */
ANYHV_API hv_return_t hv_vm_get_max_vcpu_count(uint32_t *max_vcpu_count);

/*!
 * @function hv_vm_create
 * @abstract Creates the VM of the calling process.
 * @param config A configuration from hv_vm_config_create(), or NULL for the defaults.
 *        The VM copies what it needs; the caller still releases the object.
 * @result HV_SUCCESS; HV_BUSY if the process already has a VM; HV_BAD_ARGUMENT for a
 *         configuration that cannot be honoured; HV_UNSUPPORTED if no backend can run
 *         an arm64 guest here.
 * @discussion Any thread. There is one VM per process.
 */
ANYHV_API hv_return_t hv_vm_create(hv_vm_config_t config);

/*!
 * @function hv_vm_destroy
 * @abstract Destroys the VM of the calling process, with its mappings and GIC.
 * @result HV_SUCCESS; HV_BUSY while vCPUs still exist.
 * @discussion Any thread, after every vCPU has been destroyed.
 */
ANYHV_API hv_return_t hv_vm_destroy(void);

/*!
 * @function hv_vm_map
 * @abstract Maps host memory into the guest's intermediate physical address space.
 * @param addr Host address, aligned to the host page size (16 KiB on macOS; on anyhv
 *        the Linux host page size, usually 4 KiB).
 * @param ipa Guest-physical address, equally aligned.
 * @param size Length in bytes, a multiple of the page size.
 * @param flags HV_MEMORY_READ / WRITE / EXEC.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for misaligned or overlapping ranges.
 * @discussion Any thread. Guest accesses outside every mapping exit as data or
 *         instruction aborts.
 */
ANYHV_API hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);

/*!
 * @function hv_vm_unmap
 * @abstract Removes a range from the guest's intermediate physical address space.
 * @param ipa Page-aligned start. @param size Length, a multiple of the page size.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size);

/*!
 * @function hv_vm_protect
 * @abstract Changes the permissions of a mapped range.
 * @param ipa Page-aligned start. @param size Length. @param flags New HV_MEMORY_* set.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread; every vCPU sees the change before the call returns.
 */
ANYHV_API hv_return_t hv_vm_protect(hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VM_H */
