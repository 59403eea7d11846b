/* KVM backend: vCPU lifetime. Running, state sync and exit translation are the
 * hardware-route issue's work; until then they say HV_UNSUPPORTED honestly. */
#include "core/kvm/kvm.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

hv_return_t kvm_vcpu_create(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->be_data;
    struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return HV_NO_RESOURCES;
    kv->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->id);
    if (kv->fd < 0) {
        free(kv);
        return HV_NO_RESOURCES;
    }
    kv->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
    if (kv->run == MAP_FAILED) {
        close(kv->fd);
        free(kv);
        return HV_NO_RESOURCES;
    }
    vcpu->be = kv;
    /* The struct holds the reset state; push all of it on the first run. */
    vcpu->state_valid = SG_ALL;
    vcpu->state_dirty = SG_ALL;
    return HV_SUCCESS;
}

void kvm_vcpu_destroy(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->be_data;
    struct kvm_vcpu *kv = vcpu->be;
    if (!kv)
        return;
    munmap(kv->run, (size_t)k->run_size);
    close(kv->fd);
    free(kv);
    vcpu->be = NULL;
}

hv_return_t kvm_vcpu_set_space(struct vcpu *vcpu, uint32_t space)
{
    (void)vcpu;
    return space == 0 ? HV_SUCCESS : HV_UNSUPPORTED;
}

hv_return_t kvm_vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    (void)vcpu;
    (void)deadline_ns;
    return HV_UNSUPPORTED;
}

hv_return_t kvm_state_get(struct vcpu *vcpu, uint32_t groups)
{
    (void)vcpu;
    (void)groups;
    return HV_SUCCESS;  /* the struct stays authoritative until a run has happened */
}

hv_return_t kvm_state_put(struct vcpu *vcpu, uint32_t groups)
{
    (void)vcpu;
    (void)groups;
    return HV_SUCCESS;
}

void kvm_vcpu_cancel(struct vcpu *vcpu)
{
    (void)vcpu;   /* the request bit is checked before every entry */
}

void kvm_vcpu_invalidate_tlb(struct vcpu *vcpu)
{
    (void)vcpu;   /* KVM flushes guest TLBs on its own as needed */
}
