/* run.c - the soft CPU's dispatcher: one vcpu_run. Requests (cancel, TLB flush) and
 * the budget are polled at block boundaries; blocks come from the translation cache
 * and run in the interpreter; faults unwind here; STOPs go to the frontend; a halted
 * vCPU sleeps until cancel, its wake time or the deadline, never spinning. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/soft/soft_internal.h"

/* Blocks between deadline checks (a clock read each). */
#define SOFT_DEADLINE_CHECK_BLOCKS 256u

static void fill_exit(struct soft_cpu *cpu, enum exit_kind kind)
{
    struct anyhv_exit *x = &cpu->vcpu->exit;
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->pc = cpu->fe->get_pc(cpu);
    x->icount = cpu->icount;
}

void soft_internal_exit(struct soft_cpu *cpu, uint32_t code, uint64_t detail)
{
    fill_exit(cpu, EXIT_INTERNAL);
    cpu->vcpu->exit.u.internal.code = code;
    cpu->vcpu->exit.u.internal.detail = detail;
    cpu->stop = SOFT_STOP_EXIT;
}

/* A block ended with STOP: retire the instruction if the pc moved past it, then let
 * the frontend decide (or apply the defaults documented in soft.h). */
static void handle_ir_stop(struct soft_cpu *cpu)
{
    if (cpu->insn_open && cpu->fe->get_pc(cpu) != cpu->insn_pc)
        cpu->icount++;
    cpu->insn_open = 0;
    cpu->stop = SOFT_RUN;
    if (cpu->fe->stop) {
        cpu->fe->stop(cpu, cpu->stop_reason, cpu->stop_detail);
        return;
    }
    switch (cpu->stop_reason) {
    case IR_STOP_EXIT:
        fill_exit(cpu, (enum exit_kind)cpu->stop_detail);
        cpu->stop = SOFT_STOP_EXIT;
        break;
    case IR_STOP_HALT:
        cpu->halted = true;
        break;
    case IR_STOP_SYSTEM:
        break;
    default:
        soft_internal_exit(cpu, SOFT_INTERNAL_STOP, cpu->stop_reason);
        break;
    }
}

/* Whether link k of prev still leads where the cache would: made under the current
 * TLB, or the TLB maps the pc to the block's page now (a flush of other pages, or a
 * refill with the same translation; the cache's key is the pc's page too). */
static bool link_translation_ok(struct soft_vcpu *sv, struct tc_block *prev, unsigned k)
{
    uint64_t gpage;
    if (prev->link_tlb_gen[k] == sv->cpu.tlb.flush_gen)
        return true;
    if (!mmu_fetch_gpage_cached(&sv->cpu, prev->link_pc[k], &gpage) || gpage != (prev->link[k]->gpa & MMU_PAGE_MASK))
        return false;
    prev->link_tlb_gen[k] = sv->cpu.tlb.flush_gen;
    return true;
}

/* The successor of prev recorded for (pc, mode), if still usable. */
static struct tc_block *follow_link(struct soft_vcpu *sv, struct tc_block *prev, uint64_t pc, uint32_t mode,
                                   uint64_t epoch)
{
    for (unsigned k = 0; k < 2; k++) {
        struct tc_block *n = prev->link[k];
        if (n && prev->link_pc[k] == pc && prev->link_free_gen[k] == sv->tc.free_gen && n->mode == mode &&
            n->guest_insns <= sv->cpu.budget - sv->cpu.icount && tc_block_valid(n, epoch) &&
            link_translation_ok(sv, prev, k) && soft_block_recheck(sv, n))
            return n;
    }
    return NULL;
}

static void make_link(struct soft_vcpu *sv, struct tc_block *prev, struct tc_block *next, uint64_t pc)
{
    unsigned k = prev->link[0] && prev->link_pc[0] != pc ? 1u : 0u;
    prev->link[k] = next;
    prev->link_pc[k] = pc;
    prev->link_free_gen[k] = sv->tc.free_gen;
    prev->link_tlb_gen[k] = sv->cpu.tlb.flush_gen;
}

/* The block to run at the current pc: the previous block's link, else the cache. */
static struct tc_block *next_block(struct soft_vcpu *sv, struct tc_block *prev)
{
    struct soft_cpu *cpu = &sv->cpu;
    uint64_t pc = cpu->fe->get_pc(cpu);
    uint32_t mode = cpu->fe->mode_key(cpu);
    if (prev) {
        uint64_t epoch = atomic_load_explicit(&sv->svm->s2_epoch, memory_order_acquire);
        struct tc_block *n = follow_link(sv, prev, pc, mode, epoch);
        if (n) {
            sv->link_hits++;
            return n;
        }
    }
    sv->lookups++;
    uint64_t free_gen = sv->tc.free_gen;
    struct tc_block *blk = soft_block_for_pc(sv, pc, mode);
    /* Link only when prev survived the lookup and blk is a cached block. */
    if (blk && prev && sv->tc.free_gen == free_gen && blk != sv->temp_block)
        make_link(sv, prev, blk, pc);
    return blk;
}

/* Run one block: its compiled code when it has some (which may chain on through
 * other compiled blocks: *last is the block that ended and *exit its direct exit, or
 * JIT_EXIT_NONE), else the interpreter. Returns the blocks run. */
static uint32_t run_block(struct soft_vcpu *sv, struct tc_block *blk, struct tc_block **last, uint32_t *exit,
                          enum interp_result *r)
{
    struct soft_cpu *cpu = &sv->cpu;
    if (sv->jit && blk->jit.state == JIT_BLOCK_COLD)
        soft_jit_consider(sv, blk);   /* hot now (at once when eager): compile */
    else if (blk->jit.heat_limit && blk->jit.heat >= blk->jit.heat_limit && blk->jit.level == JIT_LEVEL_REGION)
        soft_jit_promote(sv, blk);    /* a warm region that keeps running: optimise it */
    jit_fn fn = atomic_load_explicit(&blk->jit.fn, memory_order_relaxed);
    *exit = JIT_EXIT_NONE;
    sv->cur_blk = blk;
    if (fn && blk->nregion && blk->region_run != sv->check_gen) {
        /* The region runs its other blocks without the dispatcher: their bytes get
         * the once-a-generation check here. A rewritten one leaves the interpreter
         * this time (this block's own bytes were checked) and retranslation after. */
        bool same = true;
        for (uint32_t i = 0; i < blk->nregion && same; i++)
            same = soft_block_recheck(sv, blk->region[i]);
        if (same)
            blk->region_run = sv->check_gen;
        else
            fn = NULL;
    }
    if (!fn) {
        sv->blocks_interp++;
        *r = interp_run(cpu, &blk->prog);
        *last = blk;
        return 1;
    }
    /* Breakpoints are checked at block boundaries: no chaining while any is set. */
    bool quiet = !sv->vcpu->dbg.nbp && cpu->fe->events_quiet && cpu->fe->events_quiet(cpu);
    sv->jctx.chain_left = quiet ? JIT_CHAIN_MAX : 0;
    sv->jctx.chain_epoch = soft_jit_chain_epoch(sv);
    sv->jctx.chain_epoch_page = soft_jit_chain_epoch_page(sv);
    sv->jctx.last_exit = JIT_EXIT_NONE;
    *r = (enum interp_result)jit_call(sv->jit, fn, cpu, cpu->state);
    *last = sv->cur_blk;
    soft_jit_note_return(sv, *last, *r != INTERP_EXIT, quiet);
    /* A block compiled alone leaves for the dispatcher at its heat limit: optimise it. */
    struct tc_block *l = *last;
    if (l->jit.heat_limit && l->jit.heat >= l->jit.heat_limit && l->jit.level == JIT_LEVEL_BLOCK)
        soft_jit_promote(sv, l);
    *exit = *r == INTERP_EXIT ? sv->jctx.last_exit : JIT_EXIT_NONE;
    uint32_t ran = quiet ? 1u + (JIT_CHAIN_MAX - sv->jctx.chain_left) : 1u;
    sv->blocks_jit += ran;
    return ran;
}

/* Note blk as the block this run ended in (see soft_vcpu.resume_blk). */
static void note_resume(struct soft_vcpu *sv, struct tc_block *blk)
{
    sv->resume_blk = blk == sv->temp_block ? NULL : blk;
    sv->resume_free_gen = sv->tc.free_gen;
}

/* The block to link from at the start of a run: the one the last run ended in, if
 * it still exists and the next instruction may run in a whole block. */
static struct tc_block *take_resume(struct soft_vcpu *sv)
{
    struct tc_block *blk = sv->resume_blk;
    sv->resume_blk = NULL;
    return blk && sv->resume_free_gen == sv->tc.free_gen && !sv->smc_restart ? blk : NULL;
}

/* Run blocks until something needs the dispatcher; cpu->stop says what. Called
 * inside an execution period, under setjmp (faults unwind past it). */
static void run_blocks(struct soft_vcpu *sv, uint64_t deadline_ns)
{
    struct soft_cpu *cpu = &sv->cpu;
    struct vcpu *vcpu = sv->vcpu;
    uint32_t until_clock = SOFT_DEADLINE_CHECK_BLOCKS;
    if (sv->checks_due) {
        sv->checks_due = false;
        soft_checks_begin(sv);
    }
    struct tc_block *prev = take_resume(sv);
    uint32_t prev_exit = JIT_EXIT_NONE;
    for (;;) {
        cpu->stop = SOFT_RUN;
        if (atomic_load_explicit(&vcpu->requests, memory_order_acquire) || sv->broadcast_pending)
            return;
        if (cpu->icount >= cpu->budget) {
            fill_exit(cpu, EXIT_BUDGET);
            cpu->stop = SOFT_STOP_EXIT;
            return;
        }
        if (deadline_ns != BACKEND_NO_DEADLINE && until_clock == 0) {
            until_clock = SOFT_DEADLINE_CHECK_BLOCKS;
            if (host_monotonic_ns() >= deadline_ns) {
                fill_exit(cpu, EXIT_DEADLINE);
                cpu->stop = SOFT_STOP_EXIT;
                return;
            }
        }
        if (cpu->fe->check_events && !cpu->fe->check_events(cpu)) {
            if (cpu->stop == SOFT_RUN)
                cpu->stop = SOFT_STOP_SYSTEM;
            return;
        }
        if (cpu->halted) {
            cpu->stop = SOFT_STOP_HALT;
            return;
        }
        /* A plain load first: most blocks find nothing to install. */
        if (sv->jit && atomic_load_explicit(&sv->jctx.ready, memory_order_relaxed))
            jit_install_ready(sv->jit);
        bool no_link = false;
        if (vcpu->dbg.nbp && soft_debug_boundary(sv, &no_link))
            return;   /* a breakpoint (anyhv_vcpu_set_breakpoint): the exit is filled */
        uint64_t free_gen = sv->tc.free_gen;
        struct tc_block *blk = next_block(sv, no_link ? NULL : prev);
        if (!blk)
            return;
        if (sv->tc.free_gen != free_gen)
            prev = NULL;   /* the lookup freed blocks (eviction): prev may be one */
        if (prev && prev_exit != JIT_EXIT_NONE && !no_link)
            soft_jit_link(sv, prev, prev_exit, blk);
        blk->exec_count++;
        cpu->insn_open = 0;
        sv->smc_restart = false;
        enum interp_result r;
        struct tc_block *last;
        uint32_t ran = run_block(sv, blk, &last, &prev_exit, &r);
        until_clock = ran >= until_clock ? 0 : until_clock - ran;
        sv->cur_blk = NULL;
        prev = last == sv->temp_block ? NULL : last;
        if (r == INTERP_STOP) {
            prev = NULL;
            handle_ir_stop(cpu);
            if (cpu->stop != SOFT_RUN) {
                note_resume(sv, last);
                return;
            }
        }
    }
}

/* Sleep while halted: until a request (cancel), the frontend's wake time or the
 * deadline. Returns false when the deadline passed. */
static bool halt_wait(struct soft_vcpu *sv, uint64_t deadline_ns)
{
    struct soft_cpu *cpu = &sv->cpu;
    uint64_t until = deadline_ns;
    if (cpu->wake_ns && cpu->wake_ns < until)
        until = cpu->wake_ns;
    pthread_mutex_lock(&sv->wait_lock);
    while (!atomic_load(&sv->vcpu->requests)) {
        uint64_t now = host_monotonic_ns();
        if (now >= until)
            break;
        if (until == BACKEND_NO_DEADLINE) {
            pthread_cond_wait(&sv->wait_cond, &sv->wait_lock);
        } else {
            struct timespec ts = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };
            pthread_cond_timedwait(&sv->wait_cond, &sv->wait_lock, &ts);
        }
    }
    pthread_mutex_unlock(&sv->wait_lock);
    if (cpu->wake_ns && host_monotonic_ns() >= cpu->wake_ns)
        cpu->wake_ns = 0;   /* consumed: the frontend sets a new one if it still sleeps */
    return deadline_ns == BACKEND_NO_DEADLINE || host_monotonic_ns() < deadline_ns;
}

void soft_wake(struct vcpu *vcpu)
{
    struct soft_vcpu *sv = vcpu->be;
    if (!sv)
        return;
    pthread_mutex_lock(&sv->wait_lock);
    pthread_cond_broadcast(&sv->wait_cond);
    pthread_mutex_unlock(&sv->wait_lock);
}

/* Post the TLB flush a new code page needs to the other vCPUs (outside execution). */
static void broadcast(struct soft_vcpu *sv)
{
    struct vm *vm = sv->vcpu->vm;
    pthread_mutex_lock(&vm->lock);
    soft_post_tlb_flush_all(vm, sv->vcpu);
    pthread_mutex_unlock(&vm->lock);
    sv->broadcast_pending = false;
}

/* One execution period under the unwind point. */
static void execute(struct soft_vcpu *sv, uint64_t deadline_ns)
{
    struct soft_cpu *cpu = &sv->cpu;
    soft_exec_enter(sv);
    if (setjmp(sv->unwind) == 0) {
        run_blocks(sv, deadline_ns);
    } else {
        /* A fault or exit unwound mid-block or mid-translation: the instruction
         * did not retire, and the frontend already made the state precise. */
        cpu->insn_open = 0;
        if (!sv->translating)
            note_resume(sv, sv->cur_blk);
        sv->translating = false;
        sv->cur_blk = NULL;
    }
    soft_exec_leave(sv);
}

hv_return_t soft_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    struct soft_vcpu *sv = vcpu->be;
    struct soft_cpu *cpu = &sv->cpu;
    if (!cpu->fe)
        return HV_UNSUPPORTED;
    sv->checks_due = true;
    /* anyhv_vcpu_set_instruction_budget: this run stops after that many instructions. */
    cpu->budget = vcpu->insn_budget && cpu->icount <= UINT64_MAX - vcpu->insn_budget ? cpu->icount + vcpu->insn_budget
                                                                                     : UINT64_MAX;
    /* A new entry: the frontend looks at events (an injected interrupt wakes a
     * halted vCPU) before the loop may go back to sleep. */
    cpu->stop = SOFT_RUN;
    cpu->unwind = &sv->unwind;
    hv_return_t ret = HV_SUCCESS;
    for (;;) {
        uint32_t req = atomic_load(&vcpu->requests);
        if (req & VCPU_REQ_CANCEL) {
            atomic_fetch_and(&vcpu->requests, ~(uint32_t)VCPU_REQ_CANCEL);
            fill_exit(cpu, EXIT_CANCELED);
            break;
        }
        if (sv->broadcast_pending)
            broadcast(sv);
        if (cpu->halted && cpu->stop == SOFT_STOP_HALT) {
            if (!halt_wait(sv, deadline_ns)) {
                fill_exit(cpu, EXIT_DEADLINE);
                break;
            }
            cpu->stop = SOFT_RUN;
        }
        /* run_blocks checks the clock every few hundred blocks, but a guest that
         * faults on every block unwinds back here first: check it here as well. */
        if (deadline_ns != BACKEND_NO_DEADLINE && host_monotonic_ns() >= deadline_ns) {
            fill_exit(cpu, EXIT_DEADLINE);
            break;
        }
        execute(sv, deadline_ns);
        if (cpu->stop == SOFT_STOP_EXIT)
            break;
    }
    vcpu->icount = cpu->icount;
    /* The client reads architectural state after the run (soft.h: sync_state). */
    if (cpu->fe->sync_state)
        cpu->fe->sync_state(cpu);
    return ret;
}
