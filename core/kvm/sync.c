/* KVM backend: the kernel's general registers, segment state and events, read and
 * written without an ioctl where the kernel offers KVM_CAP_SYNC_REGS: KVM stores
 * them in kvm_run on every return from KVM_RUN and loads the ones marked dirty at
 * the start of the next KVM_RUN (before it completes a pending access). Without
 * the capability, the same calls are ioctls. Every access to these three goes
 * through here, so the sync area and the kernel never disagree. */
#include "core/kvm/kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define SYNC_ALL (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

hv_return_t kvm_sync_init(struct vcpu *v, bool available)
{
    struct kvm_vcpu *kv = v->be;
    kv->sync = available;
    if (!available)
        return HV_SUCCESS;
    struct kvm_sync_regs *s = &kv->run->s.regs;
    /* Fill the area once; from then on KVM keeps it current. */
    if (ioctl(kv->fd, KVM_GET_REGS, &s->regs) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
        ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
        return HV_ERROR;
    kv->run->kvm_valid_regs = SYNC_ALL;
    return HV_SUCCESS;
}

static hv_return_t fail(void)
{
    return errno == EINVAL ? ANYHV_ERR_ILLEGAL_GUEST_STATE : HV_ERROR;
}

hv_return_t kvm_regs_get(struct vcpu *v, struct kvm_regs *out)
{
    struct kvm_vcpu *kv = v->be;
    if (kv->sync) {
        *out = kv->run->s.regs.regs;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_GET_REGS, out) < 0 ? fail() : HV_SUCCESS;
}

hv_return_t kvm_regs_set(struct vcpu *v, const struct kvm_regs *in)
{
    struct kvm_vcpu *kv = v->be;
    if (kv->sync) {
        kv->run->s.regs.regs = *in;
        kv->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_SET_REGS, in) < 0 ? fail() : HV_SUCCESS;
}

hv_return_t kvm_sregs_get(struct vcpu *v, struct kvm_sregs *out)
{
    struct kvm_vcpu *kv = v->be;
    if (kv->sync) {
        *out = kv->run->s.regs.sregs;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_GET_SREGS, out) < 0 ? fail() : HV_SUCCESS;
}

hv_return_t kvm_sregs_set(struct vcpu *v, const struct kvm_sregs *in)
{
    struct kvm_vcpu *kv = v->be;
    kvm_xlat_flush(kv);   /* CR0/CR3/CR4 may change the walk */
    if (kv->sync) {
        kv->run->s.regs.sregs = *in;
        kv->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_SET_SREGS, in) < 0 ? fail() : HV_SUCCESS;
}

hv_return_t kvm_events_get(struct vcpu *v, struct kvm_vcpu_events *out)
{
    struct kvm_vcpu *kv = v->be;
    if (kv->sync) {
        *out = kv->run->s.regs.events;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_GET_VCPU_EVENTS, out) < 0 ? fail() : HV_SUCCESS;
}

hv_return_t kvm_events_set(struct vcpu *v, const struct kvm_vcpu_events *in)
{
    struct kvm_vcpu *kv = v->be;
    if (kv->sync) {
        kv->run->s.regs.events = *in;
        kv->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
        return HV_SUCCESS;
    }
    return ioctl(kv->fd, KVM_SET_VCPU_EVENTS, in) < 0 ? fail() : HV_SUCCESS;
}

/* Before an ioctl that reads the kernel's copy (KVM_TRANSLATE walks with the
 * kernel's CR3): push pending sync-area writes now. */
hv_return_t kvm_sync_flush(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    if (!kv->sync || !kv->run->kvm_dirty_regs)
        return HV_SUCCESS;
    struct kvm_sync_regs *s = &kv->run->s.regs;
    uint64_t dirty = kv->run->kvm_dirty_regs;
    if ((dirty & KVM_SYNC_X86_SREGS) && ioctl(kv->fd, KVM_SET_SREGS, &s->sregs) < 0)
        return fail();
    if ((dirty & KVM_SYNC_X86_REGS) && ioctl(kv->fd, KVM_SET_REGS, &s->regs) < 0)
        return fail();
    if ((dirty & KVM_SYNC_X86_EVENTS) && ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &s->events) < 0)
        return fail();
    kv->run->kvm_dirty_regs = 0;
    return HV_SUCCESS;
}
