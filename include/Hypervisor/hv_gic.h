/* hv_gic.h - Apple-silicon flavour: the in-framework GICv3 (macOS 15): creating it,
 * raising SPIs and MSIs, reading and writing its registers, restoring its state and
 * resetting it. Configuration is in hv_gic_config.h, geometry in hv_gic_parameters.h,
 * state capture in hv_gic_state.h.
 *
 * On anyhv's software route the distributor, one redistributor per vCPU, the MSI
 * frame and the ICC CPU-interface registers are emulated inside the library: guest
 * accesses to them are handled inside hv_vcpu_run() and never exit, and interrupts
 * reach the vCPU by priority, group and enable state. Without a GIC, guest accesses
 * to the ICC registers exit to the VMM (EC 0x18), as on macOS. */
#ifndef ANYHV_HYPERVISOR_HV_GIC_H
#define ANYHV_HYPERVISOR_HV_GIC_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_gic_types.h>
#include <Hypervisor/hv_vcpu.h>
#include <Hypervisor/hv_vm_types.h>
#include <arm64/hv/hv_kern_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_gic_create
 * @abstract Creates the VM's one GICv3 at the addresses the configuration gives.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT without a VM or for a bad configuration (a frame
 *         not placed, frames overlapping); HV_EXISTS when the VM already has a GIC;
 *         HV_BUSY once a vCPU exists (create the GIC after hv_vm_create() and before any
 *         vCPU); HV_UNSUPPORTED on a route without a GIC model (KVM).
 * @discussion Routing is by affinity: each vCPU's redistributor follows its MPIDR_EL1.
 *             MSIs work only when the configuration set both the MSI frame and a range.
 *             With a GIC, the virtual timer raises its PPI (hv_gic_get_intid(
 *             HV_GIC_INT_EL1_VIRTUAL_TIMER)) instead of the VTIMER_ACTIVATED exit.
 */
ANYHV_API hv_return_t hv_gic_create(hv_gic_config_t gic_config);

/*!
 * @function hv_gic_set_spi
 * @abstract Drives the line of an SPI: level-sensitive SPIs follow `level`; for
 *           edge-triggered ones `true` is an edge and `false` does nothing.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT outside hv_gic_get_spi_interrupt_range() or
 *         inside the MSI range.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_gic_set_spi(uint32_t intid, bool level);

/*!
 * @function hv_gic_send_msi
 * @abstract Raises a message-signalled SPI as a device write to the MSI frame would.
 * @param address Guest-physical address of the frame's SETSPI_NSR register.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for another address or an INTID outside the MSI range.
 */
ANYHV_API hv_return_t hv_gic_send_msi(hv_ipa_t address, uint32_t intid);

/*!
 * @function hv_gic_get_distributor_reg
 * @abstract Reads a distributor register; the register id is its offset in the frame.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a misaligned or unknown offset; HV_NO_DEVICE
 *         when the VM has no GIC (the same for every register, SPI, MSI, reset and state
 *         call).
 */
ANYHV_API hv_return_t hv_gic_get_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t *value);

/*! @function hv_gic_set_distributor_reg @abstract Writes a distributor register (id = offset). */
ANYHV_API hv_return_t hv_gic_set_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t value);

/*!
 * @function hv_gic_get_redistributor_base
 * @abstract Guest-physical base of the redistributor that serves this vCPU.
 */
ANYHV_API hv_return_t hv_gic_get_redistributor_base(hv_vcpu_t vcpu, hv_ipa_t *redistributor_base_address);

/*!
 * @function hv_gic_get_redistributor_reg
 * @abstract Reads a register of a vCPU's redistributor (id = offset from its RD frame;
 *           the SGI frame follows at 64 KiB).
 * @discussion Called by the thread that owns the vCPU.
 */
ANYHV_API hv_return_t hv_gic_get_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg,
                                                  uint64_t *value);

/*! @function hv_gic_set_redistributor_reg @abstract Writes a redistributor register (owning thread). */
ANYHV_API hv_return_t hv_gic_set_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg,
                                                  uint64_t value);

/*!
 * @function hv_gic_get_icc_reg
 * @abstract Reads a vCPU's ICC CPU-interface register (owning thread). Reading
 *           ICC_IAR*_EL1 through the API does not acknowledge anything.
 */
ANYHV_API hv_return_t hv_gic_get_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t *value);

/*! @function hv_gic_set_icc_reg @abstract Writes a vCPU's ICC register (owning thread). */
ANYHV_API hv_return_t hv_gic_set_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t value);

/*!
 * @function hv_gic_get_ich_reg
 * @abstract Reads a hypervisor-control (ICH) register; they exist only with EL2 enabled.
 * @result HV_UNSUPPORTED here: anyhv does not implement EL2.
 */
ANYHV_API hv_return_t hv_gic_get_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t *value);

/*! @function hv_gic_set_ich_reg @abstract Writes an ICH register (EL2 only: HV_UNSUPPORTED here). */
ANYHV_API hv_return_t hv_gic_set_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t value);

/*! @function hv_gic_get_icv_reg @abstract Reads an ICV register (EL2 only: HV_UNSUPPORTED here). */
ANYHV_API hv_return_t hv_gic_get_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t *value);

/*! @function hv_gic_set_icv_reg @abstract Writes an ICV register (EL2 only: HV_UNSUPPORTED here). */
ANYHV_API hv_return_t hv_gic_set_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t value);

/*! @function hv_gic_get_msi_reg @abstract Reads an MSI frame register (id = offset). */
ANYHV_API hv_return_t hv_gic_get_msi_reg(hv_gic_msi_reg_t reg, uint64_t *value);

/*! @function hv_gic_set_msi_reg @abstract Writes an MSI frame register (id = offset). */
ANYHV_API hv_return_t hv_gic_set_msi_reg(hv_gic_msi_reg_t reg, uint64_t value);

/*!
 * @function hv_gic_set_state
 * @abstract Restores device state captured by hv_gic_state_get_data().
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for a blob of another format, version or size,
 *         or one made for a different number of vCPUs.
 * @discussion After the GIC and the vCPUs exist and before they run; the ICC registers
 *             are restored separately with hv_gic_set_icc_reg().
 */
ANYHV_API hv_return_t hv_gic_set_state(const void *gic_state_data, size_t gic_state_size);

/*!
 * @function hv_gic_reset
 * @abstract Puts the distributor, the redistributors and the MSI frame back in their
 *           reset state (a VM reset).
 */
ANYHV_API hv_return_t hv_gic_reset(void);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_GIC_H */
