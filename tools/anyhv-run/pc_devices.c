/* anyhv-run PC machine: the 8254 PIT (channel 0 raises IRQ 0, channel 2 gated and
 * read back through port 0x61), the CMOS RTC (BCD, 24-hour), the ACPI PM registers
 * (the 24-bit PM timer at 3.579545 MHz, PM1a control with S5 power-off) and the 0xcf9
 * reset port. Every clock here reads `now`, the caller's time in nanoseconds:
 *  - normally host CLOCK_MONOTONIC (pc_host_now_ns), which the guest's TSC (anyhv's VM
 *    clock) also follows; channel 0's interrupts come from a thread that sleeps to each
 *    expiry; the CMOS clock is the host's local time;
 *  - in deterministic mode the reading vCPU's virtual time (hv_vcpu_get_exec_time),
 *    so every read is a function of the guest's instructions; there is no thread: the
 *    VMM asks for channel 0's next expiry (pc_devices_pit_due), stops the vCPU there
 *    (anyhv_vcpu_set_timer_deadline) and raises IRQ 0 (pc_devices_pit_fire); the CMOS
 *    clock starts at a fixed epoch and runs on virtual time. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pc.h"

#define PIT_HZ 1193182ull
#define NS_PER_S 1000000000ull
#define PIT_PORT0 0x40u
#define PIT_CMD 0x43u
#define PORT_B 0x61u
#define PORT_B_GATE2 0x01u
#define PORT_B_SPEAKER 0x02u
#define PORT_B_OUT2 0x20u
#define PORT_B_RW_MASK 0x0fu
#define CMOS_INDEX 0x70u
#define CMOS_DATA 0x71u
#define CMOS_REGS 128u
#define PM_TMR_HZ 3579545ull
#define PM_TMR_MASK 0xffffffu
#define PM1_SCI_EN 0x0001u
#define PM1_SLP_EN (1u << 13)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK 7u
#define SLP_TYP_S5 5u
#define RESET_CPU 0x04u
#define MIN_PERIOD_NS 100000ull   /* 10 kHz: faster reprogramming is clamped */
#define DET_EPOCH 1704067200      /* deterministic CMOS clock: 2024-01-01 00:00:00 UTC */

enum pit_access { ACC_LATCH = 0, ACC_LO = 1, ACC_HI = 2, ACC_LOHI = 3 };

struct pit_channel {
    uint8_t mode, access;
    uint16_t reload;                /* 0 means 65536 */
    uint64_t load_ns;               /* when the count was loaded */
    bool write_hi, read_hi;         /* lo/hi byte flip-flops */
    bool latched;
    uint16_t latch;
    bool gate;
    uint8_t write_lo;
};

struct pc_devices {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t thread;
    bool stop;
    struct pit_channel ch[3];
    uint8_t port_b;
    uint8_t cmos_index;
    uint8_t cmos[CMOS_REGS];
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    bool reset;                     /* the guest asked for a reset, not S5 */
    bool det;                       /* deterministic mode: no thread, virtual time */
    uint64_t fired, load_seen;      /* det: channel 0 periods of the current load delivered */
};

bool pc_devices_reset_requested(struct pc_devices *d)
{
    pthread_mutex_lock(&d->lock);
    bool r = d->reset;
    pthread_mutex_unlock(&d->lock);
    return r;
}

uint64_t pc_host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t reload_of(const struct pit_channel *c)
{
    return c->reload ? c->reload : 65536u;
}

static uint64_t elapsed_ticks(const struct pit_channel *c, uint64_t now)
{
    return (uint64_t)((unsigned __int128)(now - c->load_ns) * PIT_HZ / NS_PER_S);
}

static bool periodic(const struct pit_channel *c)
{
    return (c->mode & 3) == 2 || (c->mode & 3) == 3;
}

static uint16_t count_now(const struct pit_channel *c, uint64_t now)
{
    uint64_t e = elapsed_ticks(c, now), r = reload_of(c);
    return (uint16_t)(periodic(c) ? r - e % r : (e < r ? r - e : (uint64_t)(0x10000 - (e - r) % 0x10000)));
}

static bool out_now(const struct pit_channel *c, uint64_t now)
{
    uint64_t e = elapsed_ticks(c, now), r = reload_of(c);
    if ((c->mode & 3) == 3)
        return e % r < r / 2;
    return periodic(c) ? e % r != r - 1 : e >= r;
}

/* Channel 0's period in nanoseconds (clamped to MIN_PERIOD_NS). */
static uint64_t ch0_period(const struct pit_channel *c)
{
    uint64_t period = reload_of(c) * NS_PER_S / PIT_HZ;
    return period < MIN_PERIOD_NS ? MIN_PERIOD_NS : period;
}

/* Deterministic mode: channel 0's next expiry not yet delivered, UINT64_MAX for none. */
uint64_t pc_devices_pit_due(struct pc_devices *d)
{
    pthread_mutex_lock(&d->lock);
    struct pit_channel *c = &d->ch[0];
    if (c->load_ns != d->load_seen) {
        d->load_seen = c->load_ns;
        d->fired = 0;
    }
    uint64_t due = UINT64_MAX;
    if (c->load_ns && (periodic(c) || !d->fired))
        due = c->load_ns + (d->fired + 1) * ch0_period(c);
    pthread_mutex_unlock(&d->lock);
    return due;
}

/* Deterministic mode: true when channel 0 expired by `now` (the caller pulses IRQ 0):
 * the periods up to now count as delivered, one interrupt for a late batch. */
bool pc_devices_pit_fire(struct pc_devices *d, uint64_t now)
{
    uint64_t due = pc_devices_pit_due(d);
    if (due > now)
        return false;
    pthread_mutex_lock(&d->lock);
    struct pit_channel *c = &d->ch[0];
    d->fired = periodic(c) ? (now - c->load_ns) / ch0_period(c) : 1;
    pthread_mutex_unlock(&d->lock);
    return true;
}

/* Channel 0's interrupts: one thread sleeps to each expiry and pulses IRQ 0. */
static void *pit_thread(void *arg)
{
    struct pc_devices *d = arg;
    pthread_mutex_lock(&d->lock);
    uint64_t fired = 0;   /* periods of the current load already delivered */
    uint64_t load_seen = 0;
    while (!d->stop) {
        struct pit_channel *c = &d->ch[0];
        if (c->load_ns != load_seen) {
            load_seen = c->load_ns;
            fired = 0;
        }
        if (!c->load_ns || (!periodic(c) && fired)) {
            pthread_cond_wait(&d->changed, &d->lock);
            continue;
        }
        uint64_t period = ch0_period(c);
        uint64_t due = c->load_ns + (fired + 1) * period;
        if (pc_host_now_ns() >= due) {
            fired = periodic(c) ? (pc_host_now_ns() - c->load_ns) / period : 1;
            pthread_mutex_unlock(&d->lock);
            pc_irq_pulse(PC_IRQ_PIT);
            pthread_mutex_lock(&d->lock);
            continue;
        }
        struct timespec ts = { (time_t)(due / NS_PER_S), (long)(due % NS_PER_S) };
        pthread_cond_timedwait(&d->changed, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static uint8_t bcd(int v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }

static void cmos_time(struct pc_devices *d, uint64_t now)
{
    time_t t = d->det ? (time_t)(DET_EPOCH + now / NS_PER_S) : time(NULL);
    struct tm tm;
    if (d->det)
        gmtime_r(&t, &tm);
    else
        localtime_r(&t, &tm);
    d->cmos[0x00] = bcd(tm.tm_sec);
    d->cmos[0x02] = bcd(tm.tm_min);
    d->cmos[0x04] = bcd(tm.tm_hour);
    d->cmos[0x06] = bcd(tm.tm_wday + 1);
    d->cmos[0x07] = bcd(tm.tm_mday);
    d->cmos[0x08] = bcd(tm.tm_mon + 1);
    d->cmos[0x09] = bcd(tm.tm_year % 100);
    d->cmos[0x32] = bcd(19 + tm.tm_year / 100);
}

struct pc_devices *pc_devices_create(bool det)
{
    struct pc_devices *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->changed, &ca);
    pthread_condattr_destroy(&ca);
    d->cmos[0x0a] = 0x26;   /* 32.768 kHz base, 1024 Hz rate; never "update in progress" */
    d->cmos[0x0b] = 0x02;   /* 24-hour, BCD */
    d->cmos[0x0d] = 0x80;   /* valid RAM and time */
    d->pm1_cnt = PM1_SCI_EN;
    d->ch[2].gate = false;
    d->det = det;
    if (!det && pthread_create(&d->thread, NULL, pit_thread, d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

void pc_devices_destroy(struct pc_devices *d)
{
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    if (!d->det)
        pthread_join(d->thread, NULL);
    free(d);
}

static uint8_t pit_read(struct pit_channel *c, uint64_t now)
{
    uint16_t v = c->latched ? c->latch : count_now(c, now);
    uint8_t acc = c->access;
    bool hi = acc == ACC_HI || (acc == ACC_LOHI && c->read_hi);
    if (acc == ACC_LOHI)
        c->read_hi = !c->read_hi;
    if (c->latched && (acc != ACC_LOHI || !c->read_hi))
        c->latched = false;
    return hi ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void pit_write(struct pc_devices *d, struct pit_channel *c, uint8_t v, uint64_t now)
{
    if (c->access == ACC_LOHI && !c->write_hi) {
        c->write_lo = v;
        c->write_hi = true;
        return;
    }
    c->reload = c->access == ACC_LO ? v : c->access == ACC_HI ? (uint16_t)(v << 8) : (uint16_t)(c->write_lo | (v << 8));
    c->write_hi = false;
    c->load_ns = now ? now : 1;
    pthread_cond_broadcast(&d->changed);
}

static void pit_command(struct pc_devices *d, uint8_t v, uint64_t now)
{
    unsigned sel = v >> 6;
    if (sel == 3) {   /* read-back: latch counts of the selected channels */
        for (unsigned i = 0; i < 3; i++)
            if (!(v & 0x20) && (v & (2u << i))) {
                d->ch[i].latch = count_now(&d->ch[i], now);
                d->ch[i].latched = true;
            }
        return;
    }
    struct pit_channel *c = &d->ch[sel];
    unsigned acc = (v >> 4) & 3;
    if (acc == ACC_LATCH) {
        c->latch = count_now(c, now);
        c->latched = true;
        return;
    }
    c->access = (uint8_t)acc;
    c->mode = (v >> 1) & 7;
    c->write_hi = c->read_hi = false;
}

static uint32_t pm_timer(uint64_t now)
{
    return (uint32_t)((unsigned __int128)now * PM_TMR_HZ / NS_PER_S) & PM_TMR_MASK;
}

bool pc_devices_in(struct pc_devices *d, uint16_t port, unsigned size, uint64_t now, uint32_t *value)
{
    (void)size;
    bool mine = true;
    pthread_mutex_lock(&d->lock);
    if (port >= PIT_PORT0 && port < PIT_PORT0 + 3) {
        *value = pit_read(&d->ch[port - PIT_PORT0], now);
    } else if (port == PIT_CMD) {
        *value = 0xff;
    } else if (port == PORT_B) {
        bool out2 = d->ch[2].load_ns && out_now(&d->ch[2], now);
        *value = (d->port_b & PORT_B_RW_MASK) | (out2 ? PORT_B_OUT2 : 0);
    } else if (port == CMOS_INDEX) {
        *value = d->cmos_index;
    } else if (port == CMOS_DATA) {
        cmos_time(d, now);
        *value = d->cmos[d->cmos_index & (CMOS_REGS - 1)];
    } else if (port == PC_PM_TMR) {
        *value = pm_timer(now);
    } else if (port == PC_PM1A_EVT) {
        *value = d->pm1_sts;
    } else if (port == PC_PM1A_EVT + 2) {
        *value = d->pm1_en;
    } else if (port == PC_PM1A_CNT) {
        *value = d->pm1_cnt;
    } else if (port == PC_RESET_PORT) {
        *value = 0;
    } else {
        mine = false;
    }
    pthread_mutex_unlock(&d->lock);
    return mine;
}

bool pc_devices_out(struct pc_devices *d, uint16_t port, unsigned size, uint64_t now, uint32_t value,
                    bool *power_off)
{
    (void)size;
    bool mine = true;
    pthread_mutex_lock(&d->lock);
    if (port >= PIT_PORT0 && port < PIT_PORT0 + 3) {
        pit_write(d, &d->ch[port - PIT_PORT0], (uint8_t)value, now);
    } else if (port == PIT_CMD) {
        pit_command(d, (uint8_t)value, now);
    } else if (port == PORT_B) {
        bool gate = value & PORT_B_GATE2;
        if (gate && !d->ch[2].gate)
            d->ch[2].load_ns = now;   /* a rising gate restarts channel 2's count */
        d->ch[2].gate = gate;
        d->port_b = (uint8_t)(value & (PORT_B_GATE2 | PORT_B_SPEAKER));
    } else if (port == CMOS_INDEX) {
        d->cmos_index = (uint8_t)(value & 0x7f);
    } else if (port == CMOS_DATA) {
        if (d->cmos_index >= 0x0a && d->cmos_index <= 0x0b)
            d->cmos[d->cmos_index] = (uint8_t)value;
    } else if (port == PC_PM1A_EVT) {
        d->pm1_sts &= (uint16_t)~value;   /* write 1 to clear */
    } else if (port == PC_PM1A_EVT + 2) {
        d->pm1_en = (uint16_t)value;
    } else if (port == PC_PM1A_CNT) {
        d->pm1_cnt = (uint16_t)((value & ~PM1_SLP_EN) | PM1_SCI_EN);
        if ((value & PM1_SLP_EN) && ((value >> PM1_SLP_TYP_SHIFT) & PM1_SLP_TYP_MASK) == SLP_TYP_S5)
            *power_off = true;
    } else if (port == PC_RESET_PORT) {
        if (value & RESET_CPU)
            *power_off = true, d->reset = true;
    } else {
        mine = false;
    }
    pthread_mutex_unlock(&d->lock);
    return mine;
}
