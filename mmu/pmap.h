/* Stage 2: the guest-physical map of one address space, shared by every backend.
 * A sorted array of non-overlapping ranges (guest-physical -> host, R/W/X), with
 * Apple's rules: unmapping or protecting part of a range splits it. */
#ifndef ANYHV_MMU_PMAP_H
#define ANYHV_MMU_PMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pmap_perm { PMAP_READ = 1u << 0, PMAP_WRITE = 1u << 1, PMAP_EXEC = 1u << 2 };
#define PMAP_PERM_ALL (PMAP_READ | PMAP_WRITE | PMAP_EXEC)

enum pmap_status {
    PMAP_OK = 0,
    PMAP_EINVAL,      /* bad alignment, size, flags or range */
    PMAP_EOVERLAP,    /* map over an existing range */
    PMAP_ENOTMAPPED,  /* unmap/protect of a range that is not entirely mapped */
    PMAP_ENOMEM,
};

struct pmap_range {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
    uint32_t perms;
};

struct pmap {
    struct pmap_range *ranges;  /* sorted by gpa, never overlapping */
    size_t count, capacity;
    uint64_t limit;             /* first guest-physical address beyond the space */
    uint64_t granule;           /* alignment of gpa and size */
    uint64_t generation;        /* bumped on every change; lets caches notice */
};

void pmap_init(struct pmap *pm, uint64_t limit, uint64_t granule);
void pmap_destroy(struct pmap *pm);

enum pmap_status pmap_map(struct pmap *pm, void *host, uint64_t gpa, uint64_t size, uint32_t perms);
enum pmap_status pmap_unmap(struct pmap *pm, uint64_t gpa, uint64_t size);
enum pmap_status pmap_protect(struct pmap *pm, uint64_t gpa, uint64_t size, uint32_t perms);

/* The range holding gpa, or NULL. */
const struct pmap_range *pmap_lookup(const struct pmap *pm, uint64_t gpa);

/* Host pointer for [gpa, gpa+len) when it lies in one range allowing `perms`, else NULL. */
uint8_t *pmap_host_ptr(const struct pmap *pm, uint64_t gpa, uint64_t len, uint32_t perms);

#endif /* ANYHV_MMU_PMAP_H */
