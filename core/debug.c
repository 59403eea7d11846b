/* anyhv_* debugging calls (include/anyhv/debug.h): guest-virtual translation on every
 * backend, and the software route's breakpoints, watchpoints, stop reports and TLB
 * view. The lists live in the vCPU (struct vcpu_debug); the soft backend checks them
 * (core/soft/debug.c), so a guest never sees a patched byte or a borrowed register. */
#include <anyhv/anyhv.h>

#include <string.h>

#include "core/vm.h"
#include "mmu/walk_a64.h"
#include "mmu/walk_x86.h"

#define X86_LINEAR32_MASK 0xffffffffull
/* A debugger's walk is permissive: the widest physical address x86 allows and 1-GiB
 * pages, whatever processor model the route presents (reserved-bit faults are the
 * guest's business, not the debugger's). */
#define X86_DEBUG_MAXPHYADDR 52u
#define A64_SCTLR_M (1ull << 0)

_Static_assert(VCPU_MAX_BREAKPOINTS == ANYHV_MAX_BREAKPOINTS && VCPU_MAX_WATCHPOINTS == ANYHV_MAX_WATCHPOINTS,
               "public and internal limits agree");
_Static_assert((int)VCPU_WATCH_WRITE == (int)ANYHV_WATCH_WRITE && (int)VCPU_WATCH_READ == (int)ANYHV_WATCH_READ &&
                   (int)VCPU_WATCH_ACCESS == (int)ANYHV_WATCH_ACCESS,
               "watch kinds agree");
_Static_assert((int)VCPU_STOP_BUDGET == (int)ANYHV_STOP_BUDGET &&
                   (int)VCPU_STOP_BREAKPOINT == (int)ANYHV_STOP_BREAKPOINT &&
                   (int)VCPU_STOP_WATCHPOINT == (int)ANYHV_STOP_WATCHPOINT,
               "stop kinds agree");

static hv_return_t translate_x86(struct vcpu *v, const struct pmap *pm, uint64_t gva, uint64_t *gpa)
{
    hv_return_t r = vcpu_state_load(v, SG_SREGS | SG_MSRS);
    if (r != HV_SUCCESS)
        return r;
    const struct x86_state *st = v->st.x86;
    bool long_mode = (st->msr.efer & X86_EFER_LMA) != 0;
    if (!(st->cr0 & X86_CR0_PG)) {
        *gpa = long_mode ? gva : gva & X86_LINEAR32_MASK;
        return HV_SUCCESS;
    }
    struct x86_walk_regs regs = { .cr0 = st->cr0, .cr3 = st->cr3, .cr4 = st->cr4, .efer = st->msr.efer,
                                  .maxphyaddr = X86_DEBUG_MAXPHYADDR, .page1gb = true };
    struct x86_walk_out out;
    /* A supervisor read walk: the debugger may look at any present page. */
    regs.cr4 &= ~(X86_CR4_SMAP | X86_CR4_SMEP);
    if (x86_walk_s1(pm, &regs, gva, MMU_READ | MMU_NO_UPDATE, &out) != X86_WALK_OK)
        return HV_FAULT;
    *gpa = out.gpa;
    return HV_SUCCESS;
}

static hv_return_t translate_a64(struct vcpu *v, const struct pmap *pm, uint64_t gva, uint64_t *gpa)
{
    hv_return_t r = vcpu_state_load(v, SG_SYSREGS);
    if (r != HV_SUCCESS)
        return r;
    const struct a64_sysregs *sys = &v->st.a64->sys;
    if (!(sys->sctlr_el1 & A64_SCTLR_M)) {
        *gpa = gva;
        return HV_SUCCESS;
    }
    struct a64_walk_regs regs = { .sctlr = sys->sctlr_el1, .tcr = sys->tcr_el1, .ttbr0 = sys->ttbr0_el1,
                                  .ttbr1 = sys->ttbr1_el1 };
    struct a64_walk_result res;
    a64_walk(pm, &regs, gva, &res);
    if (res.fault != A64_WALK_OK)
        return HV_FAULT;
    *gpa = res.pa;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_translate(uint64_t vcpu, uint64_t gva, uint64_t *gpa)
{
    struct vcpu *v;
    if (!gpa)
        return HV_BAD_ARGUMENT;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    struct vm *vm = v->vm;
    pthread_mutex_lock(&vm->lock);
    const struct pmap *pm = vm->spaces[v->space];
    if (!pm)
        r = HV_FAULT;
    else if (vm->arch == GUEST_X86_64)
        r = translate_x86(v, pm, gva, gpa);
    else
        r = translate_a64(v, pm, gva, gpa);
    pthread_mutex_unlock(&vm->lock);
    return r;
}

/* The vCPU, owned by the caller and on the software route. */
static hv_return_t soft_vcpu(uint64_t vcpu, struct vcpu **out)
{
    hv_return_t r = vcpu_get_owned(vcpu, out);
    if (r != HV_SUCCESS)
        return r;
    return (*out)->vm->be->kind == BACKEND_SOFT ? HV_SUCCESS : HV_UNSUPPORTED;
}

hv_return_t anyhv_vcpu_set_breakpoint(uint64_t vcpu, uint64_t pc, bool enable)
{
    struct vcpu *v;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (!v->vm->be->max_breakpoints)
        return HV_UNSUPPORTED;
    struct vcpu_debug *d = &v->dbg;
    for (uint32_t i = 0; i < d->nbp; i++) {
        if (d->bp[i] != pc)
            continue;
        if (!enable)
            d->bp[i] = d->bp[--d->nbp];
        return HV_SUCCESS;
    }
    if (!enable)
        return HV_SUCCESS;
    if (d->nbp == VCPU_MAX_BREAKPOINTS || d->nbp == v->vm->be->max_breakpoints)
        return HV_NO_RESOURCES;
    d->bp[d->nbp++] = pc;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_set_watchpoint(uint64_t vcpu, uint64_t gva, uint64_t len, anyhv_watch_kind_t kind,
                                      bool enable)
{
    struct vcpu *v;
    if (len == 0 || gva + len - 1 < gva || (kind != ANYHV_WATCH_WRITE && kind != ANYHV_WATCH_READ &&
                                             kind != ANYHV_WATCH_ACCESS))
        return HV_BAD_ARGUMENT;
    hv_return_t r = soft_vcpu(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    struct vcpu_debug *d = &v->dbg;
    uint32_t i = 0;
    while (i < d->nwp && !(d->wp[i].addr == gva && d->wp[i].len == len && d->wp[i].kind == (uint32_t)kind))
        i++;
    if (enable && i == d->nwp) {
        if (d->nwp == VCPU_MAX_WATCHPOINTS)
            return HV_NO_RESOURCES;
        d->wp[d->nwp++] = (struct vcpu_watch){ gva, len, (uint32_t)kind };
    } else if (!enable && i < d->nwp) {
        d->wp[i] = d->wp[--d->nwp];
    } else {
        return HV_SUCCESS;
    }
    /* Cached translations of the watched pages would let accesses skip the check. */
    v->vm->be->invalidate_tlb(v);
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_get_stop(uint64_t vcpu, anyhv_stop_t *stop)
{
    struct vcpu *v;
    if (!stop)
        return HV_BAD_ARGUMENT;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    const struct vcpu_stop *s = &v->dbg.stop;
    memset(stop, 0, sizeof(*stop));
    stop->kind = (anyhv_stop_kind_t)s->kind;
    stop->pc = s->pc;
    stop->address = s->address;
    stop->size = s->size;
    stop->write = s->write;
    stop->instructions = s->icount;
    return HV_SUCCESS;
}

hv_return_t anyhv_vcpu_get_tlb(uint64_t vcpu, anyhv_tlb_entry_t *entries, uint32_t max, uint32_t *count)
{
    struct vcpu *v;
    if (!count || (max && !entries))
        return HV_BAD_ARGUMENT;
    hv_return_t r = vcpu_get_owned(vcpu, &v);
    if (r != HV_SUCCESS)
        return r;
    if (!v->vm->be->tlb_dump)
        return HV_UNSUPPORTED;
    return v->vm->be->tlb_dump(v, entries, max, count);
}

/* After every run: a budget exit is one of anyhv's own stops (the soft backend's
 * breakpoint and watchpoint stops are recorded where they happen). */
void debug_note_run(struct vcpu *v)
{
    if (v->exit.kind == EXIT_BUDGET)
        v->dbg.stop = (struct vcpu_stop){ .kind = VCPU_STOP_BUDGET, .pc = v->exit.pc, .icount = v->exit.icount };
}
