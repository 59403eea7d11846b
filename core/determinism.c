/* Deterministic mode (anyhv_set_deterministic, ANYHV_DETERMINISTIC=1), software route.
 * Two things make a run a function of its inputs only:
 * - time: every guest clock is the vCPU's virtual time, (retired instructions + idle
 *   credit) x DET_NS_PER_INSN, never the host's (vcpu_guest_ns);
 * - order: the vCPUs of the VM take turns in a fixed rotation by id, each retiring
 *   DET_QUANTUM instructions per turn (exactly: the turn ends on an instruction budget),
 *   so two vCPUs never run at once and every switch happens at the same instruction in
 *   every run. The scheduler sits around the backend's run call: a vCPU's thread waits
 *   in hv_vcpu_run until its turn comes; a quantum ending inside a run is invisible to
 *   the client. A vCPU gives up the rest of its turn when it exits with HLT/WFI, when it
 *   idles inside the backend (x86 HLT without HLT exiting) - then it is credited the
 *   rest of the quantum as idle time, so its timers still come due - and when destroyed.
 * Rules for clients (docs/determinism.md): create every vCPU before the first runs, and
 * keep running each vCPU (or destroy it); an exit handled by the client keeps the turn. */
#include <anyhv/anyhv.h>

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/a64_timer.h"
#include "core/vm.h"

/* Slice of host time after which a run returns to the scheduler (so an idle vCPU
 * cannot keep the turn); the return is invisible when the vCPU is not idle. */
#define DET_IDLE_SLICE_NS 50000ull

struct det_sched {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t turn;          /* id of the vCPU whose turn it is */
    uint64_t used;          /* instructions it has retired in this turn */
    uint64_t seed;          /* of the guest's random numbers (vcpu_random) */
};

/* SplitMix64's finaliser: a bijective mix, so distinct inputs give distinct draws. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define DET_DEFAULT_SEED 0x616e7968765f6465ull   /* "anyhv_de" */
#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

static uint64_t det_seed(void)
{
    const char *env = getenv("ANYHV_DETERMINISTIC_SEED");
    return env && *env ? strtoull(env, NULL, 0) : DET_DEFAULT_SEED;
}

static _Atomic bool det_requested;   /* the extension call's choice for the next VM */
static _Atomic bool det_requested_set;

bool det_wanted(void)
{
    if (atomic_load(&det_requested_set))
        return atomic_load(&det_requested);
    const char *env = getenv("ANYHV_DETERMINISTIC");
    return env && *env && strcmp(env, "0") != 0;
}

hv_return_t det_enable(struct vm *vm)
{
    struct det_sched *d = calloc(1, sizeof(*d));
    if (!d)
        return HV_NO_RESOURCES;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->seed = det_seed();
    vm->det = d;
    return HV_SUCCESS;
}

void det_free(struct vm *vm)
{
    struct det_sched *d = vm->det;
    if (!d)
        return;
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    free(d);
    vm->det = NULL;
}

static hv_return_t set_deterministic_held(struct vm *vm, bool enable)
{
    if (!vm) {
        atomic_store(&det_requested, enable);
        atomic_store(&det_requested_set, true);
        return HV_SUCCESS;
    }
    if (vm->be->kind != BACKEND_SOFT)
        return enable ? HV_UNSUPPORTED : HV_SUCCESS;
    /* vcpu_run sets `ran` under the same lock: no run starts with a scheduler that
     * this call is about to free. */
    pthread_mutex_lock(&vm->lock);
    hv_return_t r = HV_SUCCESS;
    if (atomic_load(&vm->ran))
        r = (vm->det != NULL) == enable ? HV_SUCCESS : HV_BUSY;
    else if (enable && !vm->det)
        r = det_enable(vm);
    else if (!enable)
        det_free(vm);
    pthread_mutex_unlock(&vm->lock);
    return r;
}

hv_return_t anyhv_set_deterministic(bool enable)
{
    hv_return_t r = set_deterministic_held(vm_hold(), enable);
    vm_release();
    return r;
}

bool anyhv_is_deterministic(void)
{
    struct vm *vm = vm_hold();
    bool det;
    if (vm) {
        pthread_mutex_lock(&vm->lock);
        det = vm->det != NULL;
        pthread_mutex_unlock(&vm->lock);
    } else {
        det = det_wanted();
    }
    vm_release();
    return det;
}

uint64_t vcpu_guest_ns(const struct vcpu *v, uint64_t icount)
{
    if (!v->vm->det)
        return host_monotonic_ns();
    return (icount + v->idle_insns) * DET_NS_PER_INSN;
}

uint64_t vcpu_random(const struct vcpu *v, uint64_t icount)
{
    if (v->vm->det)
        return mix64(v->vm->det->seed ^ mix64(((uint64_t)v->id << 56) ^ (icount * GOLDEN_GAMMA)));
    uint64_t r;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
        return r;
    return mix64(host_monotonic_ns() ^ (icount * GOLDEN_GAMMA) ^ ((uint64_t)v->id << 56));
}

void det_save(struct vm *vm, uint32_t *turn, uint64_t *used)
{
    struct det_sched *d = vm->det;
    pthread_mutex_lock(&d->lock);
    *turn = d->turn;
    *used = d->used;
    pthread_mutex_unlock(&d->lock);
}

void det_restore(struct vm *vm, uint32_t turn, uint64_t used)
{
    struct det_sched *d = vm->det;
    pthread_mutex_lock(&d->lock);
    d->turn = turn;
    d->used = used < DET_QUANTUM ? used : 0;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

/* The next vCPU id after `id` in the rotation (the same one when it is alone). */
static uint32_t next_in_rotation(struct vm *vm, uint32_t id)
{
    for (uint32_t k = 1; k <= ANYHV_MAX_VCPUS; k++) {
        uint32_t n = (id + k) % ANYHV_MAX_VCPUS;
        if (atomic_load(&vm->vcpus[n]))
            return n;
    }
    return id;
}

/* With d->lock held. */
static void pass_turn(struct vm *vm, struct det_sched *d, uint32_t from)
{
    if (d->turn != from)
        return;
    d->turn = next_in_rotation(vm, from);
    d->used = 0;
    pthread_cond_broadcast(&d->cond);
}

void det_vcpu_gone(struct vcpu *v)
{
    struct det_sched *d = v->vm->det;
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    pass_turn(v->vm, d, v->id);
    pthread_mutex_unlock(&d->lock);
}

void det_turn_wait(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct det_sched *d = vm->det;
    pthread_mutex_lock(&d->lock);
    while (d->turn != v->id) {
        if (!atomic_load(&vm->vcpus[d->turn]))
            pass_turn(vm, d, d->turn);
        else
            pthread_cond_wait(&d->cond, &d->lock);
    }
    pthread_mutex_unlock(&d->lock);
}

uint64_t det_idle(struct vcpu *v, uint64_t insns)
{
    struct det_sched *d = v->vm->det;
    pthread_mutex_lock(&d->lock);
    uint64_t left = d->turn == v->id && d->used < DET_QUANTUM ? DET_QUANTUM - d->used : 0;
    uint64_t n = insns < left ? insns : left;
    v->idle_insns += n;
    d->used += n;
    if (d->used >= DET_QUANTUM)
        pass_turn(v->vm, d, v->id);
    pthread_mutex_unlock(&d->lock);
    return n;
}

bool det_alone(struct vcpu *v)
{
    return next_in_rotation(v->vm, v->id) == v->id;
}

/* The instruction count at which v's virtual time reaches the arm64 virtual timer's
 * condition (CNTVCT >= CVAL, enabled and not IMASKed), or UINT64_MAX. A run is cut
 * there, so the timer is seen at that exact instruction whichever tier runs the code
 * (chained compiled blocks look at events only between chains, and when code is
 * compiled depends on the host). The Intel APIC timer gets the same cut in intr.c. */
static uint64_t vtimer_due_icount(const struct vcpu *v)
{
    if (v->vm->arch != GUEST_ARM64)
        return UINT64_MAX;
    const struct a64_state *st = v->st.a64;
    uint64_t off = v->ext.a64.vtimer_offset, cval = st->sys.cntv_cval_el0;
    if ((st->sys.cntv_ctl_el0 & A64_CNT_CTL_WRITABLE) != A64_CNT_CTL_ENABLE || cval > UINT64_MAX - off)
        return UINT64_MAX;
    /* The first ns whose counter, floor(ns x F / 1e9), reaches cval + off. */
    unsigned __int128 ns = ((unsigned __int128)(cval + off) * 1000000000ull + A64_CNTFRQ - 1) / A64_CNTFRQ;
    unsigned __int128 insns = (ns + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN;
    if (insns > UINT64_MAX)
        return UINT64_MAX;
    return (uint64_t)insns > v->idle_insns ? (uint64_t)insns - v->idle_insns : 0;
}

/* What a run of the backend under the scheduler ended with. */
enum det_outcome { DET_RETURN, DET_RETURN_YIELD, DET_CONTINUE, DET_CONTINUE_YIELD };

static enum det_outcome classify(struct vcpu *v, bool client_budget_done, uint64_t deadline_ns)
{
    switch (v->exit.kind) {
    case EXIT_BUDGET:
        return client_budget_done ? DET_RETURN : DET_CONTINUE_YIELD;   /* else the quantum ended */
    case EXIT_DEADLINE:
        if (deadline_ns != BACKEND_NO_DEADLINE && host_monotonic_ns() >= deadline_ns)
            return DET_RETURN;   /* the client's own deadline */
        return v->vm->be->idle && v->vm->be->idle(v) ? DET_CONTINUE_YIELD : DET_CONTINUE;
    case EXIT_HLT:
        return DET_RETURN_YIELD;   /* waits for another vCPU or the client: give the turn away */
    default:
        return DET_RETURN;
    }
}

hv_return_t det_vcpu_run(struct vcpu *v, uint64_t deadline_ns)
{
    struct vm *vm = v->vm;
    struct det_sched *d = vm->det;
    uint64_t client_budget = v->insn_budget, start = v->icount;
    hv_return_t r = HV_SUCCESS;
    bool first_entry = true;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (d->turn != v->id) {
            /* A turn whose vCPU is gone (or never was) moves on to the next id, the
             * same choice whoever makes it: det_vcpu_gone, or a waiter that got here
             * first. */
            if (!atomic_load(&vm->vcpus[d->turn])) {
                pass_turn(vm, d, d->turn);
                continue;
            }
            pthread_cond_wait(&d->cond, &d->lock);
        }
        uint64_t run_budget = DET_QUANTUM - d->used;
        bool client_limited = false, timer_limited = false;
        if (client_budget && client_budget - (v->icount - start) <= run_budget) {
            run_budget = client_budget - (v->icount - start);
            client_limited = true;
        }
        uint64_t due = vtimer_due_icount(v);
        if (due > v->icount && due - v->icount < run_budget) {
            run_budget = due - v->icount;
            client_limited = false;
            timer_limited = true;
        }
        pthread_mutex_unlock(&d->lock);
        if (first_entry)
            rec_vcpu_entry(v);   /* the client's inputs since the last exit (record.c) */
        first_entry = false;
        uint64_t before = v->icount, now = host_monotonic_ns();
        uint64_t slice = now + DET_IDLE_SLICE_NS < deadline_ns ? now + DET_IDLE_SLICE_NS : deadline_ns;
        v->insn_budget = run_budget ? run_budget : 1;
        r = vm->be->vcpu_run(v, slice);
        v->insn_budget = client_budget;
        rec_vcpu_exit(v);
        pthread_mutex_lock(&d->lock);
        d->used += v->icount - before;
        if (r != HV_SUCCESS)
            break;
        enum det_outcome o = classify(v, client_limited && v->exit.kind == EXIT_BUDGET, deadline_ns);
        if (timer_limited && v->exit.kind == EXIT_BUDGET)
            o = DET_CONTINUE;   /* at the timer's instruction: go on, it is seen at the entry */
        if (v->exit.kind == EXIT_DEADLINE && o == DET_CONTINUE_YIELD && d->used < DET_QUANTUM)
            v->idle_insns += DET_QUANTUM - d->used;   /* idle time: its clock goes on */
        if (o == DET_RETURN_YIELD || o == DET_CONTINUE_YIELD || d->used >= DET_QUANTUM)
            pass_turn(vm, d, v->id);
        if (o == DET_RETURN || o == DET_RETURN_YIELD)
            break;
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}
