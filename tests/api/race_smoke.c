/* race_smoke: the concurrency paths of the Intel flavour in one plain program (also run
 * with ANYHV_JIT=on, so the compile thread joins in). One thread runs a real-mode guest
 * storing in a loop; another
 * changes the map; a third interrupts; then hv_vm_destroy races map and vCPU calls.
 * Exit status 0 when every call returned what it should. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <anyhv/anyhv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "support/x86_segments.h"

#define RAM 0x10000u
#define CHANGES 300
#define ROUNDS 40

static uint8_t *ram, *spare;
static _Atomic int running, failures;
static _Atomic uint32_t vcpu_id;

static void fail(const char *what, hv_return_t r)
{
    fprintf(stderr, "race_smoke: %s returned %#x\n", what, (unsigned)r);
    atomic_fetch_add(&failures, 1);
}

static void *runner(void *arg)
{
    (void)arg;
    hv_vcpuid_t v;
    if (hv_vcpu_create(&v, HV_VCPU_DEFAULT) != HV_SUCCESS) {
        fail("hv_vcpu_create", HV_ERROR);
        atomic_store(&running, 2);
        return NULL;
    }
    static const uint8_t loop[] = { 0xa3, 0x00, 0x20, 0x40, 0xeb, 0xfa };   /* mov [0x2000],ax; inc ax; jmp */
    memcpy(ram + 0x1000, loop, sizeof(loop));
    for (unsigned seg = 0; seg < TSEG_COUNT; seg++)
        test_write_segment(v, seg, 0, 0, 0xffff,
                           seg == TSEG_CS ? 0x9bu : seg == TSEG_LDTR ? 0x82u : seg == TSEG_TR ? 0x8bu : 0x93u);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_CR0, 0x20);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_CR4, 0x2000);
    hv_vcpu_write_register(v, HV_X86_RIP, 0x1000);
    hv_vcpu_write_register(v, HV_X86_RFLAGS, 2);
    atomic_store(&vcpu_id, v);
    atomic_store(&running, 1);
    hv_return_t r = hv_vcpu_run(v);
    if (r != HV_SUCCESS)
        fail("hv_vcpu_run", r);
    atomic_store(&running, 2);
    hv_vcpu_destroy(v);
    return NULL;
}

static void storm(void)
{
    pthread_t t;
    pthread_create(&t, NULL, runner, NULL);
    while (atomic_load(&running) == 0)
        sched_yield();
    for (int i = 0; i < CHANGES && atomic_load(&running) == 1; i++) {
        hv_return_t r = i % 2 ? hv_vm_map(spare, 0x20000, 0x1000, HV_MEMORY_READ | HV_MEMORY_WRITE)
                              : hv_vm_unmap(0x20000, 0x1000);
        if (r != HV_SUCCESS && !(i == 0 && r == HV_BAD_ARGUMENT))
            fail("map change", r);
        r = hv_vm_protect(0x8000, 0x1000, i % 2 ? HV_MEMORY_READ : HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
        if (r != HV_SUCCESS)
            fail("hv_vm_protect", r);
    }
    if (atomic_load(&running) != 1)
        fail("the guest stopped during the storm", HV_ERROR);
    hv_vcpuid_t v = atomic_load(&vcpu_id);
    hv_vcpu_interrupt(&v, 1);
    pthread_join(t, NULL);
}

static _Atomic bool stop;

static void *caller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        hv_vcpuid_t v;
        hv_return_t r = hv_vcpu_create(&v, HV_VCPU_DEFAULT);
        if (r == HV_SUCCESS) {
            uint64_t x;
            if (hv_vcpu_read_register(v, HV_X86_RAX, &x) != HV_SUCCESS)
                fail("read on an owned vCPU", HV_ERROR);
            hv_vcpu_destroy(v);
        } else if (r != HV_BAD_ARGUMENT) {
            fail("hv_vcpu_create", r);
        }
        r = hv_vm_map(spare, 0x30000, 0x1000, HV_MEMORY_READ);
        if (r != HV_SUCCESS && r != HV_BAD_ARGUMENT)
            fail("hv_vm_map", r);
        hv_vm_unmap(0x30000, 0x1000);
    }
    return NULL;
}

int main(void)
{
    anyhv_set_backend(ANYHV_BACKEND_SOFT);
    ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    spare = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS ||
        hv_vm_map(ram, 0, RAM, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS)
        return 2;
    storm();
    if (hv_vm_destroy() != HV_SUCCESS)
        fail("hv_vm_destroy", HV_ERROR);
    pthread_t t;
    pthread_create(&t, NULL, caller, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        if (hv_vm_create(HV_VM_DEFAULT) != HV_SUCCESS)
            fail("hv_vm_create", HV_ERROR);
        hv_return_t r;
        while ((r = hv_vm_destroy()) == HV_BUSY)
            sched_yield();
        if (r != HV_SUCCESS)
            fail("hv_vm_destroy", r);
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    int n = atomic_load(&failures);
    printf("race_smoke: %d changes, %d VM lifetimes, %d failures\n", CHANGES, ROUNDS, n);
    return n ? 1 : 0;
}
