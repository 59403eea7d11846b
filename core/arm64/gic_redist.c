/* gic_redist.c - one GICv3 redistributor per vCPU: the RD_base frame (TYPER with
 * the vCPU's affinity, WAKER, ID registers; no LPIs) and the SGI_base frame 64 KiB
 * above it, which holds the SGIs' and PPIs' IGROUPR0 .. ICFGR1. */
#include "core/arm64/gic.h"

#define R_CTLR 0x0000u
#define R_IIDR 0x0004u
#define R_TYPER 0x0008u
#define R_WAKER 0x0014u
#define R_PIDR2 0xffe8u
#define SGI_FRAME 0x10000u

#define TYPER_LAST (1ull << 4)
#define TYPER_PROC_SHIFT 8
#define TYPER_AFF_SHIFT 32
#define WAKER_PROCESSOR_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)
#define IIDR_ANYHV 0x0000043bu
#define PIDR2_GICV3 0x30u
#define MPIDR_AFF0_2 0x00ffffffull
#define MPIDR_AFF3_SHIFT 32

/* The vCPU's affinity (Aff3.Aff2.Aff1.Aff0) as GICR_TYPER reports it. */
static uint64_t affinity_of(struct vm *vm, uint32_t cpu)
{
    struct vcpu *v = atomic_load_explicit(&vm->vcpus[cpu], memory_order_acquire);
    if (!v)
        return cpu;
    uint64_t mpidr = v->st.a64->sys.mpidr_el1;
    return (mpidr & MPIDR_AFF0_2) | (((mpidr >> MPIDR_AFF3_SHIFT) & 0xffu) << 24);
}

/* The redistributor of the highest-numbered vCPU that exists is the last one. */
static bool is_last(struct vm *vm, uint32_t cpu)
{
    for (uint32_t i = cpu + 1; i < ANYHV_MAX_VCPUS; i++)
        if (atomic_load_explicit(&vm->vcpus[i], memory_order_acquire))
            return false;
    return true;
}

static uint64_t typer(struct vm *vm, uint32_t cpu)
{
    return (affinity_of(vm, cpu) << TYPER_AFF_SHIFT) | ((uint64_t)cpu << TYPER_PROC_SHIFT) |
           (is_last(vm, cpu) ? TYPER_LAST : 0);
}

bool gic_redist_read(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t off, unsigned size, uint64_t *value)
{
    if (off >= SGI_FRAME)
        return gic_irqreg_read(g, cpu, off - SGI_FRAME, size, 0, GIC_NR_PRIVATE, value) ||
               (size == 4 && (*value = 0, true));   /* IGRPMODR0, NSACR, reserved: RAZ */
    if (size == 8) {
        *value = off == R_TYPER ? typer(vm, cpu) : 0;   /* LPI registers (PROPBASER ...): RAZ */
        return (off & 7u) == 0;
    }
    if (size != 4)
        return false;
    uint32_t waker = g->cpu[cpu].waker;
    switch (off) {
    case R_IIDR: *value = IIDR_ANYHV; return true;
    case R_TYPER: *value = (uint32_t)typer(vm, cpu); return true;
    case R_TYPER + 4: *value = typer(vm, cpu) >> 32; return true;
    case R_WAKER: *value = waker | (waker & WAKER_PROCESSOR_SLEEP ? WAKER_CHILDREN_ASLEEP : 0); return true;
    case R_PIDR2: *value = PIDR2_GICV3; return true;
    case R_CTLR:
    default: *value = 0; return true;   /* no LPIs: CTLR, PROPBASER, PENDBASER ... RAZ */
    }
}

bool gic_redist_write(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint64_t value)
{
    if (off >= SGI_FRAME)
        return gic_irqreg_write(g, cpu, off - SGI_FRAME, size, 0, GIC_NR_PRIVATE, value) || size == 4;
    if (size == 8)
        return (off & 7u) == 0;
    if (size != 4)
        return false;
    if (off == R_WAKER)
        g->cpu[cpu].waker = (uint32_t)value & WAKER_PROCESSOR_SLEEP;
    return true;   /* everything else is read-only or absent: WI */
}
