/* hv_gic_state.h - Apple-silicon flavour: saving the in-framework GIC's device state
 * (distributor, redistributors, MSI frame; not the per-vCPU ICC registers, which a
 * VMM saves with hv_gic_get_icc_reg()). hv_gic_set_state() (hv_gic.h) restores it. */
#ifndef ANYHV_HYPERVISOR_HV_GIC_STATE_H
#define ANYHV_HYPERVISOR_HV_GIC_STATE_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_gic_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_gic_state_create
 * @abstract Captures the GIC's current device state in a new object.
 * @result An os_object holding one reference (release with os_release()); NULL when
 *         the VM has no GIC.
 * @discussion Call it while no vCPU runs.
 */
ANYHV_API hv_gic_state_t hv_gic_state_create(void);

/*! @function hv_gic_state_get_size @abstract Bytes hv_gic_state_get_data() writes. */
ANYHV_API hv_return_t hv_gic_state_get_size(hv_gic_state_t state, size_t *gic_state_size);

/*!
 * @function hv_gic_state_get_data
 * @abstract Copies the captured state, a versioned opaque blob, into a buffer of at
 *           least hv_gic_state_get_size() bytes.
 */
ANYHV_API hv_return_t hv_gic_state_get_data(hv_gic_state_t state, void *gic_state_data);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_GIC_STATE_H */
