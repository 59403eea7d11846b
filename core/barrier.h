/* Asymmetric fences for the Dekker pairs between a vCPU entering a run (hot: every
 * hv_vcpu_run) and a call that must know whether it did (rare: a snapshot's quiesce,
 * a stage-2 shootdown). Each side stores its flag and then loads the other's; the
 * store must be visible before the load. The hot side orders them with a compiler
 * barrier only, and the rare side makes every running thread of the process execute a
 * full fence with membarrier(2) between its own store and load, so one of the two
 * always sees the other. Where the kernel lacks the call, and in ThreadSanitizer
 * builds (which cannot see it), both sides use full fences. */
#ifndef ANYHV_CORE_BARRIER_H
#define ANYHV_CORE_BARRIER_H

#include <stdatomic.h>
#include <stdbool.h>

/* Decided once, before the first VM exists (vm_create): whether the hot side may
 * skip its fence. */
void barrier_init(void);
extern bool barrier_asymmetric;

/* Between the hot side's store and its load. */
static inline void barrier_hot(void)
{
    if (barrier_asymmetric)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
}

/* Between the rare side's store and its load. */
void barrier_rare(void);

#endif /* ANYHV_CORE_BARRIER_H */
