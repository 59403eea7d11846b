/* hv_sme_config.h - Apple-silicon flavour: the SME parameter a VMM asks before it
 * exposes SME to a guest (macOS 15.2). anyhv's CPUs implement no SME
 * (ID_AA64PFR1_EL1.SME = 0, ID_AA64SMFR0_EL1 = 0), so the call says HV_UNSUPPORTED. */
#ifndef ANYHV_HYPERVISOR_HV_SME_CONFIG_H
#define ANYHV_HYPERVISOR_HV_SME_CONFIG_H

#include <Hypervisor/hv_base.h>
#include <arm64/hv/hv_kern_types.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_sme_config_get_max_svl_bytes
 * @abstract The largest streaming vector length (bytes) a guest may select in SMCR_EL1.
 * @param value Receives the length on success.
 * @result HV_UNSUPPORTED: no anyhv CPU implements SME.
 * @discussion Any thread.
 */
ANYHV_API hv_return_t hv_sme_config_get_max_svl_bytes(size_t *value);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_SME_CONFIG_H */
