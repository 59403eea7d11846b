/* tier.c - when blocks get compiled and how code reaches them. A vCPU asks for a hot
 * block (jit_request); in ON mode the request joins the VM's queue and the VM's
 * compile thread, started on the first request, takes everything queued (up to a
 * batch) into one module, so LLVM's fixed cost per module is shared; finished
 * requests go back to their vCPU, which installs them between blocks. In EAGER mode
 * the vCPU compiles at once. Blocks and code are owned by the vCPU thread: a block
 * freed while its request is in flight just cancels it. A unit (one module's code)
 * is freed with the last block using it. */
#include "jit/jit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/llvm/engine.h"

/* Blocks per module in the background: 16 shares LLVM's fixed cost per module
 * (docs/jit.md) while bounding how long one batch keeps new code waiting. */
#define JIT_BATCH_MAX 16u

struct jit_unit {
    struct llvm_unit *code;
    _Atomic uint32_t users;         /* installed or pending blocks */
    struct jit_unit *next;          /* in the engine's list of units to free */
};

struct jit_request {
    struct em_func func;            /* what to compile: func.member are private copies */
    struct em_block *members;
    enum jit_level level;
    bool optimise;                  /* through the optimising pipeline */
    struct jit_block *blk;          /* owner; NULL once cancelled (vCPU thread only) */
    struct jit_vcpu *v;
    jit_fn fn;
    struct jit_unit *unit;
    struct jit_request *next;
};

/* Two locks, so a vCPU never waits for LLVM in ON mode: `lock` guards the queue and
 * the list of units to free and is held only briefly; `llvm_lock` is held while
 * compiling or freeing code (the compile thread, or an EAGER-mode vCPU). */
struct jit_engine {
    enum jit_mode mode;
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    struct jit_request *head, *tail;
    struct jit_unit *dead;          /* units whose last block went, freed by the thread */
    bool started, stopping, busy;
    bool paused;                    /* jit_engine_pause: take no work until resumed */
    bool parked;                    /* the thread is in its wait loop (under lock or waiting) */
    pthread_t thread;
    pthread_mutex_t llvm_lock;
    struct llvm_engine *llvm;
    jit_enter_fn enter;             /* set with llvm, before any code exists */
    bool llvm_failed;
    bool debug;                     /* ANYHV_JIT_DEBUG: a line per unit on stderr */
};

struct jit_vcpu {
    struct jit_engine *e;
    struct jit_vcpu_ctx *ctx;
    pthread_mutex_t done_lock;
    struct jit_request *done;
    struct jit_stats stats;         /* installed blocks, units, time: vCPU thread */
    _Atomic uint64_t compile_ns, code_bytes, units;   /* written by the compile thread */
};

enum jit_mode jit_mode_from_env(void)
{
    const char *s = getenv("ANYHV_JIT");
    if (!s || !*s || !strcmp(s, "on") || !strcmp(s, "1"))
        return JIT_MODE_ON;
    if (!strcmp(s, "eager"))
        return JIT_MODE_EAGER;
    return JIT_MODE_OFF;
}

bool jit_supported(void)
{
    return llvm_supported();
}

/* ---- requests --------------------------------------------------------------------- */

static void request_free(struct jit_request *r)
{
    for (uint32_t i = 0; i < r->func.n; i++)
        interp_prog_free(&r->members[i].prog);
    free(r->members);
    free(r);
}

static bool copy_prog(struct interp_prog *dst, const struct interp_prog *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->count = src->count;
    dst->nvals = src->nvals;
    dst->code = malloc((src->count ? src->count : 1) * sizeof(*dst->code));
    dst->vals = aligned_alloc(16, (src->nvals ? src->nvals : 1) * sizeof(*dst->vals));
    dst->width = malloc(src->nvals ? src->nvals : 1);
    dst->is_const = malloc(src->nvals ? src->nvals : 1);
    if (!dst->code || !dst->vals || !dst->width || !dst->is_const) {
        interp_prog_free(dst);
        return false;
    }
    memcpy(dst->code, src->code, src->count * sizeof(*dst->code));
    memcpy(dst->vals, src->vals, src->nvals * sizeof(*dst->vals));
    memcpy(dst->width, src->width, src->nvals);
    memcpy(dst->is_const, src->is_const, src->nvals);
    return true;
}

uint32_t jit_direct_exits(const struct interp_prog *p, uint64_t *pcs, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        const struct interp_insn *in = &p->code[i];
        if (in->op != IR_EXIT_IF && in->op != IR_JUMP && in->op != IR_BRANCH)
            continue;
        if (n < max)
            pcs[n] = in->imm;
        n++;
        if (in->op == IR_BRANCH) {
            if (n < max)
                pcs[n] = in->imm2;
            n++;
        }
    }
    return n;
}

/* The block's chain cells, allocated once (their addresses are baked into its code). */
static bool alloc_chain(struct jit_block *blk, const struct interp_prog *prog)
{
    if (blk->chain || blk->nchain)
        return true;
    uint32_t n = jit_direct_exits(prog, NULL, 0);
    if (!n)
        return true;
    blk->chain = calloc(n, sizeof(*blk->chain));
    blk->chain_pc = calloc(n, sizeof(*blk->chain_pc));
    if (!blk->chain || !blk->chain_pc) {
        free(blk->chain);
        free(blk->chain_pc);
        blk->chain = NULL;
        blk->chain_pc = NULL;
        return false;
    }
    jit_direct_exits(prog, blk->chain_pc, n);
    blk->nchain = n;
    return true;
}

/* ---- compiling ------------------------------------------------------------------------ */

static bool ensure_llvm(struct jit_engine *e)
{
    if (!e->llvm && !e->llvm_failed) {
        const char *why;
        e->llvm = llvm_engine_create(&why);
        e->llvm_failed = !e->llvm;
        e->enter = llvm_engine_enter(e->llvm);
    }
    return e->llvm != NULL;
}

/* Compile reqs[0..n), all of one level, into one unit (llvm_lock held). */
static void compile_unit(struct jit_engine *e, struct jit_request **reqs, unsigned n)
{
    const struct em_func *funcs[JIT_BATCH_MAX];
    jit_fn fns[JIT_BATCH_MAX];
    for (unsigned i = 0; i < n; i++)
        funcs[i] = &reqs[i]->func;
    enum llvm_opt opt = n && reqs[0]->optimise ? LLVM_OPT_HOT : LLVM_OPT_WARM;
    uint64_t t0 = jit_thread_cpu_ns();
    size_t bytes = 0;
    struct llvm_unit *code = ensure_llvm(e) ? llvm_compile(e->llvm, funcs, n, opt, fns, &bytes) : NULL;
    uint64_t dt = jit_thread_cpu_ns() - t0;
    if (e->debug && !code)   /* llvm_compile said how it went otherwise */
        fprintf(stderr, "anyhv jit: unit of %u function(s) failed after %.2f ms\n", n, dt / 1e6);
    struct jit_unit *u = code ? calloc(1, sizeof(*u)) : NULL;
    if (code && !u)
        llvm_unit_free(e->llvm, code);
    unsigned users = 0;
    for (unsigned i = 0; i < n; i++) {
        reqs[i]->fn = u ? fns[i] : NULL;
        reqs[i]->unit = reqs[i]->fn ? u : NULL;
        users += reqs[i]->fn != NULL;
    }
    if (u) {
        u->code = code;
        atomic_store(&u->users, users);
    }
    /* Account the batch to its first vCPU (each block's share would be finer). */
    if (n) {
        struct jit_vcpu *v = reqs[0]->v;
        atomic_fetch_add(&v->compile_ns, dt);
        atomic_fetch_add(&v->code_bytes, bytes);
        atomic_fetch_add(&v->units, u != NULL);
    }
}

/* Free the units queued for freeing (llvm_lock held). */
static void free_dead_units(struct jit_engine *e)
{
    pthread_mutex_lock(&e->lock);
    struct jit_unit *u = e->dead;
    e->dead = NULL;
    pthread_mutex_unlock(&e->lock);
    while (u) {
        struct jit_unit *n = u->next;
        llvm_unit_free(e->llvm, u->code);
        free(u);
        u = n;
    }
}

/* The last user of a unit frees it: through the compile thread when there is one
 * (the vCPU does not wait for a batch in progress), at once otherwise. */
/* A batch holds warm blocks and optimised regions: one unit for each level. */
static void compile_batch(struct jit_engine *e, struct jit_request **reqs, unsigned n)
{
    struct jit_request *level[2][JIT_BATCH_MAX];
    unsigned count[2] = { 0, 0 };
    for (unsigned i = 0; i < n; i++) {
        unsigned l = reqs[i]->optimise;
        level[l][count[l]++] = reqs[i];
    }
    for (unsigned l = 0; l < 2; l++)
        if (count[l])
            compile_unit(e, level[l], count[l]);
}

static void unit_put(struct jit_engine *e, struct jit_unit *u)
{
    if (!u || atomic_fetch_sub(&u->users, 1) != 1)
        return;
    pthread_mutex_lock(&e->lock);
    u->next = e->dead;
    e->dead = u;
    bool threaded = e->started;
    if (threaded)
        pthread_cond_signal(&e->work);
    pthread_mutex_unlock(&e->lock);
    if (!threaded) {
        pthread_mutex_lock(&e->llvm_lock);
        free_dead_units(e);
        pthread_mutex_unlock(&e->llvm_lock);
    }
}

/* Give the block its code (vCPU thread). Code that replaces older code (a promoted
 * region) moves the chain epoch first: no cell or jump-cache entry may still lead to
 * the old code, which goes with its unit's last user. */
static void install(struct jit_vcpu *v, struct jit_request *r)
{
    struct jit_block *blk = r->blk;
    if (!blk) {                     /* the block went first */
        unit_put(v->e, r->unit);
        request_free(r);
        return;
    }
    blk->req = NULL;
    if (r->fn) {
        struct jit_unit *old = blk->unit;
        if (old || atomic_load_explicit(&blk->fn, memory_order_relaxed))
            v->ctx->replaced++;
        blk->unit = r->unit;
        blk->level = (uint8_t)r->level;
        blk->state = JIT_BLOCK_COMPILED;
        atomic_store_explicit(&blk->fn, r->fn, memory_order_release);
        unit_put(v->e, old);
        v->stats.blocks_compiled++;
        v->stats.promoted += r->level == JIT_LEVEL_HOT && old;
    } else if (blk->state == JIT_BLOCK_COMPILED) {
        blk->heat_limit = UINT32_MAX;   /* keep the code it has; do not ask again */
        v->stats.blocks_failed++;
    } else {
        blk->state = JIT_BLOCK_FAILED;
        v->stats.blocks_failed++;
    }
    request_free(r);
}

static void deliver(struct jit_request *r)
{
    struct jit_vcpu *v = r->v;
    pthread_mutex_lock(&v->done_lock);
    r->next = v->done;
    v->done = r;
    pthread_mutex_unlock(&v->done_lock);
    atomic_store_explicit(&v->ctx->ready, 1, memory_order_release);
}

static void *compile_thread(void *arg)
{
    struct jit_engine *e = arg;
    struct jit_request *batch[JIT_BATCH_MAX];
    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!e->stopping && (e->paused || (!e->head && !e->dead))) {
            e->parked = true;
            if (e->paused)
                pthread_cond_broadcast(&e->idle);   /* jit_engine_pause waits for this */
            pthread_cond_wait(&e->work, &e->lock);
        }
        e->parked = false;
        if (e->stopping)
            break;
        unsigned n = 0;
        while (e->head && n < JIT_BATCH_MAX) {
            batch[n++] = e->head;
            e->head = e->head->next;
        }
        if (!e->head)
            e->tail = NULL;
        e->busy = true;
        pthread_mutex_unlock(&e->lock);
        pthread_mutex_lock(&e->llvm_lock);
        free_dead_units(e);
        if (n)
            compile_batch(e, batch, n);
        pthread_mutex_unlock(&e->llvm_lock);
        for (unsigned i = 0; i < n; i++)
            deliver(batch[i]);
        pthread_mutex_lock(&e->lock);
        e->busy = false;
        pthread_cond_broadcast(&e->idle);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- engine and vCPU ---------------------------------------------------------------- */

void jit_engine_pause(struct jit_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->paused = true;
    /* A thread still starting holds the runtime's locks too: wait until it parks. */
    while (e->started && !e->parked)
        pthread_cond_wait(&e->idle, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

void jit_engine_resume(struct jit_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->paused = false;
    pthread_cond_broadcast(&e->work);
    pthread_mutex_unlock(&e->lock);
}

struct jit_engine *jit_engine_create(enum jit_mode mode)
{
    if (mode == JIT_MODE_OFF || !jit_supported())
        return NULL;
    struct jit_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->mode = mode;
    const char *dbg = getenv("ANYHV_JIT_DEBUG");
    e->debug = dbg && *dbg && *dbg != '0';
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->llvm_lock, NULL);
    pthread_cond_init(&e->work, NULL);
    pthread_cond_init(&e->idle, NULL);
    return e;
}

enum jit_mode jit_engine_mode(const struct jit_engine *e)
{
    return e ? e->mode : JIT_MODE_OFF;
}

void jit_engine_destroy(struct jit_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    pthread_cond_broadcast(&e->work);
    pthread_mutex_unlock(&e->lock);
    if (e->started)
        pthread_join(e->thread, NULL);
    free_dead_units(e);
    llvm_engine_destroy(e->llvm);
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->idle);
    pthread_mutex_destroy(&e->llvm_lock);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

struct jit_vcpu *jit_vcpu_create(struct jit_engine *e, struct jit_vcpu_ctx *ctx)
{
    if (!e)
        return NULL;
    struct jit_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->e = e;
    v->ctx = ctx;
    pthread_mutex_init(&v->done_lock, NULL);
    return v;
}

uint32_t jit_call(const struct jit_vcpu *v, jit_fn fn, struct soft_cpu *cpu, uint8_t *state)
{
    /* Code exists only once the engine made it, thunk first (installation orders it). */
    return v->e->enter(fn, cpu, state);
}

void jit_install_ready(struct jit_vcpu *v)
{
    if (!v || !atomic_exchange_explicit(&v->ctx->ready, 0, memory_order_acquire))
        return;
    pthread_mutex_lock(&v->done_lock);
    struct jit_request *r = v->done;
    v->done = NULL;
    pthread_mutex_unlock(&v->done_lock);
    while (r) {
        struct jit_request *n = r->next;
        install(v, r);
        r = n;
    }
}

void jit_vcpu_destroy(struct jit_vcpu *v)
{
    if (!v)
        return;
    struct jit_engine *e = v->e;
    /* Take this vCPU's requests out of the queue and wait out a batch holding any. */
    pthread_mutex_lock(&e->lock);
    for (struct jit_request **p = &e->head; *p;) {
        if ((*p)->v == v) {
            struct jit_request *r = *p;
            *p = r->next;
            request_free(r);
        } else {
            p = &(*p)->next;
        }
    }
    e->tail = NULL;
    for (struct jit_request *r = e->head; r; r = r->next)
        e->tail = r;
    while (e->busy)
        pthread_cond_wait(&e->idle, &e->lock);
    pthread_mutex_unlock(&e->lock);
    atomic_store(&v->ctx->ready, 1);
    jit_install_ready(v);   /* blocks are gone by now: this frees what remains */
    pthread_mutex_destroy(&v->done_lock);
    free(v);
}

bool jit_request(struct jit_vcpu *v, const struct jit_member *member, uint32_t n, enum jit_level level)
{
    struct jit_block *blk = member[0].jb;
    if (!v || !n || blk->req || level == JIT_LEVEL_NONE)
        return false;
    if (blk->state != JIT_BLOCK_COLD && !(blk->state == JIT_BLOCK_COMPILED && level > blk->level))
        return false;
    struct jit_engine *e = v->e;
    struct jit_request *r = calloc(1, sizeof(*r));
    struct em_block *mb = calloc(n, sizeof(*mb));
    bool ok = r && mb;
    if (r) {
        r->members = mb;
        r->func.member = mb;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = alloc_chain(member[i].jb, member[i].prog) && copy_prog(&mb[i].prog, member[i].prog);
        if (!ok)
            break;
        r->func.n = i + 1;
        mb[i].info = member[i].info;
        mb[i].chain = member[i].jb->chain;
        mb[i].ctx = v->ctx;
        mb[i].self = member[i].self;
    }
    if (!ok) {
        if (r && !mb)
            free(r);
        else if (r)
            request_free(r);
        if (blk->state == JIT_BLOCK_COLD)
            blk->state = JIT_BLOCK_FAILED;
        return false;
    }
    /* Eager mode (tests) compiles every block at once: regions keep their state in
     * SSA form but skip the optimising pipeline, whose cost would dominate. */
    bool eager = e->mode == JIT_MODE_EAGER;
    r->level = level;
    /* State in SSA values pays only with the optimising pipeline: at O0 its allocas are
     * stack slots like the state itself, and every exit and slow path would carry a
     * flush. Eager mode (tests) keeps it for regions so that path is exercised. */
    r->func.cache_state = level == JIT_LEVEL_HOT || (level == JIT_LEVEL_REGION && eager);
    r->optimise = level == JIT_LEVEL_HOT && !eager;
    if ((level == JIT_LEVEL_REGION || level == JIT_LEVEL_BLOCK) && !eager && blk->heat_limit) {
        r->func.heat = &blk->heat;
        r->func.heat_limit = blk->heat_limit;
        r->func.heat_at_exits = level == JIT_LEVEL_BLOCK;
    }
    r->blk = blk;
    r->v = v;
    blk->req = r;
    if (blk->state == JIT_BLOCK_COLD)
        blk->state = JIT_BLOCK_QUEUED;
    if (e->mode == JIT_MODE_EAGER) {
        pthread_mutex_lock(&e->llvm_lock);
        compile_batch(e, &r, 1);
        pthread_mutex_unlock(&e->llvm_lock);
        install(v, r);
        return true;
    }
    pthread_mutex_lock(&e->lock);
    if (!e->started) {
        e->started = pthread_create(&e->thread, NULL, compile_thread, e) == 0;
        if (!e->started) {
            pthread_mutex_unlock(&e->lock);
            blk->req = NULL;
            if (blk->state == JIT_BLOCK_QUEUED)
                blk->state = JIT_BLOCK_FAILED;
            request_free(r);
            return false;
        }
    }
    if (e->tail)
        e->tail->next = r;
    else
        e->head = r;
    e->tail = r;
    pthread_cond_signal(&e->work);
    pthread_mutex_unlock(&e->lock);
    return true;
}

void jit_block_release(struct jit_vcpu *v, struct jit_block *blk)
{
    if (blk->req) {
        blk->req->blk = NULL;      /* install() frees it */
        blk->req = NULL;
    }
    if (blk->unit && v)
        unit_put(v->e, blk->unit);
    blk->unit = NULL;
    atomic_store_explicit(&blk->fn, NULL, memory_order_relaxed);
    free(blk->chain);
    free(blk->chain_pc);
    blk->chain = NULL;
    blk->chain_pc = NULL;
    blk->nchain = 0;
}

void jit_vcpu_stats(const struct jit_vcpu *v, struct jit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!v)
        return;
    *out = v->stats;
    out->compile_ns = atomic_load(&v->compile_ns);
    out->code_bytes = atomic_load(&v->code_bytes);
    out->units = atomic_load(&v->units);
}
