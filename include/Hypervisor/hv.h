/* hv.h - Intel flavour: the VM, address-space, memory-mapping and vCPU calls of the
 * Intel Hypervisor API (one VM per process; a vCPU belongs to the thread that created
 * it). VMCS access lives in hv_vmx.h. */
#ifndef ANYHV_HYPERVISOR_HV_H
#define ANYHV_HYPERVISOR_HV_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_arch_x86.h>

#if ANYHV_HV_X86

/* Deadline for hv_vcpu_run_until() that never expires. */
#ifndef HV_DEADLINE_FOREVER
#define HV_DEADLINE_FOREVER (~0ull)
#endif

ANYHV_BEGIN_DECLS

/*!
 * @function hv_capability
 * @abstract Reads one capability of the hypervisor (HV_CAP_*).
 * @param capability The capability id.
 * @param value Receives the value on success.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an unknown id or a NULL pointer.
 * @discussion Any thread; no VM is needed.
 */
ANYHV_API hv_return_t hv_capability(hv_capability_t capability, uint64_t *value);

/*!
 * @function hv_vm_create
 * @abstract Creates the VM of the calling process.
 * @param flags HV_VM_DEFAULT.
 * @result HV_SUCCESS; HV_BUSY if the process already has a VM; HV_UNSUPPORTED if no
 *         backend can run an x86-64 guest here.
 * @discussion Any thread. There is one VM per process; every other call refers to it.
 */
ANYHV_API hv_return_t hv_vm_create(hv_vm_options_t flags);

/*!
 * @function hv_vm_destroy
 * @abstract Destroys the VM of the calling process and all its mappings.
 * @result HV_SUCCESS; HV_BUSY while vCPUs still exist; HV_NO_DEVICE without a VM.
 * @discussion Any thread, after every vCPU has been destroyed.
 */
ANYHV_API hv_return_t hv_vm_destroy(void);

/*!
 * @function hv_vm_space_create
 * @abstract Creates an additional guest-physical address space.
 * @param asid Receives the id of the new space.
 * @result HV_SUCCESS, HV_NO_RESOURCES past HV_CAP_ADDRSPACEMAX, or HV_NO_DEVICE.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_space_create(hv_vm_space_t *asid);

/*!
 * @function hv_vm_space_destroy
 * @abstract Destroys an address space created by hv_vm_space_create().
 * @param asid The space; HV_VM_SPACE_DEFAULT cannot be destroyed.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread; no vCPU may still use the space.
 */
ANYHV_API hv_return_t hv_vm_space_destroy(hv_vm_space_t asid);

/*!
 * @function hv_vm_map
 * @abstract Maps memory of the calling process into the default guest address space.
 * @param uva Host address, aligned to the host page size.
 * @param gpa Guest-physical address, page aligned.
 * @param size Length in bytes, a multiple of the page size.
 * @param flags HV_MEMORY_READ / WRITE / EXEC.
 * @result HV_SUCCESS, HV_BAD_ARGUMENT for misaligned or overlapping ranges.
 * @discussion Any thread. The host memory must stay mapped while the guest uses it.
 */
ANYHV_API hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size,
                                hv_memory_flags_t flags);

/*!
 * @function hv_vm_unmap
 * @abstract Removes a guest-physical range from the default address space.
 * @param gpa Page-aligned start. @param size Length, a multiple of the page size.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread. Later guest accesses to the range exit as EPT violations.
 */
ANYHV_API hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size);

/*!
 * @function hv_vm_protect
 * @abstract Changes the permissions of a mapped range of the default address space.
 * @param gpa Page-aligned start. @param size Length. @param flags New HV_MEMORY_* set.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread; takes effect for every vCPU before the call returns.
 */
ANYHV_API hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags);

/*!
 * @function hv_vm_map_space
 * @abstract hv_vm_map() for the address space asid.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_map_space(hv_vm_space_t asid, hv_uvaddr_t uva, hv_gpaddr_t gpa,
                                      size_t size, hv_memory_flags_t flags);

/*!
 * @function hv_vm_unmap_space
 * @abstract hv_vm_unmap() for the address space asid.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_unmap_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size);

/*!
 * @function hv_vm_protect_space
 * @abstract hv_vm_protect() for the address space asid.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_protect_space(hv_vm_space_t asid, hv_gpaddr_t gpa, size_t size,
                                          hv_memory_flags_t flags);

/*!
 * @function hv_vm_sync_tsc
 * @abstract Sets the guest time-stamp counter of every vCPU to the same value.
 * @param tsc The new TSC value.
 * @result HV_SUCCESS or HV_NO_DEVICE.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_sync_tsc(uint64_t tsc);

/*!
 * @function hv_vcpu_create
 * @abstract Creates a vCPU owned by the calling thread.
 * @param vcpu Receives the vCPU id.
 * @param flags HV_VCPU_DEFAULT, or HV_VCPU_ACCEL_RDPMC / HV_VCPU_TSC_RELATIVE.
 * @result HV_SUCCESS; HV_BUSY if this thread already owns a vCPU; HV_NO_DEVICE
 *         without a VM; HV_NO_RESOURCES past HV_CAP_VCPUMAX.
 * @discussion The new vCPU has runnable VMCS control defaults. Every later call on it
 *         except hv_vcpu_interrupt() must come from this thread.
 */
ANYHV_API hv_return_t hv_vcpu_create(hv_vcpuid_t *vcpu, hv_vcpu_options_t flags);

/*!
 * @function hv_vcpu_destroy
 * @abstract Destroys a vCPU; its id becomes invalid.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT if it is not the caller's vCPU.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_set_space
 * @abstract Makes the vCPU translate guest-physical addresses through space asid.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_set_space(hv_vcpuid_t vcpu, hv_vm_space_t asid);

/*!
 * @function hv_vcpu_read_register
 * @abstract Reads an architectural register (hv_x86_reg_t) of a vCPU.
 * @param value Receives the value.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t *value);

/*!
 * @function hv_vcpu_write_register
 * @abstract Writes an architectural register (hv_x86_reg_t) of a vCPU.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value);

/*!
 * @function hv_vcpu_read_fpstate
 * @abstract Copies the x87/SSE/AVX state of a vCPU out, in XSAVE layout.
 * @param buffer Destination. @param size Its size in bytes; too small is HV_BAD_ARGUMENT.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);

/*!
 * @function hv_vcpu_write_fpstate
 * @abstract Loads the x87/SSE/AVX state of a vCPU from an XSAVE-layout buffer.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);

/*!
 * @function hv_vcpu_enable_native_msr
 * @abstract Lets the guest access an MSR without exits (or stops it).
 * @param msr The MSR number. @param enable true to pass accesses through.
 * @result HV_SUCCESS, or HV_BAD_ARGUMENT for an MSR that cannot be native.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable);

/*!
 * @function hv_vcpu_enable_managed_msr
 * @abstract Makes the hypervisor keep an MSR's value for the guest (or stops it).
 * @discussion Owning thread only. Guest access is then set with hv_vcpu_set_msr_access().
 */
ANYHV_API hv_return_t hv_vcpu_enable_managed_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable);

/*!
 * @function hv_vcpu_set_msr_access
 * @abstract Sets which guest accesses to a managed MSR run without an exit.
 * @param flags HV_MSR_NONE, HV_MSR_READ and/or HV_MSR_WRITE.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_set_msr_access(hv_vcpuid_t vcpu, uint32_t msr, hv_msr_flags_t flags);

/*!
 * @function hv_vcpu_read_msr
 * @abstract Reads the guest value of an MSR.
 * @param value Receives the value.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t *value);

/*!
 * @function hv_vcpu_write_msr
 * @abstract Writes the guest value of an MSR.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t value);

/*!
 * @function hv_vcpu_flush
 * @abstract Writes any cached vCPU state back, so the next run starts from it.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_flush(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_invalidate_tlb
 * @abstract Drops every cached guest translation of the vCPU.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_invalidate_tlb(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_run
 * @abstract Runs the guest until the next VM exit.
 * @result HV_SUCCESS after an exit (read VMCS_RO_EXIT_REASON), or an error if the
 *         guest state cannot be entered.
 * @discussion Owning thread only. Same as hv_vcpu_run_until(vcpu, HV_DEADLINE_FOREVER).
 */
ANYHV_API hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_run_until
 * @abstract Runs the guest until the next VM exit or until a deadline.
 * @param deadline Absolute time: mach_absolute_time units on macOS; on anyhv,
 *        CLOCK_MONOTONIC nanoseconds. HV_DEADLINE_FOREVER for none.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_run_until(hv_vcpuid_t vcpu, uint64_t deadline);

/*!
 * @function hv_vcpu_interrupt
 * @abstract Forces the listed vCPUs out of the guest as soon as possible.
 * @param vcpus Array of vCPU ids. @param vcpu_count Its length.
 * @result HV_SUCCESS or HV_BAD_ARGUMENT.
 * @discussion Any thread: this is the one vCPU call that may come from another thread.
 *         A running vCPU returns from hv_vcpu_run() with an external-interrupt exit.
 */
ANYHV_API hv_return_t hv_vcpu_interrupt(hv_vcpuid_t *vcpus, unsigned int vcpu_count);

/*!
 * @function hv_vcpu_get_exec_time
 * @abstract Returns the total time the vCPU has spent running the guest, in nanoseconds.
 * @param time Receives the time.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_get_exec_time(hv_vcpuid_t vcpu, uint64_t *time);

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_H */
