/* tcache.c - translation blocks by (pc, guest-physical pc, mode) in a per-vCPU hash,
 * over the per-VM code-page registry (mmu/codepages.c). Invalidation is lazy: a write to
 * a code page bumps its generation and every block on it fails validation at its next
 * lookup, on any vCPU, without cross-thread frees. */
#include "jit/tcache.h"

#include <stdlib.h>
#include <string.h>

#define TC_INITIAL_BUCKETS 4096u
/* Blocks per bucket before the table doubles: a kernel boot keeps tens of thousands
 * of blocks, and a lookup walks its whole chain on every dispatcher miss. */
#define TC_MAX_LOAD 2u
/* Invalid blocks kept before they are freed together (one free_gen bump). */
#define TC_DEAD_MAX 256u
/* An eviction sweep must free at least limit / TC_EVICT_MIN_DIV blocks, else the
 * whole cache goes (the working set no longer fits). */
#define TC_EVICT_MIN_DIV 4u

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* ---- blocks ------------------------------------------------------------------------ */

struct tc_block *tc_block_new(void)
{
    return calloc(1, sizeof(struct tc_block));
}

void tc_block_free(struct tc_block *blk)
{
    if (!blk)
        return;
    interp_prog_free(&blk->prog);
    free(blk->region);
    free(blk->code);
    free(blk);
}

bool tc_block_valid(const struct tc_block *blk, uint64_t s2_epoch)
{
    if (blk->s2_epoch != s2_epoch)
        return false;
    for (uint32_t i = 0; i < blk->npages; i++)
        if (atomic_load_explicit(&blk->page[i]->gen, memory_order_acquire) != blk->page_gen[i])
            return false;
    return true;
}

bool tcache_init(struct tcache *tc, uint32_t limit)
{
    memset(tc, 0, sizeof(*tc));
    tc->buckets = calloc(TC_INITIAL_BUCKETS, sizeof(*tc->buckets));
    if (!tc->buckets)
        return false;
    tc->nbuckets = TC_INITIAL_BUCKETS;
    tc->limit = limit;
    return true;
}

static void cache_free(struct tcache *tc, struct tc_block *blk)
{
    if (tc->on_free)
        tc->on_free(tc->on_free_arg, blk);
    tc_block_free(blk);
}

static void free_dead(struct tcache *tc)
{
    for (struct tc_block *b = tc->dead, *n; b; b = n) {
        n = b->next;
        cache_free(tc, b);
    }
    tc->dead = NULL;
    tc->ndead = 0;
    tc->free_gen++;
}

/* An invalid block leaves the table; it is freed with the next batch. */
static void bury(struct tcache *tc, struct tc_block *blk)
{
    blk->next = tc->dead;
    tc->dead = blk;
    tc->count--;
    if (++tc->ndead >= TC_DEAD_MAX)
        free_dead(tc);
}

void tcache_flush(struct tcache *tc)
{
    free_dead(tc);
    for (uint32_t i = 0; i < tc->nbuckets; i++) {
        for (struct tc_block *b = tc->buckets[i], *n; b; b = n) {
            n = b->next;
            cache_free(tc, b);
        }
        tc->buckets[i] = NULL;
    }
    tc->count = 0;
    tc->flushes++;
    tc->free_gen++;
}

void tcache_destroy(struct tcache *tc)
{
    if (tc->buckets)
        tcache_flush(tc);
    free(tc->buckets);
    memset(tc, 0, sizeof(*tc));
}

static uint32_t key_hash(uint64_t pc, uint32_t mode)
{
    return hash64(pc ^ ((uint64_t)mode << 48) ^ ((uint64_t)mode >> 16));
}

struct tc_block *tcache_lookup(struct tcache *tc, uint64_t pc, uint64_t gpa, uint32_t mode, uint64_t s2_epoch)
{
    struct tc_block **link = &tc->buckets[key_hash(pc, mode) & (tc->nbuckets - 1)];
    while (*link) {
        struct tc_block *b = *link;
        if (b->pc == pc && b->mode == mode && b->gpa == gpa) {
            if (tc_block_valid(b, s2_epoch))
                return b;
            *link = b->next;
            bury(tc, b);
            tc->invalidations++;
            continue;
        }
        link = &b->next;
    }
    return NULL;
}

/* Double the table (no block moves in memory; links stay valid). Without memory
 * the table keeps its size: lookups get slower, never wrong. */
static void grow(struct tcache *tc)
{
    uint32_t n = tc->nbuckets * 2u;
    struct tc_block **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (uint32_t i = 0; i < tc->nbuckets; i++) {
        for (struct tc_block *blk = tc->buckets[i], *next; blk; blk = next) {
            next = blk->next;
            uint32_t h = key_hash(blk->pc, blk->mode) & (n - 1);
            blk->next = b[h];
            b[h] = blk;
        }
    }
    free(tc->buckets);
    tc->buckets = b;
    tc->nbuckets = n;
}

/* Free the blocks that are no longer valid, and those that ran at most once since
 * the last sweep (or since they were made); the others note their count. False when
 * that freed too little. */
static bool evict(struct tcache *tc, uint64_t s2_epoch)
{
    uint32_t freed = 0;
    /* Compiled blocks stay, and so do the members of their regions, which their code
     * runs and names (tc_block.region) without the table. A region's members share its
     * head's page, generation and epoch, so they are valid exactly while the head is:
     * only a valid head's members are sure to exist still (an invalid member may have
     * been freed with the dead, while its head waits in the table for its own lookup). */
    tc->sweeps++;
    for (uint32_t i = 0; i < tc->nbuckets; i++)
        for (struct tc_block *b = tc->buckets[i]; b; b = b->next)
            for (uint32_t k = 0; k < b->nregion && tc_block_valid(b, s2_epoch); k++)
                b->region[k]->pinned_sweep = tc->sweeps;
    for (uint32_t i = 0; i < tc->nbuckets; i++) {
        struct tc_block **link = &tc->buckets[i];
        while (*link) {
            struct tc_block *b = *link;
            bool cold = b->exec_count - b->swept_count <= 1 && b->jit.state == JIT_BLOCK_COLD &&
                        b->pinned_sweep != tc->sweeps;
            if (cold || !tc_block_valid(b, s2_epoch)) {
                *link = b->next;
                cache_free(tc, b);
                freed++;
                continue;
            }
            b->swept_count = b->exec_count;
            link = &b->next;
        }
    }
    tc->count -= freed;
    tc->evictions += freed;
    free_dead(tc);   /* bumps free_gen: links into freed blocks go stale */
    return freed >= tc->limit / TC_EVICT_MIN_DIV;
}

void tcache_insert(struct tcache *tc, struct tc_block *blk, uint64_t s2_epoch)
{
    if (tc->count >= tc->limit && !evict(tc, s2_epoch))
        tcache_flush(tc);
    if (tc->count >= tc->nbuckets * TC_MAX_LOAD && tc->nbuckets < UINT32_MAX / 2u)
        grow(tc);
    uint32_t h = key_hash(blk->pc, blk->mode) & (tc->nbuckets - 1);
    blk->next = tc->buckets[h];
    tc->buckets[h] = blk;
    tc->count++;
    tc->translations++;
}
