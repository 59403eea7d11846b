/* anyhv demo guest, freestanding C shared by both architectures: prints a greeting,
 * counts primes, checksums a generated buffer, draws a Mandelbrot set in ASCII with
 * integer arithmetic, and returns 0. The same file built natively is the oracle the
 * tests compare the guest's output with. */
#include <stdint.h>

#include "demo.h"

#define PRIME_LIMIT 20000u
#define BUFFER_BYTES (64u * 1024u)
#define CRC32_POLY 0xedb88320u
#define MANDEL_W 64
#define MANDEL_H 22
#define MANDEL_ITERS 48
#define FIX_SHIFT 12          /* 20.12 fixed point */
#define FIX_ONE (1 << FIX_SHIFT)

static uint8_t sieve[PRIME_LIMIT];
static uint8_t buffer[BUFFER_BYTES];

static void puts_(const char *s)
{
    while (*s)
        demo_putc(*s++);
}

static void put_u64(uint64_t v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n)
        demo_putc(digits[--n]);
}

static void primes(void)
{
    uint32_t count = 0;
    uint64_t sum = 0, last = 0;
    for (uint32_t i = 2; i < PRIME_LIMIT; i++) {
        if (sieve[i])
            continue;
        count++;
        sum += i;
        last = i;
        for (uint32_t j = i * i; j < PRIME_LIMIT; j += i)
            sieve[j] = 1;
    }
    puts_("primes below ");
    put_u64(PRIME_LIMIT, 10);
    puts_(": ");
    put_u64(count, 10);
    puts_(", largest ");
    put_u64(last, 10);
    puts_(", sum ");
    put_u64(sum, 10);
    demo_putc('\n');
}

static void checksum(void)
{
    uint32_t x = 2463534242u;   /* xorshift32 */
    for (uint32_t i = 0; i < BUFFER_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buffer[i] = (uint8_t)x;
    }
    uint32_t crc = 0xffffffffu;
    for (uint32_t i = 0; i < BUFFER_BYTES; i++) {
        crc ^= buffer[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (CRC32_POLY & (0u - (crc & 1u)));
    }
    puts_("crc32 of 64 KiB of xorshift32 output: 0x");
    put_u64(~crc, 16);
    demo_putc('\n');
}

static void mandelbrot(void)
{
    static const char shades[] = " .:-=+*#%@";
    for (int row = 0; row < MANDEL_H; row++) {
        for (int col = 0; col < MANDEL_W; col++) {
            int32_t cr = -2 * FIX_ONE + col * (3 * FIX_ONE) / MANDEL_W;
            int32_t ci = -FIX_ONE + row * (2 * FIX_ONE) / MANDEL_H;
            int32_t zr = 0, zi = 0;
            int it = 0;
            while (it < MANDEL_ITERS) {
                int32_t zr2 = (zr * zr) >> FIX_SHIFT, zi2 = (zi * zi) >> FIX_SHIFT;
                if (zr2 + zi2 > 4 * FIX_ONE)
                    break;
                zi = ((2 * zr * zi) >> FIX_SHIFT) + ci;
                zr = zr2 - zi2 + cr;
                it++;
            }
            demo_putc(shades[it * (int)(sizeof(shades) - 2) / MANDEL_ITERS]);
        }
        demo_putc('\n');
    }
}

int demo_main(void)
{
    puts_("Hello from the anyhv demo guest (");
    puts_(demo_arch());
    puts_(")!\n");
    primes();
    checksum();
    mandelbrot();
    puts_("demo done\n");
    return 0;
}
