/* Apple-silicon flavour: the in-framework GIC's configuration, geometry, creation,
 * SPI/MSI injection, reset and state objects, and the glue that hands the model to
 * the soft CPU (struct irqchip_ops: ICC registers, frame accesses, lines, vtimer).
 * Register access calls are in api_gic_regs.c; the model is gic_*.c. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <stdlib.h>
#include <string.h>

#include "core/arm64/a64.h"
#include "core/arm64/gic.h"

struct a64_gic_config {
    struct a64_object obj;
    hv_ipa_t dist, redist, msi;
    bool dist_set, redist_set, msi_set, range_set;
    uint32_t msi_base, msi_count;
};

struct a64_gic_state {
    struct a64_object obj;
    size_t size;
    uint8_t data[];
};

#define REDIST_REGION_SIZE ((uint64_t)ANYHV_MAX_VCPUS * GIC_REDIST_SIZE)

struct gic *gic_of(const struct vm *vm)
{
    return vm && atomic_load(&vm->irqchip) ? vm->irqchip_data : NULL;
}

/* ---- the soft CPU's view (struct irqchip_ops) ---- */

static bool chip_sysreg(struct vcpu *v, uint32_t id, bool write, uint64_t *value)
{
    struct gic *g = v->vm->irqchip_data;
    pthread_mutex_lock(&g->lock);
    bool ok = write ? gic_icc_write(g, v->vm, v->id, id, *value) : gic_icc_read(g, v->vm, v->id, id, value);
    pthread_mutex_unlock(&g->lock);
    return ok;
}

static bool in_frame(uint64_t gpa, uint64_t base, uint64_t size)
{
    return gpa >= base && gpa - base < size;
}

/* A guest access inside one of the frames; false for other addresses and for
 * accesses the frames do not define (the VMM then sees the abort). */
static bool chip_mmio(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *value)
{
    struct gic *g = v->vm->irqchip_data;
    if (gpa & (size - 1u))
        return false;   /* GIC registers are only accessed naturally aligned */
    bool ok = false;
    pthread_mutex_lock(&g->lock);
    if (in_frame(gpa, g->dist_base, GIC_DIST_SIZE)) {
        uint32_t off = (uint32_t)(gpa - g->dist_base);
        ok = write ? gic_dist_write(g, off, size, *value) : gic_dist_read(g, v->vm, off, size, value);
    } else if (in_frame(gpa, g->redist_base, REDIST_REGION_SIZE)) {
        uint32_t cpu = (uint32_t)((gpa - g->redist_base) / GIC_REDIST_SIZE);
        uint32_t off = (uint32_t)((gpa - g->redist_base) % GIC_REDIST_SIZE);
        if (!atomic_load(&v->vm->vcpus[cpu]))
            ok = (*value = write ? *value : 0, true);   /* no vCPU behind it: RAZ/WI */
        else
            ok = write ? gic_redist_write(g, cpu, off, size, *value)
                       : gic_redist_read(g, v->vm, cpu, off, size, value);
    } else if (g->msi_enabled && in_frame(gpa, g->msi_base, GIC_MSI_SIZE)) {
        uint32_t off = (uint32_t)(gpa - g->msi_base);
        ok = write ? gic_msi_write(g, off, size, *value) : gic_msi_read(g, off, size, value);
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

static unsigned chip_lines(struct vcpu *v)
{
    return gic_lines(v->vm->irqchip_data, v);
}

static void chip_vtimer(struct vcpu *v, bool level)
{
    gic_vtimer(v->vm->irqchip_data, v, level);
}

static void chip_destroy(struct vm *vm)
{
    struct gic *g = vm->irqchip_data;
    atomic_store(&vm->irqchip, NULL);
    vm->irqchip_data = NULL;
    vm->devstate = NULL;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static const struct irqchip_ops gic_ops = {
    .sysreg = chip_sysreg,
    .mmio = chip_mmio,
    .lines = chip_lines,
    .vtimer = chip_vtimer,
    .destroy = chip_destroy,
};

/* ---- configuration ---- */

static struct a64_gic_config *config_of(hv_gic_config_t c)
{
    struct a64_gic_config *p = (struct a64_gic_config *)c;
    return p && p->obj.kind == A64_OBJ_GIC_CONFIG ? p : NULL;
}

hv_gic_config_t hv_gic_config_create(void)
{
    struct a64_gic_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->obj.kind = A64_OBJ_GIC_CONFIG;
    atomic_init(&c->obj.refs, 1);
    return (hv_gic_config_t)c;
}

static hv_return_t set_base(hv_gic_config_t config, hv_ipa_t base, size_t offset_of_base, size_t offset_of_flag)
{
    struct a64_gic_config *c = config_of(config);
    if (!c || (base & (GIC_FRAME_ALIGN - 1)))
        return HV_BAD_ARGUMENT;
    memcpy((uint8_t *)c + offset_of_base, &base, sizeof(base));
    *((bool *)((uint8_t *)c + offset_of_flag)) = true;
    return HV_SUCCESS;
}

hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base_address)
{
    return set_base(config, distributor_base_address, offsetof(struct a64_gic_config, dist),
                    offsetof(struct a64_gic_config, dist_set));
}

hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config, hv_ipa_t redistributor_base_address)
{
    return set_base(config, redistributor_base_address, offsetof(struct a64_gic_config, redist),
                    offsetof(struct a64_gic_config, redist_set));
}

hv_return_t hv_gic_config_set_msi_region_base(hv_gic_config_t config, hv_ipa_t msi_region_base_address)
{
    return set_base(config, msi_region_base_address, offsetof(struct a64_gic_config, msi),
                    offsetof(struct a64_gic_config, msi_set));
}

hv_return_t hv_gic_config_set_msi_interrupt_range(hv_gic_config_t config, uint32_t msi_intid_base,
                                                  uint32_t msi_intid_count)
{
    struct a64_gic_config *c = config_of(config);
    if (!c || msi_intid_count == 0 || msi_intid_base < GIC_SPI_BASE || msi_intid_base >= GIC_NR_IRQS ||
        msi_intid_count > GIC_NR_IRQS - msi_intid_base)
        return HV_BAD_ARGUMENT;
    c->msi_base = msi_intid_base;
    c->msi_count = msi_intid_count;
    c->range_set = true;
    return HV_SUCCESS;
}

/* ---- geometry ---- */

static hv_return_t put_size(size_t *out, size_t v)
{
    if (!out)
        return HV_BAD_ARGUMENT;
    *out = v;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_distributor_size(size_t *v) { return put_size(v, GIC_DIST_SIZE); }
hv_return_t hv_gic_get_distributor_base_alignment(size_t *v) { return put_size(v, GIC_FRAME_ALIGN); }
hv_return_t hv_gic_get_redistributor_region_size(size_t *v) { return put_size(v, REDIST_REGION_SIZE); }
hv_return_t hv_gic_get_redistributor_size(size_t *v) { return put_size(v, GIC_REDIST_SIZE); }
hv_return_t hv_gic_get_redistributor_base_alignment(size_t *v) { return put_size(v, GIC_FRAME_ALIGN); }
hv_return_t hv_gic_get_msi_region_size(size_t *v) { return put_size(v, GIC_MSI_SIZE); }
hv_return_t hv_gic_get_msi_region_base_alignment(size_t *v) { return put_size(v, GIC_FRAME_ALIGN); }

hv_return_t hv_gic_get_spi_interrupt_range(uint32_t *spi_intid_base, uint32_t *spi_intid_count)
{
    if (!spi_intid_base || !spi_intid_count)
        return HV_BAD_ARGUMENT;
    *spi_intid_base = GIC_SPI_BASE;
    *spi_intid_count = GIC_SPI_COUNT;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_intid(hv_gic_intid_t interrupt, uint32_t *intid)
{
    if (!intid)
        return HV_BAD_ARGUMENT;
    switch (interrupt) {
    case HV_GIC_INT_PERFORMANCE_MONITOR:
    case HV_GIC_INT_MAINTENANCE:
    case HV_GIC_INT_EL2_PHYSICAL_TIMER:
    case HV_GIC_INT_EL1_VIRTUAL_TIMER:
    case HV_GIC_INT_EL1_PHYSICAL_TIMER:
        *intid = interrupt;   /* the architecture's recommended PPI numbers */
        return HV_SUCCESS;
    default:
        return HV_BAD_ARGUMENT;
    }
}

/* ---- the device ---- */

static bool overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
    return a < b + bsize && b < a + asize;
}

static bool config_valid(const struct a64_gic_config *c)
{
    if (!c->dist_set || !c->redist_set || overlap(c->dist, GIC_DIST_SIZE, c->redist, REDIST_REGION_SIZE))
        return false;
    return !c->msi_set || (!overlap(c->msi, GIC_MSI_SIZE, c->dist, GIC_DIST_SIZE) &&
                           !overlap(c->msi, GIC_MSI_SIZE, c->redist, REDIST_REGION_SIZE));
}

static struct gic *gic_new(const struct a64_gic_config *c)
{
    struct gic *g = calloc(1, sizeof(*g));
    if (!g || pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return NULL;
    }
    g->dist_base = c->dist;
    g->redist_base = c->redist;
    g->msi_base = c->msi;
    g->msi_enabled = c->msi_set && c->range_set;
    g->msi_intid_base = c->msi_base;
    g->msi_intid_count = c->msi_count;
    atomic_init(&g->gen, 1);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++)
        gic_cpu_reset(&g->cpu[i]);
    gic_reset(g);
    return g;
}

/* The VM-level calls run as <name>_held(vm_hold(), ...) then vm_release(): any
 * thread may make them, and hv_vm_destroy waits until they finish (after it, they
 * see no VM). Calls on an owned vCPU reach the GIC through the vCPU's VM, which the
 * vCPU pins. */
static hv_return_t gic_create_held(struct vm *vm, hv_gic_config_t gic_config)
{
    struct a64_gic_config *c = config_of(gic_config);
    if (!vm || vm->arch != GUEST_ARM64 || !c || !config_valid(c))
        return HV_BAD_ARGUMENT;
    if (strcmp(vm->be->name, "soft") != 0)
        return HV_UNSUPPORTED;   /* only the software route has the model */
    hv_return_t ret = HV_SUCCESS;
    pthread_mutex_lock(&vm->lock);
    if (atomic_load(&vm->irqchip)) {
        ret = HV_EXISTS;
    } else if (vm->vcpu_count) {
        ret = HV_BUSY;   /* the GIC must exist before the vCPUs */
    } else {
        struct gic *g = gic_new(c);
        if (!g) {
            ret = HV_NO_RESOURCES;
        } else {
            vm->irqchip_data = g;
            vm->devstate = &gic_devstate;
            atomic_store(&vm->irqchip, &gic_ops);
        }
    }
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

hv_return_t hv_gic_create(hv_gic_config_t gic_config)
{
    hv_return_t ret = gic_create_held(vm_hold(), gic_config);
    vm_release();
    return ret;
}

static hv_return_t gic_reset_held(struct vm *vm)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    pthread_mutex_lock(&g->lock);
    gic_reset(g);
    pthread_mutex_unlock(&g->lock);
    return HV_SUCCESS;
}

hv_return_t hv_gic_reset(void)
{
    hv_return_t ret = gic_reset_held(vm_hold());
    vm_release();
    return ret;
}

static hv_return_t set_spi_held(struct vm *vm, uint32_t intid, bool level)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    if (intid < GIC_SPI_BASE || intid >= GIC_NR_IRQS ||
        (g->msi_enabled && intid >= g->msi_intid_base && intid - g->msi_intid_base < g->msi_intid_count))
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&g->lock);
    gic_spi_set_line(g, intid, level);
    pthread_mutex_unlock(&g->lock);
    return HV_SUCCESS;
}

hv_return_t hv_gic_set_spi(uint32_t intid, bool level)
{
    hv_return_t ret = set_spi_held(vm_hold(), intid, level);
    vm_release();
    return ret;
}

#define MSI_SETSPI_NSR 0x40u

static hv_return_t send_msi_held(struct vm *vm, hv_ipa_t address, uint32_t intid)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    if (!g->msi_enabled || address != g->msi_base + MSI_SETSPI_NSR)
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&g->lock);
    bool ok = gic_msi_raise(g, intid);
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_gic_send_msi(hv_ipa_t address, uint32_t intid)
{
    hv_return_t ret = send_msi_held(vm_hold(), address, intid);
    vm_release();
    return ret;
}

/* ---- state ---- */

/* The VM's vCPU count, read under its lock (before the GIC's: never both). */
static uint32_t vcpu_count_of(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    uint32_t n = vm->vcpu_count;
    pthread_mutex_unlock(&vm->lock);
    return n;
}

static struct a64_gic_state *state_of(hv_gic_state_t s)
{
    struct a64_gic_state *p = (struct a64_gic_state *)s;
    return p && p->obj.kind == A64_OBJ_GIC_STATE ? p : NULL;
}

static hv_gic_state_t state_create_held(struct vm *vm)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return NULL;
    size_t size = gic_state_size();
    struct a64_gic_state *s = calloc(1, sizeof(*s) + size);
    if (!s)
        return NULL;
    s->obj.kind = A64_OBJ_GIC_STATE;
    atomic_init(&s->obj.refs, 1);
    s->size = size;
    uint32_t vcpus = vcpu_count_of(vm);
    pthread_mutex_lock(&g->lock);
    gic_state_save(g, vcpus, s->data);
    pthread_mutex_unlock(&g->lock);
    return (hv_gic_state_t)s;
}

hv_gic_state_t hv_gic_state_create(void)
{
    hv_gic_state_t s = state_create_held(vm_hold());
    vm_release();
    return s;
}

hv_return_t hv_gic_state_get_size(hv_gic_state_t state, size_t *size)
{
    struct a64_gic_state *s = state_of(state);
    if (!s || !size)
        return HV_BAD_ARGUMENT;
    *size = s->size;
    return HV_SUCCESS;
}

hv_return_t hv_gic_state_get_data(hv_gic_state_t state, void *state_data)
{
    struct a64_gic_state *s = state_of(state);
    if (!s || !state_data)
        return HV_BAD_ARGUMENT;
    memcpy(state_data, s->data, s->size);
    return HV_SUCCESS;
}

static hv_return_t set_state_held(struct vm *vm, const void *gic_state_data, size_t gic_state_size)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    if (!gic_state_data)
        return HV_BAD_ARGUMENT;
    uint32_t vcpus = vcpu_count_of(vm);
    pthread_mutex_lock(&g->lock);
    bool ok = gic_state_load(g, vcpus, gic_state_data, gic_state_size);
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_gic_set_state(const void *gic_state_data, size_t gic_state_size)
{
    hv_return_t ret = set_state_held(vm_hold(), gic_state_data, gic_state_size);
    vm_release();
    return ret;
}
