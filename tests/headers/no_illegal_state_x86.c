/* Must NOT compile: Apple's Intel hv_error.h has no HV_ILLEGAL_GUEST_STATE (only the
 * Apple-silicon flavour does). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
int main(void) { return HV_ILLEGAL_GUEST_STATE != 0; }
