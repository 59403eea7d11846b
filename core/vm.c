/* The process's VM: creation with backend routing, address spaces and the
 * guest-physical map with Apple's rules. One VM per process, as on macOS; all of
 * it sits in one context struct that the global pointer refers to. */
#include "core/vm.h"

#include "core/barrier.h"
#include "core/host_range.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The VM's lifetime lock. Every API call that looks at the VM holds it for reading
 * (vm_hold/vm_release) while it uses the VM; hv_vm_create and hv_vm_destroy hold it
 * for writing, so a VM is never freed under a call that still uses it (that call
 * either finished or sees no VM and returns HV_BAD_ARGUMENT). Calls on an owned vCPU
 * do not take it: a VM with vCPUs cannot be destroyed (HV_BUSY), only the owner can
 * destroy its vCPU, and the owner finds it in a per-thread table (vcpu.c). Writers are preferred so a stream of callers
 * cannot starve hv_vm_destroy; holders therefore never take it twice. */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
static pthread_rwlock_t vm_life = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
#else
static pthread_rwlock_t vm_life = PTHREAD_RWLOCK_INITIALIZER;
#endif
static struct vm *_Atomic current;

struct vm *vm_hold(void)
{
    pthread_rwlock_rdlock(&vm_life);
    return vm_current();
}

void vm_release(void)
{
    pthread_rwlock_unlock(&vm_life);
}

struct vm *vm_current(void)
{
    return atomic_load_explicit(&current, memory_order_acquire);
}

uint64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void vm_free(struct vm *vm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_SPACES; i++) {
        if (vm->spaces[i]) {
            pmap_destroy(vm->spaces[i]);
            free(vm->spaces[i]);
        }
    }
    rec_vm_gone(vm);
    det_free(vm);
    pthread_mutex_destroy(&vm->lock);
    free(vm->intr);
    free(vm);
}

static struct pmap *space_new(const struct vm *vm)
{
    struct pmap *pm = malloc(sizeof(*pm));
    if (pm)
        pmap_init(pm, 1ull << vm->ipa_bits, vm->granule);
    return pm;
}

hv_return_t vm_create(const struct vm_params *params)
{
    hv_return_t ret = HV_SUCCESS;
    barrier_init();   /* before any vCPU can run */
    pthread_rwlock_wrlock(&vm_life);
    if (vm_current()) {
        ret = HV_BUSY;
        goto out;
    }
    const struct backend_ops *be = backend_choose(params->arch, &ret);
    if (!be)
        goto out;
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        ret = HV_NO_RESOURCES;
        goto out;
    }
    pthread_mutex_init(&vm->lock, NULL);
    vm->arch = params->arch;
    vm->be = be;
    vm->ipa_bits = params->ipa_bits;
    vm->granule = params->granule;
    vm->max_vcpus = ANYHV_MAX_VCPUS;
    vm->options = params->options;
    clock_init(&vm->clock);
    vm->spaces[0] = space_new(vm);
    if (!vm->spaces[0]) {
        vm_free(vm);
        ret = HV_NO_RESOURCES;
        goto out;
    }
    ret = be->vm_create(vm);
    if (ret == HV_SUCCESS && be->kind == BACKEND_SOFT && det_wanted())
        ret = det_enable(vm);
    if (ret == HV_SUCCESS && params->setup)
        ret = params->setup(vm);
    if (ret != HV_SUCCESS && vm->be_data)
        be->vm_destroy(vm);
    if (ret != HV_SUCCESS) {
        vm_free(vm);
        goto out;
    }
    atomic_store_explicit(&current, vm, memory_order_release);
out:
    pthread_rwlock_unlock(&vm_life);
    return ret;
}

hv_return_t vm_destroy(void)
{
    hv_return_t ret = HV_SUCCESS;
    pthread_rwlock_wrlock(&vm_life);
    struct vm *vm = vm_current();
    if (!vm) {
        ret = HV_BAD_ARGUMENT;
        goto out;
    }
    pthread_mutex_lock(&vm->lock);
    uint32_t live = vm->vcpu_count;
    pthread_mutex_unlock(&vm->lock);
    if (live) {
        ret = HV_BUSY;   /* Apple refuses to destroy a VM whose vCPUs still exist */
        goto out;
    }
    vm->be->vm_destroy(vm);
    const struct irqchip_ops *chip = atomic_load(&vm->irqchip);
    if (chip)
        chip->destroy(vm);
    atomic_store_explicit(&current, NULL, memory_order_release);
    vm_free(vm);
out:
    pthread_rwlock_unlock(&vm_life);
    return ret;
}

hv_return_t vm_space_create(uint32_t *space)
{
    if (!space)
        return HV_BAD_ARGUMENT;
    struct vm *vm = vm_hold();
    if (!vm) {
        vm_release();
        return HV_BAD_ARGUMENT;
    }
    hv_return_t ret = HV_NO_RESOURCES;
    pthread_mutex_lock(&vm->lock);
    for (uint32_t i = 1; i < ANYHV_MAX_SPACES; i++) {
        if (!vm->spaces[i]) {
            vm->spaces[i] = space_new(vm);
            if (vm->spaces[i]) {
                *space = i;
                ret = HV_SUCCESS;
            }
            break;
        }
    }
    pthread_mutex_unlock(&vm->lock);
    vm_release();
    return ret;
}

hv_return_t vm_space_destroy(uint32_t space)
{
    if (space == 0 || space >= ANYHV_MAX_SPACES)
        return HV_BAD_ARGUMENT;
    struct vm *vm = vm_hold();
    if (!vm) {
        vm_release();
        return HV_BAD_ARGUMENT;
    }
    hv_return_t ret = HV_SUCCESS;
    pthread_mutex_lock(&vm->lock);
    if (!vm->spaces[space]) {
        ret = HV_BAD_ARGUMENT;
        goto out;
    }
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && v->space == space) {
            ret = HV_BUSY;
            goto out;
        }
    }
    pmap_destroy(vm->spaces[space]);
    free(vm->spaces[space]);
    vm->spaces[space] = NULL;
out:
    pthread_mutex_unlock(&vm->lock);
    vm_release();
    return ret;
}

static hv_return_t pmap_error(enum pmap_status st)
{
    switch (st) {
    case PMAP_OK: return HV_SUCCESS;
    case PMAP_ENOMEM: return HV_NO_RESOURCES;
    case PMAP_EINVAL:
    case PMAP_EOVERLAP:
    case PMAP_ENOTMAPPED: return HV_BAD_ARGUMENT;
    }
    return HV_ERROR;
}

/* Memory flags of both flavours share values with enum pmap_perm. */
#define VM_MEMORY_FLAGS_ALL ((uint64_t)PMAP_PERM_ALL)

enum map_op { MAP_OP_MAP, MAP_OP_UNMAP, MAP_OP_PROTECT };

/* One path for the three calls: validate, change the pmap, let the backend follow,
 * and undo the pmap change if the backend cannot. */
static hv_return_t map_change_held(struct vm *vm, enum map_op op, uint32_t space, void *host, uint64_t gpa,
                                   uint64_t size, uint64_t flags)
{
    if (!vm || space >= ANYHV_MAX_SPACES || (flags & ~VM_MEMORY_FLAGS_ALL))
        return HV_BAD_ARGUMENT;
    if (op == MAP_OP_MAP && ((uintptr_t)host & (ANYHV_PAGE_SIZE - 1)))
        return HV_BAD_ARGUMENT;
    /* The host range must be there and allow what the guest may do with it. */
    if (op == MAP_OP_MAP && host &&
        !host_range_accessible(host, size, (flags & (PMAP_READ | PMAP_EXEC)) != 0, (flags & PMAP_WRITE) != 0))
        return HV_BAD_ARGUMENT;
    hv_return_t ret;
    pthread_mutex_lock(&vm->lock);
    struct pmap *pm = vm->spaces[space];
    if (!pm) {
        ret = HV_BAD_ARGUMENT;
        goto out;
    }
    /* Keep what a rollback needs: the ranges the change touches. */
    struct pmap saved = *pm;
    saved.ranges = NULL;
    if (pm->count) {
        saved.ranges = malloc(pm->count * sizeof(*pm->ranges));
        if (!saved.ranges) {
            ret = HV_NO_RESOURCES;
            goto out;
        }
        memcpy(saved.ranges, pm->ranges, pm->count * sizeof(*pm->ranges));
    }
    enum pmap_status st;
    switch (op) {
    case MAP_OP_MAP: st = pmap_map(pm, host, gpa, size, (uint32_t)flags); break;
    case MAP_OP_UNMAP: st = pmap_unmap(pm, gpa, size); break;
    default: st = pmap_protect(pm, gpa, size, (uint32_t)flags); break;
    }
    ret = pmap_error(st);
    if (ret == HV_SUCCESS) {
        if (op == MAP_OP_MAP)
            ret = vm->be->map(vm, space, gpa, size);
        else if (op == MAP_OP_UNMAP)
            ret = vm->be->unmap(vm, space, gpa, size);
        else
            ret = vm->be->protect(vm, space, gpa, size);
        if (ret != HV_SUCCESS) {
            /* Backend refused: restore the previous map exactly. */
            uint64_t gen = pm->generation + 1;
            free(pm->ranges);
            *pm = saved;
            pm->capacity = saved.count;
            pm->generation = gen;
            saved.ranges = NULL;
            vm->be->map(vm, space, gpa, size);
        }
    }
    free(saved.ranges);
out:
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

static hv_return_t map_change(enum map_op op, uint32_t space, void *host, uint64_t gpa, uint64_t size,
                              uint64_t flags)
{
    hv_return_t ret = map_change_held(vm_hold(), op, space, host, gpa, size, flags);
    vm_release();
    return ret;
}

hv_return_t vm_map(uint32_t space, void *host, uint64_t gpa, uint64_t size, uint64_t flags)
{
    return map_change(MAP_OP_MAP, space, host, gpa, size, flags);
}

hv_return_t vm_unmap(uint32_t space, uint64_t gpa, uint64_t size)
{
    return map_change(MAP_OP_UNMAP, space, NULL, gpa, size, 0);
}

hv_return_t vm_protect(uint32_t space, uint64_t gpa, uint64_t size, uint64_t flags)
{
    return map_change(MAP_OP_PROTECT, space, NULL, gpa, size, flags);
}
