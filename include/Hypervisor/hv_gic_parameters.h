/* hv_gic_parameters.h - Apple-silicon flavour: the fixed geometry of the in-framework
 * GICv3 (frame sizes and alignments, the SPI range, the INTIDs the framework reserves).
 * Any thread; no VM is needed. */
#ifndef ANYHV_HYPERVISOR_HV_GIC_PARAMETERS_H
#define ANYHV_HYPERVISOR_HV_GIC_PARAMETERS_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_gic_types.h>
#include <arm64/hv/hv_kern_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*! @function hv_gic_get_distributor_size @abstract Bytes of the distributor frame (64 KiB). */
ANYHV_API hv_return_t hv_gic_get_distributor_size(size_t *distributor_size);

/*! @function hv_gic_get_distributor_base_alignment @abstract Alignment the distributor base needs. */
ANYHV_API hv_return_t hv_gic_get_distributor_base_alignment(size_t *distributor_base_alignment);

/*!
 * @function hv_gic_get_redistributor_region_size
 * @abstract Bytes of the whole redistributor region: one redistributor per vCPU the
 *           VM supports (hv_vm_get_max_vcpu_count()), contiguous.
 */
ANYHV_API hv_return_t hv_gic_get_redistributor_region_size(size_t *redistributor_region_size);

/*! @function hv_gic_get_redistributor_size @abstract Bytes of one redistributor (RD and SGI frames, 128 KiB). */
ANYHV_API hv_return_t hv_gic_get_redistributor_size(size_t *redistributor_size);

/*! @function hv_gic_get_redistributor_base_alignment @abstract Alignment the redistributor region base needs. */
ANYHV_API hv_return_t hv_gic_get_redistributor_base_alignment(size_t *redistributor_base_alignment);

/*! @function hv_gic_get_msi_region_size @abstract Bytes of the MSI frame. */
ANYHV_API hv_return_t hv_gic_get_msi_region_size(size_t *msi_region_size);

/*! @function hv_gic_get_msi_region_base_alignment @abstract Alignment the MSI frame base needs. */
ANYHV_API hv_return_t hv_gic_get_msi_region_base_alignment(size_t *msi_region_base_alignment);

/*! @function hv_gic_get_spi_interrupt_range @abstract The SPIs the distributor implements (first INTID, count). */
ANYHV_API hv_return_t hv_gic_get_spi_interrupt_range(uint32_t *spi_intid_base, uint32_t *spi_intid_count);

/*!
 * @function hv_gic_get_intid
 * @abstract The INTID the framework uses for one of its own interrupts (HV_GIC_INT_*:
 *           the timers' PPIs, the PMU, the maintenance interrupt).
 * @result HV_SUCCESS; HV_BAD_ARGUMENT for an unknown id or a NULL pointer.
 */
ANYHV_API hv_return_t hv_gic_get_intid(hv_gic_intid_t interrupt, uint32_t *intid);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_GIC_PARAMETERS_H */
