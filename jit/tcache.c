/* tcache.c - translation blocks by (pc, guest-physical pc, mode) in a per-vCPU hash,
 * and the per-VM code-page table. Invalidation is lazy: a write to a code page bumps
 * its generation and every block on it fails validation at its next lookup, on any
 * vCPU, without cross-thread frees. */
#include "jit/tcache.h"

#include <stdlib.h>
#include <string.h>

#define TC_PAGES_INITIAL_BUCKETS 256u
#define TC_INITIAL_BUCKETS 4096u

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* ---- code pages ---------------------------------------------------------------- */

bool tc_pages_init(struct tc_pages *t)
{
    memset(t, 0, sizeof(*t));
    t->buckets = calloc(TC_PAGES_INITIAL_BUCKETS, sizeof(*t->buckets));
    if (!t->buckets)
        return false;
    t->nbuckets = TC_PAGES_INITIAL_BUCKETS;
    pthread_mutex_init(&t->lock, NULL);
    return true;
}

void tc_pages_destroy(struct tc_pages *t)
{
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        for (struct tc_page *p = t->buckets[i], *n; p; p = n) {
            n = p->next;
            free(p);
        }
    }
    free(t->buckets);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

static struct tc_page *find_locked(struct tc_pages *t, uint64_t gpage)
{
    for (struct tc_page *p = t->buckets[hash64(gpage) & (t->nbuckets - 1)]; p; p = p->next)
        if (p->gpage == gpage)
            return p;
    return NULL;
}

static void grow_locked(struct tc_pages *t)
{
    uint32_t n = t->nbuckets * 2;
    struct tc_page **b = calloc(n, sizeof(*b));
    if (!b)
        return;   /* keep the longer chains */
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        for (struct tc_page *p = t->buckets[i], *next; p; p = next) {
            next = p->next;
            uint32_t h = hash64(p->gpage) & (n - 1);
            p->next = b[h];
            b[h] = p;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static uint32_t filter_bit(uint64_t gpage)
{
    return hash64(gpage ^ 0x5bd1e995u) & (TC_FILTER_BITS - 1);
}

struct tc_page *tc_page_get(struct tc_pages *t, uint64_t gpage)
{
    uint32_t bit = filter_bit(gpage);
    atomic_fetch_or(&t->filter[bit / 64], 1ull << (bit % 64));
    pthread_mutex_lock(&t->lock);
    struct tc_page *p = find_locked(t, gpage);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (p) {
            if (t->count >= t->nbuckets)
                grow_locked(t);
            uint32_t h = hash64(gpage) & (t->nbuckets - 1);
            p->gpage = gpage;
            p->next = t->buckets[h];
            t->buckets[h] = p;
            t->count++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return p;
}

bool tc_page_is_live(struct tc_pages *t, uint64_t gpage)
{
    uint32_t bit = filter_bit(gpage);
    if (!(atomic_load_explicit(&t->filter[bit / 64], memory_order_acquire) & (1ull << (bit % 64))))
        return false;
    pthread_mutex_lock(&t->lock);
    struct tc_page *p = find_locked(t, gpage);
    bool live = p && atomic_load(&p->live);
    pthread_mutex_unlock(&t->lock);
    return live;
}

bool tc_page_invalidate(struct tc_pages *t, uint64_t gpage)
{
    pthread_mutex_lock(&t->lock);
    struct tc_page *p = find_locked(t, gpage);
    bool was = p && atomic_load(&p->live);
    if (was) {
        atomic_fetch_add(&p->gen, 1);
        atomic_store(&p->live, 0);
        atomic_fetch_add(&t->epoch, 1);
    }
    pthread_mutex_unlock(&t->lock);
    return was;
}

void tc_pages_touch(struct tc_pages *t)
{
    atomic_fetch_add(&t->epoch, 1);
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

void tcache_flush(struct tcache *tc)
{
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
            cache_free(tc, b);
            tc->count--;
            tc->invalidations++;
            tc->free_gen++;
            continue;
        }
        link = &b->next;
    }
    return NULL;
}

void tcache_insert(struct tcache *tc, struct tc_block *blk)
{
    if (tc->count >= tc->limit)
        tcache_flush(tc);
    uint32_t h = key_hash(blk->pc, blk->mode) & (tc->nbuckets - 1);
    blk->next = tc->buckets[h];
    tc->buckets[h] = blk;
    tc->count++;
    tc->translations++;
}
