/* tsan_shim.c - linked into every test executable of the ThreadSanitizer build
 * (ANYHV_TSAN, build-tsan/) and nowhere else. Two things, neither touching anyhv:
 *
 * 1. Criterion hands each test its data through a shared arena that must sit at the
 *    same address in the runner and in the test's process. Criterion's BoxFort picks
 *    that address as 0x200000000000 + (rand_r() & 0x3fffff) * 16 MiB, gives up after
 *    ten candidates that are taken, and maps it MAP_FIXED. Under TSan almost every
 *    such address is TSan's shadow or meta memory, or outside the application ranges
 *    where TSan refuses a fixed mapping, so the runner cannot start. This rand_r (the
 *    executable's definition wins over libc's) draws only candidates that land in
 *    TSan's x86-64 "mid" application range below where the kernel places PIE
 *    executables: [0x550000000000, 0x555000000000). anyhv calls no rand_r; in these
 *    executables it serves Criterion alone.
 * 2. TSan's defaults for these runs: stop at the first report (the test then crashes,
 *    and Criterion and ctest count it as failed), with both stacks of a lock-order
 *    report. TSAN_OPTIONS in the environment still overrides them. */
#include <stdint.h>

#define ARENA_BASE 0x200000000000ull
#define ARENA_STEP_SHIFT 24
#define TSAN_MID_APP_FIRST 0x550000000000ull
#define TSAN_MID_APP_SLOTS 0x5000u   /* 16-MiB steps up to 0x555000000000 */

/* Exported: the project builds with hidden visibility, and libcriterion and the TSan
 * runtime must find these in the executable. */
#define SHIM_EXPORT __attribute__((visibility("default")))

SHIM_EXPORT int rand_r(unsigned int *seed);
SHIM_EXPORT const char *__tsan_default_options(void);

SHIM_EXPORT int rand_r(unsigned int *seed)
{
    *seed = *seed * 1103515245u + 12345u;   /* a plain LCG: any spread will do */
    uint32_t first = (uint32_t)((TSAN_MID_APP_FIRST - ARENA_BASE) >> ARENA_STEP_SHIFT);
    return (int)(first + (*seed >> 8) % TSAN_MID_APP_SLOTS);
}

SHIM_EXPORT const char *__tsan_default_options(void)
{
    return "halt_on_error=1:second_deadlock_stack=1:history_size=4";
}
