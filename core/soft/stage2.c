/* stage2.c - the soft backend's view of stage 2 and its shootdown. Each map change
 * publishes an immutable copy of the space's pmap; vCPUs read it without locks while
 * they execute. Before the change returns, every vCPU that was executing has left
 * that execution period (so none still uses an old host pointer) and will flush its
 * TLB before it executes again; only then is the old copy freed. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/barrier.h"
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

/* Only this thread writes exec_seq. Odd: executing; the fence before the requests are
 * read pairs with soft_quiesce's (core/barrier.h: this is the hot side). */
void soft_exec_enter(struct soft_vcpu *sv)
{
    uint64_t seq = atomic_load_explicit(&sv->exec_seq, memory_order_relaxed);
    atomic_store_explicit(&sv->exec_seq, seq + 1, memory_order_relaxed);
    barrier_hot();
    soft_guard_enter(sv);
    soft_host_fp_enter();
    uint32_t req = atomic_load(&sv->vcpu->requests);
    if (req & VCPU_REQ_TLB_FLUSH) {
        atomic_fetch_and(&sv->vcpu->requests, ~(uint32_t)VCPU_REQ_TLB_FLUSH);
        mmu_tlb_flush_all(&sv->cpu.tlb);
    }
}

/* Leaving is a release store: the waiter needs the period's accesses done when it
 * sees the change. */
void soft_exec_leave(struct soft_vcpu *sv)
{
    soft_host_fp_leave();
    soft_guard_leave();
    uint64_t seq = atomic_load_explicit(&sv->exec_seq, memory_order_relaxed);
    atomic_store_explicit(&sv->exec_seq, seq + 1, memory_order_release);
}

/* Called with vm->lock held (every poster of VCPU_REQ_TLB_FLUSH holds it, so while we
 * wait nobody but the vCPU itself touches that bit).
 *
 * Order: publish the new snapshot (done by the caller), post the flush to every vCPU,
 * the rare side's fence (core/barrier.h), then sample exec_seq. Then for each vCPU:
 * - seq even: it is not executing; its next soft_exec_enter increments seq after our
 *   sample and so loads requests after our post: it flushes before touching memory.
 * - seq odd (period S): wait until seq changes (it left period S, where it might hold
 *   old host pointers) OR the flush bit is gone. The bit can only be cleared by
 *   soft_exec_enter after it read our post, i.e. the vCPU flushed inside a period that
 *   began after the new snapshot was published; it runs with no request pending and
 *   never leaves on its own, so waiting for seq alone would wait forever. */
#define QUIESCE_SPINS 32u
static const struct timespec quiesce_nap = { 0, 20000 };   /* 20 us */

static bool executing_with_old_view(struct vcpu *v, struct soft_vcpu *sv, uint64_t seq)
{
    return atomic_load(&sv->exec_seq) == seq && (atomic_load(&v->requests) & VCPU_REQ_TLB_FLUSH);
}

void soft_quiesce(struct vm *vm)
{
    struct vcpu *posted[ANYHV_MAX_VCPUS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && v->be) {
            atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
            posted[n++] = v;
        }
    }
    barrier_rare();
    for (uint32_t i = 0; i < n; i++) {
        struct vcpu *v = posted[i];
        struct soft_vcpu *sv = v->be;
        uint64_t seq = atomic_load(&sv->exec_seq);
        if (!(seq & 1))
            continue;   /* not executing: it flushes before it executes again */
        /* Executing: it polls requests at every block boundary; blocks are short. On
         * a crowded host the vCPU's thread may be waiting for a CPU: after a few
         * yields, sleep so that it can have ours. */
        for (unsigned spins = 0; executing_with_old_view(v, sv, seq); spins++) {
            if (spins < QUIESCE_SPINS)
                sched_yield();
            else
                nanosleep(&quiesce_nap, NULL);
        }
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
    soft_quiesce(vm);
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
