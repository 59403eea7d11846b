/* KVM backend: MSRs. Under VMX as the Intel API offers it, a guest RDMSR/WRMSR exits
 * to the client unless the client made that MSR native (hv_vcpu_enable_native_msr,
 * hv_vcpu_set_msr_access). KVM's user-space MSR exits with a deny-by-default filter
 * give that: the filter allows an MSR only where every vCPU has it native (KVM's
 * filter is per VM); a vCPU whose own policy is native gets the access completed
 * here, without an exit. Also the table of the MSRs kept in struct x86_msrs. */
#include "core/kvm/kvm.h"
#include "core/x86_msrs.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* The state MSRs that travel by KVM_GET/SET_MSRS are the shared table's SG_MSRS slots;
 * EFER, FS_BASE and GS_BASE travel with the segment state (KVM_SET_SREGS). */
static const struct x86_msr_slot *state_msr(unsigned i)
{
    for (unsigned k = 0, seen = 0; k < x86_msr_slot_count; k++)
        if (x86_msr_slots[k].group == SG_MSRS && seen++ == i)
            return &x86_msr_slots[k];
    return NULL;
}

uint32_t kvm_state_msr_index(unsigned i)
{
    return state_msr(i)->index;
}

uint64_t *kvm_state_msr_field(struct x86_state *st, unsigned i)
{
    return x86_msr_ptr(st, state_msr(i));
}

hv_return_t kvm_msr_vm_init(struct vm *vm)
{
    struct kvm_vm *k = vm->be_data;
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_USER_SPACE_MSR,
        .args[0] = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL,
    };
    /* Without user-space MSR exits the guest's MSR accesses stay in the kernel;
     * docs/differences.md says so. */
    k->user_msr = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) > 0 &&
                  ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0 &&
                  ioctl(k->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
    return HV_SUCCESS;
}

static const struct x86_msr_policy *policy_of(const struct vcpu *v, uint32_t msr)
{
    const struct vcpu_x86_ext *x = &v->ext.x86;
    for (uint32_t i = 0; i < x->msr_policy_count; i++)
        if (x->msr_policy[i].msr == msr)
            return &x->msr_policy[i];
    return NULL;
}

bool kvm_msr_native(struct vcpu *v, uint32_t msr, bool write)
{
    const struct x86_msr_policy *p = policy_of(v, msr);
    return p && (p->native & (write ? X86_MSR_NATIVE_WRITE : X86_MSR_NATIVE_READ));
}

/* Bit for `msr` in a [low/high] bitmap, or false when outside both windows. */
static bool msr_slot(uint32_t msr, int *range, uint32_t *bit)
{
    if (msr < KVM_MSR_RANGE_SPAN) {
        *range = 0;
        *bit = msr;
        return true;
    }
    if (msr >= KVM_MSR_HIGH_BASE && msr - KVM_MSR_HIGH_BASE < KVM_MSR_RANGE_SPAN) {
        *range = 1;
        *bit = msr - KVM_MSR_HIGH_BASE;
        return true;
    }
    return false;
}

/* allow[rw][range]: an MSR is allowed when native on every live vCPU. */
static void filter_compute(struct vm *vm, uint8_t allow[2][2][KVM_MSR_BITMAP_BYTES])
{
    memset(allow, 0, 2 * 2 * KVM_MSR_BITMAP_BYTES);
    bool first = true;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (!v)
            continue;
        uint8_t mine[2][2][KVM_MSR_BITMAP_BYTES] = { 0 };
        const struct vcpu_x86_ext *x = &v->ext.x86;
        for (uint32_t p = 0; p < x->msr_policy_count; p++) {
            int range;
            uint32_t bit;
            if (!msr_slot(x->msr_policy[p].msr, &range, &bit))
                continue;
            for (int rw = 0; rw < 2; rw++)
                if (x->msr_policy[p].native & (rw ? X86_MSR_NATIVE_WRITE : X86_MSR_NATIVE_READ))
                    mine[rw][range][bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        uint8_t *a = &allow[0][0][0];
        const uint8_t *m = &mine[0][0][0];
        for (size_t b = 0; b < sizeof(mine); b++)
            a[b] = first ? m[b] : (uint8_t)(a[b] & m[b]);
        first = false;
    }
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, uint64_t v)
{
    return (h ^ v) * FNV_PRIME;
}

/* Cheap fingerprint of every live vCPU's native-MSR policy: the filter is rebuilt
 * only when it changes, not on every run. */
static uint64_t policy_signature(struct vm *vm)
{
    uint64_t h = FNV_OFFSET;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (!v)
            continue;
        const struct vcpu_x86_ext *x = &v->ext.x86;
        h = fnv(h, i + 1);
        for (uint32_t p = 0; p < x->msr_policy_count; p++)
            h = fnv(h, ((uint64_t)x->msr_policy[p].msr << 8) | x->msr_policy[p].native);
    }
    return h;
}

hv_return_t kvm_msr_filter_sync(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    struct kvm_vm *k = vm->be_data;
    if (!k->user_msr)
        return HV_SUCCESS;
    static _Thread_local uint8_t allow[2][2][KVM_MSR_BITMAP_BYTES];
    pthread_mutex_lock(&vm->lock);
    uint64_t sig = policy_signature(vm);
    if (k->msr_filter_set && sig == k->msr_policy_sig) {
        pthread_mutex_unlock(&vm->lock);
        return HV_SUCCESS;
    }
    filter_compute(vm, allow);
    hv_return_t ret = HV_SUCCESS;
    k->msr_policy_sig = sig;
    if (!k->msr_filter_set || memcmp(allow, k->msr_allow, sizeof(allow)) != 0) {
        struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
        unsigned n = 0;
        for (int rw = 0; rw < 2; rw++) {
            for (int range = 0; range < 2; range++) {
                f.ranges[n++] = (struct kvm_msr_filter_range){
                    .flags = rw ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ,
                    .nmsrs = KVM_MSR_RANGE_SPAN,
                    .base = range ? KVM_MSR_HIGH_BASE : 0,
                    .bitmap = allow[rw][range],
                };
            }
        }
        if (ioctl(k->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0) {
            ret = HV_ERROR;
        } else {
            memcpy(k->msr_allow, allow, sizeof(allow));
            k->msr_filter_set = true;
        }
    }
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

hv_return_t kvm_msr_complete_native(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_run *run = kv->run;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } b = { .hdr.nmsrs = 1, .e = { .index = run->msr.index, .data = run->msr.data } };
    bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;
    int n = ioctl(kv->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &b);
    if (n < 0)
        return HV_ERROR;
    run->msr.error = n == 1 ? 0 : 1;   /* a refused access raises #GP in the guest, as natively */
    if (!write)
        run->msr.data = b.e.data;
    /* The MSR changed behind the struct's back: re-read it when next asked. */
    v->state_valid &= ~(uint32_t)SG_MSRS;
    return HV_SUCCESS;
}
