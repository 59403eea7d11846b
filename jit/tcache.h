/* tcache.h - the translation cache: blocks keyed by (virtual pc, guest-physical
 * address of the pc, mode key). Each block notes the generation of the code pages it
 * was translated from (mmu/codepages.h): a write to their code (self-modifying code)
 * or a stage-2 change invalidates it. */
#ifndef ANYHV_JIT_TCACHE_H
#define ANYHV_JIT_TCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "jit/interp.h"
#include "jit/jit.h"
#include "mmu/codepages.h"

#define TC_MAX_PAGES 2u

struct tc_block {
    uint64_t pc, gpa;
    uint32_t mode;
    uint32_t npages;
    struct mmu_code_page *page[TC_MAX_PAGES];
    uint32_t page_gen[TC_MAX_PAGES];
    uint64_t s2_epoch;         /* stage-2 epoch it was translated under */
    uint64_t checked_run;      /* last check generation in which its bytes were verified
                                * (soft_vcpu.check_gen) */
    uint64_t code_gpa[TC_MAX_PAGES];  /* guest-physical start of each code piece */
    uint32_t code_len[TC_MAX_PAGES];  /* bytes of each piece */
    const uint8_t *code_host[TC_MAX_PAGES];  /* where each piece lives; valid while the
                                              * block is (stage-2 epoch unchanged) */
    uint8_t *code;             /* copy of the guest bytes (client-write detection) */
    uint32_t guest_insns;
    uint32_t guest_bytes;      /* code bytes covered from pc */
    uint64_t exec_count;
    uint64_t swept_count;      /* exec_count at the last eviction sweep it survived */
    uint64_t pinned_sweep;     /* sweep in which a kept region held it (tcache.c) */
    struct interp_prog prog;
    struct jit_block jit;      /* compiled code, once the block is hot */
    /* When jit.fn is a region: the other blocks it runs, whose bytes the dispatcher
     * re-checks once per check generation (region_run) as it does for blocks it
     * enters itself. */
    struct tc_block **region;
    uint32_t nregion;
    uint64_t region_run;
    struct tc_block *next;
    /* Successors last taken from here, so the dispatcher skips the lookup. Valid
     * while the cache has freed nothing and the TLB has not been flushed since. */
    struct tc_block *link[2];
    uint64_t link_pc[2];
    uint64_t link_tlb_gen[2];
    uint64_t link_free_gen[2];
};

/* Per-vCPU cache. Bounded: at the limit, the blocks that ran at most once since the
 * last sweep are dropped (kernel init code runs once), and everything when that frees
 * too little. Invalid blocks wait in a short list before they are freed, so links
 * (which check validity before they are followed) survive most invalidations. */
struct tcache {
    struct tc_block **buckets;
    uint32_t nbuckets;         /* power of two */
    uint32_t count;
    uint32_t limit;
    uint64_t translations, flushes, invalidations, evictions;
    uint64_t sweeps;
    uint64_t free_gen;         /* bumped whenever blocks are freed (links go stale) */
    struct tc_block *dead;     /* invalid blocks not yet freed, through next */
    uint32_t ndead;
    /* Called before the cache frees a block (the compiled tier releases its code). */
    void (*on_free)(void *arg, struct tc_block *blk);
    void *on_free_arg;
};

bool tcache_init(struct tcache *tc, uint32_t limit);
void tcache_destroy(struct tcache *tc);
void tcache_flush(struct tcache *tc);
/* A valid block for the key, else NULL (stale blocks found on the way are freed). */
struct tc_block *tcache_lookup(struct tcache *tc, uint64_t pc, uint64_t gpa, uint32_t mode, uint64_t s2_epoch);
/* Take ownership of blk (allocated with tc_block_new); s2_epoch is the current one (a
 * sweep at the limit frees the blocks no longer valid under it). */
void tcache_insert(struct tcache *tc, struct tc_block *blk, uint64_t s2_epoch);
struct tc_block *tc_block_new(void);
void tc_block_free(struct tc_block *blk);
/* Still valid: no code page written since translation, stage 2 unchanged. */
bool tc_block_valid(const struct tc_block *blk, uint64_t s2_epoch);

#endif /* ANYHV_JIT_TCACHE_H */
