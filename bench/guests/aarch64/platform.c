/* AArch64 bench device: MMIO at 0x09020000, one exit per store and per load. */
#include "../workloads.h"

#define BENCH_DEVICE 0x09020000ul

void bench_device_write(uint32_t v)
{
    *(volatile uint32_t *)BENCH_DEVICE = v;
}

uint32_t bench_device_read(void)
{
    return *(volatile uint32_t *)BENCH_DEVICE;
}
