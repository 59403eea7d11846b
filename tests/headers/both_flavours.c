/* Must NOT compile: one translation unit sees one flavour. */
#define ANYHV_GUEST_ARM64 1
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
int main(void) { return 0; }
