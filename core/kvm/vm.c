/* KVM backend: VM lifetime and memory slots. Each range of the guest-physical
 * map becomes one KVM memory slot; ranges without write permission become
 * read-only slots, so guest writes to them exit as MMIO (EPT violations). */
#include "core/kvm/kvm.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CPUID_ENTRIES_MAX 256u

/* What KVM can honestly offer a guest on this host; NULL leaves KVM's default. */
static struct kvm_cpuid2 *supported_cpuid(int sys_fd)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_ENTRIES_MAX * sizeof(c->entries[0]));
    if (!c)
        return NULL;
    c->nent = CPUID_ENTRIES_MAX;
    if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* Ids KVM_CREATE_VCPU accepts: KVM_CAP_MAX_VCPU_ID, else KVM_CAP_MAX_VCPUS, else the
 * documented minimum. */
#define KVM_VCPU_ID_FALLBACK 4u
static uint32_t max_vcpu_id(int vm_fd)
{
    int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
    if (n <= 0)
        n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    return n > 0 ? (uint32_t)n : KVM_VCPU_ID_FALLBACK;
}

static hv_return_t kvm_vm_create(struct vm *vm)
{
    struct kvm_vm *k = calloc(1, sizeof(*k));
    if (!k)
        return HV_NO_RESOURCES;
    k->sys_fd = kvm_open_system(NULL);
    if (k->sys_fd < 0) {
        free(k);
        return HV_NO_DEVICE;
    }
    k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (k->vm_fd < 0 || k->run_size <= 0) {
        if (k->vm_fd >= 0)
            close(k->vm_fd);
        close(k->sys_fd);
        free(k);
        return HV_NO_RESOURCES;
    }
    vm->be_data = k;
    kvm_gate_init(k);
    k->max_vcpu_id = max_vcpu_id(k->vm_fd);
    k->cpuid = supported_cpuid(k->sys_fd);
    return kvm_msr_vm_init(vm);
}

static void kvm_vm_destroy(struct vm *vm)
{
    struct kvm_vm *k = vm->be_data;
    if (!k)
        return;
    close(k->vm_fd);
    close(k->sys_fd);
    kvm_gate_destroy(k);
    free(k->cpuid);
    free(k);
    vm->be_data = NULL;
}

static int slot_set(struct kvm_vm *k, uint32_t idx, uint64_t size)
{
    struct kvm_slot *s = &k->slots[idx];
    struct kvm_userspace_memory_region region = {
        .slot = idx,
        .flags = s->flags,
        .guest_phys_addr = s->gpa,
        .memory_size = size,
        .userspace_addr = s->host,
    };
    return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

hv_return_t kvm_slots_sync(struct vm *vm, uint64_t gpa, uint64_t size)
{
    struct kvm_vm *k = vm->be_data;
    const struct pmap *pm = vm->spaces[0];
    /* Drop every slot touching the window, then re-add the window's ranges. Slots
     * that extend beyond it are re-added whole from the pmap too. */
    uint64_t lo = gpa, hi = gpa + size;
    for (uint32_t i = 0; i < KVM_MAX_SLOTS; i++) {
        struct kvm_slot *s = &k->slots[i];
        if (s->used && overlaps(s->gpa, s->size, gpa, size)) {
            if (s->gpa < lo)
                lo = s->gpa;
            if (s->gpa + s->size > hi)
                hi = s->gpa + s->size;
            slot_set(k, i, 0);
            s->used = false;
        }
    }
    for (size_t r = 0; r < pm->count; r++) {
        const struct pmap_range *rg = &pm->ranges[r];
        if (!overlaps(rg->gpa, rg->size, lo, hi - lo) || !(rg->perms & PMAP_READ))
            continue;  /* no-read ranges stay unmapped in KVM: every access exits */
        uint32_t i = 0;
        while (i < KVM_MAX_SLOTS && k->slots[i].used)
            i++;
        if (i == KVM_MAX_SLOTS)
            return HV_NO_RESOURCES;
        struct kvm_slot *s = &k->slots[i];
        *s = (struct kvm_slot){ true, rg->gpa, rg->size, (uint64_t)(uintptr_t)rg->host,
                                (rg->perms & PMAP_WRITE) ? 0u : KVM_MEM_READONLY };
        if (slot_set(k, i, rg->size) < 0) {
            s->used = false;
            return errno == ENOMEM ? HV_NO_RESOURCES : HV_ERROR;
        }
    }
    return HV_SUCCESS;
}

static hv_return_t kvm_map_change(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size)
{
    if (space != 0)
        return HV_UNSUPPORTED;  /* KVM gives one guest-physical space per VM */
    kvm_gate_close(vm);     /* no vCPU may run while slots are deleted and re-added */
    hv_return_t ret = kvm_slots_sync(vm, gpa, size);
    kvm_gate_open(vm);
    return ret;
}

/* vCPU lifetime and running live in core/kvm/vcpu.c. */
hv_return_t kvm_vcpu_create(struct vcpu *vcpu);
void kvm_vcpu_destroy(struct vcpu *vcpu);
hv_return_t kvm_vcpu_set_space(struct vcpu *vcpu, uint32_t space);
hv_return_t kvm_vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns);
hv_return_t kvm_state_get(struct vcpu *vcpu, uint32_t groups);
hv_return_t kvm_state_put(struct vcpu *vcpu, uint32_t groups);
void kvm_vcpu_cancel(struct vcpu *vcpu);
void kvm_vcpu_invalidate_tlb(struct vcpu *vcpu);

const struct backend_ops kvm_backend_ops = {
    .name = "kvm",
    .kind = BACKEND_KVM,
    .max_breakpoints = KVM_HW_BREAKPOINTS,   /* KVM_SET_GUEST_DEBUG's debug registers */
    .max_budget = 1,                         /* a single step (KVM_GUESTDBG_SINGLESTEP) */
    .vm_create = kvm_vm_create,
    .vm_destroy = kvm_vm_destroy,
    .map = kvm_map_change,
    .unmap = kvm_map_change,
    .protect = kvm_map_change,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_set_space = kvm_vcpu_set_space,
    .vcpu_run = kvm_vcpu_run,
    .state_get = kvm_state_get,
    .state_put = kvm_state_put,
    .cancel = kvm_vcpu_cancel,
    .invalidate_tlb = kvm_vcpu_invalidate_tlb,
};
