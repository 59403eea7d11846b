/* bench workloads shared by every engine (see workloads.h). Results are returned so
 * the harness can check each engine computed the same thing as native code. */
#include "workloads.h"

#define ROTL64(x, r) (((x) << (r)) | ((x) >> (64 - (r))))

uint64_t bench_int_loop(uint64_t iters)
{
    uint64_t a = 1, b = 2, c = 3, d = 4;
    for (uint64_t i = 0; i < iters; i++) {
        a = ROTL64(a + i, 7) ^ b;
        b = ROTL64(b + a, 13) ^ c;
        c = ROTL64(c ^ b, 17) + d;
        d = ROTL64(d ^ c, 29) + a;
    }
    return a ^ b ^ c ^ d;
}

static uint32_t mem_array[BENCH_MEM_BYTES / sizeof(uint32_t)];

void bench_mem_reset(void)
{
    for (uint32_t i = 0; i < BENCH_MEM_BYTES / sizeof(uint32_t); i++)
        mem_array[i] = 0;
}

uint64_t bench_mem_rmw(uint64_t updates)
{
    const uint32_t mask = BENCH_MEM_BYTES / sizeof(uint32_t) - 1;
    uint32_t x = 0x9e3779b9u;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < updates; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t *p = &mem_array[x & mask];
        *p = *p * 2654435761u + (uint32_t)i;
        sum += *p;
    }
    return sum;
}

uint64_t bench_fib(uint64_t n)
{
    return n < 2 ? n : bench_fib(n - 1) + bench_fib(n - 2);
}

uint64_t bench_exit_loop(uint64_t iters)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < iters; i++) {
        bench_device_write((uint32_t)i);
        sum += bench_device_read();
    }
    return sum + iters;
}

/* Many distinct small functions, each run once: the cost of meeting new code. */
#define TF(n) \
    __attribute__((noinline)) static uint64_t tf_##n(uint64_t x) \
    { return (x * (2u * (n) + 1u)) ^ (x >> ((n) % 13u + 1u)) ^ (n); }
#define TF4(n) TF(n##0) TF(n##1) TF(n##2) TF(n##3)
#define TF16(n) TF4(n##0) TF4(n##1) TF4(n##2) TF4(n##3)
#define TF64(n) TF16(n##0) TF16(n##1) TF16(n##2) TF16(n##3)
#define TF256(n) TF64(n##0) TF64(n##1) TF64(n##2) TF64(n##3)
#define TF1024(n) TF256(n##0) TF256(n##1) TF256(n##2) TF256(n##3)
TF1024(1) TF1024(2)
#define TC(n) x = tf_##n(x);
#define TC4(n) TC(n##0) TC(n##1) TC(n##2) TC(n##3)
#define TC16(n) TC4(n##0) TC4(n##1) TC4(n##2) TC4(n##3)
#define TC64(n) TC16(n##0) TC16(n##1) TC16(n##2) TC16(n##3)
#define TC256(n) TC64(n##0) TC64(n##1) TC64(n##2) TC64(n##3)
#define TC1024(n) TC256(n##0) TC256(n##1) TC256(n##2) TC256(n##3)

/* A volatile seed keeps the compiler from evaluating the whole chain at build time. */
static volatile uint64_t translate_seed = 12345;

uint64_t bench_translate(void)
{
    uint64_t x = translate_seed;
    TC1024(1) TC1024(2)
    return x;
}
