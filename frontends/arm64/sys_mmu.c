/* sys_mmu.c - the frontend side of translation: the walk callback (stage 1 via
 * mmu/walk_a64.c, permission checks, stage-1 faults delivered to EL1 and stage-2
 * faults on table walks exited to the client), stage-2 syndromes from the access
 * info word, AT, TLBI and flushes when the translation regime changes. */
#include "frontends/arm64/a64_fe.h"

#include <stdlib.h>

#include "core/vm.h"
#include "mmu/walk_a64.h"

#define SR_TTBR0 0xc100u   /* hv_sys_reg_t encodings of the regime registers */
#define SR_TTBR1 0xc101u
#define SR_TCR 0xc102u
#define SR_SCTLR 0xc080u
#define SR_MAIR 0xc510u
#define ISS_WNR (1u << 6)
#define ISS_S1PTW (1u << 7)
#define ISS_CM (1u << 8)
#define PAR_F 1ull
#define PAR_FST_SHIFT 1
#define PAR_S1WLK (1ull << 8)
#define PAR_PA_MASK 0x0000fffffffff000ull
#define TLBI_VA_MASK 0x00000fffffffffffull   /* VA[55:12] in bits 43:0 */
#define TLBI_ASID_SHIFT 48
#define SMALL_PAGE_LOG2 12
#define VA_RANGE_BIT 55   /* VA[55] picks TTBR0 or TTBR1 */

/* Which translation range va lies in: the index of a64_fe_data's block spans. */
static unsigned va_range(uint64_t va)
{
    return (unsigned)(va >> VA_RANGE_BIT) & 1u;
}

/* No block cached in either range (a new vCPU, a full flush). */
static void spans_clear(struct a64_fe_data *d)
{
    for (unsigned h = 0; h < 2; h++) {
        d->big_lo[h] = UINT64_MAX;
        d->big_hi[h] = 0;
    }
}

/* A TLB entry came from a block of 2^log2 bytes around va: widen its range's span. */
static void note_block(struct a64_fe_data *d, uint64_t va, unsigned log2)
{
    unsigned h = va_range(va);
    uint64_t size_m1 = log2 >= 64 ? UINT64_MAX : (1ull << log2) - 1;
    if ((va & ~size_m1) < d->big_lo[h])
        d->big_lo[h] = va & ~size_m1;
    if ((va | size_m1) > d->big_hi[h])
        d->big_hi[h] = va | size_m1;
}

static struct a64_walk_regs regs_of(const struct a64_state *st)
{
    return (struct a64_walk_regs){ st->sys.sctlr_el1, st->sys.tcr_el1, st->sys.ttbr0_el1, st->sys.ttbr1_el1 };
}

static bool user_access(const struct soft_cpu *cpu, uint32_t access)
{
    return (access & MMU_USER) || cpu->regime == 1;
}

/* Deliver a stage-1 abort to EL1 at the current instruction. */
static void s1_abort(struct soft_cpu *cpu, uint64_t va, uint32_t access, uint32_t fsc)
{
    struct a64_state *st = a64_st(cpu);
    bool lower = a64_el(st) == 0;
    uint32_t ec, iss = fsc;
    if (access & MMU_FETCH) {
        ec = lower ? A64_EC_IABT_LOW : A64_EC_IABT_CUR;
    } else {
        ec = lower ? A64_EC_DABT_LOW : A64_EC_DABT_CUR;
        iss |= (access & MMU_WRITE) ? ISS_WNR : 0;
    }
    a64_take_exception(cpu, ec, iss, va, true, st->pc);
    cpu->stop = SOFT_STOP_FAULT;
}

/* A descriptor read missed stage 2: the client sees a stage-2 abort with S1PTW. */
static void s1ptw_exit(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access)
{
    struct anyhv_exit *e = &cpu->vcpu->exit;
    struct a64_state *st = a64_st(cpu);
    *e = (struct anyhv_exit){ .kind = EXIT_MMIO, .pc = st->pc, .insn_len = 4, .icount = cpu->icount };
    e->u.mem.gpa = gpa;
    e->u.mem.gva = va;
    e->u.mem.gva_valid = true;
    e->u.mem.fetch = (access & MMU_FETCH) != 0;
    e->u.mem.s1ptw = true;
    e->u.mem.size = 8;
    cpu->stop = SOFT_STOP_EXIT;
}

bool a64_mmu_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct mmu_entry *out)
{
    struct a64_state *st = a64_st(cpu);
    struct a64_walk_regs r = regs_of(st);
    struct a64_walk_result w;
    a64_walk(mmu_stage2(cpu), &r, va, &w);
    bool probe = (access & MMU_PROBE) != 0;
    if (w.fault != A64_WALK_OK) {
        if (probe)
            return false;
        if (w.fault == A64_WALK_STAGE2)
            s1ptw_exit(cpu, va, w.s2_addr, access);
        else
            s1_abort(cpu, va, access, a64_walk_fsc(w.fault, w.level));
        return false;
    }
    uint32_t perms = user_access(cpu, access) ? w.perms_el0 : w.perms_el1;
    uint32_t need = access & (MMU_READ | MMU_WRITE | MMU_FETCH);
    if ((perms & need) != need) {
        if (!probe)
            s1_abort(cpu, va, access, A64_FSC_PERMISSION | (uint32_t)w.level);
        return false;
    }
    if (w.block_log2 > SMALL_PAGE_LOG2 && cpu->fe_data)
        note_block(cpu->fe_data, va, w.block_log2);
    out->vpage = va & MMU_PAGE_MASK;
    out->gpage = w.pa & MMU_PAGE_MASK;
    out->host = NULL;
    out->perms = perms;
    out->asid = w.global ? MMU_ASID_GLOBAL : w.asid;
    return true;
}

/* The dispatcher filled the exit's address fields; add what the info word says. */
/* A single-register load or store (ISV) to the frames of the VM's in-framework
 * interrupt controller completes here: the value moves, the instruction retires and
 * execution resumes after it, with no exit. False for everything else. */
static bool irqchip_access(struct soft_cpu *cpu, uint64_t gpa, uint32_t access, uint64_t info)
{
    const struct irqchip_ops *chip = cpu->vcpu->vm->irqchip;
    if (!chip || (access & MMU_FETCH) || !(info & A64_INFO_ISV))
        return false;
    struct a64_state *st = a64_st(cpu);
    unsigned size = 1u << A64_INFO_SAS(info), rt = A64_INFO_SRT(info), bits = 8 * size;
    bool write = (access & MMU_WRITE) != 0;
    uint64_t v = write && rt != 31 ? st->x[rt] : 0;
    if (write && bits < 64)
        v &= (1ull << bits) - 1;
    if (!chip->mmio(cpu->vcpu, gpa, size, write, &v))
        return false;
    if (!write && rt != 31) {
        if ((info & A64_INFO_SSE) && bits < 64)
            v = (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
        st->x[rt] = (info & A64_INFO_SF) ? v : (uint32_t)v;
    }
    st->pc += 4;
    cpu->icount++;
    cpu->stop = SOFT_STOP_FAULT;   /* re-dispatch at the next instruction */
    return true;
}

void a64_stage2_fault(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, uint64_t info)
{
    struct exit_mem *m = &cpu->vcpu->exit.u.mem;
    (void)va;
    if (irqchip_access(cpu, gpa, access, info))
        return;
    cpu->vcpu->exit.insn_len = 4;
    m->size = (uint8_t)(1u << A64_INFO_SAS(info));
    m->reg = (uint8_t)A64_INFO_SRT(info);
    m->syndrome_valid = (info & A64_INFO_ISV) != 0;
    m->sign_extend = (info & A64_INFO_SSE) != 0;
    m->reg64 = (info & A64_INFO_SF) != 0;
    m->acq_rel = (info & A64_INFO_AR) != 0;
    cpu->stop = SOFT_STOP_EXIT;
}

void *a64_fe_data_new(void)
{
    struct a64_fe_data *d = calloc(1, sizeof(struct a64_fe_data));
    if (d)
        spans_clear(d);
    return d;
}

static void flush_all(struct soft_cpu *cpu)
{
    mmu_tlb_flush_all(&cpu->tlb);
    if (cpu->fe_data)
        spans_clear(cpu->fe_data);
}

void a64_sysreg_written(struct soft_cpu *cpu, uint32_t id, uint64_t old, uint64_t value)
{
    if (old == value)
        return;
    switch (id) {
    case SR_SCTLR:
    case SR_TCR:
    case SR_MAIR:
        flush_all(cpu);
        break;
    case SR_TTBR0:
    case SR_TTBR1: {
        /* The TLB fast path does not compare ASIDs, so entries of the previous
         * ASID go when the table base or ASID changes; global entries stay, as the
         * architecture lets them until a TLBI. */
        struct a64_walk_regs before = regs_of(a64_st(cpu));
        if (id == SR_TTBR0)
            before.ttbr0 = old;
        else
            before.ttbr1 = old;
        mmu_tlb_flush_asid(&cpu->tlb, a64_current_asid(&before));
        break;
    }
    default:
        break;
    }
}

/* AT S1E1R/W, S1E0R/W: translate and report in PAR_EL1 (faults are not taken). */
void a64_at(struct soft_cpu *cpu, uint64_t va, unsigned op2)
{
    struct a64_state *st = a64_st(cpu);
    struct a64_walk_regs r = regs_of(st);
    struct a64_walk_result w;
    a64_walk(mmu_stage2(cpu), &r, va, &w);
    bool el0 = op2 >= 2, write = op2 & 1;
    uint32_t fsc;
    if (w.fault == A64_WALK_OK) {
        uint32_t perms = el0 ? w.perms_el0 : w.perms_el1;
        uint32_t need = write ? MMU_WRITE : MMU_READ;
        if ((perms & need) == need) {
            st->sys.par_el1 = w.pa & PAR_PA_MASK;
            return;
        }
        fsc = A64_FSC_PERMISSION | (uint32_t)w.level;
    } else {
        fsc = a64_walk_fsc(w.fault, w.level);
    }
    st->sys.par_el1 = PAR_F | ((uint64_t)fsc << PAR_FST_SHIFT) | (w.fault == A64_WALK_STAGE2 ? PAR_S1WLK : 0);
}

/* Post a full flush to every other vCPU of the VM (inner-shareable TLBI). */
static void broadcast_flush(struct soft_cpu *cpu)
{
    struct vm *vm = cpu->vcpu->vm;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *v = atomic_load(&vm->vcpus[i]);
        if (v && v != cpu->vcpu)
            atomic_fetch_or(&v->requests, VCPU_REQ_TLB_FLUSH);
    }
}

static void flush_va(struct soft_cpu *cpu, uint64_t va)
{
    struct a64_fe_data *d = cpu->fe_data;
    if (!d || (va >= d->big_lo[va_range(va)] && va <= d->big_hi[va_range(va)])) {
        flush_all(cpu);   /* the VA may sit in a block: drop every piece */
        return;
    }
    /* Pages are at most 64 KiB: drop each 4 KiB piece of the granule. */
    unsigned grain = 1u << 16;
    mmu_tlb_flush_range(&cpu->tlb, va & ~(uint64_t)(grain - 1), grain);
}

/* TLBI ... E1(IS): op2 0 VMALLE1, 1 VAE1, 2 ASIDE1, 3 VAAE1, 5 VALE1, 7 VAALE1. */
bool a64_tlbi(struct soft_cpu *cpu, unsigned op2, uint64_t arg, bool broadcast)
{
    uint64_t va = (arg & TLBI_VA_MASK) << 12;
    /* Sign-extend VA[55] so upper-range addresses match the TLB's full VAs. */
    if (va & (1ull << VA_RANGE_BIT))
        va |= 0xff00000000000000ull;
    switch (op2) {
    case 0:
        flush_all(cpu);
        break;
    case 1: case 3: case 5: case 7:
        flush_va(cpu, va);
        break;
    case 2:
        mmu_tlb_flush_asid(&cpu->tlb, (uint32_t)(arg >> TLBI_ASID_SHIFT));
        break;
    default:
        return false;
    }
    if (broadcast)
        broadcast_flush(cpu);
    return true;
}
