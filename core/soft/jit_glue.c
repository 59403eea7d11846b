/* jit_glue.c - the compiled tier as the soft dispatcher uses it: one engine per VM
 * (ANYHV_JIT), one side per vCPU, the tiering threshold, and the links between
 * compiled blocks. A block is chainable only when nothing in it can change what the
 * dispatcher checks between blocks (the frontend's events and mode key); the
 * dispatcher lets compiled code chain only while the frontend says its per-block
 * event check has nothing to do (events_quiet). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anyhv/anyhv.h>

#include "core/soft/soft_internal.h"

/* Interpreted runs of a block before it is queued for compilation (docs/jit.md): an
 * O0 compile costs about 1 ms of compile-thread CPU per block, about 5,000 interpreted
 * runs' worth, so code that runs only hundreds of times stays interpreted. Measured on
 * an arm64 Linux boot: 64 -> 28 s CPU (14 s compiling, hot blocks queued behind
 * lukewarm ones), 1024 -> 12-14 s, 4096 -> 12 s with more interpreted runs. */
#define SOFT_JIT_THRESHOLD_DEFAULT 1024u
/* A warm region is optimised after its head has been reached this many times per IR
 * instruction in the region per guest instruction of the head (trips grow with the
 * region's size, shrink with its work per trip): the optimising pipeline costs about
 * 100 us of compile thread per IR instruction, so only loops that will run long get it
 * (docs/jit.md has the measurements). */
#define SOFT_JIT_HOT_TRIPS_FACTOR 2048u
#define SOFT_JIT_HOT_TRIPS_MIN 1024u
#define SOFT_JIT_HOT_TRIPS_MAX (1u << 26)

void soft_jit_vm_init(struct soft_vm *svm)
{
    svm->jit = jit_engine_create(jit_mode_from_env());
}

static void on_block_free(void *arg, struct tc_block *blk)
{
    struct soft_vcpu *sv = arg;
    jit_block_release(sv->jit, &blk->jit);
}

void soft_jit_vcpu_init(struct soft_vcpu *sv)
{
    sv->jctx.vm_epoch = &sv->svm->code_pages.epoch;
    sv->jctx.requests = &sv->vcpu->requests;
    sv->jctx.running = (void **)&sv->cur_blk;
    sv->jctx.last_exit = JIT_EXIT_NONE;
    sv->jit = jit_vcpu_create(sv->svm->jit, &sv->jctx);
    if (sv->jit)
        sv->jctx.jcache = calloc(JIT_JCACHE_SIZE, sizeof(*sv->jctx.jcache));
    sv->tc.on_free = on_block_free;
    sv->tc.on_free_arg = sv;
    const char *t = getenv("ANYHV_JIT_THRESHOLD");
    long n = t ? strtol(t, NULL, 10) : 0;
    sv->jit_threshold = n > 0 && n < 1000000000 ? (uint32_t)n : SOFT_JIT_THRESHOLD_DEFAULT;
    if (jit_engine_mode(sv->svm->jit) == JIT_MODE_EAGER)
        sv->jit_threshold = 1;
    const char *dbg = getenv("ANYHV_JIT_DEBUG"), *stats = getenv("ANYHV_JIT_STATS");
    sv->jit_debug = dbg && *dbg && *dbg != '0';
    sv->jit_stats = stats && *stats && *stats != '0';
}

/* With ANYHV_JIT_STATS set, the vCPU's tier statistics go to stderr (any client);
 * called while its blocks still exist. */
void soft_jit_vcpu_report(const struct soft_vcpu *sv)
{
    const char *show = getenv("ANYHV_JIT_STATS");
    if (!show || !*show || *show == '0')
        return;
    struct jit_stats js;
    jit_vcpu_stats(sv->jit, &js);
    fprintf(stderr,
            "anyhv jit: %llu blocks translated, %llu compiled (%llu refused, %llu promoted) in %llu units, "
            "%.1f ms compiling; block runs: %llu interpreted, %llu compiled\n",
            (unsigned long long)sv->tc.translations, (unsigned long long)js.blocks_compiled,
            (unsigned long long)js.blocks_failed, (unsigned long long)js.promoted, (unsigned long long)js.units,
            (double)js.compile_ns / 1e6, (unsigned long long)sv->blocks_interp, (unsigned long long)sv->blocks_jit);
    const uint64_t *n = sv->jit_returns;
    fprintf(stderr,
            "anyhv jit: returns to the dispatcher: %llu stops, %llu with events pending, %llu at the chain "
            "budget, %llu indirect misses, %llu to uncompiled blocks, %llu stale cells, %llu other (unchainable "
            "blocks, requests, budget)\n",
            (unsigned long long)n[SOFT_JIT_RET_STOP], (unsigned long long)n[SOFT_JIT_RET_EVENTS],
            (unsigned long long)n[SOFT_JIT_RET_CHAIN_BUDGET], (unsigned long long)n[SOFT_JIT_RET_INDIRECT],
            (unsigned long long)n[SOFT_JIT_RET_CELL_EMPTY],
            (unsigned long long)n[SOFT_JIT_RET_CELL_STALE], (unsigned long long)n[SOFT_JIT_RET_OTHER]);
}

/* The tcache must be gone first: its blocks hold requests this frees. */
void soft_jit_vcpu_fini(struct soft_vcpu *sv)
{
    jit_vcpu_destroy(sv->jit);
    sv->jit = NULL;
    free(sv->jctx.jcache);
    sv->jctx.jcache = NULL;
}

/* Whether a SET of `in` only changes bits the frontend calls plain (events and the
 * mode key never look at them). */
static bool set_is_plain(const struct soft_frontend *fe, const struct interp_prog *p, const uint32_t *def,
                         const struct interp_insn *set)
{
    unsigned bytes = set->w <= 8 ? 1u : set->w / 8u;
    if (bytes > 8)   /* vector registers: both halves whole */
        return fe->plain_bits((uint32_t)set->imm, 8) == ~0ull && fe->plain_bits((uint32_t)set->imm + 8, 8) == ~0ull;
    uint64_t plain = fe->plain_bits((uint32_t)set->imm, bytes);
    uint64_t all = bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
    if ((plain & all) == all)
        return true;
    return (interp_changed_bits(p, def, set->a, set->imm, set->w) & all & ~plain) == 0;
}

/* ANYHV_JIT_DEBUG: what keeps a block at pc from chaining (for frontend work). */
static void say_unchainable(const struct tc_block *blk, const struct interp_insn *in, const uint32_t *def)
{
    if (in->op == IR_CALL) {
        fprintf(stderr, "anyhv jit: 0x%llx cannot chain: helper %s\n", (unsigned long long)blk->pc,
                ir_helper_get((uint32_t)in->imm)->name);
        return;
    }
    fprintf(stderr, "anyhv jit: 0x%llx cannot chain: state write at %llu (bits 0x%llx may change)\n",
            (unsigned long long)blk->pc, (unsigned long long)in->imm,
            (unsigned long long)interp_changed_bits(&blk->prog, def, in->a, in->imm, in->w));
}

static bool block_chainable(const struct soft_vcpu *sv, const struct tc_block *blk)
{
    const struct soft_frontend *fe = sv->cpu.fe;
    const struct interp_prog *p = &blk->prog;
    if (!fe->plain_bits || !fe->events_quiet)
        return false;
    uint32_t *def = interp_defs(p);
    if (!def)
        return false;
    bool ok = true;
    for (uint32_t i = 0; i < p->count && ok; i++) {
        const struct interp_insn *in = &p->code[i];
        if (in->op == IR_SET || in->op == IX_SET64)
            ok = set_is_plain(fe, p, def, in);
        else if (in->op == IR_CALL)
            ok = (ir_helper_get((uint32_t)in->imm)->flags & (IR_HELPER_WRITES_STATE | IR_HELPER_WRITES_PLAIN)) !=
                 IR_HELPER_WRITES_STATE;
        if (!ok && sv->jit_debug)
            say_unchainable(blk, in, def);
    }
    free(def);
    return ok;
}

/* Blocks a region may hold, and pre-decoded instructions in all (the optimising
 * pipeline's cost grows faster than linearly: larger loops run as chained blocks). */
#define SOFT_JIT_REGION_MAX 16u
#define SOFT_JIT_REGION_MAX_CODE 1200u

static struct jit_block_info info_of(const struct soft_vcpu *sv, const struct tc_block *blk)
{
    const struct soft_frontend *fe = sv->cpu.fe;
    return (struct jit_block_info){
        .pc = blk->pc,
        .mode = blk->mode,
        .guest_insns = blk->guest_insns,
        .chainable = block_chainable(sv, blk),
        .one_page = blk->npages == 1,
        .pc_offset = fe->pc_offset ? fe->pc_offset(blk->mode) : -1,
        .set_pc = fe->set_pc,
    };
}

/* The recorded successor of blk at pc (the dispatcher's link, or a compiled chain
 * cell) if it may join head's region: current, same mode, same single code page at
 * the same generation (so head's validity is the member's), chainable. */
/* The epoch a chain cell of blk to pc is filled and checked with (jit_cell_in_page). */
static uint64_t cell_epoch(const struct soft_vcpu *sv, const struct tc_block *blk, uint64_t pc)
{
    return jit_cell_in_page(blk->pc, blk->npages == 1, pc) ? soft_jit_chain_epoch_page(sv) : soft_jit_chain_epoch(sv);
}

void soft_jit_note_return(struct soft_vcpu *sv, const struct tc_block *last, bool stopped, bool quiet)
{
    if (!sv->jit_stats)
        return;
    uint32_t k = sv->jctx.last_exit;
    enum soft_jit_return why = SOFT_JIT_RET_OTHER;
    if (stopped)
        why = SOFT_JIT_RET_STOP;
    else if (!quiet)
        why = SOFT_JIT_RET_EVENTS;
    else if (sv->jctx.chain_left <= 1)
        why = SOFT_JIT_RET_CHAIN_BUDGET;
    else if (k == JIT_EXIT_INDIRECT)
        why = SOFT_JIT_RET_INDIRECT;
    else if (k == JIT_EXIT_NONE || k >= last->jit.nchain)
        why = SOFT_JIT_RET_OTHER;
    else if (!last->jit.chain[k].fn)
        why = SOFT_JIT_RET_CELL_EMPTY;
    else if (last->jit.chain[k].epoch != cell_epoch(sv, last, last->jit.chain_pc[k]) ||
             last->jit.chain[k].vm_epoch != atomic_load_explicit(&sv->svm->code_pages.epoch, memory_order_acquire))
        why = SOFT_JIT_RET_CELL_STALE;
    sv->jit_returns[why]++;
}

static struct tc_block *successor(struct soft_vcpu *sv, const struct tc_block *head, const struct tc_block *blk,
                                  uint64_t pc, uint64_t epoch)
{
    struct tc_block *n = NULL;
    for (unsigned k = 0; k < 2 && !n; k++)
        if (blk->link[k] && blk->link_pc[k] == pc && blk->link_free_gen[k] == sv->tc.free_gen &&
            blk->link_tlb_gen[k] == sv->cpu.tlb.flush_gen)
            n = blk->link[k];
    for (uint32_t k = 0; k < blk->jit.nchain && !n; k++) {
        const struct jit_chain *c = &blk->jit.chain[k];
        if (blk->jit.chain_pc[k] == pc && c->fn && c->epoch == cell_epoch(sv, blk, pc))
            n = c->blk;
    }
    if (!n || n == sv->temp_block || n->mode != head->mode || n->npages != 1 || n->page[0] != head->page[0] ||
        n->page_gen[0] != head->page_gen[0] || !tc_block_valid(n, epoch))
        return NULL;
    return n;
}

/* The blocks reachable from head along recorded direct successors (head first), and
 * whether one of them leads back to head: a loop worth a region. */
static uint32_t form_region(struct soft_vcpu *sv, struct tc_block *head, struct tc_block **out, bool *loop)
{
    uint64_t epoch = atomic_load_explicit(&sv->svm->s2_epoch, memory_order_acquire);
    uint32_t n = 1, code = head->prog.count;
    out[0] = head;
    *loop = false;
    if (head->npages != 1 || code > SOFT_JIT_REGION_MAX_CODE)
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pcs[8];
        uint32_t nexits = jit_direct_exits(&out[i]->prog, pcs, 8);
        for (uint32_t k = 0; k < nexits && k < 8; k++) {
            if (pcs[k] == head->pc) {
                *loop = true;
                continue;
            }
            struct tc_block *s = successor(sv, head, out[i], pcs[k], epoch);
            bool seen = false;
            for (uint32_t j = 0; j < n && !seen; j++)
                seen = out[j] == s;
            if (s && !seen && n < SOFT_JIT_REGION_MAX && code + s->prog.count <= SOFT_JIT_REGION_MAX_CODE) {
                out[n++] = s;
                code += s->prog.count;
            }
        }
    }
    return n;
}

static uint32_t heat_limit(const struct tc_block *head, uint32_t region_ir)
{
    uint64_t per = head->guest_insns ? head->guest_insns : 1;
    uint64_t t = (uint64_t)SOFT_JIT_HOT_TRIPS_FACTOR * region_ir / per;
    return t < SOFT_JIT_HOT_TRIPS_MIN ? SOFT_JIT_HOT_TRIPS_MIN
           : t > SOFT_JIT_HOT_TRIPS_MAX ? SOFT_JIT_HOT_TRIPS_MAX : (uint32_t)t;
}

/* A block compiled alone is optimised after this many times the region formula's
 * trips: an O2 module of one block costs a few ms of compile thread for ~10-20 ns a run.
 * Measured on the arm64 Linux boot: at 2x, 256 promotions took 2.8 s more compile CPU
 * and delayed the warm queue (17.3 s CPU against 13.0); at 32x, 26 blocks, +0.5 s. */
#define SOFT_JIT_HOT_BLOCK_FACTOR 32u

static uint32_t block_heat_limit(const struct tc_block *blk, uint32_t ir)
{
    uint64_t t = (uint64_t)heat_limit(blk, ir) * SOFT_JIT_HOT_BLOCK_FACTOR;
    return t > SOFT_JIT_HOT_TRIPS_MAX ? SOFT_JIT_HOT_TRIPS_MAX : (uint32_t)t;
}

/* Ask for code for blk at level: a region along its recorded successors when it heads
 * a loop (its members then compile alone when they get hot themselves), else the
 * block alone. */
static void request(struct soft_vcpu *sv, struct tc_block *blk, enum jit_level level)
{
    struct tc_block *blocks[SOFT_JIT_REGION_MAX];
    struct jit_member member[SOFT_JIT_REGION_MAX];
    bool loop = false;
    bool alone = blk->jit.in_region && level != JIT_LEVEL_REGION;
    uint32_t n = alone ? 1 : form_region(sv, blk, blocks, &loop);
    blocks[0] = blk;
    struct jit_block_info head = info_of(sv, blk);
    if (!loop || !head.chainable) {
        n = 1;
        if (level != JIT_LEVEL_HOT)   /* a hot block alone is optimised alone */
            level = JIT_LEVEL_BLOCK;
    } else if (level == JIT_LEVEL_BLOCK) {
        level = JIT_LEVEL_REGION;
    }
    /* A region's members must all chain; stop at the first that cannot. */
    uint32_t keep = 0, ir = 0;
    for (uint32_t i = 0; i < n; i++) {
        member[i] = (struct jit_member){ .jb = &blocks[i]->jit, .prog = &blocks[i]->prog,
                                         .info = i ? info_of(sv, blocks[i]) : head, .self = blocks[i] };
        if (i && !member[i].info.chainable)
            break;
        keep = i + 1;
        ir += blocks[i]->prog.count;
    }
    free(blk->region);
    blk->region = NULL;
    blk->nregion = 0;
    if (keep > 1) {
        blk->region = malloc((keep - 1) * sizeof(*blk->region));
        blk->nregion = blk->region ? keep - 1 : 0;
        for (uint32_t i = 1; i < keep && blk->region; i++) {
            blk->region[i - 1] = blocks[i];
            blocks[i]->jit.in_region = true;
        }
        blk->region_run = UINT64_MAX;   /* its members' bytes: checked at its first run */
        if (!blk->region)
            keep = 1;
    }
    blk->jit.heat = 0;
    blk->jit.heat_limit = level == JIT_LEVEL_REGION ? heat_limit(blk, ir)
                          : level == JIT_LEVEL_BLOCK ? block_heat_limit(blk, ir) : 0;
    if (!jit_request(sv->jit, member, keep, level))
        blk->jit.heat_limit = 0;
}

void soft_jit_consider(struct soft_vcpu *sv, struct tc_block *blk)
{
    if (blk->exec_count < sv->jit_threshold || blk->jit.state != JIT_BLOCK_COLD || blk == sv->temp_block)
        return;
    request(sv, blk, JIT_LEVEL_BLOCK);
}

void soft_jit_promote(struct soft_vcpu *sv, struct tc_block *blk)
{
    if (blk->jit.req || blk == sv->temp_block)
        return;
    blk->jit.heat_limit = 0;   /* once: the request stands, or failed for good */
    request(sv, blk, JIT_LEVEL_HOT);
}

uint64_t soft_jit_chain_epoch(const struct soft_vcpu *sv)
{
    /* Each term only grows, so the sum changes whenever one does. */
    return sv->tc.free_gen + sv->cpu.tlb.flush_gen + sv->check_gen + sv->jctx.replaced;
}

uint64_t soft_jit_chain_epoch_page(const struct soft_vcpu *sv)
{
    return sv->tc.free_gen + sv->check_gen + sv->jctx.replaced;
}

/* The jump cache entry for next (reached by an indirect branch of compiled code). */
static void remember_target(struct soft_vcpu *sv, struct tc_block *prev, struct tc_block *next, jit_fn fn)
{
    if (!sv->jctx.jcache || next == sv->temp_block || prev->mode != next->mode)
        return;
    struct jit_jcache_entry *e = &sv->jctx.jcache[jit_jcache_index(next->pc)];
    e->pc = next->pc;
    e->mode = next->mode;
    e->epoch = soft_jit_chain_epoch(sv);
    e->vm_epoch = atomic_load_explicit(&sv->svm->code_pages.epoch, memory_order_acquire);
    e->insns = next->guest_insns;
    e->blk = next;
    e->fn = fn;
}

void soft_jit_link(struct soft_vcpu *sv, struct tc_block *prev, uint32_t k, struct tc_block *next)
{
    jit_fn fn = atomic_load_explicit(&next->jit.fn, memory_order_relaxed);
    if (fn && k == JIT_EXIT_INDIRECT) {
        remember_target(sv, prev, next, fn);
        return;
    }
    if (!fn || k >= prev->jit.nchain || next == sv->temp_block || prev->jit.chain_pc[k] != next->pc ||
        prev->mode != next->mode)
        return;
    struct jit_chain *c = &prev->jit.chain[k];
    c->epoch = cell_epoch(sv, prev, next->pc);
    c->vm_epoch = atomic_load_explicit(&sv->svm->code_pages.epoch, memory_order_acquire);
    c->insns = next->guest_insns;
    c->blk = next;
    c->fn = fn;
}

void soft_exec_stats(struct vcpu *vcpu, struct anyhv_exec_stats *out)
{
    struct soft_vcpu *sv = vcpu->be;
    struct jit_stats js;
    jit_vcpu_stats(sv->jit, &js);
    memset(out, 0, sizeof(*out));
    out->blocks_translated = sv->tc.translations;
    out->runs_interpreted = sv->blocks_interp;
    out->runs_compiled = sv->blocks_jit;
    out->blocks_compiled = js.blocks_compiled;
    out->blocks_refused = js.blocks_failed;
    out->compile_units = js.units;
    out->compile_ns = js.compile_ns;
    out->code_bytes = js.code_bytes;
    out->jit_mode = (uint32_t)jit_engine_mode(sv->svm->jit);
}
