/* bench: round trip of a port-I/O exit on KVM, through anyhv's Intel API versus raw
 * KVM ioctls, on the same guest (real mode: `1: out %al, $0x80; jmp 1b`). Through
 * the API every exit is a VMX-style exit (the instruction has not retired; the
 * client reads the exit reason, RIP and instruction length and advances RIP); raw
 * KVM completes the OUT in the kernel. Prints microseconds per exit, median of
 * BENCH_RUNS runs of BENCH_EXITS exits each, and the ratio. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BENCH_EXITS 2000
#define BENCH_RUNS 5
#define RAM_SIZE 0x10000u
#define CODE_ADDR 0x1000u
#define PORT 0x80u
#define REASON_IO 30u

static const uint8_t guest_code[] = { 0xe6, PORT, 0xeb, 0xfc };   /* out %al, $0x80; jmp .-4 */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --- raw KVM -------------------------------------------------------------------- */

static double raw_run(void)
{
    int sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int vm = ioctl(sys, KVM_CREATE_VM, 0);
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
    struct kvm_userspace_memory_region region = { .memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)ram };
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    struct kvm_run *run = mmap(NULL, (size_t)ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
                               MAP_SHARED, cpu, 0);
    struct kvm_sregs s;
    ioctl(cpu, KVM_GET_SREGS, &s);
    s.cs.base = 0;
    s.cs.selector = 0;
    ioctl(cpu, KVM_SET_SREGS, &s);
    struct kvm_regs r = { .rip = CODE_ADDR, .rflags = 2 };
    ioctl(cpu, KVM_SET_REGS, &r);
    double t0 = now_us();
    for (int i = 0; i < BENCH_EXITS; i++) {
        if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "kvm_pio: raw KVM: unexpected exit %u\n", run->exit_reason);
            exit(1);
        }
    }
    double per = (now_us() - t0) / BENCH_EXITS;
    close(cpu);
    close(vm);
    close(sys);
    munmap(ram, RAM_SIZE);
    return per;
}

/* --- anyhv ------------------------------------------------------------------------- */

static hv_vcpuid_t vcpu;

static void wvmcs(uint32_t field, uint64_t value)
{
    if (hv_vmx_vcpu_write_vmcs(vcpu, field, value) != HV_SUCCESS) {
        fprintf(stderr, "kvm_pio: VMCS write %#x failed\n", field);
        exit(1);
    }
}

static uint64_t rvmcs(uint32_t field)
{
    uint64_t v = 0;
    hv_vmx_vcpu_read_vmcs(vcpu, field, &v);
    return v;
}

static double api_run(void)
{
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
    if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS ||
        hv_vm_map(ram, 0, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS ||
        hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "kvm_pio: VM setup failed\n");
        exit(1);
    }
    wvmcs(VMCS_GUEST_CS, 0);
    wvmcs(VMCS_GUEST_CS_BASE, 0);
    wvmcs(VMCS_GUEST_CR0, 0x20);
    wvmcs(VMCS_GUEST_CR4, 0x2000);
    hv_vcpu_write_register(vcpu, HV_X86_RIP, CODE_ADDR);
    hv_vcpu_write_register(vcpu, HV_X86_RFLAGS, 2);
    double t0 = now_us();
    for (int i = 0; i < BENCH_EXITS; i++) {
        if (hv_vcpu_run(vcpu) != HV_SUCCESS || (rvmcs(VMCS_RO_EXIT_REASON) & 0xffff) != REASON_IO) {
            fprintf(stderr, "kvm_pio: anyhv: unexpected exit\n");
            exit(1);
        }
        uint64_t rip = 0;
        hv_vcpu_read_register(vcpu, HV_X86_RIP, &rip);
        hv_vcpu_write_register(vcpu, HV_X86_RIP, rip + rvmcs(VMCS_RO_VMEXIT_INSTR_LEN));
    }
    double per = (now_us() - t0) / BENCH_EXITS;
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy();
    munmap(ram, RAM_SIZE);
    return per;
}

int main(void)
{
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_KVM, &why)) {
        printf("kvm_pio: skipped, KVM unavailable: %s\n", why ? why : "?");
        return 0;
    }
    anyhv_set_backend(ANYHV_BACKEND_KVM);
    double raw[BENCH_RUNS], api[BENCH_RUNS];
    for (int i = 0; i < BENCH_RUNS; i++) {
        raw[i] = raw_run();
        api[i] = api_run();
    }
    qsort(raw, BENCH_RUNS, sizeof(double), cmp_double);
    qsort(api, BENCH_RUNS, sizeof(double), cmp_double);
    double r = raw[BENCH_RUNS / 2], a = api[BENCH_RUNS / 2];
    printf("kvm_pio: port-I/O exit round trip, real-mode guest, %d exits x %d runs, median\n", BENCH_EXITS,
           BENCH_RUNS);
    printf("kvm_pio:   KVM (%s)\n", why);
    printf("kvm_pio:   raw KVM ioctls          %8.2f us/exit\n", r);
    printf("kvm_pio:   anyhv hv_vcpu_run (VMX) %8.2f us/exit  (%.2fx raw)\n", a, a / r);
    return 0;
}
