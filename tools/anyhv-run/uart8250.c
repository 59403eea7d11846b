/* anyhv-run: the 8250/16550 UART at port 0x3f8 as guests drive it by polling:
 * transmit always ready, receive from stdin, divisor latch and scratch kept. */
#include "run.h"
#include "x86_machine.h"

enum uart_reg { UART_DATA = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5,
                UART_MSR = 6, UART_SCR = 7 };
#define UART_LCR_DLAB 0x80u
#define UART_LSR_DR 0x01u      /* data ready */
#define UART_LSR_THRE 0x20u    /* transmit holding register empty */
#define UART_LSR_TEMT 0x40u    /* transmitter empty */
#define UART_IIR_NONE 0x01u    /* no interrupt pending */
#define UART_MSR_CTS_DSR_DCD 0xb0u

void uart8250_init(struct uart8250 *u)
{
    *u = (struct uart8250){ 0 };
}

uint8_t uart8250_read(struct uart8250 *u, unsigned reg)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    switch ((enum uart_reg)reg) {
    case UART_DATA: {
        if (dlab)
            return u->dll;
        int c = console_getc();
        return c < 0 ? 0 : (uint8_t)c;
    }
    case UART_IER: return dlab ? u->dlm : u->ier;
    case UART_IIR_FCR: return UART_IIR_NONE;
    case UART_LCR: return u->lcr;
    case UART_MCR: return u->mcr;
    case UART_LSR: return UART_LSR_THRE | UART_LSR_TEMT | (console_has_input() ? UART_LSR_DR : 0);
    case UART_MSR: return UART_MSR_CTS_DSR_DCD;
    case UART_SCR: return u->scr;
    }
    return 0xff;
}

void uart8250_write(struct uart8250 *u, unsigned reg, uint8_t v)
{
    bool dlab = u->lcr & UART_LCR_DLAB;
    switch ((enum uart_reg)reg) {
    case UART_DATA:
        if (dlab)
            u->dll = v;
        else
            console_putc(v);
        return;
    case UART_IER:
        if (dlab)
            u->dlm = v;
        else
            u->ier = v;
        return;
    case UART_LCR: u->lcr = v; return;
    case UART_MCR: u->mcr = v; return;
    case UART_SCR: u->scr = v; return;
    case UART_IIR_FCR:
    case UART_LSR:
    case UART_MSR: return;   /* FIFO control and read-only registers */
    }
}
