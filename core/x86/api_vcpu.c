/* Intel flavour, vCPU level: lifetime, registers, fpstate, MSRs, running and
 * cross-thread interruption. Every call but hv_vcpu_interrupt must come from the
 * vCPU's owning thread. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <stdlib.h>

#include "core/x86/intr.h"
#include "core/x86/vmcs.h"
#include "core/x86/x86.h"
#include "core/x86_msrs.h"

#define VCPU_OPTIONS_ALL (HV_VCPU_ACCEL_RDPMC | HV_VCPU_TSC_RELATIVE)

struct vcpu_init_args {
    hv_vcpu_options_t flags;
    struct x86_lapic *lapic;       /* given to the vCPU when its VM has the devices */
};

/* Before the vCPU is published (vcpu_create_init), so the devices and snapshots
 * never see it half made; nothing else can reach its APIC yet. */
static void vcpu_init(struct vcpu *v, void *arg)
{
    struct vcpu_init_args *a = arg;
    x86_state_reset(v->st.x86);
    x86_vmcs_reset(v->st.x86);
    v->ext.x86.vcpu_flags = a->flags;
    if (v->vm->intr) {
        lapic_init(a->lapic, v, v->id);
        v->ext.x86.lapic = a->lapic;
        a->lapic = NULL;
    }
}

hv_return_t hv_vcpu_create(hv_vcpuid_t *vcpu, hv_vcpu_options_t flags)
{
    if (!vcpu || (flags & ~(hv_vcpu_options_t)VCPU_OPTIONS_ALL))
        return HV_BAD_ARGUMENT;
    /* Made before the VM is looked at: it may have the in-framework devices. */
    struct vcpu_init_args args = { .flags = flags, .lapic = malloc(sizeof(struct x86_lapic)) };
    if (!args.lapic)
        return HV_NO_RESOURCES;
    uint32_t id;
    hv_return_t ret = vcpu_create_init(GUEST_X86_64, vcpu_init, &args, &id);
    free(args.lapic);   /* NULL when the vCPU took it */
    if (ret != HV_SUCCESS)
        return ret;
    *vcpu = id;
    return HV_SUCCESS;
}

/* Under vm->lock, the vCPU already out of the table (vcpu_destroy_held). Other
 * threads reach a vCPU's APIC only through the table and under the device lock (IPIs,
 * MSIs, snapshots): once this has taken that lock, whoever found the vCPU before has
 * let go of it and nobody finds it after, so the vCPU and its APIC may be freed. */
static void vcpu_fini(struct vcpu *v, void *arg)
{
    struct x86_intr *in = v->vm->intr;
    if (!in)
        return;
    pthread_mutex_lock(&in->lock);
    *(struct x86_lapic **)arg = v->ext.x86.lapic;
    v->ext.x86.lapic = NULL;
    pthread_mutex_unlock(&in->lock);
}

hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu)
{
    struct x86_lapic *a = NULL;
    hv_return_t ret = vcpu_destroy_held(vm_hold(), vcpu, vcpu_fini, &a);
    vm_release();
    free(a);
    return ret;
}

hv_return_t hv_vcpu_set_space(hv_vcpuid_t vcpu, hv_vm_space_t asid)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (asid >= ANYHV_MAX_SPACES)
        return HV_BAD_ARGUMENT;
    /* Under the VM lock: hv_vm_space_destroy checks that no vCPU uses the space. */
    pthread_mutex_lock(&v->vm->lock);
    ret = v->vm->spaces[asid] ? v->vm->be->vcpu_set_space(v, asid) : HV_BAD_ARGUMENT;
    if (ret == HV_SUCCESS)
        v->space = asid;
    pthread_mutex_unlock(&v->vm->lock);
    return ret;
}

hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    const struct x86_field *f = x86_reg_field(reg);
    if (!f || !value)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, f->group);
    if (ret == HV_SUCCESS)
        *value = x86_field_read(v->st.x86, f);
    return ret;
}

hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    const struct x86_field *f = x86_reg_field(reg);
    if (!f)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, f->group);
    if (ret != HV_SUCCESS)
        return ret;
    x86_field_write(v->st.x86, f, value);
    x86_state_written(v->st.x86, f->offset, f->group);
    vcpu_state_touch(v, f->group);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!buffer || size < X86_FXSAVE_SIZE)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_FPU | SG_XCR);
    if (ret == HV_SUCCESS)
        x86_fpstate_save(&v->st.x86->fpu, &v->st.x86->zmm, v->st.x86->xcr0, buffer, size);
    return ret;
}

hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!buffer || size < X86_FXSAVE_SIZE)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_FPU);
    if (ret != HV_SUCCESS)
        return ret;
    x86_fpstate_load(&v->st.x86->fpu, &v->st.x86->zmm, buffer, size);
    vcpu_state_touch(v, SG_FPU);
    return HV_SUCCESS;
}

/* Set the guest's direct access to `msr`; only MSRs kept in state can be native. */
static hv_return_t msr_set_native(hv_vcpuid_t vcpu, uint32_t msr, uint8_t native)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!x86_msr_slot(msr))
        return HV_BAD_ARGUMENT;
    struct x86_msr_policy *p = x86_msr_policy(v, msr, true);
    if (!p)
        return HV_NO_RESOURCES;
    p->native = native;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable)
{
    return msr_set_native(vcpu, msr, enable ? (X86_MSR_NATIVE_READ | X86_MSR_NATIVE_WRITE) : 0);
}

hv_return_t hv_vcpu_set_msr_access(hv_vcpuid_t vcpu, uint32_t msr, hv_msr_flags_t flags)
{
    if (flags & ~(hv_msr_flags_t)(HV_MSR_READ | HV_MSR_WRITE))
        return HV_BAD_ARGUMENT;
    return msr_set_native(vcpu, msr, (uint8_t)(((flags & HV_MSR_READ) ? X86_MSR_NATIVE_READ : 0) |
                                               ((flags & HV_MSR_WRITE) ? X86_MSR_NATIVE_WRITE : 0)));
}

hv_return_t hv_vcpu_enable_managed_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    struct x86_msr_policy *p = x86_msr_policy(v, msr, enable);
    if (!p)
        return enable ? HV_NO_RESOURCES : HV_SUCCESS;
    p->managed = enable;
    return HV_SUCCESS;
}

/* The soft route keeps IA32_TSC as the vCPU's offset from the VM clock (core/clock.h):
 * the guest's TSC is that plus the clock's ticks (x86_tsc_state_base, 0 on KVM, whose
 * field is the TSC itself). The API reads and writes the TSC as the guest sees it now. */
static uint64_t tsc_bias(const struct vcpu *v, uint32_t msr)
{
    return msr == X86_MSR_TSC ? x86_tsc_state_base(v) : 0;
}

hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!value)
        return HV_BAD_ARGUMENT;
    const struct x86_msr_slot *slot = x86_msr_slot(msr);
    if (slot) {
        ret = vcpu_state_load(v, slot->group);
        if (ret == HV_SUCCESS)
            *value = *x86_msr_ptr(v->st.x86, slot) + tsc_bias(v, msr);
        return ret;
    }
    struct x86_msr_policy *p = x86_msr_policy(v, msr, false);
    if (!p || !p->managed)
        return HV_BAD_ARGUMENT;
    *value = p->value;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    const struct x86_msr_slot *slot = x86_msr_slot(msr);
    if (slot) {
        ret = vcpu_state_load(v, slot->group);
        if (ret != HV_SUCCESS)
            return ret;
        *x86_msr_ptr(v->st.x86, slot) = value - tsc_bias(v, msr);
        x86_state_written(v->st.x86, 0, slot->group);
        vcpu_state_touch(v, slot->group);
        return HV_SUCCESS;
    }
    struct x86_msr_policy *p = x86_msr_policy(v, msr, false);
    if (!p || !p->managed)
        return HV_BAD_ARGUMENT;
    p->value = value;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_flush(hv_vcpuid_t vcpu)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    /* Write back what the client changed, then drop cached copies. */
    if (v->state_dirty) {
        ret = v->vm->be->state_put(v, v->state_dirty);
        if (ret != HV_SUCCESS)
            return ret;
        v->state_dirty = 0;
    }
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_invalidate_tlb(hv_vcpuid_t vcpu)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    v->vm->be->invalidate_tlb(v);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_run_until(hv_vcpuid_t vcpu, uint64_t deadline)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t until = deadline == HV_DEADLINE_FOREVER ? BACKEND_NO_DEADLINE : deadline;
    vcpu_run_begin(v);
    if (v->vm->intr) {
        ret = intr_run(v, until);   /* the in-framework APIC, IOAPIC and 8259s in the loop */
    } else {
        ret = vcpu_run(v, until);
        if (ret == HV_SUCCESS)
            ret = x86_exit_render(v);
    }
    v->ext.x86.entry_refused = ret == ANYHV_ERR_ILLEGAL_GUEST_STATE;
    vcpu_run_end(v);
    if (ret == ANYHV_ERR_ILLEGAL_GUEST_STATE)
        return HV_ERROR;   /* the Intel flavour has no HV_ILLEGAL_GUEST_STATE */
    return ret;
}

hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu)
{
    return hv_vcpu_run_until(vcpu, HV_DEADLINE_FOREVER);
}

hv_return_t hv_vcpu_interrupt(hv_vcpuid_t *vcpus, unsigned int vcpu_count)
{
    if (!vcpus || vcpu_count == 0 || vcpu_count > ANYHV_MAX_VCPUS)
        return HV_BAD_ARGUMENT;
    uint64_t ids[ANYHV_MAX_VCPUS];
    for (unsigned i = 0; i < vcpu_count; i++)
        ids[i] = vcpus[i];
    /* Held for the whole call: hv_vm_destroy cannot free the devices under it. */
    struct vm *vm = vm_hold();
    hv_return_t ret = vcpu_cancel_held(vm, ids, vcpu_count);
    if (ret == HV_SUCCESS && vm->intr)
        pthread_cond_broadcast(&((struct x86_intr *)vm->intr)->wake);   /* a vCPU halted in the loop */
    vm_release();
    return ret;
}

hv_return_t hv_vcpu_get_exec_time(hv_vcpuid_t vcpu, uint64_t *time)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!time)
        return HV_BAD_ARGUMENT;
    *time = vcpu_exec_time_ns(v);
    return HV_SUCCESS;
}
