/* KVM backend on hosts whose ISA the KVM route does not implement yet (it is
 * written for x86-64 hosts): every operation says HV_UNSUPPORTED, and
 * kvm_backend_check already steers `auto` to the software route. */
#include "core/kvm/kvm_probe.h"

static hv_return_t no_vm(struct vm *vm)
{
    (void)vm;
    return HV_UNSUPPORTED;
}

static void no_vm_destroy(struct vm *vm)
{
    (void)vm;
}

const struct backend_ops kvm_backend_ops = {
    .name = "kvm",
    .kind = BACKEND_KVM,
    .vm_create = no_vm,
    .vm_destroy = no_vm_destroy,
};
