/* atpic.c - the in-framework pair of 8259A interrupt controllers (see intr.h): the
 * ICW1-4 initialisation sequence, OCW1 (mask), OCW2 (EOI, rotation, priority), OCW3
 * (IRR/ISR read, poll, special mask mode), auto-EOI, special fully nested mode on the
 * primary, edge/level per pin from the ELCR (ports 0x4d0/0x4d1), and the secondary
 * cascaded into the primary's IRQ 2. Deliberate differences: 8086 mode only (the
 * MCS-80 vector format of ICW4.uPM=0 is not modelled); buffered mode bits ignored. */
#include "core/x86/intr.h"

#define PORT_PRIMARY_CMD 0x20
#define PORT_PRIMARY_DATA 0x21
#define PORT_SECONDARY_CMD 0xa0
#define PORT_SECONDARY_DATA 0xa1
#define PORT_ELCR_PRIMARY 0x4d0
#define PORT_ELCR_SECONDARY 0x4d1
#define CASCADE_IRQ 2u
#define SPURIOUS_IRQ 7u
#define ICW1_INIT 0x10u
#define ICW1_IC4 0x01u
#define ICW1_SNGL 0x02u
#define OCW3_SELECT 0x08u
#define OCW3_POLL 0x04u
#define OCW3_READ 0x02u
#define OCW3_READ_ISR 0x01u
#define OCW3_SMM_SET 0x60u
#define OCW3_SMM_RESET 0x40u
#define ICW4_AEOI 0x02u
#define ICW4_SFNM 0x10u
#define POLL_ACTIVE 0x80u
/* ELCR bits that may be set: IRQ 0, 1, 2 (primary) and 8, 13 (secondary) are edge only. */
static const uint8_t elcr_writable[2] = { 0xf8, 0xde };

enum ocw2_cmd { OCW2_ROT_AEOI_CLEAR = 0, OCW2_EOI = 1, OCW2_NOP = 2, OCW2_SEOI = 3, OCW2_ROT_AEOI_SET = 4,
                OCW2_ROT_EOI = 5, OCW2_SET_PRIO = 6, OCW2_ROT_SEOI = 7 };

void atpic_init(struct x86_intr *in)
{
    memset(in->pic, 0, sizeof(in->pic));
    for (unsigned i = 0; i < 2; i++) {
        in->pic[i].s.lowprio = 7;
        in->pic[i].s.mask = 0xff;
    }
}

/* Priority rank of irq (0 = highest) given the current rotation. */
static unsigned rank(const struct hv_atpic_state *s, unsigned irq)
{
    return (irq - s->lowprio - 1) & 7;
}

/* The highest-priority IRQ in `bits`, or -1. */
static int top(const struct hv_atpic_state *s, uint8_t bits)
{
    for (unsigned r = 0; r < 8; r++) {
        unsigned irq = (s->lowprio + 1 + r) & 7;
        if (bits & (1u << irq))
            return (int)irq;
    }
    return -1;
}

/* The IRQ this chip would raise now, or -1 (priority against in-service levels). */
static int pending(const struct x86_atpic *p, bool primary)
{
    const struct hv_atpic_state *s = &p->s;
    int req = top(s, s->request & ~s->mask);
    if (req < 0)
        return -1;
    uint8_t svc = s->service;
    if (s->smm)
        svc &= ~s->mask;      /* special mask mode: masked levels do not block */
    if (primary && s->sfn)
        svc &= ~(1u << CASCADE_IRQ);
    int isr = top(s, svc);
    return isr < 0 || rank(s, (unsigned)req) < rank(s, (unsigned)isr) ? req : -1;
}

void atpic_update(struct x86_intr *in)
{
    bool sec = pending(&in->pic[1], false) >= 0;
    in->pic[1].s.intr_raised = sec;
    struct hv_atpic_state *ps = &in->pic[0].s;
    ps->request = sec ? ps->request | (1u << CASCADE_IRQ) : ps->request & ~(1u << CASCADE_IRQ);
    ps->intr_raised = pending(&in->pic[0], true) >= 0;
}

bool atpic_int_output(struct x86_intr *in)
{
    return in->pic[0].s.ready && in->pic[0].s.intr_raised;
}

void atpic_set_pin(struct x86_intr *in, unsigned irq, bool level)
{
    struct hv_atpic_state *s = &in->pic[irq / 8].s;
    uint8_t bit = (uint8_t)(1u << (irq % 8));
    bool was = (s->last_request & bit) != 0;
    s->last_request = level ? s->last_request | bit : s->last_request & ~bit;
    if (s->elc & bit)
        s->request = level ? s->request | bit : s->request & ~bit;
    else if (level && !was)
        s->request |= bit;
    atpic_update(in);
}

/* One chip's INTA: set ISR (unless auto-EOI), drop an edge request. Returns the IRQ. */
static unsigned ack_chip(struct hv_atpic_state *s, unsigned irq)
{
    uint8_t bit = (uint8_t)(1u << irq);
    if (!(s->elc & bit))
        s->request &= ~bit;
    if (s->aeoi) {
        if (s->rotate)
            s->lowprio = (uint8_t)irq;
    } else {
        s->service |= bit;
    }
    return irq;
}

int atpic_acknowledge(struct x86_intr *in)
{
    struct hv_atpic_state *ps = &in->pic[0].s;
    int irq = pending(&in->pic[0], true);
    if (irq < 0)
        return (int)(ps->irq_base + SPURIOUS_IRQ);
    ack_chip(ps, (unsigned)irq);
    int vector = ps->irq_base + irq;
    if ((unsigned)irq == CASCADE_IRQ) {
        struct hv_atpic_state *ss = &in->pic[1].s;
        int sirq = pending(&in->pic[1], false);
        vector = (int)(ss->irq_base + (sirq < 0 ? SPURIOUS_IRQ : ack_chip(ss, (unsigned)sirq)));
    }
    atpic_update(in);
    return vector;
}

static void ocw2(struct hv_atpic_state *s, uint8_t v)
{
    int irq = (v & 0x40) ? (int)(v & 7) : top(s, s->service);
    switch ((enum ocw2_cmd)(v >> 5)) {
    case OCW2_ROT_AEOI_CLEAR: s->rotate = false; break;
    case OCW2_ROT_AEOI_SET: s->rotate = true; break;
    case OCW2_SET_PRIO: s->lowprio = v & 7; break;
    case OCW2_EOI: case OCW2_SEOI: case OCW2_ROT_EOI: case OCW2_ROT_SEOI:
        if (irq >= 0) {
            s->service &= (uint8_t)~(1u << irq);
            if (v & 0x80)
                s->lowprio = (uint8_t)irq;
        }
        break;
    case OCW2_NOP: break;
    }
}

static void write_cmd(struct x86_atpic *p, uint8_t v)
{
    struct hv_atpic_state *s = &p->s;
    if (v & ICW1_INIT) {
        uint8_t elc = s->elc;
        memset(s, 0, sizeof(*s));
        s->elc = elc;
        s->lowprio = 7;
        s->icw_num = 2;
        p->icw4_needed = v & ICW1_IC4;
        p->single = v & ICW1_SNGL;
        return;
    }
    if (v & OCW3_SELECT) {
        if (v & OCW3_POLL)
            s->poll = true;
        if (v & OCW3_READ)
            s->rd_cmd_reg = v & OCW3_READ_ISR;
        if ((v & OCW3_SMM_SET) == OCW3_SMM_SET)
            s->smm = true;
        else if ((v & OCW3_SMM_SET) == OCW3_SMM_RESET)
            s->smm = false;
        return;
    }
    ocw2(s, v);
}

static void write_data(struct x86_atpic *p, uint8_t v)
{
    struct hv_atpic_state *s = &p->s;
    switch (s->icw_num) {
    case 2:
        s->irq_base = v & 0xf8;
        s->icw_num = p->single ? (p->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        s->icw_num = p->icw4_needed ? 4 : 0;
        break;
    case 4:
        s->aeoi = v & ICW4_AEOI;
        s->sfn = v & ICW4_SFNM;
        s->icw_num = 0;
        break;
    default:
        s->mask = v;
        return;
    }
    s->ready = s->icw_num == 0;
}

hv_return_t atpic_port_write(struct x86_intr *in, int port, uint8_t value)
{
    switch (port) {
    case PORT_PRIMARY_CMD: write_cmd(&in->pic[0], value); break;
    case PORT_PRIMARY_DATA: write_data(&in->pic[0], value); break;
    case PORT_SECONDARY_CMD: write_cmd(&in->pic[1], value); break;
    case PORT_SECONDARY_DATA: write_data(&in->pic[1], value); break;
    case PORT_ELCR_PRIMARY: in->pic[0].s.elc = value & elcr_writable[0]; break;
    case PORT_ELCR_SECONDARY: in->pic[1].s.elc = value & elcr_writable[1]; break;
    default: return HV_BAD_ARGUMENT;
    }
    atpic_update(in);
    return HV_SUCCESS;
}

/* A command-port read while a poll is pending acknowledges the top request. */
static uint8_t poll_read(struct x86_intr *in, unsigned chip)
{
    struct hv_atpic_state *s = &in->pic[chip].s;
    s->poll = false;
    int irq = pending(&in->pic[chip], chip == 0);
    if (irq < 0)
        return 0;
    ack_chip(s, (unsigned)irq);
    atpic_update(in);
    return (uint8_t)(POLL_ACTIVE | irq);
}

hv_return_t atpic_port_read(struct x86_intr *in, int port, uint8_t *value)
{
    unsigned chip = port == PORT_SECONDARY_CMD || port == PORT_SECONDARY_DATA;
    struct hv_atpic_state *s = &in->pic[chip].s;
    switch (port) {
    case PORT_PRIMARY_CMD: case PORT_SECONDARY_CMD:
        *value = s->poll ? poll_read(in, chip) : s->rd_cmd_reg ? s->service : s->request;
        return HV_SUCCESS;
    case PORT_PRIMARY_DATA: case PORT_SECONDARY_DATA:
        *value = s->mask;
        return HV_SUCCESS;
    case PORT_ELCR_PRIMARY: *value = in->pic[0].s.elc; return HV_SUCCESS;
    case PORT_ELCR_SECONDARY: *value = in->pic[1].s.elc; return HV_SUCCESS;
    default: return HV_BAD_ARGUMENT;
    }
}

hv_return_t atpic_put_state(struct x86_atpic *p, const struct hv_atpic_state *st)
{
    if (st->icw_num > 4 || st->icw_num == 1 || st->lowprio > 7 || (st->irq_base & 7) || st->rd_cmd_reg > 1)
        return HV_BAD_ARGUMENT;
    p->s = *st;
    p->icw4_needed = true;
    p->single = false;
    return HV_SUCCESS;
}
