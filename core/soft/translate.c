/* translate.c - the block for the current pc: cache lookup by (pc, guest-physical
 * pc, mode), a check once per check generation that the guest bytes still match (the
 * client may have rewritten guest memory between runs), else translation by the
 * frontend, verification, passes and pre-decoding for the interpreter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft_internal.h"

/* The guest bytes under blk are still the ones it was translated from. The host
 * pointers are safe to read: blk is valid, so stage 2 has not lost them since. */
static bool bytes_unchanged(const struct tc_block *blk)
{
    const uint8_t *copy = blk->code;
    for (uint32_t i = 0; i < blk->npages; i++) {
        if (!blk->code_len[i])
            continue;
        if (!soft_same_bytes(blk->code_host[i], copy, blk->code_len[i]))
            return false;
        copy += blk->code_len[i];
    }
    return true;
}

/* Keep a copy of the covered guest bytes, split by page. */
static bool copy_code(struct soft_vcpu *sv, struct tc_block *blk, uint64_t pc, uint32_t bytes)
{
    blk->code = malloc(bytes ? bytes : 1);
    if (!blk->code)
        return false;
    uint32_t off = 0;
    for (uint32_t i = 0; i < sv->tb_npages && off < bytes; i++) {
        uint64_t va = pc + off;
        if ((va & MMU_PAGE_MASK) != sv->tb_page[i])
            continue;
        uint32_t n = (uint32_t)(MMU_PAGE_SIZE - (va & ~MMU_PAGE_MASK));
        if (n > bytes - off)
            n = bytes - off;
        blk->code_gpa[i] = sv->tb_gpa[i] | (va & ~MMU_PAGE_MASK);
        blk->code_len[i] = n;
        const uint8_t *h = mmu_gpa_host(&sv->cpu, blk->code_gpa[i], n, 0);
        if (!h)
            return false;
        blk->code_host[i] = h;
        memcpy(blk->code + off, h, n);
        off += n;
    }
    return off == bytes;
}

/* ANYHV_TRACE_IR=1: each translated block's IR after the passes, on stderr. */
static void trace_block(const struct ir_block *b)
{
    static char text[1 << 17];
    ir_dump(b, text, sizeof(text));
    fprintf(stderr, "; block pc 0x%llx gpa 0x%llx mode 0x%x, %u guest instructions\n%s",
            (unsigned long long)b->guest_pc, (unsigned long long)b->guest_pa, b->mode_key, b->guest_insns, text);
}

static struct tc_block *build(struct soft_vcpu *sv, uint64_t pc, uint64_t gpa, uint32_t mode, uint64_t epoch)
{
    struct soft_cpu *cpu = &sv->cpu;
    struct ir_block *b = &sv->scratch;
    ir_block_reset(b, pc);
    b->guest_pa = gpa;
    b->mode_key = mode;
    sv->tb_npages = 0;
    sv->translating = true;
    if (!mmu_fetch_code(cpu, pc, &(uint8_t){ 0 }, 1, true)) {
        sv->translating = false;
        return NULL;
    }
    cpu->stop = SOFT_RUN;
    bool ok = cpu->fe->translate(cpu, b);
    sv->translating = false;
    if (!ok) {
        if (cpu->stop == SOFT_RUN)
            cpu->stop = SOFT_STOP_FAULT;
        return NULL;
    }
    if (b->failed) {   /* out of memory while building: the block cap is kept by the frontends */
        soft_internal_exit(cpu, SOFT_INTERNAL_NO_MEMORY, pc);
        return NULL;
    }
    if (!ir_verify(b, NULL, 0)) {
        soft_internal_exit(cpu, SOFT_INTERNAL_BAD_BLOCK, pc);
        return NULL;
    }
    ir_optimize(b, cpu->fe->flag_offsets, cpu->fe->flag_count);
    if (sv->trace_ir)
        trace_block(b);
    struct tc_block *blk = tc_block_new();
    if (!blk) {
        soft_internal_exit(cpu, SOFT_INTERNAL_NO_MEMORY, pc);
        return NULL;
    }
    blk->pc = pc;
    blk->gpa = gpa;
    blk->mode = mode;
    blk->s2_epoch = epoch;
    blk->checked_run = sv->check_gen;   /* soft_block_for_pc lists it if it is kept */
    blk->guest_insns = b->guest_insns;
    blk->guest_bytes = b->guest_bytes;
    blk->npages = sv->tb_npages;
    for (uint32_t i = 0; i < sv->tb_npages; i++) {
        blk->page[i] = sv->tb_pg[i];
        blk->page_gen[i] = sv->tb_gen[i];
    }
    if (!copy_code(sv, blk, pc, b->guest_bytes) || !interp_compile(b, sv->state_size, &blk->prog)) {
        tc_block_free(blk);
        soft_internal_exit(cpu, SOFT_INTERNAL_BAD_BLOCK, pc);
        return NULL;
    }
    return blk;
}

/* The client rewrote blk's code: drop every translation of its pages. */
static void invalidate_rewritten(struct soft_vcpu *sv, const struct tc_block *blk)
{
    for (uint32_t i = 0; i < blk->npages; i++)
        mmu_code_page_invalidate(&sv->svm->code_pages, blk->page[i]->gpage);
}

bool soft_block_recheck(struct soft_vcpu *sv, struct tc_block *blk)
{
    if (blk->checked_run == sv->check_gen)
        return true;
    if (bytes_unchanged(blk)) {
        soft_code_verified(sv, blk);
        return true;
    }
    invalidate_rewritten(sv, blk);
    return false;
}

struct tc_block *soft_block_for_pc(struct soft_vcpu *sv, uint64_t pc, uint32_t mode)
{
    struct soft_cpu *cpu = &sv->cpu;
    uint64_t gpa = mmu_fetch_gpa(cpu, pc);
    uint64_t epoch = atomic_load_explicit(&sv->svm->s2_epoch, memory_order_acquire);
    uint64_t remaining = cpu->budget - cpu->icount;
    if (sv->smc_restart)
        remaining = 1;   /* the instruction whose store hit its own block, alone */
    bool capped = remaining < SOFT_MAX_BLOCK_INSNS;

    {
        struct tc_block *blk = tcache_lookup(&sv->tc, pc, gpa, mode, epoch);
        /* Near the budget, a cached block may run only if it cannot overshoot. */
        if (blk && blk->guest_insns > remaining)
            blk = NULL;
        /* Rewritten behind our back (by the client): its pages were invalidated. */
        if (blk && !soft_block_recheck(sv, blk))
            blk = tcache_lookup(&sv->tc, pc, gpa, mode, epoch);
        if (blk)
            return blk;
    }
    tc_block_free(sv->temp_block);
    sv->temp_block = NULL;
    cpu->max_insns = capped ? (uint32_t)remaining : SOFT_MAX_BLOCK_INSNS;
    if (cpu->max_insns == 0)
        cpu->max_insns = 1;
    struct tc_block *blk = build(sv, pc, gpa, mode, epoch);
    if (!blk)
        return NULL;
    if (capped) {
        sv->temp_block = blk;
    } else {
        tcache_insert(&sv->tc, blk, epoch);
        soft_code_verified(sv, blk);
    }
    return blk;
}
