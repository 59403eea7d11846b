/* anyhv-info: what anyhv can do on this machine, for one flavour: version,
 * backends and why, the route `auto` takes, and a smoke check of the API
 * (create a VM, map memory, create a vCPU, try to run it). Public API only. */
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SMOKE_PAGE 0x4000u

static const char *hv_strerror(hv_return_t r)
{
    switch (r) {
    case HV_SUCCESS: return "HV_SUCCESS";
    case HV_ERROR: return "HV_ERROR";
    case HV_BUSY: return "HV_BUSY";
    case HV_BAD_ARGUMENT: return "HV_BAD_ARGUMENT";
#if ANYHV_HV_ARM64
    case HV_ILLEGAL_GUEST_STATE: return "HV_ILLEGAL_GUEST_STATE";
#endif
    case HV_NO_RESOURCES: return "HV_NO_RESOURCES";
    case HV_NO_DEVICE: return "HV_NO_DEVICE";
    case HV_DENIED: return "HV_DENIED";
    case HV_UNSUPPORTED: return "HV_UNSUPPORTED";
    default: return "unknown";
    }
}

static int smoke(void)
{
    void *mem = mmap(NULL, SMOKE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
#if ANYHV_HV_ARM64
    hv_return_t r = hv_vm_create(NULL);
#else
    hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
#endif
    printf("  hv_vm_create           %s (backend: %s)\n", hv_strerror(r), anyhv_backend_name());
    if (r != HV_SUCCESS)
        return 1;
    r = hv_vm_map(mem, 0, SMOKE_PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
    printf("  hv_vm_map              %s\n", hv_strerror(r));
#if ANYHV_HV_ARM64
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit_info;
    r = hv_vcpu_create(&vcpu, &exit_info, NULL);
#else
    hv_vcpuid_t vcpu;
    r = hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT);
#endif
    printf("  hv_vcpu_create         %s\n", hv_strerror(r));
    if (r == HV_SUCCESS) {
        /* A guest that halts at once: HLT (x86) or WFI (arm64) at address 0. */
#if ANYHV_HV_ARM64
        static const unsigned char halt[] = { 0x7f, 0x20, 0x03, 0xd5 };
#else
        static const unsigned char halt[] = { 0xf4 };
#endif
        for (size_t i = 0; i < sizeof(halt); i++)
            ((unsigned char *)mem)[i] = halt[i];
        printf("  hv_vcpu_run            %s\n", hv_strerror(hv_vcpu_run(vcpu)));
        hv_vcpu_destroy(vcpu);
    }
    hv_vm_destroy();
    munmap(mem, SMOKE_PAGE);
    return 0;
}

int main(void)
{
    const char *flavour = anyhv_guest_arch() == ANYHV_GUEST_ARCH_ARM64 ? "arm64 (Apple-silicon API)"
                                                                       : "x86_64 (Intel API)";
    printf("anyhv %s, flavour %s\n", anyhv_version_string(), flavour);
    const char *why = NULL;
    bool kvm = anyhv_backend_available(ANYHV_BACKEND_KVM, &why);
    printf("  backend kvm            %s: %s\n", kvm ? "available" : "unavailable", why);
    bool soft = anyhv_backend_available(ANYHV_BACKEND_SOFT, &why);
    printf("  backend soft           %s: %s\n", soft ? "available" : "unavailable", why);
    printf("  auto chooses           %s\n", anyhv_backend_name());
    return smoke();
}
