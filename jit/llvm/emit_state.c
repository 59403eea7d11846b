/* emit_state.c - guest state in compiled code. Without a cache every GET and SET is a
 * load or store of the state struct. With one (hot regions), each field all of whose
 * accesses agree on offset and width lives in an alloca, which LLVM's mem2reg turns
 * into SSA values: loaded once on entry, written back (flush) only where something
 * outside the function may look (exits, helpers, memory slow paths, faults) and
 * re-read (reload) after a helper that may have changed it. */
#include "jit/llvm/emit_internal.h"

#include <stdlib.h>

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

/* Every state access of every member, then keep the (offset, width) pairs no other
 * access overlaps. */
bool em_cache_plan(struct em_fn *f)
{
    uint32_t cap = 0, n = 0;
    for (uint32_t i = 0; i < f->func->n; i++)
        cap += f->func->member[i].prog.count;
    struct em_slot *all = calloc(cap ? cap : 1, sizeof(*all));
    if (!all)
        return false;
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
    LLVMBuilderRef bd = f->m->bd;
    for (uint32_t i = 0; i < out; i++) {
        LLVMTypeRef t = em_ty(f, all[i].w == 1 ? 8 : all[i].w);
        all[i].var = LLVMBuildAlloca(bd, t, "");
        LLVMBuildStore(bd, em_load(f, t, f->state, all[i].off), all[i].var);
    }
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
