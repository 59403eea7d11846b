/* access.c - guest memory through a vCPU's TLB (see access.h): the TLB slow path,
 * any-size and page-crossing accesses, stage-2 misses as client exits, writes to
 * pages holding translations. Below both execution tiers: the interpreter, the
 * compiled tier's out-of-line slow path and the frontends' helpers all come here. */
#include "mmu/access.h"

#include <string.h>

#include "core/soft/soft.h"
#include "mmu/codepages.h"

const struct pmap *mmu_stage2(struct soft_cpu *cpu)
{
    return cpu->mem_ops->stage2(cpu);
}

uint8_t *mmu_gpa_host(struct soft_cpu *cpu, uint64_t gpa, uint64_t len, uint32_t perms)
{
    const struct pmap *pm = mmu_stage2(cpu);
    return pm ? pmap_host_ptr(pm, gpa, len, perms) : NULL;
}

bool mmu_stage2_read(struct soft_cpu *cpu, uint64_t gpa, void *out, unsigned size)
{
    return mmu_phys_read(mmu_stage2(cpu), gpa, out, size);
}

bool mmu_stage2_cas64(struct soft_cpu *cpu, uint64_t gpa, uint64_t *expected, uint64_t desired)
{
    return mmu_phys_cas64(mmu_stage2(cpu), gpa, expected, desired);
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
    struct anyhv_exit *x = cpu->mem_ops->exit_record(cpu);
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

/* Put e in va's slot of the access's regime (watchpoints may withhold rights). */
static struct mmu_entry *store(struct soft_cpu *cpu, uint32_t access, uint64_t va, struct mmu_entry *e)
{
    if (cpu->mem_ops->watch_perms)
        e->perms = cpu->mem_ops->watch_perms(cpu, va, e->perms);
    mmu_entry_seal(e);   /* a device page (host NULL) never passes the fast compare */
    if (e->perms & MMU_FETCH)
        mmu_tlb_note_fetchable(&cpu->tlb, va);
    struct mmu_entry *slot = &cpu->tlb.e[regime_of(cpu, access)][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    *slot = *e;
    return slot;
}

/* Walk and fill the TLB entry for va. With MMU_PROBE in access, failures return NULL
 * and deliver nothing; otherwise they unwind. */
static struct mmu_entry *fill(struct soft_cpu *cpu, uint64_t va, uint32_t access, uint64_t info)
{
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
    const struct pmap *pm = mmu_stage2(cpu);
    const struct pmap_range *r = pm ? pmap_lookup(pm, gpage) : NULL;
    e.vpage = mmu_tlb_tag(&cpu->tlb, va);
    e.gpage = gpage;
    /* pmap permission bits equal MMU_READ/WRITE/FETCH (PMAP_READ/WRITE/EXEC). */
    if (!r || (r->perms & need) != need) {
        if (!r) {
            /* No RAM behind it (MMIO): keep the stage-1 translation with no host page,
             * so the device's next access exits without a walk (resolve). */
            e.host = NULL;
            e.perms &= MMU_READ | MMU_WRITE | MMU_FETCH;
            store(cpu, access, va, &e);
        }
        if (probe)
            return NULL;
        stage2_miss(cpu, va, gpage | (va & ~MMU_PAGE_MASK), access, info, r);
    }
    e.host = r->host + (gpage - r->gpa);
    e.perms &= r->perms & (MMU_READ | MMU_WRITE | MMU_FETCH);
    if ((e.perms & MMU_WRITE) && mmu_code_page_is_live(cpu->mem_ops->code_pages(cpu), gpage))
        e.perms = (e.perms & ~MMU_WRITE) | MMU_PERM_CODE;
    return store(cpu, access, va, &e);
}

/* A write of [va, va+size) to a page holding translations: if it lands on the
 * running block after the current instruction (the dispatcher knows), abandon it at
 * the instruction's boundary, as for a fault; else drop the page's translations. */
static void code_write(struct soft_cpu *cpu, struct mmu_entry *e, uint64_t va, unsigned size)
{
    const struct mmu_access_ops *ops = cpu->mem_ops;
    if (ops->code_write && cpu->insn_open && ops->code_write(cpu, va, size)) {
        make_precise(cpu);
        soft_unwind(cpu, SOFT_STOP_SYSTEM);
    }
    mmu_code_page_invalidate(ops->code_pages(cpu), e->gpage);
    /* A watched page keeps taking the slow path for writes too. */
    e->perms = (e->perms & ~MMU_PERM_CODE) | ((e->perms & MMU_PERM_WATCH) ? 0 : MMU_WRITE);
    mmu_entry_seal(e);
}

/* The entry allowing access to [va, va+size) (one page): TLB hit, code-page write,
 * or fill. */
static struct mmu_entry *resolve(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    if (cpu->mem_ops->watch_access)
        cpu->mem_ops->watch_access(cpu, va, size, access);
    struct mmu_entry *e = &cpu->tlb.e[regime_of(cpu, access)][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    uint32_t need = access & (MMU_READ | MMU_WRITE | MMU_FETCH);
    if (e->vpage == mmu_tlb_tag(&cpu->tlb, va) && e->host) {
        if ((e->perms & need) == need)
            return e;
        if ((e->perms & MMU_PERM_CODE) && (need & ~(e->perms | MMU_WRITE)) == 0) {
            code_write(cpu, e, va, size);
            return e;
        }
    } else if (e->vpage == mmu_tlb_tag(&cpu->tlb, va) && (e->perms & need) == need) {
        /* A device page (fill): stage 1 allows it, stage 2 has no RAM there. Every
         * stage-2 change flushes the TLB before this vCPU executes again. */
        if (access & MMU_PROBE)
            return NULL;
        stage2_miss(cpu, va, e->gpage | (va & ~MMU_PAGE_MASK), access, info, NULL);
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

void mmu_read_bytes(struct soft_cpu *cpu, uint64_t va, void *out, unsigned size, uint32_t access, uint64_t info)
{
    if (!(access & (MMU_READ | MMU_FETCH)))
        access |= MMU_READ;
    access_bytes(cpu, va, out, size, access & ~(uint32_t)MMU_PROBE, info, false);
}

void mmu_write_bytes(struct soft_cpu *cpu, uint64_t va, const void *in, unsigned size, uint32_t access,
                     uint64_t info)
{
    access = (access & ~(uint32_t)(MMU_READ | MMU_FETCH | MMU_PROBE)) | MMU_WRITE;
    access_bytes(cpu, va, (uint8_t *)(uintptr_t)in, size, access, info, true);
}

uint64_t mmu_read(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    uint64_t v = 0;
    if (size > 8)
        size = 8;
    mmu_read_bytes(cpu, va, &v, size, access, info);
    return v;
}

void mmu_write(struct soft_cpu *cpu, uint64_t va, uint64_t value, unsigned size, uint32_t access, uint64_t info)
{
    if (size > 8)
        size = 8;
    mmu_write_bytes(cpu, va, &value, size, access, info);
}

uint8_t *mmu_rmw_ptr(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info)
{
    if ((va & ~MMU_PAGE_MASK) + size > MMU_PAGE_SIZE)
        return NULL;
    access = (access & ~(uint32_t)(MMU_FETCH | MMU_PROBE)) | MMU_READ | MMU_WRITE;
    return resolve(cpu, va, size, access, info)->host + (va & ~MMU_PAGE_MASK);
}

bool mmu_fetch_gpage_cached(const struct soft_cpu *cpu, uint64_t va, uint64_t *gpage)
{
    uint32_t access = MMU_FETCH | (cpu->regime == 1 ? MMU_USER : 0);
    const struct mmu_entry *e = mmu_tlb_lookup(&cpu->tlb, regime_of(cpu, access), va, access);
    if (!e)
        return false;
    *gpage = e->gpage;
    return true;
}

uint64_t mmu_fetch_gpa(struct soft_cpu *cpu, uint64_t va)
{
    uint32_t access = MMU_FETCH | (cpu->regime == 1 ? MMU_USER : 0);
    struct mmu_entry *e = resolve(cpu, va, 1, access, 0);
    return e->gpage | (va & ~MMU_PAGE_MASK);
}

size_t mmu_fetch_code(struct soft_cpu *cpu, uint64_t va, void *out, size_t len, bool fault)
{
    const struct mmu_access_ops *ops = cpu->mem_ops;
    uint32_t access = MMU_FETCH | (cpu->regime == 1 ? MMU_USER : 0) | (fault ? 0 : MMU_PROBE);
    size_t done = 0;
    while (done < len) {
        uint64_t a = va + done;
        struct mmu_entry *e = resolve(cpu, a, 1, access, 0);
        if (!e)
            break;
        /* Noting a new code page flushes its TLB entries: keep the pointer first. */
        const uint8_t *host = e->host;
        if (ops->code_fetched && !ops->code_fetched(cpu, a & MMU_PAGE_MASK, e->gpage))
            break;
        size_t n = MMU_PAGE_SIZE - (a & ~MMU_PAGE_MASK);
        if (n > len - done)
            n = len - done;
        memcpy((uint8_t *)out + done, host + (a & ~MMU_PAGE_MASK), n);
        done += n;
    }
    return done;
}
