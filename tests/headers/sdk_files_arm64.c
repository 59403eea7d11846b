/* Apple-silicon header files and names that the fact sheet's lists predate, checked
 * against Apple's SDK: each GIC/SME header compiles on its own and declares its calls,
 * <arm64/hv/hv_kern_types.h> is reachable at Apple's include path and names 0xfae94008
 * HV_EXISTS, and the two feature registers of macOS 15.2 have their numbers. */
#define ANYHV_GUEST_ARM64 1
#include <arm64/hv/hv_kern_types.h>
#include <Hypervisor/hv_gic_config.h>
#include <Hypervisor/hv_gic_parameters.h>
#include <Hypervisor/hv_gic_state.h>
#include <Hypervisor/hv_sme_config.h>
#include <Hypervisor/hv_gic.h>
#include <Hypervisor/hv_vcpu_config.h>

_Static_assert(HV_EXISTS == (hv_return_t)0xfae94008, "HV_EXISTS");
_Static_assert(HV_FEATURE_REG_ID_AA64SMFR0_EL1 == 12, "SMFR0");
_Static_assert(HV_FEATURE_REG_ID_AA64ZFR0_EL1 == 13, "ZFR0");

hv_gic_config_t (*volatile check_config_create)(void) = hv_gic_config_create;
hv_return_t (*volatile check_msi_range)(hv_gic_config_t, uint32_t, uint32_t) = hv_gic_config_set_msi_interrupt_range;
hv_return_t (*volatile check_intid)(hv_gic_intid_t, uint32_t *) = hv_gic_get_intid;
hv_gic_state_t (*volatile check_state_create)(void) = hv_gic_state_create;
hv_return_t (*volatile check_state_data)(hv_gic_state_t, void *) = hv_gic_state_get_data;
hv_return_t (*volatile check_svl)(size_t *) = hv_sme_config_get_max_svl_bytes;

int main(void)
{
    size_t svl = 0;
    uint64_t smfr0 = 1, zfr0 = 1;
    hv_vcpu_config_t config = hv_vcpu_config_create();
    if (!config || hv_vcpu_config_get_feature_reg(config, HV_FEATURE_REG_ID_AA64SMFR0_EL1, &smfr0) != HV_SUCCESS ||
        hv_vcpu_config_get_feature_reg(config, HV_FEATURE_REG_ID_AA64ZFR0_EL1, &zfr0) != HV_SUCCESS)
        return 1;
    os_release(config);
    /* No SME or SVE is implemented: both read 0 and the SVL query says so. */
    if (smfr0 != 0 || zfr0 != 0 || hv_sme_config_get_max_svl_bytes(&svl) != HV_UNSUPPORTED)
        return 2;
    return check_config_create && check_msi_range && check_intid && check_state_create && check_state_data &&
                   check_svl
               ? 0
               : 3;
}
