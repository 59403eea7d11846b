/* gic_dist.c - the GICv3 distributor frame (GICD_*) and the SPI input lines, plus
 * the per-INTID register blocks (IGROUPR .. ICFGR) it shares with the redistributor's
 * SGI frame. Affinity routing is always on, so the distributor's copies of the
 * private INTIDs (0-31) are RAZ/WI, and ITARGETSR/SGIR do nothing (GIC v3 spec 12.9). */
#include "core/arm64/gic.h"

/* Offsets of the per-INTID blocks (same in GICD and GICR_SGI_base). */
#define R_IGROUPR 0x0080u
#define R_ISENABLER 0x0100u
#define R_ICENABLER 0x0180u
#define R_ISPENDR 0x0200u
#define R_ICPENDR 0x0280u
#define R_ISACTIVER 0x0300u
#define R_ICACTIVER 0x0380u
#define R_IPRIORITYR 0x0400u
#define R_IPRIORITYR_END 0x0800u
#define R_ICFGR 0x0c00u
#define R_ICFGR_END 0x0d00u
#define R_BLOCK_BYTES 0x80u   /* one bit per INTID: 1024 INTIDs */

/* Distributor registers. */
#define D_CTLR 0x0000u
#define D_TYPER 0x0004u
#define D_IIDR 0x0008u
#define D_TYPER2 0x000cu
#define D_SETSPI_NSR 0x0040u
#define D_CLRSPI_NSR 0x0048u
#define D_IROUTER 0x6000u
#define D_IROUTER_END 0x8000u
#define D_PIDR2 0xffe8u

#define CTLR_ENABLE_GRP0 (1u << 0)
#define CTLR_ENABLE_GRP1 (1u << 1)
#define CTLR_ARE (1u << 4)            /* affinity routing: always on */
#define CTLR_DS (1u << 6)             /* single security state: always */
#define CTLR_WRITABLE (CTLR_ENABLE_GRP0 | CTLR_ENABLE_GRP1)
#define TYPER_ITLINES ((GIC_NR_IRQS / 32u) - 1u)
#define TYPER_MBIS (1u << 16)         /* SETSPI/CLRSPI registers present */
#define TYPER_IDBITS (9u << 19)       /* 10 INTID bits */
#define TYPER_NO1N (1u << 25)         /* no 1-of-N SPI routing */
#define IIDR_ANYHV 0x0000043bu        /* implementer Arm (0x43b), product 0 */
#define PIDR2_GICV3 0x30u             /* ArchRev 3 */
#define IROUTER_MASK 0x000000ff80ffffffull   /* Aff3, IRM, Aff2, Aff1, Aff0 */

void gic_changed(struct gic *g)
{
    atomic_fetch_add_explicit(&g->gen, 1, memory_order_release);
}

/* One bit-per-INTID register: bit i of the value is INTID base + i. */
static uint32_t bits_read(struct gic *g, uint32_t cpu, uint32_t base, uint32_t first, uint32_t count, uint32_t reg)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t intid = base + i;
        if (intid < first || intid >= count)
            continue;
        const struct gic_irq *irq = gic_irq_at(g, cpu, intid);
        bool set = reg == R_IGROUPR                             ? (irq->flags & GI_GROUP1)
                   : reg == R_ISENABLER || reg == R_ICENABLER ? (irq->flags & GI_ENABLED)
                   : reg == R_ISPENDR || reg == R_ICPENDR     ? gic_irq_pending(irq)
                                                              : (irq->flags & GI_ACTIVE);
        v |= set ? 1u << i : 0;
    }
    return v;
}

static void bits_write(struct gic *g, uint32_t cpu, uint32_t base, uint32_t first, uint32_t count, uint32_t reg,
                       uint32_t v)
{
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t intid = base + i;
        bool bit = (v >> i) & 1u;
        if (intid < first || intid >= count || (!bit && reg != R_IGROUPR))
            continue;
        struct gic_irq *irq = gic_irq_at(g, cpu, intid);
        switch (reg) {
        case R_IGROUPR: irq->flags = (uint8_t)(bit ? irq->flags | GI_GROUP1 : irq->flags & ~GI_GROUP1); break;
        case R_ISENABLER: irq->flags |= GI_ENABLED; break;
        case R_ICENABLER: irq->flags &= (uint8_t)~GI_ENABLED; break;
        case R_ISPENDR: irq->flags |= GI_PENDING; break;
        case R_ICPENDR: irq->flags &= (uint8_t)~GI_PENDING; break;   /* a high line stays pending */
        case R_ISACTIVER: irq->flags |= GI_ACTIVE; break;
        default: irq->flags &= (uint8_t)~GI_ACTIVE; break;
        }
    }
    gic_changed(g);
}

/* ICFGR: two bits per INTID, bit 1 of each pair = edge; SGIs are always edge. */
static uint32_t cfg_read(struct gic *g, uint32_t cpu, uint32_t base, uint32_t first, uint32_t count)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t intid = base + i;
        if (intid >= first && intid < count && (gic_irq_at(g, cpu, intid)->flags & GI_EDGE))
            v |= 2u << (2 * i);
    }
    return v;
}

static void cfg_write(struct gic *g, uint32_t cpu, uint32_t base, uint32_t first, uint32_t count, uint32_t v)
{
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t intid = base + i;
        if (intid < first || intid >= count || intid < GIC_NR_SGIS)
            continue;
        struct gic_irq *irq = gic_irq_at(g, cpu, intid);
        irq->flags = (uint8_t)((v >> (2 * i + 1)) & 1u ? irq->flags | GI_EDGE : irq->flags & ~GI_EDGE);
    }
    gic_changed(g);
}

bool gic_irqreg_read(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint32_t first, uint32_t count,
                     uint64_t *value)
{
    if (off >= R_IPRIORITYR && off < R_IPRIORITYR_END) {
        uint64_t v = 0;
        for (unsigned b = 0; b < size; b++) {
            uint32_t intid = off - R_IPRIORITYR + b;
            if (intid >= first && intid < count)
                v |= (uint64_t)gic_irq_at(g, cpu, intid)->prio << (8 * b);
        }
        *value = v;
        return true;
    }
    if (size != 4)
        return false;
    if (off >= R_IGROUPR && off < R_IPRIORITYR) {
        uint32_t reg = off & ~(R_BLOCK_BYTES - 1u);
        *value = bits_read(g, cpu, (off - reg) * 8u, first, count, reg);
        return true;
    }
    if (off >= R_ICFGR && off < R_ICFGR_END) {
        *value = cfg_read(g, cpu, (off - R_ICFGR) * 4u, first, count);
        return true;
    }
    return false;
}

bool gic_irqreg_write(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint32_t first, uint32_t count,
                      uint64_t value)
{
    if (off >= R_IPRIORITYR && off < R_IPRIORITYR_END) {
        for (unsigned b = 0; b < size; b++) {
            uint32_t intid = off - R_IPRIORITYR + b;
            if (intid >= first && intid < count)
                gic_irq_at(g, cpu, intid)->prio = (uint8_t)((value >> (8 * b)) & GIC_PRIO_MASK);
        }
        gic_changed(g);
        return true;
    }
    if (size != 4)
        return false;
    if (off >= R_IGROUPR && off < R_IPRIORITYR) {
        uint32_t reg = off & ~(R_BLOCK_BYTES - 1u);
        bits_write(g, cpu, (off - reg) * 8u, first, count, reg, (uint32_t)value);
        return true;
    }
    if (off >= R_ICFGR && off < R_ICFGR_END) {
        cfg_write(g, cpu, (off - R_ICFGR) * 4u, first, count, (uint32_t)value);
        return true;
    }
    return false;
}

void gic_spi_set_line(struct gic *g, uint32_t intid, bool level)
{
    struct gic_irq *irq = &g->spi[intid - GIC_SPI_BASE];
    if (irq->flags & GI_EDGE) {
        if (level)
            irq->flags |= GI_PENDING;   /* an edge; a low level on an edge input is nothing */
    } else {
        irq->flags = (uint8_t)(level ? irq->flags | GI_LINE : irq->flags & ~GI_LINE);
    }
    gic_changed(g);
}

static uint64_t dist_typer(const struct gic *g)
{
    return TYPER_ITLINES | TYPER_IDBITS | TYPER_NO1N | (g->msi_enabled ? TYPER_MBIS : 0);
}

bool gic_dist_read(struct gic *g, struct vm *vm, uint32_t off, unsigned size, uint64_t *value)
{
    (void)vm;
    if (off >= D_IROUTER && off < D_IROUTER_END) {
        uint32_t n = (off - D_IROUTER) / 8u;
        uint64_t v = n >= GIC_SPI_BASE && n < GIC_NR_IRQS ? g->irouter[n - GIC_SPI_BASE] : 0;
        *value = off & 4u ? v >> 32 : (size == 8 ? v : (uint32_t)v);
        return size == 8 ? (off & 7u) == 0 : size == 4;
    }
    if (gic_irqreg_read(g, 0, off, size, GIC_SPI_BASE, GIC_NR_IRQS, value))
        return true;
    if (size != 4)
        return false;
    switch (off) {
    case D_CTLR: *value = g->dist_ctlr | CTLR_ARE | CTLR_DS; return true;
    case D_TYPER: *value = dist_typer(g); return true;
    case D_IIDR: *value = IIDR_ANYHV; return true;
    case D_PIDR2: *value = PIDR2_GICV3; return true;
    default: *value = 0; return true;   /* reserved and unimplemented: RAZ */
    }
}

bool gic_dist_write(struct gic *g, uint32_t off, unsigned size, uint64_t value)
{
    if (off >= D_IROUTER && off < D_IROUTER_END) {
        uint32_t n = (off - D_IROUTER) / 8u;
        if (n < GIC_SPI_BASE || n >= GIC_NR_IRQS)
            return true;
        uint64_t *r = &g->irouter[n - GIC_SPI_BASE];
        if (size == 8 && (off & 7u) == 0)
            *r = value & IROUTER_MASK;
        else if (size == 4)
            *r = (off & 4u) ? ((*r & 0xffffffffull) | (value << 32)) & IROUTER_MASK
                            : ((*r & ~0xffffffffull) | (uint32_t)value) & IROUTER_MASK;
        else
            return false;
        gic_changed(g);
        return true;
    }
    if (gic_irqreg_write(g, 0, off, size, GIC_SPI_BASE, GIC_NR_IRQS, value))
        return true;
    if (size != 4)
        return false;
    switch (off) {
    case D_CTLR:
        g->dist_ctlr = (uint32_t)value & CTLR_WRITABLE;
        gic_changed(g);
        return true;
    case D_SETSPI_NSR:
    case D_CLRSPI_NSR: {
        uint32_t intid = (uint32_t)value & 0x3ffu;
        if (g->msi_enabled && intid >= GIC_SPI_BASE && intid < GIC_NR_IRQS) {
            struct gic_irq *irq = &g->spi[intid - GIC_SPI_BASE];
            irq->flags = (uint8_t)(off == D_SETSPI_NSR ? irq->flags | GI_PENDING : irq->flags & ~GI_PENDING);
            gic_changed(g);
        }
        return true;
    }
    default:
        return true;   /* read-only and reserved: WI */
    }
}
