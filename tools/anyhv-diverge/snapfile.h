/* anyhv-diverge: reading anyhv snapshot files (format 2, docs/snapshots.md; the time and
 * device sections are not compared) and
 * comparing two of them field by field. */
#ifndef ANYHV_TOOLS_DIVERGE_SNAPFILE_H
#define ANYHV_TOOLS_DIVERGE_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SNAPFILE_MAX_VCPUS 64u
#define SNAPFILE_MAX_REGIONS 64u

struct snapfile {
    uint8_t *buf;
    size_t len;
    uint32_t flavour;            /* 0 x86_64, 1 arm64 */
    uint32_t state_size, ext_size;
    uint32_t nvcpus, nregions;
    struct { uint32_t id; uint64_t icount; const uint8_t *state; } vcpu[SNAPFILE_MAX_VCPUS];
    struct { uint32_t space; uint64_t gpa, size; const uint8_t *bytes; } region[SNAPFILE_MAX_REGIONS];
};

/* Loads and checks a snapshot (magic, format, checksum, bounds); false with a message
 * in err on failure. */
bool snapfile_load(const char *path, struct snapfile *s, char *err, size_t errlen);
void snapfile_free(struct snapfile *s);

/* Whether the architectural state and memory of a and b agree; with report != NULL,
 * the differences are printed there (at most max_lines lines). */
bool snapfile_equal(const struct snapfile *a, const struct snapfile *b, FILE *report, unsigned max_lines);

/* The pc of vCPU i, and a pointer to the guest bytes at guest-physical gpa (n bytes
 * available), or NULL. */
uint64_t snapfile_pc(const struct snapfile *s, unsigned i);
const uint8_t *snapfile_phys(const struct snapfile *s, uint64_t gpa, size_t *n);

#endif /* ANYHV_TOOLS_DIVERGE_SNAPFILE_H */
