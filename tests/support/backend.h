/* Test support: every API test runs once per backend. ctest sets ANYHV_BACKEND;
 * a test for a backend this machine lacks skips and says why. */
#ifndef ANYHV_TESTS_SUPPORT_BACKEND_H
#define ANYHV_TESTS_SUPPORT_BACKEND_H

#include <anyhv/anyhv.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Skip the current test when the backend ctest asked for is unusable here. */
static inline void test_require_backend(void)
{
    const char *env = getenv("ANYHV_BACKEND");
    anyhv_backend_t want = ANYHV_BACKEND_AUTO;
    if (env && strcmp(env, "kvm") == 0)
        want = ANYHV_BACKEND_KVM;
    else if (env && strcmp(env, "soft") == 0)
        want = ANYHV_BACKEND_SOFT;
    const char *why = NULL;
    if (!anyhv_backend_available(want, &why))
        cr_skip_test("backend %s unavailable on this machine: %s", env ? env : "auto", why ? why : "?");
}

#endif /* ANYHV_TESTS_SUPPORT_BACKEND_H */
