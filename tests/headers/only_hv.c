/* Apple's include graph: hv.h alone brings hv_intr.h (the interrupt-controller state
 * structs), hv_types.h and hv_vm_allocate.h, and HV_DEADLINE_FOREVER is an enumerator,
 * not a macro. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/hv.h>

#ifdef HV_DEADLINE_FOREVER
#error "HV_DEADLINE_FOREVER must be an enumeration constant, as in Apple's hv.h"
#endif

int main(void)
{
    hv_apic_state_ext_t apic = { .version = HV_APIC_STATE_EXT_VER };
    void *mem = 0;
    hv_return_t r = hv_vm_allocate(&mem, 4096, HV_ALLOCATE_DEFAULT);
    if (r == HV_SUCCESS)
        hv_vm_deallocate(mem, 4096);
    unsigned long long forever = HV_DEADLINE_FOREVER;
    return (forever == ~0ull && apic.state.boot_state == HV_BS_INIT) ? 0 : 1;
}
