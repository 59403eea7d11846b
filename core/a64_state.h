/* Architectural state of one arm64 vCPU (EL1/EL0 guest), shared vocabulary of
 * every layer. The soft CPU executes on it directly; register ids of the
 * Apple-silicon API map onto these fields through tables in core/arm64/. */
#ifndef ANYHV_CORE_A64_STATE_H
#define ANYHV_CORE_A64_STATE_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

/* PSTATE/SPSR bits. */
#define A64_PSTATE_N (1ull << 31)
#define A64_PSTATE_Z (1ull << 30)
#define A64_PSTATE_C (1ull << 29)
#define A64_PSTATE_V (1ull << 28)
#define A64_PSTATE_SS (1ull << 21)
#define A64_PSTATE_IL (1ull << 20)
#define A64_PSTATE_D (1ull << 9)
#define A64_PSTATE_A (1ull << 8)
#define A64_PSTATE_I (1ull << 7)
#define A64_PSTATE_F (1ull << 6)
#define A64_PSTATE_M_MASK 0xfull
#define A64_PSTATE_EL0T 0x0ull
#define A64_PSTATE_EL1T 0x4ull
#define A64_PSTATE_EL1H 0x5ull

/* The PSTATE of a freshly created vCPU on every backend: EL1h, DAIF masked.
 * Apple does not document its value; careful clients set 0x3c5 themselves. */
#define A64_PSTATE_RESET (A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F | A64_PSTATE_EL1H)

typedef struct { alignas(16) uint8_t b[16]; } a64_vreg_t;

/* EL1/EL0 system registers kept in state. Trap-only and ID registers live in
 * the vCPU configuration; the sysreg table in core/arm64 maps hv_sys_reg_t ids here. */
struct a64_sysregs {
    uint64_t sctlr_el1, actlr_el1, cpacr_el1;
    uint64_t ttbr0_el1, ttbr1_el1, tcr_el1;
    uint64_t spsr_el1, elr_el1, sp_el0, sp_el1;
    uint64_t afsr0_el1, afsr1_el1, esr_el1, far_el1, par_el1;
    uint64_t mair_el1, amair_el1, vbar_el1, contextidr_el1;
    uint64_t tpidr_el1, tpidr_el0, tpidrro_el0;
    uint64_t cntkctl_el1, csselr_el1;
    uint64_t cntv_ctl_el0, cntv_cval_el0;
    uint64_t cntp_ctl_el0, cntp_cval_el0;
    uint64_t mdscr_el1, mdccint_el1;
    uint64_t dbgbvr[16], dbgbcr[16], dbgwvr[16], dbgwcr[16];
    uint64_t apiakey[2], apibkey[2], apdakey[2], apdbkey[2], apgakey[2];
    uint64_t midr_el1, mpidr_el1;
    /* ID registers as the guest reads them (from the vCPU configuration). */
    uint64_t id_aa64pfr0_el1, id_aa64pfr1_el1, id_aa64dfr0_el1, id_aa64dfr1_el1;
    uint64_t id_aa64isar0_el1, id_aa64isar1_el1;
    uint64_t id_aa64mmfr0_el1, id_aa64mmfr1_el1, id_aa64mmfr2_el1;
};

struct a64_state {
    uint64_t x[31];        /* offset 0: X0..X30 */
    uint64_t sp;           /* the SP of the current EL/SPSel (mirrored to sp_el0/sp_el1 on switch) */
    uint64_t pc;
    uint64_t pstate;       /* NZCV, DAIF, CurrentEL, SPSel as an SPSR-format value */
    uint64_t fpcr, fpsr;
    a64_vreg_t v[32];
    struct a64_sysregs sys;
    /* Exclusive monitor of the soft CPU (LDXR/STXR): reserved address, or
     * UINT64_MAX when open, and the value loaded (pairs use both words). */
    uint64_t excl_addr;
    uint64_t excl_size;
    alignas(16) uint64_t excl_val[2];
};

/* The stored SP a mode uses while it is not current: SP_EL0 for EL0t/EL1t, SP_EL1
 * for EL1h. `sp` always holds the current one. */
static inline uint64_t *a64_sp_slot(struct a64_state *st, uint64_t mode)
{
    return (mode & A64_PSTATE_M_MASK) == A64_PSTATE_EL1H ? &st->sys.sp_el1 : &st->sys.sp_el0;
}

/* Change PSTATE (mode included), banking SP between the modes. */
static inline void a64_set_pstate(struct a64_state *st, uint64_t pstate)
{
    uint64_t *from = a64_sp_slot(st, st->pstate), *to = a64_sp_slot(st, pstate);
    if (from != to) {
        *from = st->sp;
        st->sp = *to;
    }
    st->pstate = pstate;
}

/* SP_EL0 or SP_EL1 as software reads it: `sp` when that one is current. */
static inline uint64_t *a64_sp_el(struct a64_state *st, unsigned el)
{
    uint64_t *slot = el ? &st->sys.sp_el1 : &st->sys.sp_el0;
    return slot == a64_sp_slot(st, st->pstate) ? &st->sp : slot;
}

_Static_assert(offsetof(struct a64_state, x) == 0, "x pinned at 0 for generated code");
_Static_assert(offsetof(struct a64_state, sp) == 248, "sp pinned after x30");
_Static_assert(offsetof(struct a64_state, pc) == 256, "pc pinned after sp");
_Static_assert(offsetof(struct a64_state, v) % 16 == 0, "vector registers 16-byte aligned");

#endif /* ANYHV_CORE_A64_STATE_H */
