/* KVM backend: vCPU lifetime. A vCPU gets the host's KVM-supported CPUID (what is
 * true of it, with its own APIC id), an eventfd that wakes it from the HLT activity
 * state, and, on its first deadline, a timer aimed at its owning thread. */
#include "core/kvm/kvm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SYNC_REGS_NEEDED (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)
#define CPUID_LEAF_FEATURES 1u
#define CPUID_EBX_APIC_ID_SHIFT 24
#define CPUID_EBX_APIC_ID_MASK 0xff000000u
#define CPUID_LEAF_X2APIC 0xbu
#define CPUID_LEAF_X2APIC_V2 0x1fu

static hv_return_t cpuid_set(struct vcpu *vcpu, int fd)
{
    const struct kvm_cpuid2 *sup = ((struct kvm_vm *)vcpu->vm->be_data)->cpuid;
    if (!sup)
        return HV_SUCCESS;
    size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
    struct kvm_cpuid2 *c = malloc(bytes);
    if (!c)
        return HV_NO_RESOURCES;
    memcpy(c, sup, bytes);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == CPUID_LEAF_FEATURES)
            e->ebx = (e->ebx & ~CPUID_EBX_APIC_ID_MASK) | (vcpu->id << CPUID_EBX_APIC_ID_SHIFT);
        if (e->function == CPUID_LEAF_X2APIC || e->function == CPUID_LEAF_X2APIC_V2)
            e->edx = vcpu->id;
    }
    int r = ioctl(fd, KVM_SET_CPUID2, c);
    free(c);
    return r < 0 ? HV_ERROR : HV_SUCCESS;
}

hv_return_t kvm_vcpu_create(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->be_data;
    struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return HV_NO_RESOURCES;
    kv->wake_fd = -1;
    kv->fd = -1;
    /* A fresh KVM id every time (kvm.h); the guest still sees vcpu->id as its APIC id. */
    if (k->next_vcpu_id < k->max_vcpu_id)
        kv->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)k->next_vcpu_id++);
    if (kv->fd < 0)
        goto fail;
    kv->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
    if (kv->run == MAP_FAILED) {
        kv->run = NULL;
        goto fail;
    }
    kv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (kv->wake_fd < 0 || cpuid_set(vcpu, kv->fd) != HV_SUCCESS)
        goto fail;
    kv->tid = gettid();
    kvm_kick_signal();   /* install the handler before anyone can kick */
    vcpu->be = kv;
    int sync_caps = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    if (kvm_sync_init(vcpu, sync_caps > 0 && (sync_caps & SYNC_REGS_NEEDED) == SYNC_REGS_NEEDED) != HV_SUCCESS) {
        vcpu->be = NULL;
        goto fail;
    }
    /* The struct holds the reset state; push all of it on the first run. */
    vcpu->state_valid = SG_ALL;
    vcpu->state_dirty = SG_ALL;
    return HV_SUCCESS;
fail:
    if (kv->wake_fd >= 0)
        close(kv->wake_fd);
    if (kv->run)
        munmap(kv->run, (size_t)k->run_size);
    if (kv->fd >= 0)
        close(kv->fd);
    free(kv);
    return HV_NO_RESOURCES;
}

void kvm_vcpu_destroy(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->be_data;
    struct kvm_vcpu *kv = vcpu->be;
    if (!kv)
        return;
    if (kv->timer_ok)
        timer_delete(kv->timer);
    kvm_decode_close(kv);
    close(kv->wake_fd);
    munmap(kv->run, (size_t)k->run_size);
    close(kv->fd);
    free(kv);
    vcpu->be = NULL;
}

hv_return_t kvm_vcpu_set_space(struct vcpu *vcpu, uint32_t space)
{
    (void)vcpu;
    return space == 0 ? HV_SUCCESS : HV_UNSUPPORTED;   /* one guest-physical space per KVM VM */
}

void kvm_vcpu_invalidate_tlb(struct vcpu *vcpu)
{
    /* KVM has no call for it, but loading the segment/control state resets the
     * vCPU's MMU context, which flushes its guest TLB. */
    if (vcpu_state_load(vcpu, SG_SREGS) == HV_SUCCESS)
        vcpu_state_touch(vcpu, SG_SREGS);
}
