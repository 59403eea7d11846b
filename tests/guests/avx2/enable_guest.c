/* avx2calc in a guest: turn on CR4.OSXSAVE and enable x87, SSE and AVX in XCR0 (the
 * VMM sees the XSETBV exit and writes XCR0). */
#include <stdint.h>

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE_AVX 7u

void avx2_enable(void)
{
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSXSAVE));
    __asm__ volatile("xsetbv" : : "a"(XCR0_X87_SSE_AVX), "d"(0), "c"(0));
}
