/* gate.c - KVM route: no vCPU runs guest code while the memory slots change. KVM
 * cannot split or shrink a slot in place: hv_vm_protect of one page inside a RAM
 * region deletes the region's slot and adds its pieces back, and a vCPU running in
 * between would find its code or data missing (a spurious MMIO exit or an emulation
 * failure for memory the client never touched). So a slot update closes a gate that
 * every KVM_RUN passes, kicks the vCPUs inside KVM_RUN out (immediate_exit and the
 * kick signal; they do not return to the client, they wait at the gate), changes the
 * slots, and opens the gate again. */
#include "core/kvm/kvm.h"

#include <signal.h>
#include <time.h>

#define GATE_KICK_NS 1000000   /* re-kick every 1 ms until every vCPU is out */

void kvm_gate_init(struct kvm_vm *k)
{
    pthread_mutex_init(&k->gate_lock, NULL);
    pthread_cond_init(&k->gate_cond, NULL);
}

void kvm_gate_destroy(struct kvm_vm *k)
{
    pthread_mutex_destroy(&k->gate_lock);
    pthread_cond_destroy(&k->gate_cond);
}

void kvm_gate_enter(struct kvm_vm *k)
{
    pthread_mutex_lock(&k->gate_lock);
    while (k->gate_closed)
        pthread_cond_wait(&k->gate_cond, &k->gate_lock);
    k->in_run++;
    pthread_mutex_unlock(&k->gate_lock);
}

void kvm_gate_leave(struct kvm_vm *k)
{
    pthread_mutex_lock(&k->gate_lock);
    if (--k->in_run == 0 && k->gate_closed)
        pthread_cond_broadcast(&k->gate_cond);
    pthread_mutex_unlock(&k->gate_lock);
}

static void kick_all(struct vm *vm)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        struct kvm_vcpu *kv = v ? v->be : NULL;
        if (!kv)
            continue;
        __atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (atomic_load(&v->running))
            pthread_kill(v->owner, kvm_kick_signal());
    }
}

/* With vm->lock held: returns once no vCPU is inside KVM_RUN; none enters until
 * kvm_gate_open. */
void kvm_gate_close(struct vm *vm)
{
    struct kvm_vm *k = vm->be_data;
    pthread_mutex_lock(&k->gate_lock);
    k->gate_closed = true;
    while (k->in_run) {
        kick_all(vm);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += GATE_KICK_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->gate_cond, &k->gate_lock, &until);
    }
    pthread_mutex_unlock(&k->gate_lock);
}

void kvm_gate_open(struct vm *vm)
{
    struct kvm_vm *k = vm->be_data;
    pthread_mutex_lock(&k->gate_lock);
    k->gate_closed = false;
    pthread_cond_broadcast(&k->gate_cond);
    pthread_mutex_unlock(&k->gate_lock);
}
