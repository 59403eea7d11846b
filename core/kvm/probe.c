/* Can KVM run our guests here, and is it hardware virtualization or an emulated
 * KVM (such as PVM)? Answered once per process and cached. */
#include "core/kvm/kvm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define KVM_EXPECTED_API_VERSION 12
#define CPUID_LEAF_FEATURES 1u
#define CPUID_ECX_VMX (1u << 5)
#define CPUID_LEAF_EXT_FEATURES 0x80000001u
#define CPUID_EXT_ECX_SVM (1u << 2)

int kvm_open_system(const char **why)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (why)
            *why = errno == ENOENT ? "/dev/kvm does not exist" : "/dev/kvm cannot be opened";
        return -1;
    }
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_EXPECTED_API_VERSION) {
        if (why)
            *why = "/dev/kvm speaks an unexpected KVM API version";
        close(fd);
        return -1;
    }
    return fd;
}

static enum guest_arch host_arch(void)
{
#if defined(__aarch64__)
    return GUEST_ARM64;
#else
    return GUEST_X86_64;
#endif
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static hv_return_t probe_status;
static const char *probe_why;
static bool probe_hw_virt;

static void probe(void)
{
    int fd = kvm_open_system(&probe_why);
    probe_status = fd < 0 ? HV_NO_DEVICE : HV_SUCCESS;
    if (fd >= 0) {
        probe_why = "KVM is available";
        close(fd);
    }
#if defined(__x86_64__)
    unsigned a, b, c, d;
    bool vmx = __get_cpuid(CPUID_LEAF_FEATURES, &a, &b, &c, &d) && (c & CPUID_ECX_VMX);
    bool svm = __get_cpuid(CPUID_LEAF_EXT_FEATURES, &a, &b, &c, &d) && (c & CPUID_EXT_ECX_SVM);
    probe_hw_virt = vmx || svm;
#elif defined(__aarch64__)
    probe_hw_virt = true;   /* KVM on arm64 always runs guests at EL1 under EL2 */
#else
    probe_hw_virt = false;
#endif
}

hv_return_t kvm_backend_check(enum guest_arch arch, const char **why)
{
    pthread_once(&probe_once, probe);
    if (probe_status != HV_SUCCESS) {
        if (why)
            *why = probe_why;
        return probe_status;
    }
    if (arch != host_arch()) {
        if (why)
            *why = "KVM runs only guests of the host's instruction set";
        return HV_UNSUPPORTED;
    }
#if !defined(__x86_64__)
    if (why)
        *why = "anyhv's KVM route is implemented for x86-64 hosts only";
    return HV_UNSUPPORTED;
#endif
    if (why)
        *why = probe_hw_virt ? "KVM with hardware virtualization"
                             : "KVM without hardware virtualization flags (emulated, e.g. PVM)";
    return HV_SUCCESS;
}

bool kvm_host_has_hw_virt(void)
{
    pthread_once(&probe_once, probe);
    return probe_hw_virt;
}
