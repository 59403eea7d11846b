/* anyhv-run PC machine: a 16550 UART at 0x3f8 on IRQ 4, for a guest that drives it
 * with interrupts (Linux's 8250 driver). Transmit is immediate (to stdout, so the
 * transmitter is always empty); received bytes come from stdin through a reader
 * thread into a FIFO. The interrupt line follows the highest pending source the IER
 * enables - received data, then transmitter empty - gated by MCR.OUT2 as on a PC. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pc.h"

enum { R_DATA = 0, R_IER = 1, R_IIR = 2, R_LCR = 3, R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7 };
#define IER_RDI 0x01u
#define IER_THRI 0x02u
#define IIR_NONE 0x01u
#define IIR_THRI 0x02u
#define IIR_RDI 0x04u
#define IIR_FIFO 0xc0u
#define FCR_ENABLE 0x01u
#define FCR_CLEAR_RX 0x02u
#define LCR_DLAB 0x80u
#define MCR_OUT2 0x08u
#define MCR_LOOP 0x10u
#define LSR_DR 0x01u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u
#define MSR_CTS_DSR_DCD 0xb0u
#define RX_FIFO 256u
#define POLL_MS 50

struct pc_uart {
    pthread_mutex_t lock;
    pthread_t reader;
    bool stop, threaded;
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thr_pending;                /* "transmitter empty" not yet acknowledged */
    bool line;                       /* IRQ 4 level */
    uint8_t rx[RX_FIFO];
    unsigned rx_head, rx_count;
};

static uint8_t iir(const struct pc_uart *u)
{
    uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((u->ier & IER_RDI) && u->rx_count)
        return fifo | IIR_RDI;
    if ((u->ier & IER_THRI) && u->thr_pending)
        return fifo | IIR_THRI;
    return fifo | IIR_NONE;
}

/* Recompute the line; the caller holds the lock and raises it after unlocking. */
static int line_change(struct pc_uart *u)
{
    bool level = !(iir(u) & IIR_NONE) && (u->mcr & MCR_OUT2);
    if (level == u->line)
        return -1;
    u->line = level;
    return level;
}

static void apply(int change)
{
    if (change >= 0)
        pc_irq(PC_IRQ_UART, change != 0);
}

static void *reader(void *arg)
{
    struct pc_uart *u = arg;
    for (;;) {
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        int r = poll(&p, 1, POLL_MS);
        pthread_mutex_lock(&u->lock);
        bool stop = u->stop, room = u->rx_count < RX_FIFO;
        pthread_mutex_unlock(&u->lock);
        if (stop)
            return NULL;
        if (r <= 0 || !room)
            continue;
        uint8_t c;
        if (read(STDIN_FILENO, &c, 1) != 1)
            return NULL;   /* end of input: nothing more will arrive */
        pthread_mutex_lock(&u->lock);
        u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = c;
        int change = line_change(u);
        pthread_mutex_unlock(&u->lock);
        apply(change);
    }
}

struct pc_uart *pc_uart_create(bool threaded)
{
    struct pc_uart *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->threaded = threaded;
    if (threaded && pthread_create(&u->reader, NULL, reader, u) != 0) {
        free(u);
        return NULL;
    }
    return u;
}

void pc_uart_destroy(struct pc_uart *u)
{
    pthread_mutex_lock(&u->lock);
    u->stop = true;
    pthread_mutex_unlock(&u->lock);
    if (u->threaded)
        pthread_join(u->reader, NULL);
    free(u);
}

void pc_uart_poll(struct pc_uart *u)
{
    pthread_mutex_lock(&u->lock);
    while (u->rx_count < RX_FIFO && console_has_input()) {
        int c = console_getc();
        if (c < 0)
            break;
        u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = (uint8_t)c;
    }
    int change = line_change(u);
    pthread_mutex_unlock(&u->lock);
    apply(change);
}

uint8_t pc_uart_read(struct pc_uart *u, unsigned reg)
{
    pthread_mutex_lock(&u->lock);
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v = 0xff;
    switch (reg) {
    case R_DATA:
        if (dlab) {
            v = u->dll;
        } else if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % RX_FIFO;
            u->rx_count--;
        } else {
            v = 0;
        }
        break;
    case R_IER: v = dlab ? u->dlm : u->ier; break;
    case R_IIR:
        v = iir(u);
        if ((v & 0x0f) == IIR_THRI)
            u->thr_pending = false;   /* reading IIR acknowledges "transmitter empty" */
        break;
    case R_LCR: v = u->lcr; break;
    case R_MCR: v = u->mcr; break;
    case R_LSR: v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0); break;
    case R_MSR: v = (u->mcr & MCR_LOOP) ? (uint8_t)((u->mcr & 0x0f) << 4) : MSR_CTS_DSR_DCD; break;
    case R_SCR: v = u->scr; break;
    default: break;
    }
    int change = line_change(u);
    pthread_mutex_unlock(&u->lock);
    apply(change);
    return v;
}

void pc_uart_write(struct pc_uart *u, unsigned reg, uint8_t v)
{
    pthread_mutex_lock(&u->lock);
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg) {
    case R_DATA:
        if (dlab) {
            u->dll = v;
        } else {
            console_putc(v);
            u->thr_pending = true;    /* sent at once: the holding register is empty again */
        }
        break;
    case R_IER:
        if (dlab) {
            u->dlm = v;
        } else {
            if ((v & IER_THRI) && !(u->ier & IER_THRI))
                u->thr_pending = true;   /* enabling THRI with an empty THR interrupts */
            u->ier = v & 0x0f;
        }
        break;
    case R_IIR:
        u->fcr = v;
        if (v & FCR_CLEAR_RX)
            u->rx_count = 0;
        break;
    case R_LCR: u->lcr = v; break;
    case R_MCR: u->mcr = v; break;
    case R_SCR: u->scr = v; break;
    default: break;
    }
    int change = line_change(u);
    pthread_mutex_unlock(&u->lock);
    apply(change);
}
