/* vm_fork.c - anyhv_vm_fork (include/anyhv/snapshot.h): the VM copied into a child
 * process in one fork(2), guest memory copy-on-write.
 *
 * Why a process: a process holds one VM (as on macOS), so the copy needs its own.
 * Memory: a private mapping (hv_vm_allocate's MAP_PRIVATE | MAP_ANONYMOUS, or a
 * client's malloc/anonymous mmap) is copied on write by the kernel from the fork on,
 * at no cost up front. A shared mapping (MAP_SHARED, a memfd or file the client mapped)
 * would stay shared between the two VMs, so the child replaces each guest region that
 * lies in one with a private copy, while the parent waits (holding the VM lock, no
 * vCPU running) until it has; found from /proc/self/maps before the fork. The rest of
 * the child: the calling thread is its only thread, so it owns every vCPU, and the
 * backend drops what lived on other threads (the soft route's compile thread: the
 * child interprets). Those threads are stopped where they hold no lock before the fork
 * (fork_prepare): a lock a thread held at the fork stays taken in the child forever,
 * and that includes the allocator's when it has no fork handlers (GCC 12's
 * AddressSanitizer runtime has none; glibc's malloc has them). */
#include <anyhv/anyhv.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm.h"

#define FORK_MAX_COPIES 64u

struct shared_range {
    uintptr_t lo, hi;
};

/* The host ranges of guest regions that lie in shared mappings. */
struct copy_range {
    uint8_t *host;
    uint64_t size;
};
struct copy_plan {
    struct copy_range r[FORK_MAX_COPIES];
    uint32_t n;
};

static bool overlaps_shared(const struct shared_range *sh, size_t nsh, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < nsh; i++)
        if (lo < sh[i].hi && sh[i].lo < hi)
            return true;
    return false;
}

/* Read the shared mappings of the process (at most `max`). */
static size_t shared_mappings(struct shared_range *out, size_t max, bool *ok)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t n = 0;
    *ok = f != NULL;
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[3] == 's') {
            if (n == max) {
                *ok = false;
                break;
            }
            out[n++] = (struct shared_range){ lo, hi };
        }
    }
    if (f)
        fclose(f);
    return n;
}

static hv_return_t plan_copies(struct vm *vm, struct copy_plan *plan)
{
    enum { MAX_SHARED = 4096 };
    struct shared_range *sh = malloc(MAX_SHARED * sizeof(*sh));
    if (!sh)
        return HV_NO_RESOURCES;
    bool ok;
    size_t nsh = shared_mappings(sh, MAX_SHARED, &ok);
    hv_return_t r = ok ? HV_SUCCESS : HV_ERROR;
    plan->n = 0;
    for (uint32_t s = 0; s < ANYHV_MAX_SPACES && r == HV_SUCCESS; s++) {
        for (size_t i = 0; vm->spaces[s] && i < vm->spaces[s]->count && r == HV_SUCCESS; i++) {
            const struct pmap_range *pr = &vm->spaces[s]->ranges[i];
            uintptr_t lo = (uintptr_t)pr->host;
            if (!overlaps_shared(sh, nsh, lo, lo + pr->size))
                continue;
            if (plan->n == FORK_MAX_COPIES)
                r = HV_NO_RESOURCES;
            else
                plan->r[plan->n++] = (struct copy_range){ pr->host, pr->size };
        }
    }
    free(sh);
    return r;
}

/* In the child: each planned region becomes private memory with the same bytes. */
static bool copy_shared(const struct copy_plan *plan)
{
    for (uint32_t i = 0; i < plan->n; i++) {
        uint8_t *host = plan->r[i].host;
        size_t size = plan->r[i].size;
        void *tmp = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (tmp == MAP_FAILED)
            return false;
        memcpy(tmp, host, size);
        /* mremap moves the copy's pages over the shared mapping in one step. */
        if (mremap(tmp, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, host) == MAP_FAILED) {
            munmap(tmp, size);
            return false;
        }
    }
    return true;
}

/* The child's side, VM lock held: its thread owns every vCPU; the backend forgets the
 * parent's other threads; the parent hears when the memory is its own. */
static bool child_side(struct vm *vm, const struct copy_plan *plan, int ready_fd)
{
    bool ok = copy_shared(plan);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (!v)
            continue;
        vcpu_adopt(v);
        /* A parent thread that was stepping back from hv_vcpu_run's entry (vm_quiesce)
         * may have left its mark in the copy; nobody here is in a run. */
        atomic_store(&v->in_run, false);
    }
    vm->be->fork_child(vm);
    char byte = ok ? 1 : 0;
    ssize_t w = write(ready_fd, &byte, 1);
    (void)w;
    close(ready_fd);
    return ok;
}

static hv_return_t fork_locked(struct vm *vm, pid_t *pid)
{
    if (!vm->be->fork_child)
        return HV_UNSUPPORTED;   /* KVM: the kernel's VM does not follow a fork */
    if (!vm_quiesce(vm, false))   /* and none enters hv_vcpu_run until it is done */
        return HV_BUSY;
    if (vm->det && vm->vcpu_count > 1)
        return HV_UNSUPPORTED;   /* one thread cannot drive the rotation (docs/snapshots.md) */
    struct copy_plan plan;
    hv_return_t r = plan_copies(vm, &plan);
    int fds[2];
    if (r != HV_SUCCESS)
        return r;
    if (pipe(fds) != 0)
        return HV_NO_RESOURCES;
    /* Another thread may be inside a device call: the child, which has only this
     * thread, would find the device lock taken forever. Taken under vm->lock, as the
     * lock order says (core/vm.h). */
    pthread_mutex_t *devlock = vm->devstate ? vm->devstate->lock(vm) : NULL;
    if (vm->be->fork_prepare)
        vm->be->fork_prepare(vm);
    if (devlock)
        pthread_mutex_lock(devlock);
    pid_t child = fork();
    if (devlock)
        pthread_mutex_unlock(devlock);
    if (child != 0 && vm->be->fork_parent)
        vm->be->fork_parent(vm);
    if (child < 0) {
        close(fds[0]);
        close(fds[1]);
        return HV_NO_RESOURCES;
    }
    if (child == 0) {
        close(fds[0]);
        *pid = 0;
        return child_side(vm, &plan, fds[1]) ? HV_SUCCESS : HV_ERROR;
    }
    close(fds[1]);
    char byte = 0;
    ssize_t got;
    do
        got = read(fds[0], &byte, 1);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    *pid = child;
    return got == 1 && byte == 1 ? HV_SUCCESS : HV_ERROR;
}

hv_return_t anyhv_vm_fork(pid_t *pid)
{
    if (!pid)
        return HV_BAD_ARGUMENT;
    struct vm *vm = vm_hold();
    hv_return_t r = HV_BAD_ARGUMENT;
    if (vm) {
        pthread_mutex_lock(&vm->lock);
        r = fork_locked(vm, pid);
        vm_unquiesce(vm);   /* in the parent and the child alike */
        pthread_mutex_unlock(&vm->lock);
    }
    vm_release();
    return r;
}
