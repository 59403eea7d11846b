/* debug.c - the software CPU's side of anyhv's debugging calls (core/debug.c keeps
 * the lists in struct vcpu_debug):
 * - breakpoints: checked by the dispatcher at every block boundary; near a breakpoint
 *   (closer than one block can reach) blocks shrink to one instruction, so the check
 *   sees every instruction boundary there and nothing elsewhere slows down;
 * - watchpoints: a page holding one is entered in the TLB without READ/WRITE
 *   (MMU_PERM_WATCH), so every data access to it takes the slow path (mmu/access.c,
 *   through soft_mem_ops), which asks here; a hit stops before the access, the instruction not retired;
 * - the TLB view for anyhv_vcpu_get_tlb. */
#include <anyhv/debug.h>

#include <string.h>

#include "core/soft/soft_internal.h"

/* Apple-silicon syndromes of the stops (ARM ARM D17.2.37): breakpoint and watchpoint
 * from a lower EL, DFSC "debug exception", IL set. */
#define ESR_EC_SHIFT 26
#define ESR_IL (1u << 25)
#define ESR_EC_BREAKPOINT_LOWER 0x30u
#define ESR_EC_WATCHPOINT_LOWER 0x34u
#define ESR_WNR (1u << 6)
#define ESR_FSC_DEBUG 0x22u
#define A64_INSN_BYTES 4u

static void debug_exit(struct soft_cpu *cpu, uint64_t pc, uint32_t ec, uint32_t iss, uint64_t far)
{
    struct vcpu *v = cpu->vcpu;
    struct anyhv_exit *x = &v->exit;
    memset(x, 0, sizeof(*x));
    x->kind = EXIT_DEBUG;
    x->pc = pc;
    x->icount = cpu->icount;
    if (v->vm->arch == GUEST_ARM64) {
        x->insn_len = A64_INSN_BYTES;
        x->u.exc.syndrome = ((uint64_t)ec << ESR_EC_SHIFT) | ESR_IL | iss;
        x->u.exc.fault_addr = far;
    }
    cpu->stop = SOFT_STOP_EXIT;
}

bool soft_debug_boundary(struct soft_vcpu *sv, bool *no_link)
{
    struct soft_cpu *cpu = &sv->cpu;
    struct vcpu_debug *d = &sv->vcpu->dbg;
    uint64_t pc = cpu->fe->get_pc(cpu);
    bool near = false;
    for (uint32_t i = 0; i < d->nbp; i++) {
        uint64_t ahead = d->bp[i] - pc;
        if (ahead == 0) {
            debug_exit(cpu, pc, ESR_EC_BREAKPOINT_LOWER, ESR_FSC_DEBUG, 0);
            d->stop = (struct vcpu_stop){ .kind = VCPU_STOP_BREAKPOINT, .pc = pc, .icount = cpu->icount };
            return true;
        }
        near |= ahead < SOFT_MAX_BLOCK_BYTES;
    }
    if (near) {
        /* A block from here could hold the breakpoint: one instruction at a time. */
        sv->smc_restart = true;
        *no_link = true;
    }
    return false;
}

static bool overlaps(const struct vcpu_watch *w, uint64_t va, uint64_t len)
{
    return va <= w->addr + (w->len - 1) && w->addr <= va + (len - 1);
}

uint32_t soft_debug_watch_perms(struct soft_cpu *cpu, uint64_t va, uint32_t perms)
{
    const struct vcpu_debug *d = &cpu->vcpu->dbg;   /* no watchpoints: one compare */
    for (uint32_t i = 0; i < d->nwp; i++)
        if (overlaps(&d->wp[i], va & MMU_PAGE_MASK, MMU_PAGE_SIZE))
            return (perms & ~(uint32_t)(MMU_READ | MMU_WRITE)) | MMU_PERM_WATCH;
    return perms;
}

void soft_debug_watch_check(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access)
{
    struct vcpu_debug *d = &cpu->vcpu->dbg;
    bool write = (access & MMU_WRITE) != 0, read = (access & MMU_READ) != 0;
    if (!d->nwp || !cpu->insn_open || (access & MMU_FETCH) || size == 0)
        return;   /* only an instruction's own data accesses, never a fetch or a delivery */
    for (uint32_t i = 0; i < d->nwp; i++) {
        const struct vcpu_watch *w = &d->wp[i];
        bool kind = ((w->kind & VCPU_WATCH_WRITE) && write) || ((w->kind & VCPU_WATCH_READ) && read);
        if (!kind || !overlaps(w, va, size))
            continue;
        /* Before the access: the state at the instruction's start, nothing retired. */
        cpu->fe->set_pc(cpu, cpu->insn_pc);
        debug_exit(cpu, cpu->insn_pc, ESR_EC_WATCHPOINT_LOWER, ESR_FSC_DEBUG | (write ? ESR_WNR : 0), va);
        d->stop = (struct vcpu_stop){ .kind = VCPU_STOP_WATCHPOINT, .pc = cpu->insn_pc, .address = va,
                                      .size = size, .write = write, .icount = cpu->icount };
        soft_unwind(cpu, SOFT_STOP_EXIT);
    }
}

hv_return_t soft_tlb_dump(struct vcpu *vcpu, void *entries, uint32_t max, uint32_t *count)
{
    struct soft_vcpu *sv = vcpu->be;
    const struct mmu_tlb *t = &sv->cpu.tlb;
    anyhv_tlb_entry_t *out = entries;
    uint32_t n = 0;
    for (uint32_t r = 0; r < MMU_TLB_REGIMES; r++) {
        for (uint32_t i = 0; i < MMU_TLB_ENTRIES; i++) {
            const struct mmu_entry *e = &t->e[r][i];
            if (e->vpage == ~0ull || (e->vpage & ~MMU_PAGE_MASK) != t->salt || !e->host)
                continue;   /* empty, flushed by a salt change, or a device page's */
            if (n < max)
                out[n] = (anyhv_tlb_entry_t){ .gva = e->vpage & MMU_PAGE_MASK, .gpa = e->gpage,
                                              .perms = e->perms & (MMU_READ | MMU_WRITE | MMU_FETCH),
                                              .regime = r, .asid = e->asid };
            n++;
        }
    }
    *count = n;
    return HV_SUCCESS;
}
