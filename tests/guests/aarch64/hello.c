/* arm64 hello in freestanding C: writes a greeting through a PL011 data register
 * (each store is an MMIO exit the client emulates) and returns a checksum. */
#include <stdint.h>

#define PL011_BASE 0x09000000ul   /* UART data register, as on QEMU's virt board */

static void uart_putc(char c)
{
    *(volatile uint32_t *)PL011_BASE = (uint32_t)(unsigned char)c;
}

int main(void)
{
    static const char msg[] = "hello from arm64\n";
    uint32_t sum = 0;
    for (const char *p = msg; *p; p++) {
        uart_putc(*p);
        sum = sum * 31u + (uint8_t)*p;
    }
    return (int)(sum & 0x7fffffff);
}
