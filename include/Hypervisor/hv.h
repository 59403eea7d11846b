/* hv.h - Intel flavour: the VM, address-space, memory-mapping and vCPU calls of the
 * Intel Hypervisor API (one VM per process; a vCPU belongs to the thread that created
 * it), the TSC clock, and the in-framework interrupt controllers (local APIC, IOAPIC,
 * 8259 pair; their state structs are in hv_intr.h). VMCS access lives in hv_vmx.h. */
#ifndef ANYHV_HYPERVISOR_HV_H
#define ANYHV_HYPERVISOR_HV_H

#include <Hypervisor/hv_arch_x86.h>
#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_intr.h>
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_vm_allocate.h>

#if ANYHV_HV_X86

/* Deadline for hv_vcpu_run_until() that never expires (an enumerator, as in Apple's
 * header; skipped if the client defined a macro of that name). */
#ifndef HV_DEADLINE_FOREVER
ANYHV_EXTENSION enum {
    HV_DEADLINE_FOREVER = ~0ull
};
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

/*!
 * @function hv_vm_add_pio_notifier
 * @abstract Turns matching guest port writes into Mach messages instead of exits.
 * @result HV_UNSUPPORTED on anyhv: Linux has no Mach ports (see README).
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_vm_add_pio_notifier(uint16_t addr, size_t size, uint32_t value,
                                             mach_port_t mach_port, hv_ion_flags_t flags);

/*!
 * @function hv_vm_remove_pio_notifier
 * @abstract Removes a notifier added with the same arguments.
 * @result HV_UNSUPPORTED on anyhv.
 */
ANYHV_API hv_return_t hv_vm_remove_pio_notifier(uint16_t addr, size_t size, uint32_t value,
                                                mach_port_t mach_port, hv_ion_flags_t flags);

/*!
 * @function hv_vcpu_get_idle_time
 * @abstract Returns how long the vCPU has idled inside the framework (HLT handled by
 *           the in-framework APIC), in nanoseconds.
 * @discussion Owning thread only. Without HV_VM_ACCEL_APIC every HLT exits to the
 *         client, so the idle time stays 0.
 */
ANYHV_API hv_return_t hv_vcpu_get_idle_time(hv_vcpuid_t vcpu, uint64_t *time);

/*!
 * @function hv_tsc_clock
 * @abstract Reads the VM clock in TSC ticks: monotonic, at the TSC frequency the
 *           guest is told about, from an arbitrary origin.
 * @result The clock value; 0 when there is no VM.
 * @discussion Any thread, after hv_vm_create().
 */
ANYHV_API uint64_t hv_tsc_clock(void);

/*!
 * @function hv_vcpu_set_tsc_relative
 * @abstract Makes the vCPU's TSC read hv_tsc_clock() plus offset from now on.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_set_tsc_relative(hv_vcpuid_t vcpu, int64_t offset);

/*!
 * @function hv_vcpu_vmx_status
 * @abstract Reports why the last hv_vcpu_run() could not enter the guest, as the
 *           RFLAGS.ZF/CF bits a VMLAUNCH failure leaves.
 * @result HV_SUCCESS with the bits after a refused entry; HV_ERROR when no run was refused.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_vmx_status(hv_vcpuid_t vcpu, uint32_t *status);

/*!
 * @function hv_vm_lapic_set_intr
 * @abstract Raises an interrupt vector in a vCPU's local APIC.
 * @param trig HV_APIC_EDGE_TRIGGER, HV_APIC_EDGE_TRIGGER_AEOI or HV_APIC_LEVEL_TRIGGER.
 * @discussion Any thread. Needs a VM created with HV_VM_ACCEL_APIC.
 */
ANYHV_API hv_return_t hv_vm_lapic_set_intr(hv_vcpuid_t vcpu, uint8_t vector,
                                           hv_apic_intr_trigger_t trig);

/*!
 * @function hv_vm_lapic_msi
 * @abstract Delivers a message-signalled interrupt (x86 MSI address and data format).
 * @discussion Any thread; HV_VM_ACCEL_APIC.
 */
ANYHV_API hv_return_t hv_vm_lapic_msi(uint64_t addr, uint64_t data);

/*!
 * @function hv_vm_ioapic_assert_irq
 * @abstract Drives an IOAPIC input pin high.
 * @param intin Pin number, 0..HV_IOAPIC pins-1 (24 on anyhv).
 * @discussion Any thread; HV_VM_ACCEL_APIC.
 */
ANYHV_API hv_return_t hv_vm_ioapic_assert_irq(int intin);

/*! @function hv_vm_ioapic_deassert_irq @abstract Drives an IOAPIC input pin low. */
ANYHV_API hv_return_t hv_vm_ioapic_deassert_irq(int intin);

/*! @function hv_vm_ioapic_pulse_irq @abstract Drives an IOAPIC pin high, then low. */
ANYHV_API hv_return_t hv_vm_ioapic_pulse_irq(int intin);

/*!
 * @function hv_vm_ioapic_read
 * @abstract Reads a 32-bit IOAPIC register by guest-physical address (index or window).
 * @discussion Any thread; HV_VM_ACCEL_APIC.
 */
ANYHV_API hv_return_t hv_vm_ioapic_read(hv_gpaddr_t gpa, uint32_t *datap);

/*! @function hv_vm_ioapic_write @abstract Writes a 32-bit IOAPIC register by address. */
ANYHV_API hv_return_t hv_vm_ioapic_write(hv_gpaddr_t gpa, uint32_t data);

/*!
 * @function hv_vm_ioapic_get_state
 * @abstract Copies the IOAPIC's state out; state->version must be HV_IOAPIC_STATE_EXT_VER.
 */
ANYHV_API hv_return_t hv_vm_ioapic_get_state(hv_ioapic_state_ext_t *state);

/*!
 * @function hv_vm_ioapic_put_state
 * @abstract Checks and loads IOAPIC state saved by hv_vm_ioapic_get_state().
 * @discussion Only while no vCPU runs.
 */
ANYHV_API hv_return_t hv_vm_ioapic_put_state(const hv_ioapic_state_ext_t *state);

/*!
 * @function hv_vm_send_ioapic_intr
 * @abstract Delivers an interrupt described like an IOAPIC redirection entry.
 * @discussion Any thread; HV_VM_ACCEL_APIC.
 */
ANYHV_API hv_return_t hv_vm_send_ioapic_intr(uint64_t data);

/*! @function hv_vm_atpic_assert_irq @abstract Drives an 8259 input (IRQ 0..15) high. */
ANYHV_API hv_return_t hv_vm_atpic_assert_irq(int irq);

/*! @function hv_vm_atpic_deassert_irq @abstract Drives an 8259 input (IRQ 0..15) low. */
ANYHV_API hv_return_t hv_vm_atpic_deassert_irq(int irq);

/*!
 * @function hv_vm_atpic_port_read
 * @abstract Performs a guest IN from an 8259 port (0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1).
 */
ANYHV_API hv_return_t hv_vm_atpic_port_read(int port, uint8_t *valuep);

/*! @function hv_vm_atpic_port_write @abstract Performs a guest OUT to an 8259 port. */
ANYHV_API hv_return_t hv_vm_atpic_port_write(int port, uint8_t value);

/*!
 * @function hv_vm_atpic_get_state
 * @abstract Copies one 8259's state out; state->version must be HV_ATPIC_STATE_EXT_VER.
 * @param is_primary true for the primary (ports 0x20/0x21), false for the secondary.
 */
ANYHV_API hv_return_t hv_vm_atpic_get_state(hv_atpic_state_ext_t *state, bool is_primary);

/*! @function hv_vm_atpic_put_state @abstract Checks and loads one 8259's saved state. */
ANYHV_API hv_return_t hv_vm_atpic_put_state(const hv_atpic_state_ext_t *state, bool is_primary);

/*!
 * @function hv_vm_set_apic_bus_freq
 * @abstract Sets the frequency the APIC timers count at, 16 MHz to 2 GHz.
 * @discussion Only while the VM has no vCPU.
 */
ANYHV_API hv_return_t hv_vm_set_apic_bus_freq(uint64_t freq);

/*!
 * @function hv_vcpu_inject_extint
 * @abstract Delivers the 8259's pending interrupt (ExtINT) to the vCPU at the next
 *           point it can take one.
 * @discussion Owning thread only; one at a time.
 */
ANYHV_API hv_return_t hv_vcpu_inject_extint(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_apic_read
 * @abstract Reads a register of the vCPU's local APIC by its offset in the xAPIC page.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_apic_read(hv_vcpuid_t vcpu, uint32_t offset, uint32_t *data);

/*!
 * @function hv_vcpu_apic_write
 * @abstract Writes a local APIC register as the guest would.
 * @param no_side_effect Set to false when the write needs the client (an INIT or SIPI
 *        to deliver: see hv_vcpu_exit_info()).
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_apic_write(hv_vcpuid_t vcpu, uint32_t offset, uint32_t data,
                                         bool *no_side_effect);

/*!
 * @function hv_vcpu_apic_get_state
 * @abstract Copies the local APIC's state out; state->version must be HV_APIC_STATE_EXT_VER.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_apic_get_state(hv_vcpuid_t vcpu, hv_apic_state_ext_t *state);

/*! @function hv_vcpu_apic_put_state @abstract Checks and loads saved local APIC state. */
ANYHV_API hv_return_t hv_vcpu_apic_put_state(hv_vcpuid_t vcpu, const hv_apic_state_ext_t *state);

/*!
 * @function hv_vcpu_exit_info
 * @abstract Says what the last exit carries beyond the VMCS fields (HV_VM_EXITINFO_*).
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_exit_info(hv_vcpuid_t vcpu, hv_vm_exitinfo_t *code);

/*!
 * @function hv_vcpu_exit_init_ap
 * @abstract After HV_VM_EXITINFO_INIT_AP: which vCPUs the INIT targets.
 * @param is_actv Array indexed by vCPU id, set true for each target. @param count Its length.
 */
ANYHV_API hv_return_t hv_vcpu_exit_init_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count);

/*!
 * @function hv_vcpu_exit_startup_ap
 * @abstract After HV_VM_EXITINFO_STARTUP_AP: which vCPUs the startup IPI targets, and
 *           the real-mode address they start at (vector << 12).
 */
ANYHV_API hv_return_t hv_vcpu_exit_startup_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count,
                                              uint64_t *ap_rip);

/*! @function hv_vcpu_exit_ioapic_eoi @abstract After HV_VM_EXITINFO_IOAPIC_EOI: the vector. */
ANYHV_API hv_return_t hv_vcpu_exit_ioapic_eoi(hv_vcpuid_t vcpu, uint8_t *vec);

/*!
 * @function hv_vcpu_exit_apic_access_read
 * @abstract After HV_VM_EXITINFO_APIC_ACCESS_READ: the APIC register value the guest reads.
 */
ANYHV_API hv_return_t hv_vcpu_exit_apic_access_read(hv_vcpuid_t vcpu, uint32_t *value);

/*!
 * @function hv_vcpu_exit_inject_excp
 * @abstract After HV_VM_EXITINFO_INJECT_EXCP: the exception the APIC access raised,
 *           for the client to inject.
 */
ANYHV_API hv_return_t hv_vcpu_exit_inject_excp(hv_vcpuid_t vcpu, uint8_t *vec, bool *valid,
                                               uint32_t *code, bool *restart);

/*!
 * @function hv_vcpu_apic_lsc_enter_r32
 * @abstract Teaches the APIC load-store cache one MOV between a register and the APIC
 *           page, so later APIC-access exits of that instruction are handled in-framework.
 * @discussion Owning thread only. anyhv decodes every APIC access itself and needs no
 *         cache: the call checks its arguments and succeeds.
 */
ANYHV_API hv_return_t hv_vcpu_apic_lsc_enter_r32(hv_vcpuid_t vcpu, bool is_load, uint64_t rip,
                                                 unsigned ilen, uint16_t cs, hv_x86_reg_t reg,
                                                 uint64_t uva[], unsigned count);

/*! @function hv_vcpu_apic_lsc_enter_imm32 @abstract The same for a MOV of an immediate. */
ANYHV_API hv_return_t hv_vcpu_apic_lsc_enter_imm32(hv_vcpuid_t vcpu, uint64_t rip, unsigned ilen,
                                                   uint16_t cs, uint32_t imm32, uint64_t uva[],
                                                   unsigned count);

/*! @function hv_vcpu_apic_lsc_invalidate @abstract Empties the APIC load-store cache. */
ANYHV_API hv_return_t hv_vcpu_apic_lsc_invalidate(hv_vcpuid_t vcpu);

/*!
 * @function hv_vcpu_apic_ctrl
 * @abstract Sets the HV_APIC_CTRL_* behaviour switches of the vCPU's local APIC.
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_apic_ctrl(hv_vcpuid_t vcpu, hv_apic_ctrl_t ctrls);

/*!
 * @function hv_vcpu_apic_trigger_lvt
 * @abstract Fires a local vector table entry as if its source signalled
 *           (HV_APIC_LVT_FLAVOR_TIMER only).
 * @discussion Owning thread only.
 */
ANYHV_API hv_return_t hv_vcpu_apic_trigger_lvt(hv_vcpuid_t vcpu, hv_apic_lvt_flavor_t flavor);

ANYHV_END_DECLS

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_H */
