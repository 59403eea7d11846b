/* Apple's include graph, Apple-silicon flavour: hv_vcpu.h alone brings the vCPU types,
 * the exit record, the configuration calls and hv_return_t with its codes. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/hv_vcpu.h>

int main(void)
{
    hv_vcpu_t vcpu = 0;
    hv_vcpu_exit_t *exit_record = NULL;
    hv_vcpu_config_t config = hv_vcpu_config_create();
    uint64_t value = 0;
    if (!config || hv_vcpu_config_get_feature_reg(config, HV_FEATURE_REG_ID_AA64PFR0_EL1, &value) != HV_SUCCESS)
        return 1;
    os_release(config);
    /* No VM exists: creating a vCPU must fail cleanly. */
    return hv_vcpu_create(&vcpu, &exit_record, NULL) != HV_SUCCESS ? 0 : 1;
}
