/* gic_msi.c - the MSI frame beside the GICv3: a GICv2m-style frame whose TYPER says
 * which SPIs it owns and whose SETSPI_NSR register raises one of them as an edge
 * (what a device's MSI write, or hv_gic_send_msi(), does). */
#include "core/arm64/gic.h"

#define M_TYPER 0x0008u
#define M_SETSPI_NSR 0x0040u
#define M_IIDR 0x0fccu
#define TYPER_BASE_SHIFT 16
#define TYPER_BASE_MASK 0x3ffu
#define TYPER_COUNT_MASK 0x3ffu
#define INTID_MASK 0x3ffu

bool gic_msi_raise(struct gic *g, uint32_t intid)
{
    if (!g->msi_enabled || intid < g->msi_intid_base || intid - g->msi_intid_base >= g->msi_intid_count)
        return false;
    g->spi[intid - GIC_SPI_BASE].flags |= GI_PENDING;
    gic_changed(g);
    return true;
}

bool gic_msi_read(struct gic *g, uint32_t off, unsigned size, uint64_t *value)
{
    if (size != 4)
        return false;
    if (off == M_TYPER && g->msi_enabled)
        *value = ((g->msi_intid_base & TYPER_BASE_MASK) << TYPER_BASE_SHIFT) | (g->msi_intid_count & TYPER_COUNT_MASK);
    else
        *value = 0;   /* SETSPI is write-only; the rest is reserved */
    return true;
}

bool gic_msi_write(struct gic *g, uint32_t off, unsigned size, uint64_t value)
{
    if (size != 4 && size != 2)
        return false;
    if (off == M_SETSPI_NSR)
        gic_msi_raise(g, (uint32_t)value & INTID_MASK);   /* outside the range: ignored */
    return true;
}
