/* The boot workload (see boot.h): inflate the built-in image, then the init table. */
#include "boot.h"
#include "inflate.h"

uint64_t boot_state[BOOT_STATE_WORDS];
uint8_t boot_bytes[BOOT_BYTES_SPAN + 8];
static uint8_t boot_out[BOOT_OUT_MAX];

/* A stride through the table that is coprime with its length, so each pass calls
 * every function once, in an order that differs from the source order. */
static unsigned pass_stride(unsigned n)
{
    static const unsigned candidates[] = { 7, 11, 13, 17, 19, 23 };
    for (unsigned i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        unsigned a = n, b = candidates[i];
        while (b) {
            unsigned t = a % b;
            a = b;
            b = t;
        }
        if (a == 1)
            return candidates[i];
    }
    return 1;
}

uint64_t bench_boot(void)
{
    /* Native runs repeat in one process: start from the state a fresh guest has. */
    for (unsigned i = 0; i < sizeof(boot_state) / sizeof(boot_state[0]); i++)
        boot_state[i] = 0;
    for (unsigned i = 0; i < sizeof(boot_bytes); i++)
        boot_bytes[i] = 0;
    size_t n = 0;
    enum inflate_status r = inflate_gzip(boot_image, boot_image_len, boot_out, sizeof(boot_out), &n);
    if (r != INFLATE_OK)
        return BOOT_FAILED | r;
    uint64_t x = ((uint64_t)n << 32) | inflate_crc32(boot_out, n);
    unsigned count = boot_func_count, stride = pass_stride(count);
    for (unsigned pass = 0; pass < BOOT_PASSES; pass++)
        for (unsigned i = 0, at = pass; i < count; i++, at = (at + stride) % count)
            x = boot_funcs[at](x) + pass;
    return x;
}
