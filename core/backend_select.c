/* Backend routing: the extension call, else ANYHV_BACKEND, else auto. Auto takes
 * KVM only when /dev/kvm works for this guest ISA and the host virtualizes in
 * hardware; an emulated KVM (PVM) runs guest kernels slower than the soft CPU. */
#include "core/backend.h"
#include "core/vm.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

static _Atomic int requested = BACKEND_AUTO;

const char *backend_kind_name(enum backend_kind kind)
{
    switch (kind) {
    case BACKEND_KVM: return "kvm";
    case BACKEND_SOFT: return "soft";
    case BACKEND_AUTO: return "auto";
    }
    return "?";
}

const struct backend_ops *backend_by_kind(enum backend_kind kind)
{
    switch (kind) {
    case BACKEND_KVM: return &kvm_backend_ops;
    case BACKEND_SOFT: return &soft_backend_ops;
    case BACKEND_AUTO: break;
    }
    return NULL;
}

void backend_request(enum backend_kind kind)
{
    atomic_store(&requested, (int)kind);
}

/* The kind asked for: the extension call wins, then the environment. */
static enum backend_kind asked_kind(void)
{
    enum backend_kind kind = (enum backend_kind)atomic_load(&requested);
    if (kind != BACKEND_AUTO)
        return kind;
    const char *env = getenv("ANYHV_BACKEND");
    if (env && strcasecmp(env, "kvm") == 0)
        return BACKEND_KVM;
    if (env && strcasecmp(env, "soft") == 0)
        return BACKEND_SOFT;
    return BACKEND_AUTO;
}

static enum backend_kind backend_auto_kind(enum guest_arch arch)
{
    if (kvm_host_has_hw_virt() && kvm_backend_check(arch, NULL) == HV_SUCCESS)
        return BACKEND_KVM;
    return BACKEND_SOFT;
}

enum backend_kind backend_resolve(enum guest_arch arch)
{
    enum backend_kind kind = asked_kind();
    return kind == BACKEND_AUTO ? backend_auto_kind(arch) : kind;
}

const struct backend_ops *backend_choose(enum guest_arch arch, hv_return_t *err)
{
    enum backend_kind kind = backend_resolve(arch);
    hv_return_t st = kind == BACKEND_KVM ? kvm_backend_check(arch, NULL) : soft_backend_check(arch, NULL);
    if (st != HV_SUCCESS) {
        *err = st;
        return NULL;
    }
    return backend_by_kind(kind);
}
