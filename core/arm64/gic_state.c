/* gic_state.c - reset and the saved-state blob of the GIC: the distributor, every
 * redistributor and the SPI lines, not the ICC registers (a VMM saves those per vCPU
 * with hv_gic_get_icc_reg(), as on macOS). The blob is a versioned, fixed-size
 * little-endian image checked field by field on restore. */
#include "core/arm64/gic.h"

#include <string.h>

#define BLOB_MAGIC 0x43494741u   /* "AGIC" */
#define BLOB_VERSION 1u

struct saved_cpu {
    struct gic_irq priv[GIC_NR_PRIVATE];
    uint32_t waker;
};

struct blob {
    uint32_t magic;
    uint32_t version;
    uint32_t size;
    uint32_t nvcpus;
    uint32_t dist_ctlr;
    uint32_t pad;
    uint64_t irouter[GIC_SPI_COUNT];
    struct gic_irq spi[GIC_SPI_COUNT];
    struct saved_cpu cpu[ANYHV_MAX_VCPUS];
};

/* Distributor and redistributors to their reset state; ICC registers are kept. */
void gic_reset(struct gic *g)
{
    g->dist_ctlr = 0;
    memset(g->spi, 0, sizeof(g->spi));
    memset(g->irouter, 0, sizeof(g->irouter));
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct gic_cpu *c = &g->cpu[i], keep = *c;
        gic_cpu_reset(c);
        c->pmr = keep.pmr;
        c->bpr0 = keep.bpr0;
        c->bpr1 = keep.bpr1;
        c->ctlr = keep.ctlr;
        c->igrpen0 = keep.igrpen0;
        c->igrpen1 = keep.igrpen1;
        c->ap0r = keep.ap0r;
        c->ap1r = keep.ap1r;
        c->cached_gen = keep.cached_gen;
    }
    gic_changed(g);
}

size_t gic_state_size(void)
{
    return sizeof(struct blob);
}

void gic_state_save(struct gic *g, uint32_t nvcpus, void *out)
{
    struct blob *b = out;
    memset(b, 0, sizeof(*b));
    b->magic = BLOB_MAGIC;
    b->version = BLOB_VERSION;
    b->size = (uint32_t)sizeof(*b);
    b->nvcpus = nvcpus;
    b->dist_ctlr = g->dist_ctlr;
    memcpy(b->irouter, g->irouter, sizeof(b->irouter));
    memcpy(b->spi, g->spi, sizeof(b->spi));
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        memcpy(b->cpu[i].priv, g->cpu[i].priv, sizeof(b->cpu[i].priv));
        b->cpu[i].waker = g->cpu[i].waker;
    }
}

bool gic_state_load(struct gic *g, uint32_t nvcpus, const void *in, size_t size)
{
    const struct blob *b = in;
    if (size < sizeof(*b) || b->magic != BLOB_MAGIC || b->version != BLOB_VERSION || b->size != sizeof(*b) ||
        b->nvcpus != nvcpus)
        return false;
    g->dist_ctlr = b->dist_ctlr & 3u;
    memcpy(g->irouter, b->irouter, sizeof(g->irouter));
    memcpy(g->spi, b->spi, sizeof(g->spi));
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        memcpy(g->cpu[i].priv, b->cpu[i].priv, sizeof(g->cpu[i].priv));
        g->cpu[i].waker = b->cpu[i].waker & (1u << 1);
        g->cpu[i].vtimer_level = (g->cpu[i].priv[GIC_INTID_VTIMER].flags & GI_LINE) != 0;
    }
    gic_changed(g);
    return true;
}
