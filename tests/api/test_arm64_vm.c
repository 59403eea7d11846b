/* Apple-silicon flavour, VM level: configuration objects, IPA size and granule,
 * allocation, the guest-physical map rules and misuse codes. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include "support/backend.h"

#define K4 0x1000u
#define K16 0x4000u

static void require(void) { test_require_backend(); }
static void teardown(void) { hv_vm_destroy(); }

TestSuite(arm64_vm, .init = require, .fini = teardown);

Test(arm64_vm, config_ipa_size_and_el2)
{
    uint32_t max = 0, def = 0, got = 0;
    cr_assert_eq(hv_vm_config_get_max_ipa_size(&max), HV_SUCCESS);
    cr_assert_eq(hv_vm_config_get_default_ipa_size(&def), HV_SUCCESS);
    cr_expect_leq(def, max);
    hv_vm_config_t c = hv_vm_config_create();
    cr_assert_not_null(c);
    cr_expect_eq(hv_vm_config_get_ipa_size(c, &got), HV_SUCCESS);
    cr_expect_eq(got, def);
    cr_expect_eq(hv_vm_config_set_ipa_size(c, max + 1), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_config_set_ipa_size(c, 40), HV_SUCCESS);
    cr_expect_eq(hv_vm_config_get_ipa_size(c, &got), HV_SUCCESS);
    cr_expect_eq(got, 40);
    bool el2 = true;
    cr_expect_eq(hv_vm_config_get_el2_supported(&el2), HV_SUCCESS);
    cr_expect_eq(el2, false, "EL2 is not implemented, and says so");
    cr_expect_eq(hv_vm_config_set_el2_enabled(c, true), HV_UNSUPPORTED);
    cr_expect_eq(hv_vm_config_set_el2_enabled(c, false), HV_SUCCESS);
    cr_expect_eq(hv_vm_config_get_ipa_size(NULL, &got), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_config_get_max_ipa_size(NULL), HV_BAD_ARGUMENT);
    os_release(c);
}

Test(arm64_vm, default_granule_is_16k_and_4k_is_configurable)
{
    void *mem;
    cr_assert_eq(hv_vm_allocate(&mem, 4 * K16, HV_ALLOCATE_DEFAULT), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem, K4, K16, HV_MEMORY_READ), HV_BAD_ARGUMENT, "IPA not 16K-aligned");
    cr_expect_eq(hv_vm_map(mem, 0, K4, HV_MEMORY_READ), HV_BAD_ARGUMENT, "size not 16K-aligned");
    cr_expect_eq(hv_vm_map((uint8_t *)mem + K4, K16, K16, HV_MEMORY_READ), HV_SUCCESS,
                 "host needs host-page alignment only");
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);

    hv_vm_config_t c = hv_vm_config_create();
    cr_assert_eq(hv_vm_config_set_ipa_granule(c, HV_IPA_GRANULE_4KB), HV_SUCCESS);
    hv_ipa_granule_t g;
    cr_expect_eq(hv_vm_config_get_ipa_granule(c, &g), HV_SUCCESS);
    cr_expect_eq(g, HV_IPA_GRANULE_4KB);
    cr_assert_eq(hv_vm_create(c), HV_SUCCESS);
    os_release(c);
    cr_expect_eq(hv_vm_map(mem, K4, K4, HV_MEMORY_READ), HV_SUCCESS, "4K granule maps 4K");
    cr_expect_eq(hv_vm_deallocate(mem, 4 * K16), HV_SUCCESS);
}

Test(arm64_vm, ipa_size_limits_the_map)
{
    hv_vm_config_t c = hv_vm_config_create();
    cr_assert_eq(hv_vm_config_set_ipa_size(c, 32), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(c), HV_SUCCESS);
    os_release(c);
    void *mem;
    cr_assert_eq(hv_vm_allocate(&mem, K16, HV_ALLOCATE_DEFAULT), HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem, 1ull << 32, K16, HV_MEMORY_READ), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_map(mem, (1ull << 32) - K16, K16, HV_MEMORY_READ), HV_SUCCESS);
}

Test(arm64_vm, misuse)
{
    void *mem;
    cr_expect_eq(hv_vm_allocate(NULL, K16, HV_ALLOCATE_DEFAULT), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_allocate(&mem, 100, HV_ALLOCATE_DEFAULT), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_allocate(&mem, K16, 1), HV_BAD_ARGUMENT);
    cr_assert_eq(hv_vm_allocate(&mem, 8 * K16, HV_ALLOCATE_DEFAULT), HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem, 0, K16, HV_MEMORY_READ), HV_BAD_ARGUMENT, "no VM yet");
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_expect_eq(hv_vm_create(NULL), HV_BUSY);
    cr_expect_eq(hv_vm_map(mem, 0, 4 * K16, HV_MEMORY_READ | HV_MEMORY_WRITE), HV_SUCCESS);
    cr_expect_eq(hv_vm_map(mem, 2 * K16, 4 * K16, HV_MEMORY_READ), HV_BAD_ARGUMENT, "overlap");
    cr_expect_eq(hv_vm_unmap(K16, K16), HV_SUCCESS, "split");
    cr_expect_eq(hv_vm_protect(0, 2 * K16, HV_MEMORY_READ), HV_BAD_ARGUMENT, "covers the hole");
    cr_expect_eq(hv_vm_protect(2 * K16, K16, HV_MEMORY_READ), HV_SUCCESS);
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    cr_expect_eq(hv_vm_destroy(), HV_BUSY);
    cr_expect_eq(hv_vcpu_destroy(vcpu), HV_SUCCESS);
    cr_expect_eq(hv_vm_destroy(), HV_SUCCESS);
}
