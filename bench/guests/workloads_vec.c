/* The integer vector workloads: a 32-bit dot product (the compiler vectorises the
 * loop: VPMULLD/VPADDD with -mavx2 on x86-64, MUL/ADD (vector) on AArch64) and a
 * memchr-like byte scan written with the ISA's intrinsics (VPCMPEQB + VPMOVMSKB +
 * TZCNT on x86-64; CMEQ + UMOV of the two halves on AArch64), 32 (16) bytes a step.
 * The same results on every engine and ISA; the native engine runs them only where
 * the host has AVX2. */
#include "workloads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#define SCAN_TAIL 32u   /* zero bytes ending the buffer: a whole step of either ISA */

static uint32_t dot_a[BENCH_VEC_DOT_LEN], dot_b[BENCH_VEC_DOT_LEN];
static uint8_t scan_buf[BENCH_VEC_SCAN_BYTES] __attribute__((aligned(32)));

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* r is folded into a so no pass can be hoisted out of the outer loop. */
__attribute__((noinline)) static uint32_t dot(const uint32_t *a, const uint32_t *b, uint32_t r)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < BENCH_VEC_DOT_LEN; i++)
        sum += (a[i] + r) * b[i];
    return sum;
}

uint64_t bench_vec_dot(uint64_t passes)
{
    uint32_t x = 0x9e3779b9u;
    for (uint32_t i = 0; i < BENCH_VEC_DOT_LEN; i++) {
        dot_a[i] = next(&x);
        dot_b[i] = next(&x);
    }
    uint64_t sum = 0;
    for (uint64_t r = 0; r < passes; r++)
        sum = sum * 31 + dot(dot_a, dot_b, (uint32_t)r);
    return sum;
}

/* The index of the first zero byte at or after `from` (the buffer ends with one). */
__attribute__((noinline)) static uint32_t find_zero(const uint8_t *p, uint32_t from)
{
    uint32_t i = from & ~(uint32_t)(BENCH_VEC_STEP - 1);
    unsigned skip = from - i;
#if defined(__x86_64__)
    const __m256i zero = _mm256_setzero_si256();
    uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_load_si256((const __m256i *)(p + i)), zero));
    m &= ~0u << skip;
    while (!m) {
        i += BENCH_VEC_STEP;
        m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_load_si256((const __m256i *)(p + i)), zero));
    }
    return i + (uint32_t)__builtin_ctz(m);
#elif defined(__aarch64__)
    for (;; i += BENCH_VEC_STEP, skip = 0) {
        uint64x2_t eq = vreinterpretq_u64_u8(vceqzq_u8(vld1q_u8(p + i)));
        uint64_t lo = vgetq_lane_u64(eq, 0), hi = vgetq_lane_u64(eq, 1);
        lo &= skip >= 8 ? 0 : ~0ull << (8 * skip);
        hi &= skip <= 8 ? ~0ull : ~0ull << (8 * (skip - 8));
        if (lo)
            return i + (uint32_t)__builtin_ctzll(lo) / 8;
        if (hi)
            return i + 8 + (uint32_t)__builtin_ctzll(hi) / 8;
    }
#else
#error "no vector scan for this ISA"
#endif
}

uint64_t bench_vec_scan(uint64_t passes)
{
    uint32_t x = 0x2545f491u;
    for (uint32_t i = 0; i < BENCH_VEC_SCAN_BYTES; i++)
        scan_buf[i] = (uint8_t)(next(&x) | 1);   /* no zero bytes ... */
    for (uint32_t k = 0; k < BENCH_VEC_SCAN_ZEROS; k++)
        scan_buf[next(&x) % (BENCH_VEC_SCAN_BYTES - SCAN_TAIL)] = 0;   /* ... but a few */
    for (uint32_t i = BENCH_VEC_SCAN_BYTES - SCAN_TAIL; i < BENCH_VEC_SCAN_BYTES; i++)
        scan_buf[i] = 0;   /* and a stop at the end, the same on both ISAs */
    uint64_t sum = 0;
    for (uint64_t r = 0; r < passes; r++) {
        uint32_t pos = 0, end = BENCH_VEC_SCAN_BYTES - SCAN_TAIL;
        while ((pos = find_zero(scan_buf, pos)) < end) {
            sum += pos ^ r;
            pos++;
        }
    }
    return sum;
}
