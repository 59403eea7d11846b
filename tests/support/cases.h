/* Test support: how many cases a randomized test runs. `make fuzz` sets
 * ANYHV_FUZZ_ITERS for long runs; ctest sets ANYHV_TEST_SLICE where a registration
 * wants a smaller bounded slice than the test's own (the eager-JIT tier, where every
 * new block of random code costs a compile); else the test's default slice. */
#ifndef ANYHV_TESTS_SUPPORT_CASES_H
#define ANYHV_TESTS_SUPPORT_CASES_H

#include <stdlib.h>

static inline unsigned test_case_count(unsigned slice)
{
    static const char *const knobs[] = { "ANYHV_FUZZ_ITERS", "ANYHV_TEST_SLICE" };
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
        const char *s = getenv(knobs[i]);
        unsigned long v = s && *s ? strtoul(s, NULL, 0) : 0;
        if (v)
            return (unsigned)v;
    }
    return slice;
}

#endif /* ANYHV_TESTS_SUPPORT_CASES_H */
