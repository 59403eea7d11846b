/* Both flavours: hv_vm_allocate / hv_vm_deallocate, anonymous host memory meant for
 * hv_vm_map(). The two flavours declare them identically, so one definition serves
 * both shared libraries. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/hv_vm_allocate.h>

#include <stdint.h>
#include <sys/mman.h>

#include "core/vm.h"

hv_return_t hv_vm_allocate(void **uvap, size_t size, hv_allocate_flags_t flags)
{
    if (!uvap || size == 0 || (size & (ANYHV_PAGE_SIZE - 1)) || flags != HV_ALLOCATE_DEFAULT)
        return HV_BAD_ARGUMENT;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return HV_NO_RESOURCES;
    *uvap = p;
    return HV_SUCCESS;
}

hv_return_t hv_vm_deallocate(void *uva, size_t size)
{
    if (!uva || size == 0 || ((uintptr_t)uva & (ANYHV_PAGE_SIZE - 1)) || (size & (ANYHV_PAGE_SIZE - 1)))
        return HV_BAD_ARGUMENT;
    return munmap(uva, size) == 0 ? HV_SUCCESS : HV_BAD_ARGUMENT;
}
