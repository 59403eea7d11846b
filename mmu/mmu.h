/* mmu.h - the software CPU's translation layer: access kinds, the per-vCPU TLB of
 * combined stage-1 + stage-2 translations (guest-virtual page -> host pointer and
 * permissions, per privilege regime), and stage-2 lookups through the pmap. */
#ifndef ANYHV_MMU_MMU_H
#define ANYHV_MMU_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/pmap.h"

/* Access kinds (bit set). */
enum mmu_access {
    MMU_READ = 1u << 0,
    MMU_WRITE = 1u << 1,
    MMU_FETCH = 1u << 2,
    MMU_USER = 1u << 3,      /* checked with user (EL0 / CPL3) privilege */
    MMU_PROBE = 1u << 4,     /* walk only: on failure return false and deliver nothing
                              * (code fetch look-ahead); walkers must honour it */
    MMU_NO_UPDATE = 1u << 5, /* a debugger's walk: set no accessed/dirty bits */
};
/* mmu_entry.perms bit beyond the access kinds: the page is writable but holds
 * translated code, so WRITE is withheld from the fast path and writes take the slow
 * path, which invalidates the translations first (self-modifying code). */
#define MMU_PERM_CODE (1u << 8)
/* mmu_entry.perms bit: the page holds a debugger's watchpoint, so READ and WRITE are
 * withheld from the fast path and every data access takes the slow path, which checks
 * the watched ranges (core/soft/debug.c). */
#define MMU_PERM_WATCH (1u << 9)

#define MMU_PAGE_BITS 12
#define MMU_PAGE_SIZE (1ull << MMU_PAGE_BITS)
#define MMU_PAGE_MASK (~(MMU_PAGE_SIZE - 1))
#define MMU_TLB_ENTRIES 4096   /* per regime, direct-mapped by page number */
#define MMU_TLB_REGIMES 2      /* 0: privileged, 1: user */

/* One translated 4 KiB page. host == NULL means "not backed by RAM" (MMIO): the
 * access goes the slow way and exits. */
struct mmu_entry {
    uint64_t vpage;          /* tag: guest-virtual page | the TLB's salt when filled
                              * (see struct mmu_tlb); ~0 if empty */
    uint64_t gpage;          /* guest-physical page */
    uint8_t *host;           /* host address of the page, or NULL */
    uint32_t perms;          /* enum mmu_access bits allowed (READ/WRITE/FETCH) */
    uint32_t asid;           /* arm64 ASID; global entries use MMU_ASID_GLOBAL */
    /* The tag again where compiled code may read [MMU_FAST_READ] or write
     * [MMU_FAST_WRITE] the host page directly (RAM, permission, no code or watch on
     * it), else ~0: one compare then tests all of it. mmu_entry_seal keeps them. */
    uint64_t fast[2];
};
#define MMU_ASID_GLOBAL 0xffffffffu
enum { MMU_FAST_READ, MMU_FAST_WRITE };

/* Derive fast[] from the rest of the entry; after any change to it. */
static inline void mmu_entry_seal(struct mmu_entry *e)
{
    e->fast[MMU_FAST_READ] = e->host && (e->perms & MMU_READ) ? e->vpage : ~0ull;
    e->fast[MMU_FAST_WRITE] = e->host && (e->perms & MMU_WRITE) ? e->vpage : ~0ull;
}

/* Flushing everything is O(1): entries are tagged with the page number ORed with a
 * salt kept in the page-offset bits, and a full flush changes the salt. Only every
 * MMU_TLB_SALT_MAX flushes are the entries really cleared. */
#define MMU_TLB_SALT_MAX 0xffeull
#define MMU_TLB_FETCHABLE_HASH_BITS 16u
#define MMU_TLB_FETCHABLE_WORDS ((1u << MMU_TLB_FETCHABLE_HASH_BITS) / 64u)
struct mmu_tlb {
    struct mmu_entry e[MMU_TLB_REGIMES][MMU_TLB_ENTRIES];
    uint64_t pmap_generation;    /* stage-2 generation the entries were filled under */
    uint64_t flush_gen;          /* bumped by every flush: block links made under an
                                  * older value may follow stale translations */
    uint64_t salt;               /* 0..MMU_TLB_SALT_MAX, current tag salt */
    /* Virtual pages filled with FETCH permission since the last whole flush (a Bloom
     * filter, so a superset): flushing only other pages cannot change a translation
     * code was found through, and leaves flush_gen (and every chain cell) alone. */
    uint64_t fetchable[MMU_TLB_FETCHABLE_WORDS];
};

/* The filter's two bits for va's page (a Bloom filter with two hashes: with one, a
 * kernel's text pages filled enough of it that the page its text patching remaps kept
 * colliding in one boot out of three). Both from one multiplicative hash. */
static inline void mmu_tlb_fetchable_bits(uint64_t va, uint32_t h[2])
{
    uint64_t x = (va >> MMU_PAGE_BITS) * 0x9e3779b97f4a7c15ull;
    h[0] = (uint32_t)(x >> (64 - MMU_TLB_FETCHABLE_HASH_BITS));
    h[1] = (uint32_t)(x >> (64 - 2 * MMU_TLB_FETCHABLE_HASH_BITS)) & ((1u << MMU_TLB_FETCHABLE_HASH_BITS) - 1);
}

/* Note that va's page was filled with FETCH permission (the fill path does it). */
static inline void mmu_tlb_note_fetchable(struct mmu_tlb *t, uint64_t va)
{
    uint32_t h[2];
    mmu_tlb_fetchable_bits(va, h);
    t->fetchable[h[0] / 64] |= 1ull << (h[0] % 64);
    t->fetchable[h[1] / 64] |= 1ull << (h[1] % 64);
}

/* Whether va's page may have been noted (false: it surely was not). */
static inline bool mmu_tlb_maybe_fetchable(const struct mmu_tlb *t, uint64_t va)
{
    uint32_t h[2];
    mmu_tlb_fetchable_bits(va, h);
    return (t->fetchable[h[0] / 64] & (1ull << (h[0] % 64))) && (t->fetchable[h[1] / 64] & (1ull << (h[1] % 64)));
}

/* The tag an entry for va carries while the current salt lasts. */
static inline uint64_t mmu_tlb_tag(const struct mmu_tlb *t, uint64_t va)
{
    return (va & MMU_PAGE_MASK) | t->salt;
}

/* Empty every entry (also what a new TLB needs). */
void mmu_tlb_init(struct mmu_tlb *t);
void mmu_tlb_flush_all(struct mmu_tlb *t);
void mmu_tlb_flush_va(struct mmu_tlb *t, uint64_t va);
/* Every page of [va, va + len): one flush generation. */
void mmu_tlb_flush_range(struct mmu_tlb *t, uint64_t va, uint64_t len);
void mmu_tlb_flush_asid(struct mmu_tlb *t, uint32_t asid);
/* Drop every entry (both regimes) that maps guest-physical page gpage. */
void mmu_tlb_flush_gpage(struct mmu_tlb *t, uint64_t gpage);

/* Fast path: the entry for va in regime r if present and allowing access, else NULL. */
static inline const struct mmu_entry *mmu_tlb_lookup(const struct mmu_tlb *t, unsigned r, uint64_t va,
                                                     uint32_t access)
{
    const struct mmu_entry *e = &t->e[r][(va >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    uint32_t need = access & (MMU_READ | MMU_WRITE | MMU_FETCH);
    return (e->vpage == mmu_tlb_tag(t, va) && (e->perms & need) == need && e->host) ? e : NULL;
}

/* Stage 2: guest-physical read of page-table memory. Returns false when gpa is not
 * readable RAM (the walker then reports a stage-2 fault on the walk). */
bool mmu_phys_read(const struct pmap *pm, uint64_t gpa, void *out, unsigned size);
/* Atomic compare-and-swap of a descriptor (A/D bit updates); false if not writable RAM. */
bool mmu_phys_cas64(const struct pmap *pm, uint64_t gpa, uint64_t *expected, uint64_t desired);

#endif /* ANYHV_MMU_MMU_H */
