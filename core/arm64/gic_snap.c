/* gic_snap.c - the in-framework GIC in a snapshot (core/snapshot.c, struct
 * vm_devstate_ops): the state blob Apple's hv_gic_state_* calls carry (distributor,
 * redistributors, SPI lines: gic_state.c) plus what a VMM would otherwise save per vCPU
 * with hv_gic_get_icc_reg() - every CPU interface's ICC registers and active
 * priorities - so a guest interrupted in a handler restores with the same running
 * priority. The frame addresses and the MSI range are configuration, not state: the
 * VM being restored must have been given the same ones (hv_gic_create), else the file
 * is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arm64/gic.h"

#define GIC_SNAP_TAG 0x43494741u   /* "AGIC" */
#define GIC_SNAP_VERSION 1u

struct snap_config {
    uint64_t dist_base, redist_base, msi_base;
    uint32_t msi_enabled, msi_intid_base, msi_intid_count, pad;
};

struct snap_icc {
    uint64_t pmr, bpr0, bpr1, ctlr, igrpen0, igrpen1;
    uint32_t ap0r, ap1r;
};

struct snap_head {
    uint32_t version, blob_size;
    struct snap_config config;
    struct snap_icc icc[ANYHV_MAX_VCPUS];
};

static size_t snap_size(struct vm *vm)
{
    (void)vm;
    return sizeof(struct snap_head) + gic_state_size();
}

static struct snap_config config_of(const struct gic *g)
{
    return (struct snap_config){ .dist_base = g->dist_base, .redist_base = g->redist_base, .msi_base = g->msi_base,
                                 .msi_enabled = g->msi_enabled, .msi_intid_base = g->msi_intid_base,
                                 .msi_intid_count = g->msi_intid_count };
}

static void snap_save(struct vm *vm, void *out)
{
    struct gic *g = gic_of(vm);
    struct snap_head h = { .version = GIC_SNAP_VERSION, .blob_size = (uint32_t)gic_state_size() };
    pthread_mutex_lock(&g->lock);
    h.config = config_of(g);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        const struct gic_cpu *c = &g->cpu[i];
        h.icc[i] = (struct snap_icc){ c->pmr, c->bpr0, c->bpr1, c->ctlr, c->igrpen0, c->igrpen1, c->ap0r, c->ap1r };
    }
    memcpy(out, &h, sizeof(h));
    gic_state_save(g, vm->vcpu_count, (uint8_t *)out + sizeof(h));
    pthread_mutex_unlock(&g->lock);
}

static bool refuse(char *err, size_t errlen, const char *what)
{
    if (err)
        snprintf(err, errlen, "%s", what);
    return false;
}

/* gic_state_load checks and loads in one step: it runs on a scratch copy first. */
static bool snap_restore(struct vm *vm, const void *bytes, size_t size, bool apply, char *err, size_t errlen)
{
    struct gic *g = gic_of(vm);
    struct snap_head h;
    if (size != sizeof(h) + gic_state_size())
        return refuse(err, errlen, "GIC section of another size (another anyhv build)");
    memcpy(&h, bytes, sizeof(h));
    struct snap_config mine = config_of(g);
    if (h.version != GIC_SNAP_VERSION)
        return refuse(err, errlen, "GIC state written by another anyhv version");
    if (memcmp(&h.config, &mine, sizeof(mine)) != 0)
        return refuse(err, errlen, "the GIC's frame addresses or MSI range differ from this VM's");
    struct gic *scratch = malloc(sizeof(*scratch));
    if (!scratch)
        return refuse(err, errlen, "no memory to check the GIC state");
    pthread_mutex_lock(&g->lock);
    memcpy(scratch, g, sizeof(*scratch));   /* its lock is never used */
    bool ok = gic_state_load(scratch, vm->vcpu_count, (const uint8_t *)bytes + sizeof(h), gic_state_size());
    if (ok && apply) {
        gic_state_load(g, vm->vcpu_count, (const uint8_t *)bytes + sizeof(h), gic_state_size());
        for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
            struct gic_cpu *c = &g->cpu[i];
            const struct snap_icc *s = &h.icc[i];
            c->pmr = s->pmr & GIC_PRIO_MASK;
            c->bpr0 = s->bpr0;
            c->bpr1 = s->bpr1;
            c->ctlr = s->ctlr;
            c->igrpen0 = s->igrpen0 & 1;
            c->igrpen1 = s->igrpen1 & 1;
            c->ap0r = s->ap0r;
            c->ap1r = s->ap1r;
        }
        gic_changed(g);
    }
    pthread_mutex_unlock(&g->lock);
    free(scratch);
    return ok || refuse(err, errlen, "GIC state blob refused (another version or vCPU count)");
}

static pthread_mutex_t *snap_lock(struct vm *vm)
{
    return &gic_of(vm)->lock;
}

const struct vm_devstate_ops gic_devstate = {
    .tag = GIC_SNAP_TAG,
    .size = snap_size,
    .save = snap_save,
    .restore = snap_restore,
    .lock = snap_lock,
};
