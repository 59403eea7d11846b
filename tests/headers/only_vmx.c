/* Apple's include graph: a client that includes only hv_vmx.h still sees the register
 * ids, the vCPU id type, the error codes and the VMCS constants. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/hv_vmx.h>

int main(void)
{
    hv_vcpuid_t vcpu = 0;
    hv_x86_reg_t reg = HV_X86_RIP;
    uint64_t value = 0;
    hv_return_t r = hv_vmx_vcpu_read_vmcs(vcpu, VMCS_GUEST_RIP, &value);
    /* No VM exists: the call must fail, and with an hv error code. */
    return (r != HV_SUCCESS && reg == 0) ? 0 : 1;
}
