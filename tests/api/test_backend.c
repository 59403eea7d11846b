/* Backend routing: the extension call, ANYHV_BACKEND, and the auto rule (KVM only
 * where /dev/kvm works and the CPU has hardware virtualization flags). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void clear_env(void) { unsetenv("ANYHV_BACKEND"); }
TestSuite(backend, .init = clear_env);

static bool kvm_opens(void)
{
    int fd = open("/dev/kvm", O_RDWR);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Read the CPU flags independently of the library. */
static bool cpu_has_hw_virt(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    cr_assert_not_null(f);
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = strstr(line, " vmx") || strstr(line, " svm");
        break;
    }
    fclose(f);
    return found;
}

Test(backend, auto_follows_the_documented_rule)
{
    const char *expected = kvm_opens() && cpu_has_hw_virt() ? "kvm" : "soft";
    cr_expect_str_eq(anyhv_backend_name(), expected, "before the VM exists");
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    cr_expect_str_eq(anyhv_backend_name(), expected, "the VM's backend");
    hv_vm_destroy();
}

Test(backend, extension_call_forces_soft_and_is_busy_with_a_vm)
{
    cr_assert_eq(anyhv_set_backend(ANYHV_BACKEND_SOFT), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(HV_VM_DEFAULT), HV_SUCCESS);
    cr_expect_eq(anyhv_get_backend(), ANYHV_BACKEND_SOFT);
    cr_expect_str_eq(anyhv_backend_name(), "soft");
    cr_expect_eq(anyhv_set_backend(ANYHV_BACKEND_KVM), HV_BUSY);
    hv_vm_destroy();
    cr_expect_eq(anyhv_set_backend((anyhv_backend_t)9), HV_BAD_ARGUMENT);
}

Test(backend, environment_selects_and_the_call_wins)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    cr_expect_eq(anyhv_get_backend(), ANYHV_BACKEND_SOFT);
    if (kvm_opens()) {
        cr_assert_eq(anyhv_set_backend(ANYHV_BACKEND_KVM), HV_SUCCESS);
        cr_expect_eq(anyhv_get_backend(), ANYHV_BACKEND_KVM, "the extension call overrides the variable");
    }
}

Test(backend, forced_kvm_opens_or_says_no_device)
{
    cr_assert_eq(anyhv_set_backend(ANYHV_BACKEND_KVM), HV_SUCCESS);
    hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
    if (kvm_opens()) {
        cr_expect_eq(r, HV_SUCCESS);
        cr_expect_str_eq(anyhv_backend_name(), "kvm");
        hv_vm_destroy();
    } else {
        cr_expect_eq(r, HV_NO_DEVICE);
    }
    const char *why = NULL;
    cr_expect_eq(anyhv_backend_available(ANYHV_BACKEND_KVM, &why), kvm_opens());
    cr_expect_not_null(why);
}

Test(backend, version_and_arch)
{
    cr_expect_eq(anyhv_version(), ANYHV_VERSION);
    cr_expect_not_null(anyhv_version_string());
    cr_expect_eq(anyhv_guest_arch(), ANYHV_GUEST_ARCH_X86_64);
}
