/* Soft backend: anyhv's own CPU. The state struct is authoritative (no sync);
 * guest-physical changes flush every vCPU's TLB before they return. Running
 * guest code arrives with the software-CPU issues; until then vcpu_run says
 * HV_UNSUPPORTED honestly. */
#include "core/vm.h"

static hv_return_t soft_vm_create(struct vm *vm)
{
    vm->be_data = NULL;
    return HV_SUCCESS;
}

static void soft_vm_destroy(struct vm *vm)
{
    (void)vm;
}

static void flush_all_tlbs(struct vm *vm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v)
            atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
    }
}

static hv_return_t soft_map_change(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size)
{
    (void)space;
    (void)gpa;
    (void)size;
    flush_all_tlbs(vm);
    return HV_SUCCESS;
}

static hv_return_t soft_vcpu_create(struct vcpu *vcpu)
{
    vcpu->be = NULL;
    vcpu->state_valid = SG_ALL;
    return HV_SUCCESS;
}

static void soft_vcpu_destroy(struct vcpu *vcpu)
{
    (void)vcpu;
}

static hv_return_t soft_vcpu_set_space(struct vcpu *vcpu, uint32_t space)
{
    atomic_fetch_or(&vcpu->requests, VCPU_REQ_TLB_FLUSH);
    (void)space;
    return HV_SUCCESS;
}

static hv_return_t soft_vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    (void)vcpu;
    (void)deadline_ns;
    return HV_UNSUPPORTED;
}

static hv_return_t soft_state_sync(struct vcpu *vcpu, uint32_t groups)
{
    (void)vcpu;
    (void)groups;
    return HV_SUCCESS;   /* the soft CPU runs on the struct itself */
}

static void soft_cancel(struct vcpu *vcpu)
{
    (void)vcpu;          /* VCPU_REQ_CANCEL is polled at block boundaries */
}

static void soft_invalidate_tlb(struct vcpu *vcpu)
{
    atomic_fetch_or(&vcpu->requests, VCPU_REQ_TLB_FLUSH);
}

hv_return_t soft_backend_check(enum guest_arch arch, const char **why)
{
    (void)arch;
    if (why)
        *why = "anyhv's software CPU";
    return HV_SUCCESS;
}

const struct backend_ops soft_backend_ops = {
    .name = "soft",
    .kind = BACKEND_SOFT,
    .vm_create = soft_vm_create,
    .vm_destroy = soft_vm_destroy,
    .map = soft_map_change,
    .unmap = soft_map_change,
    .protect = soft_map_change,
    .vcpu_create = soft_vcpu_create,
    .vcpu_destroy = soft_vcpu_destroy,
    .vcpu_set_space = soft_vcpu_set_space,
    .vcpu_run = soft_vcpu_run,
    .state_get = soft_state_sync,
    .state_put = soft_state_sync,
    .cancel = soft_cancel,
    .invalidate_tlb = soft_invalidate_tlb,
};
