/* Soft backend: anyhv's own CPU behind the backend ops table. The state struct is
 * authoritative (no sync). Guest-physical changes publish a new stage-2 copy and
 * wait until no vCPU can still use the old one (stage2.c). Frontends are linked
 * weakly: without the one for the VM's architecture, vcpu_run says HV_UNSUPPORTED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft_internal.h"

extern const struct soft_frontend x86_soft_frontend __attribute__((weak));
extern const struct soft_frontend a64_soft_frontend __attribute__((weak));

static const struct soft_frontend *_Atomic fe_override[2];
static pthread_mutex_t fe_init_lock = PTHREAD_MUTEX_INITIALIZER;

void soft_frontend_register(enum guest_arch arch, const struct soft_frontend *fe)
{
    if ((unsigned)arch < 2)
        atomic_store(&fe_override[arch], fe);
}

const struct soft_frontend *soft_frontend_for(enum guest_arch arch)
{
    if ((unsigned)arch >= 2)
        return NULL;
    const struct soft_frontend *fe = atomic_load(&fe_override[arch]);
    if (fe)
        return fe;
    if (arch == GUEST_X86_64)
        return &x86_soft_frontend ? &x86_soft_frontend : NULL;
    return &a64_soft_frontend ? &a64_soft_frontend : NULL;
}

/* Each frontend's init runs once per process. */
static void frontend_init_once(const struct soft_frontend *fe)
{
    static const struct soft_frontend *done[8];
    if (!fe->init)
        return;
    pthread_mutex_lock(&fe_init_lock);
    bool seen = false;
    for (unsigned i = 0; i < 8 && done[i]; i++)
        seen |= done[i] == fe;
    if (!seen) {
        fe->init();
        for (unsigned i = 0; i < 8; i++) {
            if (!done[i]) {
                done[i] = fe;
                break;
            }
        }
    }
    pthread_mutex_unlock(&fe_init_lock);
}

static hv_return_t soft_vm_create(struct vm *vm)
{
    struct soft_vm *svm = calloc(1, sizeof(*svm));
    if (!svm)
        return HV_NO_RESOURCES;
    soft_guard_install();
    if (!mmu_code_pages_init(&svm->code_pages)) {
        free(svm);
        return HV_NO_RESOURCES;
    }
    soft_jit_vm_init(svm);
    vm->be_data = svm;
    return HV_SUCCESS;
}

static void soft_vm_destroy(struct vm *vm)
{
    struct soft_vm *svm = vm->be_data;
    if (!svm)
        return;
    soft_s2_free_all(svm);
    jit_engine_destroy(svm->jit);
    mmu_code_pages_destroy(&svm->code_pages);
    free(svm);
    vm->be_data = NULL;
}

static hv_return_t soft_map(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size)
{
    (void)gpa;
    (void)size;
    return soft_s2_update(vm, space, false);
}

/* Unmap and protect also re-validate translations: their code may be gone. */
static hv_return_t soft_unmap_or_protect(struct vm *vm, uint32_t space, uint64_t gpa, uint64_t size)
{
    (void)gpa;
    (void)size;
    return soft_s2_update(vm, space, true);
}

static size_t state_size_of(enum guest_arch arch)
{
    return arch == GUEST_X86_64 ? sizeof(struct x86_state) : sizeof(struct a64_state);
}

static hv_return_t soft_vcpu_create(struct vcpu *vcpu)
{
    struct soft_vcpu *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return HV_NO_RESOURCES;
    if (!tcache_init(&sv->tc, SOFT_TCACHE_LIMIT)) {
        free(sv);
        return HV_NO_RESOURCES;
    }
    struct soft_cpu *cpu = &sv->cpu;
    sv->vcpu = vcpu;
    sv->svm = vcpu->vm->be_data;
    sv->state_size = (uint32_t)state_size_of(vcpu->vm->arch);
    const char *trace = getenv("ANYHV_TRACE_IR");
    sv->trace_ir = trace && *trace && *trace != '0';
    cpu->vcpu = vcpu;
    cpu->state = vcpu->st.x86;
    cpu->fe = soft_frontend_for(vcpu->vm->arch);
    cpu->budget = UINT64_MAX;
    cpu->max_insns = SOFT_MAX_BLOCK_INSNS;
    cpu->rt = sv;
    cpu->mem_ops = &soft_mem_ops;
    mmu_tlb_init(&cpu->tlb);
    ir_block_init(&sv->scratch, 0);
    pthread_mutex_init(&sv->wait_lock, NULL);
    pthread_cond_init(&sv->wait_cond, NULL);
    soft_jit_vcpu_init(sv);
    vcpu->be = sv;
    vcpu->state_valid = SG_ALL;
    if (cpu->fe)
        frontend_init_once(cpu->fe);
    return HV_SUCCESS;
}

/* With ANYHV_JIT_STATS set: what the dispatcher did for this vCPU, on stderr (the
 * tier's own line follows from soft_jit_vcpu_fini). */
static void dispatch_stats(const struct soft_vcpu *sv)
{
    const char *show = getenv("ANYHV_JIT_STATS");
    if (!show || !*show || *show == '0')
        return;
    fprintf(stderr,
            "anyhv soft: %llu cache lookups, %llu link hits, %llu cached blocks, %llu cache flushes, "
            "%llu blocks evicted, %llu blocks invalidated, %llu frees, %llu TLB flushes\n",
            (unsigned long long)sv->lookups, (unsigned long long)sv->link_hits, (unsigned long long)sv->tc.count,
            (unsigned long long)sv->tc.flushes, (unsigned long long)sv->tc.evictions,
            (unsigned long long)sv->tc.invalidations, (unsigned long long)sv->tc.free_gen,
            (unsigned long long)sv->cpu.tlb.flush_gen);
}

static void soft_vcpu_destroy(struct vcpu *vcpu)
{
    struct soft_vcpu *sv = vcpu->be;
    if (!sv)
        return;
    /* The vCPU is out of the table, but another vCPU executing a broadcast TLBI may
     * have read the pointer just before: wait until none can still hold it. */
    soft_quiesce(vcpu->vm);
    dispatch_stats(sv);
    soft_jit_vcpu_report(sv);
    tcache_destroy(&sv->tc);
    soft_jit_vcpu_fini(sv);
    tc_block_free(sv->temp_block);
    ir_block_free(&sv->scratch);
    pthread_mutex_destroy(&sv->wait_lock);
    pthread_cond_destroy(&sv->wait_cond);
    free(sv->cpu.fe_data);
    free(sv);
    vcpu->be = NULL;
}

/* Called on the owning thread between runs. Blocks are keyed by guest-physical
 * address, which means other memory in another space: drop them with the TLB. */
static hv_return_t soft_vcpu_set_space(struct vcpu *vcpu, uint32_t space)
{
    struct soft_vcpu *sv = vcpu->be;
    if (space != vcpu->space)
        tcache_flush(&sv->tc);
    atomic_fetch_or(&vcpu->requests, VCPU_REQ_TLB_FLUSH);
    return HV_SUCCESS;
}

static hv_return_t soft_vcpu_run(struct vcpu *vcpu, uint64_t deadline_ns)
{
    return soft_run(vcpu, deadline_ns);
}

static hv_return_t soft_state_sync(struct vcpu *vcpu, uint32_t groups)
{
    (void)vcpu;
    (void)groups;
    return HV_SUCCESS;   /* the soft CPU runs on the struct itself */
}

static void soft_cancel(struct vcpu *vcpu)
{
    soft_wake(vcpu);     /* VCPU_REQ_CANCEL is polled at block boundaries */
}

/* A snapshot replaced the state: the count, the halt wait, the TLB and the translations
 * (keyed by guest-physical code whose bytes changed under them) start afresh. */
static void soft_state_restored(struct vcpu *vcpu)
{
    struct soft_vcpu *sv = vcpu->be;
    sv->cpu.icount = vcpu->icount;
    sv->cpu.halted = false;
    sv->cpu.wake_ns = 0;
    tcache_flush(&sv->tc);
    atomic_fetch_or(&vcpu->requests, VCPU_REQ_TLB_FLUSH);
}

/* anyhv_vm_fork's child: the compile thread did not come along (it waited between
 * batches at the fork: soft_fork_prepare), so the child runs on the interpreter alone. The
 * engine is left untouched (never locked, joined or freed here); translations, which may
 * hold compiled code and links into it, are dropped without telling the engine. */
static void soft_fork_child(struct vm *vm)
{
    struct soft_vm *svm = vm->be_data;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        struct soft_vcpu *sv = v ? v->be : NULL;
        if (!sv)
            continue;
        sv->tc.on_free = NULL;
        tcache_flush(&sv->tc);
        sv->jit = NULL;
        atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
    }
    svm->jit = NULL;
}

/* anyhv_vm_fork: the compile thread waits between batches across the fork, so it holds
 * no lock then (its own, LLVM's, the allocator's) that the child would find taken. */
static void soft_fork_prepare(struct vm *vm)
{
    jit_engine_pause(((struct soft_vm *)vm->be_data)->jit);
}

static void soft_fork_parent(struct vm *vm)
{
    jit_engine_resume(((struct soft_vm *)vm->be_data)->jit);
}

static bool soft_idle(struct vcpu *vcpu)
{
    return ((struct soft_vcpu *)vcpu->be)->cpu.halted;
}

static void soft_invalidate_tlb(struct vcpu *vcpu)
{
    atomic_fetch_or(&vcpu->requests, VCPU_REQ_TLB_FLUSH);
}

hv_return_t soft_backend_check(enum guest_arch arch, const char **why)
{
    /* VMs, maps and register state work without a frontend; running guest code
     * needs one, and vcpu_run says HV_UNSUPPORTED until it is linked. */
    if (why) {
        if (soft_frontend_for(arch))
            *why = "anyhv's software CPU";
        else if (arch == GUEST_X86_64)
            *why = "anyhv's software CPU, without its x86-64 frontend in this build: hv_vcpu_run returns "
                   "HV_UNSUPPORTED";
        else
            *why = "anyhv's software CPU, without its arm64 frontend in this build: hv_vcpu_run returns "
                   "HV_UNSUPPORTED";
    }
    return HV_SUCCESS;
}

const struct backend_ops soft_backend_ops = {
    .name = "soft",
    .kind = BACKEND_SOFT,
    .max_breakpoints = VCPU_MAX_BREAKPOINTS,
    .max_budget = UINT64_MAX,
    .vm_create = soft_vm_create,
    .vm_destroy = soft_vm_destroy,
    .map = soft_map,
    .unmap = soft_unmap_or_protect,
    .protect = soft_unmap_or_protect,
    .vcpu_create = soft_vcpu_create,
    .vcpu_destroy = soft_vcpu_destroy,
    .vcpu_set_space = soft_vcpu_set_space,
    .vcpu_run = soft_vcpu_run,
    .state_get = soft_state_sync,
    .state_put = soft_state_sync,
    .cancel = soft_cancel,
    .invalidate_tlb = soft_invalidate_tlb,
    .tlb_dump = soft_tlb_dump,
    .state_restored = soft_state_restored,
    .idle = soft_idle,
    .fork_child = soft_fork_child,
    .fork_prepare = soft_fork_prepare,
    .fork_parent = soft_fork_parent,
};
