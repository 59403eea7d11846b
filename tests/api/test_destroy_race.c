/* hv_vm_destroy and hv_vm_create on one thread racing hv_vm_map/unmap, hv_vcpu_create,
 * hv_vcpu_read_register and hv_vcpus_exit on others, many rounds: every call returns
 * an HV_* code that fits what the VM was doing (success, HV_BAD_ARGUMENT with no VM,
 * HV_BUSY for a destroy while vCPUs exist) and the process lives. Built once per
 * flavour (RACE_ARM64 selects the Apple-silicon calls). */
#ifdef RACE_ARM64
#define ANYHV_GUEST_ARM64 1
#else
#define ANYHV_GUEST_X86_64 1
#endif
#include <Hypervisor/Hypervisor.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#include "support/backend.h"

#ifdef RACE_ARM64
#define VM_CREATE() hv_vm_create(NULL)
#else
#define VM_CREATE() hv_vm_create(HV_VM_DEFAULT)
#endif

#ifdef RACE_ARM64
#define PAGE 0x4000u   /* the default IPA granule */
#else
#define PAGE 0x1000u
#endif
/* VM lifetimes per run (KVM VMs cost more to create). */
#define ROUNDS_SOFT 400u
#define ROUNDS_KVM 60u

struct race {
    _Atomic bool stop;
    _Atomic uint32_t calls;
    _Atomic uint32_t vcpus_made;
    _Atomic uint32_t maps_done;
    _Atomic int bad_code;          /* first unexpected return value, 0 = none */
    _Atomic int bad_call;          /* which call returned it */
    uint8_t *mem;
};

static void expect_code(struct race *r, int call, hv_return_t got, hv_return_t ok1, hv_return_t ok2)
{
    atomic_fetch_add(&r->calls, 1);
    if (got == ok1 || got == ok2)
        return;
    int none = 0;
    if (atomic_compare_exchange_strong(&r->bad_code, &none, (int)got))
        atomic_store(&r->bad_call, call);
}

static hv_return_t create_vcpu(uint64_t *id)
{
#ifdef RACE_ARM64
    hv_vcpu_t v;
    hv_vcpu_exit_t *x;
    hv_return_t ret = hv_vcpu_create(&v, &x, NULL);
#else
    hv_vcpuid_t v;
    hv_return_t ret = hv_vcpu_create(&v, HV_VCPU_DEFAULT);
#endif
    *id = v;
    return ret;
}

static hv_return_t read_reg(uint64_t id)
{
    uint64_t val;
#ifdef RACE_ARM64
    return hv_vcpu_get_reg((hv_vcpu_t)id, HV_REG_X0, &val);
#else
    return hv_vcpu_read_register((hv_vcpuid_t)id, HV_X86_RAX, &val);
#endif
}

static hv_return_t kick(uint64_t id)
{
#ifdef RACE_ARM64
    hv_vcpu_t v = (hv_vcpu_t)id;
    return hv_vcpus_exit(&v, 1);
#else
    hv_vcpuid_t v = (hv_vcpuid_t)id;
    return hv_vcpu_interrupt(&v, 1);
#endif
}

static hv_return_t map_rw(void *host, uint64_t gpa)
{
    return hv_vm_map(host, gpa, PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE);
}

static void *vcpu_main(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        uint64_t id = 0;
        hv_return_t ret = create_vcpu(&id);
        expect_code(r, 1, ret, HV_SUCCESS, HV_BAD_ARGUMENT);
        if (ret != HV_SUCCESS) {
            expect_code(r, 2, read_reg(0), HV_BAD_ARGUMENT, HV_BAD_ARGUMENT);
            continue;
        }
        atomic_fetch_add(&r->vcpus_made, 1);
        /* The vCPU pins the VM: its calls must work until we destroy it. */
        expect_code(r, 3, read_reg(id), HV_SUCCESS, HV_SUCCESS);
        expect_code(r, 4, hv_vcpu_destroy(id), HV_SUCCESS, HV_SUCCESS);
        expect_code(r, 5, read_reg(id), HV_BAD_ARGUMENT, HV_BAD_ARGUMENT);
    }
    return NULL;
}

static void *mapper_main(void *arg)
{
    struct race *r = arg;
    for (uint32_t i = 0; !atomic_load(&r->stop); i++) {
        uint64_t gpa = (uint64_t)(i % 8) * PAGE;
        hv_return_t ret = map_rw(r->mem + gpa, gpa);
        expect_code(r, 6, ret, HV_SUCCESS, HV_BAD_ARGUMENT);
        if (ret == HV_SUCCESS)
            atomic_fetch_add(&r->maps_done, 1);
        /* Refused only without a VM (or, after a destroy and create in between, a
         * range that is no longer mapped). */
        expect_code(r, 7, hv_vm_protect(gpa, PAGE, HV_MEMORY_READ), HV_SUCCESS, HV_BAD_ARGUMENT);
        expect_code(r, 8, hv_vm_unmap(gpa, PAGE), HV_SUCCESS, HV_BAD_ARGUMENT);
    }
    return NULL;
}

/* Other threads' vCPU ids: never owned here, so always refused; hv_vcpus_exit may
 * name any existing vCPU. */
static void *stranger_main(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        expect_code(r, 9, read_reg(0), HV_BAD_ARGUMENT, HV_BAD_ARGUMENT);
        expect_code(r, 10, kick(0), HV_SUCCESS, HV_BAD_ARGUMENT);
        sched_yield();
    }
    return NULL;
}

Test(destroy_race, destroy_racing_map_vcpu_calls_and_exits_returns_codes, .timeout = 240)
{
    test_require_backend();
    bool kvm = anyhv_backend_available(ANYHV_BACKEND_KVM, NULL) && getenv("ANYHV_BACKEND") &&
               strcmp(getenv("ANYHV_BACKEND"), "kvm") == 0;
    const char *scale = getenv("ANYHV_STRESS_SCALE");   /* `make stress` */
    unsigned long times = scale ? strtoul(scale, NULL, 10) : 1;
    uint32_t rounds = (kvm ? ROUNDS_KVM : ROUNDS_SOFT) * (uint32_t)(times ? times : 1);
    struct race r = { .mem = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    cr_assert_neq(r.mem, MAP_FAILED);
    void *(*mains[])(void *) = { vcpu_main, mapper_main, stranger_main };
    pthread_t th[3];
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, mains[i], &r), 0);
    uint32_t destroyed = 0, busy = 0;
    for (uint32_t round = 0; round < rounds; round++) {
        cr_assert_eq(VM_CREATE(), HV_SUCCESS, "round %u", round);
        for (int k = 0; k < 4; k++)
            sched_yield();
        hv_return_t ret;
        while ((ret = hv_vm_destroy()) == HV_BUSY) {   /* a vCPU exists right now */
            busy++;
            sched_yield();
        }
        cr_assert_eq(ret, HV_SUCCESS, "round %u", round);
        destroyed++;
    }
    atomic_store(&r.stop, true);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cr_log_info("%u VMs destroyed (%u busy retries), %u calls, %u vCPUs, %u maps", destroyed, busy,
                atomic_load(&r.calls), atomic_load(&r.vcpus_made), atomic_load(&r.maps_done));
    cr_expect_eq(atomic_load(&r.bad_code), 0, "call %d returned 0x%x", atomic_load(&r.bad_call),
                 (unsigned)atomic_load(&r.bad_code));
    munmap(r.mem, 8 * PAGE);
}
