/* x86 demo platform (x86_64 and i386 builds): the 8250 UART at port 0x3f8, polled. */
#include <stdint.h>

#include "../demo.h"

#define UART_THR 0x3f8
#define UART_LSR 0x3fd
#define UART_LSR_THRE 0x20

#if defined(__x86_64__)
const char *demo_arch(void) { return "x86_64"; }
#else
const char *demo_arch(void) { return "i386"; }
#endif

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
