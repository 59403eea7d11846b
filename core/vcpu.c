/* vCPU objects: creation bound to the calling thread, handle validation, lazy
 * state sync with the backend and cross-thread cancellation. */
#include "core/vm.h"

#include "core/barrier.h"

#include <stdlib.h>
#include <string.h>

/* The vCPUs the calling thread created, by id. An owned vCPU exists until its owner
 * destroys it, and it pins its VM (vm_destroy refuses while vCPUs exist), so its owner
 * finds it here on every API call without the VM's lifetime lock; any other thread
 * finds nothing, which is Apple's answer to a vCPU it does not own. */
static _Thread_local struct vcpu *owned[ANYHV_MAX_VCPUS];
/* This thread's owned[] once it has created a vCPU: one initial-exec word, read on
 * every call without the __tls_get_addr call a shared library's TLS otherwise costs
 * (vcpu_get_owned, inline in vm.h). */
_Thread_local struct vcpu **vcpu_owned_here __attribute__((tls_model("initial-exec")));

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
    atomic_store(&vm->vcpus[slot], v);
    vm->vcpu_count++;
    pthread_mutex_unlock(&vm->lock);
    owned[slot] = v;
    vcpu_owned_here = owned;
    *id = slot;
    return HV_SUCCESS;
fail:
    pthread_mutex_unlock(&vm->lock);
    free(state);
    free(v);
    return ret;
}

/* The calling thread becomes v's owner (a forked child's only thread takes every
 * vCPU of its copy of the VM). */
void vcpu_adopt(struct vcpu *v)
{
    v->owner = pthread_self();
    owned[v->id] = v;
    vcpu_owned_here = owned;
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

struct vcpu *vcpu_first_owned(void)
{
    struct vcpu **table = vcpu_owned_here;
    for (uint32_t i = 0; table && i < ANYHV_MAX_VCPUS; i++) {
        if (table[i])
            return table[i];
    }
    return NULL;
}

/* The caller holds the VM: det_vcpu_gone still uses it once the count has dropped
 * (and a personality may hold it around a lock of its own). */
hv_return_t vcpu_destroy_held(struct vm *vm, uint32_t id, vcpu_fini_fn fini, void *arg)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(id, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (v->vm != vm)   /* an owned vCPU pins its VM, so the held one is its own */
        return HV_BAD_ARGUMENT;
    owned[id] = NULL;
    pthread_mutex_lock(&vm->lock);
    atomic_store(&vm->vcpus[id], NULL);
    vm->vcpu_count--;
    if (fini)
        fini(v, arg);
    vm->be->vcpu_destroy(v);
    pthread_mutex_unlock(&vm->lock);
    det_vcpu_gone(v);
    free(v->st.x86);
    free(v);
    return HV_SUCCESS;
}

hv_return_t vcpu_destroy(uint32_t id)
{
    hv_return_t ret = vcpu_destroy_held(vm_hold(), id, NULL, NULL);
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

hv_return_t vcpu_state_fetch(struct vcpu *vcpu, uint32_t groups)
{
    uint32_t missing = groups & ~vcpu->state_valid;
    if (!missing)
        return HV_SUCCESS;
    hv_return_t ret = vcpu->vm->be->state_get(vcpu, missing);
    if (ret == HV_SUCCESS)
        vcpu->state_valid |= missing;
    return ret;
}

/* The two sides each write their own flag first and then read the other's, a fence
 * between (core/barrier.h: this is the hot side): a vCPU that finds no quiesce is
 * seen by vm_quiesce, and a quiesce that finds no vCPU in a run is seen by the vCPU,
 * which steps back and waits on vm->lock, held by the quiescing call until after
 * vm_unquiesce. */
void vcpu_run_begin(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    for (;;) {
        atomic_store_explicit(&vcpu->in_run, true, memory_order_relaxed);
        barrier_hot();
        if (!atomic_load_explicit(&vm->quiesce, memory_order_acquire))
            return;
        atomic_store(&vcpu->in_run, false);
        pthread_mutex_lock(&vm->lock);
        pthread_mutex_unlock(&vm->lock);
    }
}

/* A release store: the quiescing side only needs to see the run's writes once it sees
 * the flag clear (the entry above is the side that needs the full fence). */
void vcpu_run_end(struct vcpu *vcpu)
{
    atomic_store_explicit(&vcpu->in_run, false, memory_order_release);
}

bool vm_quiesce(struct vm *vm, bool parked_ok)
{
    atomic_store(&vm->quiesce, true);
    barrier_rare();
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && atomic_load(&v->in_run) && !(parked_ok && atomic_load(&v->parked)))
            return false;
    }
    return true;
}

void vm_unquiesce(struct vm *vm)
{
    atomic_store(&vm->quiesce, false);
}

hv_return_t vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    struct vm *vm = vcpu->vm;
    /* The VM's first run fixes deterministic mode: under the VM lock, so that
     * anyhv_set_deterministic either finished changing vm->det or sees `ran`. */
    if (!atomic_load_explicit(&vm->ran, memory_order_relaxed)) {
        pthread_mutex_lock(&vm->lock);
        atomic_store(&vm->ran, true);
        pthread_mutex_unlock(&vm->lock);
    }
    uint64_t start = vm->det ? 0 : clock_host_ticks();
    /* `running` pairs with a kick or a record stop that posts first and then looks at
     * it (KVM's signal, record.c): those need the full fence; the soft route's cancel
     * is a request the dispatcher polls, so a plain store does there. */
    if (vm->det || vm->be->kind == BACKEND_KVM)
        atomic_store(&vcpu->running, true);
    else
        atomic_store_explicit(&vcpu->running, true, memory_order_release);
    memset(&vcpu->exit, 0, sizeof(vcpu->exit));
    memset(&vcpu->dbg.stop, 0, sizeof(vcpu->dbg.stop));
    hv_return_t ret = vm->det ? det_vcpu_run(vcpu, deadline_ns) : vm->be->vcpu_run(vcpu, deadline_ns);
    debug_note_run(vcpu);
    atomic_store_explicit(&vcpu->running, false, memory_order_release);
    if (vm->det) {
        vcpu->exec_time_ns = vcpu_guest_ns(vcpu, vcpu->icount);   /* virtual, like every clock */
    } else {
        uint64_t end = clock_host_ticks();
        vcpu->exec_ticks += end > start ? end - start : 0;
    }
    return ret;
}

uint64_t vcpu_exec_time_ns(const struct vcpu *vcpu)
{
    return vcpu->vm->det ? vcpu->exec_time_ns : clock_host_ticks_to_ns(vcpu->exec_ticks);
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
