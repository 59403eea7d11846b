/* mem.c - guest memory for the soft CPU: the TLB slow path (stage-1 walk through the
 * frontend, stage 2 through the vCPU's pmap copy, fill), any-size and page-crossing
 * accesses, stage-2 misses as client exits (MMIO: the access does not retire), and
 * writes to pages that hold translations (invalidate first: self-modifying code). */
#include <string.h>

#include "core/soft/soft_internal.h"

_Noreturn void soft_unwind(struct soft_cpu *cpu, enum soft_stop why)
{
    cpu->stop = why;
    longjmp(*cpu->unwind, 1);
}

const struct pmap *soft_stage2(struct soft_cpu *cpu)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    return atomic_load_explicit(&sv->svm->s2[cpu->vcpu->space], memory_order_acquire);
}

uint8_t *soft_gpa_host(struct soft_cpu *cpu, uint64_t gpa, uint64_t len, uint32_t perms)
{
    const struct pmap *pm = soft_stage2(cpu);
    return pm ? pmap_host_ptr(pm, gpa, len, perms) : NULL;
}

bool soft_phys_read(struct soft_cpu *cpu, uint64_t gpa, void *out, unsigned size)
{
    return mmu_phys_read(soft_stage2(cpu), gpa, out, size);
}

bool soft_phys_cas64(struct soft_cpu *cpu, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    return mmu_phys_cas64(soft_stage2(cpu), gpa, expected, desired);
}

static unsigned regime_of(const struct soft_cpu *cpu, uint32_t access)
{
    return (access & MMU_USER) ? 1u : cpu->regime;
}

/* A fault inside a block leaves the state at the faulting instruction's boundary. */
static void make_precise(struct soft_cpu *cpu)
{
    if (cpu->insn_open)
        cpu->fe->set_pc(cpu, cpu->insn_pc);
}

/* Stage-2 miss: the client sees it (EPT violation / stage-2 abort); not retired. */
static _Noreturn void stage2_miss(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access,
                                  uint64_t info, const struct pmap_range *r)
{
    make_precise(cpu);
    struct anyhv_exit *x = &cpu->vcpu->exit;
    memset(x, 0, sizeof(*x));
    x->kind = EXIT_MMIO;
    x->pc = cpu->insn_open ? cpu->insn_pc : cpu->fe->get_pc(cpu);
    x->insn_len = (uint8_t)(cpu->insn_open ? cpu->insn_len : 0);
    x->icount = cpu->icount;
    x->u.mem.gpa = gpa;
    x->u.mem.gva = va;
    x->u.mem.gva_valid = true;
    x->u.mem.write = (access & MMU_WRITE) != 0;
    x->u.mem.fetch = (access & MMU_FETCH) != 0;
    x->u.mem.perms = (uint8_t)(r ? r->perms : 0);
    cpu->stop = SOFT_STOP_EXIT;
    if (cpu->fe->stage2_fault)
        cpu->fe->stage2_fault(cpu, va, gpa, access, info);
    soft_unwind(cpu, cpu->stop == SOFT_RUN ? SOFT_STOP_EXIT : cpu->stop);
}

/* Walk and fill the TLB entry for va. With MMU_PROBE in access, failures return NULL
 * and deliver nothing; otherwise they unwind. */
static struct mmu_entry *fill(struct soft_cpu *cpu, uint64_t va, uint32_t access, uint64_t info)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    bool probe = (access & MMU_PROBE) != 0;
    struct mmu_entry e = { .vpage = va & MMU_PAGE_MASK, .asid = MMU_ASID_GLOBAL };
    if (!probe)
        make_precise(cpu);
    cpu->stop = SOFT_RUN;
    if (!cpu->fe->walk(cpu, va, access, &e)) {
        if (probe)
            return NULL;
        soft_unwind(cpu, cpu->stop == SOFT_RUN ? SOFT_STOP_FAULT : cpu->stop);
    }
    uint32_t need = access & (MMU_READ | MMU_WRITE | MMU_FETCH);
    uint64_t gpage = e.gpage & MMU_PAGE_MASK;
    const struct pmap *pm = soft_stage2(cpu);
    const struct pmap_range *r = pm ? pmap_lookup(pm, gpage) : NULL;
    /* pmap permission bits equal MMU_READ/WRITE/FETCH (PMAP_READ/WRITE/EXEC). */
    if (!r || (r->perms & need) != need) {
        if (probe)
            return NULL;
        stage2_miss(cpu, va, gpage | (va & ~MMU_PAGE_MASK), access, info, r);
    }
    e.vpage = mmu_tlb_tag(&cpu->tlb, va);
    e.gpage = gpage;
    e.host = r->host + (gpage - r->gpa);
    e.perms &= r->perms & (MMU_READ | MMU_WRITE | MMU_FETCH);
    if ((e.perms & MMU_WRITE) && tc_page_is_live(&sv->svm->code_pages, gpage))
        e.perms = (e.perms & ~MMU_WRITE) | MMU_PERM_CODE;
    if (cpu->vcpu->dbg.nwp)
        e.perms = soft_debug_watch_perms(cpu, va, e.perms);
    struct mmu_entry *slot = &cpu->tlb.e[regime_of(cpu, access)][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    *slot = e;
    return slot;
}

/* A write of [va, va+size) lands on code of the running block after the current
 * instruction: those instructions were translated from the old bytes. Abandon the
 * write (the state is at the instruction's boundary, as for a fault) and have the
 * dispatcher run this one instruction alone, then continue from fresh code. */
static void smc_guard(struct soft_cpu *cpu, uint64_t va, unsigned size)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    const struct tc_block *blk = sv->cur_blk;
    if (!blk || !cpu->insn_open)
        return;
    uint64_t lo = cpu->insn_pc + cpu->insn_len, hi = blk->pc + blk->guest_bytes;
    if (va < hi && va + size > lo) {
        sv->smc_restart = true;
        make_precise(cpu);
        soft_unwind(cpu, SOFT_STOP_SYSTEM);
    }
}

/* The entry allowing access to [va, va+size) (one page): TLB hit, code-page write,
 * or fill. */
static struct mmu_entry *resolve(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    if (cpu->vcpu->dbg.nwp)
        soft_debug_watch_check(cpu, va, size, access);
    struct mmu_entry *e = &cpu->tlb.e[regime_of(cpu, access)][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    uint32_t need = access & (MMU_READ | MMU_WRITE | MMU_FETCH);
    if (e->vpage == mmu_tlb_tag(&cpu->tlb, va) && e->host) {
        if ((e->perms & need) == need)
            return e;
        if ((e->perms & MMU_PERM_CODE) && (need & ~(e->perms | MMU_WRITE)) == 0) {
            /* A write to a page holding translations: drop them, then allow it. */
            smc_guard(cpu, va, size);
            struct soft_vcpu *sv = soft_vcpu_of(cpu);
            tc_page_invalidate(&sv->svm->code_pages, e->gpage);
            e->perms = (e->perms & ~MMU_PERM_CODE) | ((e->perms & MMU_PERM_WATCH) ? 0 : MMU_WRITE);
            return e;
        }
    }
    e = fill(cpu, va, access, info);
    if (e && (need & MMU_WRITE) && (e->perms & MMU_PERM_CODE))
        return resolve(cpu, va, size, access, info);
    return e;
}

/* Resolve every page of [va, va+size) before touching any, so a fault on the second
 * page of a split access leaves the first untouched. */
static void access_bytes(struct soft_cpu *cpu, uint64_t va, uint8_t *buf, unsigned size, uint32_t access,
                         uint64_t info, bool write)
{
    unsigned first = (unsigned)(MMU_PAGE_SIZE - (va & ~MMU_PAGE_MASK));
    if (first > size)
        first = size;
    uint8_t *h0 = resolve(cpu, va, first, access, info)->host + (va & ~MMU_PAGE_MASK);
    uint8_t *h1 = NULL;
    if (first < size)
        h1 = resolve(cpu, va + first, size - first, access, info)->host;
    if (write) {
        memcpy(h0, buf, first);
        if (h1)
            memcpy(h1, buf + first, size - first);
    } else {
        memcpy(buf, h0, first);
        if (h1)
            memcpy(buf + first, h1, size - first);
    }
}

void soft_read_bytes(struct soft_cpu *cpu, uint64_t va, void *out, unsigned size, uint32_t access, uint64_t info)
{
    if (!(access & (MMU_READ | MMU_FETCH)))
        access |= MMU_READ;
    access_bytes(cpu, va, out, size, access & ~(uint32_t)MMU_PROBE, info, false);
}

void soft_write_bytes(struct soft_cpu *cpu, uint64_t va, const void *in, unsigned size, uint32_t access,
                      uint64_t info)
{
    access = (access & ~(uint32_t)(MMU_READ | MMU_FETCH | MMU_PROBE)) | MMU_WRITE;
    access_bytes(cpu, va, (uint8_t *)(uintptr_t)in, size, access, info, true);
}

uint64_t soft_read(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    uint64_t v = 0;
    if (size > 8)
        size = 8;
    soft_read_bytes(cpu, va, &v, size, access, info);
    return v;
}

void soft_write(struct soft_cpu *cpu, uint64_t va, uint64_t value, unsigned size, uint32_t access, uint64_t info)
{
    if (size > 8)
        size = 8;
    soft_write_bytes(cpu, va, &value, size, access, info);
}

uint8_t *soft_rmw_ptr(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    if ((va & ~MMU_PAGE_MASK) + size > MMU_PAGE_SIZE)
        return NULL;
    access = (access & ~(uint32_t)(MMU_FETCH | MMU_PROBE)) | MMU_READ | MMU_WRITE;
    return resolve(cpu, va, size, access, info)->host + (va & ~MMU_PAGE_MASK);
}

uint64_t soft_fetch_gpa(struct soft_cpu *cpu, uint64_t va)
{
    uint32_t access = MMU_FETCH | (cpu->regime == 1 ? MMU_USER : 0);
    struct mmu_entry *e = resolve(cpu, va, 1, access, 0);
    return e->gpage | (va & ~MMU_PAGE_MASK);
}

/* Record a code page of the block being translated: mark it live (writes must now
 * invalidate) before its bytes are read, and note its generation. */
static bool note_code_page(struct soft_vcpu *sv, uint64_t vpage, uint64_t gpage)
{
    for (uint32_t i = 0; i < sv->tb_npages; i++)
        if (sv->tb_page[i] == vpage)
            return true;
    if (sv->tb_npages >= TC_MAX_PAGES)
        return false;
    struct tc_page *p = tc_page_get(&sv->svm->code_pages, gpage);
    if (!p)
        return false;
    uint32_t i = sv->tb_npages++;
    sv->tb_page[i] = vpage;
    sv->tb_gpa[i] = gpage;
    sv->tb_pg[i] = p;
    sv->tb_gen[i] = atomic_load(&p->gen);
    if (!atomic_exchange(&p->live, 1)) {
        mmu_tlb_flush_gpage(&sv->cpu.tlb, gpage);
        sv->broadcast_pending = true;
    }
    return true;
}

size_t soft_fetch_code(struct soft_cpu *cpu, uint64_t va, void *out, size_t len, bool fault)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    uint32_t access = MMU_FETCH | (cpu->regime == 1 ? MMU_USER : 0) | (fault ? 0 : MMU_PROBE);
    size_t done = 0;
    while (done < len) {
        uint64_t a = va + done;
        struct mmu_entry *e = resolve(cpu, a, 1, access, 0);
        if (!e)
            break;
        /* Noting a new code page flushes its TLB entries: keep the pointer first. */
        const uint8_t *host = e->host;
        if (sv->translating && !note_code_page(sv, a & MMU_PAGE_MASK, e->gpage))
            break;
        size_t n = MMU_PAGE_SIZE - (a & ~MMU_PAGE_MASK);
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)out + done, host + (a & ~MMU_PAGE_MASK), n);
        done += n;
    }
    return done;
}
