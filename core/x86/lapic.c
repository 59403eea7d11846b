/* lapic.c - the in-framework local APIC of one vCPU (see intr.h): the register file
 * in Apple's struct hv_apic_state, IRR/ISR/TMR with the priority rules of the SDM
 * (vol. 3, ch. 11), EOI (broadcast to the IOAPIC for level vectors), the ICR, and a
 * timer (one-shot, periodic, TSC-deadline) that runs on the VM clock (core/clock.h).
 * hv_apic_state.apic_gpa holds the IA32_APIC_BASE value (base | EN | EXTD | BSP).
 * Deliberate differences from hardware: no NMI/SMI delivery through the ICR (the
 * client is told through hv_vcpu_exit_info for SMI; NMI is dropped), no thermal,
 * performance-counter or CMCI sources, and errors are only the illegal-vector ones. */
#include "core/x86/intr.h"

#define APIC_VERSION 0x00050014u          /* integrated APIC, 6 LVT entries */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_ADDR_MASK 0xffffff000ull
#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_VECTOR 0xffu
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE_MASK 3u
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };
#define ICR_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_DELIVERY_SHIFT 8
enum { SH_NONE = 0, SH_SELF = 1, SH_ALL = 2, SH_OTHERS = 3 };
enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_SIPI = 6, DM_EXTINT = 7 };
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define LVT_RESET LVT_MASKED
#define SVR_RESET 0xffu
#define DFR_RESET 0xffffffffu
#define XAPIC_ID_SHIFT 24
#define WRITABLE_LVT_BITS 0x0007a7ffu     /* vector, delivery mode, polarity, trigger, mask, timer mode */

/* Register offsets in the xAPIC page. */
enum {
    R_ID = 0x20, R_VER = 0x30, R_TPR = 0x80, R_APR = 0x90, R_PPR = 0xa0, R_EOI = 0xb0, R_RRD = 0xc0,
    R_LDR = 0xd0, R_DFR = 0xe0, R_SVR = 0xf0, R_ISR = 0x100, R_TMR = 0x180, R_IRR = 0x200, R_ESR = 0x280,
    R_LVT_CMCI = 0x2f0, R_ICR_LO = 0x300, R_ICR_HI = 0x310, R_LVT_TIMER = 0x320, R_LVT_ERROR = 0x370,
    R_TIMER_ICR = 0x380, R_TIMER_CCR = 0x390, R_TIMER_DCR = 0x3e0, R_SELF_IPI = 0x3f0, R_END = 0x400,
};

static bool bit_get(const uint32_t *v, unsigned n) { return (v[n / 32] >> (n % 32)) & 1; }
static void bit_set(uint32_t *v, unsigned n, bool on)
{
    if (on)
        v[n / 32] |= 1u << (n % 32);
    else
        v[n / 32] &= ~(1u << (n % 32));
}

/* Highest set bit of a 256-bit register, or -1. */
static int highest(const uint32_t *v)
{
    for (int w = 7; w >= 0; w--)
        if (v[w])
            return w * 32 + 31 - __builtin_clz(v[w]);
    return -1;
}

bool lapic_x2apic(const struct x86_lapic *a) { return (a->s.apic_gpa & APIC_BASE_EXTD) != 0; }
uint64_t lapic_base_msr(const struct x86_lapic *a) { return a->s.apic_gpa; }

void lapic_init(struct x86_lapic *a, struct vcpu *vcpu, uint32_t id)
{
    memset(a, 0, sizeof(*a));
    a->vcpu = vcpu;
    a->s.apic_gpa = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (id == 0 ? APIC_BASE_BSP : 0);
    a->s.apic_id = id << XAPIC_ID_SHIFT;
    a->s.ver = APIC_VERSION;
    a->s.dfr = DFR_RESET;
    a->s.svr = SVR_RESET;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        a->s.lvt[i] = LVT_RESET;
    a->s.boot_state = id == 0 ? HV_BS_RUNNING : HV_BS_INIT;
    a->timer_due_ns = UINT64_MAX;
    a->exit.kind = HV_VM_EXITINFO_VMX;
}

static uint32_t ppr(const struct x86_lapic *a)
{
    int isrv = highest(a->s.isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (a->s.tpr & 0xf0) >= isr_class ? a->s.tpr & 0xff : isr_class;
}

int lapic_pending(const struct x86_lapic *a)
{
    if (!(a->s.svr & SVR_ENABLE) || !(a->s.apic_gpa & APIC_BASE_EN))
        return -1;
    int v = highest(a->s.irr);
    return v >= 0 && ((uint32_t)v & 0xf0) > (ppr(a) & 0xf0) ? v : -1;
}

bool lapic_set_irr(struct x86_lapic *a, uint8_t vector, bool level, bool aeoi)
{
    if (!(a->s.apic_gpa & APIC_BASE_EN))
        return false;
    if (vector < 16) {
        a->s.esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
        return false;
    }
    bit_set(a->s.irr, vector, true);
    bit_set(a->s.tmr, vector, level);
    bit_set(a->s.aeoi, vector, aeoi);
    return true;
}

void lapic_accept(struct x86_lapic *a, uint8_t vector)
{
    bit_set(a->s.irr, vector, false);
    if (!bit_get(a->s.aeoi, vector))
        bit_set(a->s.isr, vector, true);
}

static void eoi(struct x86_intr *in, struct x86_lapic *a, bool *client_needed)
{
    int v = highest(a->s.isr);
    if (v < 0)
        return;
    bit_set(a->s.isr, (unsigned)v, false);
    if (!bit_get(a->s.tmr, (unsigned)v))
        return;
    if (a->s.apic_controls & HV_APIC_CTRL_IOAPIC_EOI) {
        a->exit.kind = HV_VM_EXITINFO_IOAPIC_EOI;
        a->exit.vector = (uint8_t)v;
        *client_needed = true;
        return;
    }
    ioapic_eoi(a->vcpu->vm, in, (uint8_t)v);
}

/* ---- timer ---- */

static uint64_t timer_divisor(const struct x86_lapic *a)
{
    uint32_t d = (a->s.dcr_timer & 3) | ((a->s.dcr_timer & 8) >> 1);
    return 1ull << ((d + 1) & 7);
}

static unsigned timer_mode(const struct x86_lapic *a)
{
    return (a->s.lvt[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & LVT_TIMER_MODE_MASK;
}

/* Nanoseconds of VM time for `count` timer ticks. */
static uint64_t ticks_ns(const struct x86_intr *in, const struct x86_lapic *a, uint64_t count)
{
    return (uint64_t)((unsigned __int128)count * timer_divisor(a) * CLOCK_NS_PER_S / in->bus_hz);
}

static uint64_t vm_now(const struct x86_lapic *a)
{
    return clock_now_ns(&a->vcpu->vm->clock, a->vcpu);
}

static void timer_arm(struct x86_intr *in, struct x86_lapic *a, uint64_t now)
{
    a->timer_start_ns = now;
    if (timer_mode(a) == TIMER_TSC_DEADLINE) {
        const struct vm_clock *c = &a->vcpu->vm->clock;
        uint64_t base = a->vcpu->vm->be->kind == BACKEND_SOFT ? a->vcpu->st.x86->msr.tsc : 0;
        uint64_t ticks = a->s.tsc_deadline - base;
        a->timer_due_ns = a->s.tsc_deadline == 0 ? UINT64_MAX : clock_ticks_to_ns(c, ticks);
        return;
    }
    a->timer_due_ns = a->s.icr_timer ? now + ticks_ns(in, a, a->s.icr_timer) : UINT64_MAX;
}

static uint32_t timer_ccr(const struct x86_intr *in, const struct x86_lapic *a, uint64_t now)
{
    if (timer_mode(a) == TIMER_TSC_DEADLINE || a->timer_due_ns == UINT64_MAX || now >= a->timer_due_ns)
        return 0;
    uint64_t left = a->timer_due_ns - now;
    return (uint32_t)((unsigned __int128)left * in->bus_hz / (timer_divisor(a) * CLOCK_NS_PER_S));
}

static void lvt_fire(struct x86_lapic *a, enum lapic_lvt which)
{
    uint32_t lvt = a->s.lvt[which];
    if (!(lvt & LVT_MASKED))
        lapic_set_irr(a, (uint8_t)(lvt & LVT_VECTOR), false, false);
}

void lapic_timer_update(struct x86_intr *in, struct x86_lapic *a, uint64_t now)
{
    if (a->timer_due_ns == UINT64_MAX || now < a->timer_due_ns)
        return;
    lvt_fire(a, LVT_TIMER);
    if (timer_mode(a) == TIMER_PERIODIC && a->s.icr_timer) {
        uint64_t period = ticks_ns(in, a, a->s.icr_timer);
        uint64_t missed = (now - a->timer_due_ns) / (period ? period : 1);
        a->timer_due_ns += (missed + 1) * (period ? period : 1);   /* one interrupt for a late batch */
        return;
    }
    if (timer_mode(a) == TIMER_TSC_DEADLINE)
        a->s.tsc_deadline = 0;
    a->timer_due_ns = UINT64_MAX;
}

/* ---- ICR ---- */

static bool send_ipi(struct x86_intr *in, struct x86_lapic *a, uint32_t lo, uint32_t dest)
{
    struct vm *vm = a->vcpu->vm;
    uint32_t mode = (lo >> ICR_DELIVERY_SHIFT) & 7;
    uint32_t sh = (lo >> ICR_SHORTHAND_SHIFT) & 3;
    uint8_t vector = (uint8_t)lo;
    if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
        a->s.esr_pending |= ESR_SEND_ILLEGAL_VECTOR;
        return false;
    }
    if (mode == DM_INIT && !(lo & ICR_LEVEL_ASSERT) && (lo & ICR_TRIGGER_LEVEL))
        return false;   /* INIT level de-assert: no effect on modern processors */
    if (mode == DM_INIT || mode == DM_SIPI || mode == DM_SMI) {
        /* The client performs these (Apple's contract): report the targets. */
        memset(&a->exit, 0, sizeof(a->exit));
        a->exit.kind = mode == DM_INIT ? HV_VM_EXITINFO_INIT_AP
                       : mode == DM_SIPI ? HV_VM_EXITINFO_STARTUP_AP : HV_VM_EXITINFO_SMI;
        a->exit.vector = vector;
        for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
            struct vcpu *t = atomic_load(&vm->vcpus[i]);
            struct x86_lapic *ta = t ? t->ext.x86.lapic : NULL;
            if (!ta)
                continue;
            uint32_t tid = lapic_x2apic(ta) ? ta->s.apic_id : ta->s.apic_id >> XAPIC_ID_SHIFT;
            bool self = ta == a;
            a->exit.targets[i] = sh == SH_SELF ? self : sh == SH_ALL ? true : sh == SH_OTHERS ? !self : tid == dest;
        }
        return true;
    }
    if (sh == SH_SELF) {
        lapic_set_irr(a, vector, false, false);
        return false;
    }
    if (sh == SH_NONE) {
        intr_deliver(vm, in, dest, (lo & ICR_LOGICAL) != 0, mode, vector, false, a);
        return false;
    }
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct vcpu *t = atomic_load(&vm->vcpus[i]);
        struct x86_lapic *ta = t ? t->ext.x86.lapic : NULL;
        if (ta && (sh == SH_ALL || ta != a) && lapic_set_irr(ta, vector, false, false) && ta != a)
            intr_kick(ta);
    }
    return false;
}

/* ---- register access ---- */

hv_return_t lapic_read(struct x86_intr *in, struct x86_lapic *a, uint32_t off, uint32_t *value)
{
    if (off >= R_END || (off & 0xf))
        return HV_BAD_ARGUMENT;
    if (off >= R_ISR && off < R_ISR + 0x80) {
        *value = a->s.isr[(off - R_ISR) >> 4];
        return HV_SUCCESS;
    }
    if (off >= R_TMR && off < R_TMR + 0x80) {
        *value = a->s.tmr[(off - R_TMR) >> 4];
        return HV_SUCCESS;
    }
    if (off >= R_IRR && off < R_IRR + 0x80) {
        *value = a->s.irr[(off - R_IRR) >> 4];
        return HV_SUCCESS;
    }
    if (off >= R_LVT_TIMER && off <= R_LVT_ERROR) {
        *value = a->s.lvt[LVT_TIMER + ((off - R_LVT_TIMER) >> 4)];
        return HV_SUCCESS;
    }
    switch (off) {
    case R_ID: *value = a->s.apic_id; return HV_SUCCESS;
    case R_VER: *value = a->s.ver; return HV_SUCCESS;
    case R_TPR: *value = a->s.tpr; return HV_SUCCESS;
    case R_APR: *value = a->s.apr; return HV_SUCCESS;
    case R_PPR: *value = ppr(a); return HV_SUCCESS;
    case R_EOI: case R_RRD: case R_SELF_IPI: *value = 0; return HV_SUCCESS;
    case R_LDR: *value = a->s.ldr; return HV_SUCCESS;
    case R_DFR: *value = a->s.dfr; return HV_SUCCESS;
    case R_SVR: *value = a->s.svr; return HV_SUCCESS;
    case R_ESR: *value = a->s.esr; return HV_SUCCESS;
    case R_LVT_CMCI: *value = a->s.lvt[LVT_CMCI]; return HV_SUCCESS;
    case R_ICR_LO: *value = a->s.icr[0]; return HV_SUCCESS;
    case R_ICR_HI: *value = a->s.icr[1]; return HV_SUCCESS;
    case R_TIMER_ICR: *value = a->s.icr_timer; return HV_SUCCESS;
    case R_TIMER_CCR: *value = timer_ccr(in, a, vm_now(a)); return HV_SUCCESS;
    case R_TIMER_DCR: *value = a->s.dcr_timer; return HV_SUCCESS;
    default: return HV_BAD_ARGUMENT;
    }
}

static void write_lvt(struct x86_intr *in, struct x86_lapic *a, enum lapic_lvt which, uint32_t value)
{
    uint32_t old_mode = timer_mode(a);
    a->s.lvt[which] = value & WRITABLE_LVT_BITS;
    if (!(a->s.svr & SVR_ENABLE))
        a->s.lvt[which] |= LVT_MASKED;
    if (which == LVT_TIMER && timer_mode(a) != old_mode) {
        a->s.tsc_deadline = 0;   /* a mode change disarms the timer */
        a->s.icr_timer = 0;
        a->timer_due_ns = UINT64_MAX;
    }
    (void)in;
}

hv_return_t lapic_write(struct x86_intr *in, struct x86_lapic *a, uint32_t off, uint32_t value, bool *client_needed)
{
    *client_needed = false;
    if (off >= R_END || (off & 0xf))
        return HV_BAD_ARGUMENT;
    if (off >= R_LVT_TIMER && off <= R_LVT_ERROR) {
        write_lvt(in, a, (enum lapic_lvt)(LVT_TIMER + ((off - R_LVT_TIMER) >> 4)), value);
        return HV_SUCCESS;
    }
    switch (off) {
    case R_ID: if (!lapic_x2apic(a)) a->s.apic_id = value & 0xff000000u; return HV_SUCCESS;
    case R_TPR: a->s.tpr = value & 0xff; return HV_SUCCESS;
    case R_EOI: eoi(in, a, client_needed); return HV_SUCCESS;
    case R_LDR: if (!lapic_x2apic(a)) a->s.ldr = value & 0xff000000u; return HV_SUCCESS;
    case R_DFR: if (!lapic_x2apic(a)) a->s.dfr = value | 0x0fffffffu; return HV_SUCCESS;
    case R_SVR:
        a->s.svr = value & 0x13ffu;
        if (!(value & SVR_ENABLE))
            for (unsigned i = 0; i < LVT_COUNT; i++)
                a->s.lvt[i] |= LVT_MASKED;
        return HV_SUCCESS;
    case R_ESR: a->s.esr = a->s.esr_pending; a->s.esr_pending = 0; return HV_SUCCESS;
    case R_LVT_CMCI: write_lvt(in, a, LVT_CMCI, value); return HV_SUCCESS;
    case R_ICR_HI: a->s.icr[1] = value; return HV_SUCCESS;
    case R_ICR_LO:
        a->s.icr[0] = value & ~(1u << 12);   /* delivery status always idle */
        *client_needed = send_ipi(in, a, value, lapic_x2apic(a) ? a->s.icr[1] : a->s.icr[1] >> XAPIC_ID_SHIFT);
        return HV_SUCCESS;
    case R_TIMER_ICR:
        if (timer_mode(a) != TIMER_TSC_DEADLINE) {
            a->s.icr_timer = value;
            timer_arm(in, a, vm_now(a));
        }
        return HV_SUCCESS;
    case R_TIMER_DCR: a->s.dcr_timer = value & 0xb; return HV_SUCCESS;
    case R_SELF_IPI:
        if (!lapic_x2apic(a))
            return HV_BAD_ARGUMENT;
        lapic_set_irr(a, (uint8_t)value, false, false);
        return HV_SUCCESS;
    case R_VER: case R_APR: case R_PPR: case R_RRD: case R_TIMER_CCR: return HV_SUCCESS;
    default: return (off >= R_ISR && off < R_ESR) ? HV_SUCCESS : HV_BAD_ARGUMENT;
    }
}

/* ---- IA32_APIC_BASE and the TSC deadline ---- */

hv_return_t lapic_set_base_msr(struct x86_lapic *a, uint64_t value)
{
    if (value & ~(APIC_BASE_ADDR_MASK | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP))
        return HV_BAD_ARGUMENT;
    if ((value & APIC_BASE_EXTD) && !(value & APIC_BASE_EN))
        return HV_BAD_ARGUMENT;
    uint32_t id = lapic_x2apic(a) ? a->s.apic_id : a->s.apic_id >> XAPIC_ID_SHIFT;
    bool to_x2 = (value & APIC_BASE_EXTD) && !lapic_x2apic(a);
    a->s.apic_gpa = (value & ~APIC_BASE_BSP) | (a->s.apic_gpa & APIC_BASE_BSP);
    if (to_x2) {
        a->s.apic_id = id;
        a->s.ldr = ((id >> 4) << 16) | (1u << (id & 0xf));
    } else if (!(value & APIC_BASE_EXTD) && (a->s.apic_id >> XAPIC_ID_SHIFT) == 0 && id) {
        a->s.apic_id = id << XAPIC_ID_SHIFT;
    }
    return HV_SUCCESS;
}

void lapic_get_state(struct x86_intr *in, struct x86_lapic *a, struct hv_apic_state *out)
{
    *out = a->s;
    out->ccr_timer = timer_ccr(in, a, vm_now(a));
}

hv_return_t lapic_put_state(struct x86_intr *in, struct x86_lapic *a, const struct hv_apic_state *st)
{
    if (st->boot_state > HV_BS_RUNNING || (st->apic_gpa & ~(APIC_BASE_ADDR_MASK | APIC_BASE_EN | APIC_BASE_EXTD |
                                                             APIC_BASE_BSP)))
        return HV_BAD_ARGUMENT;
    if (st->apic_controls & ~(uint64_t)(HV_APIC_CTRL_EOI_ICR_TPR | HV_APIC_CTRL_GUEST_IDLE | HV_APIC_CTRL_NO_TIMER |
                                        HV_APIC_CTRL_IOAPIC_EOI))
        return HV_BAD_ARGUMENT;
    a->s = *st;
    /* The count left runs on from now; a TSC deadline is absolute. */
    uint64_t now = vm_now(a);
    if (timer_mode(a) == TIMER_TSC_DEADLINE) {
        timer_arm(in, a, now);
    } else if (st->ccr_timer) {
        a->timer_start_ns = now;
        a->timer_due_ns = now + ticks_ns(in, a, st->ccr_timer);
    } else {
        a->timer_due_ns = UINT64_MAX;
    }
    return HV_SUCCESS;
}

void lapic_set_tsc_deadline(struct x86_intr *in, struct x86_lapic *a, uint64_t deadline)
{
    if (timer_mode(a) != TIMER_TSC_DEADLINE)
        return;   /* ignored outside TSC-deadline mode, as on hardware */
    a->s.tsc_deadline = deadline;
    timer_arm(in, a, vm_now(a));
}
