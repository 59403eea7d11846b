/* The floating-point bench workload: scalar double arithmetic (add, multiply, divide)
 * in a dependent chain, as numeric code compiles to SSE2 on x86-64 and to scalar
 * FP on AArch64. Built without FMA contraction so every engine rounds the same
 * operations and the result must match native bit for bit. */

#include "workloads.h"

uint64_t bench_fp_loop(uint64_t iters)
{
    double x = 0.5, y = 0.25, acc = 0.0;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * 0.9999999 + y * 0.5;
        y = y * 0.99999 - x * 1e-7 + 0.001;
        acc += x / (1.0 + y * y);
    }
    uint64_t bits;
    __builtin_memcpy(&bits, &acc, sizeof(bits));
    return bits;
}

/* Conversions both ways, a compare that branches and a running maximum: CVTSI2SD,
 * UCOMISD, MAXSD and CVTTSD2SI on x86-64; SCVTF, FCMP, FMAX(NM) and FCVTZS on AArch64. */
uint64_t bench_fp_mix(uint64_t iters)
{
    double x = 0.5, top = -1.0;
    int64_t n = 0;
    for (uint64_t i = 0; i < iters; i++) {
        double d = (double)(int64_t)(i & 1023) * 0.001;
        x = x * 0.999 + d;
        if (x > 3.0)
            x -= 2.5;
        top = top > x ? top : x;
        n += (int64_t)(x * 100.0);
    }
    uint64_t bits;
    __builtin_memcpy(&bits, &top, sizeof(bits));
    return (uint64_t)n ^ bits;
}
