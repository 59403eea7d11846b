/* sys_vmem.c - guest-virtual memory for system code (descriptor tables, TSS, event
 * frames, far pointers): translated with the stage-1 walker and stage 2 directly,
 * returning faults as values so event delivery can escalate them (#DF, triple
 * fault) instead of unwinding mid-delivery. Also the exits a fault can become. */
#include <string.h>

#include "core/x86_cpuid.h"
#include "frontends/x86_64/x86_fe.h"
#include "mmu/walk_x86.h"

struct pmap *x86_pmap(struct soft_cpu *cpu)
{
    return cpu->vcpu->vm->spaces[cpu->vcpu->space];
}

struct anyhv_exit *x86_exit_begin(struct soft_cpu *cpu, enum exit_kind kind, unsigned insn_len)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->pc = x86_st(cpu)->rip;
    e->insn_len = (uint8_t)insn_len;
    e->icount = cpu->icount;
    return e;
}

void x86_exit_ept(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, bool page_walk)
{
    struct anyhv_exit *e = x86_exit_begin(cpu, EXIT_MMIO, 0);
    const struct pmap_range *r = pmap_lookup(x86_pmap(cpu), gpa);
    e->u.mem.gpa = gpa;
    e->u.mem.gva = va;
    e->u.mem.gva_valid = true;
    e->u.mem.page_walk = page_walk;
    e->u.mem.write = (access & MMU_WRITE) != 0;
    e->u.mem.fetch = (access & MMU_FETCH) != 0;
    if (r)
        e->u.mem.perms = (uint8_t)(((r->perms & PMAP_READ) ? EXIT_PERM_R : 0) |
                                   ((r->perms & PMAP_WRITE) ? EXIT_PERM_W : 0) |
                                   ((r->perms & PMAP_EXEC) ? EXIT_PERM_X : 0));
}

/* In long mode a linear address must be canonical (48 or, with LA57, 57 bits). */
static bool canonical(const struct x86_state *st, uint64_t va)
{
    unsigned bits = (st->cr4 & X86_CR4_LA57) ? 57 : 48;
    return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits)) == va;
}

int x86_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct x86_walk_result *out, struct x86_fault *f)
{
    const struct x86_state *st = x86_st(cpu);
    if ((st->msr.efer & X86_EFER_LMA) && !canonical(st, va)) {
        *f = (struct x86_fault){ .vector = X86_V_GP, .err = 0, .gva = va, .access = access };
        return -1;
    }
    if (!(st->cr0 & X86_CR0_PG)) {
        out->gpa = (st->msr.efer & X86_EFER_LMA) ? va : (va & 0xffffffffull);
        out->perms = MMU_READ | MMU_WRITE | MMU_FETCH;
        return 0;
    }
    struct x86_walk_regs r = { .cr0 = st->cr0, .cr3 = st->cr3, .cr4 = st->cr4, .efer = st->msr.efer,
                               .maxphyaddr = x86_cpuid_maxphyaddr(), .page1gb = x86_cpuid_has(X86_FEAT_PAGE1GB) };
    struct x86_walk_out w;
    switch (x86_walk_s1(x86_pmap(cpu), &r, va, access, &w)) {
    case X86_WALK_OK:
        out->gpa = w.gpa;
        out->perms = w.perms;
        return 0;
    case X86_WALK_PF:
        *f = (struct x86_fault){ .vector = X86_V_PF, .err = w.pf_error, .cr2 = va, .gva = va, .access = access };
        return -1;
    default:
        *f = (struct x86_fault){ .stage2 = true, .gpa = w.fault_gpa, .gva = va, .access = access };
        return -1;
    }
}

static uint32_t pmap_perm_of(uint32_t access)
{
    return (access & MMU_WRITE) ? PMAP_WRITE : (access & MMU_FETCH) ? PMAP_EXEC : PMAP_READ;
}

/* Host pointer for [va, va+len) inside one page, or a fault. */
static uint8_t *chunk(struct soft_cpu *cpu, uint64_t va, unsigned len, uint32_t access, struct x86_fault *f)
{
    struct x86_walk_result w;
    if (x86_walk(cpu, va, access, &w, f) != 0) {
        if (f->stage2)
            f->access = MMU_READ;   /* the walk itself read a table */
        return NULL;
    }
    uint8_t *p = pmap_host_ptr(x86_pmap(cpu), w.gpa, len, pmap_perm_of(access));
    if (!p)
        *f = (struct x86_fault){ .stage2 = true, .gpa = w.gpa, .gva = va, .access = access };
    return p;
}

static int access_bytes(struct soft_cpu *cpu, uint64_t va, uint8_t *buf, unsigned size, uint32_t access,
                        struct x86_fault *f, bool write)
{
    while (size) {
        unsigned room = (unsigned)(MMU_PAGE_SIZE - (va & (MMU_PAGE_SIZE - 1)));
        unsigned n = size < room ? size : room;
        uint8_t *p = chunk(cpu, va, n, access, f);
        if (!p)
            return -1;
        if (write)
            memcpy(p, buf, n);
        else
            memcpy(buf, p, n);
        va += n;
        buf += n;
        size -= n;
    }
    return 0;
}

int x86_vmem_read(struct soft_cpu *cpu, uint64_t va, void *out, unsigned size, uint32_t access, struct x86_fault *f)
{
    return access_bytes(cpu, va, out, size, access | MMU_READ, f, false);
}

int x86_vmem_write(struct soft_cpu *cpu, uint64_t va, const void *in, unsigned size, uint32_t access,
                   struct x86_fault *f)
{
    /* Check every page before writing any, so a fault leaves memory untouched. */
    for (uint64_t a = va; a < va + size; a = (a & MMU_PAGE_MASK) + MMU_PAGE_SIZE)
        if (!chunk(cpu, a, 1, access | MMU_WRITE, f))
            return -1;
    return access_bytes(cpu, va, (uint8_t *)(uintptr_t)in, size, access | MMU_WRITE, f, true);
}

_Noreturn void x86_fault_now(struct soft_cpu *cpu, const struct x86_fault *f)
{
    if (f->stage2) {
        x86_exit_ept(cpu, f->gva, f->gpa, f->access, false);
        x86_flags_pack(x86_st(cpu));
        soft_unwind(cpu, SOFT_STOP_EXIT);
    }
    struct x86_event ev = { .vector = (uint8_t)f->vector, .type = X86_EV_HWEXC, .err = f->err, .cr2 = f->cr2 };
    x86_raise_event_now(cpu, &ev);
}
