/* phys.c - guest-physical accesses for page-table walkers: through stage 2 (the
 * pmap) only, so a walk can never reach host memory the guest was not given. */
#include <string.h>

#include "mmu/mmu.h"

bool mmu_phys_read(const struct pmap *pm, uint64_t gpa, void *out, unsigned size)
{
    if (!pm || size == 0 || size > 16)
        return false;
    const uint8_t *p = pmap_host_ptr(pm, gpa, size, PMAP_READ);
    if (!p)
        return false;
    /* Descriptors are naturally aligned; an atomic-width read avoids tearing when
     * another vCPU updates A/D bits concurrently. */
    if (size == 8 && ((uintptr_t)p & 7) == 0) {
        uint64_t v = __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
        memcpy(out, &v, 8);
    } else if (size == 4 && ((uintptr_t)p & 3) == 0) {
        uint32_t v = __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
        memcpy(out, &v, 4);
    } else {
        memcpy(out, p, size);
    }
    return true;
}

bool mmu_phys_cas64(const struct pmap *pm, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    if (!pm || (gpa & 7))
        return false;
    uint8_t *p = pmap_host_ptr(pm, gpa, 8, PMAP_READ | PMAP_WRITE);
    if (!p || ((uintptr_t)p & 7))
        return false;
    return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
