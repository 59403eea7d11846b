/* walk_a64.h - VMSAv8-64 stage-1 translation for the EL1&0 regime: 4/16/64 KiB
 * granules, TTBR0/TTBR1 by VA range, TCR fields, AP/UXN/PXN with hierarchical
 * table attributes, AF, ASIDs. Tables are read through stage 2 only. */
#ifndef ANYHV_MMU_WALK_A64_H
#define ANYHV_MMU_WALK_A64_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/pmap.h"

struct a64_walk_regs {
    uint64_t sctlr, tcr, ttbr0, ttbr1;
};

enum a64_walk_fault {
    A64_WALK_OK = 0,
    A64_WALK_ADDR_SIZE,      /* DFSC 0b0000LL */
    A64_WALK_TRANSLATION,    /* DFSC 0b0001LL */
    A64_WALK_ACCESS_FLAG,    /* DFSC 0b0010LL */
    A64_WALK_STAGE2,         /* a table read missed stage 2: the client sees it (S1PTW) */
};

struct a64_walk_result {
    enum a64_walk_fault fault;
    int level;               /* level of the fault, or of the final descriptor */
    uint64_t pa;             /* output address of va */
    uint64_t s2_addr;        /* A64_WALK_STAGE2: guest-physical address of the descriptor */
    uint32_t perms_el1;      /* MMU_READ | MMU_WRITE | MMU_FETCH allowed at EL1 */
    uint32_t perms_el0;      /* ... at EL0 */
    bool global;
    uint16_t asid;
    unsigned block_log2;     /* size of the mapping (page or block) */
};

/* Translate va. Never touches memory outside what pm maps. */
void a64_walk(const struct pmap *pm, const struct a64_walk_regs *r, uint64_t va, struct a64_walk_result *out);
/* The fault status code (DFSC/IFSC) of a walk fault at a level; permission faults
 * use A64_FSC_PERMISSION. */
#define A64_FSC_ADDR_SIZE 0x00u
#define A64_FSC_TRANSLATION 0x04u
#define A64_FSC_ACCESS_FLAG 0x08u
#define A64_FSC_PERMISSION 0x0cu
uint32_t a64_walk_fsc(enum a64_walk_fault f, int level);
/* Current ASID per TCR_EL1.A1/AS. */
uint16_t a64_current_asid(const struct a64_walk_regs *r);

#endif /* ANYHV_MMU_WALK_A64_H */
