/* Intel flavour, time: hv_tsc_clock and the vCPU TSC offset, hv_vm_sync_tsc's
 * helper, idle time and the VMX entry status. On the soft route every guest TSC is
 * the VM clock (core/clock.h) in ticks plus a per-vCPU offset kept in
 * x86_state.msr.tsc; on KVM the kernel keeps the TSC and only hv_tsc_clock is offered. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/x86.h"

/* RFLAGS.ZF: what a VMLAUNCH that fails with a valid VMCS leaves set. */
#define VMX_STATUS_ZF (1u << 6)

uint64_t x86_tsc_state_base(const struct vcpu *vcpu)
{
    return vcpu->vm->be->kind == BACKEND_SOFT ? clock_now_ticks(&vcpu->vm->clock, vcpu) : 0;
}

/* The VM clock in TSC ticks for the calling thread. In deterministic mode no host time
 * may reach the guest: a vCPU's owner reads that vCPU's virtual time (the base of its
 * TSC, so hv_vcpu_set_tsc_relative's "hv_tsc_clock() + offset" holds exactly), any
 * other thread the VM's (det_vm_ns). */
static uint64_t vm_clock_ticks(struct vm *vm)
{
    if (!vm->det)
        return clock_now_ticks(&vm->clock, NULL);
    struct vcpu *own = vcpu_first_owned();
    if (own && own->vm == vm)
        return clock_now_ticks(&vm->clock, own);
    return clock_ns_to_ticks(&vm->clock, det_vm_ns(vm));
}

hv_return_t x86_tsc_sync_all(struct vm *vm, uint64_t tsc)
{
    if (vm->be->kind != BACKEND_SOFT)
        return HV_UNSUPPORTED;
    /* One reading of the clock for every vCPU, so they agree exactly. */
    uint64_t offset = tsc - vm_clock_ticks(vm);
    pthread_mutex_lock(&vm->lock);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v)
            __atomic_store_n(&v->st.x86->msr.tsc, offset, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&vm->lock);
    return HV_SUCCESS;
}

uint64_t hv_tsc_clock(void)
{
    struct vm *vm = vm_hold();
    uint64_t ticks = vm ? vm_clock_ticks(vm) : 0;
    vm_release();
    return ticks;
}

hv_return_t hv_vcpu_set_tsc_relative(hv_vcpuid_t vcpu, int64_t offset)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (v->vm->be->kind != BACKEND_SOFT)
        return HV_UNSUPPORTED;
    ret = vcpu_state_load(v, SG_MSRS);
    if (ret != HV_SUCCESS)
        return ret;
    v->st.x86->msr.tsc = (uint64_t)offset;
    x86_state_written(v->st.x86, offsetof(struct x86_state, msr.tsc), SG_MSRS);
    vcpu_state_touch(v, SG_MSRS);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_idle_time(hv_vcpuid_t vcpu, uint64_t *time)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!time)
        return HV_BAD_ARGUMENT;
    *time = v->ext.x86.idle_time_ns;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_vmx_status(hv_vcpuid_t vcpu, uint32_t *status)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!status)
        return HV_BAD_ARGUMENT;
    if (!v->ext.x86.entry_refused)
        return HV_ERROR;
    *status = VMX_STATUS_ZF;
    return HV_SUCCESS;
}
