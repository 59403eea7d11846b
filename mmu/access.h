/* access.h - guest memory through a vCPU's TLB, the path both execution tiers and the
 * frontends use: the TLB slow path (stage-1 walk through the frontend, stage 2 through
 * the vCPU's guest-physical map, fill), any-size and page-crossing accesses, stage-2
 * misses reported as client exits (MMIO: the access does not retire), and writes to
 * pages that hold translated code (invalidated first: self-modifying code).
 *
 * It works on the soft CPU contract (struct soft_cpu, core/soft/soft.h); what only the
 * dispatcher above knows comes through the vCPU's struct mmu_access_ops. On a guest
 * fault these functions deliver it (through the frontend) and unwind: longjmp to
 * cpu->unwind with cpu->stop saying why, as soft_unwind does. */
#ifndef ANYHV_MMU_ACCESS_H
#define ANYHV_MMU_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct anyhv_exit;
struct mmu_code_pages;
struct pmap;
struct soft_cpu;

/* The dispatcher's side of the access path (soft_cpu.mem_ops). Called on the vCPU's
 * own thread, on slow paths only. */
struct mmu_access_ops {
    /* The guest-physical map the vCPU uses now (valid while it executes), or NULL. */
    const struct pmap *(*stage2)(struct soft_cpu *cpu);
    /* The VM's code-page registry (mmu/codepages.h). */
    struct mmu_code_pages *(*code_pages)(struct soft_cpu *cpu);
    /* The exit record a stage-2 miss fills for the client. */
    struct anyhv_exit *(*exit_record)(struct soft_cpu *cpu);
    /* A write of [va, va+size) hits a page holding translations. True when it lands
     * on code of the running block after the current instruction (translated from
     * the old bytes): the write is then abandoned, the state left at the instruction's
     * boundary, and the block stopped with SOFT_STOP_SYSTEM; the dispatcher has noted
     * that it must run that instruction alone. NULL: never. */
    bool (*code_write)(struct soft_cpu *cpu, uint64_t va, unsigned size);
    /* mmu_fetch_code read code from virtual page vpage (guest-physical gpage): the
     * dispatcher records the page of the block being translated (marking it live
     * before its bytes are read). False stops the fetch at this page. NULL: always
     * true. */
    bool (*code_fetched)(struct soft_cpu *cpu, uint64_t vpage, uint64_t gpage);
    /* A debugger's watchpoints (anyhv_vcpu_set_watchpoint). watch_perms: a TLB fill of
     * va's page may withhold READ/WRITE (adding MMU_PERM_WATCH), so that every data
     * access to the page takes the slow path; watch_access: a data access of
     * [va, va+size) is about to be made there and may stop the vCPU before it
     * (unwinding). NULL: no watchpoints. */
    uint32_t (*watch_perms)(struct soft_cpu *cpu, uint64_t va, uint32_t perms);
    void (*watch_access)(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access);
};

/* Guest memory for helpers and frontends, through the TLB (and its walk on a miss).
 * On a guest fault they deliver it and unwind (longjmp to cpu->unwind). */
uint64_t mmu_read(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info);
void mmu_write(struct soft_cpu *cpu, uint64_t va, uint64_t value, unsigned size, uint32_t access, uint64_t info);
/* Any-size guest access (1..16 bytes and page-crossing), same fault rules. Every page
 * is resolved before any byte moves, so a fault on the second page of a split access
 * leaves the first untouched. */
void mmu_read_bytes(struct soft_cpu *cpu, uint64_t va, void *out, unsigned size, uint32_t access, uint64_t info);
void mmu_write_bytes(struct soft_cpu *cpu, uint64_t va, const void *in, unsigned size, uint32_t access,
                     uint64_t info);
/* Host pointer for an atomic read-modify-write of [va, va+size) (checked for READ and
 * WRITE, code pages invalidated, faults delivered as for mmu_read), or NULL when the
 * access crosses a page: the caller then emulates it with mmu_read/mmu_write. */
uint8_t *mmu_rmw_ptr(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info);
/* Code fetch for translation: copies up to len bytes of code at va into out, telling
 * the dispatcher each page (code_fetched) for self-modifying-code tracking. With
 * fault == false it stops quietly at the first page that cannot be fetched (returns
 * the bytes copied); with fault == true that page's fault is delivered and the
 * translation unwinds. Frontends fetch code only through this. */
size_t mmu_fetch_code(struct soft_cpu *cpu, uint64_t va, void *out, size_t len, bool fault);
/* Translate va for instruction fetch (faulting) and return its guest-physical address. */
uint64_t mmu_fetch_gpa(struct soft_cpu *cpu, uint64_t va);
/* The guest-physical page the TLB now maps va to for instruction fetch, without a
 * walk: false when it holds no such entry (the caller then translates). */
bool mmu_fetch_gpage_cached(const struct soft_cpu *cpu, uint64_t va, uint64_t *gpage);

/* The stage 2 (guest-physical map) the vCPU uses now; valid while it executes. */
const struct pmap *mmu_stage2(struct soft_cpu *cpu);
/* Host pointer of guest-physical [gpa, gpa+len) in the vCPU's stage 2, or NULL. */
uint8_t *mmu_gpa_host(struct soft_cpu *cpu, uint64_t gpa, uint64_t len, uint32_t perms);
/* Guest-physical read / compare-and-swap through the vCPU's stage 2 only (walkers,
 * PDPTE loads ...). False when gpa is not RAM allowing the access. */
bool mmu_stage2_read(struct soft_cpu *cpu, uint64_t gpa, void *out, unsigned size);
bool mmu_stage2_cas64(struct soft_cpu *cpu, uint64_t gpa, uint64_t *expected, uint64_t desired);

#endif /* ANYHV_MMU_ACCESS_H */
