/* gic_cpuif.c - the GICv3 CPU interface (ICC_*_EL1) of each vCPU and the choice of
 * what it signals: the highest-priority pending interrupt routed to the vCPU, of an
 * enabled group, above the priority mask and the running priority, raises IRQ
 * (group 1) or FIQ (group 0). Acknowledge (IAR), priority drop (EOIR), deactivation
 * (EOIR with EOImode 0, or DIR) and SGI generation (SGI0R/SGI1R) follow the GIC v3
 * spec chapter 4 and 12.2; active priorities are kept as AP0R0/AP1R0 bits, so the
 * running priority is the lowest set bit and a VMM can save and restore it. */
#include "core/arm64/gic.h"

#define SR(op0, op1, crn, crm, op2) ((uint32_t)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))
#define ICC_PMR SR(3, 0, 4, 6, 0)
#define ICC_IAR0 SR(3, 0, 12, 8, 0)
#define ICC_EOIR0 SR(3, 0, 12, 8, 1)
#define ICC_HPPIR0 SR(3, 0, 12, 8, 2)
#define ICC_BPR0 SR(3, 0, 12, 8, 3)
#define ICC_AP0R0 SR(3, 0, 12, 8, 4)
#define ICC_AP1R0 SR(3, 0, 12, 9, 0)
#define ICC_DIR SR(3, 0, 12, 11, 1)
#define ICC_RPR SR(3, 0, 12, 11, 3)
#define ICC_SGI1R SR(3, 0, 12, 11, 5)
#define ICC_ASGI1R SR(3, 0, 12, 11, 6)
#define ICC_SGI0R SR(3, 0, 12, 11, 7)
#define ICC_IAR1 SR(3, 0, 12, 12, 0)
#define ICC_EOIR1 SR(3, 0, 12, 12, 1)
#define ICC_HPPIR1 SR(3, 0, 12, 12, 2)
#define ICC_BPR1 SR(3, 0, 12, 12, 3)
#define ICC_CTLR SR(3, 0, 12, 12, 4)
#define ICC_SRE SR(3, 0, 12, 12, 5)
#define ICC_IGRPEN0 SR(3, 0, 12, 12, 6)
#define ICC_IGRPEN1 SR(3, 0, 12, 12, 7)
#define ICC_AP_FIRST SR(3, 0, 12, 8, 4)   /* AP0R0..3, AP1R0..3: only R0 implemented */
#define ICC_AP_LAST SR(3, 0, 12, 9, 3)

#define CTLR_CBPR (1u << 0)
#define CTLR_EOIMODE (1u << 1)
#define CTLR_PMHE (1u << 6)
#define CTLR_WRITABLE (CTLR_CBPR | CTLR_EOIMODE | CTLR_PMHE)
#define CTLR_PRIBITS (4u << 8)            /* 5 priority bits */
#define SRE_VALUE 0x7u                    /* SRE, DFB, DIB: system registers only */
#define BPR0_MIN 2u
#define BPR1_MIN 3u
#define DCTLR_GRP0 (1u << 0)
#define DCTLR_GRP1 (1u << 1)
#define IROUTER_IRM (1ull << 31)
#define AFF_MASK 0x000000ff00ffffffull    /* Aff3 and Aff2.Aff1.Aff0 of MPIDR/IROUTER */
#define INTID_MASK 0xffffffu
#define SGIR_TARGETS(v) ((uint32_t)(v)&0xffffu)
#define SGIR_AFF1(v) (((v) >> 16) & 0xffu)
#define SGIR_INTID(v) ((uint32_t)((v) >> 24) & 0xfu)
#define SGIR_AFF2(v) (((v) >> 32) & 0xffu)
#define SGIR_IRM(v) (((v) >> 40) & 1u)
#define SGIR_RS(v) (((v) >> 44) & 0xfu)
#define SGIR_AFF3(v) (((v) >> 48) & 0xffu)
#define GROUP_ANY 2u

struct gic_irq *gic_irq_at(struct gic *g, uint32_t cpu, uint32_t intid)
{
    if (intid < GIC_NR_PRIVATE)
        return &g->cpu[cpu].priv[intid];
    return intid < GIC_NR_IRQS ? &g->spi[intid - GIC_SPI_BASE] : NULL;
}

bool gic_irq_pending(const struct gic_irq *irq)
{
    return (irq->flags & GI_PENDING) || (!(irq->flags & GI_EDGE) && (irq->flags & GI_LINE));
}

static uint64_t mpidr_of(struct vm *vm, uint32_t cpu)
{
    struct vcpu *v = atomic_load_explicit(&vm->vcpus[cpu], memory_order_acquire);
    return v ? v->st.a64->sys.mpidr_el1 : cpu;
}

/* Group `grp` (0 or 1) is enabled at the distributor and at this CPU interface. */
static bool group_enabled(const struct gic *g, const struct gic_cpu *c, unsigned grp)
{
    return grp ? (g->dist_ctlr & DCTLR_GRP1) && (c->igrpen1 & 1u) : (g->dist_ctlr & DCTLR_GRP0) && (c->igrpen0 & 1u);
}

static bool candidate(const struct gic *g, const struct gic_cpu *c, const struct gic_irq *irq, unsigned want)
{
    unsigned grp = (irq->flags & GI_GROUP1) ? 1u : 0u;
    return (irq->flags & GI_ENABLED) && !(irq->flags & GI_ACTIVE) && gic_irq_pending(irq) &&
           (want == GROUP_ANY || want == grp) && group_enabled(g, c, grp);
}

/* Highest-priority pending interrupt for `cpu` of group `want`; GIC_SPURIOUS if none. */
static uint32_t hppi(struct gic *g, struct vm *vm, uint32_t cpu, unsigned want)
{
    const struct gic_cpu *c = &g->cpu[cpu];
    uint32_t best = GIC_SPURIOUS;
    unsigned best_prio = 0x100;
    for (uint32_t i = 0; i < GIC_NR_PRIVATE; i++)
        if (candidate(g, c, &c->priv[i], want) && c->priv[i].prio < best_prio) {
            best = i;
            best_prio = c->priv[i].prio;
        }
    uint64_t aff = mpidr_of(vm, cpu) & AFF_MASK;
    for (uint32_t i = 0; i < GIC_SPI_COUNT; i++) {
        const struct gic_irq *irq = &g->spi[i];
        if (!(irq->flags & GI_ENABLED) || irq->prio >= best_prio || !candidate(g, c, irq, want))
            continue;
        uint64_t r = g->irouter[i];
        if (!(r & IROUTER_IRM) && (r & AFF_MASK) != aff)
            continue;
        best = GIC_SPI_BASE + i;
        best_prio = irq->prio;
    }
    return best;
}

static unsigned running_prio(const struct gic_cpu *c)
{
    uint32_t ap = c->ap0r | c->ap1r;
    return ap ? (unsigned)__builtin_ctz(ap) << GIC_PRIO_SHIFT : GIC_PRIO_IDLE;
}

/* The interrupt may be signalled now: above the mask and the running priority. */
static bool can_signal(const struct gic_cpu *c, const struct gic_irq *irq)
{
    return irq->prio < (c->pmr & GIC_PRIO_MASK) && irq->prio < running_prio(c);
}

unsigned gic_lines(struct gic *g, struct vcpu *v)
{
    struct gic_cpu *c = &g->cpu[v->id];
    uint32_t gen = atomic_load_explicit(&g->gen, memory_order_acquire);
    if (gen == c->cached_gen)
        return c->cached_lines;
    pthread_mutex_lock(&g->lock);
    gen = atomic_load_explicit(&g->gen, memory_order_acquire);
    unsigned lines = 0;
    uint32_t best = hppi(g, v->vm, v->id, GROUP_ANY);
    if (best != GIC_SPURIOUS) {
        const struct gic_irq *irq = gic_irq_at(g, v->id, best);
        if (can_signal(c, irq))
            lines = (irq->flags & GI_GROUP1) ? IRQCHIP_LINE_IRQ : IRQCHIP_LINE_FIQ;
    }
    pthread_mutex_unlock(&g->lock);
    c->cached_gen = gen;
    c->cached_lines = lines;
    return lines;
}

void gic_vtimer(struct gic *g, struct vcpu *v, bool level)
{
    struct gic_cpu *c = &g->cpu[v->id];
    if (c->vtimer_level == level)
        return;
    c->vtimer_level = level;
    pthread_mutex_lock(&g->lock);
    struct gic_irq *irq = &c->priv[GIC_INTID_VTIMER];
    irq->flags = (uint8_t)(level ? irq->flags | GI_LINE : irq->flags & ~GI_LINE);
    gic_changed(g);
    pthread_mutex_unlock(&g->lock);
}

/* IAR: take the best deliverable interrupt of group `grp` (pending -> active). */
static uint32_t acknowledge(struct gic *g, struct vm *vm, uint32_t cpu, unsigned grp)
{
    struct gic_cpu *c = &g->cpu[cpu];
    uint32_t id = hppi(g, vm, cpu, grp);
    if (id == GIC_SPURIOUS)
        return id;
    struct gic_irq *irq = gic_irq_at(g, cpu, id);
    if (!can_signal(c, irq))
        return GIC_SPURIOUS;
    irq->flags = (uint8_t)((irq->flags & ~GI_PENDING) | GI_ACTIVE);   /* a high line stays pending */
    uint32_t bit = 1u << (irq->prio >> GIC_PRIO_SHIFT);
    if (grp)
        c->ap1r |= bit;
    else
        c->ap0r |= bit;
    gic_changed(g);
    return id;
}

static void deactivate(struct gic *g, uint32_t cpu, uint32_t id)
{
    struct gic_irq *irq = gic_irq_at(g, cpu, id & INTID_MASK);
    if (irq)
        irq->flags &= (uint8_t)~GI_ACTIVE;
}

/* EOIR: drop the highest active priority of the group, and deactivate unless EOImode. */
static void end_of_interrupt(struct gic *g, uint32_t cpu, unsigned grp, uint64_t value)
{
    struct gic_cpu *c = &g->cpu[cpu];
    uint32_t *ap = grp ? &c->ap1r : &c->ap0r;
    if (*ap)
        *ap &= *ap - 1u;   /* clear the lowest set bit: the highest priority */
    if (!(c->ctlr & CTLR_EOIMODE))
        deactivate(g, cpu, (uint32_t)value);
}

/* SGI0R/SGI1R: make SGI pending on every targeted vCPU (GIC v3 spec 12.2.23). */
static void generate_sgi(struct gic *g, struct vm *vm, uint32_t self, uint64_t v)
{
    uint64_t aff_hi = (SGIR_AFF3(v) << 32) | (SGIR_AFF2(v) << 16) | (SGIR_AFF1(v) << 8);
    for (uint32_t cpu = 0; cpu < ANYHV_MAX_VCPUS; cpu++) {
        if (!atomic_load_explicit(&vm->vcpus[cpu], memory_order_acquire))
            continue;
        uint64_t mpidr = mpidr_of(vm, cpu) & AFF_MASK;
        bool hit;
        if (SGIR_IRM(v)) {
            hit = cpu != self;
        } else {
            unsigned aff0 = (unsigned)(mpidr & 0xffu), rs = (unsigned)SGIR_RS(v);
            hit = (mpidr & ~0xffull) == aff_hi && aff0 / 16 == rs && ((SGIR_TARGETS(v) >> (aff0 % 16)) & 1u);
        }
        if (hit)
            g->cpu[cpu].priv[SGIR_INTID(v)].flags |= GI_PENDING;
    }
}

bool gic_icc_read(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t id, uint64_t *value)
{
    struct gic_cpu *c = &g->cpu[cpu];
    switch (id) {
    case ICC_PMR: *value = c->pmr; return true;
    case ICC_IAR0: *value = acknowledge(g, vm, cpu, 0); return true;
    case ICC_IAR1: *value = acknowledge(g, vm, cpu, 1); return true;
    case ICC_HPPIR0: *value = hppi(g, vm, cpu, 0); return true;
    case ICC_HPPIR1: *value = hppi(g, vm, cpu, 1); return true;
    case ICC_BPR0: *value = c->bpr0; return true;
    case ICC_BPR1: *value = (c->ctlr & CTLR_CBPR) ? c->bpr0 + 1 : c->bpr1; return true;
    case ICC_AP0R0: *value = c->ap0r; return true;
    case ICC_AP1R0: *value = c->ap1r; return true;
    case ICC_RPR: *value = running_prio(c); return true;
    case ICC_CTLR: *value = c->ctlr | CTLR_PRIBITS; return true;
    case ICC_SRE: *value = SRE_VALUE; return true;
    case ICC_IGRPEN0: *value = c->igrpen0; return true;
    case ICC_IGRPEN1: *value = c->igrpen1; return true;
    default:
        if (id >= ICC_AP_FIRST && id <= ICC_AP_LAST) {
            *value = 0;   /* AP0R1-3, AP1R1-3: not needed with 5 priority bits */
            return true;
        }
        return false;
    }
}

static uint64_t at_least(uint64_t v, uint64_t min)
{
    return v < min ? min : v;
}

bool gic_icc_write(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t id, uint64_t value)
{
    struct gic_cpu *c = &g->cpu[cpu];
    switch (id) {
    case ICC_PMR: c->pmr = value & GIC_PRIO_MASK; break;
    case ICC_EOIR0: end_of_interrupt(g, cpu, 0, value); break;
    case ICC_EOIR1: end_of_interrupt(g, cpu, 1, value); break;
    case ICC_DIR: deactivate(g, cpu, (uint32_t)value); break;
    case ICC_BPR0: c->bpr0 = at_least(value & 7u, BPR0_MIN); break;
    case ICC_BPR1: if (!(c->ctlr & CTLR_CBPR)) c->bpr1 = at_least(value & 7u, BPR1_MIN); break;
    case ICC_AP0R0: c->ap0r = (uint32_t)value; break;
    case ICC_AP1R0: c->ap1r = (uint32_t)value; break;
    case ICC_CTLR: c->ctlr = value & CTLR_WRITABLE; break;
    case ICC_SRE: break;   /* SRE/DFB/DIB are fixed at 1 */
    case ICC_IGRPEN0: c->igrpen0 = value & 1u; break;
    case ICC_IGRPEN1: c->igrpen1 = value & 1u; break;
    case ICC_SGI0R:
    case ICC_SGI1R: generate_sgi(g, vm, cpu, value); break;
    case ICC_ASGI1R: break;   /* the other security state does not exist */
    default:
        if (id >= ICC_AP_FIRST && id <= ICC_AP_LAST)
            break;
        return false;
    }
    gic_changed(g);
    return true;
}

void gic_cpu_reset(struct gic_cpu *c)
{
    *c = (struct gic_cpu){ .waker = 1u << 1, .bpr0 = BPR0_MIN, .bpr1 = BPR1_MIN };
    for (uint32_t i = 0; i < GIC_NR_SGIS; i++)
        c->priv[i].flags = GI_EDGE;   /* SGIs are edge-triggered; PPIs reset level-sensitive */
}
