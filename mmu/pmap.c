/* Guest-physical map: sorted ranges with split-on-change semantics (see pmap.h).
 * Kept small and simple: clients map a handful of regions; lookups are a binary
 * search, and the soft CPU's TLB keeps them off the hot path. */
#include "mmu/pmap.h"

#include <stdlib.h>
#include <string.h>

void pmap_init(struct pmap *pm, uint64_t limit, uint64_t granule)
{
    memset(pm, 0, sizeof(*pm));
    pm->limit = limit;
    pm->granule = granule;
}

void pmap_destroy(struct pmap *pm)
{
    free(pm->ranges);
    memset(pm, 0, sizeof(*pm));
}

static bool range_ok(const struct pmap *pm, uint64_t gpa, uint64_t size)
{
    if (size == 0 || (gpa & (pm->granule - 1)) || (size & (pm->granule - 1)))
        return false;
    if (gpa + size < gpa || gpa + size > pm->limit)
        return false;
    return true;
}

/* Index of the first range whose end is above gpa (count if none). */
static size_t first_ending_after(const struct pmap *pm, uint64_t gpa)
{
    size_t lo = 0, hi = pm->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pmap_range *r = &pm->ranges[mid];
        if (r->gpa + r->size <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static enum pmap_status reserve(struct pmap *pm, size_t extra)
{
    if (pm->count + extra <= pm->capacity)
        return PMAP_OK;
    size_t cap = pm->capacity ? pm->capacity * 2 : 8;
    while (cap < pm->count + extra)
        cap *= 2;
    struct pmap_range *r = realloc(pm->ranges, cap * sizeof(*r));
    if (!r)
        return PMAP_ENOMEM;
    pm->ranges = r;
    pm->capacity = cap;
    return PMAP_OK;
}

static void insert_at(struct pmap *pm, size_t idx, struct pmap_range r)
{
    memmove(&pm->ranges[idx + 1], &pm->ranges[idx], (pm->count - idx) * sizeof(r));
    pm->ranges[idx] = r;
    pm->count++;
}

static void remove_at(struct pmap *pm, size_t idx)
{
    memmove(&pm->ranges[idx], &pm->ranges[idx + 1], (pm->count - idx - 1) * sizeof(pm->ranges[0]));
    pm->count--;
}

/* True when every byte of [gpa, gpa+size) lies in some range. */
static bool fully_mapped(const struct pmap *pm, uint64_t gpa, uint64_t size)
{
    uint64_t cur = gpa, end = gpa + size;
    for (size_t i = first_ending_after(pm, gpa); i < pm->count && cur < end; i++) {
        const struct pmap_range *r = &pm->ranges[i];
        if (r->gpa > cur)
            return false;
        cur = r->gpa + r->size;
    }
    return cur >= end;
}

/* Split the range containing `at` (if any) so that a range boundary falls on `at`. */
static enum pmap_status split_at(struct pmap *pm, uint64_t at)
{
    size_t i = first_ending_after(pm, at);
    if (i >= pm->count)
        return PMAP_OK;
    struct pmap_range *r = &pm->ranges[i];
    if (r->gpa >= at)
        return PMAP_OK;
    if (reserve(pm, 1) != PMAP_OK)
        return PMAP_ENOMEM;
    r = &pm->ranges[i];
    uint64_t head = at - r->gpa;
    struct pmap_range tail = { at, r->size - head, r->host + head, r->perms };
    r->size = head;
    insert_at(pm, i + 1, tail);
    return PMAP_OK;
}

enum pmap_status pmap_map(struct pmap *pm, void *host, uint64_t gpa, uint64_t size, uint32_t perms)
{
    if (!host || !range_ok(pm, gpa, size) || (perms & ~PMAP_PERM_ALL))
        return PMAP_EINVAL;
    if ((uintptr_t)host + size < (uintptr_t)host)
        return PMAP_EINVAL;
    size_t i = first_ending_after(pm, gpa);
    if (i < pm->count && pm->ranges[i].gpa < gpa + size)
        return PMAP_EOVERLAP;
    if (reserve(pm, 1) != PMAP_OK)
        return PMAP_ENOMEM;
    insert_at(pm, i, (struct pmap_range){ gpa, size, host, perms });
    pm->generation++;
    return PMAP_OK;
}

/* Split so [gpa, gpa+size) is covered by whole ranges; all-or-nothing on memory. */
static enum pmap_status isolate(struct pmap *pm, uint64_t gpa, uint64_t size)
{
    if (!range_ok(pm, gpa, size))
        return PMAP_EINVAL;
    if (!fully_mapped(pm, gpa, size))
        return PMAP_ENOTMAPPED;
    /* Reserve both possible splits first so a failure leaves the map untouched. */
    if (reserve(pm, 2) != PMAP_OK)
        return PMAP_ENOMEM;
    split_at(pm, gpa);
    split_at(pm, gpa + size);
    return PMAP_OK;
}

enum pmap_status pmap_unmap(struct pmap *pm, uint64_t gpa, uint64_t size)
{
    enum pmap_status st = isolate(pm, gpa, size);
    if (st != PMAP_OK)
        return st;
    size_t i = first_ending_after(pm, gpa);
    while (i < pm->count && pm->ranges[i].gpa < gpa + size)
        remove_at(pm, i);
    pm->generation++;
    return PMAP_OK;
}

enum pmap_status pmap_protect(struct pmap *pm, uint64_t gpa, uint64_t size, uint32_t perms)
{
    if (perms & ~PMAP_PERM_ALL)
        return PMAP_EINVAL;
    enum pmap_status st = isolate(pm, gpa, size);
    if (st != PMAP_OK)
        return st;
    for (size_t i = first_ending_after(pm, gpa); i < pm->count && pm->ranges[i].gpa < gpa + size; i++)
        pm->ranges[i].perms = perms;
    pm->generation++;
    return PMAP_OK;
}

const struct pmap_range *pmap_lookup(const struct pmap *pm, uint64_t gpa)
{
    size_t i = first_ending_after(pm, gpa);
    if (i < pm->count && pm->ranges[i].gpa <= gpa)
        return &pm->ranges[i];
    return NULL;
}

uint8_t *pmap_host_ptr(const struct pmap *pm, uint64_t gpa, uint64_t len, uint32_t perms)
{
    const struct pmap_range *r = pmap_lookup(pm, gpa);
    if (!r || (r->perms & perms) != perms)
        return NULL;
    uint64_t off = gpa - r->gpa;
    if (len > r->size - off)
        return NULL;
    return r->host + off;
}
