/* The raw-KVM engine: the bench guest on KVM through ioctls alone, with the same
 * machine anyhv-run builds (64-bit mode, CPL3, same tables), so the difference with
 * anyhv-on-KVM is the cost of the hv_* layer. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "../tools/anyhv-run/x86_machine.h"

#define KVM_CPUID_MAX 256
#define SEG_TYPE_CODE_XR_ACCESSED 0xbu
#define SEG_TYPE_DATA_RW_ACCESSED 0x3u
#define SEG_TYPE_TSS64_BUSY 0xbu
#define SEG_LIMIT_FLAT 0xffffffffu

struct kvm_ctx {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *ram;
};

static bool kvm_raw_available(const struct bench_engine *e, const char **why)
{
    (void)e;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = "/dev/kvm cannot be opened";
        return false;
    }
    close(fd);
    *why = "";
    return true;
}

static struct kvm_segment seg(uint16_t sel, uint64_t base, uint32_t limit, uint8_t type, uint8_t dpl, bool code, bool sys)
{
    struct kvm_segment s = { .base = base, .limit = limit, .selector = sel, .type = type, .present = 1, .dpl = dpl,
                             .s = sys ? 0 : 1, .l = code ? 1 : 0, .db = (!code && !sys) ? 1 : 0, .g = sys ? 0 : 1 };
    return s;
}

#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE_AVX 0x7ull

static bool setup_vcpu(struct kvm_ctx *k, uint64_t entry, char *err, size_t errlen)
{
    struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[KVM_CPUID_MAX]; } cpuid = { .h.nent = KVM_CPUID_MAX };
    struct kvm_sregs sr;
    if (ioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 || ioctl(k->vcpu, KVM_SET_CPUID2, &cpuid) < 0 ||
        ioctl(k->vcpu, KVM_GET_SREGS, &sr) < 0) {
        snprintf(err, errlen, "KVM CPUID/SREGS setup failed");
        return false;
    }
    sr.cs = seg(X86M_SEL_UCODE, 0, SEG_LIMIT_FLAT, SEG_TYPE_CODE_XR_ACCESSED, 3, true, false);
    sr.ss = sr.ds = sr.es = sr.fs = sr.gs = seg(X86M_SEL_UDATA, 0, SEG_LIMIT_FLAT, SEG_TYPE_DATA_RW_ACCESSED, 3, false, false);
    sr.tr = seg(X86M_SEL_TSS, X86M_TSS_BASE, X86M_TSS_LIMIT, SEG_TYPE_TSS64_BUSY, 0, false, true);
    sr.ldt = (struct kvm_segment){ .unusable = 1 };
    sr.gdt = (struct kvm_dtable){ .base = X86M_GDT_BASE, .limit = X86M_GDT_LIMIT };
    sr.idt = (struct kvm_dtable){ .base = X86M_IDT_BASE, .limit = X86M_IDT_LIMIT };
    sr.cr0 = X86M_GUEST_CR0;
    sr.cr3 = X86M_PML4_BASE;
    sr.cr4 = X86M_GUEST_CR4 & ~X86M_GUEST_CR4_VMXE;
    sr.efer = X86M_GUEST_EFER;
    struct kvm_regs regs = { .rip = entry, .rsp = BENCH_RAM_BYTES, .rflags = X86M_GUEST_RFLAGS_USER };
    /* AVX for the vector workloads, as an OS enables it, where KVM offers XSAVE. */
    struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = XCR0_X87_SSE_AVX } } };
    sr.cr4 |= CR4_OSXSAVE;
    if (ioctl(k->vcpu, KVM_SET_SREGS, &sr) < 0 || ioctl(k->vcpu, KVM_SET_XCRS, &xcrs) < 0)
        sr.cr4 &= ~CR4_OSXSAVE;   /* no XSAVE: the vector workloads will fault */
    if (ioctl(k->vcpu, KVM_SET_SREGS, &sr) < 0 || ioctl(k->vcpu, KVM_SET_REGS, &regs) < 0) {
        snprintf(err, errlen, "KVM_SET_SREGS/REGS failed");
        return false;
    }
    return true;
}

static bool open_vm(struct kvm_ctx *k, char *err, size_t errlen)
{
    k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    k->vm = k->kvm < 0 ? -1 : ioctl(k->kvm, KVM_CREATE_VM, 0);
    k->ram = mmap(NULL, BENCH_RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (k->vm < 0 || k->ram == MAP_FAILED) {
        snprintf(err, errlen, "cannot create a KVM VM");
        return false;
    }
    struct kvm_userspace_memory_region mr = { .slot = 0, .guest_phys_addr = 0, .memory_size = BENCH_RAM_BYTES,
                                              .userspace_addr = (uintptr_t)k->ram };
    k->vcpu = ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0 ? -1 : ioctl(k->vm, KVM_CREATE_VCPU, 0);
    long sz = k->vcpu < 0 ? -1 : ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    k->run = sz <= 0 ? MAP_FAILED : mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu, 0);
    k->run_size = sz > 0 ? (size_t)sz : 0;
    if (k->run == MAP_FAILED) {
        snprintf(err, errlen, "cannot create a KVM vCPU");
        return false;
    }
    return true;
}

static void close_vm(struct kvm_ctx *k)
{
    if (k->run && k->run != MAP_FAILED)
        munmap(k->run, k->run_size);
    if (k->ram && k->ram != MAP_FAILED)
        munmap(k->ram, BENCH_RAM_BYTES);
    if (k->vcpu >= 0)
        close(k->vcpu);
    if (k->vm >= 0)
        close(k->vm);
    if (k->kvm >= 0)
        close(k->kvm);
}

static void kvm_raw_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    (void)e;
    (void)w;
    struct kvm_ctx k = { .kvm = -1, .vm = -1, .vcpu = -1 };
    uint64_t entry = 0;
    if (!open_vm(&k, r->error, sizeof(r->error)) ||
        !bench_load_elf(image, k.ram, 0, BENCH_RAM_BYTES, &entry, r->error, sizeof(r->error))) {
        close_vm(&k);
        return;
    }
    x86m_build_tables(k.ram, X86M_MODE_LONG64);
    if (!setup_vcpu(&k, entry, r->error, sizeof(r->error))) {
        close_vm(&k);
        return;
    }
    double t0 = bench_now();
    for (;;) {
        if (ioctl(k.vcpu, KVM_RUN, 0) < 0) {
            snprintf(r->error, sizeof(r->error), "KVM_RUN failed");
            break;
        }
        if (k.run->exit_reason == KVM_EXIT_IO && k.run->io.port == X86M_FAULT_PORT) {
            struct kvm_regs regs;
            uint64_t frame[2] = { 0 };
            uint8_t vector = *((uint8_t *)k.run + k.run->io.data_offset);
            if (ioctl(k.vcpu, KVM_GET_REGS, &regs) == 0 && regs.rsp < BENCH_RAM_BYTES - sizeof(frame))
                memcpy(frame, k.ram + regs.rsp, sizeof(frame));
            snprintf(r->error, sizeof(r->error), "guest exception %s (vector %u) at rip %#llx",
                     x86m_vector_name(vector), vector,
                     (unsigned long long)frame[x86m_vector_has_error_code(vector) ? 1 : 0]);
            break;
        }
        if (k.run->exit_reason != KVM_EXIT_MMIO) {
            snprintf(r->error, sizeof(r->error), "unexpected KVM exit %u", k.run->exit_reason);
            break;
        }
        if (k.run->mmio.phys_addr == BENCH_X86_EXIT) {
            r->seconds = bench_now() - t0;
            memcpy(&r->value, k.ram + BENCH_X86_RESULT, sizeof(r->value));
            r->ok = true;
            break;
        }
        if (!k.run->mmio.is_write)   /* the device reads as 0; KVM completes the load */
            memset(k.run->mmio.data, 0, sizeof(k.run->mmio.data));
        r->exits++;
    }
    close_vm(&k);
}

const struct bench_engine bench_engine_kvm_raw = { "kvm", BENCH_X86_64, kvm_raw_available, kvm_raw_run, NULL, NULL };
