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
 * A VMM that waits for interrupts itself (WFI/HLT exits) lets guest time pass with
 * anyhv_vcpu_idle (below), which jumps every idle vCPU to the next timer together.
 * Rules for clients (docs/determinism.md): create every vCPU before the first runs, and
 * keep running each vCPU (or destroy it); an exit handled by the client keeps the turn. */
#include <anyhv/anyhv.h>

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/a64_timer.h"
#include "core/vm.h"

/* While every other vCPU idles, the one running keeps its turn for up to this many
 * quanta (the idle ones look for interrupts at least that often). */
#define DET_IDLE_STREAK 16u

/* Slice of host time after which a run returns to the scheduler (so an idle vCPU
 * cannot keep the turn); the return is invisible when the vCPU is not idle. */
#define DET_IDLE_SLICE_NS 50000ull

struct det_sched {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t turn;          /* id of the vCPU whose turn it is */
    uint64_t used;          /* instructions it has retired in this turn */
    uint64_t seed;          /* of the guest's random numbers (vcpu_random) */
    /* Idle vCPUs (anyhv_vcpu_idle): those that found nothing at their last look, with
     * none run since (bit per id); the next timer of each, and the virtual time the
     * last jump of them all reached, in instructions. */
    uint64_t idle_mask;
    uint64_t wake_vt[ANYHV_MAX_VCPUS];
    uint64_t horizon_vt;
    uint64_t ran_gen;                  /* runs that retired instructions, counted */
    uint64_t look_gen[ANYHV_MAX_VCPUS];   /* ran_gen at each idle vCPU's last look */
    uint32_t streak;                   /* quanta the turn's holder kept it while the others idled */
    uint64_t vm_vt;                    /* the furthest vt_of() a vCPU had when it last left the scheduler (det_vm_ns) */
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

/* With d->lock held. */
static uint64_t vt_of(const struct vcpu *v)
{
    return v->icount + v->idle_insns;
}

/* v's clock moved (it ran or was credited idle time): the VM's time follows the
 * furthest vCPU. d->lock held, by v's thread (its count is its own) or with every
 * vCPU parked (a restore). */
static void note_vt(struct det_sched *d, const struct vcpu *v)
{
    if (vt_of(v) > d->vm_vt)
        d->vm_vt = vt_of(v);
}

uint64_t det_vm_ns(struct vm *vm)
{
    struct det_sched *d = vm->det;
    pthread_mutex_lock(&d->lock);
    uint64_t vt = d->vm_vt;
    pthread_mutex_unlock(&d->lock);
    return vt * DET_NS_PER_INSN;
}

/* A snapshot holds the rotation while it reads or replaces the VM: no vCPU that waits
 * for its turn (parked) can start meanwhile. */
void det_hold(struct vm *vm)
{
    if (vm->det)
        pthread_mutex_lock(&vm->det->lock);
}

/* How long a snapshot waits for the other vCPUs' threads to reach their turn waits. */
#define DET_SETTLE_TRIES 200u
#define DET_SETTLE_STEP_NS 1000000L

static bool all_settled(struct vm *vm, struct det_sched *d)
{
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && i != d->turn && !atomic_load(&v->parked) && !atomic_load(&v->turn_waiting))
            return false;
    }
    return true;
}

void det_settle(struct vm *vm)
{
    struct det_sched *d = vm->det;
    for (unsigned k = 0; d && k < DET_SETTLE_TRIES && !all_settled(vm, d); k++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += DET_SETTLE_STEP_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cond, &d->lock, &ts);
    }
}

void det_release(struct vm *vm)
{
    if (vm->det)
        pthread_mutex_unlock(&vm->det->lock);
}

void det_save(struct vm *vm, uint32_t *turn, uint64_t *used)
{
    struct det_sched *d = vm->det;
    *turn = d->turn;
    *used = d->used;
}

void det_save_idle(struct vm *vm, struct det_idle_state *out)
{
    const struct det_sched *d = vm->det;
    *out = (struct det_idle_state){ .idle_mask = d->idle_mask, .horizon_vt = d->horizon_vt, .ran_gen = d->ran_gen,
                                    .streak = d->streak };
    memcpy(out->wake_vt, d->wake_vt, sizeof(out->wake_vt));
    memcpy(out->look_gen, d->look_gen, sizeof(out->look_gen));
}

void det_restore_idle(struct vm *vm, const struct det_idle_state *in)
{
    struct det_sched *d = vm->det;
    static const struct det_idle_state none;
    if (!in)
        in = &none;
    d->idle_mask = in->idle_mask;
    d->horizon_vt = in->horizon_vt;
    d->ran_gen = in->ran_gen;
    d->streak = in->streak < DET_IDLE_STREAK ? in->streak : 0;
    memcpy(d->wake_vt, in->wake_vt, sizeof(d->wake_vt));
    memcpy(d->look_gen, in->look_gen, sizeof(d->look_gen));
    /* Every vCPU left the scheduler when saved: the VM's time is the furthest clock. */
    d->vm_vt = 0;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v)
            note_vt(d, v);
    }
}

void det_restore(struct vm *vm, uint32_t turn, uint64_t used)
{
    struct det_sched *d = vm->det;
    d->turn = turn;
    d->used = used <= DET_QUANTUM ? used : 0;   /* a whole quantum: it ended at the exit being handled */
    pthread_cond_broadcast(&d->cond);
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

/* The turn moves on. Idle vCPUs catch up with the virtual time the holder reached
 * (horizon_vt): they idled while it ran. */
static void pass_turn(struct vm *vm, struct det_sched *d, uint32_t from)
{
    if (d->turn != from)
        return;
    struct vcpu *f = atomic_load(&vm->vcpus[from]);
    if (f && vt_of(f) > d->horizon_vt)
        d->horizon_vt = vt_of(f);
    d->turn = next_in_rotation(vm, from);
    d->used = 0;
    d->streak = 0;
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
        if (!atomic_load(&vm->vcpus[d->turn])) {
            pass_turn(vm, d, d->turn);
        } else {
            atomic_store(&v->turn_waiting, true);
            pthread_cond_wait(&d->cond, &d->lock);
            atomic_store(&v->turn_waiting, false);
        }
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
    note_vt(d, v);
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

/* ---- the client's device timer (anyhv_vcpu_set_timer_deadline) ----
 * A VMM's own timer (a PIT, an HPET, a console poll) in the vCPU's virtual time: a run
 * is cut at the instruction where that time reaches it and returns to the client, an
 * in-library idle (the Intel APIC's HLT) stops there, and anyhv_vcpu_idle counts it
 * among the vCPU's timers. One-shot: cleared when it ends a run. */

/* The instruction count at which v's virtual time reaches its client timer, or
 * UINT64_MAX for none. */
static uint64_t client_due_icount(const struct vcpu *v)
{
    if (!v->timer_deadline_ns)
        return UINT64_MAX;
    uint64_t insns = (v->timer_deadline_ns + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN;
    return insns > v->idle_insns ? insns - v->idle_insns : 0;
}

bool det_client_timer_fire(struct vcpu *v)
{
    if (!v->vm->det || !v->timer_deadline_ns || vcpu_guest_ns(v, v->icount) < v->timer_deadline_ns)
        return false;
    v->timer_deadline_ns = 0;
    v->timer_fired = true;
    return true;
}

hv_return_t anyhv_vcpu_set_timer_deadline(uint64_t vcpu, uint64_t deadline_ns)
{
    struct vcpu *v;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (!v->vm->det)
        return HV_UNSUPPORTED;
    v->timer_deadline_ns = deadline_ns;
    return HV_SUCCESS;
}

/* ---- idle vCPUs (anyhv_vcpu_idle) ----
 * Virtual time in instructions ("vt"): retired instructions plus idle credit. A vCPU
 * that idles gives its turn away at once; at its next turn it catches up with the
 * virtual time the others reached meanwhile (horizon_vt, never past its own timer), so
 * the clocks stay in step, and looks again. While every other vCPU idles, the one that
 * runs keeps its turn for up to DET_IDLE_STREAK quanta (fewer thread switches for the
 * same schedule: an idle one looks at least that often, at once when its timer is due).
 * When every vCPU idles - each looked at its turn, found nothing, and none ran since -
 * they all jump to the earliest timer among them: the horizon moves there. */
/* Credits up to `insns`, at most the rest of v's turn, which passes on once used up.
 * With d->lock held; returns the credit. */
static uint64_t turn_credit(struct vcpu *v, struct det_sched *d, uint64_t insns)
{
    uint64_t left = d->turn == v->id && d->used < DET_QUANTUM ? DET_QUANTUM - d->used : 0;
    uint64_t n = insns < left ? insns : left;
    v->idle_insns += n;
    d->used += n;
    note_vt(d, v);
    if (d->used >= DET_QUANTUM)
        pass_turn(v->vm, d, v->id);
    return n;
}

/* A vCPU behind the horizon catches up with it (never past its own timer). d->lock held. */
static uint64_t catch_up(struct vcpu *v, struct det_sched *d, uint64_t due_vt)
{
    uint64_t now = vt_of(v), to = d->horizon_vt < due_vt ? d->horizon_vt : due_vt;
    if (to <= now)
        return 0;
    v->idle_insns += to - now;
    note_vt(d, v);
    return to - now;
}

/* v's next timer expiry in vt (the arm64 virtual timer, the Intel in-framework APIC
 * timer), UINT64_MAX for none. */
static uint64_t timer_due_vt(struct vcpu *v)
{
    if (v->vm->arch == GUEST_ARM64) {
        uint64_t due = vtimer_due_icount(v), client = client_due_icount(v);
        due = client < due ? client : due;
        return due == UINT64_MAX ? UINT64_MAX : due + v->idle_insns;
    }
    uint64_t due_ns = v->vm->timer_due_ns ? v->vm->timer_due_ns(v) : UINT64_MAX;
    if (v->timer_deadline_ns && v->timer_deadline_ns < due_ns)
        due_ns = v->timer_deadline_ns;
    return due_ns == UINT64_MAX ? UINT64_MAX : (due_ns + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN;
}

/* With every vCPU of the rotation idle, each since its last look, the earliest of their
 * timers (UINT64_MAX: none); 0 while one is not. d->lock held. */
static uint64_t all_idle_wake(struct vm *vm, struct det_sched *d)
{
    uint64_t wake = UINT64_MAX;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        if (!atomic_load(&vm->vcpus[i]))
            continue;
        if (!(d->idle_mask & (1ull << i)) || d->look_gen[i] != d->ran_gen)
            return 0;
        wake = d->wake_vt[i] < wake ? d->wake_vt[i] : wake;
    }
    return wake;
}

/* The holder of the turn keeps it at the end of a quantum: every other vCPU idles and
 * none's timer is due by the holder's time, for at most DET_IDLE_STREAK quanta. */
static bool keep_turn(struct vcpu *v, struct det_sched *d)
{
    if (d->streak + 1 >= DET_IDLE_STREAK)
        return false;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        if (i == v->id || !atomic_load(&v->vm->vcpus[i]))
            continue;
        if (!(d->idle_mask & (1ull << i)) || d->wake_vt[i] <= vt_of(v))
            return false;
    }
    return true;
}

/* An idle look that found nothing: give the turn away, or jump with everyone. d->lock
 * held; returns the credit. */
static uint64_t idle_step(struct vcpu *v, struct det_sched *d, uint64_t due)
{
    d->idle_mask |= 1ull << v->id;
    d->wake_vt[v->id] = due;
    d->look_gen[v->id] = d->ran_gen;
    uint64_t wake = all_idle_wake(v->vm, d), credit = 0;
    if (wake && wake != UINT64_MAX) {
        if (wake > d->horizon_vt)
            d->horizon_vt = wake;
        credit = catch_up(v, d, due);
    }
    /* Someone may run, the timer is another vCPU's, or nobody has one (and the VMM's
     * own input must wake someone): let the others look. */
    if (vt_of(v) < due)
        pass_turn(v->vm, d, v->id);
    return credit;
}

hv_return_t anyhv_vcpu_idle(uint64_t vcpu, uint64_t max_ns, uint64_t *idle_ns)
{
    struct vcpu *v;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    uint64_t credit = 0;
    struct det_sched *d = v->vm->det;
    if (d) {
        det_turn_wait(v);
        uint64_t due = timer_due_vt(v);
        pthread_mutex_lock(&d->lock);
        credit = catch_up(v, d, due);
        uint64_t now = vt_of(v), max = max_ns ? (max_ns + DET_NS_PER_INSN - 1) / DET_NS_PER_INSN : 0;
        if (max)   /* a bounded wait (WFE): not idle, others' clocks do not jump */
            credit += turn_credit(v, d, due > now && due - now < max ? due - now : due > now ? max : 0);
        else if (due > now)
            credit += idle_step(v, d, due);
        pthread_mutex_unlock(&d->lock);
        det_turn_wait(v);
        due = timer_due_vt(v);
        pthread_mutex_lock(&d->lock);
        credit += catch_up(v, d, due);
        pthread_mutex_unlock(&d->lock);
        v->exec_time_ns = vcpu_guest_ns(v, v->icount);
    }
    if (idle_ns)
        *idle_ns = credit * DET_NS_PER_INSN;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_wait_turn(uint64_t vcpu)
{
    struct vcpu *v;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    struct det_sched *d = r == HV_SUCCESS ? v->vm->det : NULL;
    if (d) {
        det_turn_wait(v);
        uint64_t due = timer_due_vt(v);
        pthread_mutex_lock(&d->lock);
        catch_up(v, d, due);
        pthread_mutex_unlock(&d->lock);
        v->exec_time_ns = vcpu_guest_ns(v, v->icount);
    }
    return r;
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

/* v's quantum is used up: it keeps the turn for another (keep_turn) or passes it on.
 * d->lock held. */
static void quantum_end(struct vcpu *v, struct det_sched *d)
{
    if (keep_turn(v, d)) {
        d->used = 0;
        d->streak++;
    } else {
        pass_turn(v->vm, d, v->id);
    }
}

/* Whether the turn moves on after a run of the backend. An exit returned to the client
 * keeps the turn even when the quantum ended at its instruction (a timer deadline at
 * the quantum's last instruction): the client handles it with the turn held, as every
 * other exit, and the quantum ends at the next entry. d->lock held. */
static void turn_after_run(struct vcpu *v, struct det_sched *d, enum det_outcome o, bool ran)
{
    if (ran) {
        d->idle_mask &= ~(1ull << v->id);   /* it ran: the others' looks are stale */
        d->ran_gen++;
    }
    if (o == DET_RETURN_YIELD || o == DET_CONTINUE_YIELD)
        pass_turn(v->vm, d, v->id);
    else if (d->used >= DET_QUANTUM && o != DET_RETURN)
        quantum_end(v, d);
}

hv_return_t det_vcpu_run(struct vcpu *v, uint64_t deadline_ns)
{
    struct vm *vm = v->vm;
    struct det_sched *d = vm->det;
    /* done: instructions retired in this call, counted run by run (a snapshot restored
     * while the vCPU is parked replaces its count) */
    uint64_t client_budget = v->insn_budget, done = 0;
    hv_return_t r = HV_SUCCESS;
    bool first_entry = true;
    v->timer_fired = false;
    pthread_mutex_lock(&d->lock);
    if (d->turn == v->id && d->used >= DET_QUANTUM)
        quantum_end(v, d);   /* it ended at the exit the client handled */
    for (;;) {
        while (d->turn != v->id) {
            /* A turn whose vCPU is gone (or never was) moves on to the next id, the
             * same choice whoever makes it: det_vcpu_gone, or a waiter that got here
             * first. */
            if (!atomic_load(&vm->vcpus[d->turn])) {
                pass_turn(vm, d, d->turn);
                continue;
            }
            /* Parked: outside the backend, its state whole; a snapshot may read or
             * replace it (det_hold). */
            atomic_store(&v->parked, true);
            pthread_cond_wait(&d->cond, &d->lock);
            atomic_store(&v->parked, false);
        }
        if (client_budget && done >= client_budget) {
            /* The client's budget ran out in a run that went on (it ended at the same
             * instruction for another reason, a host-time slice): its stop, exactly. */
            v->exit.kind = EXIT_BUDGET;
            v->exit.icount = v->icount;
            break;
        }
        uint64_t run_budget = DET_QUANTUM - d->used;
        bool client_limited = false, timer_limited = false;
        if (client_budget && client_budget - done <= run_budget) {
            run_budget = client_budget - done;
            client_limited = true;
        }
        uint64_t due = vtimer_due_icount(v), client_due = client_due_icount(v);
        if (client_due <= v->icount && det_client_timer_fire(v)) {
            /* The client's timer is due before any instruction: back to it at once. */
            v->exit = (struct anyhv_exit){ .kind = EXIT_BUDGET, .icount = v->icount };
            break;
        }
        if (due > v->icount && due - v->icount < run_budget) {
            run_budget = due - v->icount;
            client_limited = false;
            timer_limited = true;
        }
        if (client_due > v->icount && client_due - v->icount <= run_budget) {
            run_budget = client_due - v->icount;
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
        done += v->icount - before;
        note_vt(d, v);
        if (r != HV_SUCCESS)
            break;
        enum det_outcome o = classify(v, client_limited && v->exit.kind == EXIT_BUDGET, deadline_ns);
        if (timer_limited && v->exit.kind == EXIT_BUDGET)
            o = det_client_timer_fire(v) ? DET_RETURN   /* the client's timer: its exit */
                                         : DET_CONTINUE;   /* at the timer's instruction: go on, it is seen at the entry */
        if (v->exit.kind == EXIT_DEADLINE && o == DET_CONTINUE_YIELD && d->used < DET_QUANTUM) {
            v->idle_insns += DET_QUANTUM - d->used;   /* idle time: its clock goes on */
            note_vt(d, v);
        }
        turn_after_run(v, d, o, v->icount != before);
        if (o == DET_RETURN || o == DET_RETURN_YIELD)
            break;
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

