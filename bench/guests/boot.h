/* The `boot` bench workload: what an OS boot asks of a CPU emulator. It inflates a
 * built-in gzip image (a kernel's self-decompressor: one hot loop), checks it against
 * the gzip CRC-32, then runs thousands of distinct small init functions a few times
 * each (cold code: each is met, translated and run only a handful of times). The
 * functions (boot_funcs.c) and the image (boot_image.c) are generated at build time by
 * bench/gen_boot.c; the image is the gzip of the start of the functions' source. */
#ifndef ANYHV_BENCH_BOOT_H
#define ANYHV_BENCH_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_OUT_MAX (1u << 20)   /* inflated image buffer */
#define BOOT_PASSES 4u            /* times each init function is called from the table */
#define BOOT_STATE_WORDS 256u     /* boot_state[]: words the init functions update */
#define BOOT_BYTES_SPAN 4096u     /* boot_bytes[]: where they store bytes (8 at a time) */

typedef uint64_t (*boot_fn)(uint64_t);

/* Generated (boot_funcs.c): the init functions and the state they work on. */
extern const boot_fn boot_funcs[];
extern const unsigned boot_func_count;
extern uint64_t boot_state[BOOT_STATE_WORDS];
extern uint8_t boot_bytes[BOOT_BYTES_SPAN + 8];
/* Generated (boot_image.c): the gzip image. */
extern const uint8_t boot_image[];
extern const uint32_t boot_image_len;

/* The workload: inflate, check, run the init table BOOT_PASSES times. Returns a hash
 * of everything it computed; a failed inflate or check returns BOOT_FAILED | stage. */
#define BOOT_FAILED 0xb007fa1100000000ull
uint64_t bench_boot(void);

#endif /* ANYHV_BENCH_BOOT_H */
