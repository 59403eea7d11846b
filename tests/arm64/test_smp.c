/* SMP on the software route: 2, 4 and 8 vCPUs, each on its own thread, run the stress
 * guest (tests/guests/aarch64/smp_stress.S) on shared memory at once: LSE and LL/SC
 * counters must reach vCPUs x iterations, the lock-free queue must hand every item to
 * exactly one consumer (the consumers' sums add up to the sum of all items), broadcast
 * TLB invalidations run throughout, and an SGI through the in-framework GIC reaches
 * each vCPU. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x400000ull
#define SHARED_OFF 0x100000u
#define GICD_BASE 0x08000000ull
#define GICR_BASE 0x080a0000ull
#define ITERS 3000u
#define MAX_CPUS 8u
#define HVC_DONE 1u
#define RUN_LIMIT_S 120

struct cpu {
    unsigned index, n;
    uint8_t *mem;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    _Atomic bool created;
    _Atomic uint64_t esr;          /* polled by the main thread while the vCPU runs */
    _Atomic bool finished;
};

static uint8_t *mem;
static struct cpu cpus[MAX_CPUS];
static pthread_barrier_t all_created;   /* no vCPU runs before every vCPU exists */

static uint64_t shared64(unsigned off)
{
    uint64_t v;
    memcpy(&v, mem + SHARED_OFF + off, sizeof(v));
    return v;
}

static void *cpu_main(void *arg)
{
    struct cpu *c = arg;
    if (hv_vcpu_create(&c->vcpu, &c->exit, NULL) != HV_SUCCESS) {
        atomic_store(&c->created, true);
        pthread_barrier_wait(&all_created);
        return NULL;
    }
    /* Aff0 = index: what the guest's SGI targets. */
    hv_vcpu_set_sys_reg(c->vcpu, HV_SYS_REG_MPIDR_EL1, (1ull << 31) | c->index);
    hv_ipa_t rd = 0;
    hv_gic_get_redistributor_base(c->vcpu, &rd);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X0, c->index);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X1, c->n);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X2, ITERS);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X3, RAM_BASE + SHARED_OFF);
    hv_vcpu_set_reg(c->vcpu, HV_REG_X5, rd);
    hv_vcpu_set_reg(c->vcpu, HV_REG_PC, RAM_BASE);
    hv_vcpu_set_reg(c->vcpu, HV_REG_CPSR, 0x3c5);
    atomic_store(&c->created, true);
    pthread_barrier_wait(&all_created);
    if (hv_vcpu_run(c->vcpu) == HV_SUCCESS && c->exit->reason == HV_EXIT_REASON_EXCEPTION) {
        c->esr = c->exit->exception.syndrome;
        c->finished = ESR_EC(c->esr) == EC_HVC && ESR_ISS(c->esr) == HVC_DONE;
    }
    hv_vcpu_destroy(c->vcpu);
    return NULL;
}

static void run_stress(unsigned n)
{
    test_require_backend();
    mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mem, MAP_FAILED);
    struct a64_vm loader = { .mem = mem, .base = RAM_BASE, .size = RAM_SIZE };
    a64_load_guest(&loader, "smp_stress", RAM_BASE);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(mem, RAM_BASE, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    hv_gic_config_t cfg = hv_gic_config_create();
    cr_assert_eq(hv_gic_config_set_distributor_base(cfg, GICD_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(cfg, GICR_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_create(cfg), HV_SUCCESS);
    os_release(cfg);
    cr_assert_eq(hv_gic_set_distributor_reg(0x0000, 2), HV_SUCCESS);   /* GICD_CTLR.EnableGrp1 */

    pthread_t t[MAX_CPUS];
    pthread_barrier_init(&all_created, NULL, n);
    for (unsigned i = 0; i < n; i++) {
        cpus[i] = (struct cpu){ .index = i, .n = n, .mem = mem };
        cr_assert_eq(pthread_create(&t[i], NULL, cpu_main, &cpus[i]), 0);
        while (!atomic_load(&cpus[i].created))   /* vCPU ids follow the index */
            sched_yield();
    }
    /* A lost update or a lost wake-up would spin forever: end the runs after a while. */
    time_t start = time(NULL);
    for (unsigned i = 0; i < n; i++) {
        while (!cpus[i].finished && cpus[i].esr == 0 && time(NULL) - start < RUN_LIMIT_S) {
            struct timespec ts = { 0, 10000000 };
            nanosleep(&ts, NULL);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        hv_vcpu_t v = cpus[i].vcpu;
        if (!cpus[i].finished && cpus[i].esr == 0)
            hv_vcpus_exit(&v, 1);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&all_created);

    for (unsigned i = 0; i < n; i++)
        cr_expect(cpus[i].finished, "vCPU %u of %u finished (ESR %#llx)", i, n, (unsigned long long)cpus[i].esr);
    uint64_t total = (uint64_t)n * ITERS;
    cr_expect_eq(shared64(0x00), total, "LSE counter");
    cr_expect_eq(shared64(0x40), total, "LL/SC counter");
    cr_expect_eq(shared64(0x80), total, "queue tail");
    cr_expect_eq(shared64(0xc0), total, "queue head");
    /* Every item (index + 1) << 32 | (k + 1) consumed exactly once. */
    uint64_t want = 0, got = 0;
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < ITERS; k++)
            want += ((i + 1) << 32) | (k + 1);
    for (unsigned i = 0; i < n; i++) {
        got += shared64(0x100 + 8 * i);
        cr_expect_eq(shared64(0x400 + 8 * i), 1, "vCPU %u received one SGI", i);
    }
    cr_expect_eq(got, want, "queue: consumers' sums");
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    munmap(mem, RAM_SIZE);
}

Test(arm64_smp, stress_2_vcpus, .timeout = 180) { run_stress(2); }
Test(arm64_smp, stress_4_vcpus, .timeout = 180) { run_stress(4); }
Test(arm64_smp, stress_8_vcpus, .timeout = 180) { run_stress(8); }
