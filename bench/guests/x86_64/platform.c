/* x86-64 bench device: MMIO at 0x3ff00000, one exit per store and per load, always
 * through the 2-byte forms the bench clients step over (see bench/bench.h). */
#include "../workloads.h"

#define BENCH_DEVICE 0x3ff00000ul

void bench_device_write(uint32_t v)
{
    __asm__ volatile("movl %%eax, (%%rdi)" : : "a"(v), "D"(BENCH_DEVICE) : "memory");
}

uint32_t bench_device_read(void)
{
    uint32_t v;
    __asm__ volatile("movl (%%rdi), %%eax" : "=a"(v) : "D"(BENCH_DEVICE) : "memory");
    return v;
}
