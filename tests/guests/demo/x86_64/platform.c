/* x86-64 demo platform: the 8250 UART at port 0x3f8, polled. */
#include <stdint.h>

#include "../demo.h"

#define UART_THR 0x3f8
#define UART_LSR 0x3fd
#define UART_LSR_THRE 0x20

const char *demo_arch(void) { return "x86_64"; }

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

void demo_putc(char c)
{
    while (!(inb(UART_LSR) & UART_LSR_THRE))
        ;
    outb(UART_THR, (uint8_t)c);
}
