/* walk_x86.h - the x86 stage-1 walker: 32-bit (with PSE 4 MiB pages), PAE, 4-level
 * and 5-level tables, read through stage 2 only, with atomic accessed/dirty updates,
 * the NX, U/S, WP and SMEP checks and the reserved-bit checks (#PF with RSVD). Used by the x86 frontend for TLB fills and
 * for its own system-structure accesses. */
#ifndef ANYHV_MMU_WALK_X86_H
#define ANYHV_MMU_WALK_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/mmu.h"

/* The control state a walk depends on, and the processor's physical-address width
 * (MAXPHYADDR, 32..52) and 1-GiB-page support (CPUID), which decide reserved bits. */
struct x86_walk_regs {
    uint64_t cr0, cr3, cr4, efer;
    unsigned maxphyaddr;
    bool page1gb;
};

enum x86_walk_status {
    X86_WALK_OK = 0,
    X86_WALK_PF,          /* guest #PF: pf_error holds the error code */
    X86_WALK_STAGE2,      /* a table entry is not in readable RAM: fault_gpa */
};

/* #PF error-code bits. */
#define X86_PF_P (1u << 0)
#define X86_PF_W (1u << 1)
#define X86_PF_U (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I (1u << 4)

struct x86_walk_out {
    uint64_t gpa;         /* guest-physical address of va */
    uint32_t perms;       /* MMU_READ/WRITE/FETCH allowed to this privilege without another walk */
    uint32_t pf_error;
    uint64_t fault_gpa;   /* X86_WALK_STAGE2: the table entry's address */
};

/* Translate va for `access` (enum mmu_access bits). Paging must be on (CR0.PG). */
enum x86_walk_status x86_walk_s1(const struct pmap *pm, const struct x86_walk_regs *r, uint64_t va, uint32_t access,
                                 struct x86_walk_out *out);

/* A present PAE PDPTE with reserved bits set (2:1, 8:5, 63:MAXPHYADDR). */
bool x86_pae_pdpte_reserved(uint64_t pdpte, unsigned maxphyaddr);

#endif /* ANYHV_MMU_WALK_X86_H */
