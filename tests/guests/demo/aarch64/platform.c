/* AArch64 demo platform: the PL011 UART at 0x09000000, polled. */
#include <stdint.h>

#include "../demo.h"

#define PL011_BASE 0x09000000ul
#define PL011_DR 0x000
#define PL011_FR 0x018
#define PL011_FR_TXFF (1u << 5)

const char *demo_arch(void) { return "arm64"; }

void demo_putc(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)PL011_BASE;
    while (uart[PL011_FR / 4] & PL011_FR_TXFF)
        ;
    uart[PL011_DR / 4] = (uint32_t)(unsigned char)c;
}
