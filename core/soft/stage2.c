/* stage2.c - the soft backend's view of stage 2 and its shootdown. Each map change
 * publishes an immutable copy of the space's pmap; vCPUs read it without locks while
 * they execute. Before the change returns, every vCPU that was executing has left
 * that execution period (so none still uses an old host pointer) and will flush its
 * TLB before it executes again; only then is the old copy freed. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft_internal.h"

static struct pmap *snapshot(const struct pmap *src)
{
    struct pmap *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    *s = *src;
    s->ranges = NULL;
    s->capacity = src->count;
    if (src->count) {
        s->ranges = malloc(src->count * sizeof(*s->ranges));
        if (!s->ranges) {
            free(s);
            return NULL;
        }
        memcpy(s->ranges, src->ranges, src->count * sizeof(*s->ranges));
    }
    return s;
}

static void snapshot_free(struct pmap *s)
{
    if (s) {
        free(s->ranges);
        free(s);
    }
}

void soft_exec_enter(struct soft_vcpu *sv)
{
    atomic_fetch_add(&sv->exec_seq, 1);   /* odd: executing (seq_cst, pairs with the waiter) */
    uint32_t req = atomic_load(&sv->vcpu->requests);
    if (req & VCPU_REQ_TLB_FLUSH) {
        atomic_fetch_and(&sv->vcpu->requests, ~(uint32_t)VCPU_REQ_TLB_FLUSH);
        mmu_tlb_flush_all(&sv->cpu.tlb);
    }
}

void soft_exec_leave(struct soft_vcpu *sv)
{
    atomic_fetch_add(&sv->exec_seq, 1);
}

/* Called with vm->lock held. */
static void shoot_down(struct vm *vm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (!v || !v->be)
            continue;
        struct soft_vcpu *sv = v->be;
        atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
        uint64_t seq = atomic_load(&sv->exec_seq);
        if (!(seq & 1))
            continue;   /* not executing: it flushes before it executes again */
        /* Executing: it polls requests at every block boundary; blocks are short. */
        while (atomic_load(&sv->exec_seq) == seq)
            sched_yield();
    }
}

hv_return_t soft_s2_update(struct vm *vm, uint32_t space, bool invalidate_code)
{
    struct soft_vm *svm = vm->be_data;
    struct pmap *fresh = snapshot(vm->spaces[space]);
    if (!fresh)
        return HV_NO_RESOURCES;
    struct pmap *old = atomic_exchange(&svm->s2[space], fresh);
    if (invalidate_code) {
        atomic_fetch_add(&svm->s2_epoch, 1);
        mmu_code_pages_touch(&svm->code_pages);
    }
    shoot_down(vm);
    snapshot_free(old);
    return HV_SUCCESS;
}

void soft_s2_free_all(struct soft_vm *svm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_SPACES; i++)
        snapshot_free(atomic_exchange(&svm->s2[i], NULL));
}

void soft_post_tlb_flush_all(struct vm *vm, const struct vcpu *except)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && v != except)
            atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
    }
}
