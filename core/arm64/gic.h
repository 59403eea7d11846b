/* gic.h - the in-framework GICv3 of the Apple-silicon personality (hv_gic_*): one
 * distributor, one redistributor per vCPU, the ICC CPU interface and an MSI frame,
 * emulated in the library and reached by the soft CPU through struct irqchip_ops.
 *
 * Model (what the guest sees): a single security state (GICD_CTLR.DS = 1, group 0
 * signalled as FIQ, group 1 as IRQ), affinity routing always on (ARE), no LPIs/ITS,
 * 5 priority bits (as Apple's register set implies: one AP0R/AP1R register each),
 * preemption on the whole 5-bit priority whatever BPR says. Interrupt state is one
 * byte of flags and one priority byte per INTID; private INTIDs (0-31) live in each
 * vCPU's redistributor, SPIs in the distributor.
 *
 * Files: gic_dist.c (distributor frame, SPI lines), gic_redist.c (redistributor
 * frames), gic_cpuif.c (ICC registers, the highest-priority pending interrupt,
 * acknowledge/EOI, SGIs, the IRQ/FIQ lines), gic_msi.c (MSI frame), gic_state.c
 * (reset and the state blob), api_gic.c (the hv_gic_* calls and the irqchip glue).
 * One mutex guards all of it; `gen` counts changes so each vCPU recomputes its
 * lines only when something changed. */
#ifndef ANYHV_CORE_ARM64_GIC_H
#define ANYHV_CORE_ARM64_GIC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"

#define GIC_NR_IRQS 512u            /* INTIDs 0..511: SGIs, PPIs and 480 SPIs */
#define GIC_NR_PRIVATE 32u          /* SGIs 0-15 and PPIs 16-31, per redistributor */
#define GIC_NR_SGIS 16u
#define GIC_SPI_BASE 32u
#define GIC_SPI_COUNT (GIC_NR_IRQS - GIC_SPI_BASE)
#define GIC_SPURIOUS 1023u
#define GIC_INTID_VTIMER 27u        /* PPI of the EL1 virtual timer (HV_GIC_INT_EL1_VIRTUAL_TIMER) */
#define GIC_PRIO_MASK 0xf8u         /* 5 implemented priority bits */
#define GIC_PRIO_IDLE 0xffu         /* running priority with nothing active */
#define GIC_PRIO_SHIFT 3u           /* priority -> AP register bit */

#define GIC_DIST_SIZE 0x10000ull
#define GIC_REDIST_FRAME 0x10000ull /* RD_base; SGI_base follows */
#define GIC_REDIST_SIZE (2 * GIC_REDIST_FRAME)
#define GIC_MSI_SIZE 0x10000ull
#define GIC_FRAME_ALIGN 0x10000ull

/* Per-INTID flags. */
enum {
    GI_ENABLED = 1u << 0,
    GI_PENDING = 1u << 1,   /* latched pending (edge, ISPENDR, SGI, MSI) */
    GI_ACTIVE = 1u << 2,
    GI_GROUP1 = 1u << 3,
    GI_EDGE = 1u << 4,      /* ICFGR: edge-triggered */
    GI_LINE = 1u << 5,      /* input line level (level-sensitive interrupts) */
};

struct gic_irq {
    uint8_t flags;
    uint8_t prio;
};

/* Per vCPU: its redistributor and CPU interface. */
struct gic_cpu {
    struct gic_irq priv[GIC_NR_PRIVATE];
    uint32_t waker;              /* GICR_WAKER.ProcessorSleep */
    /* ICC registers */
    uint64_t pmr, bpr0, bpr1, ctlr, igrpen0, igrpen1;
    uint32_t ap0r, ap1r;         /* active priorities, bit = priority >> 3 */
    /* owner-thread cache of the lines */
    uint32_t cached_gen;
    unsigned cached_lines;
    bool vtimer_level;           /* owner thread only: last level sent */
};

struct gic {
    pthread_mutex_t lock;
    _Atomic uint32_t gen;        /* bumped on every change that may move a line */
    uint64_t dist_base, redist_base, msi_base;
    bool msi_enabled;
    uint32_t msi_intid_base, msi_intid_count;
    /* distributor */
    uint32_t dist_ctlr;
    struct gic_irq spi[GIC_SPI_COUNT];
    uint64_t irouter[GIC_SPI_COUNT];
    struct gic_cpu cpu[ANYHV_MAX_VCPUS];
};

/* The VM's GIC, or NULL. */
struct gic *gic_of(const struct vm *vm);

/* gic_cpuif.c */
/* The state of INTID `intid` as seen by vCPU `cpu` (private or SPI); NULL if none. */
struct gic_irq *gic_irq_at(struct gic *g, uint32_t cpu, uint32_t intid);
bool gic_irq_pending(const struct gic_irq *irq);
void gic_changed(struct gic *g);
bool gic_icc_read(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t id, uint64_t *value);
bool gic_icc_write(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t id, uint64_t value);
unsigned gic_lines(struct gic *g, struct vcpu *v);
void gic_vtimer(struct gic *g, struct vcpu *v, bool level);
void gic_cpu_reset(struct gic_cpu *c);

/* gic_dist.c: offset-addressed 32/64-bit registers of the distributor frame. */
bool gic_dist_read(struct gic *g, struct vm *vm, uint32_t off, unsigned size, uint64_t *value);
bool gic_dist_write(struct gic *g, uint32_t off, unsigned size, uint64_t value);
void gic_spi_set_line(struct gic *g, uint32_t intid, bool level);
/* Shared by the distributor and the redistributor: the bit/byte-per-INTID registers
 * (IGROUPR ... IPRIORITYR, ICFGR) at `off` within a block whose first INTID is
 * `first`, over `count` INTIDs resolved through `at`. */
typedef struct gic_irq *(*gic_irq_at_fn)(struct gic *g, uint32_t cpu, uint32_t intid);
bool gic_irqreg_read(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint32_t first, uint32_t count,
                     uint64_t *value);
bool gic_irqreg_write(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint32_t first, uint32_t count,
                      uint64_t value);

/* gic_redist.c: registers of vCPU `cpu`'s redistributor, off from its RD_base. */
bool gic_redist_read(struct gic *g, struct vm *vm, uint32_t cpu, uint32_t off, unsigned size, uint64_t *value);
bool gic_redist_write(struct gic *g, uint32_t cpu, uint32_t off, unsigned size, uint64_t value);

/* gic_msi.c */
bool gic_msi_read(struct gic *g, uint32_t off, unsigned size, uint64_t *value);
bool gic_msi_write(struct gic *g, uint32_t off, unsigned size, uint64_t value);
/* Raise message-signalled SPI `intid` (false: outside the MSI range). */
bool gic_msi_raise(struct gic *g, uint32_t intid);

/* gic_state.c */
void gic_reset(struct gic *g);
size_t gic_state_size(void);
void gic_state_save(struct gic *g, uint32_t nvcpus, void *out);
bool gic_state_load(struct gic *g, uint32_t nvcpus, const void *in, size_t size);

/* gic_snap.c: the GIC's part of a snapshot (core/snapshot.c). */
extern const struct vm_devstate_ops gic_devstate;

#endif /* ANYHV_CORE_ARM64_GIC_H */
