/* emit_ctl.c - the effectful half of the lowering: guest state, guest memory with
 * the TLB fast path inline and the slow path out of line, helper calls, instruction
 * boundaries and every way out of a block, including the direct tail call into a
 * chained successor. What the interpreter publishes to soft_cpu before anything out
 * of line runs (instruction count, open instruction), compiled code publishes too. */
#include "jit/llvm/emit_internal.h"

#include "mmu/mmu.h"

#define EM_TLB_ENTRY_SIZE sizeof(struct mmu_entry)
#define EM_TLB_REGIME_SIZE (sizeof(struct mmu_entry) * MMU_TLB_ENTRIES)

/* ---- instruction boundaries --------------------------------------------------------- */

static LLVMValueRef icount_plus(struct em_fn *f, uint64_t n)
{
    return n ? LLVMBuildAdd(f->m->bd, f->ic0, LLVMConstInt(f->m->i64, n, 0), "") : f->ic0;
}

/* The current instruction as soft_cpu shows it: open or retired, its pc and length. */
static void publish_insn(struct em_fn *f, bool open)
{
    struct em_module *m = f->m;
    em_store(f, LLVMConstInt(m->i32, open, 0), f->cpu, EM_CPU(insn_open));
    if (f->start) {
        em_store(f, LLVMConstInt(m->i64, f->start->imm, 0), f->cpu, EM_CPU(insn_pc));
        em_store(f, LLVMConstInt(m->i32, (uint32_t)f->start->imm2, 0), f->cpu, EM_CPU(insn_len));
    }
}

/* Publish the open instruction before out-of-line code can look (interp.c sync). */
static void sync_open(struct em_fn *f, bool main_path)
{
    em_cache_flush(f, main_path);
    em_store(f, icount_plus(f, f->seen ? f->seen - 1 : 0), f->cpu, EM_CPU(icount));
    publish_insn(f, f->start != NULL);
}

static void call_set_pc(struct em_fn *f, LLVMValueRef pc)
{
    LLVMValueRef args[2] = { f->cpu, pc };
    LLVMBuildCall2(f->m->bd, f->m->set_pc_t, em_ptr_const(f, (const void *)f->b->info.set_pc), args, 2, "");
}

/* Set the pc once the cache is flushed: where the pc is a plain field of the state in
 * this mode, a store does what set_pc would. */
static void set_pc_flushed(struct em_fn *f, LLVMValueRef pc)
{
    if (f->b->info.pc_offset >= 0)
        em_store(f, pc, f->state, (uint32_t)f->b->info.pc_offset);
    else
        call_set_pc(f, pc);
}

static void ret(struct em_fn *f, uint32_t r)
{
    if (f->left_var)   /* the dispatcher counts chained blocks from it */
        em_store(f, LLVMBuildLoad2(f->m->bd, f->m->i32, f->left_var, ""), em_ptr_const(f, f->b->ctx),
                 offsetof(struct jit_vcpu_ctx, chain_left));
    /* Every return goes through one block: FastISel cannot lower a preserve_none return
     * and sends the whole block holding it to SelectionDAG, several times slower. */
    LLVMBuilderRef bd = f->m->bd;
    LLVMBasicBlockRef from = LLVMGetInsertBlock(bd);
    if (!f->ret_bb) {
        f->ret_bb = em_new_bb(f, "ret");
        LLVMPositionBuilderAtEnd(bd, f->ret_bb);
        f->ret_phi = LLVMBuildPhi(bd, f->m->i32, "");
        LLVMBuildRet(bd, f->ret_phi);
        LLVMPositionBuilderAtEnd(bd, from);
    }
    LLVMValueRef v = LLVMConstInt(f->m->i32, r, 0);
    LLVMAddIncoming(f->ret_phi, &v, &from, 1);
    LLVMBuildBr(bd, f->ret_bb);
}

/* Return to the dispatcher after the open instruction retired: publish it as the
 * last one, as the interpreter leaves it (a chained successor needs none of this:
 * it publishes its own before anything out of line runs). */
static void ret_exit(struct em_fn *f)
{
    publish_insn(f, false);
    ret(f, INTERP_EXIT);
}

static LLVMValueRef load_atomic(struct em_fn *f, LLVMTypeRef t, const void *addr, unsigned align)
{
    LLVMValueRef l = LLVMBuildLoad2(f->m->bd, t, em_ptr_const(f, addr), "");
    em_mem_tag(f, l, EM_MEM_HOST);
    /* Volatile, not atomic: on the hosts we run on an aligned load is a plain load
     * either way, and FastISel cannot select atomic loads (each one would send its
     * whole basic block through SelectionDAG in warm code). */
    LLVMSetVolatile(l, 1);
    LLVMSetAlignment(l, align);
    return l;
}

/* a && (x == y) */
static LLVMValueRef and_eq(struct em_fn *f, LLVMValueRef a, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef eq = LLVMBuildICmp(f->m->bd, LLVMIntEQ, x, y, "");
    return a ? LLVMBuildAnd(f->m->bd, a, eq, "") : eq;
}

/* ok && what the dispatcher checks before every block: no request pending, the next
 * block (insns, i64) fits the instruction budget whole, and blocks are left to chain
 * before the next dispatcher visit (*left gets that count). */
static LLVMValueRef may_go_on(struct em_fn *f, LLVMValueRef ok, LLVMValueRef insns, LLVMValueRef *left)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct jit_vcpu_ctx *ctx = f->b->ctx;
    ok = and_eq(f, ok, load_atomic(f, m->i32, ctx->requests, 4), LLVMConstInt(m->i32, 0, 0));
    LLVMValueRef ic = icount_plus(f, f->seen), bud = f->budget;
    ok = LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntULE, ic, bud, ""), "");
    ok = LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntULE, insns, LLVMBuildSub(bd, bud, ic, ""), ""), "");
    *left = f->left_var ? LLVMBuildLoad2(bd, m->i32, f->left_var, "")
                        : em_load(f, m->i32, em_ptr_const(f, ctx), offsetof(struct jit_vcpu_ctx, chain_left));
    return LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntUGT, *left, LLVMConstInt(m->i32, 1, 0), ""), "");
}

/* Branch on ok: the taken side counts one more chained block and publishes blk (a
 * pointer value) as the running block, and is where the builder is left; the other
 * side records exit k for the dispatcher and returns to it. */
static void go_on_or_return(struct em_fn *f, LLVMValueRef ok, LLVMValueRef left, LLVMValueRef blk, uint32_t k)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct jit_vcpu_ctx *ctx = f->b->ctx;
    LLVMValueRef ctxp = em_ptr_const(f, ctx);
    LLVMBasicBlockRef go = em_new_bb(f, "go_on"), out = em_new_bb(f, "leave");
    LLVMBuildCondBr(bd, ok, go, out);
    LLVMPositionBuilderAtEnd(bd, out);
    em_store(f, LLVMConstInt(m->i32, k, 0), ctxp, offsetof(struct jit_vcpu_ctx, last_exit));
    ret_exit(f);
    LLVMPositionBuilderAtEnd(bd, go);
    em_store(f, LLVMBuildSub(bd, left, LLVMConstInt(m->i32, 1, 0), ""), ctxp, offsetof(struct jit_vcpu_ctx, chain_left));
    em_store(f, blk, em_ptr_const(f, ctx->running), 0);
}

static void tail_call(struct em_fn *f, LLVMValueRef fn)
{
    LLVMValueRef args[2] = { f->cpu, f->state };
    LLVMValueRef r = LLVMBuildCall2(f->m->bd, f->m->blk_fn_t, fn, args, 2, "");
    LLVMSetInstructionCallConv(r, LLVM_BLOCK_CALLCONV);
    LLVMSetTailCallKind(r, LLVMTailCallKindMustTail);
    LLVMBuildRet(f->m->bd, r);
}

/* Tail-call the successor through chain cell k when every condition the dispatcher
 * would check still holds (see struct jit_chain); else return to the dispatcher. */
static void chain_or_return(struct em_fn *f, uint32_t k, bool in_page)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct jit_vcpu_ctx *ctx = f->b->ctx;
    LLVMValueRef ctxp = em_ptr_const(f, ctx);
    if (k == JIT_EXIT_NONE || !f->b->info.chainable) {
        em_store(f, LLVMConstInt(m->i32, k, 0), ctxp, offsetof(struct jit_vcpu_ctx, last_exit));
        ret_exit(f);
        return;
    }
    LLVMValueRef cell = em_ptr_const(f, &f->b->chain[k]);
    LLVMValueRef fn = em_load(f, m->ptr, cell, offsetof(struct jit_chain, fn));
    LLVMValueRef ok = LLVMBuildICmp(bd, LLVMIntNE, fn, LLVMConstNull(m->ptr), "");
    ok = and_eq(f, ok, em_load(f, m->i64, cell, offsetof(struct jit_chain, epoch)),
                em_load(f, m->i64, ctxp,
                        in_page ? offsetof(struct jit_vcpu_ctx, chain_epoch_page) : offsetof(struct jit_vcpu_ctx, chain_epoch)));
    ok = and_eq(f, ok, em_load(f, m->i64, cell, offsetof(struct jit_chain, vm_epoch)),
                load_atomic(f, m->i64, ctx->vm_epoch, 8));
    LLVMValueRef left;
    ok = may_go_on(f, ok, em_load(f, m->i64, cell, offsetof(struct jit_chain, insns)), &left);
    go_on_or_return(f, ok, left, em_load(f, m->ptr, cell, offsetof(struct jit_chain, blk)), k);
    tail_call(f, fn);
}

/* The region member starting at pc, or -1. */
static int member_at(struct em_fn *f, uint64_t pc)
{
    for (uint32_t i = 0; i < f->func->n; i++)
        if (f->func->member[i].info.pc == pc)
            return (int)i;
    return -1;
}

/* A trip back to the head of a region (or a run of a block compiled alone, counted
 * where it leaves) that counts its heat: whether this is the one that reaches the
 * limit (i1), which leaves for the dispatcher so it can ask for optimised code. */
static LLVMValueRef count_heat(struct em_fn *f)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    LLVMValueRef at = em_ptr_const(f, f->func->heat);
    LLVMValueRef h = LLVMBuildAdd(bd, em_load(f, m->i32, at, 0), LLVMConstInt(m->i32, 1, 0), "");
    em_store(f, h, at, 0);
    return LLVMBuildICmp(bd, LLVMIntEQ, h, LLVMConstInt(m->i32, f->func->heat_limit, 0), "");
}

/* A direct exit to a member of the region: continue inside the function while the
 * dispatcher would have let compiled code chain (no request, code unchanged, the
 * member fits the budget, chain count left); else leave as usual. Returns the i1
 * that says the region just got hot (see count_heat), or NULL. */
static LLVMValueRef internal_edge(struct em_fn *f, uint32_t j, uint64_t pc)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct jit_vcpu_ctx *ctx = f->b->ctx;
    const struct em_block *to = &f->func->member[j];
    LLVMValueRef ctxp = em_ptr_const(f, ctx);
    LLVMValueRef ic = icount_plus(f, f->seen), left;
    LLVMValueRef ok = and_eq(f, NULL, load_atomic(f, m->i64, ctx->vm_epoch, 8), f->vm_epoch0);
    LLVMValueRef hot = j == 0 && f->func->heat ? count_heat(f) : NULL;
    if (hot)
        ok = LLVMBuildAnd(bd, ok, LLVMBuildNot(bd, hot, ""), "");
    ok = may_go_on(f, ok, LLVMConstInt(m->i64, to->info.guest_insns, 0), &left);
    LLVMBasicBlockRef go = em_new_bb(f, "edge"), out = em_new_bb(f, "edge_out");
    LLVMBuildCondBr(bd, ok, go, out);
    LLVMPositionBuilderAtEnd(bd, go);
    LLVMValueRef left1 = LLVMBuildSub(bd, left, LLVMConstInt(m->i32, 1, 0), "");
    if (f->left_var)
        LLVMBuildStore(bd, left1, f->left_var);
    else
        em_store(f, left1, ctxp, offsetof(struct jit_vcpu_ctx, chain_left));
    if (j != f->member)   /* a trip back to this member: it is the running block already */
        em_store(f, em_ptr_const(f, to->self), em_ptr_const(f, ctx->running), 0);
    /* Blocks begin with the state's pc at their start, as after a dispatcher exit. */
    if (f->b->info.pc_offset >= 0)
        em_state_set(f, (uint32_t)f->b->info.pc_offset, LLVMConstInt(m->i64, pc, 0));
    else
        call_set_pc(f, LLVMConstInt(m->i64, pc, 0));
    LLVMAddIncoming(f->member_ic[j], &ic, (LLVMBasicBlockRef[]){ LLVMGetInsertBlock(bd) }, 1);
    LLVMBuildBr(bd, f->member_bb[j]);
    LLVMPositionBuilderAtEnd(bd, out);
    return hot;
}

/* An indirect branch: tail-call the target's code when the vCPU's jump cache has it
 * (see struct jit_jcache_entry); else return to the dispatcher, which fills it. */
static void indirect_or_return(struct em_fn *f, LLVMValueRef pc)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    const struct jit_vcpu_ctx *ctx = f->b->ctx;
    LLVMValueRef ctxp = em_ptr_const(f, ctx);
    LLVMValueRef done = LLVMConstInt(m->i32, JIT_EXIT_INDIRECT, 0);
    if (!ctx->jcache || !f->b->info.chainable) {
        em_store(f, done, ctxp, offsetof(struct jit_vcpu_ctx, last_exit));
        ret_exit(f);
        return;
    }
    /* jit_jcache_index, spelled in IR. */
    LLVMValueRef h = LLVMBuildXor(bd, pc, LLVMBuildLShr(bd, pc, LLVMConstInt(m->i64, 10, 0), ""), "");
    h = LLVMBuildAnd(bd, LLVMBuildLShr(bd, h, LLVMConstInt(m->i64, 1, 0), ""),
                     LLVMConstInt(m->i64, JIT_JCACHE_SIZE - 1, 0), "");
    LLVMValueRef off = LLVMBuildMul(bd, h, LLVMConstInt(m->i64, sizeof(struct jit_jcache_entry), 0), "");
    LLVMValueRef e = LLVMBuildGEP2(bd, m->i8, em_ptr_const(f, ctx->jcache), &off, 1, "");
    LLVMValueRef ok = and_eq(f, NULL, em_load(f, m->i64, e, offsetof(struct jit_jcache_entry, pc)), pc);
    ok = and_eq(f, ok, em_load(f, m->i64, e, offsetof(struct jit_jcache_entry, mode)),
                LLVMConstInt(m->i64, f->b->info.mode, 0));
    ok = and_eq(f, ok, em_load(f, m->i64, e, offsetof(struct jit_jcache_entry, epoch)),
                em_load(f, m->i64, ctxp, offsetof(struct jit_vcpu_ctx, chain_epoch)));
    ok = and_eq(f, ok, em_load(f, m->i64, e, offsetof(struct jit_jcache_entry, vm_epoch)),
                load_atomic(f, m->i64, ctx->vm_epoch, 8));
    LLVMValueRef left;
    ok = may_go_on(f, ok, em_load(f, m->i64, e, offsetof(struct jit_jcache_entry, insns)), &left);
    go_on_or_return(f, ok, left, em_load(f, m->ptr, e, offsetof(struct jit_jcache_entry, blk)), JIT_EXIT_INDIRECT);
    tail_call(f, em_load(f, m->ptr, e, offsetof(struct jit_jcache_entry, fn)));
}

/* Leave to pc: the current instruction retires (interp.c leave). */
static void leave(struct em_fn *f, LLVMValueRef pc, uint32_t cell)
{
    struct em_module *m = f->m;
    LLVMValueRef hot = NULL;
    if (LLVMIsConstant(pc) && f->func->n) {
        int j = member_at(f, LLVMConstIntGetZExtValue(pc));
        if (j >= 0 && f->b->info.chainable)
            hot = internal_edge(f, (uint32_t)j, LLVMConstIntGetZExtValue(pc));
    }
    if (f->func->heat && f->func->heat_at_exits) {
        LLVMValueRef runs = count_heat(f);
        hot = hot ? LLVMBuildOr(m->bd, hot, runs, "") : runs;
    }
    em_cache_flush(f, false);
    em_store(f, icount_plus(f, f->seen), f->cpu, EM_CPU(icount));
    set_pc_flushed(f, pc);
    if (hot) {   /* the dispatcher must see this trip: no chaining past it */
        LLVMBasicBlockRef to_disp = em_new_bb(f, "hot"), on = em_new_bb(f, "not_hot");
        LLVMBuildCondBr(m->bd, hot, to_disp, on);
        LLVMPositionBuilderAtEnd(m->bd, to_disp);
        em_store(f, LLVMConstInt(m->i32, cell, 0), em_ptr_const(f, f->b->ctx),
                 offsetof(struct jit_vcpu_ctx, last_exit));
        ret_exit(f);
        LLVMPositionBuilderAtEnd(m->bd, on);
    }
    if (cell == JIT_EXIT_INDIRECT)
        indirect_or_return(f, pc);
    else
        chain_or_return(f, cell,
                        LLVMIsConstant(pc) &&
                            jit_cell_in_page(f->b->info.pc, f->b->info.one_page, LLVMConstIntGetZExtValue(pc)));
}

static void stop(struct em_fn *f, uint64_t reason, uint64_t detail)
{
    em_store(f, LLVMConstInt(f->m->i32, reason, 0), f->cpu, EM_CPU(stop_reason));
    em_store(f, LLVMConstInt(f->m->i64, detail, 0), f->cpu, EM_CPU(stop_detail));
    ret(f, INTERP_STOP);
}

/* If cond, run `side` in a block of its own; carry on after it otherwise. */
static void side_exit(struct em_fn *f, LLVMValueRef cond, void (*side)(struct em_fn *, const struct interp_insn *),
                      const struct interp_insn *in)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMBasicBlockRef take = em_new_bb(f, "side"), cont = em_new_bb(f, "cont");
    LLVMBuildCondBr(bd, cond, take, cont);
    LLVMPositionBuilderAtEnd(bd, take);
    side(f, in);
    LLVMPositionBuilderAtEnd(bd, cont);
}

static void exit_if_side(struct em_fn *f, const struct interp_insn *in)
{
    leave(f, LLVMConstInt(f->m->i64, in->imm, 0), f->next_exit++);
}

/* A fault at the open instruction: not retired, pc back to it (interp.c x_TRAP_IF). */
static void trap_side(struct em_fn *f, const struct interp_insn *in)
{
    sync_open(f, false);   /* flushes the cache too */
    if (f->start)
        set_pc_flushed(f, LLVMConstInt(f->m->i64, f->start->imm, 0));
    stop(f, IR_STOP_EXCEPTION, in->imm);
}

static void branch(struct em_fn *f, const struct interp_insn *in)
{
    LLVMBuilderRef bd = f->m->bd;
    LLVMBasicBlockRef t = em_new_bb(f, "taken"), n = em_new_bb(f, "not_taken");
    uint32_t k = f->next_exit;
    f->next_exit += 2;
    LLVMBuildCondBr(bd, f->val[in->a], t, n);
    LLVMPositionBuilderAtEnd(bd, t);
    leave(f, LLVMConstInt(f->m->i64, in->imm, 0), k);
    LLVMPositionBuilderAtEnd(bd, n);
    leave(f, LLVMConstInt(f->m->i64, in->imm2, 0), k + 1);
}

/* ---- guest memory -------------------------------------------------------------------- */

struct em_access {
    LLVMValueRef va, regime, acc;   /* i64, i64, i32 */
    unsigned size;
    uint32_t need;
};

/* interp.c mem_access: user when the op says so or the regime is user. */
static struct em_access access_of(struct em_fn *f, const struct interp_insn *in, uint32_t kind)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    struct em_access a = { .va = f->val[in->a], .size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), .need = kind };
    if (in->imm & IR_MEM_PRIV_USER) {
        a.regime = LLVMConstInt(m->i64, 1, 0);
        a.acc = LLVMConstInt(m->i32, kind | MMU_USER, 0);
        return a;
    }
    LLVMValueRef reg = em_load(f, m->i32, f->cpu, EM_CPU(regime));
    LLVMValueRef user = LLVMBuildICmp(bd, LLVMIntEQ, reg, LLVMConstInt(m->i32, 1, 0), "");
    a.regime = LLVMBuildZExt(bd, reg, m->i64, "");
    a.acc = LLVMBuildSelect(bd, user, LLVMConstInt(m->i32, kind | MMU_USER, 0), LLVMConstInt(m->i32, kind, 0), "");
    return a;
}

/* The TLB fast path's test; *host gets the host address on a hit. Reads and writes
 * compare the entry's fast tag for their kind with the tag of the access's last
 * byte: equal only when the entry maps this page for that access to RAM and the
 * access stays inside the page (an entry never holds the next page's tag: that one
 * has the next index). Fetches check the fields one by one. */
static LLVMValueRef tlb_hit(struct em_fn *f, const struct em_access *a, LLVMValueRef *host)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    LLVMValueRef idx = LLVMBuildAnd(bd, LLVMBuildLShr(bd, a->va, LLVMConstInt(m->i64, MMU_PAGE_BITS, 0), ""),
                                    LLVMConstInt(m->i64, MMU_TLB_ENTRIES - 1, 0), "");
    LLVMValueRef off = LLVMBuildAdd(bd, LLVMBuildMul(bd, a->regime, LLVMConstInt(m->i64, EM_TLB_REGIME_SIZE, 0), ""),
                                    LLVMBuildMul(bd, idx, LLVMConstInt(m->i64, EM_TLB_ENTRY_SIZE, 0), ""), "");
    off = LLVMBuildAdd(bd, off, LLVMConstInt(m->i64, EM_CPU(tlb.e), 0), "");
    LLVMValueRef e = LLVMBuildGEP2(bd, m->i8, f->cpu, &off, 1, "");
    LLVMValueRef salt = em_load(f, m->i64, f->cpu, EM_CPU(tlb.salt));
    LLVMValueRef page_mask = LLVMConstInt(m->i64, MMU_PAGE_MASK, 0);
    LLVMValueRef in_page = LLVMBuildAnd(bd, a->va, LLVMConstInt(m->i64, ~MMU_PAGE_MASK, 0), "");
    LLVMValueRef ok;
    if (a->need == MMU_READ || a->need == MMU_WRITE) {
        LLVMValueRef last = LLVMBuildAdd(bd, a->va, LLVMConstInt(m->i64, a->size - 1, 0), "");
        LLVMValueRef tag = LLVMBuildOr(bd, LLVMBuildAnd(bd, last, page_mask, ""), salt, "");
        size_t at = offsetof(struct mmu_entry, fast) +
                    (a->need == MMU_READ ? MMU_FAST_READ : MMU_FAST_WRITE) * sizeof(uint64_t);
        ok = LLVMBuildICmp(bd, LLVMIntEQ, em_load(f, m->i64, e, at), tag, "");
    } else {
        LLVMValueRef tag = LLVMBuildOr(bd, LLVMBuildAnd(bd, a->va, page_mask, ""), salt, "");
        ok = LLVMBuildICmp(bd, LLVMIntEQ, em_load(f, m->i64, e, offsetof(struct mmu_entry, vpage)), tag, "");
        LLVMValueRef perms = em_load(f, m->i32, e, offsetof(struct mmu_entry, perms));
        LLVMValueRef need = LLVMConstInt(m->i32, a->need, 0);
        ok = LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntEQ, LLVMBuildAnd(bd, perms, need, ""), need, ""), "");
        LLVMValueRef h = em_load(f, m->ptr, e, offsetof(struct mmu_entry, host));
        ok = LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntNE, h, LLVMConstNull(m->ptr), ""), "");
        LLVMValueRef end = LLVMBuildAdd(bd, in_page, LLVMConstInt(m->i64, a->size, 0), "");
        ok = LLVMBuildAnd(bd, ok, LLVMBuildICmp(bd, LLVMIntULE, end, LLVMConstInt(m->i64, MMU_PAGE_SIZE, 0), ""), "");
    }
    /* Loaded on both sides of the branch: harmless, the entry is always readable. */
    LLVMValueRef h = em_load(f, m->ptr, e, offsetof(struct mmu_entry, host));
    *host = LLVMBuildGEP2(bd, m->i8, h, &in_page, 1, "");
    return ok;
}

static void emit_load(struct em_fn *f, const struct interp_insn *in)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    uint32_t kind = (in->imm & IR_MEM_FETCH) ? MMU_FETCH : MMU_READ;
    struct em_access a = access_of(f, in, kind);
    LLVMTypeRef t = em_ty(f, a.size * 8);
    LLVMValueRef host;
    LLVMValueRef hit = tlb_hit(f, &a, &host);
    LLVMBasicBlockRef fast = em_new_bb(f, "ld_fast"), slow = em_new_bb(f, "ld_slow"), join = em_new_bb(f, "ld_join");
    LLVMBuildCondBr(bd, hit, fast, slow);
    LLVMPositionBuilderAtEnd(bd, fast);
    LLVMValueRef x_fast = LLVMBuildLoad2(bd, t, host, "");
    LLVMSetAlignment(x_fast, 1);
    em_mem_tag(f, x_fast, EM_MEM_GUEST);
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, slow);
    sync_open(f, false);
    LLVMValueRef args[5] = { f->cpu, a.va, LLVMConstInt(m->i32, a.size, 0), a.acc, LLVMConstInt(m->i64, in->imm2, 0) };
    /* Up to 8 bytes through the 64-bit entry: no i128 for FastISel to give up on. */
    bool narrow = a.size <= 8;
    LLVMValueRef wide = LLVMBuildCall2(bd, narrow ? m->load64_t : m->load_t,
                                       em_ptr_const(f, narrow ? (const void *)jit_rt_load64 : (const void *)jit_rt_load),
                                       args, 5, "");
    LLVMValueRef x_slow = em_fit(f, wide, a.size * 8);
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, join);
    LLVMValueRef x = LLVMBuildPhi(bd, t, "");
    LLVMAddIncoming(x, (LLVMValueRef[]){ x_fast, x_slow }, (LLVMBasicBlockRef[]){ fast, slow }, 2);
    if (in->w > a.size * 8)
        x = (in->imm & IR_MEM_SIGNED) ? LLVMBuildSExt(bd, x, em_ty(f, in->w), "") : LLVMBuildZExt(bd, x, em_ty(f, in->w), "");
    f->val[in->dst] = x;
}

static void emit_store(struct em_fn *f, const struct interp_insn *in)
{
    struct em_module *m = f->m;
    LLVMBuilderRef bd = m->bd;
    struct em_access a = access_of(f, in, MMU_WRITE);
    LLVMValueRef v = f->val[in->b];
    LLVMValueRef host;
    LLVMValueRef hit = tlb_hit(f, &a, &host);
    LLVMBasicBlockRef fast = em_new_bb(f, "st_fast"), slow = em_new_bb(f, "st_slow"), join = em_new_bb(f, "st_join");
    LLVMBuildCondBr(bd, hit, fast, slow);
    LLVMPositionBuilderAtEnd(bd, fast);
    LLVMValueRef s = LLVMBuildStore(bd, em_fit(f, v, a.size * 8), host);
    LLVMSetAlignment(s, 1);
    em_mem_tag(f, s, EM_MEM_GUEST);
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, slow);
    sync_open(f, false);
    bool narrow = a.size <= 8;
    LLVMValueRef args[6] = { f->cpu, a.va, em_fit(f, v, narrow ? 64 : 128), LLVMConstInt(m->i32, a.size, 0), a.acc,
                             LLVMConstInt(m->i64, in->imm2, 0) };
    LLVMBuildCall2(bd, narrow ? m->store64_t : m->store_t,
                   em_ptr_const(f, narrow ? (const void *)jit_rt_store64 : (const void *)jit_rt_store), args, 6, "");
    LLVMBuildBr(bd, join);
    LLVMPositionBuilderAtEnd(bd, join);
}

static void emit_atomic(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    struct em_module *m = f->m;
    struct em_access a = access_of(f, in, MMU_READ | MMU_WRITE);
    sync_open(f, true);
    LLVMValueRef r;
    if (op == IR_CMPXCHG) {
        LLVMValueRef args[7] = { f->cpu, a.va, LLVMConstInt(m->i32, a.size, 0), a.acc, LLVMConstInt(m->i64, in->imm2, 0),
                                 em_fit(f, f->val[in->b], 128), em_fit(f, f->val[in->c], 128) };
        r = LLVMBuildCall2(m->bd, m->cmpxchg_t, em_ptr_const(f, (const void *)jit_rt_cmpxchg), args, 7, "");
    } else {
        LLVMValueRef args[6] = { f->cpu, a.va, LLVMConstInt(m->i32, a.size, 0), a.acc,
                                 LLVMConstInt(m->i32, (uint32_t)in->imm2, 0), em_fit(f, f->val[in->b], 128) };
        r = LLVMBuildCall2(m->bd, m->rmw_t, em_ptr_const(f, (const void *)jit_rt_rmw), args, 6, "");
    }
    f->val[in->dst] = em_fit(f, r, in->w);
}

/* ---- state, helpers, control --------------------------------------------------------- */

static void emit_get(struct em_fn *f, const struct interp_insn *in)
{
    f->val[in->dst] = em_state_get(f, (uint32_t)in->imm, in->w);
}

static void emit_set(struct em_fn *f, const struct interp_insn *in)
{
    em_state_set(f, (uint32_t)in->imm, f->val[in->a]);
}

static void emit_call(struct em_fn *f, const struct interp_insn *in)
{
    struct em_module *m = f->m;
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
    if (h->flags == IR_HELPER_PURE)
        em_store(f, icount_plus(f, f->seen ? f->seen - 1 : 0), f->cpu, EM_CPU(icount));
    else
        sync_open(f, true);
    LLVMValueRef zero = LLVMConstInt(m->i128, 0, 0);
    LLVMValueRef args[4] = { f->cpu, in->a ? em_fit(f, f->val[in->a], 128) : zero,
                             in->b ? em_fit(f, f->val[in->b], 128) : zero, in->c ? em_fit(f, f->val[in->c], 128) : zero };
    LLVMValueRef r = LLVMBuildCall2(m->bd, m->helper_t, em_ptr_const(f, (const void *)h->fn), args, 4, "");
    if (h->flags & IR_HELPER_WRITES_STATE)
        em_cache_reload(f);   /* it may have written state the function keeps */
    if (in->w)
        f->val[in->dst] = em_fit(f, r, in->w);
}

bool em_emit_effect(struct em_fn *f, const struct interp_insn *in, uint16_t op)
{
    LLVMBuilderRef bd = f->m->bd;
    switch (op) {
    case IR_GET: emit_get(f, in); return true;
    case IR_SET: emit_set(f, in); return true;
    case IR_LOAD: emit_load(f, in); return true;
    case IR_STORE: emit_store(f, in); return true;
    case IR_CMPXCHG: case IR_ATOMIC_RMW: emit_atomic(f, in, op); return true;
    case IR_FENCE: LLVMBuildFence(bd, LLVMAtomicOrderingSequentiallyConsistent, 0, ""); return true;
    case IR_CALL:
        if (!ir_helper_get((uint32_t)in->imm))
            return false;
        emit_call(f, in);
        return true;
    case IR_INSN_START:
        f->seen++;
        f->start = in;
        return true;
    case IR_EXIT_IF: side_exit(f, f->val[in->a], exit_if_side, in); return true;
    case IR_TRAP_IF: side_exit(f, f->val[in->a], trap_side, in); return true;
    case IR_JUMP: leave(f, LLVMConstInt(f->m->i64, in->imm, 0), f->next_exit++); return true;
    case IR_JUMP_IND: leave(f, f->val[in->a], JIT_EXIT_INDIRECT); return true;
    case IR_BRANCH: branch(f, in); return true;
    case IR_STOP:
        sync_open(f, false);
        stop(f, in->imm, in->imm2);
        return true;
    default:
        return false;   /* CONST never reaches code; anything else is unknown */
    }
}
