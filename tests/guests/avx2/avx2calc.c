/* avx2calc: what a compiler makes of -mavx2 -mfma -mbmi2 -mf16c code, as a guest on
 * the demo platform: it asks CPUID (which anyhv-run answers with anyhv_vcpu_x86_cpuid)
 * for AVX2, FMA, BMI2 and F16C, enables the AVX state (avx2_enable: CR4.OSXSAVE and
 * XSETBV in the guest, nothing natively), then prints checksums of a vectorised float
 * dot product, a byte scan, integer lane arithmetic, gathers, BMI2 bit tricks and
 * half-precision conversions. tests/soft_x86 compares the output with the same source
 * built as a freestanding Linux program and run natively. */
#include <immintrin.h>
#include <stdint.h>

#include "../demo/demo.h"

#define N 4096
#define BYTES (64 * 1024)

void avx2_enable(void);

static float fa[N], fb[N];
static uint32_t ia[N], ib[N];
static uint8_t bytes[BYTES];

static void puts_(const char *s)
{
    while (*s)
        demo_putc(*s++);
}

static void put_hex(const char *label, uint64_t v)
{
    puts_(label);
    for (int i = 60; i >= 0; i -= 4)
        demo_putc("0123456789abcdef"[(v >> i) & 0xf]);
    demo_putc('\n');
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static void fill(void)
{
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        fa[i] = (float)(int32_t)(lcg(&s) >> 8) / 65536.0f;
        fb[i] = (float)(int32_t)(lcg(&s) >> 8) / 1048576.0f;
        ia[i] = lcg(&s);
        ib[i] = lcg(&s) & (N - 1);
    }
    for (int i = 0; i < BYTES; i++)
        bytes[i] = (uint8_t)(lcg(&s) >> 24);
}

static float dot(void)
{
    float sum = 0;
    for (int i = 0; i < N; i++)
        sum += fa[i] * fb[i];
    return sum;
}

static uint64_t byte_scan(uint8_t wanted)
{
    uint64_t count = 0, first = BYTES;
    for (int i = 0; i < BYTES; i++)
        if (bytes[i] == wanted) {
            count++;
            if (first == BYTES)
                first = (uint64_t)i;
        }
    return count << 32 | first;
}

static uint64_t lanes(void)
{
    uint64_t acc = 0;
    for (int i = 0; i < N; i++)
        acc += (uint64_t)(ia[i] * 3u + (ia[i] >> 7)) ^ (ia[i] < ib[i] ? ia[i] : ib[i]);
    return acc;
}

static uint64_t gathers(void)
{
    __m256i acc = _mm256_setzero_si256();
    for (int i = 0; i < N; i += 8) {
        __m256i idx = _mm256_loadu_si256((const __m256i *)&ib[i]);
        acc = _mm256_add_epi32(acc, _mm256_i32gather_epi32((const int *)ia, idx, 4));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    return (uint64_t)(uint32_t)_mm_extract_epi32(s, 0) << 32 | (uint32_t)_mm_extract_epi32(s, 3);
}

static uint64_t bits(void)
{
    uint64_t acc = 0;
    for (int i = 0; i < N; i++) {
        uint64_t x = (uint64_t)ia[i] << 32 | ib[i];
        acc += _pdep_u64(x, 0x5555555555555555ull) ^ _pext_u64(x, 0x0f0f0f0f0f0f0f0full);
        acc += _bzhi_u64(x, ib[i] & 63) + (uint64_t)_lzcnt_u64(x) + (uint64_t)_tzcnt_u64(x | 1ull << 63);
    }
    return acc;
}

static uint64_t halves(void)
{
    uint64_t acc = 0;
    for (int i = 0; i < N; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(&fa[i]), _MM_FROUND_TO_NEAREST_INT);
        __m256 back = _mm256_cvtph_ps(h);
        acc = acc * 31 + (uint64_t)_mm_extract_epi64(h, 1) + (uint64_t)_mm256_movemask_ps(back);
    }
    return acc;
}

int demo_main(void)
{
    uint32_t r1[4], r7[4];
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    int have = (r1[2] >> 12 & 1) && (r1[2] >> 29 & 1) && (r7[1] >> 5 & 1) && (r7[1] >> 8 & 1);
    puts_(have ? "cpuid: avx2 fma bmi2 f16c\n" : "cpuid: missing avx2/fma/bmi2/f16c\n");
    if (!have)
        return 1;
    avx2_enable();
    fill();
    float d = dot();
    uint32_t dbits;
    __builtin_memcpy(&dbits, &d, 4);
    put_hex("dot      ", dbits);
    put_hex("scan     ", byte_scan(0x5a));
    put_hex("lanes    ", lanes());
    put_hex("gathers  ", gathers());
    put_hex("bmi2     ", bits());
    put_hex("f16c     ", halves());
    return 0;
}
