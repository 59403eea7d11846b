/* vCPU objects: creation bound to the calling thread, handle validation, lazy
 * state sync with the backend and cross-thread cancellation. */
#include "core/vm.h"

#include <stdlib.h>
#include <string.h>

uint64_t thread_token(void)
{
    static _Atomic uint64_t next = 1;
    static _Thread_local uint64_t token;
    if (!token)
        token = atomic_fetch_add(&next, 1);
    return token;
}

static void *state_alloc(enum guest_arch arch)
{
    size_t size = arch == GUEST_X86_64 ? sizeof(struct x86_state) : sizeof(struct a64_state);
    void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (p)
        memset(p, 0, size);
    return p;
}

static hv_return_t vcpu_create_held(struct vm *vm, enum guest_arch arch, vcpu_init_fn init, void *arg,
                                    uint32_t *id)
{
    if (!id || !vm || vm->arch != arch)
        return HV_BAD_ARGUMENT;
    struct vcpu *v = calloc(1, sizeof(*v));
    void *state = state_alloc(vm->arch);
    if (!v || !state) {
        free(v);
        free(state);
        return HV_NO_RESOURCES;
    }
    v->vm = vm;
    v->owner = pthread_self();
    v->owner_token = thread_token();
    v->st.x86 = state;   /* same storage as st.a64 */
    v->state_valid = SG_ALL;

    hv_return_t ret = HV_NO_RESOURCES;
    pthread_mutex_lock(&vm->lock);
    uint32_t slot = ANYHV_MAX_VCPUS;
    for (uint32_t i = 0; i < vm->max_vcpus; i++) {
        if (!atomic_load(&vm->vcpus[i])) {
            slot = i;
            break;
        }
    }
    if (slot == ANYHV_MAX_VCPUS)
        goto fail;
    v->id = slot;
    ret = vm->be->vcpu_create(v);
    if (ret != HV_SUCCESS)
        goto fail;
    /* Its initial state is written before other threads can find it (snapshots, the
     * GIC's view of every vCPU's affinity). */
    if (init)
        init(v, arg);
    atomic_store(&vm->vcpu_owner[slot], v->owner_token);
    atomic_store(&vm->vcpus[slot], v);
    vm->vcpu_count++;
    pthread_mutex_unlock(&vm->lock);
    *id = slot;
    return HV_SUCCESS;
fail:
    pthread_mutex_unlock(&vm->lock);
    free(state);
    free(v);
    return ret;
}

hv_return_t vcpu_create_init(enum guest_arch arch, vcpu_init_fn init, void *arg, uint32_t *id)
{
    hv_return_t ret = vcpu_create_held(vm_hold(), arch, init, arg, id);
    vm_release();
    return ret;
}

hv_return_t vcpu_create(enum guest_arch arch, uint32_t *id)
{
    return vcpu_create_init(arch, NULL, NULL, id);
}

static hv_return_t get_owned_held(struct vm *vm, uint64_t id, struct vcpu **out)
{
    if (!vm || id >= ANYHV_MAX_VCPUS)
        return HV_BAD_ARGUMENT;
    /* A vCPU belongs to the thread that created it; Apple refuses others. The token
     * is checked first and in the VM: only the owner removes its vCPU, so when the
     * slot names the caller, the vCPU in it is the caller's and stays. */
    if (atomic_load(&vm->vcpu_owner[id]) != thread_token())
        return HV_BAD_ARGUMENT;
    struct vcpu *v = atomic_load_explicit(&vm->vcpus[id], memory_order_acquire);
    if (!v)
        return HV_BAD_ARGUMENT;
    *out = v;
    return HV_SUCCESS;
}

/* The lookup holds the VM; afterwards the owned vCPU pins it (vm.c). */
hv_return_t vcpu_get_owned(uint64_t id, struct vcpu **out)
{
    hv_return_t ret = get_owned_held(vm_hold(), id, out);
    vm_release();
    return ret;
}

hv_return_t vcpu_destroy_held(struct vm *vm, uint32_t id)
{
    struct vcpu *v;
    hv_return_t ret = get_owned_held(vm, id, &v);
    if (ret != HV_SUCCESS)
        return ret;
    pthread_mutex_lock(&vm->lock);
    atomic_store(&vm->vcpus[id], NULL);
    atomic_store(&vm->vcpu_owner[id], 0);
    vm->vcpu_count--;
    vm->be->vcpu_destroy(v);
    pthread_mutex_unlock(&vm->lock);
    det_vcpu_gone(v);
    free(v->st.x86);
    free(v);
    return HV_SUCCESS;
}

hv_return_t vcpu_destroy(uint32_t id)
{
    hv_return_t ret = vcpu_destroy_held(vm_hold(), id);
    vm_release();
    return ret;
}

hv_return_t vcpu_cancel_held(struct vm *vm, const uint64_t *ids, uint32_t count)
{
    if (!vm || !ids || count == 0)
        return HV_BAD_ARGUMENT;
    hv_return_t ret = HV_SUCCESS;
    pthread_mutex_lock(&vm->lock);
    /* Validate all first so a bad id cancels nothing. */
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] >= ANYHV_MAX_VCPUS || !atomic_load(&vm->vcpus[ids[i]])) {
            ret = HV_BAD_ARGUMENT;
            goto out;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[ids[i]]);
        /* The Intel device loop (intr_run) tells the client's exits from its kicks. */
        if (vm->arch == GUEST_X86_64 && vm->intr)
            atomic_store(&v->ext.x86.client_cancel, true);
        atomic_fetch_or(&v->requests, VCPU_REQ_CANCEL);
        vm->be->cancel(v);
    }
out:
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

hv_return_t vcpu_cancel(const uint64_t *ids, uint32_t count)
{
    hv_return_t ret = vcpu_cancel_held(vm_hold(), ids, count);
    vm_release();
    return ret;
}

hv_return_t vcpu_state_load(struct vcpu *vcpu, uint32_t groups)
{
    uint32_t missing = groups & ~vcpu->state_valid;
    if (!missing)
        return HV_SUCCESS;
    hv_return_t ret = vcpu->vm->be->state_get(vcpu, missing);
    if (ret == HV_SUCCESS)
        vcpu->state_valid |= missing;
    return ret;
}

void vcpu_state_touch(struct vcpu *vcpu, uint32_t groups)
{
    vcpu->state_dirty |= groups;
}

hv_return_t vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    struct vm *vm = vcpu->vm;
    /* The VM's first run fixes deterministic mode: under the VM lock, so that
     * anyhv_set_deterministic either finished changing vm->det or sees `ran`. */
    if (!atomic_load(&vm->ran)) {
        pthread_mutex_lock(&vm->lock);
        atomic_store(&vm->ran, true);
        pthread_mutex_unlock(&vm->lock);
    }
    uint64_t start = clock_now_ns(&vcpu->vm->clock, vcpu);
    atomic_store(&vcpu->running, true);
    memset(&vcpu->exit, 0, sizeof(vcpu->exit));
    memset(&vcpu->dbg.stop, 0, sizeof(vcpu->dbg.stop));
    hv_return_t ret = vcpu->vm->det ? det_vcpu_run(vcpu, deadline_ns) : vcpu->vm->be->vcpu_run(vcpu, deadline_ns);
    debug_note_run(vcpu);
    atomic_store(&vcpu->running, false);
    if (vcpu->vm->det)
        vcpu->exec_time_ns = vcpu_guest_ns(vcpu, vcpu->icount);   /* virtual, like every clock */
    else
        vcpu->exec_time_ns += clock_now_ns(&vcpu->vm->clock, vcpu) - start;
    return ret;
}

const char *exit_kind_name(enum exit_kind kind)
{
    static const char *const names[] = {
#define X(name, text) [EXIT_##name] = text,
        EXIT_KIND_LIST(X)
#undef X
    };
    return (unsigned)kind < EXIT_KIND_COUNT ? names[kind] : "?";
}
