/* Real Intel-flavour clients #define their own VMCS_*, CPU_BASED_* and VMX_REASON_*
 * names, before or after including the headers, and build with -Werror. */
#define ANYHV_GUEST_X86_64 1
#define VMCS_GUEST_RIP 0x0000681e
#define CPU_BASED_HLT (1u << 7)
#define VMX_REASON_HLT 12
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#define VMCS_GUEST_RSP 0x0000681c
#define PIN_BASED_INTR (1u << 0)
#define IRQ_INFO_VALID (1u << 31)

#ifdef __cplusplus
static_assert(VMCS_GUEST_RIP == 0x681e && VMCS_GUEST_RSP == 0x681c, "client values");
static_assert(VMCS_CTRL_CPU_BASED == 0x4002, "header values still visible");
#else
_Static_assert(VMCS_GUEST_RIP == 0x681e && VMCS_GUEST_RSP == 0x681c, "client values");
_Static_assert(VMCS_CTRL_CPU_BASED == 0x4002, "header values still visible");
#endif

int main(void)
{
    return (CPU_BASED_HLT == 0x80 && VMX_REASON_HLT == 12 && PIN_BASED_INTR == 1) ? 0 : 1;
}
