/* mem.c - the dispatcher's side of the memory access path (mmu/access.c): which
 * stage 2 and code-page registry a vCPU uses, where a stage-2 miss's exit goes, the
 * running block a write may land on (self-modifying code), and the code pages of the
 * block being translated. */
#include "core/soft/soft_internal.h"

static const struct pmap *stage2(struct soft_cpu *cpu)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    return atomic_load_explicit(&sv->svm->s2[cpu->vcpu->space], memory_order_acquire);
}

static struct mmu_code_pages *code_pages(struct soft_cpu *cpu)
{
    return &soft_vcpu_of(cpu)->svm->code_pages;
}

static struct anyhv_exit *exit_record(struct soft_cpu *cpu)
{
    return &cpu->vcpu->exit;
}

/* A write of [va, va+size) lands on code of the running block after the current
 * instruction: those instructions were translated from the old bytes. The access path
 * abandons the write (the state is at the instruction's boundary, as for a fault) and
 * the dispatcher runs this one instruction alone, then continues from fresh code. */
static bool code_write(struct soft_cpu *cpu, uint64_t va, unsigned size)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    const struct tc_block *blk = sv->cur_blk;
    if (!blk)
        return false;
    uint64_t lo = cpu->insn_pc + cpu->insn_len, hi = blk->pc + blk->guest_bytes;
    /* Nothing follows the block's last instruction: a write over its own bytes (a CALL
     * whose stack is its code) goes ahead, else running it alone would restart forever. */
    if (lo < hi && va < hi && va + size > lo) {
        sv->smc_restart = true;
        return true;
    }
    return false;
}

/* Record a code page of the block being translated: mark it live (writes must now
 * invalidate) before its bytes are read, and note its generation. */
static bool code_fetched(struct soft_cpu *cpu, uint64_t vpage, uint64_t gpage)
{
    struct soft_vcpu *sv = soft_vcpu_of(cpu);
    if (!sv->translating)
        return true;
    for (uint32_t i = 0; i < sv->tb_npages; i++)
        if (sv->tb_page[i] == vpage)
            return true;
    if (sv->tb_npages >= TC_MAX_PAGES)
        return false;
    struct mmu_code_page *p = mmu_code_page_get(&sv->svm->code_pages, gpage);
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

const struct mmu_access_ops soft_mem_ops = {
    .stage2 = stage2,
    .code_pages = code_pages,
    .exit_record = exit_record,
    .code_write = code_write,
    .code_fetched = code_fetched,
    .watch_perms = soft_debug_watch_perms,
    .watch_access = soft_debug_watch_check,
};
