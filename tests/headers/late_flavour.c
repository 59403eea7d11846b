/* Must NOT compile: the flavour is chosen by the first Hypervisor include and cannot
 * change afterwards (on an x86-64 host the first include picks Intel). */
#include <Hypervisor/hv_error.h>
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/hv_vcpu.h>
int main(void) { return 0; }
