/* hv_vm_destroy and hv_vm_create on one thread racing hv_vm_map/unmap, hv_vcpu_create,
 * hv_vcpu_read_register and hv_vcpus_exit on others, many rounds: every call returns
 * an HV_* code that fits what the VM was doing (success, HV_BAD_ARGUMENT with no VM,
 * HV_BUSY for a destroy while vCPUs exist) and the process lives. A fourth thread makes
 * the VM-level calls of the in-framework devices (Intel: APIC/IOAPIC/8259 on VMs made
 * with HV_VM_ACCEL_APIC every other round; Apple silicon: the GIC, created every other
 * round) and of the extensions (deterministic mode, snapshots, the TSC), and the vCPU
 * thread its own vCPU's device calls, while vCPUs come and go. Built once per flavour
 * (RACE_ARM64 selects the Apple-silicon calls). */
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
#include <stdlib.h>
#include <sys/mman.h>

#include "support/backend.h"

#define GICD_BASE 0x08000000u
#define GICR_BASE 0x080a0000u
#define GICD_CTLR 0x0000u
#define IOAPIC_BASE 0xfec00000u
#define ATPIC_PRIMARY_DATA 0x21
#define MSI_FIXED_VECTOR_48 0x30u

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

static void expect_any(struct race *r, int call, hv_return_t got, hv_return_t ok1, hv_return_t ok2,
                       hv_return_t ok3)
{
    atomic_fetch_add(&r->calls, 1);
    if (got == ok1 || got == ok2 || got == ok3)
        return;
    int none = 0;
    if (atomic_compare_exchange_strong(&r->bad_code, &none, (int)got))
        atomic_store(&r->bad_call, call);
}

static void expect_code(struct race *r, int call, hv_return_t got, hv_return_t ok1, hv_return_t ok2)
{
    expect_any(r, call, got, ok1, ok2, ok2);
}

/* Round `round`'s VM: with the in-framework devices every other round. */
static void vm_create_round(uint32_t round)
{
#ifdef RACE_ARM64
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS, "round %u", round);
    if (round % 2)
        return;
    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_not_null(c);
    cr_assert_eq(hv_gic_config_set_distributor_base(c, GICD_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, GICR_BASE), HV_SUCCESS);
    /* HV_BUSY when the vCPU thread made its vCPU first; only the soft route has it. */
    hv_return_t ret = hv_gic_create(c);
    cr_assert(ret == HV_SUCCESS || ret == HV_BUSY || ret == HV_UNSUPPORTED, "hv_gic_create: 0x%x", (unsigned)ret);
    os_release(c);
#else
    cr_assert_eq(hv_vm_create(round % 2 ? HV_VM_DEFAULT : HV_VM_ACCEL_APIC), HV_SUCCESS, "round %u", round);
#endif
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

/* The owner's call to its vCPU's in-framework device: HV_SUCCESS, or the code for a
 * VM without the device. */
static void own_device_call(struct race *r, uint64_t id)
{
    uint64_t value;
#ifdef RACE_ARM64
    expect_code(r, 11, hv_gic_get_icc_reg((hv_vcpu_t)id, HV_GIC_ICC_REG_PMR_EL1, &value), HV_SUCCESS,
                HV_NO_DEVICE);
    hv_ipa_t base;
    expect_code(r, 12, hv_gic_get_redistributor_base((hv_vcpu_t)id, &base), HV_SUCCESS, HV_NO_DEVICE);
#else
    uint32_t v32;
    expect_code(r, 11, hv_vcpu_apic_read((hv_vcpuid_t)id, 0x30, &v32), HV_SUCCESS, HV_UNSUPPORTED);
    (void)value;
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
        own_device_call(r, id);
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

/* The VM-level device calls: HV_SUCCESS with the device, else the code for no VM or
 * a VM without it (vCPU 0 may or may not exist). */
static void device_calls(struct race *r)
{
#ifdef RACE_ARM64
    uint64_t value;
    expect_code(r, 20, hv_gic_set_spi(40, true), HV_SUCCESS, HV_NO_DEVICE);
    expect_code(r, 21, hv_gic_set_spi(40, false), HV_SUCCESS, HV_NO_DEVICE);
    expect_code(r, 22, hv_gic_get_distributor_reg(GICD_CTLR, &value), HV_SUCCESS, HV_NO_DEVICE);
    expect_code(r, 23, hv_gic_set_distributor_reg(GICD_CTLR, value & 3u), HV_SUCCESS, HV_NO_DEVICE);
    hv_ipa_t base;
    expect_any(r, 24, hv_gic_get_redistributor_base(0, &base), HV_SUCCESS, HV_NO_DEVICE, HV_BAD_ARGUMENT);
    expect_code(r, 25, hv_gic_send_msi(0, 64), HV_BAD_ARGUMENT, HV_NO_DEVICE);   /* no MSI frame */
    hv_gic_state_t st = hv_gic_state_create();
    size_t size = 0;
    if (st) {
        expect_code(r, 26, hv_gic_state_get_size(st, &size), HV_SUCCESS, HV_SUCCESS);
        void *data = malloc(size);
        expect_code(r, 27, hv_gic_state_get_data(st, data), HV_SUCCESS, HV_SUCCESS);
        expect_any(r, 28, hv_gic_set_state(data, size), HV_SUCCESS, HV_NO_DEVICE, HV_BAD_ARGUMENT);
        free(data);
        os_release(st);
    }
#else
    uint32_t v32;
    expect_any(r, 20, hv_vm_ioapic_assert_irq(3), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    expect_any(r, 21, hv_vm_ioapic_pulse_irq(3), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    expect_any(r, 22, hv_vm_ioapic_read(IOAPIC_BASE, &v32), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    hv_ioapic_state_ext_t io = { .version = HV_IOAPIC_STATE_EXT_VER };
    expect_any(r, 23, hv_vm_ioapic_get_state(&io), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    expect_any(r, 24, hv_vm_atpic_assert_irq(4), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    expect_any(r, 25, hv_vm_atpic_deassert_irq(4), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    uint8_t v8;
    expect_any(r, 26, hv_vm_atpic_port_read(ATPIC_PRIMARY_DATA, &v8), HV_SUCCESS, HV_BAD_ARGUMENT,
               HV_UNSUPPORTED);
    expect_any(r, 27, hv_vm_lapic_msi(0xfee00000u, MSI_FIXED_VECTOR_48), HV_SUCCESS, HV_BAD_ARGUMENT,
               HV_UNSUPPORTED);
    expect_any(r, 28, hv_vm_lapic_set_intr(0, 0x40, HV_APIC_EDGE_TRIGGER), HV_SUCCESS, HV_BAD_ARGUMENT,
               HV_UNSUPPORTED);
    expect_any(r, 29, hv_vm_send_ioapic_intr(MSI_FIXED_VECTOR_48), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    expect_any(r, 30, hv_vm_sync_tsc(0), HV_SUCCESS, HV_BAD_ARGUMENT, HV_UNSUPPORTED);
    (void)hv_tsc_clock();
#endif
}

/* Devices and extensions from a thread that owns no vCPU. */
static void *device_main(void *arg)
{
    struct race *r = arg;
    for (uint32_t i = 0; !atomic_load(&r->stop); i++) {
        device_calls(r);
        (void)anyhv_is_deterministic();
        (void)anyhv_get_backend();
        /* Refused only without a VM (vCPUs never run here). */
        if (i % 16 == 0)
            expect_code(r, 40, anyhv_vm_snapshot_save("/dev/null", NULL, 0), HV_SUCCESS, HV_BAD_ARGUMENT);
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
    void *(*mains[])(void *) = { vcpu_main, mapper_main, stranger_main, device_main };
    enum { THREADS = sizeof(mains) / sizeof(mains[0]) };
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, mains[i], &r), 0);
    uint32_t destroyed = 0, busy = 0;
    for (uint32_t round = 0; round < rounds; round++) {
        vm_create_round(round);
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
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    cr_log_info("%u VMs destroyed (%u busy retries), %u calls, %u vCPUs, %u maps", destroyed, busy,
                atomic_load(&r.calls), atomic_load(&r.vcpus_made), atomic_load(&r.maps_done));
    cr_expect_eq(atomic_load(&r.bad_code), 0, "call %d returned 0x%x", atomic_load(&r.bad_call),
                 (unsigned)atomic_load(&r.bad_code));
    munmap(r.mem, 8 * PAGE);
}
