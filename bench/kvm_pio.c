/* bench: round trip of a port-I/O exit on KVM, through anyhv's Intel API versus raw
 * KVM ioctls, on the same guest (`1: out %al, $0x80; jmp 1b`), once in real mode and
 * once in 64-bit mode at CPL3. Through the API every exit is a VMX-style exit (the
 * instruction has not retired; the client reads the exit reason, RIP and
 * instruction length and advances RIP); raw KVM completes the OUT in the kernel.
 * Prints microseconds per exit, median of BENCH_RUNS runs of BENCH_EXITS exits
 * each, and the ratio. */
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
#define RAM_SIZE 0x400000u
#define CODE_ADDR 0x1000u
/* 64-bit CPL3 machine: identity-mapped 2 MiB user page, flat CPL3 segments. */
#define PML4_ADDR 0x10000u
#define PDPT_ADDR 0x11000u
#define PD_ADDR 0x12000u
#define PTE_PRESENT_RW_USER 0x7u
#define PDE_2M_USER 0x87u
#define USER_CS 0x33u
#define USER_SS 0x2bu
#define TSS_SEL 0x40u
#define TSS_ADDR 0x13000u
#define TSS_LIMIT 0x67u
#define STACK_TOP 0x8000u
#define CR0_PE_NE_ET_PG 0x80000031ull
#define CR4_PAE 0x20ull
#define CR4_VMXE 0x2000ull
#define EFER_LME_LMA 0x500ull
#define AR_CODE64_DPL3 0xa0fbu
#define AR_DATA_DPL3 0xc0f3u
#define AR_TSS64_BUSY 0x8bu
#define AR_UNUSABLE 0x10000u

enum mode { MODE_REAL, MODE_CPL3 };

static void build_page_tables(uint8_t *ram)
{
    uint64_t pml4e = PDPT_ADDR | PTE_PRESENT_RW_USER, pdpte = PD_ADDR | PTE_PRESENT_RW_USER, pde = PDE_2M_USER;
    memcpy(ram + PML4_ADDR, &pml4e, 8);
    memcpy(ram + PDPT_ADDR, &pdpte, 8);
    memcpy(ram + PD_ADDR, &pde, 8);
}
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

static void raw_cpl3(int cpu, struct kvm_sregs *s)
{
    struct kvm_segment cs = { .limit = 0xffffffff, .selector = USER_CS, .type = 11, .present = 1, .dpl = 3,
                              .s = 1, .l = 1, .g = 1 };
    struct kvm_segment ds = { .limit = 0xffffffff, .selector = USER_SS, .type = 3, .present = 1, .dpl = 3,
                              .s = 1, .db = 1, .g = 1 };
    s->cs = cs;
    s->ss = s->ds = s->es = ds;
    s->tr = (struct kvm_segment){ .base = TSS_ADDR, .limit = TSS_LIMIT, .selector = TSS_SEL, .type = 11, .present = 1 };
    s->cr0 = CR0_PE_NE_ET_PG;
    s->cr3 = PML4_ADDR;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME_LMA;
    s->idt.limit = 0;
    (void)cpu;
}

static double raw_run(enum mode mode)
{
    int sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int vm = ioctl(sys, KVM_CREATE_VM, 0);
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
    build_page_tables(ram);
    struct kvm_userspace_memory_region region = { .memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)ram };
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    struct kvm_run *run = mmap(NULL, (size_t)ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
                               MAP_SHARED, cpu, 0);
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[256];
    } cpuid = { .c.nent = 256 };
    ioctl(sys, KVM_GET_SUPPORTED_CPUID, &cpuid);
    ioctl(cpu, KVM_SET_CPUID2, &cpuid);
    struct kvm_sregs s;
    ioctl(cpu, KVM_GET_SREGS, &s);
    s.cs.base = 0;
    s.cs.selector = 0;
    if (mode == MODE_CPL3)
        raw_cpl3(cpu, &s);
    ioctl(cpu, KVM_SET_SREGS, &s);
    struct kvm_regs r = { .rip = CODE_ADDR, .rflags = 2, .rsp = STACK_TOP };
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

#define SEG(R) VMCS_GUEST_##R, VMCS_GUEST_##R##_BASE, VMCS_GUEST_##R##_LIMIT, VMCS_GUEST_##R##_AR

static void api_seg(uint32_t sel, uint32_t base, uint32_t limit, uint32_t ar, uint64_t s, uint64_t b, uint64_t l,
                    uint64_t a)
{
    wvmcs(sel, s);
    wvmcs(base, b);
    wvmcs(limit, l);
    wvmcs(ar, a);
}

static void api_cpl3(void)
{
    api_seg(SEG(CS), USER_CS, 0, 0xffffffff, AR_CODE64_DPL3);
    api_seg(SEG(SS), USER_SS, 0, 0xffffffff, AR_DATA_DPL3);
    api_seg(SEG(DS), USER_SS, 0, 0xffffffff, AR_DATA_DPL3);
    api_seg(SEG(ES), USER_SS, 0, 0xffffffff, AR_DATA_DPL3);
    api_seg(SEG(FS), 0, 0, 0, AR_UNUSABLE);
    api_seg(SEG(GS), 0, 0, 0, AR_UNUSABLE);
    api_seg(SEG(LDTR), 0, 0, 0, AR_UNUSABLE);
    api_seg(SEG(TR), TSS_SEL, TSS_ADDR, TSS_LIMIT, AR_TSS64_BUSY);
    wvmcs(VMCS_GUEST_CR0, CR0_PE_NE_ET_PG);
    wvmcs(VMCS_GUEST_CR3, PML4_ADDR);
    wvmcs(VMCS_GUEST_CR4, CR4_PAE | CR4_VMXE);
    wvmcs(VMCS_GUEST_IA32_EFER, EFER_LME_LMA);
    wvmcs(VMCS_GUEST_IDTR_LIMIT, 0);
}

static double api_run(enum mode mode)
{
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
    build_page_tables(ram);
    if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS ||
        hv_vm_map(ram, 0, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS ||
        hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT) != HV_SUCCESS) {
        fprintf(stderr, "kvm_pio: VM setup failed\n");
        exit(1);
    }
    wvmcs(VMCS_GUEST_CS, 0);
    wvmcs(VMCS_GUEST_CS_BASE, 0);
    wvmcs(VMCS_GUEST_CR0, 0x20);
    wvmcs(VMCS_GUEST_CR4, CR4_VMXE);
    if (mode == MODE_CPL3)
        api_cpl3();
    hv_vcpu_write_register(vcpu, HV_X86_RSP, STACK_TOP);
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

static void measure(enum mode mode, const char *label)
{
    double raw[BENCH_RUNS], api[BENCH_RUNS];
    for (int i = 0; i < BENCH_RUNS; i++) {
        raw[i] = raw_run(mode);
        api[i] = api_run(mode);
    }
    qsort(raw, BENCH_RUNS, sizeof(double), cmp_double);
    qsort(api, BENCH_RUNS, sizeof(double), cmp_double);
    double r = raw[BENCH_RUNS / 2], a = api[BENCH_RUNS / 2];
    printf("kvm_pio: %-18s raw KVM %8.2f us/exit   anyhv hv_vcpu_run %8.2f us/exit   %.2fx\n", label, r, a, a / r);
}

int main(void)
{
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_KVM, &why)) {
        printf("kvm_pio: skipped, KVM unavailable: %s\n", why ? why : "?");
        return 0;
    }
    anyhv_set_backend(ANYHV_BACKEND_KVM);
    printf("kvm_pio: port-I/O exit round trip (OUT to port 0x80), %d exits x %d runs, median; %s\n", BENCH_EXITS,
           BENCH_RUNS, why);
    measure(MODE_REAL, "real mode");
    measure(MODE_CPL3, "64-bit, CPL3");
    return 0;
}
