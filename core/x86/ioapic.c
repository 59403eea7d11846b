/* ioapic.c - the in-framework IOAPIC (see intr.h): 24 pins, the index/window
 * register pair at IOAPIC_DEFAULT_BASE (plus the EOI register of version 0x20),
 * redirection entries with edge and level triggering and remote IRR, and the EOI
 * broadcast from the local APICs. hv_ioapic_state.irr holds the pin levels.
 * Deliberate differences: the polarity bit is stored but pins are given as asserted
 * / deasserted (the caller's view), and there is no arbitration id logic. */
#include "core/x86/intr.h"

#define IOREGSEL 0x00u
#define IOWIN 0x10u
#define IOEOI 0x40u
#define REG_ID 0x00u
#define REG_VER 0x01u
#define REG_ARB 0x02u
#define REG_RTBL 0x10u
#define IOAPIC_VERSION (((IOAPIC_PINS - 1) << 16) | 0x20u)
#define RTE_VECTOR 0xffull
#define RTE_MODE_SHIFT 8
#define RTE_LOGICAL (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_DEST_SHIFT 56
#define RTE_RO_BITS (RTE_DELIVS | RTE_REMOTE_IRR)
#define ID_MASK 0x0f000000u

void ioapic_init(struct x86_ioapic *io)
{
    memset(io, 0, sizeof(*io));
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->s.rtbl[i] = RTE_MASKED;
}

/* Send pin's message if it should fire now (unmasked, asserted, no remote IRR). */
static void fire(struct vm *vm, struct x86_intr *in, unsigned pin)
{
    uint64_t *e = &in->ioapic.s.rtbl[pin];
    bool level = (*e & RTE_LEVEL) != 0;
    if ((*e & RTE_MASKED) || (level && (*e & RTE_REMOTE_IRR)))
        return;
    if (level)
        *e |= RTE_REMOTE_IRR;
    intr_deliver(vm, in, (uint32_t)(*e >> RTE_DEST_SHIFT), (*e & RTE_LOGICAL) != 0,
                 (uint32_t)(*e >> RTE_MODE_SHIFT) & 7, (uint8_t)(*e & RTE_VECTOR), level, NULL);
}

hv_return_t ioapic_set_pin(struct vm *vm, struct x86_intr *in, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS)
        return HV_BAD_ARGUMENT;
    struct x86_ioapic *io = &in->ioapic;
    bool was = (io->s.irr >> pin) & 1;
    io->s.irr = level ? io->s.irr | (1u << pin) : io->s.irr & ~(1u << pin);
    bool is_level = (io->s.rtbl[pin] & RTE_LEVEL) != 0;
    if (level && (is_level || !was))
        fire(vm, in, pin);
    return HV_SUCCESS;
}

hv_return_t ioapic_mmio_read(struct x86_ioapic *io, uint64_t offset, uint32_t *value)
{
    if (offset == IOREGSEL) {
        *value = io->s.ioregsel;
        return HV_SUCCESS;
    }
    if (offset != IOWIN)
        return offset == IOEOI ? (*value = 0, HV_SUCCESS) : HV_BAD_ARGUMENT;
    uint32_t reg = io->s.ioregsel & 0xff;
    if (reg == REG_ID || reg == REG_ARB)
        *value = io->s.ioa_id & ID_MASK;
    else if (reg == REG_VER)
        *value = IOAPIC_VERSION;
    else if (reg >= REG_RTBL && reg < REG_RTBL + 2 * IOAPIC_PINS)
        *value = (uint32_t)(io->s.rtbl[(reg - REG_RTBL) / 2] >> ((reg & 1) ? 32 : 0));
    else
        *value = 0;
    return HV_SUCCESS;
}

hv_return_t ioapic_mmio_write(struct vm *vm, struct x86_intr *in, uint64_t offset, uint32_t value)
{
    struct x86_ioapic *io = &in->ioapic;
    if (offset == IOREGSEL) {
        io->s.ioregsel = value & 0xff;
        return HV_SUCCESS;
    }
    if (offset == IOEOI) {
        ioapic_eoi(vm, in, (uint8_t)value);
        return HV_SUCCESS;
    }
    if (offset != IOWIN)
        return HV_BAD_ARGUMENT;
    uint32_t reg = io->s.ioregsel & 0xff;
    if (reg == REG_ID) {
        io->s.ioa_id = value & ID_MASK;
    } else if (reg >= REG_RTBL && reg < REG_RTBL + 2 * IOAPIC_PINS) {
        unsigned pin = (reg - REG_RTBL) / 2;
        uint64_t *e = &io->s.rtbl[pin];
        uint64_t half = (reg & 1) ? 0xffffffff00000000ull : 0xffffffffull;
        uint64_t v = ((uint64_t)value << ((reg & 1) ? 32 : 0)) & half;
        *e = (*e & ~half) | (v & ~RTE_RO_BITS) | (*e & half & RTE_RO_BITS);
        if (!(*e & RTE_LEVEL))
            *e &= ~RTE_REMOTE_IRR;
        if ((io->s.irr >> pin) & 1 && (*e & RTE_LEVEL))
            fire(vm, in, pin);   /* unmasking an asserted level pin delivers it */
    }
    return HV_SUCCESS;
}

void ioapic_eoi(struct vm *vm, struct x86_intr *in, uint8_t vector)
{
    struct x86_ioapic *io = &in->ioapic;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t *e = &io->s.rtbl[pin];
        if ((*e & RTE_VECTOR) != vector || !(*e & RTE_REMOTE_IRR))
            continue;
        *e &= ~RTE_REMOTE_IRR;
        if ((io->s.irr >> pin) & 1)
            fire(vm, in, pin);
    }
}

hv_return_t ioapic_put_state(struct x86_ioapic *io, const struct hv_ioapic_state *st)
{
    for (unsigned pin = IOAPIC_PINS; pin < sizeof(st->rtbl) / sizeof(st->rtbl[0]); pin++)
        if (st->rtbl[pin] != 0 && st->rtbl[pin] != RTE_MASKED)
            return HV_BAD_ARGUMENT;   /* pins this IOAPIC does not have */
    if (st->irr >> IOAPIC_PINS)
        return HV_BAD_ARGUMENT;
    io->s = *st;
    return HV_SUCCESS;
}
