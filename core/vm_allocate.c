/* Both flavours: hv_vm_allocate / hv_vm_deallocate, anonymous host memory meant for
 * hv_vm_map(). The two flavours declare them identically, so one definition serves
 * both shared libraries. hv_vm_deallocate only unmaps what hv_vm_allocate returned
 * (a whole allocation or a page-aligned piece of one): anything else is the client's
 * own memory and is refused. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/hv_vm_allocate.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core/vm.h"

struct allocation {
    uintptr_t start, end;
};

/* The live allocations, unordered (a process holds few). */
static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct allocation *allocs;
static size_t alloc_count, alloc_cap;

static bool alloc_add_locked(uintptr_t start, uintptr_t end)
{
    if (alloc_count == alloc_cap) {
        size_t cap = alloc_cap ? alloc_cap * 2 : 16;
        struct allocation *n = realloc(allocs, cap * sizeof(*n));
        if (!n)
            return false;
        allocs = n;
        alloc_cap = cap;
    }
    allocs[alloc_count++] = (struct allocation){ start, end };
    return true;
}

hv_return_t hv_vm_allocate(void **uvap, size_t size, hv_allocate_flags_t flags)
{
    if (!uvap || size == 0 || (size & (ANYHV_PAGE_SIZE - 1)) || flags != HV_ALLOCATE_DEFAULT)
        return HV_BAD_ARGUMENT;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return HV_NO_RESOURCES;
    pthread_mutex_lock(&alloc_lock);
    bool ok = alloc_add_locked((uintptr_t)p, (uintptr_t)p + size);
    pthread_mutex_unlock(&alloc_lock);
    if (!ok) {
        munmap(p, size);
        return HV_NO_RESOURCES;
    }
    *uvap = p;
    return HV_SUCCESS;
}

/* Take [start, end) out of the allocation holding it, keeping what is left on either
 * side. False when no single allocation holds the whole range. */
static bool alloc_take_locked(uintptr_t start, uintptr_t end)
{
    for (size_t i = 0; i < alloc_count; i++) {
        struct allocation a = allocs[i];
        if (start < a.start || end > a.end)
            continue;
        if (a.start < start && end < a.end && !alloc_add_locked(end, a.end))
            return false;   /* cannot record the upper piece: leave everything mapped */
        if (a.start < start)
            allocs[i].end = start;
        else if (end < a.end)
            allocs[i].start = end;
        else
            allocs[i] = allocs[--alloc_count];
        return true;
    }
    return false;
}

hv_return_t hv_vm_deallocate(void *uva, size_t size)
{
    uintptr_t start = (uintptr_t)uva;
    if (!uva || size == 0 || (start & (ANYHV_PAGE_SIZE - 1)) || (size & (ANYHV_PAGE_SIZE - 1)) ||
        start + size < start)
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&alloc_lock);
    bool ours = alloc_take_locked(start, start + size);
    if (ours)
        munmap(uva, size);
    pthread_mutex_unlock(&alloc_lock);
    return ours ? HV_SUCCESS : HV_BAD_ARGUMENT;
}
