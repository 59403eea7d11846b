/* anyhv_* extension calls: version, backend choice and query. Shared by both
 * libraries; the flavour library defines anyhv_personality_arch. */
#include <anyhv/anyhv.h>

#include "core/vm.h"
#include "core/x86_cpuid.h"
#include "core/x86_state.h"

#define ANYHV_STR2(x) #x
#define ANYHV_STR(x) ANYHV_STR2(x)

extern const enum guest_arch anyhv_personality_arch;

uint32_t anyhv_version(void)
{
    return ANYHV_VERSION;
}

const char *anyhv_version_string(void)
{
    return ANYHV_STR(ANYHV_VERSION_MAJOR) "." ANYHV_STR(ANYHV_VERSION_MINOR) "." ANYHV_STR(ANYHV_VERSION_PATCH);
}

anyhv_guest_arch_t anyhv_guest_arch(void)
{
    return anyhv_personality_arch == GUEST_ARM64 ? ANYHV_GUEST_ARCH_ARM64 : ANYHV_GUEST_ARCH_X86_64;
}

_Static_assert((int)ANYHV_BACKEND_KVM == (int)BACKEND_KVM && (int)ANYHV_BACKEND_SOFT == (int)BACKEND_SOFT &&
                   (int)ANYHV_BACKEND_AUTO == (int)BACKEND_AUTO,
               "public and internal backend ids agree");

hv_return_t anyhv_set_backend(anyhv_backend_t backend)
{
    if (backend != ANYHV_BACKEND_AUTO && backend != ANYHV_BACKEND_KVM && backend != ANYHV_BACKEND_SOFT)
        return HV_BAD_ARGUMENT;
    /* Held: hv_vm_create (which reads the request) cannot run meanwhile. */
    hv_return_t r = HV_BUSY;
    if (!vm_hold()) {
        backend_request((enum backend_kind)backend);
        r = HV_SUCCESS;
    }
    vm_release();
    return r;
}

anyhv_backend_t anyhv_get_backend(void)
{
    struct vm *vm = vm_hold();
    anyhv_backend_t kind = vm ? (anyhv_backend_t)vm->be->kind : (anyhv_backend_t)backend_resolve(anyhv_personality_arch);
    vm_release();
    return kind;
}

const char *anyhv_backend_name(void)
{
    return backend_kind_name((enum backend_kind)anyhv_get_backend());
}

bool anyhv_backend_available(anyhv_backend_t backend, const char **why)
{
    switch (backend) {
    case ANYHV_BACKEND_KVM: return kvm_backend_check(anyhv_personality_arch, why) == HV_SUCCESS;
    case ANYHV_BACKEND_SOFT: return soft_backend_check(anyhv_personality_arch, why) == HV_SUCCESS;
    case ANYHV_BACKEND_AUTO:
        return anyhv_backend_available((anyhv_backend_t)backend_resolve(anyhv_personality_arch), why);
    }
    if (why)
        *why = "unknown backend";
    return false;
}

hv_return_t anyhv_vcpu_set_instruction_budget(uint64_t vcpu, uint64_t count)
{
    struct vcpu *v;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (count > v->vm->be->max_budget)
        return HV_UNSUPPORTED;   /* KVM stops exactly only after one instruction */
    v->insn_budget = count;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_get_instructions(uint64_t vcpu, uint64_t *count)
{
    struct vcpu *v;
    if (!count)
        return HV_BAD_ARGUMENT;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (v->vm->be->kind != BACKEND_SOFT)
        return HV_UNSUPPORTED;
    *count = v->icount;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_x86_cpuid(uint64_t vcpu, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    struct vcpu *v;
    if (!regs)
        return HV_BAD_ARGUMENT;
    if (anyhv_personality_arch != GUEST_X86_64)
        return HV_UNSUPPORTED;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    r = vcpu_state_load(v, SG_SREGS | SG_XCR);
    if (r != HV_SUCCESS)
        return r;
    struct x86_cpuid_regs m;
    x86_cpuid_model(leaf, subleaf, &m);
    x86_cpuid_dynamic(leaf, subleaf, (uint32_t)v->id, v->st.x86->cr4, v->st.x86->xcr0, &m);
    regs[0] = m.eax;
    regs[1] = m.ebx;
    regs[2] = m.ecx;
    regs[3] = m.edx;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_get_exec_stats(uint64_t vcpu, anyhv_exec_stats_t *stats)
{
    struct vcpu *v;
    if (!stats)
        return HV_BAD_ARGUMENT;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (v->vm->be->kind != BACKEND_SOFT)
        return HV_UNSUPPORTED;
    soft_exec_stats(v, stats);
    return HV_SUCCESS;
}
