/* codepages.c - the per-VM code-page registry (see codepages.h): a hash of pages
 * under one lock, with a lock-free filter in front for the common "never code" case. */
#include "mmu/codepages.h"

#include <stdlib.h>
#include <string.h>

#define CODE_PAGES_INITIAL_BUCKETS 256u
#define FILTER_SEED 0x5bd1e995u

static uint32_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

bool mmu_code_pages_init(struct mmu_code_pages *t)
{
    memset(t, 0, sizeof(*t));
    t->buckets = calloc(CODE_PAGES_INITIAL_BUCKETS, sizeof(*t->buckets));
    if (!t->buckets)
        return false;
    t->nbuckets = CODE_PAGES_INITIAL_BUCKETS;
    pthread_mutex_init(&t->lock, NULL);
    return true;
}

void mmu_code_pages_destroy(struct mmu_code_pages *t)
{
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        for (struct mmu_code_page *p = t->buckets[i], *n; p; p = n) {
            n = p->next;
            free(p);
        }
    }
    free(t->buckets);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

static struct mmu_code_page *find_locked(struct mmu_code_pages *t, uint64_t gpage)
{
    for (struct mmu_code_page *p = t->buckets[hash64(gpage) & (t->nbuckets - 1)]; p; p = p->next)
        if (p->gpage == gpage)
            return p;
    return NULL;
}

static void grow_locked(struct mmu_code_pages *t)
{
    uint32_t n = t->nbuckets * 2;
    struct mmu_code_page **b = calloc(n, sizeof(*b));
    if (!b)
        return;   /* keep the longer chains */
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        for (struct mmu_code_page *p = t->buckets[i], *next; p; p = next) {
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
    return hash64(gpage ^ FILTER_SEED) & (MMU_CODE_FILTER_BITS - 1);
}

struct mmu_code_page *mmu_code_page_get(struct mmu_code_pages *t, uint64_t gpage)
{
    uint32_t bit = filter_bit(gpage);
    atomic_fetch_or(&t->filter[bit / 64], 1ull << (bit % 64));
    pthread_mutex_lock(&t->lock);
    struct mmu_code_page *p = find_locked(t, gpage);
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

bool mmu_code_page_is_live(struct mmu_code_pages *t, uint64_t gpage)
{
    uint32_t bit = filter_bit(gpage);
    if (!(atomic_load_explicit(&t->filter[bit / 64], memory_order_acquire) & (1ull << (bit % 64))))
        return false;
    pthread_mutex_lock(&t->lock);
    struct mmu_code_page *p = find_locked(t, gpage);
    bool live = p && atomic_load(&p->live);
    pthread_mutex_unlock(&t->lock);
    return live;
}

bool mmu_code_page_invalidate(struct mmu_code_pages *t, uint64_t gpage)
{
    pthread_mutex_lock(&t->lock);
    struct mmu_code_page *p = find_locked(t, gpage);
    bool was = p && atomic_load(&p->live);
    if (was) {
        atomic_fetch_add(&p->gen, 1);
        atomic_store(&p->live, 0);
        atomic_fetch_add(&t->epoch, 1);
    }
    pthread_mutex_unlock(&t->lock);
    return was;
}

void mmu_code_pages_touch(struct mmu_code_pages *t)
{
    atomic_fetch_add(&t->epoch, 1);
}
