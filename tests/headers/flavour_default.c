/* Without ANYHV_GUEST_*, the flavour follows the host architecture, as on macOS. */
#include <Hypervisor/Hypervisor.h>

#if defined(__x86_64__)
_Static_assert(ANYHV_HV_X86 && !ANYHV_HV_ARM64, "x86-64 host sees the Intel flavour");
#elif defined(__aarch64__)
_Static_assert(ANYHV_HV_ARM64 && !ANYHV_HV_X86, "arm64 host sees the Apple-silicon flavour");
#endif

int main(void) { return 0; }
