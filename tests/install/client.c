/* A client built out of tree against an installed anyhv: one VM created and destroyed
 * on the software route through the flavour the build picked (pkg-config's or the
 * CMake target's define). */
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>
#include <stdio.h>

int main(void)
{
#ifdef ANYHV_GUEST_ARM64
    const char *flavour = "arm64";
    hv_vm_config_t config = NULL;
#else
    const char *flavour = "x86_64";
    hv_vm_options_t config = HV_VM_DEFAULT;
#endif
    if (anyhv_set_backend(ANYHV_BACKEND_SOFT) != HV_SUCCESS)
        return 1;
    hv_return_t created = hv_vm_create(config), destroyed = hv_vm_destroy();
    printf("%s client: create %#x, destroy %#x\n", flavour, (unsigned)created, (unsigned)destroyed);
    return created == HV_SUCCESS && destroyed == HV_SUCCESS ? 0 : 1;
}
