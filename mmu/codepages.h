/* codepages.h - the per-VM registry of guest-physical pages that hold (or held)
 * translated code. A page's generation counter is bumped when its code is written
 * (self-modifying code, a client rewriting guest memory): every translation made
 * from the page compares the generation it saw and so goes stale, on any vCPU,
 * without cross-thread frees. The memory access path (mmu/access.c) asks it whether
 * a page written to holds live code; the translation cache keeps pointers to its
 * entries. */
#ifndef ANYHV_MMU_CODEPAGES_H
#define ANYHV_MMU_CODEPAGES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One guest-physical page that holds (or held) translations. Never freed before its
 * registry, so translations keep a plain pointer to it. */
struct mmu_code_page {
    uint64_t gpage;
    _Atomic uint32_t gen;      /* bumped when the page's code is written */
    _Atomic uint32_t live;     /* translations exist: writes must invalidate */
    struct mmu_code_page *next;
};

/* Per-VM set of code pages, shared by every vCPU. The filter has a bit per hash of
 * every page ever entered, so the TLB fill path answers "not code" without the lock
 * for nearly every data page. */
#define MMU_CODE_FILTER_BITS 65536u
struct mmu_code_pages {
    _Atomic uint64_t filter[MMU_CODE_FILTER_BITS / 64];
    _Atomic uint64_t epoch;    /* moves when translations may have gone stale: a live
                                * page invalidated, or stage 2 changed (compiled code
                                * stops chaining on it) */
    pthread_mutex_t lock;
    struct mmu_code_page **buckets;
    uint32_t nbuckets;
    uint32_t count;
};

bool mmu_code_pages_init(struct mmu_code_pages *t);
void mmu_code_pages_destroy(struct mmu_code_pages *t);
/* The entry for gpage, created (not live) if absent; NULL only on allocation failure. */
struct mmu_code_page *mmu_code_page_get(struct mmu_code_pages *t, uint64_t gpage);
/* Whether gpage currently holds live translations. */
bool mmu_code_page_is_live(struct mmu_code_pages *t, uint64_t gpage);
/* Invalidate gpage's translations; true if it held any. */
bool mmu_code_page_invalidate(struct mmu_code_pages *t, uint64_t gpage);
/* Stage 2 changed: translations re-validate before compiled code chains again. */
void mmu_code_pages_touch(struct mmu_code_pages *t);

#endif /* ANYHV_MMU_CODEPAGES_H */
