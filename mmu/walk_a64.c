/* walk_a64.c - the VMSAv8-64 stage-1 table walk of the EL1&0 regime. Hostile page
 * tables get the architectural fault (translation, access flag, address size at
 * the right level); every descriptor is read through mmu_phys_read (stage 2). */
#include "mmu/walk_a64.h"

#include "mmu/mmu.h"

#define SCTLR_M (1ull << 0)
#define SCTLR_WXN (1ull << 19)
/* TCR_EL1 fields. */
#define TCR_T0SZ(t) ((unsigned)((t) & 0x3f))
#define TCR_EPD0 (1ull << 7)
#define TCR_TG0(t) ((unsigned)(((t) >> 14) & 3))
#define TCR_T1SZ(t) ((unsigned)(((t) >> 16) & 0x3f))
#define TCR_A1 (1ull << 22)
#define TCR_EPD1 (1ull << 23)
#define TCR_TG1(t) ((unsigned)(((t) >> 30) & 3))
#define TCR_IPS(t) ((unsigned)(((t) >> 32) & 7))
#define TCR_AS (1ull << 36)
#define TCR_TBI0 (1ull << 37)
#define TCR_TBI1 (1ull << 38)
#define TXSZ_MIN 16u
#define TXSZ_MAX 39u
/* Descriptor fields. */
#define DESC_VALID 1ull
#define DESC_TABLE 2ull           /* bit 1: table (levels 0-2) or page (level 3) */
#define DESC_AP1 (1ull << 6)      /* EL0 access */
#define DESC_AP2 (1ull << 7)      /* read-only */
#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define TABLE_PXN (1ull << 59)
#define TABLE_UXN (1ull << 60)
#define TABLE_AP0 (1ull << 61)    /* no EL0 access below */
#define TABLE_AP1 (1ull << 62)    /* read-only below */
#define OA_MASK 0x0000fffffffff000ull   /* output address bits 47:12 */
#define TTBR_BADDR_MASK 0x0000fffffffffffeull
#define TTBR_ASID_SHIFT 48
#define PA_BITS_MAX 48u
#define RWX (MMU_READ | MMU_WRITE | MMU_FETCH)

static const unsigned ips_bits[8] = { 32, 36, 40, 42, 44, 48, 48, 48 };

uint32_t a64_walk_fsc(enum a64_walk_fault f, int level)
{
    uint32_t lv = (uint32_t)(level < 0 ? 0 : level) & 3u;
    switch (f) {
    case A64_WALK_ADDR_SIZE: return A64_FSC_ADDR_SIZE | lv;
    case A64_WALK_ACCESS_FLAG: return A64_FSC_ACCESS_FLAG | lv;
    default: return A64_FSC_TRANSLATION | lv;
    }
}

uint16_t a64_current_asid(const struct a64_walk_regs *r)
{
    uint64_t ttbr = (r->tcr & TCR_A1) ? r->ttbr1 : r->ttbr0;
    uint16_t asid = (uint16_t)(ttbr >> TTBR_ASID_SHIFT);
    return (r->tcr & TCR_AS) ? asid : (uint16_t)(asid & 0xff);
}

/* Granule size log2 from TG0/TG1 (reserved encodings act as 4 KiB). */
static unsigned granule_log2(unsigned tg, bool ttbr1)
{
    if (!ttbr1)
        return tg == 1 ? 16 : tg == 2 ? 14 : 12;
    return tg == 1 ? 14 : tg == 3 ? 16 : 12;
}

static void fault(struct a64_walk_result *out, enum a64_walk_fault f, int level)
{
    out->fault = f;
    out->level = level;
}

/* Stage 1 off: flat mapping, everything allowed, limited by the PA size. */
static void walk_off(uint64_t va, struct a64_walk_result *out)
{
    if (va >> PA_BITS_MAX) {
        fault(out, A64_WALK_ADDR_SIZE, 0);
        return;
    }
    out->pa = va;
    out->perms_el1 = out->perms_el0 = RWX;
    out->global = true;
    out->block_log2 = 12;
}

static void leaf_perms(const struct a64_walk_regs *r, uint64_t desc, uint64_t table_attrs,
                       struct a64_walk_result *out)
{
    bool el0 = (desc & DESC_AP1) && !(table_attrs & TABLE_AP0);
    bool ro = (desc & DESC_AP2) || (table_attrs & TABLE_AP1);
    bool uxn = (desc & DESC_UXN) || (table_attrs & TABLE_UXN);
    bool pxn = (desc & DESC_PXN) || (table_attrs & TABLE_PXN);
    bool wxn = (r->sctlr & SCTLR_WXN) != 0;
    uint32_t el1 = MMU_READ | (ro ? 0 : MMU_WRITE);
    uint32_t el0p = el0 ? (MMU_READ | (ro ? 0 : MMU_WRITE)) : 0;
    /* A region writable at EL0 is never executable at EL1; WXN makes writable XN. */
    if (!pxn && !(el0p & MMU_WRITE) && !(wxn && (el1 & MMU_WRITE)))
        el1 |= MMU_FETCH;
    if (!uxn && !(wxn && (el0p & MMU_WRITE)))
        el0p |= MMU_FETCH;
    out->perms_el1 = el1;
    out->perms_el0 = el0p;
}

void a64_walk(const struct pmap *pm, const struct a64_walk_regs *r, uint64_t va, struct a64_walk_result *out)
{
    *out = (struct a64_walk_result){ .fault = A64_WALK_OK };
    if (!(r->sctlr & SCTLR_M)) {
        walk_off(va, out);
        return;
    }
    bool upper = (va >> 55) & 1;
    uint64_t tcr = r->tcr;
    unsigned txsz = upper ? TCR_T1SZ(tcr) : TCR_T0SZ(tcr);
    txsz = txsz < TXSZ_MIN ? TXSZ_MIN : txsz > TXSZ_MAX ? TXSZ_MAX : txsz;
    unsigned inputsize = 64 - txsz;
    bool tbi = (tcr & (upper ? TCR_TBI1 : TCR_TBI0)) != 0;
    unsigned top = tbi ? 55 : 63;
    /* Bits top..inputsize must all equal the selecting bit. */
    uint64_t hi_mask = (1ull << (top + 1 - inputsize)) - 1;
    uint64_t hi = (va >> inputsize) & hi_mask;
    if (hi != (upper ? hi_mask : 0) || (tcr & (upper ? TCR_EPD1 : TCR_EPD0))) {
        fault(out, A64_WALK_TRANSLATION, 0);
        return;
    }
    unsigned grain = granule_log2(upper ? TCR_TG1(tcr) : TCR_TG0(tcr), upper);
    unsigned stride = grain - 3;
    int level = 4 - (int)((inputsize - grain + stride - 1) / stride);
    unsigned pa_bits = ips_bits[TCR_IPS(tcr)];
    uint64_t pa_limit_mask = ~((1ull << pa_bits) - 1);
    uint64_t ttbr = upper ? r->ttbr1 : r->ttbr0;
    uint64_t table = ttbr & TTBR_BADDR_MASK;
    /* The first table holds 2^(inputsize - shift) entries, aligned to its size. */
    unsigned first_shift = grain + (unsigned)(3 - level) * stride;
    unsigned first_bits = inputsize - first_shift;
    table &= ~((8ull << first_bits) - 1);
    if (table & pa_limit_mask) {
        fault(out, A64_WALK_ADDR_SIZE, level);
        return;
    }
    uint64_t table_attrs = 0;
    for (;; level++) {
        unsigned shift = grain + (unsigned)(3 - level) * stride;
        unsigned bits = shift == first_shift ? first_bits : stride;
        uint64_t index = (va >> shift) & ((1ull << bits) - 1);
        uint64_t desc_addr = table + index * 8;
        uint64_t desc;
        if (!mmu_phys_read(pm, desc_addr, &desc, sizeof(desc))) {
            out->s2_addr = desc_addr;
            fault(out, A64_WALK_STAGE2, level);
            return;
        }
        if (!(desc & DESC_VALID)) {
            fault(out, A64_WALK_TRANSLATION, level);
            return;
        }
        uint64_t oa_mask = OA_MASK & ~((1ull << grain) - 1);
        if ((desc & DESC_TABLE) && level < 3) {
            table_attrs |= desc & (TABLE_PXN | TABLE_UXN | TABLE_AP0 | TABLE_AP1);
            table = desc & oa_mask;
            if (table & pa_limit_mask) {
                fault(out, A64_WALK_ADDR_SIZE, level);
                return;
            }
            continue;
        }
        /* Blocks: level 1 with 4 KiB granules, level 2 with any; pages at level 3. */
        bool block_ok = level == 2 || (level == 1 && grain == 12);
        if (level < 3 && !block_ok) {
            fault(out, A64_WALK_TRANSLATION, level);
            return;
        }
        if (level == 3 && !(desc & DESC_TABLE)) {
            fault(out, A64_WALK_TRANSLATION, level);
            return;
        }
        uint64_t size_mask = (1ull << shift) - 1;
        uint64_t oa = desc & OA_MASK & ~size_mask;
        if (oa & pa_limit_mask) {
            fault(out, A64_WALK_ADDR_SIZE, level);
            return;
        }
        out->level = level;
        if (!(desc & DESC_AF)) {
            fault(out, A64_WALK_ACCESS_FLAG, level);
            return;
        }
        out->pa = oa | (va & size_mask);
        out->block_log2 = shift;
        out->global = !(desc & DESC_NG);
        out->asid = a64_current_asid(r);
        leaf_perms(r, desc, table_attrs, out);
        return;
    }
}
