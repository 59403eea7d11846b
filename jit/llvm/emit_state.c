/* emit_state.c - guest state in compiled code. Without a cache every GET and SET is a
 * load or store of the state struct. With one (hot regions), each field all of whose
 * accesses agree on offset and width lives in an alloca, which LLVM's mem2reg turns
 * into SSA values: loaded once on entry, written back (flush) only where something
 * outside the function may look (exits, helpers, memory slow paths, faults) and
 * re-read (reload) after a helper that may have changed it. */
#include "jit/llvm/emit_internal.h"

#include <stdlib.h>
#include <string.h>

static unsigned bytes_of(unsigned w)
{
    return w <= 8 ? 1u : w / 8u;
}

static int slot_cmp(const void *a, const void *b)
{
    const struct em_slot *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return (int)x->w - (int)y->w;
}

/* For each cached slot, the bits no write of the function changes (slot.keep), when
 * every write derives from the field itself (interp_changed_bits) and no helper may
 * rewrite state: those bits keep their entry value, and saying so lets LLVM see that a
 * loop's flag updates do not depend on the last trip (arm64 NZCV in PSTATE), so it can
 * sink them to the exits. One pass over the members; 0 where nothing is known. */
static struct em_slot *find(struct em_fn *f, uint32_t off, unsigned w);

static void plan_keep_bits(struct em_fn *f)
{
    uint64_t *moved = calloc(f->nslot ? f->nslot : 1, sizeof(*moved));
    if (!moved)
        return;   /* keep stays 0: nothing known */
    for (uint32_t i = 0; i < f->func->n; i++) {
        const struct interp_prog *p = &f->func->member[i].prog;
        uint32_t *def = interp_defs(p);
        for (uint32_t k = 0; k < p->count; k++) {
            const struct interp_insn *in = &p->code[k];
            if (!def || (in->op == IR_CALL && (ir_helper_get((uint32_t)in->imm)->flags & IR_HELPER_WRITES_STATE))) {
                memset(moved, 0xff, (f->nslot ? f->nslot : 1) * sizeof(*moved));
                break;
            }
            struct em_slot *s = (in->op == IR_SET || in->op == IX_SET64) ? find(f, (uint32_t)in->imm, in->w) : NULL;
            if (s && s->w > 1 && s->w <= 64)
                moved[s - f->slot] |= interp_changed_bits(p, def, in->a, in->imm, in->w);
        }
        free(def);
    }
    for (uint32_t i = 0; i < f->nslot; i++) {
        struct em_slot *s = &f->slot[i];
        uint64_t all = s->w >= 64 ? ~0ull : (1ull << s->w) - 1;
        s->keep = s->written && s->w > 1 && s->w <= 64 ? ~moved[i] & all : 0;
    }
    free(moved);
}

/* Every state access of every member, then keep the (offset, width) pairs no other
 * access overlaps. */
bool em_cache_plan(struct em_fn *f)
{
    uint32_t cap = 0, n = 0;
    for (uint32_t i = 0; i < f->func->n; i++)
        cap += f->func->member[i].prog.count;
    struct em_slot *all = calloc(cap + 1, sizeof(*all));
    if (!all)
        return false;
    /* The pc too, where it is a field: edges inside the region set it on every trip
     * and only exits and out-of-line code need it in the struct. */
    int pc_off = f->func->member[0].info.pc_offset;
    if (pc_off >= 0)
        all[n++] = (struct em_slot){ .off = (uint32_t)pc_off, .w = 64, .written = true };
    for (uint32_t i = 0; i < f->func->n; i++) {
        const struct interp_prog *p = &f->func->member[i].prog;
        for (uint32_t k = 0; k < p->count; k++) {
            const struct interp_insn *in = &p->code[k];
            bool get = in->op == IR_GET || in->op == IX_GET64, set = in->op == IR_SET || in->op == IX_SET64;
            if (get || set)
                all[n++] = (struct em_slot){ .off = (uint32_t)in->imm, .w = in->w, .written = set };
        }
    }
    qsort(all, n, sizeof(*all), slot_cmp);
    uint32_t out = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        bool written = all[i].written, clash = false;
        uint32_t end = all[i].off + bytes_of(all[i].w);
        for (; j < n && all[j].off < end; j++) {
            clash |= all[j].off != all[i].off || all[j].w != all[i].w;
            written |= all[j].written;
            if (all[j].off + bytes_of(all[j].w) > end)
                end = all[j].off + bytes_of(all[j].w);
        }
        if (!clash) {
            all[out] = all[i];
            all[out].written = written;
            out++;
        }
        i = j;
    }
    f->slot = all;
    f->nslot = out;
    plan_keep_bits(f);
    LLVMBuilderRef bd = f->m->bd;
    for (uint32_t i = 0; i < out; i++) {
        LLVMTypeRef t = em_ty(f, all[i].w == 1 ? 8 : all[i].w);
        all[i].var = LLVMBuildAlloca(bd, t, "");
        LLVMValueRef v0 = em_load(f, t, f->state, all[i].off);
        LLVMBuildStore(bd, v0, all[i].var);
        if (all[i].keep)
            all[i].kept = LLVMBuildAnd(bd, v0, LLVMConstInt(t, all[i].keep, 0), "");
    }
    /* The chain budget, for the same reason: written back where the function returns. */
    const struct jit_vcpu_ctx *ctx = f->func->member[0].ctx;
    f->left_var = LLVMBuildAlloca(bd, f->m->i32, "");
    LLVMBuildStore(bd, em_load(f, f->m->i32, em_ptr_const(f, ctx), offsetof(struct jit_vcpu_ctx, chain_left)),
                   f->left_var);
    return true;
}

static struct em_slot *find(struct em_fn *f, uint32_t off, unsigned w)
{
    uint32_t lo = 0, hi = f->nslot;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (f->slot[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->nslot && f->slot[lo].off == off && f->slot[lo].w == w ? &f->slot[lo] : NULL;
}

LLVMValueRef em_state_get(struct em_fn *f, uint32_t off, unsigned w)
{
    LLVMBuilderRef bd = f->m->bd;
    struct em_slot *s = f->slot ? find(f, off, w) : NULL;
    LLVMTypeRef t = em_ty(f, w == 1 ? 8 : w);
    LLVMValueRef v = s ? LLVMBuildLoad2(bd, t, s->var, "") : em_load(f, t, f->state, off);
    return w == 1 ? LLVMBuildTrunc(bd, v, f->m->i1, "") : v;
}

void em_state_set(struct em_fn *f, uint32_t off, LLVMValueRef v)
{
    LLVMBuilderRef bd = f->m->bd;
    unsigned w = em_width(v);
    struct em_slot *s = f->slot ? find(f, off, w) : NULL;
    if (w == 1)
        v = LLVMBuildZExt(bd, v, f->m->i8, "");
    if (s && s->keep) {   /* the same value, spelled so that the kept bits are visibly invariant */
        LLVMTypeRef t = LLVMTypeOf(v);
        v = LLVMBuildOr(bd, LLVMBuildAnd(bd, v, LLVMConstInt(t, ~s->keep, 0), ""), s->kept, "");
    }
    if (s) {
        LLVMBuildStore(bd, v, s->var);
        s->dirty = true;
    } else {
        em_store(f, v, f->state, off);
    }
}

void em_cache_flush(struct em_fn *f, bool settle)
{
    for (uint32_t i = 0; i < f->nslot; i++) {
        struct em_slot *s = &f->slot[i];
        if (!s->dirty)
            continue;
        em_store(f, LLVMBuildLoad2(f->m->bd, em_ty(f, s->w == 1 ? 8 : s->w), s->var, ""), f->state, s->off);
        if (settle)
            s->dirty = false;
    }
}

void em_cache_enter_member(struct em_fn *f)
{
    for (uint32_t i = 0; i < f->nslot; i++)
        f->slot[i].dirty = f->slot[i].written;
}

void em_cache_reload(struct em_fn *f)
{
    for (uint32_t i = 0; i < f->nslot; i++) {
        struct em_slot *s = &f->slot[i];
        LLVMBuildStore(f->m->bd, em_load(f, em_ty(f, s->w == 1 ? 8 : s->w), f->state, s->off), s->var);
        s->dirty = false;
    }
}
